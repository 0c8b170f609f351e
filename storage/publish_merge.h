// What a publish computes, apart from the store that commits it: the merge of a staged release
// with the concepts stored so far (PublishMerge), the checksum of a release's records
// (ReleaseDigest) and the search-index changes of a release (TermChanges). Internal to storage/;
// the layout of every byte is storage/encoding.h's.
#ifndef CODEBOOK_STORAGE_PUBLISH_MERGE_H_
#define CODEBOOK_STORAGE_PUBLISH_MERGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/database.h"
#include "storage/records.h"
#include "storage/staged_batch.h"
#include "storage/terms.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace rocksdb {
class Iterator;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace codebook::storage {

// SHA-256 over the canonical records of a release, in code order: "sha256:" and 64 hex digits.
class ReleaseDigest {
 public:
  ReleaseDigest();
  ~ReleaseDigest();
  ReleaseDigest(const ReleaseDigest&) = delete;
  ReleaseDigest& operator=(const ReleaseDigest&) = delete;
  void Add(absl::string_view code, absl::string_view body);
  std::string Finish();

 private:
  EVP_MD_CTX* ctx_;
  std::string buf_;
};

// Collects the search-index changes of one release of one system: which codes gain or lose
// which terms. Codes must be added in ascending order (each term's list stays sorted).
class TermChanges {
 public:
  // `code` goes from `old_body` to `new_body` (an empty body: not present). DATA_LOSS naming
  // the code when a body does not decode.
  absl::Status Add(absl::string_view code, absl::string_view old_body, absl::string_view new_body);
  // Adds one entry per changed term to `batch`, in the terms column family of `db`.
  void Write(const Database& db, rocksdb::WriteBatch* batch, absl::string_view system,
             uint64_t sequence) const;
  bool empty() const { return changes_.empty(); }

 private:
  absl::Status TermsOf(absl::string_view body, TermList* terms);
  std::vector<std::string> codes_;  // codes with a change, in the order added
  // term -> (code ordinal << 1 | gains), in code order
  absl::flat_hash_map<std::string, std::vector<uint32_t>> changes_;
  ConceptRecord record_;
  TermList old_terms_, new_terms_;
};

// The merge that publishes staged release `version` of `system` as release `sequence`: one walk
// over its staged concepts and the system's stored ones side by side, both in code order, as of
// one snapshot. It writes the delta against each code's newest entry (an entry per added,
// changed or deleted code: reads as of the new release fall through to the older ones), a
// change row per such code, and the search-index entries of the terms that changed; and it
// counts the changes against `predecessor` (the latest published release; 0 for none), which
// differs from the newest entry only where a release retracted since wrote the code.
class PublishMerge {
 public:
  struct Result {
    ReleaseCounts counts;
    std::string checksum;  // ReleaseDigest of the staged concepts
  };
  // The staged concepts are `uploaded` (sorted; see StagedBatch::Sort) when not null, else those
  // of the staging column family for `version`.
  PublishMerge(const Database& db, absl::string_view system, absl::string_view version,
               uint64_t sequence, uint64_t predecessor, const StagedBatch* uploaded = nullptr);
  ~PublishMerge();
  // Adds everything to `batch` (nothing else is written). DATA_LOSS for a corrupt entry.
  absl::StatusOr<Result> Run(rocksdb::WriteBatch* batch);

 private:
  // The next stored code of the system with two of its entries: the newest one, and the one
  // as of the predecessor (entries run newest first).
  struct Stored {
    bool valid = false;
    std::string code;
    std::string newest;          // whole entry: tag + body
    bool has_predecessor = false;
    bool predecessor_is_newest = false;
    std::string at_predecessor;  // set when has_predecessor && !predecessor_is_newest
  };
  absl::Status NextStored();
  // Index changes go to a thread of their own (extracting terms is most of a merge's work);
  // Merge queues them, in code order.
  class TermQueue;
  // The walk over the staged concepts, from `uploaded_` or the staging column family.
  bool StagedValid() const;
  absl::string_view StagedCode() const;
  absl::string_view StagedBody() const;
  void NextStaged();
  // One code: staged `new_body` (empty: not staged) against the stored entries in stored_
  // (when `stored`): the entry, change row and index changes it needs, and its counts.
  absl::Status Merge(absl::string_view code, absl::string_view new_body, bool stored,
                     rocksdb::WriteBatch* batch);
  void Count(absl::string_view new_body, absl::string_view pred_body);

  const Database& db_;
  const std::string system_;
  const uint64_t sequence_, predecessor_;
  const std::string staged_prefix_, system_prefix_;
  const rocksdb::Snapshot* snapshot_;
  const StagedBatch* uploaded_;
  size_t uploaded_pos_ = 0;
  std::unique_ptr<rocksdb::Iterator> staged_, current_;
  Stored stored_;
  Result result_;
  ReleaseDigest digest_;
  TermChanges terms_;
  std::unique_ptr<TermQueue> term_queue_;
  std::string entry_;  // scratch: an encoded entry
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_PUBLISH_MERGE_H_
