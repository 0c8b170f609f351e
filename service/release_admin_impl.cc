#include "service/release_admin_impl.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/code_systems.h"
#include "service/conversions.h"

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
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  if (absl::Status s = CheckVersion(req.version()); !s.ok()) return s;
  if (!IsValidDate(req.effective_date())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "effective date '", req.effective_date(), "' is not a YYYY-MM-DD date"));
  }
  if (req.description().size() > 1000) {
    return absl::InvalidArgumentError("description is longer than 1000 characters");
  }
  absl::StatusOr<storage::ReleaseRecord> r = store_->CreateRelease(
      (*system)->id, req.version(), req.effective_date(), req.description(), NowMicros());
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::CheckUploadMessage(const v1::UploadConceptsRequest& first,
                                                  const v1::UploadConceptsRequest& msg) const {
  if (msg.system().empty() || msg.version().empty()) {
    return absl::InvalidArgumentError("every upload message must name its system and version");
  }
  if (msg.system() != first.system() || msg.version() != first.version()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upload stream mixes releases: ", first.system(), " ", first.version(), " and ",
        msg.system(), " ", msg.version()));
  }
  if (msg.concepts_size() > kMaxConceptsPerMessage) {
    return absl::InvalidArgumentError(absl::StrCat("an upload message carries ",
                                                   msg.concepts_size(), " concepts; the limit is ",
                                                   kMaxConceptsPerMessage));
  }
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::UploadConcepts(
    const std::vector<v1::UploadConceptsRequest>& stream, v1::UploadConceptsResponse* resp) const {
  if (stream.empty()) return absl::InvalidArgumentError("the upload stream carried no message");
  const v1::UploadConceptsRequest& first = stream.front();
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(first.system());
  if (!system.ok()) return system.status();
  const storage::ReleaseRecord* release = store_->catalog()->Find((*system)->id, first.version());
  if (release == nullptr) {
    return absl::NotFoundError(absl::StrCat((*system)->id, " has no release ", first.version()));
  }
  std::string effective_date = release->effective_date;
  std::vector<storage::StagedConcept> staged;
  size_t total = 0;
  for (const auto& msg : stream) total += msg.concepts_size();
  staged.reserve(total);
  int64_t index = 0;
  for (const v1::UploadConceptsRequest& msg : stream) {
    for (const v1::Concept& c : msg.concepts()) {
      absl::StatusOr<storage::StagedConcept> sc = FromApi(**system, effective_date, c);
      if (!sc.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("uploaded concept #", index + 1, ": ", sc.status().message()));
      }
      staged.push_back(*std::move(sc));
      ++index;
    }
  }
  absl::StatusOr<storage::ReleaseRecord> r =
      store_->AddStagedConcepts((*system)->id, first.version(), std::move(staged));
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  resp->set_accepted(index);
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::PublishRelease(const v1::PublishReleaseRequest& req,
                                              v1::PublishReleaseResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  absl::StatusOr<storage::ReleaseRecord> r =
      store_->Publish((*system)->id, req.version(), NowMicros());
  if (!r.ok()) return r.status();
  ToApi(*r, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status ReleaseAdminImpl::DiscardRelease(const v1::DiscardReleaseRequest& req,
                                              v1::DiscardReleaseResponse*) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  return store_->Discard((*system)->id, req.version());
}

}  // namespace codebook::service
