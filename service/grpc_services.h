// gRPC handlers for Terminology and ReleaseAdmin, on gRPC's callback API.
//
// Handlers are thin: check what only the transport can check, call the *Impl domain object,
// convert its absl::Status once (ToGrpcStatus). They do not own the domain objects, which must
// outlive the server.
#ifndef CODEBOOK_SERVICE_GRPC_SERVICES_H_
#define CODEBOOK_SERVICE_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "codebook/v1/release_admin.grpc.pb.h"
#include "codebook/v1/terminology.grpc.pb.h"
#include "service/release_admin_impl.h"
#include "service/terminology_impl.h"

namespace codebook::service {

// The one place where internal status becomes gRPC status (codes map one to one).
grpc::Status ToGrpcStatus(const absl::Status& s);

class TerminologyHandler final : public v1::Terminology::CallbackService {
 public:
  explicit TerminologyHandler(const TerminologyImpl* impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* ListCodeSystems(grpc::CallbackServerContext* ctx,
                                            const v1::ListCodeSystemsRequest* req,
                                            v1::ListCodeSystemsResponse* resp) override;
  grpc::ServerUnaryReactor* ListReleases(grpc::CallbackServerContext* ctx,
                                         const v1::ListReleasesRequest* req,
                                         v1::ListReleasesResponse* resp) override;
  grpc::ServerUnaryReactor* GetRelease(grpc::CallbackServerContext* ctx,
                                       const v1::GetReleaseRequest* req,
                                       v1::GetReleaseResponse* resp) override;
  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* ctx, const v1::LookupRequest* req,
                                   v1::LookupResponse* resp) override;
  grpc::ServerUnaryReactor* BatchLookup(grpc::CallbackServerContext* ctx,
                                        const v1::BatchLookupRequest* req,
                                        v1::BatchLookupResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateCode(grpc::CallbackServerContext* ctx,
                                         const v1::ValidateCodeRequest* req,
                                         v1::ValidateCodeResponse* resp) override;
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx, const v1::PingRequest* req,
                                 v1::PingResponse* resp) override;

 private:
  const TerminologyImpl* impl_;
};

class ReleaseAdminHandler final : public v1::ReleaseAdmin::CallbackService {
 public:
  explicit ReleaseAdminHandler(const ReleaseAdminImpl* impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* CreateRelease(grpc::CallbackServerContext* ctx,
                                          const v1::CreateReleaseRequest* req,
                                          v1::CreateReleaseResponse* resp) override;
  grpc::ServerReadReactor<v1::UploadConceptsRequest>* UploadConcepts(
      grpc::CallbackServerContext* ctx, v1::UploadConceptsResponse* resp) override;
  grpc::ServerUnaryReactor* PublishRelease(grpc::CallbackServerContext* ctx,
                                           const v1::PublishReleaseRequest* req,
                                           v1::PublishReleaseResponse* resp) override;
  grpc::ServerUnaryReactor* DiscardRelease(grpc::CallbackServerContext* ctx,
                                           const v1::DiscardReleaseRequest* req,
                                           v1::DiscardReleaseResponse* resp) override;

 private:
  const ReleaseAdminImpl* impl_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_GRPC_SERVICES_H_
