#include "service/terminology_impl.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/code_systems.h"
#include "service/conversions.h"

namespace codebook::service {
namespace {

// Why a code is absent from a release, for messages: "code X was deleted in ..." or "code X is
// not in ...; it was added in ...".
std::string NotFoundReason(storage::Reader& reader, const CodeSystemInfo& system,
                           const storage::ReleaseRecord& release, absl::string_view code,
                           const storage::CodeState& st) {
  const storage::Catalog& catalog = reader.catalog();
  std::string printed = PrintedCode(system, code);
  if (st.kind == storage::CodeState::Kind::kDeleted) {
    const storage::ReleaseRecord* by = catalog.FindBySequence(system.id, st.entry_sequence);
    return absl::StrCat("code ", printed, " was deleted in ",
                        by ? Describe(*by) : absl::StrCat("release #", st.entry_sequence));
  }
  std::string msg = absl::StrCat("code ", printed, " is not in ", Describe(release));
  absl::StatusOr<uint64_t> later = reader.NextPresentSequence(system.id, code, release.sequence);
  if (later.ok() && *later != 0) {
    if (const storage::ReleaseRecord* r = catalog.FindBySequence(system.id, *later)) {
      absl::StrAppend(&msg, "; it was added in ", Describe(*r));
    }
  }
  return msg;
}

}  // namespace

std::string DateOf(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

TerminologyImpl::TerminologyImpl(storage::Store* store, Clock clock, std::string server_version)
    : store_(store), clock_(std::move(clock)), server_version_(std::move(server_version)) {}

absl::Status TerminologyImpl::ListCodeSystems(const v1::ListCodeSystemsRequest&,
                                              v1::ListCodeSystemsResponse* resp) const {
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  std::string today = Today();
  for (const CodeSystemInfo& s : KnownSystems()) {
    v1::CodeSystem* out = resp->add_systems();
    out->set_id(s.id);
    out->set_uri(s.uri);
    out->set_title(s.title);
    out->set_publisher(s.publisher);
    int published = 0;
    for (const storage::ReleaseRecord& r : catalog->Releases(s.id)) {
      published += r.state == storage::ReleaseState::kPublished;
    }
    out->set_published_releases(published);
    if (const storage::ReleaseRecord* r = ReleaseInForce(*catalog, s.id, today)) {
      out->set_current_version(r->version);
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ListReleases(const v1::ListReleasesRequest& req,
                                           v1::ListReleasesResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  for (const storage::ReleaseRecord& r : catalog->Releases((*system)->id)) {
    ToApi(r, resp->add_releases());
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::GetRelease(const v1::GetReleaseRequest& req,
                                         v1::GetReleaseResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  // GetRelease by explicit version also shows staged releases.
  if (req.selector().selector_case() == v1::ReleaseSelector::kVersion) {
    if (const storage::ReleaseRecord* r = catalog->Find((*system)->id, req.selector().version())) {
      ToApi(*r, resp->mutable_release());
      return absl::OkStatus();
    }
  }
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(*catalog, **system, req.selector(), Today());
  if (!release.ok()) return release.status();
  ToApi(**release, resp->mutable_release());
  return absl::OkStatus();
}

absl::Status TerminologyImpl::Lookup(const v1::LookupRequest& req,
                                     v1::LookupResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  absl::StatusOr<std::string> code = NormalizeCode(**system, req.code());
  if (!code.ok()) return code.status();
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(reader->catalog(), **system, req.selector(), Today());
  if (!release.ok()) return release.status();
  storage::CodeState st;
  absl::Status s = reader->Read((*system)->id, *code, (*release)->sequence, &st);
  if (!s.ok()) return s;
  if (st.kind != storage::CodeState::Kind::kPresent) {
    return absl::NotFoundError(NotFoundReason(*reader, **system, **release, *code, st));
  }
  ToRef(**release, resp->mutable_release());
  ToApi(**system, *code, st.record, resp->mutable_concept());
  return absl::OkStatus();
}

absl::Status TerminologyImpl::BatchLookup(const v1::BatchLookupRequest& req,
                                          v1::BatchLookupResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  if (req.codes_size() == 0) {
    return absl::InvalidArgumentError("the batch has no codes; send 1 to 10000");
  }
  if (req.codes_size() > kMaxBatchCodes) {
    return absl::InvalidArgumentError(absl::StrCat("the batch has ", req.codes_size(),
                                                   " codes; the limit is ", kMaxBatchCodes,
                                                   " per request"));
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(reader->catalog(), **system, req.selector(), Today());
  if (!release.ok()) return release.status();
  ToRef(**release, resp->mutable_release());

  std::vector<std::string> codes;
  std::vector<int> positions;  // codes[k] answers request position positions[k]
  codes.reserve(req.codes_size());
  positions.reserve(req.codes_size());
  resp->mutable_results()->Reserve(req.codes_size());
  for (int i = 0; i < req.codes_size(); ++i) {
    v1::CodeResult* result = resp->add_results();
    result->set_requested_code(req.codes(i));
    absl::StatusOr<std::string> code = NormalizeCode(**system, req.codes(i));
    if (!code.ok()) {
      result->set_outcome(v1::LOOKUP_OUTCOME_MALFORMED);
      result->set_message(std::string(code.status().message()));
      continue;
    }
    codes.push_back(*std::move(code));
    positions.push_back(i);
  }
  // Per-thread scratch: its decoded strings keep their buffers from one batch to the next.
  thread_local std::vector<storage::CodeState> states;
  absl::Status s = reader->ReadMany((*system)->id, codes, (*release)->sequence, &states);
  if (!s.ok()) return s;
  for (size_t k = 0; k < codes.size(); ++k) {
    v1::CodeResult* result = resp->mutable_results(positions[k]);
    const storage::CodeState& st = states[k];
    switch (st.kind) {
      case storage::CodeState::Kind::kPresent:
        result->set_outcome(v1::LOOKUP_OUTCOME_FOUND);
        ToApi(**system, codes[k], st.record, result->mutable_concept());
        break;
      case storage::CodeState::Kind::kDeleted:
        result->set_outcome(v1::LOOKUP_OUTCOME_DELETED);
        result->set_message(NotFoundReason(*reader, **system, **release, codes[k], st));
        break;
      case storage::CodeState::Kind::kAbsent:
        result->set_outcome(v1::LOOKUP_OUTCOME_UNKNOWN);
        result->set_message(NotFoundReason(*reader, **system, **release, codes[k], st));
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ValidateCode(const v1::ValidateCodeRequest& req,
                                           v1::ValidateCodeResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  std::string date = req.date_of_service().empty() ? Today() : req.date_of_service();
  v1::ReleaseSelector selector;
  selector.set_date_of_service(date);
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(reader->catalog(), **system, selector, Today());
  if (!release.ok()) return release.status();
  const storage::ReleaseRecord& rel = **release;
  ToRef(rel, resp->mutable_release());

  auto answer = [&](v1::ValidationOutcome outcome, std::string message) {
    resp->set_outcome(outcome);
    resp->set_valid(outcome == v1::VALIDATION_OUTCOME_VALID);
    resp->set_message(std::move(message));
    return absl::OkStatus();
  };
  absl::StatusOr<std::string> code = NormalizeCode(**system, req.code());
  if (!code.ok()) {
    return answer(v1::VALIDATION_OUTCOME_MALFORMED_CODE, std::string(code.status().message()));
  }
  storage::CodeState st;
  absl::Status s = reader->Read((*system)->id, *code, rel.sequence, &st);
  if (!s.ok()) return s;
  std::string printed = PrintedCode(**system, *code);
  if (st.kind == storage::CodeState::Kind::kDeleted) {
    if (const auto* by = reader->catalog().FindBySequence((*system)->id, st.entry_sequence)) {
      ToRef(*by, resp->mutable_deleted_in());
    }
    return answer(v1::VALIDATION_OUTCOME_DELETED, NotFoundReason(*reader, **system, rel, *code, st));
  }
  if (st.kind == storage::CodeState::Kind::kAbsent) {
    return answer(v1::VALIDATION_OUTCOME_UNKNOWN_CODE,
                  NotFoundReason(*reader, **system, rel, *code, st));
  }
  const storage::ConceptRecord& r = st.record;
  ToApi(**system, *code, r, resp->mutable_concept());
  if (!r.termination_date.empty() && date > r.termination_date) {
    return answer(v1::VALIDATION_OUTCOME_TERMINATED,
                  absl::StrCat(printed, " was terminated on ", r.termination_date, " (",
                               Describe(rel), ")"));
  }
  if (!r.added_date.empty() && date < r.added_date) {
    return answer(v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE,
                  absl::StrCat(printed, " takes effect on ", r.added_date, " (", Describe(rel),
                               ")"));
  }
  if (r.kind == storage::ConceptKind::kHeader ||
      (r.kind == storage::ConceptKind::kCode && !r.billable)) {
    return answer(v1::VALIDATION_OUTCOME_NOT_BILLABLE,
                  absl::StrCat(printed, " is a ",
                               r.kind == storage::ConceptKind::kHeader ? "header" : "code",
                               " that is not valid for submission in ", Describe(rel),
                               "; use one of its billable codes"));
  }
  return answer(v1::VALIDATION_OUTCOME_VALID,
                absl::StrCat(printed, " is valid on ", date, " (", Describe(rel), ")"));
}

absl::Status TerminologyImpl::ExportRelease(const v1::ExportReleaseRequest& req,
                                            std::vector<v1::ExportReleaseResponse>* out) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(req.system());
  if (!system.ok()) return system.status();
  int page_size = req.page_size() == 0 ? 1000 : req.page_size();
  if (page_size < 0 || page_size > 5000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", req.page_size(), " is outside 1..5000"));
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(reader->catalog(), **system, req.selector(), Today());
  if (!release.ok()) return release.status();
  out->clear();
  ToApi(**release, out->emplace_back().mutable_release());
  absl::Status s = reader->ForEachConcept(
      (*system)->id, (*release)->sequence,
      [&](absl::string_view code, const storage::ConceptRecord& record) {
        if (out->back().concepts_size() == page_size) out->emplace_back();
        v1::Concept* c = out->back().add_concepts();
        ToApi(**system, code, record, c);
        return true;
      });
  return s;
}

absl::Status TerminologyImpl::ReleaseEvents(const std::string& system, int64_t after, size_t limit,
                                            std::vector<v1::ReleaseEvent>* out) const {
  absl::StatusOr<const CodeSystemInfo*> info = FindSystem(system);
  if (!info.ok()) return info.status();
  if (after < 0) return absl::InvalidArgumentError("after_sequence must not be negative");
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  std::vector<storage::EventRecord> events;
  absl::Status s =
      reader->Events((*info)->id, static_cast<uint64_t>(after), limit, &events);
  if (!s.ok()) return s;
  out->clear();
  for (const storage::EventRecord& e : events) {
    v1::ReleaseEvent& ev = out->emplace_back();
    ev.set_sequence(static_cast<int64_t>(e.sequence));
    ev.set_type(e.kind == storage::EventKind::kPublished ? v1::RELEASE_EVENT_TYPE_PUBLISHED
                                                         : v1::RELEASE_EVENT_TYPE_RETRACTED);
    if (const storage::ReleaseRecord* r = reader->catalog().Find((*info)->id, e.version)) {
      ToApi(*r, ev.mutable_release());
    }
    SetTimestamp(e.time_micros, ev.mutable_time());
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::Ping(const v1::PingRequest&, v1::PingResponse* resp) const {
  resp->set_server_version(server_version_);
  return absl::OkStatus();
}

}  // namespace codebook::service
