#include "service/search_table.h"

#include <algorithm>
#include <iterator>
#include <limits>

namespace codebook::service {
namespace {

// Words that say little about what a concept is.
const std::vector<std::string>& FillerWords() {
  static const auto* words = new std::vector<std::string>{
      "a", "an", "and", "as", "at", "by", "due", "elsewhere", "for", "in", "not", "of", "on",
      "or", "the", "to", "unspecified", "with", "without", "classified", "nos", "nec"};
  return *words;
}

// How well one query word matches, by level: a whole word of the display, the start of one, a
// whole word of another text, the start of one.
constexpr double kQuality[4] = {4, 3, 2, 1.5};

}  // namespace

SearchTable::SearchTable(const storage::WordTable& words,
                         const std::function<size_t(uint32_t)>& essential,
                         const std::function<double(uint32_t)>& fixed)
    : words_(words), filler_(words.terms(), 0) {
  for (const std::string& f : FillerWords()) {
    uint32_t id = words.Find(f);
    if (id != storage::WordTable::kNoTerm) filler_[id] = 1;
  }
  // Per item and per block: meaningful words and fixed scores.
  const uint32_t n = static_cast<uint32_t>(words.concepts());
  meaningful_.resize(n);
  fixed_.resize(n);
  block_cover_fixed_.assign(words_per_set() * kCoverSteps,
                            -std::numeric_limits<double>::infinity());
  block_fixed_.assign(words_per_set(), -std::numeric_limits<double>::infinity());
  for (uint32_t i = 0; i < n; ++i) {
    absl::Span<const uint32_t> display = words.Display(i);
    const size_t limit = std::min(display.size(), essential(i));
    int m = 0;
    for (size_t k = 0; k < limit; ++k) m += !filler_[display[k]];
    meaningful_[i] = static_cast<uint8_t>(std::min(m, 255));
    fixed_[i] = static_cast<float>(fixed(i));
    block_fixed_[i / 64] = std::max(block_fixed_[i / 64], static_cast<double>(fixed_[i]));
    for (int c = 0; c < kCoverSteps; ++c) {
      double& most = block_cover_fixed_[(i / 64) * kCoverSteps + c];
      most = std::max(most, CoverageScore(c, meaningful_[i]) + static_cast<double>(fixed_[i]));
    }
  }

  // Postings by counting: each item once per distinct term of its display, and once per
  // distinct term of its other texts.
  display_offsets_.assign(words.terms() + 1, 0);
  other_offsets_.assign(words.terms() + 1, 0);
  std::vector<uint32_t> distinct;
  auto distinct_of = [&](absl::Span<const uint32_t> ids) -> const std::vector<uint32_t>& {
    distinct.assign(ids.begin(), ids.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    return distinct;
  };
  // Other texts: only the terms the display lacks (a display term is matched there already).
  std::vector<uint32_t> in_display, only_other;
  auto other_only = [&](uint32_t i) -> const std::vector<uint32_t>& {
    in_display = distinct_of(words.Display(i));
    const std::vector<uint32_t>& other = distinct_of(words.Other(i));
    only_other.clear();
    std::set_difference(other.begin(), other.end(), in_display.begin(), in_display.end(),
                        std::back_inserter(only_other));
    return only_other;
  };
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t t : distinct_of(words.Display(i))) ++display_offsets_[t + 1];
    for (uint32_t t : other_only(i)) ++other_offsets_[t + 1];
  }
  for (size_t t = 1; t < display_offsets_.size(); ++t) {
    display_offsets_[t] += display_offsets_[t - 1];
    other_offsets_[t] += other_offsets_[t - 1];
  }
  display_.resize(display_offsets_.back());
  other_.resize(other_offsets_.back());
  std::vector<uint32_t> display_at(display_offsets_.begin(), display_offsets_.end() - 1);
  std::vector<uint32_t> other_at(other_offsets_.begin(), other_offsets_.end() - 1);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t t : distinct_of(words.Display(i))) display_[display_at[t]++] = i;
    for (uint32_t t : other_only(i)) other_[other_at[t]++] = i;
  }

  // The pairs of adjacent display words, each with its items.
  struct Triple {
    uint32_t a, b, item;
    bool operator==(const Triple& o) const { return a == o.a && b == o.b && item == o.item; }
  };
  std::vector<Triple> triples, sorted;
  for (uint32_t i = 0; i < n; ++i) {
    absl::Span<const uint32_t> display = words.Display(i);
    for (size_t k = 1; k < display.size(); ++k) triples.push_back({display[k - 1], display[k], i});
  }
  // In item order already: a stable counting sort by the second term, then by the first, puts
  // them in (first, second, item) order in linear time.
  std::vector<uint32_t> at;
  auto sort_by = [&](auto key) {
    at.assign(words.terms() + 1, 0);
    for (const Triple& t : triples) ++at[key(t) + 1];
    for (size_t k = 1; k < at.size(); ++k) at[k] += at[k - 1];
    sorted.resize(triples.size());
    for (const Triple& t : triples) sorted[at[key(t)]++] = t;
    triples.swap(sorted);
  };
  sort_by([](const Triple& t) { return t.b; });
  sort_by([](const Triple& t) { return t.a; });
  triples.erase(std::unique(triples.begin(), triples.end()), triples.end());
  pair_offsets_.assign(words.terms() + 1, 0);
  pair_items_.reserve(triples.size());
  for (size_t k = 0; k < triples.size(); ++k) {
    const Triple& t = triples[k];
    if (k == 0 || t.a != triples[k - 1].a || t.b != triples[k - 1].b) {
      ++pair_offsets_[t.a + 1];
      pair_second_.push_back(t.b);
      pair_item_offsets_.push_back(static_cast<uint32_t>(pair_items_.size()));
    }
    pair_items_.push_back(t.item);
  }
  pair_item_offsets_.push_back(static_cast<uint32_t>(pair_items_.size()));
  for (size_t t = 1; t < pair_offsets_.size(); ++t) pair_offsets_[t] += pair_offsets_[t - 1];

  dense_display_ = MakeDense(display_offsets_, display_);
  dense_other_ = MakeDense(other_offsets_, other_);
  dense_pairs_ = MakeDense(pair_item_offsets_, pair_items_);
}

std::vector<int32_t> SearchTable::MakeDense(const std::vector<uint32_t>& offsets,
                                            const std::vector<uint32_t>& postings) {
  std::vector<int32_t> index(offsets.size() - 1, -1);
  const size_t threshold = std::max<size_t>(items() / 32, 64);
  for (size_t t = 0; t + 1 < offsets.size(); ++t) {
    if (offsets[t + 1] - offsets[t] < threshold) continue;
    index[t] = static_cast<int32_t>(dense_.size() / words_per_set());
    dense_.resize(dense_.size() + words_per_set(), 0);
    uint64_t* bits = dense_.data() + static_cast<size_t>(index[t]) * words_per_set();
    for (uint32_t k = offsets[t]; k < offsets[t + 1]; ++k) {
      bits[postings[k] >> 6] |= uint64_t{1} << (postings[k] & 63);
    }
  }
  return index;
}

void SearchTable::AddDisplay(uint32_t t, ItemBits* out) const {
  if (const uint64_t* dense = DenseDisplay(t)) return out->OrWords(dense);
  for (uint32_t i : DisplayPostings(t)) out->Set(i);
}

void SearchTable::AddOther(uint32_t t, ItemBits* out) const {
  if (const uint64_t* dense = DenseOther(t)) return out->OrWords(dense);
  for (uint32_t i : OtherPostings(t)) out->Set(i);
}

void SearchTable::AddPairs(uint32_t a_lo, uint32_t a_hi, uint32_t b_lo, uint32_t b_hi,
                           ItemBits* out) const {
  for (uint32_t a = a_lo; a < a_hi; ++a) {
    auto first = pair_second_.begin() + pair_offsets_[a];
    auto last = pair_second_.begin() + pair_offsets_[a + 1];
    for (auto it = std::lower_bound(first, last, b_lo); it != last && *it < b_hi; ++it) {
      const size_t pair = static_cast<size_t>(it - pair_second_.begin());
      if (const uint64_t* dense = Dense(dense_pairs_[pair])) {
        out->OrWords(dense);
        continue;
      }
      for (uint32_t k = pair_item_offsets_[pair]; k < pair_item_offsets_[pair + 1]; ++k) {
        out->Set(pair_items_[k]);
      }
    }
  }
}

size_t SearchTable::MemoryBytes() const {
  return filler_.size() + meaningful_.size() + 4 * fixed_.size() +
         8 * (block_cover_fixed_.size() + block_fixed_.size() + dense_.size()) +
         4 * (display_offsets_.size() + display_.size() + other_offsets_.size() + other_.size() +
              pair_offsets_.size() + pair_second_.size() + pair_item_offsets_.size() +
              pair_items_.size() + dense_display_.size() + dense_other_.size() +
              dense_pairs_.size());
}

void TableQuery::Reset(const SearchTable& table, const std::vector<QueryWord>& words,
                       bool any_order) {
  table_ = &table;
  any_order_ = any_order;
  words_ = words.size();
  const storage::WordTable& w = table.words();
  parts_.clear();
  alternatives_.resize(words_);
  weight_.clear();
  multi_part_.clear();
  multi_part_words_ = 0;
  longest_.clear();
  for (size_t i = 0; i < words_; ++i) {
    auto& alts = alternatives_[i];
    alts.clear();
    bool multi = false;
    for (const auto& alt : words[i].alternatives) {
      int begin = static_cast<int>(parts_.size());
      for (const std::string& text : alt) {
        auto [lo, hi] = w.PrefixRange(text);
        // The term itself, if the table has it, is the first that starts with it.
        const uint32_t exact = lo < hi && w.term(lo) == text ? lo : storage::WordTable::kNoTerm;
        parts_.push_back({exact, lo, hi, static_cast<int>(i)});
      }
      alts.emplace_back(begin, static_cast<int>(parts_.size()));
      multi |= alt.size() > 1;
    }
    multi_part_.push_back(multi);
    multi_part_words_ += multi;
    int longest = 0;
    for (const auto& alt : words[i].alternatives) longest = std::max(longest, static_cast<int>(alt.size()));
    longest_.push_back(longest);
    weight_.push_back(words[i].trimmed ? 0.75 : 1.0);
  }
  best_.resize(parts_.size());
  covering_.resize(parts_.size());
  adjacent_.resize(words_);

  // Each word's levels: an alternative's are its parts' intersected (its quality is its
  // weakest part's), a word's its alternatives' united; it covers where any part does.
  const size_t items = table.items();
  if (levels_.size() < words_) levels_.resize(words_);
  for (size_t i = 0; i < words_; ++i) {
    Levels& word = levels_[i];
    const auto& alts = alternatives_[i];
    if (alts.size() == 1 && alts[0].second - alts[0].first == 1) {
      PartLevels(parts_[alts[0].first], &word);  // the common case: one word, one alternative
      continue;
    }
    for (ItemBits& b : word.at_least) b.Clear(items);
    word.covers.Clear(items);
    word.own_covers = true;
    for (const auto& [begin, end] : alts) {
      for (int k = begin; k < end; ++k) {
        Levels& into = k == begin ? alt_ : part_;
        PartLevels(parts_[k], &into);
        word.covers.Or(into.Covers());
        if (k == begin) continue;
        for (int l = 0; l < 3; ++l) alt_.at_least[l].And(part_.at_least[l]);
      }
      for (int l = 0; l < 3; ++l) word.at_least[l].Or(alt_.at_least[l]);
    }
  }
  // The candidates: the blocks of the word touching fewest, intersected with every word's.
  candidates_.Clear(items);
  if (words_ > 0) {
    size_t rarest = 0;
    for (size_t i = 1; i < words_; ++i) {
      if (levels_[i].at_least[2].words_visited() < levels_[rarest].at_least[2].words_visited()) {
        rarest = i;
      }
    }
    levels_[rarest].at_least[2].ForEachWord([&](uint32_t k) {
      uint64_t bits = ~uint64_t{0};
      for (size_t i = 0; i < words_ && bits != 0; ++i) bits &= levels_[i].at_least[2].Word(k);
      candidates_.OrWord(k, bits);
    });
  }
  pairs_ = words_ < 2 ? 0 : (words_ - 1) * (any_order_ ? 2 : 1);
  if (pair_bits_.size() < pairs_) pair_bits_.resize(pairs_);
  for (size_t i = 0; i + 1 < words_; ++i) {
    AddPairs(static_cast<int>(i), static_cast<int>(i + 1), &pair_bits_[i]);
    if (any_order_) {
      AddPairs(static_cast<int>(i + 1), static_cast<int>(i), &pair_bits_[words_ - 1 + i]);
    }
  }
}

void TableQuery::AddPairs(int a, int b, ItemBits* out) const {
  out->Clear(table_->items());
  for (const Part& pa : parts_) {
    if (pa.word != a) continue;
    for (const Part& pb : parts_) {
      if (pb.word == b) table_->AddPairs(pa.lo, pa.hi, pb.lo, pb.hi, out);
    }
  }
}

void TableQuery::PartLevels(const Part& p, Levels* out) const {
  const size_t n = table_->items();
  for (ItemBits& b : out->at_least) b.Clear(n);
  // Each posting list goes into the best level it reaches (a whole display word, the start of
  // one, another text), then each level takes in the better ones.
  if (p.exact != storage::WordTable::kNoTerm) table_->AddDisplay(p.exact, &out->at_least[0]);
  bool filler = false;
  for (uint32_t t = p.lo; t < p.hi; ++t) {
    filler |= table_->filler(t);
    if (t != p.exact) table_->AddDisplay(t, &out->at_least[1]);
    table_->AddOther(t, &out->at_least[2]);
  }
  out->at_least[1].Or(out->at_least[0]);
  out->at_least[2].Or(out->at_least[1]);
  // It covers where it matches a display word that is not filler: where it matches a display
  // word at all, unless some of its words are filler.
  out->own_covers = filler;
  if (!filler) return;
  out->covers.Clear(n);
  for (uint32_t t = p.lo; t < p.hi; ++t) {
    if (!table_->filler(t)) table_->AddDisplay(t, &out->covers);
  }
}

TableQuery::BlockPart TableQuery::PartOf(uint32_t k) const {
  const uint64_t candidates = candidates_.Word(k);
  double total = 0;
  int covered = 0;
  for (size_t w = 0; w < words_; ++w) {
    const Levels& l = levels_[w];
    const int level = (l.at_least[0].Word(k) & candidates)   ? 0
                      : (l.at_least[1].Word(k) & candidates) ? 1
                                                             : 2;
    total += weight_[w] * kQuality[level];
    covered += (l.Covers().Word(k) & candidates) != 0 ? longest_[w] : 0;
  }
  int adjacent = multi_part_words_;
  for (size_t j = 0; j < pairs_; ++j) adjacent += (pair_bits_[j].Word(k) & candidates) != 0;
  return {100.0 * total / words_ + 10.0 * adjacent, covered};
}

double TableQuery::Bound(uint32_t i, double fixed) const {
  double total = 0;
  int covered = 0;
  for (size_t w = 0; w < words_; ++w) {
    const Levels& l = levels_[w];
    // A match in other texts only counts as a whole word there (2) at most.
    const int level = l.at_least[0].Test(i) ? 0 : l.at_least[1].Test(i) ? 1 : 2;
    total += weight_[w] * kQuality[level];
    covered += l.Covers().Test(i) ? longest_[w] : 0;
  }
  int adjacent = multi_part_words_;
  for (size_t j = 0; j < pairs_; ++j) adjacent += pair_bits_[j].Test(i);
  return 100.0 * total / words_ + CoverageScore(covered, table_->meaningful(i)) +
         10.0 * adjacent + fixed;
}

double TableQuery::Score(uint32_t item, double fixed, size_t essential) {
  const storage::WordTable& words = table_->words();
  absl::Span<const uint32_t> display = words.Display(item);
  std::fill(best_.begin(), best_.end(), 0.0);
  std::fill(covering_.begin(), covering_.end(), 0);
  std::fill(adjacent_.begin(), adjacent_.end(), 0);
  int meaningful = 0;
  int previous = -2;  // the query word the previous display word matched
  for (size_t i = 0; i < display.size(); ++i) {
    const uint32_t id = display[i];
    const bool counts = !table_->filler(id) && i < essential;  // for coverage
    int matched = -1;
    for (size_t k = 0; k < parts_.size(); ++k) {
      const Part& p = parts_[k];
      if (id < p.lo || id >= p.hi) continue;
      best_[k] = std::max(best_[k], id == p.exact ? kQuality[0] : kQuality[1]);
      if (matched < 0 || p.word < matched) matched = p.word;
      if (counts) covering_[k] = 1;
    }
    // A pair of query words in phrase order (either order with any_order_), or two words of
    // one multi-word alternative ("chf": heart failure); each pair counts once.
    if (matched >= 0 && previous >= 0) {
      if (matched == previous + 1) {
        adjacent_[previous] |= 1;
      } else if (any_order_ && matched == previous - 1) {
        adjacent_[matched] |= 2;
      } else if (matched == previous && multi_part_[matched]) {
        adjacent_[matched] |= 4;
      }
    }
    previous = matched;
    meaningful += counts;
  }
  absl::Span<const uint32_t> other = words.Other(item);
  for (size_t k = 0; k < parts_.size(); ++k) {
    if (best_[k] > 0) continue;
    const Part& p = parts_[k];
    for (uint32_t id : other) {
      if (id == p.exact) {
        best_[k] = kQuality[2];
        break;
      }
      if (id >= p.lo && id < p.hi) best_[k] = kQuality[3];
    }
  }
  double total = 0;
  for (size_t w = 0; w < words_; ++w) {
    double word = 0;
    for (const auto& [begin, end] : alternatives_[w]) {
      double alt = kQuality[0];
      for (int k = begin; k < end; ++k) alt = std::min(alt, best_[k]);
      word = std::max(word, alt);
    }
    if (word == 0) return 0;
    total += weight_[w] * word;
  }
  // Each query word covers as many display words as its parts matched, at most as many as its
  // longest alternative has ("copd": chronic obstructive pulmonary, 3).
  int covered = 0, adjacent = 0;
  for (size_t w = 0; w < words_; ++w) {
    int parts = 0;
    for (const auto& [begin, end] : alternatives_[w]) {
      for (int k = begin; k < end; ++k) parts += covering_[k];
    }
    covered += std::min(parts, longest_[w]);
  }
  for (char a : adjacent_) adjacent += (a & 1) + ((a >> 1) & 1) + ((a >> 2) & 1);
  return 100.0 * total / words_ + CoverageScore(covered, meaningful) + 10.0 * adjacent + fixed;
}

}  // namespace codebook::service
