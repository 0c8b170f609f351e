#include "service/search.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "service/conversions.h"
#include "storage/encoding.h"
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
    case CodeFormat::kIcd10CmTabular:
      // A letter first; any later position may be a letter (C4A, Z3A), so any digit will do.
      return q.size() >= 2 && absl::ascii_isalpha(q[0]) && has_digit;
    case CodeFormat::kIcd10Pcs:
      return q.size() >= 2 && has_digit;
    case CodeFormat::kTermIndex:
    case CodeFormat::kIcd10PcsTables:
      return false;  // their keys are words or table rows
    case CodeFormat::kHcpcs:
      return q.size() >= 2 && q.size() <= 5 && has_digit;
    case CodeFormat::kCpt:
      return q.size() >= 2 && q.size() <= 5 && absl::ascii_isdigit(q[0]);
  }
  return false;
}


// Words that say little about what a concept is: they neither count for nor against it when
// measuring how much of its display a query covers.
const std::vector<std::string>& FillerWords() {
  static const auto* words = new std::vector<std::string>{
      "a", "an", "and", "as", "at", "by", "due", "elsewhere", "for", "in", "not", "of", "on",
      "or", "the", "to", "unspecified", "with", "without", "classified", "nos", "nec"};
  return *words;
}

// Small words that join a phrase without naming anything ("of", "the"); "with", "without",
// "due" and "not" are not among them (the Index's subterms turn on them).
bool IsConnective(absl::string_view w) {
  return w == "a" || w == "an" || w == "and" || w == "as" || w == "at" || w == "by" ||
         w == "for" || w == "in" || w == "of" || w == "on" || w == "or" || w == "the" ||
         w == "to";
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

// Scores text candidates against a compiled query (see Terminology.Search): the mean match
// quality of the query words (a word's quality is its best alternative's, an alternative's is
// its weakest word's), plus
//  - coverage: the share of the display's meaningful words that the query matches, so shorter
//    entries come first (up to 50);
//  - adjacency: query words matched by consecutive display words, as in a phrase (10 each);
//  - billable codes before headers (25);
//  - general before specific: 8 less per code character beyond the third.
// One pass over the display's words, and one over the other texts' for the words the display
// lacks. Not thread-safe (scratch state).
class Scorer {
 public:
  // With `any_order`, query words matched by consecutive display words count as adjacent in
  // either order (the Index inverts phrases: "Fibrillation, atrial").
  Scorer(const std::vector<CompiledWord>& words, std::vector<bool> filler, bool any_order = false)
      : filler_(std::move(filler)), any_order_(any_order) {
    for (size_t w = 0; w < words.size(); ++w) {
      auto& alts = alternatives_.emplace_back();
      for (const auto& alt : words[w].alternatives) {
        int begin = static_cast<int>(parts_.size());
        for (const CompiledWord::Part& p : alt) parts_.push_back({p, static_cast<int>(w)});
        alts.emplace_back(begin, static_cast<int>(parts_.size()));
      }
      trimmed_.push_back(words[w].trimmed);
    }
    best_.resize(parts_.size());
  }

  // 0 when some query word matches none of the concept's words (a match scores at least
  // 100 x 1.5 x 0.75 - 32 > 0). Display words from position `essential` on (an Index term's
  // nonessential modifiers) match as display words but count for coverage neither way.
  double Score(absl::string_view code, bool billable, absl::Span<const uint32_t> display,
               absl::Span<const uint32_t> other,
               size_t essential = std::numeric_limits<size_t>::max()) {
    std::fill(best_.begin(), best_.end(), 0.0);
    int meaningful = 0, covered = 0, adjacent = 0;
    int previous = -2;  // index of the query word the previous display word matched
    for (size_t i = 0; i < display.size(); ++i) {
      const uint32_t id = display[i];
      int matched = -1;
      for (size_t k = 0; k < parts_.size(); ++k) {
        const CompiledWord::Part& p = parts_[k].part;
        if (id < p.lo || id >= p.hi) continue;
        best_[k] = std::max(best_[k], id == p.exact ? kExactDisplay : kPrefixDisplay);
        if (matched < 0 || parts_[k].word < matched) matched = parts_[k].word;
      }
      // The next query word, or the next word of the same multi-word alternative ("chf" ->
      // heart failure).
      if (matched >= 0 && previous >= 0 &&
          (matched == previous + 1 || matched == previous ||
           (any_order_ && matched == previous - 1))) {
        ++adjacent;
      }
      previous = matched;
      if (filler_[id] || i >= essential) continue;
      ++meaningful;
      covered += matched >= 0;
    }
    for (size_t k = 0; k < parts_.size(); ++k) {
      if (best_[k] > 0) continue;
      const CompiledWord::Part& p = parts_[k].part;
      for (uint32_t id : other) {
        if (id == p.exact) {
          best_[k] = kExactOther;
          break;
        }
        if (id >= p.lo && id < p.hi) best_[k] = kPrefixOther;
      }
    }
    double total = 0;
    for (size_t w = 0; w < alternatives_.size(); ++w) {
      double word = 0;
      for (const auto& [begin, end] : alternatives_[w]) {
        double alt = kExactDisplay;
        for (int k = begin; k < end; ++k) alt = std::min(alt, best_[k]);
        word = std::max(word, alt);
      }
      if (word == 0) return 0;
      total += trimmed_[w] ? word * 0.75 : word;
    }
    double coverage = meaningful == 0 ? 0 : static_cast<double>(covered) / meaningful;
    double specificity = code.size() > 3 ? 8.0 * (code.size() - 3) : 0;
    return 100.0 * total / alternatives_.size() + 50.0 * coverage + 10.0 * adjacent +
           25.0 * billable - specificity;
  }

 private:
  struct FlatPart {
    CompiledWord::Part part;
    int word;
  };
  std::vector<bool> filler_;  // by term id
  bool any_order_;
  std::vector<FlatPart> parts_;
  std::vector<std::vector<std::pair<int, int>>> alternatives_;  // per word: [begin, end) of parts_
  std::vector<bool> trimmed_;
  std::vector<double> best_;  // per part: its best quality in this concept
};

// A query as codes are stored: trimmed, upper case, ICD-10-CM without its dot.
std::string CodeForm(CodeFormat format, absl::string_view query) {
  std::string q = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(query));
  if ((format == CodeFormat::kIcd10Cm || format == CodeFormat::kIcd10CmTabular) && q.size() > 3 &&
      q[3] == '.') {
    q.erase(3, 1);
  }
  return q;
}

// Two letters or digits: how a modifier is typed ("LT", "25").
bool IsModifierShape(absl::string_view q) {
  return q.size() == 2 && absl::ascii_isalnum(q[0]) && absl::ascii_isalnum(q[1]);
}

struct Hit {
  absl::string_view code;  // into the release view, the clinical terms, or SearchRelease's own
  v1::SearchMatch match;
  double score;
  const ClinicalTerms::Entry* entry = nullptr;  // for INDEX and NOTE matches
  int32_t concept = -1;  // its number in the release view, when the view answers
};

// A match in an Index term or a Tabular note (ClinicalTerms::Entry) is scored as one in a
// description, without the penalty for long codes but with one per level of the term below its
// main term, plus the entry's bonus; an Index code written incomplete ("S52.50-") counts as
// billable (the Index means a header there), while one the release has since split is the
// header it now is, without the bonus (R51 since FY2021).
constexpr double kDepthPenalty = 5;
// An Index term naming a partial code gives at most this many of the codes under it.
constexpr size_t kMaxCodesPerPartial = 25;

// The concepts of `table` that may match every query word: the postings of the word with the
// fewest, narrowed by the words nearly as rare; the scorer checks every word of what is left.
std::vector<uint32_t> Candidates(const storage::WordTable& table,
                                 const std::vector<QueryWord>& words) {
  std::vector<uint32_t> candidates;
  if (words.empty()) return candidates;
  struct Cost {
    size_t postings = 0;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // per alternative: its rarest part
  };
  std::vector<Cost> costs;
  for (const QueryWord& qw : words) {
    Cost& cost = costs.emplace_back();
    for (const auto& alt : qw.alternatives) {
      std::pair<uint32_t, uint32_t> rarest{0, 0};
      size_t fewest = std::numeric_limits<size_t>::max();
      for (const std::string& w : alt) {
        auto range = table.PrefixRange(w);
        size_t n = table.PostingCount(range.first, range.second);
        if (n < fewest) fewest = n, rarest = range;
      }
      cost.postings += fewest;
      cost.ranges.push_back(rarest);
    }
  }
  std::vector<size_t> order(words.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return costs[a].postings < costs[b].postings; });
  // One mark per concept, all 0 between calls (the candidates' are cleared at the end): kept
  // per thread, so a query allocates and clears only what it touches.
  static thread_local std::vector<uint8_t> marked;
  if (marked.size() < table.concepts()) marked.resize(table.concepts(), 0);
  for (const auto& [lo, hi] : costs[order[0]].ranges) {
    for (uint32_t t = lo; t < hi; ++t) {
      for (uint32_t c : table.Postings(t)) {
        if (!marked[c]) {
          marked[c] = 1;
          candidates.push_back(c);
        }
      }
    }
  }
  for (size_t k = 1; k < order.size() && candidates.size() > 64; ++k) {
    const Cost& cost = costs[order[k]];
    if (cost.postings > 4 * candidates.size()) break;  // cheaper to let the scorer check
    // marked: 1 = candidate so far, 2 = candidate with this word too
    for (const auto& [lo, hi] : cost.ranges) {
      for (uint32_t t = lo; t < hi; ++t) {
        for (uint32_t c : table.Postings(t)) {
          if (marked[c] == 1) marked[c] = 2;
        }
      }
    }
    size_t kept = 0;
    for (uint32_t c : candidates) {
      if (marked[c] == 2) {
        marked[c] = 1;
        candidates[kept++] = c;
      } else {
        marked[c] = 0;
      }
    }
    candidates.resize(kept);
  }
  for (uint32_t c : candidates) marked[c] = 0;
  return candidates;
}

// A scorer for `words` over `table`, filler words marked.
Scorer MakeScorer(const std::vector<QueryWord>& words, const storage::WordTable& table,
                  bool any_order = false) {
  std::vector<CompiledWord> compiled;
  for (const QueryWord& qw : words) compiled.push_back(Compile(qw, table));
  std::vector<bool> filler(table.terms(), false);
  for (const std::string& f : FillerWords()) {
    uint32_t id = table.Find(f);
    if (id != storage::WordTable::kNoTerm) filler[id] = true;
  }
  return Scorer(compiled, std::move(filler), any_order);
}

}  // namespace

bool IsCodeQuery(CodeFormat format, absl::string_view query) {
  std::string q = CodeForm(format, query);
  return IsModifierShape(q) || LooksLikeCode(format, q);
}

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
    // A word as people inflect it, to the stem the publishers' nouns start with: "sprained"
    // finds Sprain, "bleeding" Bleed..., "vaginal" Vagina.
    for (absl::string_view suffix : {"ed", "ing", "al"}) {
      if (w.size() >= suffix.size() + 4 && absl::EndsWith(w, suffix)) {
        qw.alternatives.push_back({w.substr(0, w.size() - suffix.size())});
      }
    }
    qw.text = std::move(w);
  }
  return out;
}

absl::Status SearchRelease(storage::Reader* reader, const CodeSystemInfo& system,
                           const storage::ReleaseRecord& release, const ClinicalTerms* clinical,
                           const v1::SearchRequest& req, int offset, int page_size,
                           v1::SearchResponse* resp) {
  const uint64_t seq = release.sequence;
  absl::flat_hash_set<int> kinds;
  for (int k : req.kinds()) kinds.insert(k);
  auto wanted = [&](const storage::ConceptRecord& r) {
    if (req.billable_only() && !r.billable) return false;
    return kinds.empty() || kinds.contains(static_cast<int>(r.kind));
  };

  // Kept per thread: a short prefix matches tens of thousands of concepts, and a buffer that
  // size allocated afresh for every query costs more in page faults than the search itself.
  static thread_local std::vector<Hit> hit_buffer;
  hit_buffer.clear();
  std::vector<Hit>& hits = hit_buffer;
  std::deque<std::string> code_hits;  // codes of code hits (a deque keeps them in place)
  absl::flat_hash_set<std::string> seen;

  // Code hits: the query as a code, then codes starting with it.
  std::string code_query = CodeForm(system.format, req.query());
  if (LooksLikeCode(system.format, code_query)) {
    absl::Status s = reader->ForEachConceptInRange(
        system.id, seq, code_query, storage::PrefixEnd(code_query),
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
  } else if (IsModifierShape(code_query)) {
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
    if (clinical != nullptr) {
      auto [lo, hi] = clinical->words().PrefixRange(prefix);
      if (lo < hi) {
        *found = true;
        return absl::OkStatus();
      }
    }
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
    const storage::WordTable* table = nullptr;
    std::vector<uint32_t> candidates;
    if (view) {
      table = &view->words();
      candidates = Candidates(*table, words);
    } else {
      // The word likely rarest (its shortest alternative longest) gives the candidates.
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

    Scorer scorer = MakeScorer(words, *table);
    hits.reserve(hits.size() + candidates.size());
    for (uint32_t c : candidates) {
      absl::string_view code = view ? view->sorted_codes()[c] : absl::string_view(local_codes[c]);
      if (!seen.empty() && seen.contains(code)) continue;
      if (req.billable_only() && !table->billable(c)) continue;
      if (!kinds.empty() && !kinds.contains(static_cast<int>(table->kind(c)))) continue;
      double score = scorer.Score(code, table->billable(c), table->Display(c), table->Other(c));
      if (score == 0) continue;
      hits.push_back({code, v1::SEARCH_MATCH_TEXT, score, nullptr,
                      view ? static_cast<int32_t>(c) : -1});
    }
  }

  // Clinical hits: Index and Tabular terms that match, each giving its code when the release
  // has it; a code keeps its best match, description or term.
  if (text_possible && clinical != nullptr) {
    const storage::WordTable& terms = clinical->words();
    // The Index leaves out the small words a phrase has ("burn of hand" is Burn, hand).
    std::vector<QueryWord> term_words;
    for (const QueryWord& qw : words) {
      if (!IsConnective(qw.text)) term_words.push_back(qw);
    }
    if (term_words.empty()) term_words = words;
    std::vector<uint32_t> candidates = Candidates(terms, term_words);
    Scorer scorer = MakeScorer(term_words, terms, /*any_order=*/true);
    // The release's concept for an entry's code: with the view, its number there (worked out
    // once per release), whose word table has billable and kind; without, the record read once
    // per code.
    struct Known {
      bool present = false, billable = false;
      storage::ConceptKind kind = storage::ConceptKind::kCode;
      int32_t concept = -1;
    };
    std::shared_ptr<const std::vector<int32_t>> concept_of_entry =
        view ? clinical->ConceptsIn(system.id, seq, *view) : nullptr;
    absl::flat_hash_map<absl::string_view, Known> known;
    auto concept_of = [&](uint32_t entry, Known* out) -> absl::Status {
      if (concept_of_entry != nullptr) {
        int32_t c = (*concept_of_entry)[entry];
        *out = c < 0 ? Known{} : Known{true, view->words().billable(c), view->words().kind(c), c};
        return absl::OkStatus();
      }
      absl::string_view code = clinical->entries()[entry].code;
      auto it = known.find(code);
      if (it != known.end()) {
        *out = it->second;
        return absl::OkStatus();
      }
      Known k;
      storage::CodeState st;
      absl::Status s = reader->Read(system.id, code, seq, &st);
      if (!s.ok()) return s;
      if (st.kind == storage::CodeState::Kind::kPresent) {
        k = {true, st.record.billable, st.record.kind};
      }
      known.emplace(code, k);
      *out = k;
      return absl::OkStatus();
    };
    // Which hit a code has: with the view, a slot per concept (kept per thread, all -1 between
    // calls: the slots set here are cleared on the way out); without, a map.
    static thread_local std::vector<int32_t> slots;
    if (view && slots.size() < view->size()) slots.resize(view->size(), -1);
    struct ClearSlots {
      std::vector<Hit>& hits;
      ~ClearSlots() {
        for (const Hit& h : hits) {
          if (h.concept >= 0) slots[h.concept] = -1;
        }
      }
    } clear_slots{hits};
    absl::flat_hash_map<absl::string_view, size_t> at;
    for (size_t i = 0; i < hits.size(); ++i) {
      if (view && hits[i].concept < 0) {
        // A code hit: its number in the view, so that a term naming the same code finds it.
        const auto& codes = view->sorted_codes();
        auto pos = std::lower_bound(codes.begin(), codes.end(), hits[i].code);
        if (pos != codes.end() && *pos == hits[i].code) {
          hits[i].concept = static_cast<int32_t>(pos - codes.begin());
        }
      }
      if (hits[i].concept >= 0) {
        slots[hits[i].concept] = static_cast<int32_t>(i);
      } else {
        at.emplace(hits[i].code, i);
      }
    }
    // A code found through entry `e` with `score`: a new hit, or a better reason for one.
    auto found = [&](absl::string_view code, int32_t concept, const ClinicalTerms::Entry& e,
                     double score) {
      size_t index = hits.size();
      bool added;
      if (concept >= 0) {
        added = slots[concept] < 0;
        if (added) slots[concept] = static_cast<int32_t>(index);
        index = static_cast<size_t>(slots[concept]);
      } else {
        auto [it, inserted] = at.emplace(code, index);
        added = inserted;
        index = it->second;
      }
      if (added) {
        hits.push_back({code, e.match, score, &e, concept});
        return;
      }
      Hit& h = hits[index];
      // A code hit stays one; ties go to the shallower Index term, then the earlier entry.
      if (h.match == v1::SEARCH_MATCH_EXACT_CODE || h.match == v1::SEARCH_MATCH_CODE_PREFIX) {
        return;
      }
      if (score > h.score || (score == h.score && h.entry != nullptr && e.depth < h.entry->depth)) {
        h.score = score;
        h.match = e.match;
        h.entry = &e;
      }
    };
    for (uint32_t c : candidates) {
      const ClinicalTerms::Entry& e = clinical->entries()[c];
      if (e.partial) {
        // A partial code (ICD-10-PCS "0DTJ"): every code of the release under it, up to
        // kMaxCodesPerPartial, in code order.
        double score = scorer.Score("", true, terms.Display(c), terms.Other(c),
                                    clinical->essential(c));
        if (score == 0) continue;
        score += e.bonus - kDepthPenalty * (e.depth - 1);
        // The codes under it (filters applied), then each scored: a partial that names fewer
        // codes pins the procedure down more ("Appendectomy": Resection, Appendix has 4 codes,
        // Excision, Appendix 12), so each doubling of the count costs a point.
        struct Under {
          absl::string_view code;
          bool billable;
          int32_t concept;
        };
        std::vector<Under> under;
        auto take = [&](absl::string_view code, bool billable, storage::ConceptKind kind,
                        int32_t concept) {
          if ((req.billable_only() && !billable) ||
              (!kinds.empty() && !kinds.contains(static_cast<int>(kind)))) {
            return;
          }
          under.push_back({code, billable, concept});
        };
        if (view) {
          const auto& codes = view->sorted_codes();
          for (auto pos = std::lower_bound(codes.begin(), codes.end(), absl::string_view(e.code));
               pos != codes.end() && absl::StartsWith(*pos, e.code) &&
               under.size() < kMaxCodesPerPartial;
               ++pos) {
            int32_t i = static_cast<int32_t>(pos - codes.begin());
            take(*pos, view->words().billable(i), view->words().kind(i), i);
          }
        } else {
          absl::Status s = reader->ForEachConceptInRange(
              system.id, seq, e.code, storage::PrefixEnd(e.code),
              [&](absl::string_view code, const storage::ConceptRecord& r) {
                code_hits.emplace_back(code);
                take(code_hits.back(), r.billable, r.kind, -1);
                return under.size() < kMaxCodesPerPartial;
              });
          if (!s.ok()) return s;
        }
        const double breadth = std::log2(static_cast<double>(std::max<size_t>(under.size(), 1)));
        for (const Under& u : under) {
          found(u.code, u.concept, e, score - breadth - (u.billable ? 0 : 1));
        }
        continue;
      }
      Known k;
      absl::Status s = concept_of(c, &k);
      if (!s.ok()) return s;
      if (!k.present || (req.billable_only() && !k.billable)) continue;
      if (!kinds.empty() && !kinds.contains(static_cast<int>(k.kind))) continue;
      const bool index_term = e.match == v1::SEARCH_MATCH_INDEX;
      double score = scorer.Score("", k.billable || (index_term && e.incomplete),
                                  terms.Display(c), terms.Other(c), clinical->essential(c));
      if (score == 0) continue;
      // An Index code the release has split since (R51 in FY2025) is a description match.
      const bool stale = index_term && !e.incomplete && !k.billable;
      score += (stale ? 0 : e.bonus) - kDepthPenalty * (e.depth - 1);
      // With the view, the hit's code is the view's (stable); the entry's is as good.
      found(k.concept >= 0 ? view->sorted_codes()[k.concept] : absl::string_view(e.code),
            k.concept, e, score);
    }
    for (const storage::ReleaseRecord* r : {clinical->index_release(), clinical->tabular_release()}) {
      if (r != nullptr) ToRef(*r, resp->add_supplements());
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
    if (const ClinicalTerms::Entry* e = hits[i].entry) {
      h->set_reason(e->reason);
      const storage::ReleaseRecord* source =
          e->from_tabular ? clinical->tabular_release() : clinical->index_release();
      if (source != nullptr) ToRef(*source, h->mutable_reason_source());
    } else if (hits[i].match == v1::SEARCH_MATCH_TEXT) {
      h->set_reason(absl::StrCat("description: ", st.record.display));
    }
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
