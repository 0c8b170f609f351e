// gRPC handlers for Terminology and ReleaseAdmin, on gRPC's callback API.
//
// Handlers are thin: check what only the transport can check, call the *Impl domain object,
// convert its absl::Status once (ToGrpcStatus). They do not own the domain objects, which must
// outlive the server.
#ifndef CODEBOOK_SERVICE_GRPC_SERVICES_H_
#define CODEBOOK_SERVICE_GRPC_SERVICES_H_

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/message_allocator.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "codebook/v1/release_admin.grpc.pb.h"
#include "codebook/v1/terminology.grpc.pb.h"
#include "service/auth.h"
#include "service/release_admin_impl.h"
#include "service/terminology_impl.h"

namespace codebook::service {

// The one place where internal status becomes gRPC status (codes map one to one).
grpc::Status ToGrpcStatus(const absl::Status& s);
// A call made inside this process for an HTTP client (server/json_api.h) carries that client's
// certificate common name in the metadata kForwardedCommonName, with kForwardKey set to
// InProcessForwardKey(): 64 random hex digits made once per process that never leave it (not
// logged, not sent). The name is believed only with the key, so no caller from outside the
// process can claim a certificate it did not present.
// The HTTP client's address ("ADDRESS:PORT") goes likewise in kForwardedFor, for the access log.
inline constexpr char kForwardedCommonName[] = "codebook-forwarded-cn";
inline constexpr char kForwardedFor[] = "codebook-forwarded-for";
inline constexpr char kForwardKey[] = "codebook-forward-key";
const std::string& InProcessForwardKey();

// Who sent the call of `ctx`, for the access log: gRPC's peer ("ipv4:127.0.0.1:52044"), or for
// a call forwarded from the HTTP port with the key, "http:" and the HTTP client's address.
std::string PeerOf(const grpc::ServerContextBase& ctx);

// Whether the call of `ctx` may proceed under `auth` (null: always), from its "authorization"
// header and its client certificate (or the one forwarded, above); *caller names the caller
// when known.
absl::Status Authorize(const Authorizer* auth, const grpc::CallbackServerContext& ctx, Scope scope,
                       std::string* caller);
// The caller of a call for the access log: "-" without `auth`, else Authorizer::NameOf.
std::string CallerName(const Authorizer* auth, const grpc::ServerContextBase& ctx);
// Whether answers about `system` must leave out its text for this caller: the system is
// licensed (`impl`'s LicenseScope, its CodeSystemInfo::license_scope) and the caller lacks that
// scope. False without `auth` (no tokens file: no licences enforced), without asking `impl`.
bool CallerLacksScope(const Authorizer& auth, const grpc::CallbackServerContext& ctx,
                      absl::string_view scope);
template <typename Impl>
bool MustWithholdText(const Authorizer* auth, const grpc::CallbackServerContext& ctx,
                      const Impl& impl, absl::string_view system) {
  return auth != nullptr && CallerLacksScope(*auth, ctx, impl.LicenseScope(system));
}

// Bounds how many streams (WatchReleases, ExportRelease, DiffReleases, ValidateClaimStream,
// LookupStream,
// UploadConcepts) are open at once on a server: each holds a Slot from its start to its end,
// and a stream past the limit is refused with RESOURCE_EXHAUSTED. Thread-safe.
class StreamLimit {
 public:
  explicit StreamLimit(int max) : max_(max) {}
  // Holds one slot until destroyed (empty when default-made or moved from).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : limit_(o.limit_) { o.limit_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      std::swap(limit_, o.limit_);
      return *this;
    }
    ~Slot() {
      if (limit_ != nullptr) limit_->open_.fetch_sub(1);
    }

   private:
    friend class StreamLimit;
    explicit Slot(StreamLimit* limit) : limit_(limit) {}
    StreamLimit* limit_ = nullptr;
  };
  // A slot, or RESOURCE_EXHAUSTED naming the limit when `max` streams are open.
  absl::StatusOr<Slot> Acquire();
  int open() const { return open_.load(); }

 private:
  const int max_;
  std::atomic<int> open_{0};
};

// The arena of one answer: a first block of `start` bytes, then blocks growing up to 1 MiB, so a
// batch answer of a few hundred KB takes a few blocks, not the dozens that the default 8 KiB cap
// would allocate.
inline google::protobuf::ArenaOptions ResponseArenaOptions(size_t start) {
  google::protobuf::ArenaOptions o;
  o.start_block_size = start;
  o.max_block_size = 1 << 20;
  return o;
}

// Allocates the request and response of each call in one protobuf Arena, freed in one go when
// the call ends: far fewer mallocs for answers with many strings. Thread-safe.
template <typename Req, typename Resp>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Req, Resp> {
 public:
  grpc::MessageHolder<Req, Resp>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Req, Resp> {
   public:
    Holder() : arena_(Options()) {
      this->set_request(google::protobuf::Arena::CreateMessage<Req>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Resp>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options() { return ResponseArenaOptions(4096); }
    google::protobuf::Arena arena_;
  };
};

class TerminologyHandler final : public v1::Terminology::CallbackService {
 public:
  // Every unary method gets the arena allocator, the trivial Ping included, so that the
  // benchmark's empty-call ceiling is measured the same way.
  // `auth` (may be null: every call allowed) decides who may read.
  // `streams` (may be null: no limit) bounds the streams open at once.
  explicit TerminologyHandler(const TerminologyImpl* impl, const Authorizer* auth = nullptr,
                              StreamLimit* streams = nullptr);

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
  grpc::ServerUnaryReactor* GetCodeHistory(grpc::CallbackServerContext* ctx,
                                           const v1::GetCodeHistoryRequest* req,
                                           v1::GetCodeHistoryResponse* resp) override;
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* ctx, const v1::SearchRequest* req,
                                   v1::SearchResponse* resp) override;
  grpc::ServerUnaryReactor* GetAncestors(grpc::CallbackServerContext* ctx,
                                         const v1::GetAncestorsRequest* req,
                                         v1::GetAncestorsResponse* resp) override;
  grpc::ServerUnaryReactor* GetChildren(grpc::CallbackServerContext* ctx,
                                        const v1::GetChildrenRequest* req,
                                        v1::GetChildrenResponse* resp) override;
  grpc::ServerUnaryReactor* Subsumes(grpc::CallbackServerContext* ctx,
                                     const v1::SubsumesRequest* req,
                                     v1::SubsumesResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateClaim(grpc::CallbackServerContext* ctx,
                                          const v1::ValidateClaimRequest* req,
                                          v1::ValidateClaimResponse* resp) override;
  grpc::ServerBidiReactor<v1::ClaimLine, v1::ClaimLineResult>* ValidateClaimStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ListValueSets(grpc::CallbackServerContext* ctx,
                                          const v1::ListValueSetsRequest* req,
                                          v1::ListValueSetsResponse* resp) override;
  // Each concept's text is withheld by its own system's licence scope.
  grpc::ServerUnaryReactor* ExpandValueSet(grpc::CallbackServerContext* ctx,
                                           const v1::ExpandValueSetRequest* req,
                                           v1::ExpandValueSetResponse* resp) override;
  // Each concept's text is withheld by its own system's licence scope.
  grpc::ServerUnaryReactor* DiffValueSet(grpc::CallbackServerContext* ctx,
                                         const v1::DiffValueSetRequest* req,
                                         v1::DiffValueSetResponse* resp) override;
  grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>* LookupStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerWriteReactor<v1::ReleaseEvent>* WatchReleases(
      grpc::CallbackServerContext* ctx, const v1::WatchReleasesRequest* req) override;
  // Wakes the open WatchReleases streams of `system`; the store's event listener calls it.
  void NotifyReleaseEvent(const std::string& system);
  grpc::ServerWriteReactor<v1::ExportReleaseResponse>* ExportRelease(
      grpc::CallbackServerContext* ctx, const v1::ExportReleaseRequest* req) override;
  grpc::ServerWriteReactor<v1::DiffReleasesResponse>* DiffReleases(
      grpc::CallbackServerContext* ctx, const v1::DiffReleasesRequest* req) override;

 private:
  struct WatchState;
  class WatchReactor;
  const TerminologyImpl* impl_;
  const Authorizer* auth_;
  StreamLimit* streams_;
  absl::Mutex watch_mu_;
  std::set<std::shared_ptr<WatchState>> watchers_ ABSL_GUARDED_BY(watch_mu_);
  ArenaMessageAllocator<v1::ListCodeSystemsRequest, v1::ListCodeSystemsResponse> list_systems_;
  ArenaMessageAllocator<v1::ListReleasesRequest, v1::ListReleasesResponse> list_releases_;
  ArenaMessageAllocator<v1::GetReleaseRequest, v1::GetReleaseResponse> get_release_;
  ArenaMessageAllocator<v1::LookupRequest, v1::LookupResponse> lookup_;
  ArenaMessageAllocator<v1::BatchLookupRequest, v1::BatchLookupResponse> batch_lookup_;
  ArenaMessageAllocator<v1::ValidateCodeRequest, v1::ValidateCodeResponse> validate_;
  ArenaMessageAllocator<v1::PingRequest, v1::PingResponse> ping_;
  ArenaMessageAllocator<v1::GetCodeHistoryRequest, v1::GetCodeHistoryResponse> history_;
  ArenaMessageAllocator<v1::SearchRequest, v1::SearchResponse> search_;
  ArenaMessageAllocator<v1::ValidateClaimRequest, v1::ValidateClaimResponse> claim_;
};

class ReleaseAdminHandler final : public v1::ReleaseAdmin::CallbackService {
 public:
  // `auth` (may be null: every call allowed) decides who may make admin calls.
  explicit ReleaseAdminHandler(const ReleaseAdminImpl* impl, const Authorizer* auth = nullptr,
                               StreamLimit* streams = nullptr)
      : impl_(impl), auth_(auth), streams_(streams) {}

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
  grpc::ServerUnaryReactor* RetractRelease(grpc::CallbackServerContext* ctx,
                                           const v1::RetractReleaseRequest* req,
                                           v1::RetractReleaseResponse* resp) override;
  grpc::ServerUnaryReactor* AddCodeLinks(grpc::CallbackServerContext* ctx,
                                         const v1::AddCodeLinksRequest* req,
                                         v1::AddCodeLinksResponse* resp) override;
  grpc::ServerUnaryReactor* CreateBackup(grpc::CallbackServerContext* ctx,
                                         const v1::CreateBackupRequest* req,
                                         v1::CreateBackupResponse* resp) override;
  grpc::ServerUnaryReactor* CreateCodeSystem(grpc::CallbackServerContext* ctx,
                                             const v1::CreateCodeSystemRequest* req,
                                             v1::CreateCodeSystemResponse* resp) override;
  grpc::ServerUnaryReactor* CreateValueSet(grpc::CallbackServerContext* ctx,
                                           const v1::CreateValueSetRequest* req,
                                           v1::CreateValueSetResponse* resp) override;

 private:
  const ReleaseAdminImpl* impl_;
  const Authorizer* auth_;
  StreamLimit* streams_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_GRPC_SERVICES_H_
