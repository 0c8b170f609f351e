// ReleaseAdminImpl: the domain logic behind the ReleaseAdmin service (create, upload, publish,
// discard). Checks every request and concept, then calls the store, whose writes are atomic.
// Thread-safe; does not own the store.
#ifndef CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_
#define CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_

#include <vector>

#include "absl/status/status.h"
#include "codebook/v1/release_admin.pb.h"
#include "service/terminology_impl.h"
#include "storage/store.h"

namespace codebook::service {

// Maximum concepts in one UploadConceptsRequest message (documented in release_admin.proto).
inline constexpr int kMaxConceptsPerMessage = 10000;

class ReleaseAdminImpl {
 public:
  ReleaseAdminImpl(storage::Store* store, Clock clock);

  absl::Status CreateRelease(const v1::CreateReleaseRequest& req,
                             v1::CreateReleaseResponse* resp) const;
  // Checks one message of an upload stream as it arrives: system and version present, equal to
  // the first message's, and the batch within its size limit.
  absl::Status CheckUploadMessage(const v1::UploadConceptsRequest& first,
                                  const v1::UploadConceptsRequest& msg) const;
  // Stores every concept of a whole upload stream, or none.
  absl::Status UploadConcepts(const std::vector<v1::UploadConceptsRequest>& stream,
                              v1::UploadConceptsResponse* resp) const;
  absl::Status PublishRelease(const v1::PublishReleaseRequest& req,
                              v1::PublishReleaseResponse* resp) const;
  absl::Status DiscardRelease(const v1::DiscardReleaseRequest& req,
                              v1::DiscardReleaseResponse* resp) const;

 private:
  int64_t NowMicros() const { return absl::ToUnixMicros(clock_()); }

  storage::Store* store_;
  Clock clock_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_RELEASE_ADMIN_IMPL_H_
