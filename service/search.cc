#include "service/search.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "service/conversions.h"
#include "storage/terms.h"

namespace codebook::service {
namespace {

// Abbreviations of the publishers' short descriptions and of everyday clinical writing, with
// the words of their long forms as the full descriptions write them. A query word also matches
// as typed, so a short description that uses the abbreviation itself matches too.
const absl::flat_hash_map<std::string, std::vector<std::string>>& Abbreviations() {
  static const auto* table = new absl::flat_hash_map<std::string, std::vector<std::string>>{
      {"w", {"with"}},
      {"wo", {"without"}},
      {"fx", {"fracture"}},
      {"unsp", {"unspecified"}},
      {"unspec", {"unspecified"}},
      {"oth", {"other"}},
      {"init", {"initial"}},
      {"subs", {"subsequent"}},
      {"subsq", {"subsequent"}},
      {"encntr", {"encounter"}},
      {"sqla", {"sequela"}},
      {"l", {"left"}},
      {"r", {"right"}},
      {"lt", {"left"}},
      {"rt", {"right"}},
      {"bilat", {"bilateral"}},
      {"dx", {"diagnosis"}},
      {"hx", {"history"}},
      {"inj", {"injury", "injection"}},
      {"dz", {"disease"}},
      {"chr", {"chronic"}},
      {"malig", {"malignant"}},
      {"dm", {"diabetes mellitus"}},
      {"t1dm", {"type 1 diabetes mellitus"}},
      {"t2dm", {"type 2 diabetes mellitus"}},
      {"htn", {"hypertension", "hypertensive"}},
      {"chf", {"heart failure"}},
      {"copd", {"chronic obstructive pulmonary"}},
      {"mi", {"myocardial infarction"}},
      {"uti", {"urinary tract infection"}},
      {"cad", {"coronary artery"}},
      {"ckd", {"chronic kidney disease"}},
      {"esrd", {"end stage renal disease"}},
      {"afib", {"atrial fibrillation"}},
      {"gerd", {"gastro esophageal reflux"}},
      {"dvt", {"deep vein thrombosis", "thrombosis deep"}},
      {"pe", {"pulmonary embolism"}},
      {"sob", {"shortness breath"}},
      {"osa", {"obstructive sleep apnea"}},
      {"bph", {"benign prostatic hyperplasia"}},
      {"cva", {"cerebral infarction"}},
      {"tia", {"transient ischemic"}},
      {"oa", {"osteoarthritis"}},
      {"ra", {"rheumatoid arthritis"}},
      {"lbp", {"low back pain"}},
      {"abd", {"abdominal"}},
      {"whlchr", {"wheelchair"}},
      {"wc", {"wheelchair"}},
      {"dme", {"durable medical equipment"}},
  };
  return *table;
}

// True when a one-token query could be (the start of) a code of the system.
bool LooksLikeCode(CodeFormat format, absl::string_view q) {
  if (q.empty() || q.size() > 7) return false;
  bool has_digit = false;
  for (char c : q) {
    if (!absl::ascii_isalnum(c)) return false;
    has_digit |= absl::ascii_isdigit(c);
  }
  switch (format) {
    case CodeFormat::kIcd10Cm:
      return q.size() >= 2 && absl::ascii_isalpha(q[0]) && absl::ascii_isdigit(q[1]);
    case CodeFormat::kIcd10Pcs:
      return q.size() >= 2 && has_digit;
    case CodeFormat::kHcpcs:
      return q.size() >= 2 && q.size() <= 5 && absl::ascii_isalpha(q[0]) && has_digit;
    case CodeFormat::kCpt:
      return q.size() >= 2 && q.size() <= 5 && absl::ascii_isdigit(q[0]);
  }
  return false;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// Words that say little about what a concept is: they neither count for nor against it when
// measuring how much of its display a query covers.
const std::vector<std::string>& FillerWords() {
  static const auto* words = new std::vector<std::string>{
      "a", "an", "and", "as", "at", "by", "due", "elsewhere", "for", "in", "not", "of", "on",
      "or", "the", "to", "unspecified", "with", "without", "classified"};
  return *words;
}

// How well one query word matches (see Terminology.Search): a whole word of the display beats
// the start of one, which beats a whole word of another text, which beats the start of one.
constexpr double kExactDisplay = 4, kPrefixDisplay = 3, kExactOther = 2, kPrefixOther = 1.5;

// A query word resolved against a WordTable: per alternative, per word, the term ids it
// matches exactly and as a prefix.
struct CompiledWord {
  struct Part {
    uint32_t exact, lo, hi;  // exact id (or kNoTerm) and the [lo, hi) ids it starts
  };
  std::vector<std::vector<Part>> alternatives;
  bool trimmed = false;
  bool Matches(uint32_t id) const {
    for (const auto& alt : alternatives) {
      for (const Part& p : alt) {
        if (id >= p.lo && id < p.hi) return true;
      }
    }
    return false;
  }
};

CompiledWord Compile(const QueryWord& qw, const storage::WordTable& table) {
  CompiledWord c;
  c.trimmed = qw.trimmed;
  for (const auto& alt : qw.alternatives) {
    auto& parts = c.alternatives.emplace_back();
    for (const std::string& w : alt) {
      auto [lo, hi] = table.PrefixRange(w);
      parts.push_back({table.Find(w), lo, hi});
    }
  }
  return c;
}

double PartQuality(const CompiledWord::Part& p, absl::Span<const uint32_t> display,
                   absl::Span<const uint32_t> other) {
  double best = 0;
  for (uint32_t id : display) {
    if (id == p.exact) return kExactDisplay;
    if (id >= p.lo && id < p.hi) best = kPrefixDisplay;
  }
  if (best > 0) return best;
  for (uint32_t id : other) {
    if (id == p.exact) return kExactOther;
    if (id >= p.lo && id < p.hi) best = kPrefixOther;
  }
  return best;
}

// Best quality of a query word over its alternatives (0: no match).
double WordQuality(const CompiledWord& w, absl::Span<const uint32_t> display,
                   absl::Span<const uint32_t> other) {
  double best = 0;
  for (const auto& alt : w.alternatives) {
    double q = kExactDisplay;
    for (const CompiledWord::Part& p : alt) {
      q = std::min(q, PartQuality(p, display, other));
      if (q == 0) break;
    }
    best = std::max(best, q);
  }
  return w.trimmed ? best * 0.75 : best;
}

// The part of a text hit's score beyond word match quality (see Terminology.Search):
//  - coverage: the share of the display's meaningful words that the query matches, so shorter
//    entries come first (up to 50);
//  - adjacency: query words matched by consecutive display words, as in a phrase (10 each);
//  - billable codes before headers (25);
//  - general before specific: 8 less per code character beyond the third.
double RankBonus(absl::string_view code, bool billable, absl::Span<const uint32_t> display,
                 const std::vector<CompiledWord>& words,
                 const absl::flat_hash_set<uint32_t>& fillers) {
  int meaningful = 0, covered = 0, adjacent = 0;
  int previous = -2;  // index of the query word the previous display word matched
  for (uint32_t id : display) {
    int matched = -1;
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i].Matches(id)) {
        matched = static_cast<int>(i);
        break;
      }
    }
    // The next query word, or the next word of the same multi-word alternative ("chf" ->
    // heart failure).
    if (matched >= 0 && previous >= 0 && (matched == previous + 1 || matched == previous)) {
      ++adjacent;
    }
    previous = matched;
    if (fillers.contains(id)) continue;
    ++meaningful;
    covered += matched >= 0;
  }
  double coverage = meaningful == 0 ? 0 : static_cast<double>(covered) / meaningful;
  double specificity = code.size() > 3 ? 8.0 * (code.size() - 3) : 0;
  return 50.0 * coverage + 10.0 * adjacent + 25.0 * billable - specificity;
}

struct Hit {
  absl::string_view code;  // into the release view, or into SearchRelease's own storage
  v1::SearchMatch match;
  double score;
};

}  // namespace

std::vector<QueryWord> ParseQuery(absl::string_view query) {
  std::string q = absl::AsciiStrToLower(query);
  q = absl::StrReplaceAll(q, {{"w/o", " without "}, {"w/", " with "}});
  std::vector<std::string> words;
  storage::Tokenize(q, &words);
  std::vector<QueryWord> out;
  for (std::string& w : words) {
    QueryWord& qw = out.emplace_back();
    qw.alternatives.push_back({w});
    auto it = Abbreviations().find(w);
    if (it != Abbreviations().end()) {
      for (const std::string& long_form : it->second) {
        qw.alternatives.push_back(absl::StrSplit(long_form, ' '));
      }
    }
    qw.text = std::move(w);
  }
  return out;
}

absl::Status SearchRelease(storage::Reader* reader, const CodeSystemInfo& system,
                           const storage::ReleaseRecord& release, const v1::SearchRequest& req,
                           int offset, int page_size, v1::SearchResponse* resp) {
  const uint64_t seq = release.sequence;
  absl::flat_hash_set<int> kinds;
  for (int k : req.kinds()) kinds.insert(k);
  auto wanted = [&](const storage::ConceptRecord& r) {
    if (req.billable_only() && !r.billable) return false;
    return kinds.empty() || kinds.contains(static_cast<int>(r.kind));
  };

  std::vector<Hit> hits;
  std::deque<std::string> code_hits;  // codes of code hits (a deque keeps them in place)
  absl::flat_hash_set<std::string> seen;

  // Code hits: the query as a code, then codes starting with it.
  std::string stripped(absl::StripAsciiWhitespace(req.query()));
  std::string code_query = absl::AsciiStrToUpper(stripped);
  if (system.format == CodeFormat::kIcd10Cm && code_query.size() > 3 && code_query[3] == '.') {
    code_query.erase(3, 1);
  }
  if (LooksLikeCode(system.format, code_query)) {
    absl::Status s = reader->ForEachConceptInRange(
        system.id, seq, code_query, PrefixEnd(code_query),
        [&](absl::string_view code, const storage::ConceptRecord& r) {
          if (!wanted(r)) return true;
          bool exact = code == code_query;
          code_hits.emplace_back(code);
          hits.push_back({code_hits.back(),
                          exact ? v1::SEARCH_MATCH_EXACT_CODE : v1::SEARCH_MATCH_CODE_PREFIX,
                          exact ? 1000.0 : 900.0 - static_cast<double>(code.size())});
          seen.insert(std::string(code));
          return true;
        });
    if (!s.ok()) return s;
  } else if (stripped.size() <= 2) {
    // A modifier typed as the query ("LT", "25").
    storage::CodeState st;
    absl::Status s = reader->Read(system.id, code_query, seq, &st);
    if (!s.ok()) return s;
    if (st.kind == storage::CodeState::Kind::kPresent && wanted(st.record)) {
      code_hits.push_back(code_query);
      hits.push_back({code_hits.back(), v1::SEARCH_MATCH_EXACT_CODE, 1000.0});
      seen.insert(code_query);
    }
  }

  // Text hits. With the release's view built, its word table gives both the candidates and
  // their words; without, the store's search index gives the candidates and a table is built
  // over just them.
  std::vector<QueryWord> words = ParseQuery(req.query());
  std::shared_ptr<const storage::ReleaseView> view = reader->ViewOf(system.id, seq);
  std::unique_ptr<storage::WordTable> local;  // without a view: the candidates' words
  std::vector<std::string> local_codes;
  auto exists = [&](absl::string_view prefix, bool* found) -> absl::Status {
    if (view) {
      auto [lo, hi] = view->words().PrefixRange(prefix);
      *found = lo < hi;
      return absl::OkStatus();
    }
    *found = false;
    return reader->ForEachPosting(system.id, seq, prefix, [&](absl::string_view, absl::string_view) {
      *found = true;
      return false;
    });
  };
  bool text_possible = !words.empty();
  for (QueryWord& qw : words) {
    bool found = false;
    for (const auto& alt : qw.alternatives) {
      bool all = true;
      for (const std::string& w : alt) {
        absl::Status s = exists(w, &found);
        if (!s.ok()) return s;
        if (!found) {
          all = false;
          break;
        }
      }
      found = all;
      if (found) break;
    }
    if (found) continue;
    // Nothing starts with the word as typed: retry without its last letters, down to 4.
    std::string stem = qw.text;
    while (!found && stem.size() > 4) {
      stem.pop_back();
      absl::Status s = exists(stem, &found);
      if (!s.ok()) return s;
    }
    if (!found) {
      text_possible = false;
      break;
    }
    qw.text = stem;
    qw.trimmed = true;
    qw.alternatives = {{stem}};
  }

  if (text_possible) {
    // The most selective word (its shortest alternative longest) gives the candidates.
    auto selectivity = [](const QueryWord& qw) {
      size_t s = std::string::npos;
      for (const auto& alt : qw.alternatives) {
        size_t longest = 0;
        for (const std::string& w : alt) longest = std::max(longest, w.size());
        s = std::min(s, longest);
      }
      return s;
    };
    const QueryWord* anchor = &words[0];
    for (const QueryWord& qw : words) {
      if (selectivity(qw) > selectivity(*anchor)) anchor = &qw;
    }
    auto longest_of = [](const std::vector<std::string>& alt) -> const std::string& {
      const std::string* longest = &alt[0];
      for (const std::string& w : alt) {
        if (w.size() > longest->size()) longest = &w;
      }
      return *longest;
    };

    const storage::WordTable* table = nullptr;
    std::vector<uint32_t> candidates;
    if (view) {
      table = &view->words();
      std::vector<bool> marked(table->concepts(), false);
      for (const auto& alt : anchor->alternatives) {
        auto [lo, hi] = table->PrefixRange(longest_of(alt));
        for (uint32_t t = lo; t < hi; ++t) {
          for (uint32_t c : table->Postings(t)) {
            if (!marked[c]) {
              marked[c] = true;
              candidates.push_back(c);
            }
          }
        }
      }
    } else {
      absl::flat_hash_set<std::string> codes;
      for (const auto& alt : anchor->alternatives) {
        absl::Status s = reader->ForEachPosting(
            system.id, seq, longest_of(alt), [&](absl::string_view, absl::string_view code) {
              codes.emplace(code);
              return true;
            });
        if (!s.ok()) return s;
      }
      storage::WordTable::Builder builder;
      storage::CodeState st;
      for (const std::string& code : codes) {
        absl::Status s = reader->Read(system.id, code, seq, &st);
        if (!s.ok()) return s;
        if (st.kind != storage::CodeState::Kind::kPresent) continue;
        builder.Add(st.record);
        candidates.push_back(static_cast<uint32_t>(local_codes.size()));
        local_codes.push_back(code);
      }
      local = builder.Finish();
      table = local.get();
    }

    std::vector<CompiledWord> compiled;
    for (const QueryWord& qw : words) compiled.push_back(Compile(qw, *table));
    absl::flat_hash_set<uint32_t> fillers;
    for (const std::string& f : FillerWords()) {
      uint32_t id = table->Find(f);
      if (id != storage::WordTable::kNoTerm) fillers.insert(id);
    }
    for (uint32_t c : candidates) {
      absl::string_view code = view ? view->sorted_codes()[c] : absl::string_view(local_codes[c]);
      if (!seen.empty() && seen.contains(code)) continue;
      if (req.billable_only() && !table->billable(c)) continue;
      if (!kinds.empty() && !kinds.contains(static_cast<int>(table->kind(c)))) continue;
      absl::Span<const uint32_t> display = table->Display(c), other = table->Other(c);
      double total = 0;
      bool all = true;
      for (const CompiledWord& w : compiled) {
        double q = WordQuality(w, display, other);
        if (q == 0) {
          all = false;
          break;
        }
        total += q;
      }
      if (!all) continue;
      double score = 100.0 * total / compiled.size() +
                     RankBonus(code, table->billable(c), display, compiled, fillers);
      hits.push_back({code, v1::SEARCH_MATCH_TEXT, score});
    }
  }

  // Only the hits up to the end of the page need their order.
  size_t ordered = std::min(hits.size(), static_cast<size_t>(offset) + page_size);
  std::partial_sort(hits.begin(), hits.begin() + ordered, hits.end(),
                    [](const Hit& a, const Hit& b) {
                      if (a.score != b.score) return a.score > b.score;
                      return a.code < b.code;
                    });
  ToRef(release, resp->mutable_release());
  resp->set_total_hits(static_cast<int32_t>(hits.size()));
  storage::CodeState st;
  for (int i = offset; i < static_cast<int>(hits.size()) && i < offset + page_size; ++i) {
    absl::Status s = reader->Read(system.id, hits[i].code, seq, &st);
    if (!s.ok()) return s;
    v1::SearchHit* h = resp->add_hits();
    ToApi(system, hits[i].code, st.record, h->mutable_concept());
    h->set_match(hits[i].match);
    h->set_score(hits[i].score);
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
