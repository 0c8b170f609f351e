// Every key and value byte layout of the store, in one place.
//
// Column families and their keys ("|" only separates fields in these diagrams; 0x00 bytes are
// real). System ids, codes and version labels never contain 0x00 (the domain layer checks).
//
//   default   "schema_version"                           -> decimal text, currently "2"
//   releases  system 0x00 version                        -> ReleaseValue
//   concepts  system 0x00 code 0x00 BE64(~sequence)      -> ConceptEntry
//   changes   system 0x00 BE64(sequence) code            -> 1 byte ChangeKind
//   staging   system 0x00 version 0x00 code              -> ConceptRecord body (no tag)
//   events    system 0x00 BE64(event sequence)           -> EventValue
//   links     system 0x00 code 0x00 'P' previous         -> LinkValue   (code replaces previous)
//             system 0x00 previous 0x00 'S' code         -> LinkValue   (the same link, by previous)
//   terms     system 0x00 term 0x00 BE64(~sequence)          -> TermEntry
//   systems   system                                     -> SystemValue (the registry)
//   valuesets url 0x00 version                           -> ValueSetValue
//
// terms is the search index, versioned like concepts: the entry of a term at release R lists
// the codes whose text (storage/terms.h) gained or lost the term in R; the codes that have the
// term as of R are the replay of its entries up to R, oldest first. Publish writes an entry
// only for the terms that changed, so a release costs the index its changes, not a copy.
// Schema version 1 had no terms; Store::Open builds them from concepts and moves to 2.
//
// concepts keys sort by system, then code, then by *decreasing* sequence (the one's complement
// of a big-endian number), so one Seek(system|code|~R) lands on the newest entry at or before
// release R: the pattern of LevelDB's internal keys. A code that is a prefix of another ("E11",
// "E119") sorts first because 0x00 is below every code byte.
//
// ConceptEntry:   tag:u8  (1 = present, followed by the record body; 2 = deleted, nothing else)
// Record body:    flags:u8 (bit0 billable, bit1 active) | kind:u8 | str display
//                 | varint32 n | n x (str use | str text)
//                 | str parent | str added_date | str action_effective_date
//                 | str termination_date | str action_code
//                 | varint32 m | m x (str name | str value)
// str:            varint32 length | bytes
// ReleaseValue:   format:u8 | str system | str version | str effective_date | state:u8
//                 | varint64 sequence | 9 x varint64 counts (added, deleted, changed,
//                 total_active, total, billable_added, billable_removed, headers_added,
//                 headers_removed) | str checksum | str description
//                 | varint64 create_time_micros | varint64 publish_time_micros
//                 | varint64 staged_concepts
//                 format 2 adds: | str retract_reason | varint64 retract_time_micros
//                 (format 1, without them, is still read; new records are written as format 2)
//                 format 3 adds, after those: | str resource_json (written only for a release
//                 that has one; others stay format 2)
//
// SystemValue:    format:u8 (=1) | str uri | str title | str publisher | str code_format
//                 | str code_pattern | flags:u8 (bit0 case sensitive) | str hierarchy_meaning
//                 | str license_scope | str supplements | varint64 create_time_micros
//                 (the id is the key)
// ValueSetValue:  format:u8 (=1 or 2) | str title | str publisher | str description
//                 | varint32 n | n x Rule (the includes) | varint32 m | m x Rule (the excludes)
//                 | varint64 create_time_micros          (url and version are the key)
//                 [format 2 only: | str resource_json]   (format 1 when resource_json is empty,
//                                                         so older values read as before)
//   Rule:         str system | str version | varint32 c | c x str code
//                 | varint32 f | f x (str property | str op | str value)
//                 | varint32 v | v x str value set
// EventValue:     format:u8 (=1) | kind:u8 | str version | varint64 time_micros
// LinkValue:      format:u8 (=1) | str effective | str note
// TermEntry:      varint32 n | n x (str code | tag:u8)  codes ascending; tag 1 = the code gains
//                 the term in this release, 2 = it loses it
//
// Decoders never read past their input: truncated or garbled bytes give a DATA_LOSS status.
// Record bodies are canonical (same record -> same bytes), which the release checksum relies on.
#ifndef CODEBOOK_STORAGE_ENCODING_H_
#define CODEBOOK_STORAGE_ENCODING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/records.h"

namespace codebook::storage {

// The column families (the diagram above), in the order the store opens them; their names on
// disk are frozen (ColumnFamilyName).
enum class ColumnFamilyId : int {
  kDefault = 0,  // the schema version only
  kReleases,
  kConcepts,
  kChanges,
  kStaging,
  kEvents,
  kLinks,
  kTerms,
  kSystems,  // added after schema version 2; an older database gets it, empty, when opened
  kValueSets,  // likewise
};
inline constexpr int kColumnFamilyCount = 10;
// The name of a column family in the database ("default", "releases", ...).
const char* ColumnFamilyName(ColumnFamilyId id);

inline constexpr int kSchemaVersion = 2;
inline constexpr absl::string_view kSchemaVersionKey = "schema_version";

// --- primitive coding ---
void PutVarint64(std::string* dst, uint64_t v);
void PutLengthPrefixed(std::string* dst, absl::string_view s);
void PutBigEndian64(std::string* dst, uint64_t v);
// Each Get* consumes from the front of *in; false if *in is too short or malformed.
bool GetVarint64(absl::string_view* in, uint64_t* v);
bool GetLengthPrefixed(absl::string_view* in, absl::string_view* s);
bool GetBigEndian64(absl::string_view* in, uint64_t* v);

// --- keys ---
// The smallest string greater than every string that starts with `prefix` (trailing 0xff bytes
// dropped, then the last byte raised); empty when there is none, meaning "no upper bound".
std::string PrefixEnd(std::string prefix);
// "system 0x00": prefix of every key of a system in releases, concepts and changes.
std::string SystemPrefix(absl::string_view system);
std::string ReleaseKey(absl::string_view system, absl::string_view version);
std::string ConceptKey(absl::string_view system, absl::string_view code, uint64_t sequence);
// "system 0x00 code 0x00": prefix of every entry of one code.
std::string ConceptCodePrefix(absl::string_view system, absl::string_view code);
// Splits a concepts key that starts with SystemPrefix(system) into code and sequence.
bool DecodeConceptKey(absl::string_view key, size_t system_prefix_len, absl::string_view* code,
                      uint64_t* sequence);
std::string ChangeKey(absl::string_view system, uint64_t sequence, absl::string_view code);
std::string ChangePrefix(absl::string_view system, uint64_t sequence);
std::string StagingPrefix(absl::string_view system, absl::string_view version);
std::string StagingKey(absl::string_view system, absl::string_view version, absl::string_view code);
// A whole concepts key split into system, code and sequence (its system is what comes before
// the first 0x00); false when it is not one.
bool SplitConceptKey(absl::string_view key, absl::string_view* system, absl::string_view* code,
                     uint64_t* sequence);
// What follows the first `prefix_len` bytes of a key: the code of a changes key after its
// ChangePrefix, of a staging key after its StagingPrefix, the other code of a links key after
// its LinkPrefix.
absl::string_view KeyAfterPrefix(absl::string_view key, size_t prefix_len);
std::string EventKey(absl::string_view system, uint64_t sequence);
// A whole events key split into system and event sequence; false when it is not one.
bool DecodeEventKey(absl::string_view key, absl::string_view* system, uint64_t* sequence);
// The two directions a link is stored in (the kind byte of its key): under the new code, listing
// its predecessors; under the previous code, listing its successors.
enum class LinkKind : char { kPredecessors = 'P', kSuccessors = 'S' };
std::string LinkKey(absl::string_view system, absl::string_view from, LinkKind kind,
                    absl::string_view to);
std::string LinkPrefix(absl::string_view system, absl::string_view from, LinkKind kind);

// "system 0x00 term 0x00 BE64(~sequence)".
std::string TermKey(absl::string_view system, absl::string_view term, uint64_t sequence);
// Splits a terms key that starts with SystemPrefix(system) into term and sequence.
bool DecodeTermKey(absl::string_view key, size_t system_prefix_len, absl::string_view* term,
                   uint64_t* sequence);

// --- values ---
void EncodeConceptRecord(const ConceptRecord& r, std::string* dst);  // record body
absl::Status DecodeConceptRecord(absl::string_view in, ConceptRecord* r);

enum class EntryTag : uint8_t { kPresent = 1, kDeleted = 2 };
std::string EncodePresentEntry(const ConceptRecord& r);
std::string EncodeDeletedEntry();
// Sets *deleted, and *r when present (r may be null to skip decoding the body).
absl::Status DecodeConceptEntry(absl::string_view in, bool* deleted, ConceptRecord* r);
// A present entry from a record body already encoded, into *dst (replacing its content).
void EncodePresentEntryFromBody(absl::string_view body, std::string* dst);
// True when `entry` is a present entry, with *body its record body (not decoded); false for a
// deleted entry and for bytes that are no entry (which DecodeConceptEntry refuses).
bool PresentBody(absl::string_view entry, absl::string_view* body);

// The flags of a record body, read without decoding the rest; all false (present too) for
// bytes too short to be a body.
struct RecordFlags {
  bool present = false;
  bool billable = false;
  bool active = false;
  bool header = false;  // kind is ConceptKind::kHeader
};
RecordFlags FlagsOf(absl::string_view body);

// A TermEntry: (code, gains) pairs, codes ascending.
void EncodeTermEntry(const std::vector<std::pair<absl::string_view, bool>>& codes,
                     std::string* dst);
// Calls fn(code, gains) for each pair of a TermEntry, in order.
absl::Status DecodeTermEntry(absl::string_view in,
                             const std::function<void(absl::string_view code, bool gains)>& fn);

// The value of a changes row.
std::string EncodeChange(ChangeKind kind);

std::string EncodeEvent(const EventRecord& e);
// Fills everything but e->sequence, which is in the key.
absl::Status DecodeEvent(absl::string_view in, EventRecord* e);

std::string EncodeLink(const CodeLinkRecord& l);
// Fills effective and note (code and previous are in the key).
absl::Status DecodeLink(absl::string_view in, CodeLinkRecord* l);

// A registry entry (its key is the id, SystemKey).
// A value-set version (url and version never hold 0x00; the domain checks).
std::string ValueSetKey(absl::string_view url, absl::string_view version);
bool DecodeValueSetKey(absl::string_view key, std::string* url, std::string* version);
std::string EncodeValueSet(const ValueSetRecord& r);
// Fills everything but url and version (the key's).
absl::Status DecodeValueSet(absl::string_view in, ValueSetRecord* r);
std::string SystemKey(absl::string_view id);
std::string EncodeSystem(const CodeSystemRecord& r);
// Fills everything but r->id, which is the key. DATA_LOSS on garbled or truncated bytes, or on
// flag bits this version does not know.
absl::Status DecodeSystem(absl::string_view in, CodeSystemRecord* r);

std::string EncodeRelease(const ReleaseRecord& r);
absl::Status DecodeRelease(absl::string_view in, ReleaseRecord* r);

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_ENCODING_H_
