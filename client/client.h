// codebook::Client: the C++ SDK for a Codebook server.
//
// Wraps the generated stubs with absl::StatusOr results, a default deadline on every call, and
// convenience for the common flows (selectors, uploading a whole release in chunks). Errors keep
// the server's status code and message ("ICD10CM has no release FY2019"); a server that cannot
// be reached gives UNAVAILABLE or DEADLINE_EXCEEDED.
//
// Thread-safe: one Client (one channel) may serve many threads at once. Depends only on the
// generated API.
#ifndef CODEBOOK_CLIENT_CLIENT_H_
#define CODEBOOK_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "codebook/v1/release_admin.grpc.pb.h"
#include "codebook/v1/terminology.grpc.pb.h"

namespace codebook {

struct ClientOptions {
  // "host:port" of the server.
  std::string target = "127.0.0.1:50051";
  // Deadline of each read call.
  absl::Duration deadline = absl::Seconds(10);
  // Deadline of each admin call (uploads and publishes of large releases take longer).
  absl::Duration admin_deadline = absl::Minutes(5);
  // Largest message sent or received.
  int max_message_bytes = 64 << 20;
  // HTTP/2 receive window per call: a large one lets a batch answer of hundreds of KB arrive
  // without waiting for window updates. 0 keeps gRPC's default.
  int stream_window_bytes = 4 << 20;
  // Sent as "authorization: Bearer <token>" with every call when not empty (servers started
  // with --tokens). Send tokens over TLS only, except on loopback.
  std::string bearer_token;
  // Transport credentials; plaintext by default.
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  // Extra channel arguments (load-balancing policy, keepalive, ...).
  grpc::ChannelArguments channel_args;
};

// Builders for codebook.v1.ReleaseSelector.
struct Selector {
  static v1::ReleaseSelector Today() { return v1::ReleaseSelector(); }
  static v1::ReleaseSelector Version(const std::string& version);
  static v1::ReleaseSelector DateOfService(const std::string& yyyy_mm_dd);
};

// Progress of a long upload: concepts sent so far, and in all (0 while not known).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// Produces the concepts of a release chunk by chunk (a parse of a file, as
// importers::ParseFileInChunks): calls `sink` with each chunk in order, and stops when the sink
// returns false. Its status is that of the production; an error may come after chunks were
// produced.
using ConceptChunkFn = std::function<bool(std::vector<v1::Concept> chunk)>;
using ConceptSource = std::function<absl::Status(const ConceptChunkFn& sink)>;

class Client {
 public:
  explicit Client(ClientOptions options);

  // Terminology.
  absl::StatusOr<std::vector<v1::CodeSystem>> ListCodeSystems();
  absl::StatusOr<std::vector<v1::Release>> ListReleases(const std::string& system);
  absl::StatusOr<v1::Release> GetRelease(const std::string& system,
                                         const v1::ReleaseSelector& selector = {});
  absl::StatusOr<v1::LookupResponse> Lookup(const std::string& system, const std::string& code,
                                            const v1::ReleaseSelector& selector = {});
  // Order kept; 1 to 10,000 codes per call (INVALID_ARGUMENT otherwise): split longer lists.
  absl::StatusOr<v1::BatchLookupResponse> BatchLookup(const std::string& system,
                                                      const std::vector<std::string>& codes,
                                                      const v1::ReleaseSelector& selector = {});
  // Looks up `codes` over one LookupStream, `batch` codes per request (1 to 10,000): the batches
  // are sent from a thread of their own while `answer` is called on this one with each response,
  // in order, as it arrives. `view` as in BatchLookupRequest. The stream's status: an invalid
  // batch ends it with its error after the answers before it. The whole stream has the admin
  // deadline (it is bulk work).
  absl::Status LookupStream(const std::string& system, const v1::ReleaseSelector& selector,
                            const std::vector<std::string>& codes, int batch,
                            const std::function<void(const v1::BatchLookupResponse&)>& answer,
                            v1::ConceptView view = v1::CONCEPT_VIEW_FULL);
  // An empty `date_of_service` means today.
  absl::StatusOr<v1::ValidateCodeResponse> ValidateCode(const std::string& system,
                                                        const std::string& code,
                                                        const std::string& date_of_service = "");
  // Any ValidateCode request (with a value set, ...).
  absl::StatusOr<v1::ValidateCodeResponse> ValidateCode(const v1::ValidateCodeRequest& request);
  // Value sets: every version (or those of `url`); one page of an expansion (pass
  // next_page_token back in `request.page_token` for the next).
  absl::StatusOr<std::vector<v1::ValueSet>> ListValueSets(const std::string& url = "");
  absl::StatusOr<v1::ExpandValueSetResponse> ExpandValueSet(
      const v1::ExpandValueSetRequest& request);
  absl::StatusOr<v1::DiffValueSetResponse> DiffValueSet(const v1::DiffValueSetRequest& request);
  absl::StatusOr<v1::PingResponse> Ping();
  // Reads a whole ExportRelease stream (the first message carries the release and checksum);
  // return false from `on_message` to stop early.
  absl::Status ExportRelease(const v1::ExportReleaseRequest& request,
                             const std::function<bool(const v1::ExportReleaseResponse&)>& on_message);
  // Follows a system's release events: those after `after_sequence`, then live ones, until
  // `on_event` returns false (then OK), `timeout` passes (DEADLINE_EXCEEDED; zero waits
  // forever) or the stream fails.
  absl::Status WatchReleases(const std::string& system, int64_t after_sequence,
                             const std::function<bool(const v1::ReleaseEvent&)>& on_event,
                             absl::Duration timeout = absl::ZeroDuration());
  // Follows a value set ("url" or "url|version"): each publish or retract from now on that
  // changes it, with its impact (ReleaseEvent.value_set); otherwise as WatchReleases.
  absl::Status WatchValueSet(const std::string& value_set,
                             const std::function<bool(const v1::ReleaseEvent&)>& on_event,
                             absl::Duration timeout = absl::ZeroDuration());
  absl::StatusOr<v1::GetCodeHistoryResponse> GetCodeHistory(const std::string& system,
                                                            const std::string& code);
  // Reads a whole DiffReleases stream. `on_message` sees each message as it arrives (changes,
  // then the summary in the last one); return false from it to stop early. Pass the last
  // resume_token seen in `request` to continue a stream that broke.
  absl::Status DiffReleases(const v1::DiffReleasesRequest& request,
                            const std::function<bool(const v1::DiffReleasesResponse&)>& on_message);

  // Search one release; see codebook.v1.Terminology.Search. Pass next_page_token back in
  // `request.page_token` for the next page.
  absl::StatusOr<v1::SearchResponse> Search(const v1::SearchRequest& request);
  // Hierarchy: ancestors (parent first), children (a page; empty code: the top level), and
  // whether A subsumes B. Codes or group ids ("SURGERY", "E", "MODIFIERS").
  absl::StatusOr<v1::GetAncestorsResponse> GetAncestors(const std::string& system,
                                                        const std::string& code,
                                                        const v1::ReleaseSelector& selector = {});
  absl::StatusOr<v1::GetChildrenResponse> GetChildren(const v1::GetChildrenRequest& request);
  absl::StatusOr<v1::SubsumesResponse> Subsumes(const std::string& system,
                                                const std::string& code_a,
                                                const std::string& code_b,
                                                const v1::ReleaseSelector& selector = {});
  // Claim lines: up to 10,000 per call.
  absl::StatusOr<v1::ValidateClaimResponse> ValidateClaim(const v1::ValidateClaimRequest& request);
  // Any number of lines over one ValidateClaimStream: sends them from a second thread while
  // `on_result` sees each result as it arrives, in line order. Lines must carry their dates (or
  // the server's today applies). Deadline: the admin deadline.
  absl::Status ValidateClaimStream(const std::vector<v1::ClaimLine>& lines,
                                   const std::function<void(const v1::ClaimLineResult&)>& on_result);

  // ReleaseAdmin.
  // `resource_json`: the FHIR CodeSystem the concepts come from (CreateReleaseRequest).
  absl::StatusOr<v1::Release> CreateRelease(const std::string& system, const std::string& version,
                                            const std::string& effective_date,
                                            const std::string& description = "",
                                            const std::string& resource_json = "");
  // Sends `concepts` in one stream, `chunk` concepts per message; all are stored or none.
  // Pass the vector with std::move to spare a copy of a large release. With `publish`, the
  // server publishes the release at the end of the stream, in the same write (see
  // UploadConceptsRequest.publish); the response's release then says PUBLISHED (a server
  // older than that field leaves it STAGED).
  absl::StatusOr<v1::UploadConceptsResponse> UploadConcepts(
      const std::string& system, const std::string& version, std::vector<v1::Concept> concepts,
      int chunk = 5000, ProgressFn progress = nullptr, bool publish = false);
  absl::StatusOr<v1::Release> PublishRelease(const std::string& system,
                                             const std::string& version);
  absl::Status DiscardRelease(const std::string& system, const std::string& version);
  absl::StatusOr<int64_t> AddCodeLinks(const std::string& system,
                                       const std::vector<v1::CodeLink>& links);
  absl::StatusOr<v1::Release> RetractRelease(const std::string& system, const std::string& version,
                                             const std::string& reason);
  // A verified backup into `directory`, a new folder on the server's machine.
  absl::StatusOr<v1::CreateBackupResponse> CreateBackup(const std::string& directory);
  // Registers a code system (ReleaseAdmin.CreateCodeSystem; needs the admin scope).
  absl::StatusOr<v1::CreateCodeSystemResponse> CreateCodeSystem(const v1::CodeSystem& system);
  // Stores a value-set version (ReleaseAdmin.CreateValueSet; needs the admin scope).
  absl::StatusOr<v1::CreateValueSetResponse> CreateValueSet(const v1::ValueSet& value_set);
  // Create + upload (+ publish when `publish`); a failed upload or publish discards the staged
  // release, so nothing of a failed import stays behind.
  absl::StatusOr<v1::Release> ImportRelease(const std::string& system, const std::string& version,
                                            const std::string& effective_date,
                                            const std::string& description,
                                            std::vector<v1::Concept> concepts, bool publish,
                                            ProgressFn progress = nullptr);
  // ImportRelease from a source that produces the concepts while they are sent: the source runs
  // on a thread of its own, each chunk goes into the upload stream as soon as it is ready, and
  // the release is published at the end of the same stream. A source error cancels the stream
  // (the server stores nothing of it) and discards the release; it is returned as it is.
  absl::StatusOr<v1::Release> ImportReleaseFrom(const std::string& system,
                                                const std::string& version,
                                                const std::string& effective_date,
                                                const std::string& description,
                                                const ConceptSource& source, bool publish,
                                                ProgressFn progress = nullptr,
                                                const std::string& resource_json = "");

  // The generated stubs, for calls the wrapper does not cover.
  v1::Terminology::Stub* terminology() { return terminology_.get(); }
  v1::ReleaseAdmin::Stub* admin() { return admin_.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  void SetDeadline(grpc::ClientContext* ctx, bool admin) const;
  // One upload stream fed by `source` on a thread of its own, `per_message` concepts a message
  // (at least one message, possibly empty); a source error cancels the stream and is returned.
  absl::StatusOr<v1::UploadConceptsResponse> UploadFrom(const std::string& system,
                                                       const std::string& version,
                                                       const ConceptSource& source,
                                                       int per_message, bool publish,
                                                       const ProgressFn& progress);

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Terminology::Stub> terminology_;
  std::unique_ptr<v1::ReleaseAdmin::Stub> admin_;
};

// Channel credentials for a server that speaks TLS: `ca_file` (PEM) holds the certificates the
// server's certificate must chain to (empty: the system's roots); `cert_file` and `key_file`
// (PEM) are this client's certificate and key, for servers that require them (mutual TLS);
// both or neither. INVALID_ARGUMENT naming a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const std::string& ca_file, const std::string& cert_file = "",
    const std::string& key_file = "");
// The whole content of a file; INVALID_ARGUMENT naming it when it cannot be read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// grpc::Status -> absl::Status (same code, same message).
absl::Status FromGrpc(const grpc::Status& s);

}  // namespace codebook

#endif  // CODEBOOK_CLIENT_CLIENT_H_
