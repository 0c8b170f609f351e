// StagedBatch: the concepts of one upload, encoded as they arrive, for Store to stage or to
// publish in one write. It holds each concept as its code and its record body in
// storage/encoding.h's form (no ConceptRecord kept per concept), so that an upload of a whole
// release takes about the bytes it will take in the database, and moving it is free.
//
// Not thread-safe: one upload fills it, then hands it to the store.
#ifndef CODEBOOK_STORAGE_STAGED_BATCH_H_
#define CODEBOOK_STORAGE_STAGED_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/records.h"

namespace codebook::storage {

class StagedBatch {
 public:
  // Adds a concept: `code` in storage form (validated and normalized by the caller).
  void Add(absl::string_view code, const ConceptRecord& record);
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // Puts the concepts in code order. INVALID_ARGUMENT naming the first code given twice (the
  // message names `what`, e.g. "ICD10CM FY2025").
  absl::Status Sort(absl::string_view what);
  // The i-th concept: in code order after Sort, in the order added before.
  absl::string_view code(size_t i) const { return CodeOf(items_[i]); }
  absl::string_view body(size_t i) const {
    const Item& it = items_[i];
    return absl::string_view(blocks_[it.block].data() + it.offset + it.code_size, it.body_size);
  }

 private:
  // The bytes live in blocks of kBlockBytes (a larger concept gets a block of its own), filled
  // in turn and never moved: a growing upload copies nothing it already holds.
  static constexpr size_t kBlockBytes = 1 << 20;
  struct Item {
    uint32_t block;   // in blocks_: the code, then the body, from offset
    uint32_t offset;
    uint32_t code_size;
    uint32_t body_size;
  };
  absl::string_view CodeOf(const Item& it) const {
    return absl::string_view(blocks_[it.block].data() + it.offset, it.code_size);
  }
  std::vector<std::string> blocks_;  // each reserved to its size once, then appended to
  std::string scratch_;              // the record being encoded
  std::vector<Item> items_;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_STAGED_BATCH_H_
