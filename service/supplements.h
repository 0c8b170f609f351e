// Supplements: what a publisher ships beside a code system's releases, kept as releases of a
// system of their own that are bound to the base system's releases (FHIR's CodeSystem
// supplements). ICD10CM-TABULAR holds ICD-10-CM's Tabular List (see importers.h for its
// concepts).
//
// Binding: a supplement release has the version label and the effective date of a release of
// its base system, which must exist when the supplement release is created and be published
// when it is published. Being releases, supplements are published atomically, checksummed,
// diffed, exported and followed by replicas like any other release.
//
// Use: a read of base release B takes the supplement's newest published release effective on
// or before B (B's own when it has one, else the newest earlier one), and names it in the
// answer; the codes it answers are always B's.
#ifndef CODEBOOK_SERVICE_SUPPLEMENTS_H_
#define CODEBOOK_SERVICE_SUPPLEMENTS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "service/code_systems.h"
#include "storage/store.h"

namespace codebook::service {

// The supplement of `base` with the given role's format ("ICD10CM" -> ICD10CM-TABULAR for
// kIcd10CmTabular); nullptr when there is none.
const CodeSystemInfo* SupplementOf(absl::string_view base, CodeFormat format);

// OK when `supplement` may have a release `version` effective `effective_date`: its base system
// has a release of that version (in any state) with that effective date; FAILED_PRECONDITION
// saying which otherwise. OK for a system that is not a supplement.
absl::Status CheckSupplementCreate(const storage::Catalog& catalog,
                                   const CodeSystemInfo& supplement, absl::string_view version,
                                   absl::string_view effective_date);
// OK when the base release of supplement release `version` is published; FAILED_PRECONDITION
// otherwise. OK for a system that is not a supplement.
absl::Status CheckSupplementPublish(const storage::Catalog& catalog,
                                    const CodeSystemInfo& supplement, absl::string_view version);

// The release of `supplement` that serves reads of `base`: its newest published release whose
// effective date is on or before base's; nullptr if none. Valid while `catalog` is.
const storage::ReleaseRecord* SupplementFor(const storage::Catalog& catalog,
                                            const CodeSystemInfo& supplement,
                                            const storage::ReleaseRecord& base);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_SUPPLEMENTS_H_
