// Parsers for publishers' release files. Each turns one file into API concept records
// (codebook.v1.Concept), ready to upload with ReleaseAdmin.UploadConcepts.
//
// Contract for every parser:
//  - the whole file is read and checked before anything is returned, so a caller that uploads
//    only on success writes nothing of a bad file;
//  - a malformed, garbled or truncated file gives INVALID_ARGUMENT whose message starts with
//    "<path>:<line>: " and says what is wrong; a missing file gives NOT_FOUND;
//  - files may be gzip-compressed (detected by content, not by name);
//  - codes are returned as they stand in the file (ICD codes without the dot); the server
//    normalizes them;
//  - `display` is the full (long) description; `designations` hold the other texts ("short").
// The parsers depend only on the API messages: the CLI, tests and benchmarks share them.
#ifndef CODEBOOK_IMPORTERS_IMPORTERS_H_
#define CODEBOOK_IMPORTERS_IMPORTERS_H_

#include <cstdint>
#include <map>
#include <string>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/types.pb.h"

namespace codebook::importers {

using Concepts = std::vector<codebook::v1::Concept>;

// ICD-10-CM or ICD-10-PCS order file (icd10cm_order_YYYY.txt): fixed columns, one code or header
// per line. Flag 1 rows become billable CODE concepts, flag 0 rows HEADER concepts; each
// concept's parent is the nearest code above it in the file (tabular order) that prefixes it. The order number is
// not kept (publishers renumber every release).
absl::StatusOr<Concepts> ParseIcd10Order(const std::string& path);

// CMS HCPCS Level II alpha-numeric fixed-width file (HCPC*_ANWEB*.txt): skips the disclaimer
// lines before the first record, joins long descriptions spread over continuation records,
// reads procedure codes (CODE) and modifiers (MODIFIER), add / action-effective / termination
// dates, the action code and the other fields as properties.
absl::StatusOr<Concepts> ParseHcpcs(const std::string& path);

// CMS HCPCS workbook (anweb.xlsx style): a header row whose first cell is HCPC, possibly below
// note rows, with the record layout's fields as named columns (HCPC, SEQNUM, RECID,
// LONG DESCRIPTION, SHORT DESCRIPTION, ..., ADD DT, ACT EFF DT, TERM DT, ACTION CD); long
// descriptions may continue on RECID 4/8 rows. Gives the same concepts as the fixed-width file
// of the same content: each row is read as the record it stands for.
absl::StatusOr<Concepts> ParseHcpcsXlsx(const std::string& path);

// ICD-10-CM conversion table (CDC/CMS xlsx: columns "Current code assignment", "Effective",
// "Previous Code(s) Assignment", below a note row): one link per code named in the previous
// assignment; the effective year Y becomes "Y-10-01" (the table: "the code effective date is
// October 1 of the year listed"); an assignment that is more than a list of
// codes ("Codes in categories T81.3-T81.4") is kept as the links' note. "None" gives no link.
absl::StatusOr<std::vector<codebook::v1::CodeLink>> ParseIcd10CmConversion(const std::string& path);

// The AMA's CPT data-file set in a folder (searched recursively by file name): LONGULT.txt
// (required: code TAB long descriptor, after a free-text header ending at the first blank line),
// SHORTU.txt and MEDU.txt (fixed width: code in 1-5, descriptor from 7, 28 or 48 characters),
// ConsumerDescriptor.txt and ClinicianDescriptor.txt (tab-delimited with a header row),
// MODUL.txt (modifiers: entries separated by blank lines, under section headings). Codes become
// CODE concepts with a "category" property (I, II for ####F, III for ####T, PLA for ####U,
// vaccine for ####A); modifiers MODIFIER concepts with their "section".
absl::StatusOr<Concepts> ParseCptFolder(const std::string& dir);

// What an ICD-10-CM Tabular file held, counted as the parser took it.
struct TabularCounts {
  std::string version;  // the file's <version>
  // Elements taken, by name: chapter, section, diag, each note element (inclusionTerm,
  // includes, excludes1, excludes2, codeFirst, useAdditionalCode, codeAlso, notes,
  // sevenChrNote), sevenChrDef and its extension (7th characters).
  std::map<std::string, int64_t> elements;
  // Non-empty <note>s taken, by the note element that holds them.
  std::map<std::string, int64_t> notes;
};

// ICD-10-CM Tabular List (icd10cm_tabular_YYYY.xml, CDC's schema icd10cm_tabular.xsd): the
// concepts of the system's Tabular supplement (ICD10CM-TABULAR), in document order:
//  - a chapter: code "CHAPTER-<name>" ("CHAPTER-2"), property chapter=<name>, no parent;
//  - a section (block): code "<first>-<last>" from its id ("C00-C14"; the block of the one
//    category B10, id "B10", is "B10-B10", so no block key equals a code), property block=<id>,
//    parent its chapter;
//  - a diag: its code without the dot, parent its block or the diag above it, kind CODE for a
//    leaf and HEADER otherwise (chapters and blocks are HEADERs too); property placeholder=true
//    for an X-placeholder level.
// Display is <desc> (UTF-8, as the file has it). The notes: inclusionTerm and includes notes are
// the concept's other names, so they are designations (use = element name, one per note); the
// instructions excludes1, excludes2, codeFirst, useAdditionalCode, codeAlso, notes and
// sevenChrNote are properties named by the element, their notes joined by a newline; a sevenChrDef
// gives one property "7th:<char>" per extension (with any <note> after it appended on a line
// of its own). Whitespace in texts is collapsed; <old> text (addenda markup) is left out.
// Billable flags are not set: the order file of the release says which codes are billable.
// The visualImpairment table under H54 is not taken.
absl::StatusOr<Concepts> ParseIcd10CmTabular(const std::string& path,
                                             TabularCounts* counts = nullptr);

// What one ICD-10-CM index file held, counted as the parser took it.
struct IndexCounts {
  std::string file;
  std::string version;  // the file's <version>
  std::string table;    // "index", "external cause", "drug" or "neoplasm"
  // Elements taken, by name: mainTerm, term, code, see, seeAlso, seecat, subcat, manif,
  // warning, cell, and "cell code" for the cells that hold a code (not "-" or "--").
  std::map<std::string, int64_t> elements;
  // `see` references resolved to a term of the same file, and those that name none.
  // and those that name another table ("Neoplasm, by site", "Table of Drugs and Chemicals").
  int64_t see_resolved = 0, see_unresolved = 0, see_other_table = 0;
  std::vector<std::string> unresolved;  // the first few, "term path -> see text"
};

// ICD-10-CM Alphabetic Index (icd10cm_index_YYYY.xml), External Cause Index (_eindex_), Table
// of Drugs and Chemicals (_drug_) and Neoplasm Table (_neoplasm_), CDC's schema
// icd10cm_index.xsd: the concepts of the system's Index supplement (ICD10CM-INDEX). `path` is
// one file or a folder holding them (found by the publisher's names); each table may appear
// once. One concept per main term and subterm:
//  - code: the table ("INDEX", "EXTERNAL", "DRUG", "NEOPLASM"), ":", then the upper-case titles
//    of the path from the main term, without nonessential modifiers, joined by ">"
//    ("INDEX:ATTACK, ATTACKS>HEART"); a sibling of the same title gets " #2", ...;
//  - display: the titles of the path joined by ", " ("Attack, attacks, heart"); parent: the
//    term above; kind HEADER when it has subterms, else CODE;
//  - designation "nemod": the nonessential modifiers of its title ("(acute) (double)");
//  - properties: table, title, and the term's code, see, seeAlso, seecat, subcat, manif and
//    warning as written ("J18.9", "S52.50-"); for the drug and neoplasm tables one property per
//    column that holds a code, named by its heading in lower case ("malignant primary",
//    "poisoning, accidental (unintentional)"); for a `see` resolved to a term of the same file,
//    see.term (its key) and see.code (its code, when it has one).
// Every code written must have the ICD-10-CM shape (a trailing "-" allowed); anything else is
// INVALID_ARGUMENT naming file and line.
absl::StatusOr<Concepts> ParseIcd10CmIndex(const std::string& path,
                                           std::vector<IndexCounts>* counts = nullptr);

// What an ICD-10-PCS Tables file held: its <version>, tables, rows, and the codes its rows
// generate (each row's labels multiplied out).
struct PcsTablesCounts {
  std::string version;
  int64_t tables = 0, rows = 0, codes = 0;
};

// ICD-10-PCS Tables (icd10pcs_tables_YYYY.xml): the concepts of the ICD10PCS-TABLES supplement.
//  - a table: code its 3-character prefix ("0DT"), kind HEADER, display the meanings of its
//    three characters joined by " / " ("Medical and Surgical / Gastrointestinal System /
//    Resection"); properties "1 Section", "2 Body System", "3 Operation" ("<char> <meaning>")
//    and the operation's "definition";
//  - each of its rows: code "<prefix>:<row number, 3 digits>" ("0DT:007"), parent the table,
//    kind CODE, display the table's and the row's body parts; properties "4 Body Part",
//    "5 Approach", "6 Device", "7 Qualifier" (one "<char> <meaning>" line per label, in the
//    file's order; the axis titles as the file writes them) and "codes" (how many codes the
//    row makes).
// A row whose codes="N" differs from its labels' product, an axis whose values="N" differs from
// its labels, a label that is not one character, or a table without its three axes is
// INVALID_ARGUMENT naming file and line.
absl::StatusOr<Concepts> ParseIcd10PcsTables(const std::string& path,
                                             PcsTablesCounts* counts = nullptr);

// What the ICD-10-PCS Index and Definitions files held, by element name: mainTerm, term, code,
// codes, tab, see, use (index); section, terms, aggregate (definitions).
struct PcsIndexCounts {
  std::string index_version, definitions_version;
  std::map<std::string, int64_t> elements;
};

// ICD-10-PCS Index (icd10pcs_index_YYYY.xml) and Definitions (icd10pcs_definitions_YYYY.xml):
// the concepts of the ICD10PCS-INDEX supplement. `path` is one file or a folder holding them
// (by the publisher's names: a name with "definitions" is the Definitions).
//  - an index term: code "INDEX:" and the upper-case titles of its path joined by ">"
//    ("INDEX:APPENDECTOMY>SEE RESECTION, APPENDIX"); a term without a title (a list of
//    references under its main term) is titled by its reference ("see Resection, Appendix");
//    a sibling of the same title gets " #2", ...; display the titles joined by ", "; parent the
//    term above; properties table=index, title, and code (a full code), codes (a partial
//    code, its own or inside its see), tab (a table), see and use as written;
//  - a definition: code "DEFINITIONS:<section char>><AXIS TITLE>><TERM TITLE>"
//    ("DEFINITIONS:0>OPERATION>RESECTION"), display "<section>, <axis>, <term>"; properties
//    table=definitions, section, axis ("3 Operation"), title, definition, explanation, includes.
// Every code written must be 1 to 7 digits or capital letters; anything else is
// INVALID_ARGUMENT naming file and line.
absl::StatusOr<Concepts> ParseIcd10PcsIndex(const std::string& path,
                                            PcsIndexCounts* counts = nullptr);

// What a FHIR CodeSystem resource says of itself, beside its concepts.
struct FhirCodeSystem {
  // The definition to register it with: uri (url), id (the last segment of the url, made into
  // a valid system id: "v3-ActReason"), title (title, else name, else the id), publisher,
  // case_sensitive (caseSensitive; FHIR's default is false), hierarchy_meaning.
  codebook::v1::CodeSystem system;
  std::string resource_id;  // "id", "" when absent
  std::string version;      // "version", "" when absent
  std::string date;         // the day of "date" (YYYY-MM-DD), "" when absent
  std::string content;      // complete, fragment, supplement, example or not-present
  std::string supplements;  // the canonical it supplements, for content "supplement"
  std::string language;     // the resource's language, "" when absent
  Concepts concepts;
  std::string resource_json;  // the resource without its concepts, as JSON
};

// A FHIR R4 or R5 CodeSystem resource in JSON, checked element by element (importers/fhir_json.h:
// anything unknown or of the wrong type is INVALID_ARGUMENT "<path>: <json path>: <what>").
// Each concept, nested ones included, in document order:
//  - code as written; display; a nested concept's parent is the concept it is nested in (a
//    top-level one takes its first "parent" property, if any);
//  - designations with their language and their use as "system|code";
//  - properties by the resource's property codes, several values of one joined by "\n", each
//    value as fhir::ValueText writes it; "definition" (and "definition:<lang>") as properties;
//  - status from the properties whose meaning (the property's uri in
//    http://hl7.org/fhir/concept-properties, else its code) is status (retired or inactive:
//    INACTIVE), inactive (true: INACTIVE) and notSelectable (true: a HEADER, not billable);
//    every other concept is a billable CODE.
// A code given twice (by case, in a case-insensitive system) is an error naming both places.
absl::StatusOr<FhirCodeSystem> ParseFhirCodeSystem(const std::string& path);

// What a FHIR ValueSet resource says: the value set (its compose as include and exclude rules:
// system as its URI, version, codes, filters as property/op/value, imported value sets), and
// its date.
struct FhirValueSet {
  codebook::v1::ValueSet value_set;  // version "" when the resource has none
  std::string date;                  // the day of "date", "" when absent
};

// A FHIR R4 or R5 ValueSet resource in JSON, checked element by element like
// ParseFhirCodeSystem. It needs a url and a compose with at least one include; an expansion
// element, if any, is not read (Codebook expands). compose.inactive and lockedDate are read
// and not kept.
// The version's value_set.resource_json keeps the resource, without its expansion.
absl::StatusOr<FhirValueSet> ParseFhirValueSet(const std::string& path);
// The same for a resource already in memory (one passed with a FHIR request); `where` names it
// in errors ("tx-resource[2]").
absl::StatusOr<FhirValueSet> ParseFhirValueSetJson(const std::string& json,
                                                   const std::string& where);

// File formats by their CLI name: "icd10cm-order", "icd10pcs-order", "hcpcs", "hcpcs-xlsx",
// "cpt" (a folder), "icd10cm-tabular", "icd10cm-index" (a file or a folder), "icd10pcs-tables",
// "icd10pcs-index" (a file or a folder), "fhir-codesystem" (its concepts).
absl::StatusOr<Concepts> ParseFile(absl::string_view format, const std::string& path);

// Receives the concepts of a file in chunks, in file order; returns false to stop the parse.
using ChunkSink = std::function<bool(Concepts chunk)>;
// ParseFile, handing the concepts over in chunks of `chunk` (the last may be shorter) while the
// file is still being read, so that a caller can send each chunk on as the next is parsed. The
// order formats are read chunk by chunk; the others are parsed whole, then handed over. An
// error can come after chunks were handed over (a bad line further down, a code given twice,
// a file cut short): a caller must then drop everything it received. CANCELLED if the sink
// stopped the parse.
absl::Status ParseFileInChunks(absl::string_view format, const std::string& path, size_t chunk,
                               const ChunkSink& sink);
// The names ParseFile accepts, comma-separated, for help and error messages.
std::string FormatNames();

}  // namespace codebook::importers

#endif  // CODEBOOK_IMPORTERS_IMPORTERS_H_
