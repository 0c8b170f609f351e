// Maintenance of a store's database, apart from its reads and writes: a consistent copy
// (checkpoint), the release checksums recomputed, full compaction, and what the data take.
// Store's methods of the same names call these (see storage/store.h for their contracts).
// Internal to storage/.
#ifndef CODEBOOK_STORAGE_MAINTENANCE_H_
#define CODEBOOK_STORAGE_MAINTENANCE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/records.h"

namespace codebook::storage {

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
