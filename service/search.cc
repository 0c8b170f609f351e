#include "service/search.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

// How well one query alternative word matches a concept's words.
constexpr double kExactDisplay = 4, kPrefixDisplay = 3, kExactOther = 2, kPrefixOther = 1.5;

double WordQuality(absl::string_view q, const std::vector<std::string>& display,
                   const std::vector<std::string>& other) {
  double best = 0;
  for (const std::string& w : display) {
    if (w == q) return kExactDisplay;
    if (absl::StartsWith(w, q)) best = kPrefixDisplay;
  }
  if (best > 0) return best;
  for (const std::string& w : other) {
    if (w == q) return kExactOther;
    if (absl::StartsWith(w, q)) best = kPrefixOther;
  }
  return best;
}

// Best quality of a query word over its alternatives (0: no match).
double QueryWordQuality(const QueryWord& qw, const std::vector<std::string>& display,
                        const std::vector<std::string>& other) {
  double best = 0;
  for (const std::vector<std::string>& alt : qw.alternatives) {
    double q = kExactDisplay;
    for (const std::string& w : alt) {
      q = std::min(q, WordQuality(w, display, other));
      if (q == 0) break;
    }
    best = std::max(best, q);
  }
  return qw.trimmed ? best * 0.75 : best;
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
bool IsFiller(absl::string_view w) {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "a", "an", "and", "as", "at", "by", "due", "elsewhere", "for", "in", "not", "of", "on",
      "or", "the", "to", "unspecified", "with", "without", "classified"};
  return words->contains(w);
}

bool WordMatches(absl::string_view w, const QueryWord& qw) {
  for (const auto& alt : qw.alternatives) {
    for (const std::string& a : alt) {
      if (absl::StartsWith(w, a)) return true;
    }
  }
  return false;
}

// The part of a text hit's score beyond word match quality (see Terminology.Search):
//  - coverage: the share of the display's meaningful words that the query matches, so shorter
//    entries come first (up to 50);
//  - adjacency: query words matched by consecutive display words, as in a phrase (10 each);
//  - billable codes before headers (25);
//  - general before specific: 8 less per code character beyond the third.
double RankBonus(absl::string_view code, const storage::ConceptRecord& r,
                 const std::vector<std::string>& display, const std::vector<QueryWord>& words) {
  int meaningful = 0, covered = 0, adjacent = 0;
  int previous = -2;  // index of the query word the previous display word matched
  for (const std::string& w : display) {
    int matched = -1;
    for (size_t i = 0; i < words.size(); ++i) {
      if (WordMatches(w, words[i])) {
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
    if (IsFiller(w)) continue;
    ++meaningful;
    covered += matched >= 0;
  }
  double coverage = meaningful == 0 ? 0 : static_cast<double>(covered) / meaningful;
  double specificity = code.size() > 3 ? 8.0 * (code.size() - 3) : 0;
  return 50.0 * coverage + 10.0 * adjacent + 25.0 * r.billable - specificity;
}

struct Hit {
  std::string code;
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
          hits.push_back({std::string(code),
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
      hits.push_back({code_query, v1::SEARCH_MATCH_EXACT_CODE, 1000.0});
      seen.insert(code_query);
    }
  }

  // Text hits.
  std::vector<QueryWord> words = ParseQuery(req.query());
  auto any_posting = [&](absl::string_view prefix, bool* found) {
    *found = false;
    return reader->ForEachPosting(system.id, seq, prefix, [&](absl::string_view, absl::string_view) {
      *found = true;
      return false;
    });
  };
  bool text_possible = !words.empty();
  for (QueryWord& qw : words) {
    if (!text_possible) break;
    bool found = false;
    for (const auto& alt : qw.alternatives) {
      bool all = true;
      for (const std::string& w : alt) {
        absl::Status s = any_posting(w, &found);
        if (!s.ok()) return s;
        if (!found) {
          all = false;
          break;
        }
      }
      if (all) {
        found = true;
        break;
      }
      found = false;
    }
    if (found) continue;
    // Nothing starts with the word as typed: retry without its last letters, down to 4.
    std::string stem = qw.text;
    while (!found && stem.size() > 4) {
      stem.pop_back();
      absl::Status s = any_posting(stem, &found);
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
    absl::flat_hash_set<std::string> candidates;
    for (const auto& alt : anchor->alternatives) {
      const std::string* longest = &alt[0];
      for (const std::string& w : alt) {
        if (w.size() > longest->size()) longest = &w;
      }
      absl::Status s = reader->ForEachPosting(
          system.id, seq, *longest, [&](absl::string_view, absl::string_view code) {
            if (!seen.contains(code)) candidates.emplace(code);
            return true;
          });
      if (!s.ok()) return s;
    }
    storage::CodeState st;
    std::vector<std::string> display, other;
    for (const std::string& code : candidates) {
      absl::Status s = reader->Read(system.id, code, seq, &st);
      if (!s.ok()) return s;
      if (st.kind != storage::CodeState::Kind::kPresent || !wanted(st.record)) continue;
      display.clear();
      other.clear();
      storage::Tokenize(st.record.display, &display);
      for (const auto& [use, text] : st.record.designations) storage::Tokenize(text, &other);
      double total = 0;
      bool all = true;
      for (const QueryWord& qw : words) {
        double q = QueryWordQuality(qw, display, other);
        if (q == 0) {
          all = false;
          break;
        }
        total += q;
      }
      if (!all) continue;
      double score = 100.0 * total / words.size() + RankBonus(code, st.record, display, words);
      hits.push_back({code, v1::SEARCH_MATCH_TEXT, score});
    }
  }

  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
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
