// Store: every release of every code system, kept as deltas in one RocksDB database.
//
// Layout (see encoding.h for the bytes): the first release of a system writes one entry per
// concept; each later release writes only what changed since its predecessor (a new record for
// an added or changed code, a deletion marker for a removed one) plus a change-index row per
// changed code, plus the search-index entries of the terms that changed (storage/terms.h).
// "Code X as of release R" is one seek. Releases are created STAGED; concepts
// uploaded to a staged release sit in the staging column family, invisible to readers, until
// Publish moves the computed delta, the change index, the counts and the checksum into place in
// one atomic, synced write batch.
//
// The store also keeps the registry of code systems (RegisterSystem) and the versions of value
// sets (CreateValueSet), read through the catalog.
//
// Thread safety: all methods are safe to call concurrently. Writers (RegisterSystem,
// CreateRelease, AddStagedConcepts, Publish, Discard) are serialized by an internal mutex;
// readers never block
// on writers. A Reader sees one consistent point in time: a RocksDB snapshot plus the release
// catalog that was current when it was made.
//
// Storage knows nothing of gRPC or the public API: systems, versions and codes are opaque byte
// strings (without 0x00) that the domain layer has already validated and normalized.
#ifndef CODEBOOK_STORAGE_STORE_H_
#define CODEBOOK_STORAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include <deque>
#include <functional>
#include <list>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/encoding.h"
#include "storage/maintenance.h"
#include "storage/reader.h"
#include "storage/staged_batch.h"
#include "storage/records.h"
#include "storage/view_cache.h"

namespace rocksdb {
class DB;
class WriteBatch;
class ColumnFamilyHandle;
class Snapshot;
class Iterator;
}  // namespace rocksdb

namespace codebook::storage {

struct StoreOptions {
  // RocksDB block cache; the whole working set of several releases fits in the default.
  size_t block_cache_bytes = 256 << 20;
  // Sync the WAL on every write (publish is always synced).
  bool sync_writes = true;
  // Bytes of published releases kept in memory as ReleaseViews (least recently used dropped
  // first; ReleaseView::MemoryBytes, about 40 MB for an ICD-10-CM release); 0 serves every
  // read from RocksDB.
  size_t view_cache_bytes = size_t{256} << 20;
};

// A concept to stage: storage-form code plus its record.
struct StagedConcept {
  std::string code;
  ConceptRecord record;
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`. FAILED_PRECONDITION if it was written
  // with another schema version; INTERNAL/IO errors from RocksDB otherwise.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options = {});
  ~Store();

  // The current catalog (cheap: a shared pointer copy). A publish or retraction replaces it, so
  // a pointer into it (Find's result) is valid only while this shared pointer is held: keep it
  // in a local, never `catalog()->Find(...)` into a pointer that outlives the expression.
  std::shared_ptr<const Catalog> catalog() const;
  // A consistent read view of the data and the catalog at this moment.
  std::unique_ptr<Reader> NewReader() const;

  // Registers code system `r` (r.create_time_micros is set to `now_micros`) in one synced
  // write, and returns it. Registering again a system of the same id and definition (every
  // field but the time, CodeSystemRecord::SameDefinition) changes nothing and returns the stored
  // record; `created` (may be null) says which happened. ALREADY_EXISTS when the id is registered with another definition, or another id has
  // the same URI; INVALID_ARGUMENT for an empty id or URI or an id holding a 0x00 byte. The
  // fields' meaning is the domain layer's to check. Registered systems are never removed.
  absl::StatusOr<CodeSystemRecord> RegisterSystem(CodeSystemRecord r, int64_t now_micros,
                                                  bool* created = nullptr);

  // Stores value-set version `r` (r.create_time_micros set to `now_micros`) in one synced
  // write, and returns it. The same url, version and rules again (ValueSetRecord::SameRules)
  // changes nothing and returns the stored record, its title, publisher and description
  // included (`created`, may be null, says which happened); ALREADY_EXISTS for that url and
  // version with other rules: a version never changes. INVALID_ARGUMENT for an empty url or version
  // or one holding a 0x00 byte. The definition's meaning is the domain layer's to check.
  absl::StatusOr<ValueSetRecord> CreateValueSet(ValueSetRecord r, int64_t now_micros,
                                                bool* created = nullptr);

  // Creates a staged release (`resource_json`: ReleaseRecord::resource_json). ALREADY_EXISTS if
  // the version exists in any state.
  absl::StatusOr<ReleaseRecord> CreateRelease(absl::string_view system, absl::string_view version,
                                              absl::string_view effective_date,
                                              absl::string_view description, int64_t now_micros,
                                              absl::string_view resource_json = "");
  // Adds concepts to a staged release: all of them or, on error, none. Not synced on its own: a
  // crash may lose a whole upload (never part of one); Publish syncs. INVALID_ARGUMENT for a
  // code given twice (in this call or an earlier one); NOT_FOUND for an unknown release;
  // FAILED_PRECONDITION if the release is not staged.
  absl::StatusOr<ReleaseRecord> AddStagedConcepts(absl::string_view system,
                                                  absl::string_view version,
                                                  StagedBatch concepts);
  absl::StatusOr<ReleaseRecord> AddStagedConcepts(absl::string_view system,
                                                  absl::string_view version,
                                                  const std::vector<StagedConcept>& concepts);
  // Publishes a staged release in one atomic write: assigns the next sequence, writes the delta
  // against the latest published release, the change index, counts and checksum, and drops the
  // staged copy. FAILED_PRECONDITION if not staged, empty, or not later (by effective date) than
  // the latest published release of the system.
  absl::StatusOr<ReleaseRecord> Publish(absl::string_view system, absl::string_view version,
                                        int64_t now_micros);
  // AddStagedConcepts and Publish in one: the concepts go straight into the publish write and
  // never through the staging column family (one write of them, not two). The same errors as
  // the two; on any error nothing is stored. If the release already holds staged concepts,
  // these are staged with them first (a write that stays if the publish then fails), and all
  // are published.
  absl::StatusOr<ReleaseRecord> PublishUpload(absl::string_view system, absl::string_view version,
                                              StagedBatch concepts, int64_t now_micros);
  // Drops a staged release and its staged concepts. FAILED_PRECONDITION if not staged.
  absl::Status Discard(absl::string_view system, absl::string_view version);
  // Marks a published release retracted, with a reason, in one synced write. Its data stay:
  // it can still be read by explicit version, and later releases keep their deltas.
  // FAILED_PRECONDITION unless published.
  absl::StatusOr<ReleaseRecord> Retract(absl::string_view system, absl::string_view version,
                                        absl::string_view reason, int64_t now_micros);

  // Stores conversion-table links (both directions) in one write; existing ones are overwritten.
  absl::Status AddLinks(absl::string_view system, const std::vector<CodeLinkRecord>& links);

  // Called with the system after each event (publish, retract) is committed, on the writer's
  // thread and under the writers' lock: it must be quick and must not write to the store. Set it
  // before serving; an empty function clears it.
  void SetEventListener(std::function<void(const std::string& system)> listener);

  // Rebuilds the search index (terms column family) of every system from the stored concepts.
  // Open runs it when it upgrades a schema-version-1 database; safe to run again at any time
  // (writers are held off while it runs; readers may see a partial index until it is done).
  absl::Status RebuildSearchIndex();

  // Writes a consistent copy of the whole database, as of now, into `dir` (which must not
  // exist; its parent must), while reads and writes go on: a RocksDB checkpoint (SST files are
  // hard-linked when `dir` is on the same file system, copied otherwise). The folder is a
  // database of its own: open it (or a copy of it) to restore. ALREADY_EXISTS if `dir` exists.
  absl::Status Checkpoint(const std::string& dir);
  // Recomputes the checksum of every published and retracted release from its stored concepts
  // and compares it with the one recorded at publish. Returns the releases checked; DATA_LOSS
  // naming the first release whose content no longer matches.
  absl::StatusOr<std::vector<ReleaseRecord>> VerifyChecksums() const;

  // Compacts every column family fully (for size measurements and after bulk loads).
  absl::Status CompactAll();
  // Bytes of live SST files: what the data take on disk (WAL and manifest aside).
  absl::StatusOr<uint64_t> SizeOnDisk() const;
  // What the database takes on disk and in memtables now; its background_jobs include the
  // settling rounds queued after writes.
  absl::StatusOr<StoreFootprint> Footprint() const;
  // Returns once the flushes and compactions queued by the writes so far are done (tests and
  // benchmarks that measure files; nothing else needs to wait for them).
  void WaitSettled() const { settler_->Wait(); }
  // Bytes of live SST files per column family ("concepts", "terms" (the search index), ...).
  absl::StatusOr<std::map<std::string, uint64_t>> SizeByColumnFamily() const;

  // The in-memory view of a published release, or nullptr if it is not built yet, in which case
  // a build is queued (when views are enabled). nullptr, and nothing queued, for a sequence the
  // catalog does not list as published. Thread-safe.
  std::shared_ptr<const ReleaseView> View(absl::string_view system, uint64_t sequence) const;
  // Counts the bulk work done: writes (staging, publish, discard, retract, links) and release
  // view builds. A process that wants to know when such work happened, and when it stopped
  // (service/memory_releaser.h), watches it. Thread-safe.
  uint64_t work_generation() const { return work_generation_.load(std::memory_order_relaxed); }
  // The views held now (built, not dropped) and the builds queued.
  std::pair<size_t, size_t> ViewCounts() const;
  // View builds that failed other than for a release no longer published (a DATA_LOSS from a
  // corrupt entry, an I/O error): each is also logged to standard error, and not tried again
  // by this process (BuildView still tries). The release's reads then go to RocksDB.
  // Thread-safe.
  uint64_t view_build_failures() const { return views_->failures(); }
  // The bytes of the views held (ReleaseView::MemoryBytes).
  size_t view_bytes() const { return views_->bytes(); }
  // Builds a view now, on the calling thread (tests and benchmarks use it to warm up).
  absl::Status BuildView(absl::string_view system, uint64_t sequence) const;

 private:
  Store() = default;
  absl::StatusOr<std::shared_ptr<ReleaseView>> LoadView(absl::string_view system,
                                                        uint64_t sequence) const;
  // The view of a published (or retracted) release; FAILED_PRECONDITION for any other sequence.
  absl::StatusOr<std::shared_ptr<ReleaseView>> LoadPublishedView(absl::string_view system,
                                                                 uint64_t sequence) const;
  // Drops the view of a release that a publish has superseded as its system's newest (or that
  // was retracted), if it
  // was built only as that release's warm-up and no reader has asked for it since (and drops
  // its queued build): so a server holds the same views after loading N releases as after a
  // restart, which warms the newest release of each system. Views that readers use stay.
  void DropUnreadView(absl::string_view system, uint64_t sequence) const;
  absl::Status LoadCatalog();
  // Run by each writer after its commit: queues a round of the settler (see Settler in
  // storage/maintenance.h), which flushes every memtable, so that no write-ahead log file is
  // needed any more, and compacts `dead` when the write made a range dead (a published or
  // discarded staging prefix, a cleared index), so that no dead record outlives the write. The
  // commit is durable before this runs and the writer does not wait for it; a failed round is
  // logged to standard error and left for the next one.
  void Settle(DeadRange dead = {}) const;
  absl::StatusOr<ReleaseRecord> StagedRelease(absl::string_view system, absl::string_view version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Sorts `concepts` and writes them to the staging column family of staged `release`.
  absl::StatusOr<ReleaseRecord> StageLocked(ReleaseRecord release, StagedBatch* concepts)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Publish, from `uploaded` (sorted) when not null, else from the staging column family.
  absl::StatusOr<ReleaseRecord> PublishLocked(absl::string_view system, absl::string_view version,
                                              const StagedBatch* uploaded, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void ReplaceRelease(const ReleaseRecord& r, bool erase,
                      uint64_t last_event = 0) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Adds the system's next event to `batch`; returns its sequence.
  uint64_t AddEvent(rocksdb::WriteBatch* batch, absl::string_view system, EventKind kind,
                    absl::string_view version, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  std::string path_;
  std::unique_ptr<Database> database_;
  rocksdb::DB* db() const { return database_->db(); }
  rocksdb::ColumnFamilyHandle* cf(ColumnFamilyId id) const { return database_->cf(id); }
  std::function<void(const std::string&)> event_listener_ ABSL_GUARDED_BY(write_mu_);
  bool sync_writes_ = true;

  // Release views; created by Open, reset first by the destructor (its builder reads the database).
  std::unique_ptr<ViewCache> views_;
  // Background flushes and compactions after writes; created by Open, stopped by the destructor
  // before the database closes.
  std::unique_ptr<Settler> settler_;

  absl::Mutex write_mu_;  // serializes writers
  mutable std::atomic<uint64_t> work_generation_{0};  // bumped by the view builder too
  mutable absl::Mutex catalog_mu_;
  std::shared_ptr<const Catalog> catalog_ ABSL_GUARDED_BY(catalog_mu_);
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_STORE_H_
