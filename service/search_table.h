// Search's scoring, over one word table (a release view's, the clinical terms', or the few
// candidates a release without a view gives): which items match every word of a query, how
// each scores, and the most each can score, worked out from bits alone, so that only the
// candidates whose bound can still reach the page asked for are scored (search.cc).
//
// SearchTable holds what does not depend on the query, worked out once per table: each term's
// items split into those whose display holds it and those whose other texts alone do, the
// pairs of adjacent display words with their items, dense bit sets for the common ones, which
// terms are filler, per item how many of its display words count for coverage and the fixed
// part of its score, and per block of 64 items the most those two parts add up to for each
// number of words a query covers. TableQuery is one query over one SearchTable: per query
// word, the items where it matches at each quality, and from them the candidates, their bounds
// (per block, per item quickly from the block's, and per item) and their scores.
//
// The score (see codebook.v1.Terminology.Search): the mean match quality of the query words (a
// word's quality is its best alternative's, an alternative's is its weakest word's: a whole word
// of the display 4, the start of one 3, a whole word of another text 2, the start of one 1.5;
// three quarters of that for a word shortened for a typo), times 100, plus
//  - coverage: the share of the display's meaningful (essential, not filler) words that the
//    query's words account for, each counting for as many words as its longest alternative
//    has ("copd": 3), so shorter entries come first (up to 50);
//  - adjacency: pairs of query words (the next word, or with `any_order` the previous one; or
//    two words of one multi-word alternative) that consecutive display words match, as in a
//    phrase (10 for each pair found);
//  - what the caller adds for the item itself (billable, code length, an Index term's depth).
// Bound(i) is at least Score(i) for every candidate i, and equal in the common case: every
// part of it but the match in other texts (counted as a whole word) comes from bits, the
// adjacency from an index of the display's word pairs.
#ifndef CODEBOOK_SERVICE_SEARCH_TABLE_H_
#define CODEBOOK_SERVICE_SEARCH_TABLE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/word_table.h"

namespace codebook::service {

// A set of item numbers, as bits, that marks in a summary (one bit per 64-bit word) which
// words it touched while it is sparse, so that emptying and walking it cost what it holds, not
// its size, and one kept per thread serves every query; once a dense set is added it is
// treated as touching every word (whole-array operations, which the compiler vectorizes, are
// then the cheaper ones).
class ItemBits {
 public:
  // Empties the set, for items below `items`.
  void Clear(size_t items) {
    if (all_) {
      std::fill(words_.begin(), words_.begin() + count_, 0);
    } else {
      ForEachWord([&](uint32_t k) { words_[k] = 0; });
    }
    std::fill(summary_.begin(), summary_.end(), 0);
    all_ = false;
    count_ = (items + 63) / 64;
    if (words_.size() < count_) words_.resize(count_, 0);
    if (summary_.size() < (count_ + 63) / 64) summary_.resize((count_ + 63) / 64, 0);
  }
  void Set(uint32_t i) {
    words_[i >> 6] |= uint64_t{1} << (i & 63);
    summary_[i >> 12] |= uint64_t{1} << ((i >> 6) & 63);
  }
  bool Test(uint32_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  // Word k: items 64k to 64k + 63.
  uint64_t Word(uint32_t k) const { return words_[k]; }
  void OrWord(uint32_t k, uint64_t bits) {
    words_[k] |= bits;
    summary_[k >> 6] |= uint64_t{bits != 0} << (k & 63);
  }
  // Adds a dense set (one word per 64 items).
  void OrWords(const uint64_t* words) {
    all_ = true;
    uint64_t* to = words_.data();
    for (size_t k = 0; k < count_; ++k) to[k] |= words[k];
  }
  void Or(const ItemBits& o) {
    if (o.all_) return OrWords(o.words_.data());
    o.ForEachWord([&](uint32_t k) { OrWord(k, o.words_[k]); });
  }
  void And(const ItemBits& o) {
    if (all_) {
      for (size_t k = 0; k < count_; ++k) words_[k] &= o.words_[k];
    } else {
      ForEachWord([&](uint32_t k) { words_[k] &= o.words_[k]; });
    }
  }
  // Calls f(k) for every word k that may be nonempty (every word once a dense set was added),
  // ascending.
  template <typename F>
  void ForEachWord(F f) const {
    if (all_) {
      for (uint32_t k = 0; k < count_; ++k) f(k);
      return;
    }
    for (uint32_t s = 0; s < summary_.size(); ++s) {
      for (uint64_t bits = summary_[s]; bits != 0; bits &= bits - 1) {
        f(s * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
      }
    }
  }
  // How many words ForEachWord visits.
  size_t words_visited() const {
    if (all_) return count_;
    size_t n = 0;
    for (uint64_t bits : summary_) n += static_cast<size_t>(__builtin_popcountll(bits));
    return n;
  }

 private:
  std::vector<uint64_t> words_;    // zero beyond count_, and unless all_ where summary_ is 0
  std::vector<uint64_t> summary_;  // bit k clear: word k is empty (kept when all_, unused then)
  size_t count_ = 0;               // words for the items of the last Clear
  bool all_ = false;
};

// The coverage part of a score (TableQuery::Score): 50 times the share of an item's
// `meaningful` words that the query's words cover `covered` of, at most all (0 for an item
// without meaningful words). Bounds and scores alike work it out here, so that they agree.
inline double CoverageScore(int covered, int meaningful) {
  return meaningful == 0 ? 0 : 50.0 * std::min(1.0, static_cast<double>(covered) / meaningful);
}

// Calls f(i) for each item i of word k of a set of items (items 64k to 64k + 63) whose bit is
// set in `bits`, ascending, while f returns true; false when f stopped it.
template <typename F>
bool ForEachItem(uint32_t k, uint64_t bits, F f) {
  for (; bits != 0; bits &= bits - 1) {
    if (!f(k * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)))) return false;
  }
  return true;
}

class SearchTable {
 public:
  // Over `words` (which must outlive it). `essential(i)` is how many of item i's display words
  // are its text proper (the rest, an Index term's nonessential modifiers, never count for
  // coverage); `fixed(i)` the most that the caller will add to its score (TableQuery::Score).
  SearchTable(const storage::WordTable& words, const std::function<size_t(uint32_t)>& essential,
              const std::function<double(uint32_t)>& fixed);

  const storage::WordTable& words() const { return words_; }
  size_t items() const { return words_.concepts(); }
  // Words that say little about what an item is ("of", "unspecified"): they neither count for
  // nor against it in coverage.
  bool filler(uint32_t term) const { return filler_[term] != 0; }
  // Item i's display words that count for coverage: essential and not filler.
  int meaningful(uint32_t i) const { return meaningful_[i]; }
  // The `fixed(i)` given (to float precision: meant for sums of small whole numbers).
  double fixed(uint32_t i) const { return fixed_[i]; }
  // Per block of 64 items (block k: items 64k to 64k + 63): the most that coverage and the
  // fixed score add up to for an item of it whose meaningful words the query's words cover
  // `covered` of (TableQuery::Score).
  double BlockCoverFixed(uint32_t k, int covered) const {
    return covered < kCoverSteps ? block_cover_fixed_[k * kCoverSteps + covered]
                                 : 50.0 + block_fixed_[k];
  }
  // A term's display (or other) postings as a dense set of items(), when they are many
  // enough for bits to be the cheaper form; else nullptr.
  const uint64_t* DenseDisplay(uint32_t t) const { return Dense(dense_display_[t]); }
  const uint64_t* DenseOther(uint32_t t) const { return Dense(dense_other_[t]); }
  size_t words_per_set() const { return (items() + 63) / 64; }
  // The items whose display holds term t, and those whose other texts hold it but whose
  // display does not; ascending.
  absl::Span<const uint32_t> DisplayPostings(uint32_t t) const {
    return {display_.data() + display_offsets_[t], display_offsets_[t + 1] - display_offsets_[t]};
  }
  absl::Span<const uint32_t> OtherPostings(uint32_t t) const {
    return {other_.data() + other_offsets_[t], other_offsets_[t + 1] - other_offsets_[t]};
  }
  // Adds to *out the items whose display has a word of terms [a_lo, a_hi) right before one of
  // [b_lo, b_hi).
  void AddPairs(uint32_t a_lo, uint32_t a_hi, uint32_t b_lo, uint32_t b_hi, ItemBits* out) const;
  // Adds to *out the items of term t's display (or other) postings.
  void AddDisplay(uint32_t t, ItemBits* out) const;
  void AddOther(uint32_t t, ItemBits* out) const;
  size_t MemoryBytes() const;

 private:
  const storage::WordTable& words_;
  std::vector<uint8_t> filler_;       // by term: 1 for a filler word (bytes: read per posting)
  const uint64_t* Dense(int32_t set) const {
    return set < 0 ? nullptr : dense_.data() + static_cast<size_t>(set) * words_per_set();
  }
  // Turns the postings with at least `items() / 32` entries into dense sets: their indexes.
  std::vector<int32_t> MakeDense(const std::vector<uint32_t>& offsets,
                                 const std::vector<uint32_t>& postings);

  std::vector<uint8_t> meaningful_;   // by item, at most 255
  std::vector<float> fixed_;          // by item
  static constexpr int kCoverSteps = 8;
  std::vector<double> block_cover_fixed_;  // by block, then words covered: 0 to kCoverSteps - 1
  std::vector<double> block_fixed_;        // by block: the most fixed score
  std::vector<int32_t> dense_display_, dense_other_;  // by term: index of its dense set, or -1
  std::vector<int32_t> dense_pairs_;                  // by pair
  std::vector<uint64_t> dense_;                       // the dense sets, words_per_set() each
  std::vector<uint32_t> display_offsets_, display_, other_offsets_, other_;
  // Adjacent display words: by first term, [begin, end) of pair_second_ (sorted); by pair,
  // [begin, end) of pair_items_ (ascending).
  std::vector<uint32_t> pair_offsets_, pair_second_, pair_item_offsets_, pair_items_;
};

// One query word: it matches when any alternative does; an alternative of several words
// ("dm": diabetes mellitus) when each of its words does (search.cc's ParseQuery makes them).
struct QueryWord {
  std::string text;  // as typed (lowercased), or its retained stem after typo trimming
  std::vector<std::vector<std::string>> alternatives;
  bool trimmed = false;  // shortened because the word as typed matched nothing: counts 3/4
};

// A query over one SearchTable. Not thread-safe; meant to be kept per thread and Reset for
// each query, so that its bit sets are allocated once.
class TableQuery {
 public:
  // The query `words` over `table` (which must outlive this use). `any_order`: query words
  // matched by consecutive display words count as adjacent in either order (the Index inverts
  // phrases: "Fibrillation, atrial").
  void Reset(const SearchTable& table, const std::vector<QueryWord>& words,
             bool any_order = false);

  // The items that every query word matches, in a display word or another text.
  bool IsCandidate(uint32_t i) const { return candidates_.Test(i); }
  // Calls f(k) for each block k (items 64k to 64k + 63) that may hold candidates, ascending;
  // and the candidates of block k, as bits.
  template <typename F>
  void ForEachBlock(F f) const {
    candidates_.ForEachWord(f);
  }
  uint64_t Candidates(uint32_t k) const { return candidates_.Word(k); }
  // Blocks: 0 to block_count() - 1.
  uint32_t block_count() const { return static_cast<uint32_t>(table_->words_per_set()); }
  // Calls f(i) for each candidate i, ascending, while f returns true; false when f stopped it.
  template <typename F>
  bool ForEachCandidate(F f) const {
    bool go = true;
    candidates_.ForEachWord([&](uint32_t k) {
      if (go) go = ForEachItem(k, candidates_.Word(k), f);
    });
    return go;
  }
  // What the query's words can give the candidates of one block (the whole bound but coverage
  // and the fixed score), and how many meaningful words they can cover.
  struct BlockPart {
    double words;
    int covered;
  };
  BlockPart PartOf(uint32_t k) const;
  // At least Bound(i, table.fixed(i)) for every candidate i of block k.
  double BlockBound(uint32_t k) const {
    const BlockPart part = PartOf(k);
    return part.words + table_->BlockCoverFixed(k, part.covered);
  }
  // At least Bound(i, table.fixed(i)) for candidate i of block k given PartOf(k): cheaper than
  // Bound, not as close.
  double QuickBound(uint32_t i, const BlockPart& part) const {
    return part.words + CoverageScore(part.covered, table_->meaningful(i)) + table_->fixed(i);
  }
  // At least Score(i, fixed, ...) for a candidate i (`fixed` being the same).
  double Bound(uint32_t i, double fixed) const;
  // Item i's score plus `fixed`; display words from position `essential` on (an Index term's
  // nonessential modifiers) match as display words but count for coverage neither way. 0 when
  // some query word matches none of its words.
  double Score(uint32_t i, double fixed,
               size_t essential = std::numeric_limits<size_t>::max());

 private:
  struct Part {
    uint32_t exact, lo, hi;  // exact term (or kNoTerm) and the [lo, hi) terms it starts
    int word;
  };
  // Per word: the items where its quality is at least 4 (a whole display word), 3 (a display
  // word), and anything; and where it matches a display word that is not filler.
  struct Levels {
    ItemBits at_least[3];
    ItemBits covers;   // when own_covers; else the same as at_least[1]
    bool own_covers = false;
    const ItemBits& Covers() const { return own_covers ? covers : at_least[1]; }
  };
  void PartLevels(const Part& p, Levels* out) const;
  // The items where word `a` matches a display word right before one that word `b` matches.
  void AddPairs(int a, int b, ItemBits* out) const;

  const SearchTable* table_ = nullptr;
  bool any_order_ = false;
  size_t words_ = 0;
  std::vector<Part> parts_;
  std::vector<std::vector<std::pair<int, int>>> alternatives_;  // per word: [begin, end) of parts_
  std::vector<double> weight_;  // per word: 1, or 0.75 when trimmed
  std::vector<char> multi_part_;  // per word: it has a multi-word alternative
  int multi_part_words_ = 0;
  std::vector<int> longest_;      // per word: the words of its longest alternative
  // Kept across Resets (only the first words_ and pairs_ are this query's).
  std::vector<Levels> levels_;  // per word
  Levels part_, alt_;
  size_t pairs_ = 0;
  std::vector<ItemBits> pair_bits_;  // per word but the last: pairs with the next word in
                                     // order, then (any_order) in reverse
  ItemBits candidates_;  // built word by word: never dense, so ForEachWord walks its blocks
  // Scratch for Score.
  std::vector<double> best_;       // per part
  std::vector<char> covering_;     // per part: it matched a word that counts for coverage
  std::vector<char> adjacent_;     // per word: 1 next, 2 previous, 4 itself, as found
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_SEARCH_TABLE_H_
