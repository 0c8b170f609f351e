// Checking codes for a date of service: single codes (ValidateCode), codes with modifiers
// ("99213-25"), and claim lines (ValidateClaim).
//
// CodeChecker answers "is this code valid on this date" against the release of its system in
// force on the date, remembering the release picked for each (system, date) seen. A claim
// line's ICD-10-CM diagnoses are also checked against the Tabular List's notes (tabular.h): an
// Excludes1 note of one naming another, a manifestation code listed first, a missing 7th
// character, and as advisories "use additional code" and other "code first" notes. Modifiers
// are looked up in the code's system and, for CPT and HCPCS, in the other one (CPT codes take
// HCPCS Level II modifiers such as LT, HCPCS codes take CPT modifiers such as 25). Not
// thread-safe: one per request or stream.
#ifndef CODEBOOK_SERVICE_CLAIMS_H_
#define CODEBOOK_SERVICE_CLAIMS_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/terminology.pb.h"
#include "service/code_systems.h"
#include "service/tabular.h"
#include "storage/store.h"

namespace codebook::service {

// Maximum lines in one ValidateClaim request (documented in terminology.proto).
inline constexpr int kMaxClaimLines = 10000;

// "99213-25-LT" -> code "99213", modifiers {"25", "LT"}. Only CPT and HCPCS codes take
// modifiers; for other systems the whole input is the code.
void SplitModifiers(const CodeSystemInfo& system, absl::string_view input, std::string* code,
                    std::vector<std::string>* modifiers);

class CodeChecker {
 public:
  struct Result {
    v1::ValidationOutcome outcome = v1::VALIDATION_OUTCOME_UNSPECIFIED;
    std::string message;
    const storage::ReleaseRecord* release = nullptr;     // in force on the date; null if none
    const storage::ReleaseRecord* deleted_in = nullptr;  // for DELETED
    bool found = false;                                  // record is set
    std::string code;                                    // storage form, when well formed
    storage::ConceptRecord record;
  };

  // Reads through a reader of its own, made now. `store` and `tabulars` must outlive the
  // checker; "today" answers an empty date.
  CodeChecker(const storage::Store* store, std::string today, TabularCache* tabulars);
  // Reads through `reader`, a request's own (so that one answer sees one snapshot), which must
  // outlive the checker.
  CodeChecker(storage::Reader* reader, std::string today, TabularCache* tabulars);

  // Checks one code (no modifiers) of `system` on `date` ("YYYY-MM-DD", already valid). When no
  // release of the system is in force on the date, returns NOT_FOUND (its message says so).
  absl::Status Check(const CodeSystemInfo& system, absl::string_view code, absl::string_view date,
                     Result* out);
  // The same against `release` (one of the system's published releases, which must outlive
  // the result) instead of the release in force on the date.
  absl::Status Check(const CodeSystemInfo& system, absl::string_view code, absl::string_view date,
                     const storage::ReleaseRecord* release, Result* out);
  // Checks a modifier of a `system` code on `date`: fills `out` (valid, message, concept).
  absl::Status CheckModifier(const CodeSystemInfo& system, absl::string_view modifier,
                             absl::string_view date, v1::ModifierCheck* out);
  // Checks one claim line; `index` and `default_date` as in ValidateClaimRequest.
  absl::Status CheckLine(const v1::ClaimLine& line, int index, absl::string_view default_date,
                         v1::ClaimLineResult* out);

  storage::Reader& reader() { return *reader_; }
  const std::string& today() const { return today_; }

 private:
  const storage::ReleaseRecord* InForce(const std::string& system, absl::string_view date);
  // A line's diagnoses checked against each other's Tabular notes (see ClaimIssueKind).
  struct Diagnosis {
    std::string given;  // as on the line
    std::string code;   // storage form
    bool first;         // listed first on the line
    std::string display;
    const storage::ReleaseRecord* release;  // in force on the date
    std::shared_ptr<const TabularRelease> tabular;
    TabularRelease::Chain chain;  // not empty
  };
  void CheckNotes(const std::vector<Diagnosis>& dx, v1::ClaimLineResult* out);

  std::unique_ptr<storage::Reader> owned_;  // when made by the checker
  storage::Reader* reader_;
  std::string today_;
  std::map<std::pair<std::string, std::string>, const storage::ReleaseRecord*> in_force_;
  TabularCache* tabulars_;
  // The Tabular of each ICD-10-CM release seen (null: none), so the shared cache is asked once.
  std::map<uint64_t, std::shared_ptr<const TabularRelease>> tabular_of_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_CLAIMS_H_
