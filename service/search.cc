#include "service/search.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <functional>
#include <limits>
#include <optional>
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
    case CodeFormat::kPattern:
      return q.size() >= 2 && has_digit;  // any shape: a token with a digit may be a code
  }
  return false;
}



// Small words that join a phrase without naming anything ("of", "the"); "with", "without",
// "due" and "not" are not among them (the Index's subterms turn on them).
bool IsConnective(absl::string_view w) {
  return w == "a" || w == "an" || w == "and" || w == "as" || w == "at" || w == "by" ||
         w == "for" || w == "in" || w == "of" || w == "on" || w == "or" || w == "the" ||
         w == "to";
}

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
  absl::string_view code;  // into the release view, the clinical terms, or the search's own
  v1::SearchMatch match;
  double score;
  const ClinicalTerms::Entry* entry = nullptr;  // for INDEX and NOTE matches
  int32_t concept = -1;  // its number in the release view, when the view answers
};

// Hits best first: by score, then by code (with the view, concept numbers are in code order).
bool Before(const Hit& a, const Hit& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.concept >= 0 && b.concept >= 0) return a.concept < b.concept;
  return a.code < b.code;
}

// What a code's own features add to a description match: billable codes before headers (25),
// general before specific (8 less per character beyond the third).
double CodeFixed(absl::string_view code, bool billable) {
  return 25.0 * billable - (code.size() > 3 ? 8.0 * static_cast<double>(code.size() - 3) : 0);
}

// A match in an Index term or a Tabular note (ClinicalTerms::Entry) is scored as one in a
// description, without the penalty for long codes but with one per level of the term below its
// main term, plus the entry's bonus; an Index code written incomplete ("S52.50-") counts as
// billable (the Index means a header there), while one the release has since split is the
// header it now is, without the bonus (R51 since FY2021).
constexpr double kDepthPenalty = 5;
// An Index term naming a partial code gives at most this many of the codes under it.
constexpr size_t kMaxCodesPerPartial = 25;

// The release's concept for an entry's code.
struct Known {
  bool present = false, billable = false;
  storage::ConceptKind kind = storage::ConceptKind::kCode;
  int32_t concept = -1;  // with the view: its number there
};

double EntryFixed(const ClinicalTerms::Entry& e, bool billable) {
  const bool index_term = e.match == v1::SEARCH_MATCH_INDEX;
  // An Index code the release has split since (R51 in FY2025) is a description match.
  const bool stale = index_term && !e.incomplete && !billable;
  return 25.0 * (billable || (index_term && e.incomplete)) + (stale ? 0 : e.bonus) -
         kDepthPenalty * (e.depth - 1);
}

// The most EntryFixed gives for `e` in any release (billable, not split since); a partial
// code's (whose codes count as billable) always.
double EntryFixedMost(const ClinicalTerms::Entry& e) {
  return 25.0 + e.bonus - kDepthPenalty * (e.depth - 1);
}

// What search keeps per set of clinical terms (ClinicalTerms::Derived): their SearchTable, whose
// fixed part is EntryFixedMost, and per entry what EntryFixed gives for a code the release
// does not bill, and whether it is partial, in compact arrays.
struct ClinicalIndex {
  explicit ClinicalIndex(const ClinicalTerms& terms)
      : table(
            terms.words(), [&](uint32_t i) { return terms.essential(i); },
            [&](uint32_t i) { return EntryFixedMost(terms.entries()[i]); }) {
    for (const ClinicalTerms::Entry& e : terms.entries()) {
      fixed_unbillable.push_back(static_cast<float>(EntryFixed(e, false)));
      partial.push_back(e.partial);
    }
  }
  SearchTable table;
  std::vector<float> fixed_unbillable;
  std::vector<bool> partial;
};

// A candidate with the most it can score.
struct Bounded {
  double bound;
  uint32_t item;
};
// Scores are sums of a few doubles; a bound computed in another order may differ in the last
// bits.
constexpr double kSlack = 1e-9;

// The k-th best hit so far (by score, then code; pruning needs the view, whose concept numbers
// follow code order): a candidate whose bound is below its score, or equal with a later
// concept, cannot make the first k.
struct Threshold {
  double score = -std::numeric_limits<double>::infinity();
  int64_t concept = -1;
  // concept() gives the candidate's concept (-1 when it has several); asked only on a tie.
  template <typename ConceptFn>
  bool Excludes(double bound, ConceptFn concept) const {
    if (bound + kSlack < score) return true;
    if (bound > score + kSlack) return false;
    const int64_t c = concept();
    return c >= 0 && c > this->concept;
  }
};

// The scoring of one table's candidates, pruned: the k-th best hit so far (threshold(),
// -infinity while there are fewer hits), worked out again as hits come in, and the candidates
// it excludes left unscored. Those rank below k hits already found, so the first k are exact.
// It starts from the hits already found (a table scored after another starts with a threshold).
template <typename ScoreFn, typename ThresholdFn, typename ConceptFn>
class PrunedScoring {
 public:
  PrunedScoring(size_t k, ScoreFn& score, ThresholdFn& threshold, ConceptFn& concept_of)
      : k_(k), score_(score), threshold_(threshold), concept_of_(concept_of), t_(threshold()) {}

  const Threshold& threshold() const { return t_; }
  bool known() const { return t_.score > -std::numeric_limits<double>::infinity(); }

  // Scores the candidates of `items` that the threshold does not exclude: while it is unknown,
  // the highest bounds first, a batch at a time. Reorders `items`.
  absl::Status Score(std::vector<Bounded>& items) {
    auto higher = [](const Bounded& a, const Bounded& b) { return a.bound > b.bound; };
    size_t done = 0;
    for (size_t batch = std::max<size_t>(k_, 16); done < items.size() && !known(); batch *= 4) {
      size_t end = std::min(items.size(), done + batch);
      if (end < items.size()) {
        std::nth_element(items.begin() + done, items.begin() + end, items.end(), higher);
      }
      for (size_t i = done; i < end; ++i) {
        if (absl::Status s = score_(items[i].item); !s.ok()) return s;
      }
      done = end;
      t_ = threshold_();
    }
    for (size_t i = done; i < items.size(); ++i) {
      if (t_.Excludes(items[i].bound, [&] { return concept_of_(items[i].item); })) continue;
      if (absl::Status s = score_(items[i].item); !s.ok()) return s;
      // The threshold again after every few hits (each time costs what the hits so far do).
      ++scored_;
      if (++since_ >= std::max<size_t>(8, scored_ / 4)) {
        t_ = threshold_();
        since_ = 0;
      }
    }
    return absl::OkStatus();
  }

 private:
  const size_t k_;
  ScoreFn& score_;
  ThresholdFn& threshold_;
  ConceptFn& concept_of_;
  Threshold t_;
  size_t scored_ = 0, since_ = 0;
};

// Scores the candidates of `query` that can reach the first `k` hits (PrunedScoring): blocks of
// 64 items by their bound, the best first a few at a time, each block's candidates by theirs,
// until the threshold is known; then every other block and candidate it does not exclude.
// bound_of(i, &bound) is false for a candidate the request does not want; concept_of(i) is its
// concept in the view, or -1 when it has several; with `code_ordered`, items are numbered in
// code order (they are the view's concepts).
template <typename BoundFn, typename ScoreFn, typename ThresholdFn, typename ConceptFn>
absl::Status ScoreReachable(const TableQuery& query, size_t k, bool code_ordered,
                            BoundFn bound_of, ScoreFn score, ThresholdFn threshold,
                            ConceptFn concept_of) {
  static thread_local std::vector<Bounded> blocks, items;
  static thread_local std::vector<double> bound_at;  // by block: its bound; -infinity once done
  constexpr double kDone = -std::numeric_limits<double>::infinity();
  blocks.clear();
  if (bound_at.size() < query.block_count()) bound_at.resize(query.block_count());
  query.ForEachBlock([&](uint32_t b) {
    if (query.Candidates(b) == 0) return;
    bound_at[b] = query.BlockBound(b);
    blocks.push_back({bound_at[b], b});
  });
  PrunedScoring<ScoreFn, ThresholdFn, ConceptFn> scoring(k, score, threshold, concept_of);
  // Appends block b's wanted candidates that the threshold does not exclude (first by a
  // quicker bound).
  auto expand = [&](uint32_t b) {
    bound_at[b] = kDone;
    const TableQuery::BlockPart part = query.PartOf(b);
    ForEachItem(b, query.Candidates(b), [&](uint32_t i) {
      if (scoring.known() &&
          scoring.threshold().Excludes(query.QuickBound(i, part), [&] { return concept_of(i); })) {
        return true;
      }
      double bound;
      if (bound_of(i, &bound) &&
          !scoring.threshold().Excludes(bound, [&] { return concept_of(i); })) {
        items.push_back({bound, i});
      }
      return true;
    });
  };
  auto higher = [](const Bounded& a, const Bounded& b) { return a.bound > b.bound; };
  size_t done = 0;
  for (size_t batch = 4; done < blocks.size() && !scoring.known(); batch *= 4) {
    size_t end = std::min(blocks.size(), done + batch);
    if (end < blocks.size()) {
      std::nth_element(blocks.begin() + done, blocks.begin() + end, blocks.end(), higher);
    }
    items.clear();
    for (size_t i = done; i < end; ++i) expand(blocks[i].item);
    if (absl::Status s = scoring.Score(items); !s.ok()) return s;
    done = end;
  }
  if (done == blocks.size()) return absl::OkStatus();
  // The rest in block order: where items are in code order, the first of a tie come first,
  // and the threshold's code then excludes the others.
  absl::Status status;
  query.ForEachBlock([&](uint32_t b) {
    const uint64_t candidates = query.Candidates(b);
    if (!status.ok() || candidates == 0 || bound_at[b] == kDone) return;
    // With items in code order, the block's first candidate has its least code.
    auto first = [&]() -> int64_t {
      return code_ordered ? concept_of(b * 64 + static_cast<uint32_t>(__builtin_ctzll(candidates)))
                          : -1;
    };
    if (scoring.threshold().Excludes(bound_at[b], first)) return;
    items.clear();
    expand(b);
    status = scoring.Score(items);
  });
  return status;
}

// One Search request over one release: hits gathered from codes, descriptions and clinical
// terms, then the page. With the release's view and without `exhaustive`, only candidates
// whose bound reaches the page are scored and the rest are counted; otherwise every candidate
// is scored.
class ReleaseSearch {
 public:
  ReleaseSearch(storage::Reader* reader, const CodeSystemInfo& system,
                const storage::ReleaseRecord& release, const ClinicalTerms* clinical,
                const v1::SearchRequest& req, size_t wanted, const SearchOptions& options)
      : reader_(reader), system_(system), release_(release), seq_(release.sequence), clinical_(clinical), req_(req),
        wanted_(wanted), view_(reader->ViewOf(system.id, release.sequence)),
        pruned_(view_ != nullptr && !options.exhaustive), hits_(HitBuffer()) {
    for (int k : req.kinds()) kinds_.insert(k);
  }
  ~ReleaseSearch() {
    for (const Hit& h : hits_) {
      if (h.concept >= 0 && static_cast<size_t>(h.concept) < Slots().size()) Slots()[h.concept] = -1;
    }
  }

  absl::Status Run(int offset, int page_size, v1::SearchResponse* resp);

 private:
  // Kept per thread: a short prefix matches tens of thousands of concepts, and buffers that size
  // allocated afresh for every query cost more in page faults than the search itself.
  static std::vector<Hit>& HitBuffer() {
    static thread_local std::vector<Hit> hits;
    hits.clear();
    return hits;
  }
  // Which hit a concept of the view has (all -1 between requests: the destructor clears those
  // it set).
  static std::vector<int32_t>& Slots() {
    static thread_local std::vector<int32_t> slots;
    return slots;
  }

  bool Wanted(bool billable, storage::ConceptKind kind) const {
    if (req_.billable_only() && !billable) return false;
    return kinds_.empty() || kinds_.contains(static_cast<int>(kind));
  }
  bool IsCodeHit(uint32_t concept) const {
    return !code_hit_concepts_.empty() &&
           std::binary_search(code_hit_concepts_.begin(), code_hit_concepts_.end(), concept);
  }
  // The k-th best hit so far (-infinity while fewer), k being the end of the page.
  Threshold KthHit();
  // A code found with `score` through `e` (null: its description): a new hit, or a better
  // reason for one it has.
  void Found(absl::string_view code, int32_t concept, v1::SearchMatch match,
             const ClinicalTerms::Entry* e, double score);

  absl::Status CodeHits();
  // Shortens each word that matches nothing to what does (down to 4 letters); false when some
  // word matches nothing at all.
  absl::Status ResolveWords(bool* possible);
  absl::Status TextHits();
  absl::Status ClinicalHits();
  absl::Status ConceptOf(uint32_t entry, const std::vector<int32_t>* in_view, Known* out);
  // The concepts (of the view) that clinical candidates name, for the count; per thread,
  // cleared by ClinicalHits.
  static ItemBits& NamedConcepts() {
    static thread_local ItemBits named;
    return named;
  }

  storage::Reader* reader_;
  const CodeSystemInfo& system_;
  const storage::ReleaseRecord& release_;
  const uint64_t seq_;
  const ClinicalTerms* clinical_;
  const v1::SearchRequest& req_;
  const size_t wanted_;  // hits up to the end of the page
  std::shared_ptr<const storage::ReleaseView> view_;
  const bool pruned_;
  absl::flat_hash_set<int> kinds_;
  std::vector<QueryWord> words_;

  std::vector<Hit>& hits_;
  absl::flat_hash_map<absl::string_view, size_t> at_;  // without the view: a code's hit
  std::list<std::string> own_codes_;  // codes the hits point into (a list keeps them in place)
  absl::flat_hash_set<std::string> code_hit_codes_;
  std::vector<uint32_t> code_hit_concepts_;  // with the view: the code hits' concepts, sorted
  absl::flat_hash_map<absl::string_view, Known> known_;  // without the view: entries' codes read

  // Pruned: the description candidates (concepts of the view) and what is counted beyond them.
  TableQuery* text_ = nullptr;  // per thread
  size_t counted_ = 0;
};

Threshold ReleaseSearch::KthHit() {
  if (hits_.size() < wanted_ || wanted_ == 0) return {};
  static thread_local std::vector<uint32_t> order;
  order.clear();
  for (uint32_t i = 0; i < hits_.size(); ++i) order.push_back(i);
  std::nth_element(order.begin(), order.begin() + (wanted_ - 1), order.end(),
                   [&](uint32_t a, uint32_t b) { return Before(hits_[a], hits_[b]); });
  const Hit& kth = hits_[order[wanted_ - 1]];
  return {kth.score, kth.concept};
}

void ReleaseSearch::Found(absl::string_view code, int32_t concept, v1::SearchMatch match,
                          const ClinicalTerms::Entry* e, double score) {
  size_t index = hits_.size();
  bool added;
  if (concept >= 0) {
    std::vector<int32_t>& slots = Slots();
    added = slots[concept] < 0;
    if (added) slots[concept] = static_cast<int32_t>(index);
    index = static_cast<size_t>(slots[concept]);
  } else {
    auto [it, inserted] = at_.emplace(code, index);
    added = inserted;
    index = it->second;
  }
  if (added) {
    hits_.push_back({code, match, score, e, concept});
    return;
  }
  Hit& h = hits_[index];
  // A code hit stays one; ties go to the shallower Index term, then the earlier entry (in
  // whatever order the entries are scored).
  if (h.match == v1::SEARCH_MATCH_EXACT_CODE || h.match == v1::SEARCH_MATCH_CODE_PREFIX) return;
  if (score > h.score ||
      (score == h.score && h.entry != nullptr && e != nullptr &&
       (e->depth < h.entry->depth || (e->depth == h.entry->depth && e < h.entry)))) {
    h.score = score;
    h.match = match;
    h.entry = e;
  }
}

absl::Status ReleaseSearch::CodeHits() {
  std::string code_query = CodeForm(system_.format, req_.query());
  auto add = [&](absl::string_view code, bool exact) {
    own_codes_.emplace_back(code);
    code_hit_codes_.insert(own_codes_.back());
    int32_t concept = -1;
    if (view_) {
      // Its number in the view, so that a term naming the same code finds it.
      const auto& codes = view_->sorted_codes();
      auto pos = std::lower_bound(codes.begin(), codes.end(), code);
      if (pos != codes.end() && *pos == code) {
        concept = static_cast<int32_t>(pos - codes.begin());
        code_hit_concepts_.push_back(static_cast<uint32_t>(concept));
      }
    }
    Found(own_codes_.back(), concept,
          exact ? v1::SEARCH_MATCH_EXACT_CODE : v1::SEARCH_MATCH_CODE_PREFIX, nullptr,
          exact ? 1000.0 : 900.0 - static_cast<double>(code.size()));
  };
  if (LooksLikeCode(system_.format, code_query)) {
    absl::Status s = reader_->ForEachConceptInRange(
        system_.id, seq_, code_query, storage::PrefixEnd(code_query),
        [&](absl::string_view code, const storage::ConceptRecord& r) {
          if (Wanted(r.billable, r.kind)) add(code, code == code_query);
          return true;
        });
    if (!s.ok()) return s;
  } else if (IsModifierShape(code_query)) {
    // A modifier typed as the query ("LT", "25").
    storage::CodeState st;
    absl::Status s = reader_->Read(system_.id, code_query, seq_, &st);
    if (!s.ok()) return s;
    if (st.kind == storage::CodeState::Kind::kPresent && Wanted(st.record.billable, st.record.kind)) {
      add(code_query, true);
    }
  }
  std::sort(code_hit_concepts_.begin(), code_hit_concepts_.end());
  return absl::OkStatus();
}

absl::Status ReleaseSearch::ResolveWords(bool* possible) {
  words_ = ParseQuery(req_.query());
  auto exists = [&](absl::string_view prefix, bool* found) -> absl::Status {
    if (clinical_ != nullptr) {
      auto [lo, hi] = clinical_->words().PrefixRange(prefix);
      if (lo < hi) {
        *found = true;
        return absl::OkStatus();
      }
    }
    if (view_) {
      auto [lo, hi] = view_->words().PrefixRange(prefix);
      *found = lo < hi;
      return absl::OkStatus();
    }
    *found = false;
    return reader_->ForEachPosting(system_.id, seq_, prefix,
                                   [&](absl::string_view, absl::string_view) {
                                     *found = true;
                                     return false;
                                   });
  };
  *possible = !words_.empty();
  for (QueryWord& qw : words_) {
    bool found = false;
    for (const auto& alt : qw.alternatives) {
      bool all = true;
      for (const std::string& w : alt) {
        if (absl::Status s = exists(w, &found); !s.ok()) return s;
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
      if (absl::Status s = exists(stem, &found); !s.ok()) return s;
    }
    if (!found) {
      *possible = false;
      return absl::OkStatus();
    }
    qw.text = stem;
    qw.trimmed = true;
    qw.alternatives = {{stem}};
  }
  return absl::OkStatus();
}

absl::Status ReleaseSearch::TextHits() {
  if (view_) {
    const storage::WordTable& words = view_->words();
    const auto& codes = view_->sorted_codes();
    std::shared_ptr<const SearchTable> table = view_->Derived<SearchTable>([&] {
      return std::make_shared<SearchTable>(
          words, [](uint32_t) { return std::numeric_limits<size_t>::max(); },
          [&](uint32_t c) { return CodeFixed(codes[c], words.billable(c)); });
    });
    static thread_local TableQuery text_query;
    text_query.Reset(*table, words_);
    text_ = &text_query;
    // The candidates the request wants: those the filters let through, but the code hits.
    const bool filtered = req_.billable_only() || !kinds_.empty();
    auto wanted = [&](uint32_t c) {
      return (!filtered || Wanted(words.billable(c), words.kind(c))) && !IsCodeHit(c);
    };
    // The count: every wanted candidate (the code hits are counted already).
    size_t count = 0;
    if (filtered) {
      text_->ForEachCandidate([&](uint32_t c) {
        count += Wanted(words.billable(c), words.kind(c));
        return true;
      });
    } else {
      text_->ForEachBlock([&](uint32_t b) {
        count += static_cast<size_t>(__builtin_popcountll(text_->Candidates(b)));
      });
    }
    for (uint32_t c : code_hit_concepts_) count -= text_->IsCandidate(c);
    counted_ = hits_.size() + count;

    auto score = [&](uint32_t c) {
      double s = text_->Score(c, table->fixed(c));
      if (s != 0) Found(codes[c], static_cast<int32_t>(c), v1::SEARCH_MATCH_TEXT, nullptr, s);
      return absl::OkStatus();
    };
    if (!pruned_) {
      text_->ForEachCandidate([&](uint32_t c) {
        if (wanted(c)) score(c).IgnoreError();
        return true;
      });
      return absl::OkStatus();
    }
    auto bound_of = [&](uint32_t c, double* bound) {
      if (!wanted(c)) return false;
      *bound = text_->Bound(c, table->fixed(c));
      return true;
    };
    return ScoreReachable(*text_, wanted_, /*code_ordered=*/true, bound_of, score,
                          [&] { return KthHit(); }, [](uint32_t c) { return int64_t{c}; });
  }

  // Without the view: the store's search index gives the candidates (under the word likely
  // rarest: its shortest alternative longest), and a word table is built over just them.
  auto selectivity = [](const QueryWord& qw) {
    size_t s = std::string::npos;
    for (const auto& alt : qw.alternatives) {
      size_t longest = 0;
      for (const std::string& w : alt) longest = std::max(longest, w.size());
      s = std::min(s, longest);
    }
    return s;
  };
  const QueryWord* anchor = &words_[0];
  for (const QueryWord& qw : words_) {
    if (selectivity(qw) > selectivity(*anchor)) anchor = &qw;
  }
  std::vector<std::string> codes;
  for (const auto& alt : anchor->alternatives) {
    const std::string* longest = &alt[0];
    for (const std::string& w : alt) {
      if (w.size() > longest->size()) longest = &w;
    }
    absl::Status s = reader_->ForEachPosting(system_.id, seq_, *longest,
                                             [&](absl::string_view, absl::string_view code) {
                                               codes.emplace_back(code);
                                               return true;
                                             });
    if (!s.ok()) return s;
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  storage::WordTable::Builder builder;
  std::vector<std::string> local_codes;
  storage::CodeState st;
  for (const std::string& code : codes) {
    if (code_hit_codes_.contains(code)) continue;
    if (absl::Status s = reader_->Read(system_.id, code, seq_, &st); !s.ok()) return s;
    if (st.kind != storage::CodeState::Kind::kPresent) continue;
    if (!Wanted(st.record.billable, st.record.kind)) continue;
    builder.Add(st.record);
    local_codes.push_back(code);
  }
  std::unique_ptr<storage::WordTable> local = builder.Finish();
  SearchTable table(
      *local, [](uint32_t) { return std::numeric_limits<size_t>::max(); },
      [&](uint32_t c) { return CodeFixed(local_codes[c], local->billable(c)); });
  TableQuery query;
  query.Reset(table, words_);
  query.ForEachCandidate([&](uint32_t c) {
    own_codes_.push_back(local_codes[c]);
    double s = query.Score(c, table.fixed(c));
    if (s != 0) Found(own_codes_.back(), -1, v1::SEARCH_MATCH_TEXT, nullptr, s);
    return true;
  });
  return absl::OkStatus();
}

absl::Status ReleaseSearch::ConceptOf(uint32_t entry, const std::vector<int32_t>* in_view,
                                      Known* out) {
  if (in_view != nullptr) {
    int32_t c = (*in_view)[entry];
    const storage::WordTable& words = view_->words();
    *out = c < 0 ? Known{} : Known{true, words.billable(c), words.kind(c), c};
    return absl::OkStatus();
  }
  absl::string_view code = clinical_->entries()[entry].code;
  auto it = known_.find(code);
  if (it != known_.end()) {
    *out = it->second;
    return absl::OkStatus();
  }
  Known k;
  storage::CodeState st;
  if (absl::Status s = reader_->Read(system_.id, code, seq_, &st); !s.ok()) return s;
  if (st.kind == storage::CodeState::Kind::kPresent) k = {true, st.record.billable, st.record.kind};
  known_.emplace(code, k);
  *out = k;
  return absl::OkStatus();
}

absl::Status ReleaseSearch::ClinicalHits() {
  // The Index leaves out the small words a phrase has ("burn of hand" is Burn, hand).
  std::vector<QueryWord> term_words;
  for (const QueryWord& qw : words_) {
    if (!IsConnective(qw.text)) term_words.push_back(qw);
  }
  if (term_words.empty()) term_words = words_;
  const auto& entries = clinical_->entries();
  std::shared_ptr<const ClinicalIndex> index =
      clinical_->Derived<ClinicalIndex>([&] { return std::make_shared<ClinicalIndex>(*clinical_); });
  const SearchTable& table = index->table;
  static thread_local TableQuery query;
  query.Reset(table, term_words, /*any_order=*/true);
  // With the view, each entry's concept number there (worked out once per release).
  std::shared_ptr<const std::vector<int32_t>> in_view =
      view_ ? clinical_->ConceptsIn(system_.id, seq_, *view_) : nullptr;

  // The codes of the release under a partial code (ICD-10-PCS "0DTJ"), filters applied, up to
  // kMaxCodesPerPartial, in code order.
  struct Under {
    absl::string_view code;
    bool billable;
    int32_t concept;
  };
  std::vector<Under> under;
  auto codes_under = [&](const ClinicalTerms::Entry& e) -> absl::Status {
    under.clear();
    auto take = [&](absl::string_view code, bool billable, storage::ConceptKind kind,
                    int32_t concept) {
      if (Wanted(billable, kind)) under.push_back({code, billable, concept});
    };
    if (view_) {
      const auto& codes = view_->sorted_codes();
      for (auto pos = std::lower_bound(codes.begin(), codes.end(), absl::string_view(e.code));
           pos != codes.end() && absl::StartsWith(*pos, e.code) &&
           under.size() < kMaxCodesPerPartial;
           ++pos) {
        int32_t i = static_cast<int32_t>(pos - codes.begin());
        take(*pos, view_->words().billable(i), view_->words().kind(i), i);
      }
      return absl::OkStatus();
    }
    return reader_->ForEachConceptInRange(
        system_.id, seq_, e.code, storage::PrefixEnd(e.code),
        [&](absl::string_view code, const storage::ConceptRecord& r) {
          own_codes_.emplace_back(code);
          take(own_codes_.back(), r.billable, r.kind, -1);
          return under.size() < kMaxCodesPerPartial;
        });
  };
  absl::Status status;
  const bool filtered = req_.billable_only() || !kinds_.empty();
  const storage::WordTable* words = view_ ? &view_->words() : nullptr;
  // Pruned, the count: the concepts of the candidates that no other hit has (walked in
  // candidate order: the concepts of entries close together are close together in in_view).
  if (pruned_) {
    ItemBits& named = NamedConcepts();
    named.Clear(view_->size());
    query.ForEachCandidate([&](uint32_t c) {
      // The entries (a hundred bytes each) are read only for the codes the release lacks.
      if (const int32_t concept = (*in_view)[c]; concept >= 0) {
        if (!filtered || Wanted(words->billable(concept), words->kind(concept))) {
          named.Set(static_cast<uint32_t>(concept));
        }
        return true;
      }
      if (entries[c].partial) {
        if (status = codes_under(entries[c]); !status.ok()) return false;
        for (const Under& u : under) named.Set(static_cast<uint32_t>(u.concept));
      }
      return true;
    });
    if (!status.ok()) return status;
    // Counted: those that are neither description candidates nor code hits (counted already).
    named.ForEachWord([&](uint32_t k) {
      counted_ += static_cast<size_t>(__builtin_popcountll(named.Word(k) & ~text_->Candidates(k)));
    });
    for (uint32_t c : code_hit_concepts_) counted_ -= named.Test(c) && !text_->IsCandidate(c);
  }
  // The most the caller adds to a candidate's score (TableQuery::Score's `fixed`); false for
  // one whose code the release lacks or the filters drop. With the view, from compact tables
  // (the entries are a hundred bytes each).
  auto fixed_of = [&](uint32_t c, double* fixed) {
    if (in_view != nullptr) {
      const int32_t concept = (*in_view)[c];
      if (concept < 0) {
        if (!index->partial[c]) return false;
        *fixed = table.fixed(c);
        return true;
      }
      const bool billable = words->billable(concept);
      if (filtered && !Wanted(billable, words->kind(concept))) return false;
      *fixed = billable ? table.fixed(c) : index->fixed_unbillable[c];
      return true;
    }
    const ClinicalTerms::Entry& e = entries[c];
    if (e.partial) {
      *fixed = EntryFixedMost(e);
      return true;
    }
    Known k;
    status = ConceptOf(c, in_view.get(), &k);
    if (!status.ok() || !k.present || !Wanted(k.billable, k.kind)) return false;
    *fixed = EntryFixed(e, k.billable);
    return true;
  };

  auto score = [&](uint32_t c) -> absl::Status {
    const ClinicalTerms::Entry& e = entries[c];
    if (e.partial) {
      double score = query.Score(c, EntryFixedMost(e), clinical_->essential(c));
      if (score == 0) return absl::OkStatus();
      if (absl::Status s = codes_under(e); !s.ok()) return s;
      // A partial that names fewer codes pins the procedure down more ("Appendectomy":
      // Resection, Appendix has 4 codes, Excision, Appendix 12): each doubling costs a point.
      const double breadth = std::log2(static_cast<double>(std::max<size_t>(under.size(), 1)));
      for (const Under& u : under) {
        Found(u.code, u.concept, e.match, &e, score - breadth - (u.billable ? 0 : 1));
      }
      return absl::OkStatus();
    }
    Known k;
    if (absl::Status s = ConceptOf(c, in_view.get(), &k); !s.ok()) return s;
    double score = query.Score(c, EntryFixed(e, k.billable), clinical_->essential(c));
    if (score == 0) return absl::OkStatus();
    // With the view, the hit's code is the view's (stable); the entry's is as good.
    Found(k.concept >= 0 ? view_->sorted_codes()[k.concept] : absl::string_view(e.code),
          k.concept, e.match, &e, score);
    return absl::OkStatus();
  };
  if (!pruned_) {
    query.ForEachCandidate([&](uint32_t c) {
      double fixed;
      if (fixed_of(c, &fixed)) status = score(c);
      return status.ok();
    });
    return status;
  }
  auto bound_of = [&](uint32_t c, double* bound) {
    double fixed;
    if (!fixed_of(c, &fixed)) return false;
    *bound = query.Bound(c, fixed);
    return true;
  };
  absl::Status s = ScoreReachable(query, wanted_, /*code_ordered=*/false, bound_of, score,
                                  [&] { return KthHit(); },
                                  [&](uint32_t c) { return int64_t{(*in_view)[c]}; });
  return status.ok() ? s : status;
}

absl::Status ReleaseSearch::Run(int offset, int page_size, v1::SearchResponse* resp) {
  if (view_ && Slots().size() < view_->size()) Slots().resize(view_->size(), -1);
  if (absl::Status s = CodeHits(); !s.ok()) return s;
  bool possible = false;
  if (absl::Status s = ResolveWords(&possible); !s.ok()) return s;
  if (possible) {
    if (absl::Status s = TextHits(); !s.ok()) return s;
    if (clinical_ != nullptr) {
      if (absl::Status s = ClinicalHits(); !s.ok()) return s;
      for (const storage::ReleaseRecord* r :
           {clinical_->index_release(), clinical_->tabular_release()}) {
        if (r != nullptr) ToRef(*r, resp->add_supplements());
      }
    }
  }
  // Pruned, the hits are those scored and the rest were counted; otherwise all were scored.
  const size_t total = pruned_ && possible ? counted_ : hits_.size();

  // Only the hits up to the end of the page need their order.
  size_t ordered = std::min(hits_.size(), static_cast<size_t>(offset) + page_size);
  std::partial_sort(hits_.begin(), hits_.begin() + ordered, hits_.end(), Before);
  ToRef(release_, resp->mutable_release());
  resp->set_total_hits(static_cast<int32_t>(total));
  storage::CodeState st;
  for (size_t i = offset; i < hits_.size() && i < static_cast<size_t>(offset) + page_size; ++i) {
    const Hit& hit = hits_[i];
    if (absl::Status s = reader_->Read(system_.id, hit.code, seq_, &st); !s.ok()) return s;
    v1::SearchHit* h = resp->add_hits();
    ToApi(system_, hit.code, st.record, h->mutable_concept());
    h->set_match(hit.match);
    h->set_score(hit.score);
    if (const ClinicalTerms::Entry* e = hit.entry) {
      h->set_reason(e->reason);
      const storage::ReleaseRecord* source =
          e->from_tabular ? clinical_->tabular_release() : clinical_->index_release();
      if (source != nullptr) ToRef(*source, h->mutable_reason_source());
    } else if (hit.match == v1::SEARCH_MATCH_TEXT) {
      absl::StrAppend(h->mutable_reason(), "description: ", st.record.display);
    }
  }
  return absl::OkStatus();
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
                           v1::SearchResponse* resp, const SearchOptions& options) {
  ReleaseSearch search(reader, system, release, clinical, req,
                       static_cast<size_t>(offset) + static_cast<size_t>(page_size), options);
  return search.Run(offset, page_size, resp);
}

}  // namespace codebook::service
