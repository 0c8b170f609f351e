// TerminologyImpl: the domain logic behind the Terminology service (read-only queries).
//
// Each method takes an API request, fills the response and returns a status; the gRPC handlers
// only convert that status. Every read goes through one storage::Reader, so one request sees
// one consistent catalog and data snapshot. Thread-safe; does not own the store.
#ifndef CODEBOOK_SERVICE_TERMINOLOGY_IMPL_H_
#define CODEBOOK_SERVICE_TERMINOLOGY_IMPL_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "codebook/v1/terminology.pb.h"
#include "service/clinical.h"
#include "service/search.h"
#include "service/tabular.h"
#include "storage/store.h"

namespace codebook::service {

// Maximum codes in one BatchLookup request (documented in terminology.proto).
inline constexpr int kMaxBatchCodes = 10000;

// Where "today" comes from; tests substitute a fixed clock.
using Clock = std::function<absl::Time()>;
// "YYYY-MM-DD" of `t` in UTC.
std::string DateOf(absl::Time t);

class TerminologyImpl {
 public:
  // `search`: how Search ranks (SearchOptions; tests pass exhaustive to get the reference).
  TerminologyImpl(storage::Store* store, Clock clock, std::string server_version,
                  SearchOptions search = {});

  absl::Status ListCodeSystems(const v1::ListCodeSystemsRequest& req,
                               v1::ListCodeSystemsResponse* resp) const;
  absl::Status ListReleases(const v1::ListReleasesRequest& req,
                            v1::ListReleasesResponse* resp) const;
  absl::Status GetRelease(const v1::GetReleaseRequest& req, v1::GetReleaseResponse* resp) const;
  absl::Status Lookup(const v1::LookupRequest& req, v1::LookupResponse* resp) const;
  absl::Status BatchLookup(const v1::BatchLookupRequest& req,
                           v1::BatchLookupResponse* resp) const;
  absl::Status ValidateCode(const v1::ValidateCodeRequest& req,
                            v1::ValidateCodeResponse* resp) const;
  absl::Status Ping(const v1::PingRequest& req, v1::PingResponse* resp) const;
  // The whole answer of a DiffReleases stream, as its messages (at least one; the last carries
  // the summary). Implemented in diff.cc.
  absl::Status DiffReleases(const v1::DiffReleasesRequest& req,
                            std::vector<v1::DiffReleasesResponse>* out) const;
  // The whole answer of an ExportRelease stream, as its messages.
  absl::Status ExportRelease(const v1::ExportReleaseRequest& req,
                             std::vector<v1::ExportReleaseResponse>* out) const;
  // Up to `limit` events of a system after sequence `after`, oldest first.
  absl::Status ReleaseEvents(const std::string& system, int64_t after, size_t limit,
                             std::vector<v1::ReleaseEvent>* out) const;
  // Implemented in diff.cc.
  absl::Status GetCodeHistory(const v1::GetCodeHistoryRequest& req,
                              v1::GetCodeHistoryResponse* resp) const;
  // Search (ranking and matching in search.h).
  absl::Status Search(const v1::SearchRequest& req, v1::SearchResponse* resp) const;
  // Claim lines (per-line logic in claims.h). The stream form builds a CodeChecker per stream.
  absl::Status ValidateClaim(const v1::ValidateClaimRequest& req,
                             v1::ValidateClaimResponse* resp) const;
  // Value sets (value_set_reads.cc; their meaning in value_sets.h).
  absl::Status ListValueSets(const v1::ListValueSetsRequest& req,
                             v1::ListValueSetsResponse* resp) const;
  absl::Status ExpandValueSet(const v1::ExpandValueSetRequest& req,
                              v1::ExpandValueSetResponse* resp) const;
  absl::Status DiffValueSet(const v1::DiffValueSetRequest& req,
                            v1::DiffValueSetResponse* resp) const;
  // A value-set watch (WatchReleasesRequest.value_set): the systems it follows (set on the first
  // call, with each cursor at the system's newest event), then the events after the cursors
  // that changed the value set, each with its impact. Advances the cursors.
  absl::Status ValueSetEvents(const std::string& value_set,
                              std::map<std::string, int64_t>* cursors, bool first,
                              std::vector<v1::ReleaseEvent>* out) const;
  // ValidateCode's value-set part: fills resp->value_set for `req.value_set()` and the code
  // (storage form) of `system`.
  absl::Status CheckInValueSet(const v1::ValidateCodeRequest& req, const CodeSystemInfo& system,
                               absl::string_view date, v1::ValidateCodeResponse* resp) const;
  storage::Store* store() const { return store_; }
  // A system of this server: built-in or registered.
  absl::StatusOr<const CodeSystemInfo*> System(absl::string_view id) const {
    return FindSystem(*store_, id);
  }
  // The licence scope a caller needs to see `system`'s text (LicenseScopeOf).
  std::string LicenseScope(absl::string_view system) const {
    return LicenseScopeOf(*store_, system);
  }
  // The Tabular releases read so far, shared by every request (tabular.h).
  TabularCache* tabular_cache() const { return &tabular_cache_; }
  // "YYYY-MM-DD" of the clock's today (UTC): the default date of service.
  std::string Today() const { return DateOf(clock_()); }
  // Hierarchy (hierarchy.cc).
  absl::Status GetAncestors(const v1::GetAncestorsRequest& req,
                            v1::GetAncestorsResponse* resp) const;
  absl::Status GetChildren(const v1::GetChildrenRequest& req, v1::GetChildrenResponse* resp) const;
  absl::Status Subsumes(const v1::SubsumesRequest& req, v1::SubsumesResponse* resp) const;

 private:
  storage::Store* store_;
  Clock clock_;
  std::string server_version_;
  SearchOptions search_options_;
  mutable TabularCache tabular_cache_;
  // The Index and Tabular terms that search reads beside descriptions (clinical.h).
  mutable ClinicalCache clinical_cache_{&tabular_cache_};
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_TERMINOLOGY_IMPL_H_
