#include "service/release_admin_impl.h"

#include "service/value_sets.h"

#include <filesystem>

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/supplements.h"

namespace codebook::service {
namespace {

absl::Status CheckVersion(absl::string_view version) {
  if (IsValidVersion(version)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("version '", version,
                   "' is not valid: use 1-32 characters of A-Z a-z 0-9 . _ - (e.g. FY2025)"));
}

}  // namespace

ReleaseAdminImpl::ReleaseAdminImpl(storage::Store* store, Clock clock)
    : store_(store), clock_(std::move(clock)) {}

absl::Status ReleaseAdminImpl::CreateRelease(const v1::CreateReleaseRequest& req,
                                             v1::CreateReleaseResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (absl::Status s = CheckVersion(req.version()); !s.ok()) return s;
  if (!IsValidDate(req.effective_date())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "effective date '", req.effective_date(), "' is not a YYYY-MM-DD date"));
  }
  if (req.description().size() > 1000) {
    return absl::InvalidArgumentError("description is longer than 1000 characters");
  }
  if (req.resource_json().size() > (1 << 20)) {
    return absl::InvalidArgumentError("resource_json is longer than 1 MiB");
  }
  if (absl::Status s = CheckSupplementCreate(*store_->catalog(), **system, req.version(),
                                             req.effective_date());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<storage::ReleaseRecord> r = store_->CreateRelease(
      (*system)->id, req.version(), req.effective_date(), req.description(), NowMicros(),
      req.resource_json());
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::Upload::Add(v1::UploadConceptsRequest* msg) {
  if (absl::Status w = admin_->CheckWritable(); !w.ok()) return w;
  if (system_ == nullptr) {
    if (msg->system().empty() || msg->version().empty()) {
      return absl::InvalidArgumentError("every upload message must name its system and version");
    }
    absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*admin_->store_, msg->system());
    if (!system.ok()) return system.status();
    std::shared_ptr<const storage::Catalog> catalog = admin_->store_->catalog();
    const storage::ReleaseRecord* release = catalog->Find((*system)->id, msg->version());
    if (release == nullptr) {
      return absl::NotFoundError(absl::StrCat((*system)->id, " has no release ", msg->version()));
    }
    system_ = *system;
    version_ = msg->version();
    effective_date_ = release->effective_date;
  } else if (msg->system() != system_->id || msg->version() != version_) {
    return absl::InvalidArgumentError(absl::StrCat("upload stream mixes releases: ", system_->id,
                                                   " ", version_, " and ", msg->system(), " ",
                                                   msg->version()));
  }
  if (msg->concepts_size() > kMaxConceptsPerMessage) {
    return absl::InvalidArgumentError(absl::StrCat("an upload message carries ",
                                                   msg->concepts_size(), " concepts; the limit is ",
                                                   kMaxConceptsPerMessage));
  }
  publish_ = publish_ || msg->publish();
  for (v1::Concept& c : *msg->mutable_concepts()) {
    absl::StatusOr<storage::StagedConcept> sc = FromApi(*system_, effective_date_, &c);
    if (!sc.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("uploaded concept #", staged_.size() + 1, ": ", sc.status().message()));
    }
    staged_.Add(sc->code, sc->record);
  }
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::Upload::Commit(v1::UploadConceptsResponse* resp) {
  if (system_ == nullptr) return absl::InvalidArgumentError("the upload stream carried no message");
  int64_t n = static_cast<int64_t>(staged_.size());
  absl::StatusOr<storage::ReleaseRecord> r;
  if (publish_) {
    if (absl::Status s = CheckSupplementPublish(*admin_->store_->catalog(), *system_, version_);
        !s.ok()) {
      return s;
    }
    r = admin_->store_->PublishUpload(system_->id, version_, std::move(staged_),
                                      admin_->NowMicros());
  } else {
    r = admin_->store_->AddStagedConcepts(system_->id, version_, std::move(staged_));
  }
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  resp->set_accepted(n);
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::PublishRelease(const v1::PublishReleaseRequest& req,
                                              v1::PublishReleaseResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (absl::Status s = CheckSupplementPublish(*store_->catalog(), **system, req.version());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<storage::ReleaseRecord> r =
      store_->Publish((*system)->id, req.version(), NowMicros());
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::DiscardRelease(const v1::DiscardReleaseRequest& req,
                                              v1::DiscardReleaseResponse*) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  return store_->Discard((*system)->id, req.version());
}

absl::Status ReleaseAdminImpl::RetractRelease(const v1::RetractReleaseRequest& req,
                                              v1::RetractReleaseResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (req.reason().empty()) {
    return absl::InvalidArgumentError("a retraction needs a reason");
  }
  if (req.reason().size() > 1000) {
    return absl::InvalidArgumentError("the reason is longer than 1000 characters");
  }
  absl::StatusOr<storage::ReleaseRecord> r =
      store_->Retract((*system)->id, req.version(), req.reason(), NowMicros());
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::AddCodeLinks(const v1::AddCodeLinksRequest& req,
                                            v1::AddCodeLinksResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (req.links_size() > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat(req.links_size(), " links in one call; the limit is 100000"));
  }
  std::vector<storage::CodeLinkRecord> links;
  links.reserve(req.links_size());
  for (int i = 0; i < req.links_size(); ++i) {
    const v1::CodeLink& l = req.links(i);
    absl::StatusOr<std::string> code = NormalizeCode(**system, l.code());
    absl::StatusOr<std::string> previous = NormalizeCode(**system, l.previous_code());
    if (!code.ok() || !previous.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "link #", i + 1, ": ", (!code.ok() ? code.status() : previous.status()).message()));
    }
    if (l.effective().size() > 64 || l.note().size() > 1000) {
      return absl::InvalidArgumentError(absl::StrCat("link #", i + 1, ": text too long"));
    }
    links.push_back({*code, *previous, l.effective(), l.note()});
  }
  if (absl::Status s = store_->AddLinks((*system)->id, links); !s.ok()) return s;
  resp->set_stored(static_cast<int64_t>(links.size()));
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::CreateCodeSystem(const v1::CreateCodeSystemRequest& req,
                                                v1::CreateCodeSystemResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  storage::CodeSystemRecord record = FromApi(req.system());
  absl::StatusOr<CodeSystemInfo> checked = SystemFromRecord(record);
  if (!checked.ok()) return checked.status();
  bool created = false;
  absl::StatusOr<storage::CodeSystemRecord> stored =
      store_->RegisterSystem(record, NowMicros(), &created);
  if (!stored.ok()) return stored.status();
  // What is stored is this definition: another one under the id or URI was refused above.
  ToApi(*checked, resp->mutable_system());
  resp->set_created(created);
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::CreateValueSet(const v1::CreateValueSetRequest& req,
                                              v1::CreateValueSetResponse* resp) const {
  if (absl::Status w = CheckWritable(); !w.ok()) return w;
  storage::ValueSetRecord record = FromApi(req.value_set());
  if (absl::Status s = CheckValueSet(*store_->catalog(), &record); !s.ok()) return s;
  bool created = false;
  absl::StatusOr<storage::ValueSetRecord> stored =
      store_->CreateValueSet(std::move(record), NowMicros(), &created);
  if (!stored.ok()) return stored.status();
  ToApi(*stored, resp->mutable_value_set());
  resp->set_created(created);
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::CreateBackup(const v1::CreateBackupRequest& req,
                                            v1::CreateBackupResponse* resp) const {
  const std::string& dir = req.directory();
  if (dir.empty() || dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "a backup needs an absolute folder path on the server's machine, not '", dir, "'"));
  }
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!std::filesystem::is_directory(parent, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write a backup to ", dir, ": ", parent.string(), " is not a folder"));
  }
  if (absl::Status s = store_->Checkpoint(dir); !s.ok()) return s;
  // Prove the copy: open it on its own and recompute every checksum.
  storage::StoreOptions options;
  options.view_cache_bytes = 0;
  absl::StatusOr<std::unique_ptr<storage::Store>> copy = storage::Store::Open(dir, options);
  if (!copy.ok()) {
    return absl::DataLossError(absl::StrCat("the backup in ", dir, " does not open: ",
                                            copy.status().message()));
  }
  absl::StatusOr<std::vector<storage::ReleaseRecord>> verified = (*copy)->VerifyChecksums();
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat("the backup in ", dir, " is not consistent: ",
                                            verified.status().message()));
  }
  copy->reset();
  resp->set_directory(dir);
  for (const storage::ReleaseRecord& r : *verified) ToApi(r, resp->add_releases());
  int64_t bytes = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec)) bytes += static_cast<int64_t>(f.file_size(ec));
  }
  resp->set_bytes(bytes);
  return absl::OkStatus();
}

}  // namespace codebook::service
