// WordTable: the words of a set of concepts, in memory, for scoring search candidates without
// decoding records. Built once per published release alongside its ReleaseView (and, for a
// release without a view, over just the candidates of one query). Immutable once built.
//
// Terms (storage/terms.h words) are numbered in sorted order, so the terms that start with a
// prefix are one range of ids, and "word w starts with prefix p" is a range check. Concepts are
// numbered in the order they were added (a view adds them in code order).
#ifndef CODEBOOK_STORAGE_WORD_TABLE_H_
#define CODEBOOK_STORAGE_WORD_TABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/records.h"

namespace codebook::storage {

class WordTable {
 public:
  static constexpr uint32_t kNoTerm = ~0u;

  class Builder {
   public:
    // Adds the next concept; its number is the count of concepts added before it.
    void Add(const ConceptRecord& r);
    std::unique_ptr<WordTable> Finish();

   private:
    uint32_t Id(absl::string_view term);
    absl::flat_hash_map<std::string, uint32_t> ids_;
    std::vector<std::string> terms_;
    std::unique_ptr<WordTable> table_ = std::unique_ptr<WordTable>(new WordTable());
    std::vector<std::string> scratch_;
  };

  size_t concepts() const { return flags_.size(); }
  size_t terms() const { return terms_.size(); }
  absl::string_view term(uint32_t id) const { return terms_[id]; }
  // Ids of the terms that start with `prefix`: [first, second).
  std::pair<uint32_t, uint32_t> PrefixRange(absl::string_view prefix) const;
  // Id of exactly `term`, or kNoTerm.
  uint32_t Find(absl::string_view term) const;
  // The words of concept `c`'s display, in text order; and of its other texts.
  absl::Span<const uint32_t> Display(uint32_t c) const {
    return {words_.data() + offsets_[2 * c], offsets_[2 * c + 1] - offsets_[2 * c]};
  }
  absl::Span<const uint32_t> Other(uint32_t c) const {
    return {words_.data() + offsets_[2 * c + 1], offsets_[2 * c + 2] - offsets_[2 * c + 1]};
  }
  // The concepts whose texts have term `t`, ascending.
  absl::Span<const uint32_t> Postings(uint32_t t) const {
    return {postings_.data() + posting_offsets_[t], posting_offsets_[t + 1] - posting_offsets_[t]};
  }
  // Postings of the terms with ids in [lo, hi): an upper bound of the concepts having one.
  size_t PostingCount(uint32_t lo, uint32_t hi) const {
    return posting_offsets_[hi] - posting_offsets_[lo];
  }
  bool billable(uint32_t c) const { return flags_[c] & 1; }
  ConceptKind kind(uint32_t c) const { return static_cast<ConceptKind>(flags_[c] >> 1); }
  // Approximate bytes held.
  size_t MemoryBytes() const;

 private:
  WordTable() { offsets_.push_back(0); }
  std::vector<std::string> terms_;  // sorted
  std::vector<uint32_t> words_;     // per concept: display words, then other words
  std::vector<uint32_t> offsets_;   // 2 per concept plus the end: display, other, next
  std::vector<uint8_t> flags_;      // bit 0 billable, bits 1.. kind
  std::vector<uint32_t> posting_offsets_;
  std::vector<uint32_t> postings_;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_WORD_TABLE_H_
