#include "storage/database.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace codebook::storage {

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         size_t block_cache_bytes) {
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  db_opts.keep_log_file_num = 5;
  // Writers flush after each commit (Settle); this bounds the log left by uploads that are
  // never published or discarded: past it RocksDB flushes the column families holding the
  // oldest log file.
  db_opts.max_total_wal_size = 64 << 20;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  auto supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  // ZSTD on every level (LZ4 where it is missing): each write is flushed at once (Settle), so
  // the newest data sit in level-0 files for a while, and with LZ4 there they took half as much
  // again as the same data once compacted (issue 10). The data are small and read mostly from
  // release views, so the cost of ZSTD's slower decompression is rarely paid.
  cf_opts.compression = has(rocksdb::kZSTD)             ? rocksdb::kZSTD
                        : has(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression
                                                        : rocksdb::kNoCompression;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int id = 0; id < kColumnFamilyCount; ++id) {
    cfs.emplace_back(ColumnFamilyName(static_cast<ColumnFamilyId>(id)), cf_opts);
  }
  std::unique_ptr<Database> database(new Database());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(db_opts), path, cfs,
                                        &database->handles_, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening database ", path));
  database->db_.reset(raw);
  return database;
}

Database::~Database() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(msg);
  }
  return absl::InternalError(msg);
}

absl::string_view AsView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

bool StartsWith(const rocksdb::Slice& s, absl::string_view prefix) {
  return s.size() >= prefix.size() && absl::string_view(s.data(), prefix.size()) == prefix;
}


absl::Status ForEachEntryAsOf(
    rocksdb::Iterator* it, absl::string_view system, uint64_t sequence,
    const std::function<bool(absl::string_view code, uint64_t seq, absl::string_view entry)>& fn,
    absl::string_view begin, absl::string_view end) {
  std::string prefix = SystemPrefix(system);
  std::string last_code;
  bool have_last = false;
  for (it->Seek(absl::StrCat(prefix, begin)); it->Valid() && StartsWith(it->key(), prefix);
       it->Next()) {
    absl::string_view code;
    uint64_t seq;
    if (!DecodeConceptKey(AsView(it->key()), prefix.size(), &code, &seq)) {
      return absl::DataLossError(absl::StrCat("corrupt concept key in ", system));
    }
    if (!end.empty() && code >= end) break;
    // Entries of a code run newest first: the first one at or before `sequence` counts.
    if (seq > sequence || (have_last && code == last_code)) continue;
    last_code.assign(code.data(), code.size());
    have_last = true;
    if (it->value().empty()) return absl::DataLossError("empty concept entry");
    if (!fn(code, seq, AsView(it->value()))) break;
  }
  return FromRocks(it->status(), "reading concepts");
}

}  // namespace codebook::storage
