#include "replica/follower.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/code_systems.h"

namespace codebook::replica {
namespace {

// How long one WatchReleases call lasts before it is renewed: bounds how long Stop() waits.
constexpr absl::Duration kWatchSpan = absl::Seconds(2);

}  // namespace

Follower::Follower(std::string primary, const service::TerminologyImpl* local,
                   const service::ReleaseAdminImpl* admin,
                   std::function<void(bool in_sync)> on_sync_change,
                   std::shared_ptr<grpc::ChannelCredentials> credentials,
                   std::string bearer_token)
    : primary_(std::move(primary)),
      local_(*local),
      admin_(*admin),
      on_sync_change_(std::move(on_sync_change)) {
  ClientOptions options;
  options.target = primary_;
  if (credentials) options.credentials = std::move(credentials);
  options.bearer_token = std::move(bearer_token);
  client_ = std::make_unique<Client>(options);
}

Follower::~Follower() { Stop(); }

void Follower::Start() {
  for (const service::CodeSystemInfo& s : service::KnownSystems()) {
    threads_.emplace_back([this, id = s.id] { Follow(id); });
  }
  registry_thread_ = std::thread([this] { FollowRegistry(); });
}

void Follower::Stop() {
  stopping_ = true;
  if (registry_thread_.joinable()) registry_thread_.join();
  for (std::vector<std::thread>* list : {&threads_, &registered_threads_}) {
    for (std::thread& t : *list) {
      if (t.joinable()) t.join();
    }
    list->clear();
  }
}

void Follower::FollowRegistry() {
  absl::Status last_error;
  while (!stopping_) {
    absl::StatusOr<std::vector<v1::CodeSystem>> systems = client_->ListCodeSystems();
    absl::Status s = systems.status();
    if (systems.ok()) {
      for (const v1::CodeSystem& system : *systems) {
        if (system.built_in() || stopping_ ||
            std::find(registered_.begin(), registered_.end(), system.id()) != registered_.end()) {
          continue;
        }
        v1::CreateCodeSystemRequest req;
        *req.mutable_system() = system;
        v1::CreateCodeSystemResponse resp;
        s = admin_.CreateCodeSystem(req, &resp);
        if (!s.ok()) break;
        registered_.push_back(system.id());
        registered_threads_.emplace_back([this, id = system.id()] { Follow(id); });
      }
    }
    if (s.ok() && !stopping_) {
      absl::StatusOr<std::vector<v1::ValueSet>> sets = client_->ListValueSets();
      s = sets.status();
      for (size_t i = 0; sets.ok() && i < sets->size() && s.ok(); ++i) {
        const v1::ValueSet& vs = (*sets)[i];
        const std::string key = absl::StrCat(vs.url(), "|", vs.version());
        if (copied_value_sets_.count(key)) continue;
        v1::CreateValueSetRequest req;
        *req.mutable_value_set() = vs;
        v1::CreateValueSetResponse resp;
        s = admin_.CreateValueSet(req, &resp);
        if (s.ok()) copied_value_sets_.insert(key);
      }
    }
    if (!s.ok() && s != last_error) {
      std::cerr << "codebookd: following " << primary_ << " (code systems and value sets): "
                << s.message()
                << std::endl;
    }
    last_error = s;
    for (int i = 0; i < 20 && !stopping_; ++i) absl::SleepFor(kWatchSpan / 20);
  }
}

std::vector<std::string> Follower::SystemsToCheck() {
  std::vector<std::string> ids;
  absl::StatusOr<std::vector<v1::CodeSystem>> systems = client_->ListCodeSystems();
  if (systems.ok()) {
    for (const v1::CodeSystem& s : *systems) ids.push_back(s.id());
  } else {
    for (const service::CodeSystemInfo& s : service::KnownSystems()) ids.push_back(s.id);
  }
  return ids;
}

void Follower::Follow(const std::string& system) {
  int64_t last = 0;  // replay the whole feed once: what is already here is skipped
  absl::Status last_error;
  while (!stopping_) {
    absl::Status apply_error;
    absl::Status s = client_->WatchReleases(
        system, last,
        [&](const v1::ReleaseEvent& event) {
          if (stopping_) return false;
          apply_error = Apply(system, event);
          if (!apply_error.ok()) return false;
          last = event.sequence();
          CheckSync();
          return true;
        },
        kWatchSpan);
    if (!apply_error.ok()) s = apply_error;
    if (!s.ok() && s.code() != absl::StatusCode::kDeadlineExceeded) {
      if (s != last_error) {
        std::cerr << "codebookd: following " << primary_ << " (" << system
                  << "): " << s.message() << std::endl;
      }
      last_error = s;
      absl::SleepFor(absl::Milliseconds(500));
    } else {
      last_error = absl::OkStatus();
    }
    CheckSync();
  }
}

absl::StatusOr<std::vector<v1::Release>> Follower::LocalReleases(
    const std::string& system) const {
  v1::ListReleasesRequest req;
  req.set_system(system);
  v1::ListReleasesResponse resp;
  if (absl::Status s = local_.ListReleases(req, &resp); !s.ok()) return s;
  return std::vector<v1::Release>(resp.releases().begin(), resp.releases().end());
}

namespace {

// The release of `releases` with `version`, or null.
const v1::Release* Find(const std::vector<v1::Release>& releases, const std::string& version) {
  for (const v1::Release& r : releases) {
    if (r.version() == version) return &r;
  }
  return nullptr;
}

}  // namespace

absl::Status Follower::Apply(const std::string& system, const v1::ReleaseEvent& event) {
  absl::MutexLock l(&apply_mu_);
  const v1::Release& release = event.release();
  absl::StatusOr<std::vector<v1::Release>> mine = LocalReleases(system);
  if (!mine.ok()) return mine.status();
  const v1::Release* local = Find(*mine, release.version());
  if (local != nullptr && local->state() == v1::RELEASE_STATE_STAGED) {
    // Left over from an interrupted copy.
    v1::DiscardReleaseRequest req;
    req.set_system(system);
    req.set_version(release.version());
    v1::DiscardReleaseResponse resp;
    if (absl::Status s = admin_.DiscardRelease(req, &resp); !s.ok()) return s;
    local = nullptr;
  }
  if (local == nullptr) {
    if (absl::Status s = CopyRelease(system, release); !s.ok()) return s;
    mine = LocalReleases(system);
    if (!mine.ok()) return mine.status();
    local = Find(*mine, release.version());
  } else if (local->checksum() != release.checksum()) {
    return absl::DataLossError(absl::StrCat(system, " ", release.version(), " differs from the primary's: ",
                                            local->checksum(), " here, ", release.checksum(), " there"));
  }
  if (event.type() == v1::RELEASE_EVENT_TYPE_RETRACTED && local != nullptr &&
      local->state() == v1::RELEASE_STATE_PUBLISHED) {
    v1::RetractReleaseRequest req;
    req.set_system(system);
    req.set_version(release.version());
    req.set_reason(release.retract_reason().empty() ? "retracted on the primary"
                                                    : release.retract_reason());
    v1::RetractReleaseResponse resp;
    return admin_.RetractRelease(req, &resp);
  }
  return absl::OkStatus();
}

absl::Status Follower::CopyRelease(const std::string& system, const v1::Release& release) {
  absl::Time start = absl::Now();
  v1::CreateReleaseRequest create;
  create.set_system(system);
  create.set_version(release.version());
  create.set_effective_date(release.effective_date());
  create.set_description(release.description());
  create.set_resource_json(release.resource_json());
  v1::CreateReleaseResponse created;
  if (absl::Status s = admin_.CreateRelease(create, &created); !s.ok()) return s;
  std::unique_ptr<service::ReleaseAdminImpl::Upload> upload = admin_.StartUpload();
  v1::ExportReleaseRequest req;
  req.set_system(system);
  req.mutable_selector()->set_version(release.version());
  absl::Status upload_status;
  absl::Status s = client_->ExportRelease(req, [&](const v1::ExportReleaseResponse& m) {
    if (m.concepts_size() == 0) return true;
    if (m.concepts(0).text_withheld()) {
      upload_status = absl::PermissionDeniedError(absl::StrCat(
          "the primary withholds ", system, "'s text from this replica: give the replica a "
          "credential whose scopes include its licence (--follow_token_file, or a client "
          "certificate), e.g. read,license:", system));
      return false;
    }
    v1::UploadConceptsRequest msg;
    msg.set_system(system);
    msg.set_version(release.version());
    *msg.mutable_concepts() = m.concepts();
    upload_status = upload->Add(&msg);
    return upload_status.ok();
  });
  if (!upload_status.ok()) s = upload_status;
  v1::UploadConceptsResponse uploaded;
  if (s.ok()) s = upload->Commit(&uploaded);
  v1::PublishReleaseRequest publish;
  publish.set_system(system);
  publish.set_version(release.version());
  v1::PublishReleaseResponse published;
  if (s.ok()) s = admin_.PublishRelease(publish, &published);
  if (!s.ok()) {
    v1::DiscardReleaseRequest discard;
    discard.set_system(system);
    discard.set_version(release.version());
    v1::DiscardReleaseResponse discarded;
    (void)admin_.DiscardRelease(discard, &discarded);
    return s;
  }
  if (published.release().checksum() != release.checksum()) {
    return absl::DataLossError(absl::StrCat("copy of ", system, " ", release.version(),
                                            " has checksum ", published.release().checksum(),
                                            ", the primary's is ", release.checksum()));
  }
  std::cerr << "codebookd: copied " << system << " " << release.version() << " from " << primary_
            << " (" << published.release().counts().total() << " concepts, checksum verified) in "
            << absl::FormatDuration(absl::Now() - start) << std::endl;
  return absl::OkStatus();
}

void Follower::CheckSync() {
  bool in_sync = true;
  std::map<std::string, int> behind;
  for (const std::string& id : SystemsToCheck()) {
    absl::StatusOr<std::vector<v1::Release>> theirs = client_->ListReleases(id);
    absl::StatusOr<std::vector<v1::Release>> ours =
        theirs.ok() ? LocalReleases(id) : theirs.status();
    if (!ours.ok()) {
      // Unknown: the primary did not answer, or this server has not registered the system yet.
      in_sync = false;
      behind[id] = -1;
      continue;
    }
    int missing = 0;
    size_t count = 0;
    for (const v1::Release& r : *theirs) {
      if (r.state() == v1::RELEASE_STATE_STAGED) continue;
      ++count;
      const v1::Release* mine = Find(*ours, r.version());
      bool same_state = mine != nullptr &&
                        (mine->state() == v1::RELEASE_STATE_RETRACTED) ==
                            (r.state() == v1::RELEASE_STATE_RETRACTED);
      if (!same_state || mine->state() == v1::RELEASE_STATE_STAGED ||
          mine->checksum() != r.checksum()) {
        ++missing;
      }
    }
    size_t local = 0;
    for (const v1::Release& r : *ours) local += r.state() != v1::RELEASE_STATE_STAGED;
    if (missing > 0 || local != count) in_sync = false;
    behind[id] = missing;
  }
  {
    absl::MutexLock l(&lag_mu_);
    lag_.releases_behind = std::move(behind);
    lag_.last_check = absl::Now();
    if (in_sync) lag_.last_in_sync = lag_.last_check;
  }
  if (in_sync_.exchange(in_sync) != in_sync && on_sync_change_) on_sync_change_(in_sync);
}

Follower::Lag Follower::lag() const {
  absl::MutexLock l(&lag_mu_);
  return lag_;
}

}  // namespace codebook::replica
