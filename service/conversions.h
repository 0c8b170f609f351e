// Translation between storage records and API messages, and release selection: the pieces the
// read and admin domain services share. No gRPC here.
#ifndef CODEBOOK_SERVICE_CONVERSIONS_H_
#define CODEBOOK_SERVICE_CONVERSIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/types.pb.h"
#include "service/code_systems.h"
#include "storage/records.h"
#include "storage/store.h"

namespace codebook::service {

// Licensed text left out of an answer for a caller without the licence: every Concept in `m`
// (at any depth) loses its display and designations and is marked text_withheld. The one
// policy both the gRPC and the FHIR ports apply.
void WithholdText(google::protobuf::Message* m);
// Unix microseconds -> protobuf Timestamp.
void SetTimestamp(int64_t micros, google::protobuf::Timestamp* t);
void ToApi(const storage::ReleaseRecord& r, v1::Release* out);
void ToRef(const storage::ReleaseRecord& r, v1::ReleaseRef* out);
// A system's definition (the per-server fields published_releases and current_version are the
// caller's to fill).
void ToApi(const CodeSystemInfo& system, v1::CodeSystem* out);
// The definition a CreateCodeSystem request asks to register (code format "pattern").
storage::CodeSystemRecord FromApi(const v1::CodeSystem& system);
// A value-set version and back (FromApi leaves the creation time 0).
void ToApi(const storage::ValueSetRecord& r, v1::ValueSet* out);
storage::ValueSetRecord FromApi(const v1::ValueSet& vs);
// The concept as the API gives it: every field, or with `basic` only the code, display, status,
// kind and billable flag (v1::CONCEPT_VIEW_BASIC).
void ToApi(const CodeSystemInfo& system, absl::string_view code, const storage::ConceptRecord& r,
           v1::Concept* out, bool basic = false);
// "ICD10CM FY2025 (effective 2024-10-01)"
std::string Describe(const storage::ReleaseRecord& r);

// Checks and converts an uploaded concept for a release effective on `effective_date`:
// normalizes its code and parent, requires a display text, checks dates, sorts properties,
// defaults the kind to CODE, and derives the status (INACTIVE when a termination date falls
// before the release took effect, or when the uploader says so).
// Moves the texts out of *c.
absl::StatusOr<storage::StagedConcept> FromApi(const CodeSystemInfo& system,
                                               absl::string_view effective_date, v1::Concept* c);

// Picks the published release a selector names (see codebook.v1.ReleaseSelector). `today` is
// "YYYY-MM-DD". NOT_FOUND when there is none, INVALID_ARGUMENT for a malformed date.
absl::StatusOr<const storage::ReleaseRecord*> SelectRelease(const storage::Catalog& catalog,
                                                            const CodeSystemInfo& system,
                                                            const v1::ReleaseSelector& selector,
                                                            absl::string_view today);
// The release in force on `date` ("YYYY-MM-DD"), or nullptr.
const storage::ReleaseRecord* ReleaseInForce(const storage::Catalog& catalog,
                                             absl::string_view system, absl::string_view date);

// The earliest published release after `sequence` in which `code` is present (retracted ones
// skipped); nullptr if none.
absl::StatusOr<const storage::ReleaseRecord*> LaterReleaseWithCode(
    storage::Reader& reader, const CodeSystemInfo& system, absl::string_view code,
    uint64_t sequence);
// Why `code` (storage form), whose state in `release` is `st` (absent or deleted), is not
// there: "code X was deleted in ..." or "code X is not in ...; it was added in ...".
std::string AbsentReason(storage::Reader& reader, const CodeSystemInfo& system,
                         const storage::ReleaseRecord& release, absl::string_view code,
                         const storage::CodeState& st);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_CONVERSIONS_H_
