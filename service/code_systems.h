// The code systems Codebook knows, and how each writes its codes: the built-in ones (the four US
// code sets and their supplements, defined here) and the ones registered in the store (read from
// its catalog's registry, storage::CodeSystemRecord).
//
// Every code is kept in a "storage form" (ICD-10-CM without its dot, upper case) and shown in
// its "printed form" (ICD-10-CM dotted after the third character). NormalizeCode accepts any
// form a person types; PrintedCode turns a storage form back. Thread-safe.
#ifndef CODEBOOK_SERVICE_CODE_SYSTEMS_H_
#define CODEBOOK_SERVICE_CODE_SYSTEMS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/catalog.h"
#include "storage/records.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace codebook::storage {
class Store;
}  // namespace codebook::storage

namespace codebook::service {

enum class CodeFormat {
  kIcd10Cm,   // a letter and 2 to 6 letters/digits, dot after the third
  kIcd10Pcs,  // up to 7 letters/digits, no dot
  kHcpcs,     // 5 letters/digits (Level II: a letter first), or a 2-character modifier
  kCpt,       // 4 digits + a digit or letter, or a 2-character modifier
  // The ICD-10-CM Tabular supplement: ICD-10-CM codes (as kIcd10Cm), blocks "FIRST-LAST"
  // ("I10-I16") and chapters "CHAPTER-<name>" ("CHAPTER-9"). A key with a hyphen is never a code.
  kIcd10CmTabular,
  // An alphabetic index supplement (ICD-10-CM's, ICD-10-PCS's): term paths ("INDEX:ATTACK,
  // ATTACKS>HEART"), 1 to 1000 bytes, no control characters (titles may hold UTF-8 letters:
  // "Chédiak-Higashi").
  kTermIndex,
  // The ICD-10-PCS Tables supplement: table prefixes ("0DT", 3 letters/digits) and their rows
  // ("0DT:007": the prefix, a colon, 3 digits).
  kIcd10PcsTables,
  // A registered system's own codes: any text of 1 to 256 bytes without control characters,
  // matching the system's code pattern when it has one; upper-cased unless case-sensitive.
  kPattern,
};

struct CodeSystemInfo {
  std::string id;
  std::string uri;
  std::string title;
  std::string publisher;
  CodeFormat format;
  // The scope a caller needs to see the system's text ("" when the text is open to all).
  std::string license_scope;
  // For a supplement, the id of the code system it supplements; "" for a code system. A
  // supplement holds content a publisher ships beside a system's releases (ICD-10-CM's Tabular
  // List with its notes, ...) as releases of its own, each bound to the base system's release
  // of the same version (FHIR's CodeSystem.supplements); see service/supplements.h.
  std::string supplements;
  // For kPattern: the whole-code regular expression (RE2 syntax; "" accepts any code), whether
  // codes differ by case, and what the hierarchy means (FHIR's CodeSystem.hierarchyMeaning).
  std::string code_pattern;
  bool case_sensitive = false;
  std::string hierarchy_meaning;
  std::shared_ptr<const re2::RE2> compiled_pattern;  // code_pattern compiled; null when ""
};

// A system registered in the store (storage::CodeSystemRecord) as the domain uses it.
// INVALID_ARGUMENT naming the field when the record cannot define a system: an id or URI of the
// wrong shape, either one taken by a built-in system, a code format other than "pattern", a
// pattern RE2 cannot compile, a hierarchy meaning FHIR does not define. Called on every new
// definition before it is stored, and on every stored one when read.
absl::StatusOr<CodeSystemInfo> SystemFromRecord(const storage::CodeSystemRecord& r);

// The built-in systems and supplements, ordered by id.
const std::vector<CodeSystemInfo>& KnownSystems();
// A built-in system (the ones the code itself names: claims' ICD10CM, the supplements).
// NOT_FOUND naming the built-in ids if `id` is none of them; INVALID_ARGUMENT if empty.
absl::StatusOr<const CodeSystemInfo*> FindBuiltInSystem(absl::string_view id);

// A system of `catalog`: a built-in one, or one registered in its store. NOT_FOUND naming the
// known ids if `id` is neither; INVALID_ARGUMENT if empty; DATA_LOSS if a stored definition no
// longer passes SystemFromRecord. The pointer stays valid for the life of the process: a
// registered definition is made into a CodeSystemInfo once and never changed or freed (they are
// never removed, and only grow in number), so it may outlive `catalog`.
absl::StatusOr<const CodeSystemInfo*> FindSystem(const storage::Catalog& catalog,
                                                 absl::string_view id);
// The same over `store`'s current catalog, which it reads only for an id that is not built in:
// the request paths' form (a built-in system costs no catalog copy).
absl::StatusOr<const CodeSystemInfo*> FindSystem(const storage::Store& store, absl::string_view id);
// The licence scope a caller needs to see `system`'s text; "" when it is open or unknown.
std::string LicenseScopeOf(const storage::Store& store, absl::string_view system);
// Every system of `catalog`: the built-in ones, then the registered ones, each by id. A stored
// definition that no longer passes SystemFromRecord is left out.
std::vector<const CodeSystemInfo*> AllSystems(const storage::Catalog& catalog);

// Storage form of `input` (trimmed, upper-cased, ICD-10-CM dot removed), or INVALID_ARGUMENT
// saying that it is not a code of the system.
absl::StatusOr<std::string> NormalizeCode(const CodeSystemInfo& system, absl::string_view input);
// Printed form of a storage-form code.
std::string PrintedCode(const CodeSystemInfo& system, absl::string_view code);

// True for "YYYY-MM-DD" naming a real calendar day.
bool IsValidDate(absl::string_view date);
// True for a version label: 1-32 characters of A-Z a-z 0-9 . _ -
bool IsValidVersion(absl::string_view version);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_CODE_SYSTEMS_H_
