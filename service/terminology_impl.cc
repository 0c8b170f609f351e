#include "service/terminology_impl.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/claims.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/search.h"
#include "service/pcs.h"
#include "service/tabular.h"

namespace codebook::service {

std::string DateOf(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

TerminologyImpl::TerminologyImpl(storage::Store* store, Clock clock, std::string server_version,
                                 SearchOptions search)
    : store_(store),
      clock_(std::move(clock)),
      server_version_(std::move(server_version)),
      search_options_(search) {}

absl::Status TerminologyImpl::ListCodeSystems(const v1::ListCodeSystemsRequest&,
                                              v1::ListCodeSystemsResponse* resp) const {
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  std::string today = Today();
  for (const CodeSystemInfo* system : AllSystems(*catalog)) {
    const CodeSystemInfo& s = *system;
    v1::CodeSystem* out = resp->add_systems();
    ToApi(s, out);
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
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  std::shared_ptr<const storage::Catalog> catalog = store_->catalog();
  for (const storage::ReleaseRecord& r : catalog->Releases((*system)->id)) {
    ToApi(r, resp->add_releases());
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::GetRelease(const v1::GetReleaseRequest& req,
                                         v1::GetReleaseResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
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
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  std::string input;
  std::vector<std::string> modifiers;
  SplitModifiers(**system, req.code(), &input, &modifiers);
  absl::StatusOr<std::string> code = NormalizeCode(**system, input);
  if (!code.ok()) return code.status();
  if (!v1::ConceptView_IsValid(req.view())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown concept view ", req.view()));
  }
  const bool basic = req.view() == v1::CONCEPT_VIEW_BASIC;
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  absl::StatusOr<const storage::ReleaseRecord*> release =
      SelectRelease(reader->catalog(), **system, req.selector(), Today());
  if (!release.ok()) return release.status();
  storage::CodeState st;
  absl::Status s = reader->Read((*system)->id, *code, (*release)->sequence, &st);
  if (!s.ok()) return s;
  if (st.kind != storage::CodeState::Kind::kPresent) {
    return absl::NotFoundError(AbsentReason(*reader, **system, **release, *code, st));
  }
  ToRef(**release, resp->mutable_release());
  ToApi(**system, *code, st.record, resp->mutable_concept(), basic);
  if (!basic) {
    absl::StatusOr<std::shared_ptr<const TabularRelease>> tabular =
        tabular_cache_.For(*reader, **release);
    if (!tabular.ok()) return tabular.status();
    if (*tabular != nullptr) (*tabular)->Context(*code, resp->mutable_tabular());
    s = PcsContextOf(*reader, **release, *code, resp);
    if (!s.ok()) return s;
  }
  if (!modifiers.empty()) {
    // Modifiers as of the release's first day, in it or in the other procedure system, read
    // through this request's reader: one answer, one snapshot.
    CodeChecker checker(reader.get(), Today(), &tabular_cache_);
    for (const std::string& m : modifiers) {
      v1::ModifierCheck mc;
      s = checker.CheckModifier(**system, m, (*release)->effective_date, &mc);
      if (!s.ok()) return s;
      if (!mc.valid()) return absl::NotFoundError(mc.message());
      *resp->add_modifiers() = std::move(*mc.mutable_concept());
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::BatchLookup(const v1::BatchLookupRequest& req,
                                          v1::BatchLookupResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  if (req.codes_size() == 0) {
    return absl::InvalidArgumentError("the batch has no codes; send 1 to 10000");
  }
  if (req.codes_size() > kMaxBatchCodes) {
    return absl::InvalidArgumentError(absl::StrCat("the batch has ", req.codes_size(),
                                                   " codes; the limit is ", kMaxBatchCodes,
                                                   " per request"));
  }
  if (!v1::ConceptView_IsValid(req.view())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown concept view ", req.view()));
  }
  const bool basic = req.view() == v1::CONCEPT_VIEW_BASIC;
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
        ToApi(**system, codes[k], st.record, result->mutable_concept(), basic);
        break;
      case storage::CodeState::Kind::kDeleted:
        result->set_outcome(v1::LOOKUP_OUTCOME_DELETED);
        result->set_message(AbsentReason(*reader, **system, **release, codes[k], st));
        break;
      case storage::CodeState::Kind::kAbsent:
        result->set_outcome(v1::LOOKUP_OUTCOME_UNKNOWN);
        result->set_message(AbsentReason(*reader, **system, **release, codes[k], st));
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ValidateCode(const v1::ValidateCodeRequest& req,
                                           v1::ValidateCodeResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  const storage::ReleaseRecord* named = nullptr;
  if (!req.version().empty()) {
    v1::ReleaseSelector selector;
    selector.set_version(req.version());
    absl::StatusOr<const storage::ReleaseRecord*> found =
        SelectRelease(reader->catalog(), **system, selector, Today());
    if (!found.ok()) return found.status();
    named = *found;
  }
  std::string date = !req.date_of_service().empty() ? req.date_of_service()
                     : named != nullptr            ? named->effective_date
                                                   : Today();
  if (!IsValidDate(date)) {
    return absl::InvalidArgumentError(
        absl::StrCat("date of service '", date, "' is not a YYYY-MM-DD date"));
  }
  CodeChecker checker(reader.get(), Today(), &tabular_cache_);
  std::string code;
  std::vector<std::string> modifiers;
  SplitModifiers(**system, req.code(), &code, &modifiers);
  CodeChecker::Result r;
  absl::Status s = named != nullptr ? checker.Check(**system, code, date, named, &r)
                                    : checker.Check(**system, code, date, &r);
  if (!s.ok()) return s;
  ToRef(*r.release, resp->mutable_release());
  resp->set_outcome(r.outcome);
  resp->set_message(r.message);
  if (r.found) ToApi(**system, r.code, r.record, resp->mutable_concept());
  if (r.deleted_in != nullptr) ToRef(*r.deleted_in, resp->mutable_deleted_in());
  for (const std::string& m : modifiers) {
    v1::ModifierCheck* mc = resp->add_modifiers();
    s = checker.CheckModifier(**system, m, date, mc);
    if (!s.ok()) return s;
    if (!mc->valid() && resp->outcome() == v1::VALIDATION_OUTCOME_VALID) {
      resp->set_outcome(v1::VALIDATION_OUTCOME_INVALID_MODIFIER);
      resp->set_message(absl::StrCat(r.message, "; but ", mc->message()));
    }
  }
  if (!req.value_set().empty() || req.has_value_set_definition()) {
    s = CheckInValueSet(req, **system, date, resp);
    if (!s.ok()) return s;
    if (resp->outcome() == v1::VALIDATION_OUTCOME_VALID && !resp->value_set().member()) {
      resp->set_outcome(v1::VALIDATION_OUTCOME_NOT_IN_VALUE_SET);
      resp->set_message(resp->value_set().message());
    }
  }
  resp->set_valid(resp->outcome() == v1::VALIDATION_OUTCOME_VALID);
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ExportRelease(const v1::ExportReleaseRequest& req,
                                            std::vector<v1::ExportReleaseResponse>* out) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
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
  absl::StatusOr<const CodeSystemInfo*> info = FindSystem(*store_, system);
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

namespace {

// FNV-1a over what a page token must agree with: the query and its filters.
uint64_t SearchFingerprint(const v1::SearchRequest& req) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&](absl::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  add(req.system());
  add(req.query());
  add(req.billable_only() ? "b" : "");
  for (int k : req.kinds()) add(absl::StrCat(k));
  return h;
}

}  // namespace

absl::Status TerminologyImpl::Search(const v1::SearchRequest& req,
                                     v1::SearchResponse* resp) const {
  absl::StatusOr<const CodeSystemInfo*> system = FindSystem(*store_, req.system());
  if (!system.ok()) return system.status();
  absl::string_view query = absl::StripAsciiWhitespace(req.query());
  if (query.empty() || query.size() > static_cast<size_t>(kMaxQueryLength)) {
    return absl::InvalidArgumentError(absl::StrCat("a search query has 1 to ", kMaxQueryLength,
                                                   " characters; this one has ", query.size()));
  }
  int page_size = req.page_size() == 0 ? kDefaultSearchPageSize : req.page_size();
  if (page_size < 0 || page_size > kMaxSearchPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page size ", req.page_size(),
                                                   " is outside 1..", kMaxSearchPageSize));
  }
  for (int k : req.kinds()) {
    if (!v1::ConceptKind_IsValid(k) || k == v1::CONCEPT_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("unknown concept kind ", k));
    }
  }
  std::unique_ptr<storage::Reader> reader = store_->NewReader();
  const uint64_t fingerprint = SearchFingerprint(req);
  const storage::ReleaseRecord* release = nullptr;
  int offset = 0;
  if (!req.page_token().empty()) {
    // "s1.<release sequence>.<offset>.<fingerprint hex>"
    std::vector<std::string> parts = absl::StrSplit(req.page_token(), '.');
    uint64_t seq = 0, fp = 0;
    if (parts.size() != 4 || parts[0] != "s1" || !absl::SimpleAtoi(parts[1], &seq) ||
        !absl::SimpleAtoi(parts[2], &offset) || offset < 0 ||
        !absl::SimpleHexAtoi(parts[3], &fp) || fp != fingerprint) {
      return absl::InvalidArgumentError(
          "the page token is not one this query returned (the query and filters must be the "
          "same on every page)");
    }
    release = reader->catalog().FindBySequence((*system)->id, seq);
    if (release == nullptr || release->state == storage::ReleaseState::kStaged) {
      return absl::InvalidArgumentError("the page token names a release this server lacks");
    }
  } else {
    absl::StatusOr<const storage::ReleaseRecord*> selected =
        SelectRelease(reader->catalog(), **system, req.selector(), Today());
    if (!selected.ok()) return selected.status();
    release = *selected;
  }
  absl::StatusOr<std::shared_ptr<const ClinicalTerms>> clinical =
      clinical_cache_.For(*reader, *release);
  if (!clinical.ok()) return clinical.status();
  absl::Status s = SearchRelease(reader.get(), **system, *release, clinical->get(), req, offset,
                                 page_size, resp, search_options_);
  if (!s.ok()) return s;
  if (offset + page_size < resp->total_hits()) {
    resp->set_next_page_token(absl::StrCat("s1.", release->sequence, ".", offset + page_size, ".",
                                           absl::Hex(fingerprint)));
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::ValidateClaim(const v1::ValidateClaimRequest& req,
                                            v1::ValidateClaimResponse* resp) const {
  if (req.lines_size() == 0 || req.lines_size() > kMaxClaimLines) {
    return absl::InvalidArgumentError(absl::StrCat("the claim has ", req.lines_size(),
                                                   " lines; send 1 to ", kMaxClaimLines,
                                                   " per request"));
  }
  if (!req.date_of_service().empty() && !IsValidDate(req.date_of_service())) {
    return absl::InvalidArgumentError(absl::StrCat("date of service '", req.date_of_service(),
                                                   "' is not a YYYY-MM-DD date"));
  }
  CodeChecker checker(store_, Today(), &tabular_cache_);
  resp->mutable_results()->Reserve(req.lines_size());
  for (int i = 0; i < req.lines_size(); ++i) {
    v1::ClaimLineResult* r = resp->add_results();
    absl::Status s = checker.CheckLine(req.lines(i), i, req.date_of_service(), r);
    if (!s.ok()) return s;
    if (r->valid()) {
      resp->set_valid_lines(resp->valid_lines() + 1);
    } else {
      resp->set_invalid_lines(resp->invalid_lines() + 1);
    }
  }
  return absl::OkStatus();
}

absl::Status TerminologyImpl::Ping(const v1::PingRequest&, v1::PingResponse* resp) const {
  resp->set_server_version(server_version_);
  return absl::OkStatus();
}

}  // namespace codebook::service
