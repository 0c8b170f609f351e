// Follower: keeps this server's store a copy of a primary's releases, for read replicas
// (`codebookd --follow=PRIMARY`).
//
// It uses only the public API, the calls a payer would use: WatchReleases for the change feed of
// each system, ExportRelease for a release's concepts. Each published release is imported
// locally through the domain layer and published; its local checksum must equal the primary's,
// or the follower reports itself out of sync. Retractions are applied with the primary's reason.
// After a disconnect it reconnects and replays the feed from the start, skipping what it already
// has, so a replica that was down catches up. It reads and writes the local copy through the
// domain layer only (TerminologyImpl, ReleaseAdminImpl), never the store itself.
//
// Code systems registered on the primary (ReleaseAdmin.CreateCodeSystem) are registered here
// with the same definition, then followed like the built-in ones: the follower lists the
// primary's systems when it starts and again every few seconds.
//
// Thread-safe. Owns one thread per code system and one that watches the registry; Stop() (or
// the destructor) joins them.
#ifndef CODEBOOK_REPLICA_FOLLOWER_H_
#define CODEBOOK_REPLICA_FOLLOWER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "service/release_admin_impl.h"
#include "service/terminology_impl.h"

namespace codebook::replica {

class Follower {
 public:
  // `local` answers what this server holds and `admin` (writable, unlike the one served to
  // callers) writes to it; both must outlive the follower.
  // `on_sync_change(in_sync)` is called whenever the replica becomes or stops being in sync.
  // `credentials` reach the primary (plaintext when null); `bearer_token` (may be empty) is
  // sent with every call. A primary with a tokens file withholds licensed text (CPT) from
  // callers without the licence scope: such a release is not copied, and the error says which
  // scope the replica's credential needs.
  Follower(std::string primary, const service::TerminologyImpl* local,
           const service::ReleaseAdminImpl* admin,
           std::function<void(bool in_sync)> on_sync_change,
           std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
           std::string bearer_token = "");
  ~Follower();

  void Start();
  void Stop();
  // True when every published and retracted release of the primary is here with the same state
  // and checksum (as of the last check).
  bool InSync() const { return in_sync_.load(); }

  // How far behind the primary this replica was at the last check (for metrics).
  struct Lag {
    // Per code system: the primary's published or retracted releases not here with the same
    // state and checksum; -1 when the primary could not be asked.
    std::map<std::string, int> releases_behind;
    absl::Time last_check = absl::InfinitePast();
    absl::Time last_in_sync = absl::InfinitePast();  // InfinitePast: never yet
  };
  Lag lag() const;

 private:
  void Follow(const std::string& system);
  // Registers here, and starts following, each system registered on the primary and not yet
  // followed, and stores here each value-set version of the primary not yet copied (as the
  // primary stores it); every 2 s until Stop().
  void FollowRegistry();
  // The systems to compare with the primary: every one it lists (built-in and registered); the
  // built-in ones when it cannot be asked.
  std::vector<std::string> SystemsToCheck();
  absl::Status Apply(const std::string& system, const v1::ReleaseEvent& event);
  absl::Status CopyRelease(const std::string& system, const v1::Release& release);
  // This server's releases of `system`, staged ones included.
  absl::StatusOr<std::vector<v1::Release>> LocalReleases(const std::string& system) const;
  void CheckSync();

  const std::string primary_;
  const service::TerminologyImpl& local_;
  const service::ReleaseAdminImpl& admin_;
  std::function<void(bool)> on_sync_change_;
  std::unique_ptr<Client> client_;
  std::atomic<bool> in_sync_{false};
  std::atomic<bool> stopping_{false};
  absl::Mutex apply_mu_;  // one local import at a time
  std::vector<std::thread> threads_;  // the built-in systems' followers
  std::thread registry_thread_;
  std::vector<std::thread> registered_threads_;  // touched by registry_thread_, then by Stop()
  std::vector<std::string> registered_;          // the systems those threads follow
  std::set<std::string> copied_value_sets_;      // "url|version"; registry_thread_ only
  mutable absl::Mutex lag_mu_;
  Lag lag_ ABSL_GUARDED_BY(lag_mu_);
};

}  // namespace codebook::replica

#endif  // CODEBOOK_REPLICA_FOLLOWER_H_
