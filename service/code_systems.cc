#include "service/code_systems.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "re2/re2.h"
#include "storage/store.h"

namespace codebook::service {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c); }

bool AllAlnum(absl::string_view s) {
  for (char c : s) {
    if (!IsAlnum(c)) return false;
  }
  return true;
}

// The shapes each publisher's documentation allows, no narrower: the check exists to give a
// clear error for input that cannot be a code, and must never refuse a code that an official
// file contains (a newer release may use a shape no earlier one did).
//  - ICD-10-CM (order-file layout, icd10OrderFiles.pdf; tabular schema icd10cm_tabular.xsd):
//    3 to 7 characters, a letter first, then letters or digits; the dot after the third
//    character is not part of the stored code. No position but the first is fixed: categories
//    such as C4A, M1A, Z3A have a letter third, and the layout allows a letter second.
//  - ICD-10-PCS (order-file layout): up to 7 letters or digits; the order file's headers are
//    table prefixes (3 characters), and partial codes are accepted for hierarchy reads.
//  - HCPCS Level II (record layout, field 1): "5 position alpha-numeric codes", or a modifier of
//    2 letters or digits right-justified in the same field.
//  - CPT (AMA data files): 5 characters, 4 digits and then a digit or a letter (F Category II,
//    T Category III, U PLA, A vaccine, M MAAA, and any letter the AMA adds), or a modifier of
//    2 letters or digits.
bool ValidShape(CodeFormat format, absl::string_view c) {
  switch (format) {
    case CodeFormat::kIcd10Cm:
      return c.size() >= 3 && c.size() <= 7 && IsUpper(c[0]) && AllAlnum(c);
    case CodeFormat::kIcd10CmTabular:
      if (c.find('-') == absl::string_view::npos) return ValidShape(CodeFormat::kIcd10Cm, c);
      // A block "A00-A09" or a chapter "CHAPTER-1": letters and digits around single hyphens.
      if (c.size() > 20 || c.front() == '-' || c.back() == '-' ||
          c.find("--") != absl::string_view::npos) {
        return false;
      }
      for (char x : c) {
        if (!IsAlnum(x) && x != '-') return false;
      }
      return true;
    case CodeFormat::kTermIndex:
      if (c.empty() || c.size() > 1000) return false;
      for (char x : c) {
        unsigned char u = static_cast<unsigned char>(x);
        if (u < 0x20 || u == 0x7f) return false;
      }
      return true;
    case CodeFormat::kIcd10Pcs:
      return c.size() >= 1 && c.size() <= 7 && AllAlnum(c);
    case CodeFormat::kIcd10PcsTables:
      return (c.size() == 3 && AllAlnum(c)) ||
             (c.size() == 7 && AllAlnum(c.substr(0, 3)) && c[3] == ':' && IsDigit(c[4]) &&
              IsDigit(c[5]) && IsDigit(c[6]));
    case CodeFormat::kHcpcs:
      return (c.size() == 2 || c.size() == 5) && AllAlnum(c);
    case CodeFormat::kCpt:
      if (c.size() == 2) return AllAlnum(c);
      return c.size() == 5 && IsDigit(c[0]) && IsDigit(c[1]) && IsDigit(c[2]) && IsDigit(c[3]) &&
             IsAlnum(c[4]);
    case CodeFormat::kPattern:
      return false;  // NormalizePatternCode checks these, with the system's pattern
  }
  return false;
}

bool NoControlCharacters(absl::string_view s) {
  for (char x : s) {
    unsigned char u = static_cast<unsigned char>(x);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

constexpr size_t kMaxPatternCode = 256;

absl::StatusOr<std::string> NormalizePatternCode(const CodeSystemInfo& system,
                                                 absl::string_view input) {
  std::string code(absl::StripAsciiWhitespace(input));
  if (!system.case_sensitive) absl::AsciiStrToUpper(&code);
  if (code.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("an empty code is not a ", system.id, " code"));
  }
  if (code.size() > kMaxPatternCode || !NoControlCharacters(code)) {
    return absl::InvalidArgumentError(absl::StrCat("'", absl::CEscape(input), "' is not a valid ",
                                                   system.id, " code (at most ", kMaxPatternCode,
                                                   " bytes, no control characters)"));
  }
  if (system.compiled_pattern != nullptr && !RE2::FullMatch(code, *system.compiled_pattern)) {
    return absl::InvalidArgumentError(absl::StrCat("'", absl::CEscape(input), "' is not a valid ",
                                                   system.id, " code (", system.id,
                                                   " codes match ", system.code_pattern, ")"));
  }
  return code;
}

// [A-Za-z0-9][A-Za-z0-9._-]{0,31}: the shape of every id, built-in ones included.
bool ValidSystemId(absl::string_view id) {
  if (id.empty() || id.size() > 32 || !absl::ascii_isalnum(id[0])) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// An absolute URI: a scheme (a letter, then letters, digits, + - .), a colon, then at least
// one printable character and no spaces; at most 1,000 bytes.
bool ValidUri(absl::string_view uri) {
  size_t colon = uri.find(':');
  if (uri.size() > 1000 || colon == absl::string_view::npos || colon == 0 ||
      colon + 1 == uri.size() || !absl::ascii_isalpha(uri[0])) {
    return false;
  }
  for (char c : uri.substr(0, colon)) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return uri.find(' ') == absl::string_view::npos && NoControlCharacters(uri);
}

}  // namespace

absl::StatusOr<CodeSystemInfo> SystemFromRecord(const storage::CodeSystemRecord& r) {
  auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("code system ", absl::CEscape(r.id), ": ", what));
  };
  if (!ValidSystemId(r.id)) {
    return invalid(
        "the id must be 1 to 32 letters, digits, '.', '_' or '-', a letter or digit first");
  }
  if (!ValidUri(r.uri)) {
    return invalid(absl::StrCat("the URI '", absl::CEscape(r.uri),
                                "' is not an absolute URI (scheme:rest, no spaces)"));
  }
  for (const CodeSystemInfo& known : KnownSystems()) {
    if (absl::EqualsIgnoreCase(known.id, r.id)) return invalid("the id is a built-in system's");
    if (known.uri == r.uri) {
      return invalid(absl::StrCat("the URI is built-in system ", known.id, "'s"));
    }
  }
  if (r.title.empty() || r.title.size() > 500 || !NoControlCharacters(r.title)) {
    return invalid("the title must be 1 to 500 characters without control characters");
  }
  if (r.code_format != "pattern") {
    return invalid(absl::StrCat("code format '", absl::CEscape(r.code_format),
                                "': only 'pattern' is registered (the built-in formats belong "
                                "to the built-in systems)"));
  }
  static const char* const kMeanings[] = {"", "grouped-by", "is-a", "part-of", "classified-with"};
  if (std::find(std::begin(kMeanings), std::end(kMeanings), r.hierarchy_meaning) ==
      std::end(kMeanings)) {
    return invalid(absl::StrCat("hierarchy meaning '", absl::CEscape(r.hierarchy_meaning),
                                "': FHIR defines grouped-by, is-a, part-of and classified-with"));
  }
  if (!r.supplements.empty()) {
    return invalid("supplements of a system cannot be registered yet; only code systems");
  }
  if (r.license_scope.size() > 64 || !NoControlCharacters(r.license_scope) ||
      r.license_scope.find(' ') != std::string::npos) {
    return invalid("the licence scope must be at most 64 characters without spaces");
  }
  CodeSystemInfo info;
  info.id = r.id;
  info.uri = r.uri;
  info.title = r.title;
  info.publisher = r.publisher;
  info.format = CodeFormat::kPattern;
  info.license_scope = r.license_scope;
  info.code_pattern = r.code_pattern;
  info.case_sensitive = r.case_sensitive;
  info.hierarchy_meaning = r.hierarchy_meaning;
  if (!r.code_pattern.empty()) {
    if (r.code_pattern.size() > 1000) return invalid("the code pattern is longer than 1,000 bytes");
    RE2::Options options;
    options.set_log_errors(false);
    auto compiled = std::make_shared<const RE2>(r.code_pattern, options);
    if (!compiled->ok()) {
      return invalid(absl::StrCat("the code pattern '", absl::CEscape(r.code_pattern),
                                  "' is not a regular expression: ", compiled->error()));
    }
    info.compiled_pattern = std::move(compiled);
  }
  return info;
}

const std::vector<CodeSystemInfo>& KnownSystems() {
  static const auto* systems = new std::vector<CodeSystemInfo>{
      {"CPT", "http://www.ama-assn.org/go/cpt", "CPT (Current Procedural Terminology)",
       "American Medical Association", CodeFormat::kCpt, "license:CPT", ""},
      {"HCPCS", "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
       "HCPCS Level II", "Centers for Medicare & Medicaid Services", CodeFormat::kHcpcs, "", ""},
      {"ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM", "CDC/NCHS and CMS",
       CodeFormat::kIcd10Cm, "", ""},
      {"ICD10CM-INDEX", "urn:codebook:supplement:icd-10-cm:index",
       "ICD-10-CM Alphabetic Index, External Cause Index, Table of Drugs and Chemicals, "
       "Neoplasm Table",
       "CDC/NCHS", CodeFormat::kTermIndex, "", "ICD10CM"},
      {"ICD10CM-TABULAR", "urn:codebook:supplement:icd-10-cm:tabular",
       "ICD-10-CM Tabular List: chapters, blocks, instructional notes, 7th characters",
       "CDC/NCHS", CodeFormat::kIcd10CmTabular, "", "ICD10CM"},
      {"ICD10PCS", "http://www.cms.gov/Medicare/Coding/ICD10", "ICD-10-PCS",
       "Centers for Medicare & Medicaid Services", CodeFormat::kIcd10Pcs, "", ""},
      {"ICD10PCS-INDEX", "urn:codebook:supplement:icd-10-pcs:index",
       "ICD-10-PCS Index and Definitions", "Centers for Medicare & Medicaid Services",
       CodeFormat::kTermIndex, "", "ICD10PCS"},
      {"ICD10PCS-TABLES", "urn:codebook:supplement:icd-10-pcs:tables",
       "ICD-10-PCS Tables: each character's axis and meaning, table by table",
       "Centers for Medicare & Medicaid Services", CodeFormat::kIcd10PcsTables, "", "ICD10PCS"},
  };
  return *systems;
}

absl::StatusOr<const CodeSystemInfo*> FindBuiltInSystem(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("a code system is required (e.g. ICD10CM)");
  std::vector<std::string> ids;
  for (const CodeSystemInfo& s : KnownSystems()) {
    if (s.id == id) return &s;
    ids.push_back(s.id);
  }
  return absl::NotFoundError(absl::StrCat("unknown code system '", id,
                                          "'; known systems: ", absl::StrJoin(ids, ", ")));
}

namespace {

// Registered definitions made into CodeSystemInfo, once each, for the life of the process. Keyed
// by id; a process may hold stores with different definitions of one id (tests do), so each id
// keeps every definition seen.
class Interned {
 public:
  absl::StatusOr<const CodeSystemInfo*> Get(const storage::CodeSystemRecord& r) {
    absl::MutexLock l(&mu_);
    std::vector<Entry>& seen = by_id_[r.id];
    for (const Entry& e : seen) {
      if (e.record.SameDefinition(r)) return e.info.get();
    }
    absl::StatusOr<CodeSystemInfo> info = SystemFromRecord(r);
    if (!info.ok()) {
      return absl::DataLossError(absl::StrCat("the stored definition of code system ", r.id,
                                              " is not valid: ", info.status().message()));
    }
    seen.push_back({r, std::make_unique<const CodeSystemInfo>(std::move(*info))});
    return seen.back().info.get();
  }

 private:
  struct Entry {
    storage::CodeSystemRecord record;
    std::unique_ptr<const CodeSystemInfo> info;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Entry>> by_id_ ABSL_GUARDED_BY(mu_);
};

Interned& InternedSystems() {
  static auto* interned = new Interned();
  return *interned;
}

}  // namespace

absl::StatusOr<const CodeSystemInfo*> FindSystem(const storage::Catalog& catalog,
                                                 absl::string_view id) {
  absl::StatusOr<const CodeSystemInfo*> built_in = FindBuiltInSystem(id);
  if (built_in.ok() || !absl::IsNotFound(built_in.status())) return built_in;
  if (const storage::CodeSystemRecord* r = catalog.FindRegistered(id)) {
    return InternedSystems().Get(*r);
  }
  std::vector<std::string> ids;
  for (const CodeSystemInfo* s : AllSystems(catalog)) ids.push_back(s->id);
  return absl::NotFoundError(absl::StrCat("unknown code system '", id,
                                          "'; known systems: ", absl::StrJoin(ids, ", ")));
}

absl::StatusOr<const CodeSystemInfo*> FindSystem(const storage::Store& store,
                                                 absl::string_view id) {
  absl::StatusOr<const CodeSystemInfo*> built_in = FindBuiltInSystem(id);
  if (built_in.ok() || !absl::IsNotFound(built_in.status())) return built_in;
  return FindSystem(*store.catalog(), id);
}

std::string LicenseScopeOf(const storage::Store& store, absl::string_view system) {
  absl::StatusOr<const CodeSystemInfo*> info = FindSystem(store, system);
  return info.ok() ? (*info)->license_scope : "";
}

std::vector<const CodeSystemInfo*> AllSystems(const storage::Catalog& catalog) {
  std::vector<const CodeSystemInfo*> all;
  for (const CodeSystemInfo& s : KnownSystems()) all.push_back(&s);
  for (const auto& [id, r] : catalog.RegisteredSystems()) {
    absl::StatusOr<const CodeSystemInfo*> info = InternedSystems().Get(r);
    if (info.ok()) all.push_back(*info);
  }
  return all;
}

namespace {
bool Dotted(CodeFormat f) { return f == CodeFormat::kIcd10Cm || f == CodeFormat::kIcd10CmTabular; }
}  // namespace

absl::StatusOr<std::string> NormalizeCode(const CodeSystemInfo& system, absl::string_view input) {
  if (system.format == CodeFormat::kPattern) return NormalizePatternCode(system, input);
  std::string code = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(input));
  if (Dotted(system.format) && code.size() > 4 && code[3] == '.') {
    code.erase(3, 1);
  } else if (Dotted(system.format) && code.size() == 4 && code[3] == '.') {
    code.erase(3, 1);  // "E11." is E11
  }
  if (code.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("an empty code is not a ", system.id, " code"));
  }
  if (!ValidShape(system.format, code)) {
    return absl::InvalidArgumentError(absl::StrCat("'", absl::CEscape(input), "' is not a valid ",
                                                   system.id, " code"));
  }
  return code;
}

std::string PrintedCode(const CodeSystemInfo& system, absl::string_view code) {
  if (Dotted(system.format) && code.size() > 3 && code.find('-') == absl::string_view::npos) {
    return absl::StrCat(code.substr(0, 3), ".", code.substr(3));
  }
  return std::string(code);
}

bool IsValidDate(absl::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(d[i])) return false;
  }
  int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  int month = (d[5] - '0') * 10 + (d[6] - '0');
  int day = (d[8] - '0') * 10 + (d[9] - '0');
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int max = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= max;
}

bool IsValidVersion(absl::string_view v) {
  if (v.empty() || v.size() > 32) return false;
  for (char c : v) {
    if (!IsAlnum(c) && !(c >= 'a' && c <= 'z') && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace codebook::service
