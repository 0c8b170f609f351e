// Value sets: their definitions' meaning, their expansion for a date of service, and membership.
//
// A definition (storage::ValueSetRecord, FHIR's compose model) is a union of include rules minus
// a union of exclude rules. A rule names a code system (by id or canonical URI; stored as the
// id) and optionally one of its release versions; it takes the concepts of that release that
// are listed in its codes (none listed: all) and pass all of its filters, and, when it imports
// value sets, that are in every one of them. A rule may also only import value sets: their
// intersection.
//
// Filters (property, op, value):
//  - on the hierarchy, property "concept" (or "code"): is-a (the code and everything below
//    it), descendent-of (below it only), child-of (directly below it), = (the code itself),
//    in / not-in (a comma-separated list of codes), regex (RE2, the whole printed code);
//  - "display": = or regex on the display text;
//  - "billable" (true/false), "kind" (code, header, modifier), "status" (active, inactive),
//    "parent" (a code): =, in, not-in, exists;
//  - ICD-10-CM, from the Tabular List that serves the release (tabular.h): "chapter" (its
//    number, "4") and "block" (its range, "E08-E13"); and hierarchy filters take a block or
//    chapter ("descendent-of E08-E13", "is-a CHAPTER-4"), above the categories;
//  - any other name is one of the concept's properties (HCPCS "betos", "coverage", a FHIR
//    code system's properties, ...): =, in, not-in, regex, exists (value true or false).
// Several values of one property (joined by a newline) match when any one does.
//
// An expansion is computed against one release of each system a rule names: the rule's version
// when it has one, else the release in force on the date of service (the same choice as every
// read). It lists the concepts in, with the releases it used, and is cached: a value-set version
// over published releases never changes, so the cache key is the value-set version with the
// sequence of every release used. Thread-safe.
#ifndef CODEBOOK_SERVICE_VALUE_SETS_H_
#define CODEBOOK_SERVICE_VALUE_SETS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/terminology.pb.h"
#include "service/code_systems.h"
#include "storage/catalog.h"
#include "storage/reader.h"
#include "storage/records.h"

namespace codebook::service {

// Checks a new definition against `catalog` and puts it in its stored form: each rule's system
// (id or URI) becomes the id, each listed code its storage form (so "E11.9" and "E119" are one
// code), hierarchy filter values likewise. INVALID_ARGUMENT naming the rule ("include[2]") for
// a code of the wrong shape, an unknown filter operator or property/operator pair, a regular
// expression RE2 cannot compile, a boolean other than true/false, a rule with nothing to take,
// a self-import, or a url/version of the wrong shape. As in FHIR, a definition may name what
// does not exist yet: a code system not known here (kept as written, found by URI when it is
// registered), a release version, an imported value set; expanding says what is missing.
absl::Status CheckValueSet(const storage::Catalog& catalog, storage::ValueSetRecord* r);

// One concept of an expansion.
struct ExpandedConcept {
  const CodeSystemInfo* system;
  std::string code;  // storage form
  storage::ConceptRecord record;
};

struct Expansion {
  // The releases used, one per system (and version named), by system id.
  std::vector<storage::ReleaseRecord> releases;
  // The concepts in, by system id then code.
  std::vector<ExpandedConcept> concepts;

  // The concept (system id, storage-form code), or nullptr when it is not in.
  const ExpandedConcept* Find(absl::string_view system, absl::string_view code) const;
};

// The expansion of `vs` on `date` ("YYYY-MM-DD"), read through `reader`. FAILED_PRECONDITION
// naming the system when no release of a system it needs is in force on that date (or the
// version it names is not published), or when imports form a cycle; NOT_FOUND for an imported
// value set that is gone. `cached`, when not null, says whether it came from the cache.
// `pins` (may be null): for a system it names, the release rules without a version of their own
// read, in place of the one in force on the date (what the expansion was before an event).
using ReleasePins = std::map<std::string, storage::ReleaseRecord>;
absl::StatusOr<std::shared_ptr<const Expansion>> Expand(storage::Reader& reader,
                                                        const storage::ValueSetRecord& vs,
                                                        absl::string_view date,
                                                        bool* cached = nullptr,
                                                        const ReleasePins* pins = nullptr);

// Why a code is or is not in a value set on a date.
enum class Membership {
  kMember,          // in the expansion, a code that may be reported
  kHeader,          // in the expansion, but a header (or group): not a code to report
  kNotInDefinition, // present in the release, but the definition does not take it
  kDeleted,         // the definition took it in an earlier release; deleted in this one
  kNotYetEffective, // the definition takes it in a later release; not in force yet
  kUnknownCode,     // no release of the system on or before the date has it
};

struct MembershipResult {
  Membership outcome = Membership::kUnknownCode;
  std::shared_ptr<const Expansion> expansion;  // the expansion of the date
  // The release the reason refers to: the one in force for kMember, kHeader,
  // kNotInDefinition; the last one that had it for kDeleted; the first later one for
  // kNotYetEffective. Empty version when none.
  storage::ReleaseRecord release;
  std::string message;  // a sentence for people
};

// Is `code` (any form a person types) of `system` (id or URI) in `vs` on `date`?
// INVALID_ARGUMENT for a code of the wrong shape or a system the value set does not use;
// errors of Expand.
absl::StatusOr<MembershipResult> CheckMembership(storage::Reader& reader,
                                                 const storage::ValueSetRecord& vs,
                                                 absl::string_view system,
                                                 absl::string_view code, absl::string_view date);

// Why a code entered or left a value set between two expansions. Several may hold at once.
enum class ChangeCause {
  kCodeAdded,          // entered: the code is new in its system's release (or reactivated)
  kCodeDeleted,        // left: the code is gone from its system's release
  kPropertyChanged,    // its record changed (display, kind, billable, status, a property)
  kHierarchyChanged,   // its parent, or an ancestor's, changed
  kDefinitionChanged,  // the value-set versions compared differ in their rules
  kImportChanged,      // nothing of the code changed: an imported value set (a newest version
                       // it follows) or a code system it does not list changed
};

struct ValueSetChange {
  const CodeSystemInfo* system;
  std::string code;  // storage form
  bool entered;      // true: in the later expansion only; false: in the earlier only
  std::vector<ChangeCause> causes;
  // The concept as each side's release of its system has it (absent there: not set).
  std::optional<storage::ConceptRecord> before, after;
};

struct ValueSetDiff {
  std::shared_ptr<const Expansion> from, to;
  std::vector<ValueSetChange> changes;  // by system id, then code
};

// The codes that enter or leave between the expansion of `from_vs` on `from_date` and that of
// `to_vs` on `to_date` (usually one version on two dates, or two versions on one date), each
// with its causes. Errors of Expand.
absl::StatusOr<ValueSetDiff> DiffValueSets(storage::Reader& reader,
                                           const storage::ValueSetRecord& from_vs,
                                           absl::string_view from_date,
                                           const storage::ValueSetRecord& to_vs,
                                           absl::string_view to_date);

// What an event of `release` (published or retracted just now; the catalog of `reader` is after
// it) did to the expansion of `vs` on the release's effective date: the codes that entered or
// left, from the expansion with the release in force that day before the event to the one
// after. Empty changes when the event did not touch the value set. A side that cannot expand
// (no release in force then) counts as empty.
absl::StatusOr<ValueSetDiff> EventImpact(storage::Reader& reader,
                                         const storage::ValueSetRecord& vs,
                                         const storage::ReleaseRecord& release, bool retracted);

// The ids of the code systems `vs` reads, imports included (those known here).
std::vector<std::string> SystemsOf(const storage::Catalog& catalog,
                                   const storage::ValueSetRecord& vs);

// Matching a licensed system's text (the request's filter, a display filter of the definition)
// would reveal it to a caller without the licence, as Search would: PERMISSION_DENIED naming
// the system and its scope (and `resp` cleared) when the expansion used a release of a system
// whose licence scope the caller lacks (`missing_scope(system id)`: that scope, "" when the
// caller may see the text) and matched text; OK otherwise. The one policy of both ports.
absl::Status RefuseLicensedTextMatch(
    const v1::ExpandValueSetRequest& req, v1::ExpandValueSetResponse* resp,
    const std::function<std::string(const std::string&)>& missing_scope);

// A canonical "url|version" as (url, version); version "" without a '|' (FHIR's separator).
std::pair<std::string, std::string> SplitCanonical(absl::string_view canonical);

// A system by id or canonical URI; NOT_FOUND naming it when neither.
absl::StatusOr<const CodeSystemInfo*> FindSystemByIdOrUri(const storage::Catalog& catalog,
                                                          absl::string_view id_or_uri);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_VALUE_SETS_H_
