// ReleaseAdminImpl: the domain logic behind the ReleaseAdmin service (create, upload, publish,
// discard). Checks every request and concept, then calls the store, whose writes are atomic.
// Thread-safe; does not own the store.
#ifndef CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_
#define CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codebook/v1/release_admin.pb.h"
#include "service/code_systems.h"
#include "service/terminology_impl.h"
#include "storage/store.h"

namespace codebook::service {

// Maximum concepts in one UploadConceptsRequest message (documented in release_admin.proto).
inline constexpr int kMaxConceptsPerMessage = 10000;

class ReleaseAdminImpl {
 public:
  ReleaseAdminImpl(storage::Store* store, Clock clock);
  // Refuses every admin call with FAILED_PRECONDITION and this message (read replicas). Call
  // before serving.
  void SetReadOnly(std::string why) { read_only_ = std::move(why); }

  absl::Status CreateRelease(const v1::CreateReleaseRequest& req,
                             v1::CreateReleaseResponse* resp) const;
  // One upload stream in progress. Each message is checked and converted as it arrives (so the
  // work overlaps the transfer); Commit stores every concept of the stream, or none. Not
  // thread-safe: one stream, one thread at a time.
  class Upload {
   public:
    // Checks and converts one message: system and version as in the first message, at most
    // kMaxConceptsPerMessage concepts, every concept valid. Moves the texts out of *msg.
    absl::Status Add(v1::UploadConceptsRequest* msg);
    // Stores everything added so far in one write.
    absl::Status Commit(v1::UploadConceptsResponse* resp);

   private:
    friend class ReleaseAdminImpl;
    Upload(const ReleaseAdminImpl* admin) : admin_(admin) {}
    const ReleaseAdminImpl* admin_;
    const CodeSystemInfo* system_ = nullptr;
    std::string version_;
    std::string effective_date_;
    storage::StagedBatch staged_;
    bool publish_ = false;
  };
  std::unique_ptr<Upload> StartUpload() const { return std::unique_ptr<Upload>(new Upload(this)); }

  absl::Status PublishRelease(const v1::PublishReleaseRequest& req,
                              v1::PublishReleaseResponse* resp) const;
  absl::Status DiscardRelease(const v1::DiscardReleaseRequest& req,
                              v1::DiscardReleaseResponse* resp) const;
  absl::Status RetractRelease(const v1::RetractReleaseRequest& req,
                              v1::RetractReleaseResponse* resp) const;
  absl::Status AddCodeLinks(const v1::AddCodeLinksRequest& req,
                            v1::AddCodeLinksResponse* resp) const;
  // A backup of the whole database (see ReleaseAdmin.CreateBackup); allowed when read-only.
  absl::Status CreateBackup(const v1::CreateBackupRequest& req,
                            v1::CreateBackupResponse* resp) const;
  // Registers a code system (see ReleaseAdmin.CreateCodeSystem).
  absl::Status CreateCodeSystem(const v1::CreateCodeSystemRequest& req,
                                v1::CreateCodeSystemResponse* resp) const;
  // Stores a value-set version (see ReleaseAdmin.CreateValueSet; value_sets.h).
  absl::Status CreateValueSet(const v1::CreateValueSetRequest& req,
                              v1::CreateValueSetResponse* resp) const;
  // As TerminologyImpl::LicenseScope.
  std::string LicenseScope(absl::string_view system) const {
    return LicenseScopeOf(*store_, system);
  }

 private:
  int64_t NowMicros() const { return absl::ToUnixMicros(clock_()); }

  absl::Status CheckWritable() const {
    return read_only_.empty() ? absl::OkStatus() : absl::FailedPreconditionError(read_only_);
  }

  storage::Store* store_;
  Clock clock_;
  std::string read_only_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_
