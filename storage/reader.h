// Reader: a consistent read view of a store (storage/store.h): the catalog current when it was
// made, and the data of every release in it (which never change once published).
#ifndef CODEBOOK_STORAGE_READER_H_
#define CODEBOOK_STORAGE_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/records.h"
#include "storage/view_cache.h"

namespace rocksdb {
class Iterator;
class Snapshot;
}  // namespace rocksdb

namespace codebook::storage {

// What one code looks like as of a release.
struct CodeState {
  enum class Kind {
    kAbsent,   // no entry at or before the release: never existed up to it
    kPresent,  // `record` holds the concept
    kDeleted,  // deleted by release `entry_sequence`
  };
  Kind kind = Kind::kAbsent;
  // Sequence of the release that wrote the entry found (0 when absent).
  uint64_t entry_sequence = 0;
  // The concept when kPresent; otherwise unspecified (reads reuse its buffers).
  ConceptRecord record;
};

// A consistent read view: the catalog current when it was made, and the data of every release
// in it (which never change once published). Reads of a release whose ReleaseView is built are
// answered from memory; other reads, and codes absent from the view, seek in RocksDB. Not
// thread-safe: use one per thread or request. Must not outlive the Store that made it.
class Reader {
 public:
  // Over `db` as of now, with `catalog` (taken before: every release it lists is fully in the
  // snapshot the reader takes); `views(system, sequence)` gives a release's view or nullptr.
  // Made by Store::NewReader.
  using ViewSource =
      std::function<std::shared_ptr<const ReleaseView>(absl::string_view, uint64_t)>;
  Reader(const Database* db, ViewSource views, std::shared_ptr<const Catalog> catalog);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const Catalog& catalog() const { return *catalog_; }

  // The state of `code` as of release `sequence` of `system`. DATA_LOSS on a corrupt entry.
  absl::Status Read(absl::string_view system, absl::string_view code, uint64_t sequence,
                    CodeState* out);
  // The same for many codes (any order, duplicates allowed); out[i] answers codes[i]. Faster
  // than calling Read in a loop. Reuses the elements already in *out.
  absl::Status ReadMany(absl::string_view system, const std::vector<std::string>& codes,
                        uint64_t sequence, std::vector<CodeState>* out);
  // The codes with a change-index row in any release whose sequence is in (after, upto]: every
  // code whose content may differ between those two releases. Sorted, unique, storage form.
  // Cost follows the number of rows read, not the size of the system.
  absl::Status ChangedCodes(absl::string_view system, uint64_t after, uint64_t upto,
                            std::vector<std::string>* codes);
  // Calls `fn(code, record)` for every concept present in release `sequence`, in code order;
  // stops early when fn returns false. ForEachConceptInRange over every code.
  absl::Status ForEachConcept(
      absl::string_view system, uint64_t sequence,
      const std::function<bool(absl::string_view code, const ConceptRecord& record)>& fn);
  // Calls `fn(code, record)` for every concept present in release `sequence` whose code is in
  // [begin, end) (an empty `end` means no upper bound), in code order, until fn returns false.
  // Its cost follows the size of the range.
  absl::Status ForEachConceptInRange(
      absl::string_view system, uint64_t sequence, absl::string_view begin, absl::string_view end,
      const std::function<bool(absl::string_view code, const ConceptRecord& record)>& fn);
  // Search index: calls `fn(term, code)` for every code whose text has, as of release
  // `sequence`, a term starting with `term_prefix` (once per matching term), in term then code
  // order, until fn returns false. Its cost follows the number of index entries under the
  // prefix (all releases' entries of those terms).
  absl::Status ForEachPosting(
      absl::string_view system, uint64_t sequence, absl::string_view term_prefix,
      const std::function<bool(absl::string_view term, absl::string_view code)>& fn);
  // The in-memory view of release `sequence` if it is built (see Store::View), else nullptr.
  std::shared_ptr<const ReleaseView> ViewOf(absl::string_view system, uint64_t sequence) const;
  // The system's events after sequence `after`, oldest first (at most `limit`).
  absl::Status Events(absl::string_view system, uint64_t after, size_t limit,
                      std::vector<EventRecord>* events);
  // Conversion-table links of `code`: those where it is the new code (predecessors) and those
  // where it is the previous one (successors), each sorted by the other code.
  absl::Status Links(absl::string_view system, absl::string_view code,
                     std::vector<CodeLinkRecord>* predecessors,
                     std::vector<CodeLinkRecord>* successors);
  // Every entry of `code` (one per release that added, changed or deleted it), oldest first.
  absl::Status History(absl::string_view system, absl::string_view code,
                       std::vector<CodeState>* entries);
  // The sequence of the earliest release after `sequence` in which `code` is present; 0 if none.
  absl::StatusOr<uint64_t> NextPresentSequence(absl::string_view system, absl::string_view code,
                                               uint64_t sequence);

 private:
  rocksdb::Iterator* iterator();
  const rocksdb::Snapshot* snapshot();
  absl::Status Seek(absl::string_view system, absl::string_view code, uint64_t sequence,
                    CodeState* out);

  const Database* db_;
  const ViewSource views_;
  std::shared_ptr<const Catalog> catalog_;
  // Created on first use: most reads are served by a ReleaseView and never need them.
  const rocksdb::Snapshot* snapshot_ = nullptr;
  std::unique_ptr<rocksdb::Iterator> iter_;
  std::unique_ptr<rocksdb::Iterator> terms_iter_;
  // The view last used, and which release it is for.
  std::shared_ptr<const ReleaseView> view_;
  std::string view_system_;
  uint64_t view_sequence_ = 0;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_READER_H_
