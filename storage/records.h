// Records the storage layer keeps: code systems, concepts, releases and their counts.
//
// These are storage's own types; the public API messages (proto/) never reach the disk. Every
// enum value here is written to disk: values are frozen, never reused, and retired values stay
// listed as comments.
#ifndef CODEBOOK_STORAGE_RECORDS_H_
#define CODEBOOK_STORAGE_RECORDS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace codebook::storage {

// What a concept is (mirrors codebook.v1.ConceptKind; on disk as one byte).
enum class ConceptKind : uint8_t {
  kCode = 1,
  kHeader = 2,
  kModifier = 3,
};

// Life-cycle state of a release (on disk as one byte).
enum class ReleaseState : uint8_t {
  kStaged = 1,
  kPublished = 2,
  kRetracted = 3,
};

// What happened to a code in a release, as recorded in the change index (one byte).
enum class ChangeKind : uint8_t {
  kAdded = 1,        // not present in the predecessor and never before
  kDeleted = 2,      // present in the predecessor, absent here
  kChanged = 3,      // present in both, record differs
  kReactivated = 4,  // deleted by an earlier release, present again here
};

// What happened to a release, as recorded in a system's event log (one byte on disk).
enum class EventKind : uint8_t {
  kPublished = 1,
  kRetracted = 2,
};

// One entry of a system's event log: the change feed of its releases.
struct EventRecord {
  uint64_t sequence = 0;  // 1, 2, ... within the system
  EventKind kind = EventKind::kPublished;
  std::string version;
  int64_t time_micros = 0;
};

// A conversion-table link: `code` replaces `previous` from `effective` on.
struct CodeLinkRecord {
  std::string code;
  std::string previous;
  std::string effective;
  std::string note;
};

// One code's content in one release. The code itself is part of the key, not of the record.
struct ConceptRecord {
  std::string display;
  // (use, text) pairs in the publisher's order. A designation with a language keeps it in the
  // use as "use@language" ("@de" without a use); uses and languages never hold '@'.
  std::vector<std::pair<std::string, std::string>> designations;
  ConceptKind kind = ConceptKind::kCode;
  bool billable = false;
  bool active = true;
  std::string parent;  // storage form of the parent code, empty at the top
  std::string added_date;             // "YYYY-MM-DD" or empty
  std::string action_effective_date;  // "YYYY-MM-DD" or empty
  std::string termination_date;       // "YYYY-MM-DD" or empty
  std::string action_code;
  // (name, value) pairs sorted by name, names unique: the encoding is canonical.
  std::vector<std::pair<std::string, std::string>> properties;

  friend bool operator==(const ConceptRecord& a, const ConceptRecord& b) {
    return a.display == b.display && a.designations == b.designations && a.kind == b.kind &&
           a.billable == b.billable && a.active == b.active && a.parent == b.parent &&
           a.added_date == b.added_date && a.action_effective_date == b.action_effective_date &&
           a.termination_date == b.termination_date && a.action_code == b.action_code &&
           a.properties == b.properties;
  }
  friend bool operator!=(const ConceptRecord& a, const ConceptRecord& b) { return !(a == b); }
};

// Change counts of a published release against its predecessor; see codebook.v1.ReleaseCounts.
struct ReleaseCounts {
  int64_t added = 0;
  int64_t deleted = 0;
  int64_t changed = 0;
  int64_t total_active = 0;
  int64_t total = 0;
  int64_t billable_added = 0;
  int64_t billable_removed = 0;
  int64_t headers_added = 0;
  int64_t headers_removed = 0;

  friend bool operator==(const ReleaseCounts& a, const ReleaseCounts& b) {
    return a.added == b.added && a.deleted == b.deleted && a.changed == b.changed &&
           a.total_active == b.total_active && a.total == b.total &&
           a.billable_added == b.billable_added && a.billable_removed == b.billable_removed &&
           a.headers_added == b.headers_added && a.headers_removed == b.headers_removed;
  }
};

// One code system (or supplement) of the registry: what the store knows of it apart from its
// releases. The storage layer keeps these fields and does not interpret them; the domain layer
// gives them their meaning (service/code_systems.h).
struct CodeSystemRecord {
  std::string id;  // the key: "ICD10CM", "POS", ...
  std::string uri;  // canonical URI, unique in the registry
  std::string title;
  std::string publisher;
  // How its codes are checked and written: the name of a built-in format ("icd10cm", ...) or
  // "pattern" (code_pattern and case_sensitive say).
  std::string code_format;
  std::string code_pattern;  // a regular expression over whole codes; "" when none
  bool case_sensitive = true;
  std::string hierarchy_meaning;  // FHIR's CodeSystem.hierarchyMeaning ("is-a", ...); "" none
  std::string license_scope;      // the scope a caller needs to see its text; "" open to all
  std::string supplements;        // the id of the system it supplements; "" for a code system
  int64_t create_time_micros = 0;

  // Equal definitions: every field but the creation time.
  bool SameDefinition(const CodeSystemRecord& o) const {
    return id == o.id && uri == o.uri && title == o.title && publisher == o.publisher &&
           code_format == o.code_format && code_pattern == o.code_pattern &&
           case_sensitive == o.case_sensitive && hierarchy_meaning == o.hierarchy_meaning &&
           license_scope == o.license_scope && supplements == o.supplements;
  }
};

// One filter of a value-set rule (FHIR's ValueSet.compose.include.filter): `property` `op`
// `value`, as the domain layer defines them (service/value_sets.h).
struct ValueSetFilterRecord {
  std::string property;
  std::string op;
  std::string value;

  friend bool operator==(const ValueSetFilterRecord& a, const ValueSetFilterRecord& b) {
    return a.property == b.property && a.op == b.op && a.value == b.value;
  }
};

// One include or exclude entry of a value set (FHIR's ValueSet.compose.include): the concepts
// of `system` (an id of the registry or a built-in one; "" when the entry only imports value
// sets) that are listed in `codes` (none listed: every concept) and pass every filter, and
// that are in every value set of `value_sets` (canonical "url" or "url|version").
struct ValueSetRuleRecord {
  std::string system;
  std::string version;  // a release version of `system`; "" for the release the read selects
  std::vector<std::string> codes;  // as the definition writes them
  std::vector<ValueSetFilterRecord> filters;
  std::vector<std::string> value_sets;

  friend bool operator==(const ValueSetRuleRecord& a, const ValueSetRuleRecord& b) {
    return a.system == b.system && a.version == b.version && a.codes == b.codes &&
           a.filters == b.filters && a.value_sets == b.value_sets;
  }
};

// One version of a value set. Immutable once stored: a new definition is a new version.
struct ValueSetRecord {
  std::string url;      // canonical URL; with the version, the key
  std::string version;  // 1-64 bytes
  std::string title;
  std::string publisher;
  std::string description;
  std::vector<ValueSetRuleRecord> includes;
  std::vector<ValueSetRuleRecord> excludes;
  int64_t create_time_micros = 0;
  // The FHIR ValueSet resource the version was made from (JSON, without its expansion); ""
  // when it was not made from one. Only describes the version, as the title does.
  std::string resource_json;

  // Equal definitions: every field but the creation time.
  bool SameDefinition(const ValueSetRecord& o) const {
    return SameRules(o) && title == o.title && publisher == o.publisher &&
           description == o.description && resource_json == o.resource_json;
  }
  // The same version with the same rules: what a version must never change (its title,
  // publisher and description only describe it).
  bool SameRules(const ValueSetRecord& o) const {
    return url == o.url && version == o.version && includes == o.includes &&
           excludes == o.excludes;
  }
};

// One release of one code system.
struct ReleaseRecord {
  std::string system;
  std::string version;
  std::string effective_date;  // "YYYY-MM-DD"
  ReleaseState state = ReleaseState::kStaged;
  uint64_t sequence = 0;  // 0 while staged; 1, 2, ... in publish order within the system
  ReleaseCounts counts;
  std::string checksum;  // "sha256:<hex>", set at publish
  std::string description;
  int64_t create_time_micros = 0;   // Unix epoch, microseconds
  int64_t publish_time_micros = 0;  // 0 while staged
  int64_t staged_concepts = 0;
  std::string retract_reason;       // set when retracted
  int64_t retract_time_micros = 0;  // 0 unless retracted
  // The FHIR CodeSystem resource the release was imported from, as JSON without its concepts
  // (its name, version, properties and their types, ...); "" when it came from elsewhere. Not
  // covered by the checksum, which is of the concepts.
  std::string resource_json;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_RECORDS_H_
