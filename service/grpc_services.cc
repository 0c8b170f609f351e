#include "service/grpc_services.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <deque>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/claims.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/search.h"
#include "service/value_sets.h"

namespace codebook::service {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

const std::string& InProcessForwardKey() {
  static const std::string* key = [] {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no randomness: no safe key
    return new std::string(absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes)));
  }();
  return *key;
}

namespace {

// The value of metadata `name` of a call forwarded with this process's key; "" otherwise.
std::string Forwarded(const grpc::ServerContextBase& ctx, const char* name) {
  const auto& metadata = ctx.client_metadata();
  auto key = metadata.find(kForwardKey);
  auto value = metadata.find(name);
  const std::string& ours = InProcessForwardKey();
  if (key == metadata.end() || value == metadata.end() || key->second.size() != ours.size() ||
      CRYPTO_memcmp(key->second.data(), ours.data(), ours.size()) != 0) {
    return "";
  }
  return std::string(value->second.data(), value->second.size());
}

struct Credentials {
  absl::string_view authorization;  // the "authorization" header, or empty
  std::string common_name;          // the client certificate's, or empty
};

Credentials CredentialsOf(const grpc::ServerContextBase& ctx) {
  Credentials c;
  const auto& metadata = ctx.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    c.authorization = absl::string_view(it->second.data(), it->second.size());
  }
  if (std::shared_ptr<const grpc::AuthContext> ac = ctx.auth_context()) {
    for (const grpc::string_ref& v : ac->FindPropertyValues("x509_common_name")) {
      c.common_name.assign(v.data(), v.size());
    }
  }
  if (c.common_name.empty()) c.common_name = Forwarded(ctx, kForwardedCommonName);
  return c;
}

// The "system" field of a request, or "" when it has none.
std::string SystemOf(const google::protobuf::Message& req) {
  const google::protobuf::FieldDescriptor* f = req.GetDescriptor()->FindFieldByName("system");
  if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      f->is_repeated()) {
    return "";
  }
  return req.GetReflection()->GetString(req, f);
}

}  // namespace

std::string PeerOf(const grpc::ServerContextBase& ctx) {
  std::string forwarded = Forwarded(ctx, kForwardedFor);
  return forwarded.empty() ? ctx.peer() : absl::StrCat("http:", forwarded);
}

absl::Status Authorize(const Authorizer* auth, const grpc::CallbackServerContext& ctx, Scope scope,
                       std::string* caller) {
  caller->clear();
  if (auth == nullptr) return absl::OkStatus();
  Credentials c = CredentialsOf(ctx);
  return auth->Allow(c.authorization, c.common_name, scope, caller);
}

absl::StatusOr<StreamLimit::Slot> StreamLimit::Acquire() {
  int open = open_.fetch_add(1);
  if (open >= max_) {
    open_.fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat(open, " streams are open on this server, its limit (--max_streams=", max_,
                     "); retry later or use unary calls"));
  }
  return Slot(this);
}

std::string CallerName(const Authorizer* auth, const grpc::ServerContextBase& ctx) {
  if (auth == nullptr) return "-";
  Credentials c = CredentialsOf(ctx);
  return auth->NameOf(c.authorization, c.common_name);
}

bool CallerLacksScope(const Authorizer& auth, const grpc::CallbackServerContext& ctx,
                      absl::string_view scope) {
  if (scope.empty()) return false;
  Credentials c = CredentialsOf(ctx);
  return !auth.HasScope(c.authorization, c.common_name, scope);
}

namespace {

// Authorizes a stream (scope) and takes one of the server's stream slots.
absl::Status OpenStream(const Authorizer* auth, const grpc::CallbackServerContext& ctx, Scope scope,
                        StreamLimit* streams, StreamLimit::Slot* slot,
                        std::string* caller_out = nullptr) {
  std::string caller;
  if (absl::Status s = Authorize(auth, ctx, scope, &caller); !s.ok()) return s;
  if (caller_out != nullptr) *caller_out = caller;
  if (streams == nullptr) return absl::OkStatus();
  absl::StatusOr<StreamLimit::Slot> acquired = streams->Acquire();
  if (!acquired.ok()) return acquired.status();
  *slot = *std::move(acquired);
  return absl::OkStatus();
}

// Authorizes, then runs a domain call inline and finishes the unary rpc with its status.
template <typename Impl, typename Req, typename Resp>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const Authorizer* auth,
                                Scope scope, const Impl* impl,
                                absl::Status (Impl::*method)(const Req&, Resp*) const,
                                const Req* req, Resp* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string caller;
  absl::Status s = Authorize(auth, *ctx, scope, &caller);
  if (s.ok()) s = (impl->*method)(*req, resp);
  // Licensed text only for callers with the system's licence scope.
  if (s.ok() && MustWithholdText(auth, *ctx, *impl, SystemOf(*req))) {
    WithholdText(resp);
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

// A streaming call refused before it starts (e.g. not authorized): finishes at once.
template <typename Reactor>
class Refused final : public Reactor {
 public:
  explicit Refused(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

// The server's line for a release published (by PublishRelease or an upload stream).
void LogPublished(const v1::Release& r, absl::Duration took, const std::string& caller) {
  const v1::ReleaseCounts& c = r.counts();
  std::cerr << "codebookd: published " << r.system() << " " << r.version() << " (effective "
            << r.effective_date() << ") as sequence " << r.sequence() << ": " << c.total()
            << " concepts, " << c.added() << " added, " << c.deleted() << " deleted, "
            << c.changed() << " changed, " << r.checksum() << " in " << absl::FormatDuration(took)
            << (caller.empty() ? "" : " by " + caller) << std::endl;
}

// Feeds an upload stream to the domain message by message, and commits it only when the client
// ends the stream normally, so that a stream is stored entirely or not at all. A cancelled or
// failed stream stores nothing.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadConceptsRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* ctx, const ReleaseAdminImpl* impl,
                v1::UploadConceptsResponse* resp, StreamLimit::Slot slot, std::string caller)
      : ctx_(ctx),
        upload_(impl->StartUpload()),
        resp_(resp),
        start_(absl::Now()),
        slot_(std::move(slot)),
        caller_(std::move(caller)) {
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
    if (s.ok() && resp_->release().state() == v1::RELEASE_STATE_PUBLISHED) {
      LogPublished(resp_->release(), absl::Now() - start_, caller_);
    } else if (s.ok()) {
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
  StreamLimit::Slot slot_;
  std::string caller_;
};

// Writes the messages of an answer computed up front, one after the other.
template <typename Resp>
class ListWriter final : public grpc::ServerWriteReactor<Resp> {
 public:
  // Finishes with `status` at once when it is not OK.
  ListWriter(absl::Status status, std::vector<Resp> messages, StreamLimit::Slot slot = {})
      : messages_(std::move(messages)), slot_(std::move(slot)) {
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
  StreamLimit::Slot slot_;
};

// The read streams whose answer the domain computes up front (Export, Diff): authorizes, takes
// a stream slot, runs the domain call, withholds licensed text when the caller lacks the
// licence, and writes the messages out; the counterpart of Unary for those streams.
template <typename Req, typename Resp>
grpc::ServerWriteReactor<Resp>* ListStream(
    grpc::CallbackServerContext* ctx, const Authorizer* auth, StreamLimit* streams,
    const TerminologyImpl* impl,
    absl::Status (TerminologyImpl::*method)(const Req&, std::vector<Resp>*) const, const Req* req) {
  std::vector<Resp> messages;
  StreamLimit::Slot slot;
  absl::Status s = OpenStream(auth, *ctx, Scope::kRead, streams, &slot);
  if (s.ok()) s = (impl->*method)(*req, &messages);
  if (s.ok() && MustWithholdText(auth, *ctx, *impl, req->system())) {
    for (auto& m : messages) WithholdText(&m);
  }
  return new ListWriter<Resp>(s, std::move(messages), std::move(slot));
}

}  // namespace

TerminologyHandler::TerminologyHandler(const TerminologyImpl* impl, const Authorizer* auth,
                                       StreamLimit* streams)
    : impl_(impl), auth_(auth), streams_(streams) {
  SetMessageAllocatorFor_ListCodeSystems(&list_systems_);
  SetMessageAllocatorFor_ListReleases(&list_releases_);
  SetMessageAllocatorFor_GetRelease(&get_release_);
  SetMessageAllocatorFor_Lookup(&lookup_);
  SetMessageAllocatorFor_BatchLookup(&batch_lookup_);
  SetMessageAllocatorFor_ValidateCode(&validate_);
  SetMessageAllocatorFor_Ping(&ping_);
  SetMessageAllocatorFor_GetCodeHistory(&history_);
  SetMessageAllocatorFor_Search(&search_);
  SetMessageAllocatorFor_ValidateClaim(&claim_);
}

grpc::ServerUnaryReactor* TerminologyHandler::ListCodeSystems(grpc::CallbackServerContext* ctx,
                                                              const v1::ListCodeSystemsRequest* req,
                                                              v1::ListCodeSystemsResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::ListCodeSystems, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::ListReleases(grpc::CallbackServerContext* ctx,
                                                           const v1::ListReleasesRequest* req,
                                                           v1::ListReleasesResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::ListReleases, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::GetRelease(grpc::CallbackServerContext* ctx,
                                                         const v1::GetReleaseRequest* req,
                                                         v1::GetReleaseResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::GetRelease, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::Lookup(grpc::CallbackServerContext* ctx,
                                                     const v1::LookupRequest* req,
                                                     v1::LookupResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::Lookup, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::BatchLookup(grpc::CallbackServerContext* ctx,
                                                          const v1::BatchLookupRequest* req,
                                                          v1::BatchLookupResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::BatchLookup, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::ValidateCode(grpc::CallbackServerContext* ctx,
                                                           const v1::ValidateCodeRequest* req,
                                                           v1::ValidateCodeResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::ValidateCode, req, resp);
}
grpc::ServerUnaryReactor* TerminologyHandler::Ping(grpc::CallbackServerContext* ctx,
                                                   const v1::PingRequest* req,
                                                   v1::PingResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::Ping, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::Search(grpc::CallbackServerContext* ctx,
                                                     const v1::SearchRequest* req,
                                                     v1::SearchResponse* resp) {
  // Searching licensed text would reveal it: without the licence, only code queries.
  if (MustWithholdText(auth_, *ctx, *impl_, req->system())) {
    const CodeSystemInfo& info = **impl_->System(req->system());
    if (!IsCodeQuery(info.format, req->query())) {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(ToGrpcStatus(absl::PermissionDeniedError(
          absl::StrCat("searching ", info.id, " text needs the ", info.license_scope,
                       " scope; without it, search by code"))));
      return reactor;
    }
  }
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::Search, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::GetAncestors(grpc::CallbackServerContext* ctx,
                                                           const v1::GetAncestorsRequest* req,
                                                           v1::GetAncestorsResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::GetAncestors, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::GetChildren(grpc::CallbackServerContext* ctx,
                                                          const v1::GetChildrenRequest* req,
                                                          v1::GetChildrenResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::GetChildren, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::Subsumes(grpc::CallbackServerContext* ctx,
                                                       const v1::SubsumesRequest* req,
                                                       v1::SubsumesResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::Subsumes, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::ListValueSets(grpc::CallbackServerContext* ctx,
                                                            const v1::ListValueSetsRequest* req,
                                                            v1::ListValueSetsResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::ListValueSets, req, resp);
}

grpc::ServerUnaryReactor* TerminologyHandler::ExpandValueSet(grpc::CallbackServerContext* ctx,
                                                             const v1::ExpandValueSetRequest* req,
                                                             v1::ExpandValueSetResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string caller;
  absl::Status s = Authorize(auth_, *ctx, Scope::kRead, &caller);
  if (s.ok()) s = impl_->ExpandValueSet(*req, resp);
  if (s.ok()) {
    s = RefuseLicensedTextMatch(*req, resp, [&](const std::string& system) {
      return MustWithholdText(auth_, *ctx, *impl_, system) ? impl_->LicenseScope(system)
                                                           : std::string();
    });
  }
  if (s.ok()) {
    for (v1::ExpansionEntry& e : *resp->mutable_concepts()) {
      if (MustWithholdText(auth_, *ctx, *impl_, e.system())) WithholdText(e.mutable_concept());
    }
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerUnaryReactor* TerminologyHandler::DiffValueSet(grpc::CallbackServerContext* ctx,
                                                           const v1::DiffValueSetRequest* req,
                                                           v1::DiffValueSetResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string caller;
  absl::Status s = Authorize(auth_, *ctx, Scope::kRead, &caller);
  if (s.ok()) s = impl_->DiffValueSet(*req, resp);
  if (s.ok()) {
    for (v1::ValueSetChange& c : *resp->mutable_changes()) {
      if (MustWithholdText(auth_, *ctx, *impl_, c.system())) WithholdText(&c);
    }
  }
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerUnaryReactor* TerminologyHandler::ValidateClaim(grpc::CallbackServerContext* ctx,
                                                            const v1::ValidateClaimRequest* req,
                                                            v1::ValidateClaimResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::ValidateClaim, req, resp);
}

namespace {

// One ValidateClaimStream: reads a line, checks it, writes its result, reads the next. A fresh
// CodeChecker (and so a fresh read view) every kRefresh lines lets a long stream see releases
// published while it runs.
class ClaimStreamReactor final
    : public grpc::ServerBidiReactor<v1::ClaimLine, v1::ClaimLineResult> {
 public:
  ClaimStreamReactor(const TerminologyImpl* impl, StreamLimit::Slot slot)
      : impl_(impl), slot_(std::move(slot)) {
    StartRead(&line_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // the client finished sending (or went away)
      return;
    }
    if (!checker_ || index_ % kRefresh == 0) {
      checker_ =
          std::make_unique<CodeChecker>(impl_->store(), impl_->Today(), impl_->tabular_cache());
    }
    result_.Clear();
    absl::Status s = checker_->CheckLine(line_, index_++, checker_->today(), &result_);
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    StartWrite(&result_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    line_.Clear();
    StartRead(&line_);
  }

  void OnDone() override { delete this; }

 private:
  static constexpr int kRefresh = 1000;
  const TerminologyImpl* impl_;
  std::unique_ptr<CodeChecker> checker_;
  v1::ClaimLine line_;
  v1::ClaimLineResult result_;
  int index_ = 0;
  StreamLimit::Slot slot_;
};

}  // namespace

grpc::ServerBidiReactor<v1::ClaimLine, v1::ClaimLineResult>*
TerminologyHandler::ValidateClaimStream(grpc::CallbackServerContext* ctx) {
  StreamLimit::Slot slot;
  if (absl::Status s = OpenStream(auth_, *ctx, Scope::kRead, streams_, &slot); !s.ok()) {
    return new Refused<grpc::ServerBidiReactor<v1::ClaimLine, v1::ClaimLineResult>>(s);
  }
  return new ClaimStreamReactor(impl_, std::move(slot));
}

namespace {

// One LookupStream: answers each batch as BatchLookup, in the order read. The next batch is read
// while the answer to the last is written, with at most kAhead answers waiting, so a client that
// keeps sending keeps both the server's reads and its writes busy. Reads and writes complete on
// gRPC's threads, possibly at once: the state is under mu_, and operations are started outside it.
class LookupStreamReactor final
    : public grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse> {
 public:
  LookupStreamReactor(grpc::CallbackServerContext* ctx, const TerminologyImpl* impl,
                      const Authorizer* auth, StreamLimit::Slot slot)
      : ctx_(ctx), impl_(impl), auth_(auth), slot_(std::move(slot)) {
    reading_ = true;
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    auto answer = std::make_unique<Answer>();
    absl::Status s;
    if (ok) {
      s = impl_->BatchLookup(req_, answer->resp);
      if (s.ok() && MustWithholdText(auth_, *ctx_, *impl_, req_.system())) {
        WithholdText(answer->resp);
      }
    }
    Actions next;
    {
      absl::MutexLock l(&mu_);
      reading_ = false;
      if (!ok || !s.ok()) {
        reads_done_ = true;  // the client finished sending, or a bad batch ends the stream
        status_ = s;
      } else {
        pending_.push_back(std::move(answer));
      }
      next = NextLocked();
    }
    Run(next);
  }

  void OnWriteDone(bool ok) override {
    Actions next;
    {
      absl::MutexLock l(&mu_);
      writing_ = false;
      pending_.pop_front();
      if (!ok) {
        // The client went away: end now, reading nothing more.
        reads_done_ = true;
        pending_.clear();
        status_ = absl::CancelledError("the client went away");
      }
      next = NextLocked();
    }
    Run(next);
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kAhead = 2;
  // One batch's answer, on an arena of its own as BatchLookup's (ArenaMessageAllocator): a
  // thousand concepts are a few blocks to allocate and free, not thousands of strings.
  struct Answer {
    google::protobuf::Arena arena{ResponseArenaOptions(64 << 10)};
    v1::BatchLookupResponse* resp =
        google::protobuf::Arena::CreateMessage<v1::BatchLookupResponse>(&arena);
  };
  struct Actions {
    const v1::BatchLookupResponse* write = nullptr;
    bool read = false;
    bool finish = false;
  };

  // What to start next, given the state.
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions a;
    if (finished_) return a;
    if (!writing_ && !pending_.empty()) {
      writing_ = true;
      a.write = pending_.front()->resp;
    }
    if (!reading_ && !reads_done_ && pending_.size() < kAhead) {
      reading_ = true;
      a.read = true;
    }
    if (reads_done_ && !reading_ && !writing_ && pending_.empty()) {
      finished_ = true;
      a.finish = true;
    }
    return a;
  }

  void Run(const Actions& a) {
    if (a.write != nullptr) StartWrite(a.write);
    if (a.read) {
      req_.Clear();  // no read is under way: req_ is this thread's
      StartRead(&req_);
    }
    if (a.finish) Finish(ToGrpcStatus(status_));
  }

  grpc::CallbackServerContext* ctx_;
  const TerminologyImpl* impl_;
  const Authorizer* auth_;
  StreamLimit::Slot slot_;
  v1::BatchLookupRequest req_;  // touched only by the one read under way
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Answer>> pending_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>*
TerminologyHandler::LookupStream(grpc::CallbackServerContext* ctx) {
  StreamLimit::Slot slot;
  if (absl::Status s = OpenStream(auth_, *ctx, Scope::kRead, streams_, &slot); !s.ok()) {
    return new Refused<grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>>(s);
  }
  return new LookupStreamReactor(ctx, impl_, auth_, std::move(slot));
}

grpc::ServerUnaryReactor* TerminologyHandler::GetCodeHistory(grpc::CallbackServerContext* ctx,
                                                             const v1::GetCodeHistoryRequest* req,
                                                             v1::GetCodeHistoryResponse* resp) {
  return Unary(ctx, auth_, Scope::kRead, impl_, &TerminologyImpl::GetCodeHistory, req, resp);
}

// One WatchReleases stream: sends the backlog, then every new event of its system.
//
// The handler keeps a WatchState per stream (shared with the reactor) rather than the reactor
// itself, so that waking a stream never races with its end: the reactor is only used under
// state->mu, and OnDone clears state->reactor under that mutex before the reactor is deleted.
// The state is registered before the first read of the log, so no event falls between the
// backlog and the live feed.
struct TerminologyHandler::WatchState {
  explicit WatchState(std::string s, std::string vs = "")
      : system(std::move(s)), value_set(std::move(vs)) {}
  const std::string system;     // a system's watch
  const std::string value_set;  // or a value set's ("url" or "url|version")
  absl::Mutex mu;
  WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  // A value set's watch: the systems it follows (set by the first poll, then fixed).
  std::set<std::string> systems ABSL_GUARDED_BY(mu);
  bool Follows(const std::string& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return value_set.empty() ? s == system : systems.count(s) > 0;
  }
};

class TerminologyHandler::WatchReactor final : public grpc::ServerWriteReactor<v1::ReleaseEvent> {
 public:
  // `ctx` outlives the reactor's polls (until OnDone).
  WatchReactor(TerminologyHandler* handler, grpc::CallbackServerContext* ctx,
               std::shared_ptr<WatchState> state, int64_t after, StreamLimit::Slot slot)
      : handler_(handler),
        ctx_(ctx),
        state_(std::move(state)),
        slot_(std::move(slot)),
        last_queued_(after) {}

  // Reads every event after the last one queued and writes them out.
  void PollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (finished_) return;
    if (!state_->value_set.empty()) {
      std::vector<v1::ReleaseEvent> events;
      absl::Status s = handler_->impl_->ValueSetEvents(
          state_->value_set, &cursors_, state_->systems.empty() && !polled_, &events);
      polled_ = true;
      if (!s.ok()) {
        FinishLocked(ToGrpcStatus(s));
        return;
      }
      for (const auto& [system, cursor] : cursors_) state_->systems.insert(system);
      for (auto& e : events) {
        for (v1::ValueSetChange& c : *e.mutable_value_set()->mutable_changes()) {
          if (MustWithholdText(handler_->auth_, *ctx_, *handler_->impl_, c.system())) {
            WithholdText(&c);
          }
        }
        queue_.push_back(std::move(e));
      }
      WriteNextLocked();
      return;
    }
    constexpr size_t kPage = 1000;
    std::vector<v1::ReleaseEvent> events;
    do {
      absl::Status s = handler_->impl_->ReleaseEvents(state_->system, last_queued_, kPage, &events);
      if (!s.ok()) {
        FinishLocked(ToGrpcStatus(s));
        return;
      }
      for (auto& e : events) {
        last_queued_ = e.sequence();
        queue_.push_back(std::move(e));
      }
    } while (events.size() == kPage);
    WriteNextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&state_->mu);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock l(&state_->mu);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    {
      absl::MutexLock l(&handler_->watch_mu_);
      handler_->watchers_.erase(state_);
    }
    {
      absl::MutexLock l(&state_->mu);
      state_->reactor = nullptr;
    }
    delete this;
  }

 private:
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&current_);
  }
  void FinishLocked(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (finished_) return;
    finished_ = true;
    Finish(s);
  }

  TerminologyHandler* handler_;
  grpc::CallbackServerContext* ctx_;
  std::shared_ptr<WatchState> state_;
  StreamLimit::Slot slot_;
  // Guarded by state_->mu.
  int64_t last_queued_;
  std::map<std::string, int64_t> cursors_;  // a value set's watch: per system
  bool polled_ = false;
  std::deque<v1::ReleaseEvent> queue_;
  v1::ReleaseEvent current_;
  bool writing_ = false;
  bool finished_ = false;
};

grpc::ServerWriteReactor<v1::ReleaseEvent>* TerminologyHandler::WatchReleases(
    grpc::CallbackServerContext* ctx, const v1::WatchReleasesRequest* req) {
  StreamLimit::Slot slot;
  if (absl::Status s = OpenStream(auth_, *ctx, Scope::kRead, streams_, &slot); !s.ok()) {
    return new ListWriter<v1::ReleaseEvent>(s, {});
  }
  if (!req->value_set().empty() && (!req->system().empty() || req->after_sequence() != 0)) {
    return new ListWriter<v1::ReleaseEvent>(
        absl::InvalidArgumentError(
            "a value set's watch takes no system or after_sequence: it follows the systems the "
            "value set reads, from now on"),
        {});
  }
  auto state = std::make_shared<WatchState>(req->system(), req->value_set());
  auto* reactor = new WatchReactor(this, ctx, state, req->after_sequence(), std::move(slot));
  {
    absl::MutexLock l(&state->mu);
    state->reactor = reactor;
  }
  {
    absl::MutexLock l(&watch_mu_);
    watchers_.insert(state);
  }
  absl::MutexLock l(&state->mu);
  reactor->PollLocked();  // the backlog (or the error, for an unknown system)
  return reactor;
}

void TerminologyHandler::NotifyReleaseEvent(const std::string& system) {
  std::vector<std::shared_ptr<WatchState>> states;
  {
    absl::MutexLock l(&watch_mu_);
    for (const auto& s : watchers_) states.push_back(s);
  }
  for (const auto& s : states) {
    absl::MutexLock l(&s->mu);
    if (s->reactor != nullptr && s->Follows(system)) s->reactor->PollLocked();
  }
}

grpc::ServerWriteReactor<v1::ExportReleaseResponse>* TerminologyHandler::ExportRelease(
    grpc::CallbackServerContext* ctx, const v1::ExportReleaseRequest* req) {
  return ListStream(ctx, auth_, streams_, impl_, &TerminologyImpl::ExportRelease, req);
}

grpc::ServerWriteReactor<v1::DiffReleasesResponse>* TerminologyHandler::DiffReleases(
    grpc::CallbackServerContext* ctx, const v1::DiffReleasesRequest* req) {
  return ListStream(ctx, auth_, streams_, impl_, &TerminologyImpl::DiffReleases, req);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::CreateRelease(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateReleaseRequest* req,
                                                             v1::CreateReleaseResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::CreateRelease, req, resp);
}
grpc::ServerReadReactor<v1::UploadConceptsRequest>* ReleaseAdminHandler::UploadConcepts(
    grpc::CallbackServerContext* ctx, v1::UploadConceptsResponse* resp) {
  StreamLimit::Slot slot;
  std::string caller;
  if (absl::Status s = OpenStream(auth_, *ctx, Scope::kAdmin, streams_, &slot, &caller); !s.ok()) {
    return new Refused<grpc::ServerReadReactor<v1::UploadConceptsRequest>>(s);
  }
  return new UploadReactor(ctx, impl_, resp, std::move(slot), std::move(caller));
}
grpc::ServerUnaryReactor* ReleaseAdminHandler::PublishRelease(grpc::CallbackServerContext* ctx,
                                                              const v1::PublishReleaseRequest* req,
                                                              v1::PublishReleaseResponse* resp) {
  absl::Time start = absl::Now();
  std::string caller;
  absl::Status s = Authorize(auth_, *ctx, Scope::kAdmin, &caller);
  if (s.ok()) s = impl_->PublishRelease(*req, resp);
  if (s.ok()) LogPublished(resp->release(), absl::Now() - start, caller);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}
grpc::ServerUnaryReactor* ReleaseAdminHandler::DiscardRelease(grpc::CallbackServerContext* ctx,
                                                              const v1::DiscardReleaseRequest* req,
                                                              v1::DiscardReleaseResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::DiscardRelease, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::RetractRelease(grpc::CallbackServerContext* ctx,
                                                              const v1::RetractReleaseRequest* req,
                                                              v1::RetractReleaseResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::RetractRelease, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::AddCodeLinks(grpc::CallbackServerContext* ctx,
                                                            const v1::AddCodeLinksRequest* req,
                                                            v1::AddCodeLinksResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::AddCodeLinks, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::CreateCodeSystem(
    grpc::CallbackServerContext* ctx, const v1::CreateCodeSystemRequest* req,
    v1::CreateCodeSystemResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::CreateCodeSystem, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::CreateValueSet(grpc::CallbackServerContext* ctx,
                                                              const v1::CreateValueSetRequest* req,
                                                              v1::CreateValueSetResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::CreateValueSet, req, resp);
}

grpc::ServerUnaryReactor* ReleaseAdminHandler::CreateBackup(grpc::CallbackServerContext* ctx,
                                                            const v1::CreateBackupRequest* req,
                                                            v1::CreateBackupResponse* resp) {
  return Unary(ctx, auth_, Scope::kAdmin, impl_, &ReleaseAdminImpl::CreateBackup, req, resp);
}

}  // namespace codebook::service
