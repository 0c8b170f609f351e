#include "server/gauges.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/code_systems.h"
#include "service/metrics.h"

namespace codebook::server {

// Gauges read from the catalog when scraped: releases by state and the concepts of the newest
// published release, per code system.
void AppendStoreGauges(const storage::Store& store, std::string* out) {
  using service::AppendGauge;
  using storage::ReleaseState;
  std::vector<std::pair<std::string, double>> releases, concepts, active;
  auto catalog = store.catalog();
  for (const service::CodeSystemInfo* system : service::AllSystems(*catalog)) {
    const service::CodeSystemInfo& info = *system;
    int by_state[4] = {0, 0, 0, 0};
    const storage::ReleaseRecord* newest = nullptr;
    for (const auto& r : catalog->Releases(info.id)) {
      ++by_state[static_cast<int>(r.state) & 3];
      if (r.state == ReleaseState::kPublished &&
          (newest == nullptr || r.sequence > newest->sequence)) {
        newest = &r;
      }
    }
    for (auto [state, name] : {std::pair{ReleaseState::kStaged, "staged"},
                               {ReleaseState::kPublished, "published"},
                               {ReleaseState::kRetracted, "retracted"}}) {
      releases.emplace_back(absl::StrCat("system=\"", info.id, "\",state=\"", name, "\""),
                            by_state[static_cast<int>(state) & 3]);
    }
    const std::string label = absl::StrCat("system=\"", info.id, "\"");
    concepts.emplace_back(label, newest ? newest->counts.total : 0);
    active.emplace_back(label, newest ? newest->counts.total_active : 0);
  }
  AppendGauge(out, "codebook_releases", "Releases of each code system, by state.", releases);
  AppendGauge(out, "codebook_concepts",
              "Concepts (active and deleted) in the newest published release of each system.",
              concepts);
  AppendGauge(out, "codebook_concepts_active",
              "Active concepts in the newest published release of each system.", active);
  auto [views, queued] = store.ViewCounts();
  AppendGauge(out, "codebook_release_views",
              "Published releases held in memory as views (held), and view builds queued.",
              {{"state=\"held\"", views}, {"state=\"queued\"", queued}});
  AppendGauge(out, "codebook_release_view_bytes",
              "What the release views held take in memory (their search tables aside); "
              "--view_cache_mb bounds it.",
              {{"", static_cast<double>(store.view_bytes())}});
  service::AppendCounter(
      out, "codebook_release_view_build_failures_total",
      "Release views whose build failed (the store's log says why); that release's reads go to "
      "RocksDB, which answers them or reports the same error.",
      {{"", static_cast<double>(store.view_build_failures())}});
  if (auto f = store.Footprint(); f.ok()) {
    AppendGauge(out, "codebook_store_bytes",
                "What the database takes, as RocksDB reports it: live_data (what a full "
                "compaction keeps), live_sst (SST files of the current version), sst (all SST "
                "files), wal (write-ahead log files alive), memtables, table_readers (indexes and "
                "filters of open files), block_cache.",
                {{"kind=\"live_data\"", f->live_data_bytes},
                 {"kind=\"live_sst\"", f->live_sst_bytes},
                 {"kind=\"sst\"", f->sst_bytes},
                 {"kind=\"wal\"", f->wal_bytes},
                 {"kind=\"memtables\"", f->memtable_bytes},
                 {"kind=\"table_readers\"", f->table_readers_bytes},
                 {"kind=\"block_cache\"", f->block_cache_bytes}});
    AppendGauge(out, "codebook_store_sst_files", "SST files of the database's current version.",
                {{"", f->sst_files}});
    AppendGauge(out, "codebook_store_background_jobs",
                "Flushes and compactions running, and column families whose compaction is due.",
                {{"", f->background_jobs}});
  }
}

// Gauges of a read replica: whether it is in sync, releases behind per system, and seconds
// since it was last in sync.
void AppendReplicaGauges(const replica::Follower& follower, std::string* out) {
  using service::AppendGauge;
  replica::Follower::Lag lag = follower.lag();
  std::vector<std::pair<std::string, double>> behind;
  for (const auto& [system, n] : lag.releases_behind) {
    behind.emplace_back(absl::StrCat("system=\"", system, "\""), n);
  }
  const bool in_sync = follower.InSync();
  AppendGauge(out, "codebook_replica_in_sync",
              "1 when this replica has every release of its primary.", {{"", in_sync ? 1 : 0}});
  AppendGauge(out, "codebook_replica_releases_behind",
              "Releases of the primary not yet here, per system (-1: primary unreachable).",
              behind);
  double seconds = in_sync ? 0
                   : lag.last_in_sync == absl::InfinitePast()
                       ? -1
                       : absl::ToDoubleSeconds(absl::Now() - lag.last_in_sync);
  AppendGauge(out, "codebook_replica_lag_seconds",
              "Seconds since this replica was last in sync (0 in sync, -1 never yet).",
              {{"", seconds}});
}

}  // namespace codebook::server
