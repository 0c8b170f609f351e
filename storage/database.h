// Database: the RocksDB database of a store with its column families (one handle per
// ColumnFamilyId, storage/encoding.h), opened with the store's table and compression settings;
// and the small helpers the store's units share to read it. Internal to storage/.
#ifndef CODEBOOK_STORAGE_DATABASE_H_
#define CODEBOOK_STORAGE_DATABASE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/encoding.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Iterator;
class Slice;
class Status;
}  // namespace rocksdb

namespace codebook::storage {

class Database {
 public:
  // Opens (creating if needed) the database at `path` with every column family, and a block
  // cache of `block_cache_bytes`. FAILED_PRECONDITION when another process holds it.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        size_t block_cache_bytes);
  ~Database();  // destroys the handles, then closes the database
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(ColumnFamilyId id) const {
    return handles_[static_cast<size_t>(id)];
  }
  // Every handle, in ColumnFamilyId order.
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }

 private:
  Database() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_ closes
};

// A RocksDB status as ours, saying what was being done: DATA_LOSS for corruption,
// FAILED_PRECONDITION for a lock held elsewhere, INTERNAL otherwise.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what);
absl::string_view AsView(const rocksdb::Slice& s);
bool StartsWith(const rocksdb::Slice& s, absl::string_view prefix);

// Walks the concepts of `system` with `it` and calls fn(code, entry sequence, entry) for each
// code's entry as of release `sequence` (its newest at or before it; present or deleted), in
// code order, for codes in [begin, end) (an empty `end`: no upper bound), until fn returns false.
absl::Status ForEachEntryAsOf(
    rocksdb::Iterator* it, absl::string_view system, uint64_t sequence,
    const std::function<bool(absl::string_view code, uint64_t seq, absl::string_view entry)>& fn,
    absl::string_view begin = "", absl::string_view end = "");

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_DATABASE_H_
