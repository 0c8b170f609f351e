#include "storage/maintenance.h"

#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/encoding.h"
#include "storage/publish_merge.h"

namespace codebook::storage {

Settler::Settler(const Database& database, std::function<void()> on_settled, std::string name)
    : database_(database), on_settled_(std::move(on_settled)), name_(std::move(name)) {
  thread_ = std::thread([this] { Loop(); });
}

Settler::~Settler() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void Settler::Add(DeadRange dead) {
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(dead));
  ++queued_;
}

uint64_t Settler::pending() const {
  absl::MutexLock l(&mu_);
  return queued_ - done_;
}

void Settler::Wait() const {
  absl::MutexLock l(&mu_);
  const uint64_t target = queued_;
  auto reached = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ >= target; };
  mu_.Await(absl::Condition(&reached));
}

void Settler::Loop() {
  for (;;) {
    std::vector<DeadRange> batch;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, and nothing left to do
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    Round(batch);
    if (on_settled_) on_settled_();
    absl::MutexLock l(&mu_);
    done_ += batch.size();
  }
}

void Settler::Round(const std::vector<DeadRange>& dead) {
  rocksdb::DB* db = database_.db();
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  rocksdb::Status s = db->Flush(fo, database_.handles());
  for (const DeadRange& d : dead) {
    if (!s.ok() || d.cf == nullptr) continue;
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    rocksdb::Slice begin(d.begin), end(d.end);
    s = db->CompactRange(co, d.cf, &begin, d.end.empty() ? nullptr : &end);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "codebook store %s: flushing or compacting after a write: %s\n",
                 name_.c_str(), s.ToString().c_str());
  }
}

absl::Status Checkpoint(const Database& database, const std::string& dir) {
  rocksdb::DB* db = database.db();
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(dir, " exists; a backup goes to a new folder"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db, &raw);
  if (!s.ok()) return FromRocks(s, "starting a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) {
    std::filesystem::remove_all(dir, ec);
    if (s.IsIOError() || s.IsInvalidArgument()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write a backup to ", dir, ": ",
                                                        s.ToString()));
    }
    return FromRocks(s, "writing a checkpoint");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ReleaseRecord>> VerifyChecksums(const Database& database,
                                                           const Catalog& catalog) {
  rocksdb::DB* db = database.db();
  std::vector<ReleaseRecord> checked;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  ro.snapshot = snap;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, database.cf(ColumnFamilyId::kConcepts)));
  absl::Status result;
  for (const std::string& system : catalog.Systems()) {
    for (const ReleaseRecord& r : catalog.Releases(system)) {
      if (r.state == ReleaseState::kStaged) continue;
      ReleaseDigest digest;
      absl::Status s = ForEachEntryAsOf(
          it.get(), system, r.sequence,
          [&](absl::string_view code, uint64_t, absl::string_view entry) {
            if (absl::string_view body; PresentBody(entry, &body)) digest.Add(code, body);
            return true;
          });
      if (s.ok() && digest.Finish() != r.checksum) {
        s = absl::DataLossError(absl::StrCat(system, " ", r.version, ": its concepts no longer ",
                                             "match the checksum recorded at publish"));
      }
      if (!s.ok()) {
        result = s;
        break;
      }
      checked.push_back(r);
    }
    if (!result.ok()) break;
  }
  it.reset();
  db->ReleaseSnapshot(snap);
  if (!result.ok()) return result;
  return checked;
}

absl::Status CompactAll(const Database& database) {
  rocksdb::DB* db = database.db();
  rocksdb::CompactRangeOptions opts;
  opts.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : database.handles()) {
    rocksdb::Status s = db->CompactRange(opts, h, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, "compacting");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, uint64_t>> SizeByColumnFamily(const Database& database) {
  rocksdb::DB* db = database.db();
  std::map<std::string, uint64_t> out;
  for (auto* h : database.handles()) {
    uint64_t v = 0;
    if (!db->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) {
      return absl::InternalError("cannot read rocksdb.total-sst-files-size");
    }
    out[h->GetName()] = v;
  }
  return out;
}

absl::StatusOr<StoreFootprint> Footprint(const Database& database) {
  rocksdb::DB* db = database.db();
  StoreFootprint f;
  for (auto* h : database.handles()) {
    for (auto [property, total] : {std::pair{"rocksdb.estimate-live-data-size", &f.live_data_bytes},
                                   {"rocksdb.live-sst-files-size", &f.live_sst_bytes},
                                   {"rocksdb.total-sst-files-size", &f.sst_bytes},
                                   {"rocksdb.cur-size-all-mem-tables", &f.memtable_bytes},
                                   {"rocksdb.estimate-table-readers-mem", &f.table_readers_bytes},
                                   {"rocksdb.compaction-pending", &f.background_jobs}}) {
      uint64_t v = 0;
      if (!db->GetIntProperty(h, property, &v)) {
        return absl::InternalError(absl::StrCat("cannot read ", property));
      }
      *total += v;
    }
  }
  // Database-wide properties (one block cache serves every column family).
  for (auto [property, total] : {std::pair{"rocksdb.num-running-compactions", &f.background_jobs},
                                 {"rocksdb.num-running-flushes", &f.background_jobs},
                                 {"rocksdb.block-cache-usage", &f.block_cache_bytes}}) {
    uint64_t v = 0;
    if (!db->GetIntProperty(property, &v)) {
      return absl::InternalError(absl::StrCat("cannot read ", property));
    }
    *total += v;
  }
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  f.sst_files = files.size();
  rocksdb::VectorLogPtr wal;
  rocksdb::Status s = db->GetSortedWalFiles(wal);
  if (!s.ok()) return FromRocks(s, "listing write-ahead log files");
  for (const auto& file : wal) {
    if (file->Type() == rocksdb::kAliveLogFile) f.wal_bytes += file->SizeFileBytes();
  }
  return f;
}

absl::StatusOr<uint64_t> SizeOnDisk(const Database& database) {
  absl::StatusOr<std::map<std::string, uint64_t>> sizes = SizeByColumnFamily(database);
  if (!sizes.ok()) return sizes.status();
  uint64_t total = 0;
  for (const auto& [name, bytes] : *sizes) total += bytes;
  return total;
}

}  // namespace codebook::storage
