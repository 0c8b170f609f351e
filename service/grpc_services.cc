#include "service/grpc_services.h"

#include <iostream>
#include <utility>
#include <vector>

namespace codebook::service {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

namespace {

// Runs a domain call inline and finishes the unary rpc with its status.
template <typename Impl, typename Req, typename Resp>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const Impl* impl,
                                absl::Status (Impl::*method)(const Req&, Resp*) const,
                                const Req* req, Resp* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus((impl->*method)(*req, resp)));
  return reactor;
}

// Feeds an upload stream to the domain message by message, and commits it only when the client
// ends the stream normally, so that a stream is stored entirely or not at all. A cancelled or
// failed stream stores nothing.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadConceptsRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* ctx, const ReleaseAdminImpl* impl,
                v1::UploadConceptsResponse* resp)
      : ctx_(ctx), upload_(impl->StartUpload()), resp_(resp), start_(absl::Now()) {
    StartRead(&msg_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      absl::Status s = upload_->Add(&msg_);
      if (!s.ok()) {
        Finish(ToGrpcStatus(s));
        return;
      }
      msg_.Clear();
      StartRead(&msg_);
      return;
    }
    if (ctx_->IsCancelled()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled; nothing was stored"));
      return;
    }
    absl::Status s = upload_->Commit(resp_);
    if (s.ok()) {
      std::cerr << "codebookd: staged " << resp_->accepted() << " concepts for "
                << resp_->release().system() << " " << resp_->release().version() << " in "
                << absl::FormatDuration(absl::Now() - start_) << std::endl;
    }
    Finish(ToGrpcStatus(s));
  }

  void OnDone() override { delete this; }

 private:
  grpc::CallbackServerContext* ctx_;
  std::unique_ptr<ReleaseAdminImpl::Upload> upload_;
  v1::UploadConceptsResponse* resp_;
  v1::UploadConceptsRequest msg_;
  absl::Time start_;
};

// Writes the messages of an answer computed up front, one after the other.
template <typename Resp>
class ListWriter final : public grpc::ServerWriteReactor<Resp> {
 public:
  // Finishes with `status` at once when it is not OK.
  ListWriter(absl::Status status, std::vector<Resp> messages)
      : messages_(std::move(messages)) {
    if (!status.ok() || messages_.empty()) {
      this->Finish(ToGrpcStatus(status));
      return;
    }
    this->StartWrite(&messages_[0]);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    if (++next_ < messages_.size()) {
      this->StartWrite(&messages_[next_]);
    } else {
      this->Finish(grpc::Status::OK);
    }
  }
  void OnDone() override { delete this; }

 private:
  std::vector<Resp> messages_;
  size_t next_ = 0;
};

}  // namespace

TerminologyHandler::TerminologyHandler(const TerminologyImpl* impl) : impl_(impl) {
  SetMessageAllocatorFor_ListCodeSystems(&list_systems_);
  SetMessageAllocatorFor_ListReleases(&list_releases_);
  SetMessageAllocatorFor_GetRelease(&get_release_);
  SetMessageAllocatorFor_Lookup(&lookup_);
  SetMessageAllocatorFor_BatchLookup(&batch_lookup_);
  SetMessageAllocatorFor_ValidateCode(&validate_);
  SetMessageAllocatorFor_Ping(&ping_);
  SetMessageAllocatorFor_GetCodeHistory(&history_);
}

grpc::ServerUnaryReactor* TerminologyHandler::ListCodeSystems(
    grpc::CallbackServerContext* ctx, const v1::ListCodeSystemsRequest* req,
    v1::ListCodeSystemsResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::ListCodeSystems, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::ListReleases(grpc::CallbackServerContext* ctx,
                                                           const v1::ListReleasesRequest* req,
                                                           v1::ListReleasesResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::ListReleases, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::GetRelease(grpc::CallbackServerContext* ctx,
                                                         const v1::GetReleaseRequest* req,
                                                         v1::GetReleaseResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::GetRelease, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::Lookup(grpc::CallbackServerContext* ctx,
                                                     const v1::LookupRequest* req,
                                                     v1::LookupResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::Lookup, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::BatchLookup(grpc::CallbackServerContext* ctx,
                                                          const v1::BatchLookupRequest* req,
                                                          v1::BatchLookupResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::BatchLookup, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::ValidateCode(grpc::CallbackServerContext* ctx,
                                                           const v1::ValidateCodeRequest* req,
                                                           v1::ValidateCodeResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::ValidateCode, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::Ping(grpc::CallbackServerContext* ctx,
                                                   const v1::PingRequest* req,
                                                   v1::PingResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::Ping, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::GetCodeHistory(grpc::CallbackServerContext* ctx,
                                                             const v1::GetCodeHistoryRequest* req,
                                                             v1::GetCodeHistoryResponse* resp) {
  return Unary(ctx, impl_, &TerminologyImpl::GetCodeHistory, req, resp);
}

grpc::ServerWriteReactor<v1::ExportReleaseResponse>* TerminologyHandler::ExportRelease(
    grpc::CallbackServerContext* ctx, const v1::ExportReleaseRequest* req) {
  std::vector<v1::ExportReleaseResponse> messages;
  absl::Status s = impl_->ExportRelease(*req, &messages);
  return new ListWriter<v1::ExportReleaseResponse>(s, std::move(messages));
}

grpc::ServerWriteReactor<v1::DiffReleasesResponse>* TerminologyHandler::DiffReleases(
    grpc::CallbackServerContext* ctx, const v1::DiffReleasesRequest* req) {
  std::vector<v1::DiffReleasesResponse> messages;
  absl::Status s = impl_->DiffReleases(*req, &messages);
  return new ListWriter<v1::DiffReleasesResponse>(s, std::move(messages));
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::CreateRelease(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateReleaseRequest* req,
                                                             v1::CreateReleaseResponse* resp) {
  return Unary(ctx, impl_, &ReleaseAdminImpl::CreateRelease, req, resp);
}
grpc::ServerReadReactor<v1::UploadConceptsRequest>* ReleaseAdminHandler::UploadConcepts(
    grpc::CallbackServerContext* ctx, v1::UploadConceptsResponse* resp) {
  return new UploadReactor(ctx, impl_, resp);
}
grpc::ServerUnaryReactor* ReleaseAdminHandler::PublishRelease(
    grpc::CallbackServerContext* ctx, const v1::PublishReleaseRequest* req,
    v1::PublishReleaseResponse* resp) {
  absl::Time start = absl::Now();
  absl::Status s = impl_->PublishRelease(*req, resp);
  if (s.ok()) {
    const v1::Release& r = resp->release();
    const v1::ReleaseCounts& c = r.counts();
    std::cerr << "codebookd: published " << r.system() << " " << r.version() << " (effective "
              << r.effective_date() << ") as sequence " << r.sequence() << ": " << c.total()
              << " concepts, " << c.added() << " added, " << c.deleted() << " deleted, "
              << c.changed() << " changed, " << r.checksum() << " in "
              << absl::FormatDuration(absl::Now() - start) << std::endl;
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}
grpc::ServerUnaryReactor* ReleaseAdminHandler::DiscardRelease(
    grpc::CallbackServerContext* ctx, const v1::DiscardReleaseRequest* req,
    v1::DiscardReleaseResponse* resp) {
  return Unary(ctx, impl_, &ReleaseAdminImpl::DiscardRelease, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::RetractRelease(
    grpc::CallbackServerContext* ctx, const v1::RetractReleaseRequest* req,
    v1::RetractReleaseResponse* resp) {
  return Unary(ctx, impl_, &ReleaseAdminImpl::RetractRelease, req, resp);
}

}  // namespace codebook::service
