// Maintenance of a store's database, apart from its reads and writes: a consistent copy
// (checkpoint), the release checksums recomputed, full compaction, and what the data take.
// Store's methods of the same names call these (see storage/store.h for their contracts).
// Internal to storage/.
#ifndef CODEBOOK_STORAGE_MAINTENANCE_H_
#define CODEBOOK_STORAGE_MAINTENANCE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/records.h"

namespace rocksdb {
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace codebook::storage {

// A key range of one column family that a write made dead.
struct DeadRange {
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string begin, end;  // [begin, end); an empty end is the end of the column family
};

// Settles the database after a write, on a thread of its own, so that the writer does not wait:
// flushes every memtable (the write-ahead log is then dropped) and compacts the ranges the write
// made dead (a discarded or published staging area, an old index), so that the files stay the
// size of their data. Requests queued while one is under way are settled together. The writes
// themselves are durable before they are queued here (synced): this only reclaims space.
class Settler {
 public:
  // `on_settled` is called after each round (bulk work: see Store::work_generation); `name`
  // names the database in the messages of a failed round.
  Settler(const Database& database, std::function<void()> on_settled, std::string name);
  ~Settler();  // finishes the round under way and the queued ones, then stops the thread
  Settler(const Settler&) = delete;
  Settler& operator=(const Settler&) = delete;

  // Queues a round: a flush, then the compaction of `dead` (none if its cf is null).
  void Add(DeadRange dead);
  // Rounds queued or under way (a background job, as StoreFootprint counts them).
  uint64_t pending() const;
  // Returns once every round queued before the call is done.
  void Wait() const;

 private:
  void Loop();
  void Round(const std::vector<DeadRange>& dead);

  const Database& database_;
  std::function<void()> on_settled_;
  std::string name_;
  mutable absl::Mutex mu_;
  std::deque<DeadRange> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // rounds ever queued
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;    // rounds ever finished
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// What the database takes, as RocksDB reports it (all column families summed).
struct StoreFootprint {
  uint64_t live_data_bytes = 0;  // rocksdb.estimate-live-data-size: the data a full compaction keeps
  uint64_t live_sst_bytes = 0;   // rocksdb.live-sst-files-size: SST files of the current version
  uint64_t sst_bytes = 0;        // rocksdb.total-sst-files-size: also files still held by readers
  uint64_t wal_bytes = 0;        // write-ahead log files still alive
  uint64_t memtable_bytes = 0;   // rocksdb.cur-size-all-mem-tables
  uint64_t table_readers_bytes = 0;  // rocksdb.estimate-table-readers-mem: open files' indexes
  uint64_t block_cache_bytes = 0;    // rocksdb.block-cache-usage (one cache for all)
  uint64_t sst_files = 0;            // SST files of the current version
  // Background work under way or due: flushes and compactions running, column families whose
  // compaction is pending. While any is not 0 the files hold inputs and outputs side by side.
  uint64_t background_jobs = 0;
};

// A RocksDB checkpoint of the whole database into `dir`, which must not exist.
absl::Status Checkpoint(const Database& database, const std::string& dir);
// Every published and retracted release of `catalog` recomputed and compared with its checksum.
absl::StatusOr<std::vector<ReleaseRecord>> VerifyChecksums(const Database& database,
                                                           const Catalog& catalog);
absl::Status CompactAll(const Database& database);
absl::StatusOr<std::map<std::string, uint64_t>> SizeByColumnFamily(const Database& database);
absl::StatusOr<StoreFootprint> Footprint(const Database& database);
absl::StatusOr<uint64_t> SizeOnDisk(const Database& database);

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_MAINTENANCE_H_
