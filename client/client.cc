#include "client/client.h"

#include <deque>

#include <grpcpp/support/client_interceptor.h>

#include <thread>
#include <sstream>
#include <fstream>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace codebook {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

v1::ReleaseSelector Selector::Version(const std::string& version) {
  v1::ReleaseSelector s;
  s.set_version(version);
  return s;
}

v1::ReleaseSelector Selector::DateOfService(const std::string& date) {
  v1::ReleaseSelector s;
  s.set_date_of_service(date);
  return s;
}

namespace {

// Adds "authorization: Bearer <token>" to every call of a channel (ClientOptions::bearer_token).
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *value_});
    }
    methods->Proceed();
  }

 private:
  const std::string* value_;  // owned by the factory, which the channel keeps
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token) : value_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&value_);
  }

 private:
  const std::string value_;
};

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args = options_.channel_args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  if (options_.stream_window_bytes > 0) {
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, options_.stream_window_bytes);
    args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  }
  if (options_.bearer_token.empty()) {
    channel_ = grpc::CreateCustomChannel(options_.target, options_.credentials, args);
  } else {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> bearer;
    bearer.push_back(std::make_unique<BearerInterceptorFactory>(options_.bearer_token));
    channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        options_.target, options_.credentials, args, std::move(bearer));
  }
  terminology_ = v1::Terminology::NewStub(channel_);
  admin_ = v1::ReleaseAdmin::NewStub(channel_);
}

void Client::SetDeadline(grpc::ClientContext* ctx, bool admin) const {
  absl::Duration d = admin ? options_.admin_deadline : options_.deadline;
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::microseconds(absl::ToInt64Microseconds(d)));
}

namespace {

// One unary call with a deadline; the response on success.
template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> Call(Stub* stub,
                          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                          const Req& req, std::chrono::system_clock::time_point deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  Resp resp;
  grpc::Status s = (stub->*method)(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

std::chrono::system_clock::time_point After(absl::Duration d) {
  return std::chrono::system_clock::now() +
         std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

}  // namespace

absl::StatusOr<std::vector<v1::CodeSystem>> Client::ListCodeSystems() {
  auto r = Call(terminology_.get(), &v1::Terminology::Stub::ListCodeSystems,
                v1::ListCodeSystemsRequest(), After(options_.deadline));
  if (!r.ok()) return r.status();
  return std::vector<v1::CodeSystem>(r->systems().begin(), r->systems().end());
}

absl::StatusOr<std::vector<v1::Release>> Client::ListReleases(const std::string& system) {
  v1::ListReleasesRequest req;
  req.set_system(system);
  auto r = Call(terminology_.get(), &v1::Terminology::Stub::ListReleases, req,
                After(options_.deadline));
  if (!r.ok()) return r.status();
  return std::vector<v1::Release>(r->releases().begin(), r->releases().end());
}

absl::StatusOr<v1::Release> Client::GetRelease(const std::string& system,
                                               const v1::ReleaseSelector& selector) {
  v1::GetReleaseRequest req;
  req.set_system(system);
  *req.mutable_selector() = selector;
  auto r = Call(terminology_.get(), &v1::Terminology::Stub::GetRelease, req,
                After(options_.deadline));
  if (!r.ok()) return r.status();
  return r->release();
}

absl::StatusOr<v1::LookupResponse> Client::Lookup(const std::string& system,
                                                  const std::string& code,
                                                  const v1::ReleaseSelector& selector) {
  v1::LookupRequest req;
  req.set_system(system);
  req.set_code(code);
  *req.mutable_selector() = selector;
  return Call(terminology_.get(), &v1::Terminology::Stub::Lookup, req, After(options_.deadline));
}

absl::StatusOr<v1::BatchLookupResponse> Client::BatchLookup(
    const std::string& system, const std::vector<std::string>& codes,
    const v1::ReleaseSelector& selector) {
  v1::BatchLookupRequest req;
  req.set_system(system);
  *req.mutable_selector() = selector;
  req.mutable_codes()->Reserve(static_cast<int>(codes.size()));
  for (const std::string& c : codes) req.add_codes(c);
  return Call(terminology_.get(), &v1::Terminology::Stub::BatchLookup, req,
              After(options_.deadline));
}

absl::StatusOr<v1::ValidateCodeResponse> Client::ValidateCode(const std::string& system,
                                                              const std::string& code,
                                                              const std::string& date) {
  v1::ValidateCodeRequest req;
  req.set_system(system);
  req.set_code(code);
  req.set_date_of_service(date);
  return Call(terminology_.get(), &v1::Terminology::Stub::ValidateCode, req,
              After(options_.deadline));
}

absl::StatusOr<v1::ValidateCodeResponse> Client::ValidateCode(
    const v1::ValidateCodeRequest& request) {
  return Call(terminology_.get(), &v1::Terminology::Stub::ValidateCode, request,
              After(options_.deadline));
}

absl::StatusOr<std::vector<v1::ValueSet>> Client::ListValueSets(const std::string& url) {
  v1::ListValueSetsRequest req;
  req.set_url(url);
  auto r = Call(terminology_.get(), &v1::Terminology::Stub::ListValueSets, req,
                After(options_.deadline));
  if (!r.ok()) return r.status();
  return std::vector<v1::ValueSet>(r->value_sets().begin(), r->value_sets().end());
}

absl::StatusOr<v1::ExpandValueSetResponse> Client::ExpandValueSet(
    const v1::ExpandValueSetRequest& request) {
  // A cold expansion reads whole releases: bulk work, the admin deadline.
  return Call(terminology_.get(), &v1::Terminology::Stub::ExpandValueSet, request,
              After(options_.admin_deadline));
}

absl::StatusOr<v1::DiffValueSetResponse> Client::DiffValueSet(
    const v1::DiffValueSetRequest& request) {
  return Call(terminology_.get(), &v1::Terminology::Stub::DiffValueSet, request,
              After(options_.admin_deadline));
}

absl::StatusOr<v1::PingResponse> Client::Ping() {
  return Call(terminology_.get(), &v1::Terminology::Stub::Ping, v1::PingRequest(),
              After(options_.deadline));
}

absl::StatusOr<v1::GetCodeHistoryResponse> Client::GetCodeHistory(const std::string& system,
                                                                  const std::string& code) {
  v1::GetCodeHistoryRequest req;
  req.set_system(system);
  req.set_code(code);
  return Call(terminology_.get(), &v1::Terminology::Stub::GetCodeHistory, req,
              After(options_.deadline));
}

namespace {

// Reads a server stream to its end, handing each message to `on_message` (false stops it).
template <typename Resp>
absl::Status ReadStream(grpc::ClientContext* ctx, grpc::ClientReader<Resp>* reader,
                        const std::function<bool(const Resp&)>& on_message) {
  Resp msg;
  bool stopped = false;
  while (reader->Read(&msg)) {
    if (!on_message(msg)) {
      stopped = true;
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (stopped && s.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
  return FromGrpc(s);
}

}  // namespace

absl::Status Client::DiffReleases(
    const v1::DiffReleasesRequest& request,
    const std::function<bool(const v1::DiffReleasesResponse&)>& on_message) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, /*admin=*/true);  // a long stream takes a while
  auto reader = terminology_->DiffReleases(&ctx, request);
  return ReadStream(&ctx, reader.get(), on_message);
}

absl::StatusOr<v1::SearchResponse> Client::Search(const v1::SearchRequest& request) {
  return Call(terminology_.get(), &v1::Terminology::Stub::Search, request,
              After(options_.deadline));
}

absl::StatusOr<v1::GetAncestorsResponse> Client::GetAncestors(const std::string& system,
                                                              const std::string& code,
                                                              const v1::ReleaseSelector& selector) {
  v1::GetAncestorsRequest req;
  req.set_system(system);
  req.set_code(code);
  *req.mutable_selector() = selector;
  return Call(terminology_.get(), &v1::Terminology::Stub::GetAncestors, req,
              After(options_.deadline));
}

absl::StatusOr<v1::GetChildrenResponse> Client::GetChildren(
    const v1::GetChildrenRequest& request) {
  return Call(terminology_.get(), &v1::Terminology::Stub::GetChildren, request,
              After(options_.deadline));
}

absl::StatusOr<v1::SubsumesResponse> Client::Subsumes(const std::string& system,
                                                      const std::string& code_a,
                                                      const std::string& code_b,
                                                      const v1::ReleaseSelector& selector) {
  v1::SubsumesRequest req;
  req.set_system(system);
  req.set_code_a(code_a);
  req.set_code_b(code_b);
  *req.mutable_selector() = selector;
  return Call(terminology_.get(), &v1::Terminology::Stub::Subsumes, req,
              After(options_.deadline));
}

absl::StatusOr<v1::ValidateClaimResponse> Client::ValidateClaim(
    const v1::ValidateClaimRequest& request) {
  return Call(terminology_.get(), &v1::Terminology::Stub::ValidateClaim, request,
              After(options_.deadline));
}

absl::Status Client::ValidateClaimStream(
    const std::vector<v1::ClaimLine>& lines,
    const std::function<void(const v1::ClaimLineResult&)>& on_result) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, /*admin=*/true);
  auto stream = terminology_->ValidateClaimStream(&ctx);
  std::thread writer([&] {
    grpc::WriteOptions wo;
    for (const v1::ClaimLine& line : lines) {
      if (!stream->Write(line, wo)) return;  // the stream broke; Finish tells why
    }
    stream->WritesDone();
  });
  v1::ClaimLineResult result;
  while (stream->Read(&result)) on_result(result);
  writer.join();
  return FromGrpc(stream->Finish());
}

absl::Status Client::WatchReleases(const std::string& system, int64_t after_sequence,
                                   const std::function<bool(const v1::ReleaseEvent&)>& on_event,
                                   absl::Duration timeout) {
  grpc::ClientContext ctx;
  if (timeout > absl::ZeroDuration()) ctx.set_deadline(After(timeout));
  v1::WatchReleasesRequest req;
  req.set_system(system);
  req.set_after_sequence(after_sequence);
  auto reader = terminology_->WatchReleases(&ctx, req);
  return ReadStream(&ctx, reader.get(), on_event);
}

absl::Status Client::WatchValueSet(const std::string& value_set,
                                   const std::function<bool(const v1::ReleaseEvent&)>& on_event,
                                   absl::Duration timeout) {
  grpc::ClientContext ctx;
  if (timeout > absl::ZeroDuration()) ctx.set_deadline(After(timeout));
  v1::WatchReleasesRequest req;
  req.set_value_set(value_set);
  auto reader = terminology_->WatchReleases(&ctx, req);
  return ReadStream(&ctx, reader.get(), on_event);
}

absl::Status Client::ExportRelease(
    const v1::ExportReleaseRequest& request,
    const std::function<bool(const v1::ExportReleaseResponse&)>& on_message) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, /*admin=*/true);
  auto reader = terminology_->ExportRelease(&ctx, request);
  return ReadStream(&ctx, reader.get(), on_message);
}

absl::StatusOr<v1::Release> Client::CreateRelease(const std::string& system,
                                                  const std::string& version,
                                                  const std::string& effective_date,
                                                  const std::string& description,
                                                  const std::string& resource_json) {
  v1::CreateReleaseRequest req;
  req.set_system(system);
  req.set_version(version);
  req.set_effective_date(effective_date);
  req.set_description(description);
  req.set_resource_json(resource_json);
  auto r = Call(admin_.get(), &v1::ReleaseAdmin::Stub::CreateRelease, req,
                After(options_.admin_deadline));
  if (!r.ok()) return r.status();
  return r->release();
}

namespace {

// A source that hands `*concepts` over in one chunk (moved out when it runs).
ConceptSource OneChunk(std::vector<v1::Concept>* concepts) {
  return [concepts](const ConceptChunkFn& sink) {
    return sink(std::move(*concepts)) ? absl::OkStatus()
                                       : absl::CancelledError("the upload was stopped");
  };
}

// `progress` told the total, which the upload does not know.
ProgressFn WithTotal(ProgressFn progress, int64_t total) {
  if (!progress) return nullptr;
  return [progress = std::move(progress), total](int64_t done, int64_t) { progress(done, total); };
}

}  // namespace

absl::StatusOr<v1::UploadConceptsResponse> Client::UploadConcepts(
    const std::string& system, const std::string& version, std::vector<v1::Concept> concepts,
    int chunk, ProgressFn progress, bool publish) {
  const int64_t total = static_cast<int64_t>(concepts.size());
  return UploadFrom(system, version, OneChunk(&concepts), chunk, publish,
                    WithTotal(std::move(progress), total));
}

absl::StatusOr<v1::UploadConceptsResponse> Client::UploadFrom(const std::string& system,
                                                             const std::string& version,
                                                             const ConceptSource& source,
                                                             int per_message, bool publish,
                                                             const ProgressFn& progress) {
  const size_t per = static_cast<size_t>(std::max(1, per_message));
  // The source's thread hands chunks over through a short queue; this thread sends them.
  absl::Mutex mu;
  std::deque<std::vector<v1::Concept>> queue;
  bool produced = false, stop = false;
  absl::Status source_status;
  constexpr size_t kQueued = 4;
  std::thread producer([&] {
    absl::Status st = source([&](std::vector<v1::Concept> chunk) {
      absl::MutexLock l(&mu);
      auto room = [&] { return stop || queue.size() < kQueued; };
      mu.Await(absl::Condition(&room));
      if (stop) return false;
      queue.push_back(std::move(chunk));
      return true;
    });
    absl::MutexLock l(&mu);
    source_status = st;
    produced = true;
  });

  grpc::ClientContext ctx;
  SetDeadline(&ctx, /*admin=*/true);
  v1::UploadConceptsResponse resp;
  std::unique_ptr<grpc::ClientWriter<v1::UploadConceptsRequest>> writer =
      admin_->UploadConcepts(&ctx, &resp);
  int64_t sent = 0;
  bool stream_ok = true, wrote = false;
  auto write = [&](std::vector<v1::Concept>* chunk, size_t start, size_t end) {
    v1::UploadConceptsRequest msg;
    msg.set_system(system);
    msg.set_version(version);
    msg.set_publish(publish);
    msg.mutable_concepts()->Reserve(static_cast<int>(end - start));
    for (size_t i = start; i < end; ++i) msg.add_concepts()->Swap(&(*chunk)[i]);
    wrote = true;
    stream_ok = writer->Write(msg);  // false: the server ended the stream; Finish says why
    sent += static_cast<int64_t>(end - start);
    if (progress) progress(sent, 0);
  };
  while (stream_ok) {
    std::vector<v1::Concept> chunk;
    {
      absl::MutexLock l(&mu);
      auto ready = [&] { return produced || !queue.empty(); };
      mu.Await(absl::Condition(&ready));
      if (queue.empty()) break;  // produced, and all sent
      chunk = std::move(queue.front());
      queue.pop_front();
    }
    for (size_t start = 0; start < chunk.size() && stream_ok; start += per) {
      write(&chunk, start, std::min(chunk.size(), start + per));
    }
  }
  {
    absl::MutexLock l(&mu);
    stop = true;  // a source still running stops at its next chunk
  }
  producer.join();
  if (!stream_ok) {  // the server ended the stream
    grpc::Status s = writer->Finish();
    return s.ok() ? absl::InternalError("the server ended the upload early") : FromGrpc(s);
  }
  if (!source_status.ok()) {
    // Nothing of a failed production may be stored: cancel the stream instead of ending it.
    ctx.TryCancel();
    (void)writer->Finish();
    return source_status;
  }
  // A stream carries at least one message, so that the server answers even an empty upload.
  if (!wrote) write(nullptr, 0, 0);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) return FromGrpc(s);
  if (progress) progress(sent, sent);
  return resp;
}

absl::StatusOr<v1::Release> Client::PublishRelease(const std::string& system,
                                                   const std::string& version) {
  v1::PublishReleaseRequest req;
  req.set_system(system);
  req.set_version(version);
  auto r = Call(admin_.get(), &v1::ReleaseAdmin::Stub::PublishRelease, req,
                After(options_.admin_deadline));
  if (!r.ok()) return r.status();
  return r->release();
}

absl::Status Client::DiscardRelease(const std::string& system, const std::string& version) {
  v1::DiscardReleaseRequest req;
  req.set_system(system);
  req.set_version(version);
  return Call(admin_.get(), &v1::ReleaseAdmin::Stub::DiscardRelease, req,
              After(options_.admin_deadline))
      .status();
}

absl::StatusOr<int64_t> Client::AddCodeLinks(const std::string& system,
                                             const std::vector<v1::CodeLink>& links) {
  v1::AddCodeLinksRequest req;
  req.set_system(system);
  for (const auto& l : links) *req.add_links() = l;
  auto r = Call(admin_.get(), &v1::ReleaseAdmin::Stub::AddCodeLinks, req,
                After(options_.admin_deadline));
  if (!r.ok()) return r.status();
  return r->stored();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read"));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const std::string& ca_file, const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key, and a key its "
                                      "certificate");
  }
  grpc::SslCredentialsOptions options;
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadWholeFile(ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (!cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadWholeFile(cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadWholeFile(key_file);
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(options);
}

absl::StatusOr<v1::CreateBackupResponse> Client::CreateBackup(const std::string& directory) {
  v1::CreateBackupRequest req;
  req.set_directory(directory);
  return Call(admin_.get(), &v1::ReleaseAdmin::Stub::CreateBackup, req,
              After(options_.admin_deadline));
}

absl::StatusOr<v1::CreateCodeSystemResponse> Client::CreateCodeSystem(
    const v1::CodeSystem& system) {
  v1::CreateCodeSystemRequest req;
  *req.mutable_system() = system;
  return Call(admin_.get(), &v1::ReleaseAdmin::Stub::CreateCodeSystem, req,
              After(options_.admin_deadline));
}

absl::StatusOr<v1::CreateValueSetResponse> Client::CreateValueSet(const v1::ValueSet& value_set) {
  v1::CreateValueSetRequest req;
  *req.mutable_value_set() = value_set;
  return Call(admin_.get(), &v1::ReleaseAdmin::Stub::CreateValueSet, req,
              After(options_.admin_deadline));
}

absl::StatusOr<v1::Release> Client::RetractRelease(const std::string& system,
                                                   const std::string& version,
                                                   const std::string& reason) {
  v1::RetractReleaseRequest req;
  req.set_system(system);
  req.set_version(version);
  req.set_reason(reason);
  auto r = Call(admin_.get(), &v1::ReleaseAdmin::Stub::RetractRelease, req,
                After(options_.admin_deadline));
  if (!r.ok()) return r.status();
  return r->release();
}

absl::Status Client::LookupStream(const std::string& system, const v1::ReleaseSelector& selector,
                                  const std::vector<std::string>& codes, int batch,
                                  const std::function<void(const v1::BatchLookupResponse&)>& answer,
                                  v1::ConceptView view) {
  if (batch < 1) return absl::InvalidArgumentError("a batch needs at least one code");
  grpc::ClientContext ctx;
  SetDeadline(&ctx, /*admin=*/true);
  std::unique_ptr<grpc::ClientReaderWriter<v1::BatchLookupRequest, v1::BatchLookupResponse>>
      stream = terminology_->LookupStream(&ctx);
  std::thread sender([&] {
    v1::BatchLookupRequest req;
    req.set_system(system);
    *req.mutable_selector() = selector;
    req.set_view(view);
    for (size_t start = 0; start < codes.size(); start += static_cast<size_t>(batch)) {
      req.clear_codes();
      const size_t end = std::min(codes.size(), start + static_cast<size_t>(batch));
      for (size_t i = start; i < end; ++i) req.add_codes(codes[i]);
      if (!stream->Write(req)) break;  // the server ended the stream; Finish says why
    }
    stream->WritesDone();
  });
  v1::BatchLookupResponse resp;
  while (stream->Read(&resp)) answer(resp);
  sender.join();
  grpc::Status s = stream->Finish();
  if (!s.ok()) return FromGrpc(s);
  return absl::OkStatus();
}

absl::StatusOr<v1::Release> Client::ImportReleaseFrom(const std::string& system,
                                                     const std::string& version,
                                                     const std::string& effective_date,
                                                     const std::string& description,
                                                     const ConceptSource& source, bool publish,
                                                     ProgressFn progress,
                                                     const std::string& resource_json) {
  absl::StatusOr<v1::Release> created =
      CreateRelease(system, version, effective_date, description, resource_json);
  if (!created.ok()) return created.status();
  auto discard_on_error = [&](absl::Status s) {
    absl::Status d = DiscardRelease(system, version);
    if (!d.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), " (and discarding the staged release ",
                                                 version, " failed: ", d.message(), ")"));
    }
    return s;
  };
  absl::StatusOr<v1::UploadConceptsResponse> uploaded =
      UploadFrom(system, version, source, 5000, publish, progress);
  if (!uploaded.ok()) return discard_on_error(uploaded.status());
  if (!publish || uploaded->release().state() == v1::RELEASE_STATE_PUBLISHED) {
    return uploaded->release();
  }
  absl::StatusOr<v1::Release> published = PublishRelease(system, version);
  if (!published.ok()) return discard_on_error(published.status());
  return published;
}

absl::StatusOr<v1::Release> Client::ImportRelease(const std::string& system,
                                                  const std::string& version,
                                                  const std::string& effective_date,
                                                  const std::string& description,
                                                  std::vector<v1::Concept> concepts,
                                                  bool publish, ProgressFn progress) {
  // One chunk, handed over at once; the upload cuts it into messages.
  const int64_t total = static_cast<int64_t>(concepts.size());
  return ImportReleaseFrom(system, version, effective_date, description, OneChunk(&concepts),
                           publish, WithTotal(std::move(progress), total));
}

}  // namespace codebook
