#include "importers/importers.h"

#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <tuple>
#include <regex>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "importers/line_reader.h"
#include "importers/xlsx.h"

namespace codebook::importers {
namespace {

using codebook::v1::Concept;

absl::Status LineError(const LineSource& r, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(r.path(), ":", r.line_number(), ": ", what));
}

// Column slice, 1-based inclusive start, as in the publishers' layouts; short lines give "".
absl::string_view Col(absl::string_view line, size_t pos, size_t len) {
  if (pos - 1 >= line.size()) return absl::string_view();
  return line.substr(pos - 1, len);
}

absl::string_view Trim(absl::string_view s) { return absl::StripAsciiWhitespace(s); }

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool AllUpperAlnum(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        !absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// Printable ASCII only: data records of the publishers' files are plain ASCII.
bool PrintableAscii(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

void AddDesignation(Concept* c, const char* use, absl::string_view value) {
  if (value.empty()) return;
  auto* d = c->add_designations();
  d->set_use(use);
  d->set_value(std::string(value));
}

absl::Status EndOfFile(const LineSource& r, bool saw_records) {
  if (!r.status().ok()) return r.status();
  if (!saw_records) {
    return absl::InvalidArgumentError(absl::StrCat(r.path(), ": no records found"));
  }
  return absl::OkStatus();
}

// Publishers' files end every line with CRLF; a last line without one was cut short.
absl::Status CheckTerminated(const LineSource& r) {
  if (r.last_line_terminated()) return absl::OkStatus();
  return LineError(r, "last line has no end of line: the file looks truncated");
}

}  // namespace

namespace {

// The order-file parse, in chunks of `chunk` concepts (0: the whole file in one).
absl::Status ParseIcd10OrderChunks(const std::string& path, size_t chunk, const ChunkSink& sink) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  LineReader& r = **opened;
  Concepts concepts;
  // Room for as many records as the chunk, or the text, can hold (each is at least 79 bytes),
  // so that the vector never grows: a Concept moves by being built anew and swapped, and
  // growing cost a quarter of the parse of a release (0.41 s against 0.31 s). The hint is
  // capped: a file may claim any size.
  constexpr size_t kMinRecord = 79, kMostReserved = 250000;
  const size_t room = std::min(r.size_hint() / kMinRecord + 1, kMostReserved);
  concepts.reserve(chunk == 0 ? room : std::min(chunk, room));

  absl::flat_hash_set<std::string> codes;
  codes.reserve(room);  // growing it took a twentieth of the parse

  std::vector<std::string> ancestors;  // the chain of codes above the current line
  std::string line;
  while (r.Next(&line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (!PrintableAscii(line)) return LineError(r, "unexpected control or non-ASCII byte");
    // 5-digit order number, code in 7-13, flag in 15, short text 17-76, long text from 78.
    if (line.size() < 79) {
      return LineError(r, absl::StrCat("line is ", line.size(),
                                       " characters; an order-file record has at least 79"));
    }
    if (!AllDigits(Col(line, 1, 5)) || line[5] != ' ' || line[13] != ' ' || line[15] != ' ' ||
        line[76] != ' ') {
      return LineError(r, "not an order-file record (order number, code, flag, text columns)");
    }
    absl::string_view code = Trim(Col(line, 7, 7));
    if (code.size() < 3 || !AllUpperAlnum(code)) {
      return LineError(r, absl::StrCat("malformed code '", Col(line, 7, 7), "'"));
    }
    char flag = line[14];
    if (flag != '0' && flag != '1') {
      return LineError(r, absl::StrCat("flag is '", std::string(1, flag), "', expected 0 or 1"));
    }
    absl::string_view short_text = Trim(Col(line, 17, 60));
    absl::string_view long_text = Trim(absl::string_view(line).substr(77));
    if (short_text.empty() || long_text.empty()) return LineError(r, "missing description");
    if (!codes.insert(std::string(code)).second) {
      return LineError(r, absl::StrCat("code ", code, " appears twice"));
    }
    Concept& c = concepts.emplace_back();
    c.set_code(std::string(code));
    c.set_display(std::string(long_text));
    AddDesignation(&c, "short", short_text);
    c.set_kind(flag == '1' ? v1::CONCEPT_KIND_CODE : v1::CONCEPT_KIND_HEADER);
    c.set_billable(flag == '1');
    c.set_status(v1::CONCEPT_STATUS_ACTIVE);
    // The file is in tabular order, every code below its ancestors: the parent is the nearest
    // code above whose code prefixes this one.
    while (!ancestors.empty() && !absl::StartsWith(code, ancestors.back())) ancestors.pop_back();
    if (!ancestors.empty()) c.set_parent(ancestors.back());
    ancestors.emplace_back(code);
    if (chunk != 0 && concepts.size() == chunk) {
      if (!sink(std::move(concepts))) return absl::CancelledError("the parse was stopped");
      concepts = Concepts();
      concepts.reserve(std::min(chunk, room));
    }
  }
  if (absl::Status s = EndOfFile(r, !codes.empty()); !s.ok()) return s;
  if (absl::Status s = CheckTerminated(r); !s.ok()) return s;
  if (!concepts.empty() && !sink(std::move(concepts))) {
    return absl::CancelledError("the parse was stopped");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Concepts> ParseIcd10Order(const std::string& path) {
  Concepts all;
  absl::Status s = ParseIcd10OrderChunks(path, 0, [&all](Concepts chunk) {
    all = std::move(chunk);
    return true;
  });
  if (!s.ok()) return s;
  return all;
}

namespace {

// "CCYYMMDD" or blanks -> "YYYY-MM-DD" or "".
bool HcpcsDate(absl::string_view field, std::string* out) {
  field = Trim(field);
  out->clear();
  if (field.empty()) return true;
  if (field.size() != 8 || !AllDigits(field)) return false;
  int month = (field[4] - '0') * 10 + (field[5] - '0');
  int day = (field[6] - '0') * 10 + (field[7] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  *out = absl::StrCat(field.substr(0, 4), "-", field.substr(4, 2), "-", field.substr(6, 2));
  return true;
}

void SetProperty(Concept* c, const char* name, absl::string_view value) {
  if (!value.empty()) (*c->mutable_properties())[name] = std::string(value);
}

// The fields of the HCPCS record layout (SOURCES.md 2.4; HCPC*_recordlayout.txt), each with the
// header of its column in CMS's workbook and its columns in the 320-byte fixed-width record.
// The two files are two spellings of one record: each source reads its own spelling into a
// HcpcsRecord, and one parser turns records into concepts.
enum HcpcsField : int {
  kHcpc, kSeqNum, kRecId, kLongDescription, kShortDescription,
  kPrice1, kPrice2, kPrice3, kPrice4, kMultPi,
  kCim1, kCim2, kCim3, kMcm1, kMcm2, kMcm3, kStatute,
  kLabCert1, kLabCert2, kLabCert3, kLabCert4, kLabCert5, kLabCert6, kLabCert7, kLabCert8,
  kXref1, kXref2, kXref3, kXref4, kXref5,
  kCov, kAscGrp, kAscDt, kProcNote, kBetos, kTos1, kTos2, kTos3, kTos4, kTos5, kAnestBu,
  kAddDt, kActEffDt, kTermDt, kActionCd,
  kFieldCount
};

struct HcpcsFieldSpec {
  const char* header;  // the workbook's column header
  size_t pos, len;     // 1-based columns in the fixed-width record
};

const HcpcsFieldSpec kHcpcsFields[kFieldCount] = {
    {"HCPC", 1, 5}, {"SEQNUM", 6, 5}, {"RECID", 11, 1}, {"LONG DESCRIPTION", 12, 80},
    {"SHORT DESCRIPTION", 92, 28},
    {"PRICE1", 120, 2}, {"PRICE2", 122, 2}, {"PRICE3", 124, 2}, {"PRICE4", 126, 2},
    {"MULT_PI", 128, 1},
    {"CIM1", 129, 6}, {"CIM2", 135, 6}, {"CIM3", 141, 6},
    {"MCM1", 147, 8}, {"MCM2", 155, 8}, {"MCM3", 163, 8}, {"STATUTE", 171, 10},
    {"LABCERT1", 181, 3}, {"LABCERT2", 184, 3}, {"LABCERT3", 187, 3}, {"LABCERT4", 190, 3},
    {"LABCERT5", 193, 3}, {"LABCERT6", 196, 3}, {"LABCERT7", 199, 3}, {"LABCERT8", 202, 3},
    {"XREF1", 205, 5}, {"XREF2", 210, 5}, {"XREF3", 215, 5}, {"XREF4", 220, 5},
    {"XREF5", 225, 5},
    {"COV", 230, 1}, {"ASC_GRP", 231, 2}, {"ASC_DT", 233, 8}, {"PROCNOTE", 253, 4},
    {"BETOS", 257, 3}, {"TOS1", 261, 1}, {"TOS2", 262, 1}, {"TOS3", 263, 1}, {"TOS4", 264, 1},
    {"TOS5", 265, 1}, {"ANEST_BU", 266, 3},
    {"ADD DT", 269, 8}, {"ACT EFF DT", 277, 8}, {"TERM DT", 285, 8}, {"ACTION CD", 293, 1},
};

// One record of the layout. `code` is the procedure code or the modifier, trimmed; `modifier_form`
// says whether the code field had the modifier's shape (blank, then 2 characters). The long
// description is this record's piece of it (an 80-column slice, or a whole workbook cell);
// every other field is trimmed.
struct HcpcsRecord {
  std::string code_field;  // as written, for error messages
  std::string code;
  bool modifier_form = false;
  int seq = 0;
  char rec_id = 0;
  std::string fields[kFieldCount];
};

// A source of HCPCS records: the fixed-width file or a workbook's rows.
class HcpcsRecordSource {
 public:
  virtual ~HcpcsRecordSource() = default;
  // The next record; false at the end or on error (see status()).
  virtual bool Next(HcpcsRecord* rec) = 0;
  virtual const absl::Status& status() const = 0;
  // "path:N: " for the record last returned (N its line or row).
  virtual std::string Where() const = 0;
};

bool IsHcpcsRecord(absl::string_view line) {
  if (line.size() < 11 || !AllDigits(Col(line, 6, 5))) return false;
  char ric = line[10];
  return ric == '3' || ric == '4' || ric == '7' || ric == '8';
}

// The fixed-width file: 320-column records (trailing blanks may be trimmed) after any
// disclaimer lines; only blank lines may follow the first record.
class FixedWidthRecords final : public HcpcsRecordSource {
 public:
  explicit FixedWidthRecords(LineSource* lines) : lines_(lines) {}
  bool Next(HcpcsRecord* rec) override {
    std::string line;
    while (lines_->Next(&line)) {
      if (!IsHcpcsRecord(line)) {
        if (!seen_record_ || Trim(line).empty()) continue;
        return Fail("not a HCPCS record (columns 6-10 sequence number, 11 record id)");
      }
      if (!PrintableAscii(line)) return Fail("unexpected control or non-ASCII byte");
      seen_record_ = true;
      line.resize(320, ' ');
      for (int f = 0; f < kFieldCount; ++f) {
        absl::string_view v = Col(line, kHcpcsFields[f].pos, kHcpcsFields[f].len);
        rec->fields[f] = std::string(f == kLongDescription ? v : Trim(v));
      }
      rec->code_field = std::string(Col(line, 1, 5));
      rec->modifier_form = Trim(Col(line, 1, 3)).empty();
      rec->code = std::string(Trim(rec->code_field));
      rec->seq = std::stoi(std::string(Col(line, 6, 5)));
      rec->rec_id = line[10];
      return true;
    }
    if (!lines_->status().ok()) {
      status_ = lines_->status();
    } else if (!seen_record_) {
      status_ = absl::InvalidArgumentError(absl::StrCat(lines_->path(), ": no records found"));
    } else if (!lines_->last_line_terminated()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(Where(), "last line has no end of line: the file looks truncated"));
    }
    return false;
  }
  const absl::Status& status() const override { return status_; }
  std::string Where() const override {
    return absl::StrCat(lines_->path(), ":", lines_->line_number(), ": ");
  }

 private:
  bool Fail(absl::string_view what) {
    status_ = absl::InvalidArgumentError(absl::StrCat(Where(), what));
    return false;
  }
  LineSource* lines_;
  bool seen_record_ = false;
  absl::Status status_;
};

// "YYYYMMDD" from a date cell: written as digits, or an Excel serial day number.
std::string SheetDate(absl::string_view cell) {
  cell = Trim(cell);
  if (cell.size() > 6 || !AllDigits(cell)) return std::string(cell);  // blank, or CCYYMMDD
  // Excel serial date: days since 1899-12-30.
  absl::CivilDay day = absl::CivilDay(1899, 12, 30) + std::stoll(std::string(cell));
  return absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day());
}

// Control characters other than white space; workbook cells are XML text, so anything else
// (UTF-8 included) is text the publisher wrote.
bool HasControlCharacter(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !absl::ascii_isspace(u)) || u == 0x7f) return true;
  }
  return false;
}

// A CMS workbook (anweb.xlsx): the header row (first cell "HCPC", below any note rows) names
// the columns, and each column is read by its header, whatever its position; every cell is
// taken whole, at any length. HCPC, RECID and LONG DESCRIPTION are required; a field without
// a column is blank, as in a record whose columns are blank.
class WorkbookRecords final : public HcpcsRecordSource {
 public:
  WorkbookRecords(std::string path, SheetRows rows) : path_(std::move(path)), rows_(std::move(rows)) {}

  bool Next(HcpcsRecord* rec) override {
    if (!status_.ok()) return false;
    while (next_ < rows_.size()) {
      const std::vector<std::string>& row = rows_[next_++];
      if (!have_header_) {
        if (!row.empty() && absl::AsciiStrToUpper(Trim(row[0])) == "HCPC") {
          if (!ReadHeader(row)) return false;
        }
        continue;
      }
      bool blank = true;
      for (const auto& cell : row) blank = blank && Trim(cell).empty();
      if (blank) continue;
      return Read(row, rec);
    }
    if (!have_header_) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ": no header row whose first cell is HCPC"));
    } else if (!seen_record_) {
      status_ = absl::InvalidArgumentError(absl::StrCat(path_, ": no records found"));
    }
    return false;
  }
  const absl::Status& status() const override { return status_; }
  std::string Where() const override { return absl::StrCat(path_, ":", next_, ": "); }

 private:
  bool ReadHeader(const std::vector<std::string>& header) {
    have_header_ = true;
    std::fill(std::begin(column_), std::end(column_), -1);
    for (size_t i = 0; i < header.size(); ++i) {
      std::string name = absl::AsciiStrToUpper(CollapseSpaces(header[i]));
      for (int f = 0; f < kFieldCount; ++f) {
        if (name == kHcpcsFields[f].header && column_[f] < 0) column_[f] = static_cast<int>(i);
      }
    }
    for (int f : {kHcpc, kRecId, kLongDescription}) {
      if (column_[f] < 0) {
        status_ = absl::InvalidArgumentError(absl::StrCat(
            Where(), "the header row has no column '", kHcpcsFields[f].header, "'"));
        return false;
      }
    }
    return true;
  }
  bool Read(const std::vector<std::string>& row, HcpcsRecord* rec) {
    static const std::string* const kEmpty = new std::string();
    for (int f = 0; f < kFieldCount; ++f) {
      const std::string& cell =
          column_[f] >= 0 && static_cast<size_t>(column_[f]) < row.size() ? row[column_[f]] : *kEmpty;
      if (HasControlCharacter(cell)) {
        return Fail(absl::StrCat("column ", kHcpcsFields[f].header,
                                 ": unexpected control character"));
      }
      if (f == kLongDescription) {
        rec->fields[f] = cell;
      } else if (f == kAddDt || f == kActEffDt || f == kTermDt || f == kAscDt) {
        rec->fields[f] = SheetDate(cell);
      } else {
        rec->fields[f] = std::string(Trim(cell));
      }
    }
    rec->code_field = row[column_[kHcpc]];
    rec->code = rec->fields[kHcpc];
    // Modifiers keep the fixed-width form in the workbook ("   A1"); a bare two-character
    // cell is a modifier too.
    rec->modifier_form = rec->code.size() <= 2;
    const std::string& rec_id = rec->fields[kRecId];
    if (rec_id.size() != 1 || !absl::StrContains("3478", rec_id)) {
      return Fail(absl::StrCat("column RECID: '", rec_id, "' is not a record id (3, 4, 7 or 8)"));
    }
    rec->rec_id = rec_id[0];
    const std::string& seq = rec->fields[kSeqNum];
    if (seq.empty()) {
      rec->seq = 0;
    } else if (seq.size() > 5 || !AllDigits(seq)) {
      return Fail(absl::StrCat("column SEQNUM: '", seq, "' is not a sequence number"));
    } else {
      rec->seq = std::stoi(seq);
    }
    seen_record_ = true;
    return true;
  }
  bool Fail(absl::string_view what) {
    status_ = absl::InvalidArgumentError(absl::StrCat(Where(), what));
    return false;
  }

  std::string path_;
  SheetRows rows_;
  size_t next_ = 0;
  bool have_header_ = false;
  bool seen_record_ = false;
  int column_[kFieldCount];  // sheet column of each field; -1 when the sheet has none
  absl::Status status_;
};

// The non-blank values of fields [first, first + count), comma-separated.
std::string JoinFields(const HcpcsRecord& rec, int first, int count) {
  std::vector<absl::string_view> parts;
  for (int f = first; f < first + count; ++f) {
    if (!rec.fields[f].empty()) parts.push_back(rec.fields[f]);
  }
  return absl::StrJoin(parts, ",");
}

// Records to concepts: a first record (RECID 3 or 7) carries every field; continuation
// records (4 or 8) carry the next piece of the long description, which is joined to the pieces
// before it at a word boundary and has its runs of white space collapsed.
absl::StatusOr<Concepts> ParseHcpcsRecords(HcpcsRecordSource& source) {
  Concepts concepts;
  absl::flat_hash_set<std::string> codes;
  std::string long_text;
  Concept* current = nullptr;
  char current_ric = 0;
  int last_seq = 0;
  auto finish = [&]() {
    if (current != nullptr) current->set_display(CollapseSpaces(long_text));
  };
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source.Where(), what));
  };
  HcpcsRecord rec;
  while (source.Next(&rec)) {
    char ric = rec.rec_id;
    bool modifier = ric == '7' || ric == '8';
    const std::string& code = rec.code;
    if (modifier) {
      if (!rec.modifier_form || code.size() != 2 || !AllUpperAlnum(code)) {
        return error(absl::StrCat("malformed modifier '", rec.code_field, "'"));
      }
    } else if (code.size() != 5 || !AllUpperAlnum(code)) {
      return error(absl::StrCat("malformed HCPCS code '", rec.code_field, "'"));
    }
    const std::string& piece = rec.fields[kLongDescription];
    if (ric == '4' || ric == '8') {
      char expected = ric == '4' ? '3' : '7';
      if (current == nullptr || current->code() != code ||
          (current_ric != expected && current_ric != ric) || rec.seq <= last_seq) {
        return error(absl::StrCat("continuation record for ", code,
                                  " does not follow a record of the same code"));
      }
      long_text.push_back(' ');
      long_text.append(piece);
      current_ric = ric;
      last_seq = rec.seq;
      continue;
    }
    finish();
    if (!codes.insert(code).second) return error(absl::StrCat("code ", code, " appears twice"));
    std::string added, action_effective, termination;
    if (!HcpcsDate(rec.fields[kAddDt], &added) ||
        !HcpcsDate(rec.fields[kActEffDt], &action_effective) ||
        !HcpcsDate(rec.fields[kTermDt], &termination)) {
      return error(absl::StrCat("malformed date for ", code, " (expected CCYYMMDD)"));
    }
    Concept& c = concepts.emplace_back();
    current = &c;
    current_ric = ric;
    last_seq = rec.seq;
    long_text = piece;
    c.set_code(code);
    AddDesignation(&c, "short", rec.fields[kShortDescription]);
    c.set_kind(modifier ? v1::CONCEPT_KIND_MODIFIER : v1::CONCEPT_KIND_CODE);
    c.set_billable(!modifier);
    // Status is left unset: the server derives it from the termination date and the release's
    // effective date.
    c.set_added_date(added);
    c.set_action_effective_date(action_effective);
    c.set_termination_date(termination);
    c.set_action_code(rec.fields[kActionCd]);
    SetProperty(&c, "pricing_indicator", JoinFields(rec, kPrice1, 4));
    SetProperty(&c, "multiple_pricing_indicator", rec.fields[kMultPi]);
    SetProperty(&c, "coverage_issues_manual", JoinFields(rec, kCim1, 3));
    SetProperty(&c, "carriers_manual", JoinFields(rec, kMcm1, 3));
    SetProperty(&c, "statute", rec.fields[kStatute]);
    SetProperty(&c, "lab_certification", JoinFields(rec, kLabCert1, 8));
    SetProperty(&c, "cross_reference", JoinFields(rec, kXref1, 5));
    SetProperty(&c, "coverage", rec.fields[kCov]);
    SetProperty(&c, "asc_payment_group", rec.fields[kAscGrp]);
    // Kept as written: the 2018 file shifts this field by one column.
    SetProperty(&c, "asc_effective_date", rec.fields[kAscDt]);
    SetProperty(&c, "processing_note", rec.fields[kProcNote]);
    SetProperty(&c, "betos", rec.fields[kBetos]);
    SetProperty(&c, "type_of_service", JoinFields(rec, kTos1, 5));
    SetProperty(&c, "anesthesia_base_units", rec.fields[kAnestBu]);
  }
  if (!source.status().ok()) return source.status();
  finish();
  return concepts;
}

}  // namespace

absl::StatusOr<Concepts> ParseHcpcs(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  FixedWidthRecords records(opened->get());
  return ParseHcpcsRecords(records);
}

absl::StatusOr<Concepts> ParseHcpcsXlsx(const std::string& path) {
  absl::StatusOr<SheetRows> rows = ReadXlsxSheet(path);
  if (!rows.ok()) return rows.status();
  WorkbookRecords records(path, *std::move(rows));
  return ParseHcpcsRecords(records);
}

absl::StatusOr<std::vector<v1::CodeLink>> ParseIcd10CmConversion(const std::string& path) {
  absl::StatusOr<SheetRows> rows = ReadXlsxSheet(path);
  if (!rows.ok()) return rows.status();
  // A category is a letter and two letters or digits, at least one of them a digit (so that a
  // word of the table's prose is not taken for a code), then the dot and up to four more.
  static const std::regex kCode("[A-Z](?=[0-9A-Z]?[0-9])[0-9A-Z]{2}(\\.[0-9A-Z]{1,4})?");
  static const std::regex kOnlyCodes("^[A-Z0-9., ;&and-]*$");
  std::vector<v1::CodeLink> links;
  bool header = false;
  for (size_t i = 0; i < rows->size(); ++i) {
    const std::vector<std::string>& row = (*rows)[i];
    std::string first = row.empty() ? "" : std::string(Trim(row[0]));
    if (!header) {
      header = absl::StartsWith(absl::AsciiStrToLower(first), "current code");
      continue;
    }
    if (first.empty()) continue;
    std::string effective = row.size() > 1 ? std::string(Trim(row[1])) : "";
    std::string previous = row.size() > 2 ? std::string(Trim(row[2])) : "";
    if (!std::regex_match(first, kCode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": row ", i + 1, ": '", first, "' is not an ICD-10-CM code"));
    }
    if (previous.empty() || absl::AsciiStrToLower(previous) == "none") continue;
    std::string note = std::regex_match(previous, kOnlyCodes) ? "" : previous;
    for (std::sregex_iterator m(previous.begin(), previous.end(), kCode), end; m != end; ++m) {
      v1::CodeLink& link = links.emplace_back();
      link.set_code(first);
      link.set_previous_code(m->str());
      // The table's note: "the code effective date is October 1 of the year listed".
      link.set_effective(AllDigits(effective) && effective.size() == 4 ? effective + "-10-01"
                                                                      : effective);
      link.set_note(note);
    }
  }
  if (!header) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no header row starting with 'Current code assignment'"));
  }
  return links;
}

namespace {

bool IsCptCode(absl::string_view c) {
  if (c.size() != 5) return false;
  for (int i = 0; i < 4; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c[i]))) return false;
  }
  // The last character: a digit (Category I) or a letter naming the kind of code; the AMA
  // has added letters over the years (F, T, U, A, M), so any letter is taken.
  char last = c[4];
  return absl::ascii_isdigit(static_cast<unsigned char>(last)) ||
         absl::ascii_isupper(static_cast<unsigned char>(last));
}

std::string CptCategory(absl::string_view code) {
  switch (code[4]) {
    case 'F': return "II";
    case 'T': return "III";
    case 'U': return "PLA";
    case 'A': return "vaccine";
    case 'M': return "MAAA";
    default:
      return absl::ascii_isdigit(static_cast<unsigned char>(code[4])) ? "I" : std::string(1, code[4]);
  }
}

// The first file called `name` below `dir`; "" if none.
std::string FindFile(const std::string& dir, const std::string& name) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename() == name) return it->path().string();
  }
  return "";
}

// Reads the records of an AMA descriptor file: skips the free-text header (up to the first
// blank line) unless the first line is already a record; `fn(line)` gets each record line.
absl::Status ReadCptRecords(const std::string& path, bool header_row,
                            const std::function<absl::Status(LineSource&, const std::string&)>& fn) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  LineReader& r = **opened;
  std::string line;
  bool in_header = true, first = true;
  while (r.Next(&line)) {
    if (first) {
      first = false;
      if (header_row) continue;  // a column-title row
      if (line.size() >= 6 && IsCptCode(line.substr(0, 5))) in_header = false;
    }
    if (in_header && !header_row) {
      if (Trim(line).empty()) in_header = false;
      continue;
    }
    if (Trim(line).empty()) continue;
    if (absl::Status s = fn(r, line); !s.ok()) return s;
  }
  return r.status();
}

}  // namespace

// Reads a CPT Link tab-delimited file (a title line, a column-header line, then records) and
// calls fn with each record's fields; records with fewer than `min_fields` are errors.
absl::Status ReadTabFile(
    const std::string& path, size_t min_fields,
    const std::function<absl::Status(LineSource&, const std::vector<std::string>&)>& fn) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  LineReader& r = **opened;
  std::string line;
  int skipped = 0;
  while (r.Next(&line)) {
    if (skipped < 2) {  // title and column headers
      ++skipped;
      continue;
    }
    if (Trim(line).empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() < min_fields) {
      return LineError(r, absl::StrCat("expected ", min_fields, " tab-separated fields, found ",
                                       fields.size()));
    }
    if (absl::Status s = fn(r, fields); !s.ok()) return s;
  }
  return r.status();
}

// True for "YYYY-MM-DD" naming a real day.
bool IsCalendarDate(const std::string& s) {
  absl::CivilDay day;
  return s.size() == 10 && absl::ParseCivilTime(s, &day) && absl::FormatCivilTime(day) == s;
}

// A CPT Link date: YYYYMMDD, YYYY-MM-DD or M/D/YYYY, as YYYY-MM-DD.
absl::StatusOr<std::string> CptLinkDate(absl::string_view text) {
  std::string t(Trim(text));
  std::string out;
  if (t.size() == 8 && std::all_of(t.begin(), t.end(), ::isdigit)) {
    out = absl::StrCat(t.substr(0, 4), "-", t.substr(4, 2), "-", t.substr(6, 2));
  } else if (t.size() == 10 && t[4] == '-' && t[7] == '-') {
    out = t;
  } else {
    std::vector<std::string> mdy = absl::StrSplit(t, '/');
    int m = 0, d = 0, y = 0;
    if (mdy.size() == 3 && absl::SimpleAtoi(mdy[0], &m) && absl::SimpleAtoi(mdy[1], &d) &&
        absl::SimpleAtoi(mdy[2], &y) && mdy[2].size() == 4) {
      out = absl::StrFormat("%04d-%02d-%02d", y, m, d);
    }
  }
  if (!IsCalendarDate(out)) return absl::InvalidArgumentError(absl::StrCat("bad date '", t, "'"));
  return out;
}

absl::StatusOr<Concepts> ParseCptFolder(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a folder (the CPT format reads a "
                                                   "folder of AMA data files)"));
  }
  std::string longult = FindFile(dir, "LONGULT.txt");
  if (longult.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": no LONGULT.txt in this folder"));
  }
  Concepts concepts;
  std::map<std::string, size_t> index;
  absl::Status s = ReadCptRecords(longult, false, [&](LineSource& r, const std::string& line) {
    size_t tab = line.find('\t');
    std::string code = tab == std::string::npos ? "" : std::string(Trim(line.substr(0, tab)));
    if (!IsCptCode(code)) return LineError(r, absl::StrCat("malformed CPT code '", code, "'"));
    std::string text(Trim(line.substr(tab + 1)));
    if (text.empty()) return LineError(r, "missing descriptor");
    if (!index.emplace(code, concepts.size()).second) {
      return LineError(r, absl::StrCat("code ", code, " appears twice"));
    }
    Concept& c = concepts.emplace_back();
    c.set_code(code);
    c.set_display(text);
    c.set_kind(v1::CONCEPT_KIND_CODE);
    c.set_billable(true);
    c.set_status(v1::CONCEPT_STATUS_ACTIVE);
    (*c.mutable_properties())["category"] = CptCategory(code);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  auto designation = [&](LineSource& r, const std::string& code, const char* use,
                         absl::string_view text) -> absl::Status {
    auto it = index.find(code);
    if (it == index.end()) {
      return LineError(r, absl::StrCat("code ", code, " is not in LONGULT.txt"));
    }
    if (!Trim(text).empty()) AddDesignation(&concepts[it->second], use, Trim(text));
    return absl::OkStatus();
  };
  for (const auto& [file, use, width] : std::vector<std::tuple<std::string, const char*, size_t>>{
           {"SHORTU.txt", "short", 28}, {"MEDU.txt", "medium", 48}}) {
    std::string path = FindFile(dir, file);
    if (path.empty()) continue;
    const char* u = use;  // C++17 lambdas cannot capture structured bindings
    const size_t w = width;
    s = ReadCptRecords(path, false, [&](LineSource& r, const std::string& line) {
      std::string code = line.substr(0, 5);
      if (!IsCptCode(code) || (line.size() > 5 && line[5] != ' ')) {
        return LineError(r, absl::StrCat("malformed CPT code '", code, "'"));
      }
      return designation(r, code, u, Col(line, 7, w));
    });
    if (!s.ok()) return s;
  }
  for (const auto& [file, use, text_column] : std::vector<std::tuple<std::string, const char*, size_t>>{
           {"ConsumerDescriptor.txt", "consumer", 2}, {"ClinicianDescriptor.txt", "clinician", 3}}) {
    std::string path = FindFile(dir, file);
    if (path.empty()) continue;
    const char* u = use;
    const size_t column = text_column;
    s = ReadCptRecords(path, true, [&](LineSource& r, const std::string& line) {
      std::vector<std::string> fields = absl::StrSplit(line, '\t');
      if (fields.size() <= column) return LineError(r, "too few tab-separated columns");
      std::string code(Trim(fields[1]));
      if (!IsCptCode(code)) return LineError(r, absl::StrCat("malformed CPT code '", code, "'"));
      return designation(r, code, u, fields[column]);
    });
    if (!s.ok()) return s;
  }
  // Modifiers: blocks separated by blank lines; a block starting with a 2-character code is a
  // modifier, a one-line block without one is a section heading.
  if (std::string modul = FindFile(dir, "MODUL.txt"); !modul.empty()) {
    absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(modul);
    if (!opened.ok()) return opened.status();
    std::string line, section;
    std::vector<std::string> block;
    auto flush = [&]() -> absl::Status {
      if (block.empty()) return absl::OkStatus();
      std::string text = CollapseSpaces(absl::StrJoin(block, " "));
      block.clear();
      bool is_modifier = text.size() > 3 && text[2] == ' ' && AllUpperAlnum(text.substr(0, 2));
      if (!is_modifier) {
        section = text;
        return absl::OkStatus();
      }
      std::string code = text.substr(0, 2);
      if (index.count(code)) return absl::OkStatus();  // listed in two sections: keep the first
      index.emplace(code, concepts.size());
      Concept& c = concepts.emplace_back();
      c.set_code(code);
      c.set_display(text.substr(3));
      c.set_kind(v1::CONCEPT_KIND_MODIFIER);
      c.set_status(v1::CONCEPT_STATUS_ACTIVE);
      if (!section.empty()) (*c.mutable_properties())["section"] = section;
      return absl::OkStatus();
    };
    bool first_block = true;
    while ((*opened)->Next(&line)) {
      if (Trim(line).empty()) {
        if (first_block) block.clear();  // the file's title
        first_block = false;
        if (absl::Status f = flush(); !f.ok()) return f;
        continue;
      }
      block.push_back(line);
    }
    if (!(*opened)->status().ok()) return (*opened)->status();
    if (absl::Status f = flush(); !f.ok()) return f;
  }
  // CPT Link history, when present: each code's dated changes (added, revised, ...) become its
  // "history" property, and the date it was added its added date.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> history;
  for (const char* file : {"History_DTK_tab.txt", "HistoryModifiers_DTK_tab.txt"}) {
    std::string path = FindFile(dir, file);
    if (path.empty()) continue;
    s = ReadTabFile(path, 8, [&](LineSource& r, const std::vector<std::string>& f) {
      absl::StatusOr<std::string> date = CptLinkDate(f[0]);
      if (!date.ok()) return LineError(r, date.status().message());
      std::string code(Trim(f[3]));
      std::string change = absl::AsciiStrToUpper(Trim(f[1]));
      if (change.empty()) return LineError(r, "missing change type");
      // Rows of codes not in this release (deleted ones, say) are history of other releases.
      if (index.count(code)) history[code].emplace_back(*date, change);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  if (std::string path = FindFile(dir, "Deleted_DTK_tab.txt"); !path.empty()) {
    // Deleted codes are absent from a release by definition; a code both listed here and
    // described in LONGULT.txt was reinstated, and its history says when.
    s = ReadTabFile(path, 3, [&](LineSource& r, const std::vector<std::string>& f) {
      absl::StatusOr<std::string> date = CptLinkDate(f[2]);
      if (!date.ok()) return LineError(r, date.status().message());
      std::string code(Trim(f[1]));
      if (!IsCptCode(code) && !(code.size() == 2 && AllUpperAlnum(code))) {
        return LineError(r, absl::StrCat("malformed CPT code '", code, "'"));
      }
      if (index.count(code)) history[code].emplace_back(*date, "DELETED");
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  for (auto& [code, changes] : history) {
    std::sort(changes.begin(), changes.end());
    Concept& c = concepts[index[code]];
    std::vector<std::string> parts;
    for (const auto& [date, change] : changes) {
      parts.push_back(absl::StrCat(date, " ", change));
      if (change == "ADDED" && c.added_date().empty()) c.set_added_date(date);
    }
    (*c.mutable_properties())["history"] = absl::StrJoin(parts, "; ");
  }
  return concepts;
}

absl::StatusOr<Concepts> ParseFile(absl::string_view format, const std::string& path) {
  if (format == "icd10cm-order" || format == "icd10pcs-order") return ParseIcd10Order(path);
  if (format == "hcpcs") return ParseHcpcs(path);
  if (format == "hcpcs-xlsx") return ParseHcpcsXlsx(path);
  if (format == "cpt") return ParseCptFolder(path);
  if (format == "icd10cm-tabular") return ParseIcd10CmTabular(path);
  if (format == "icd10cm-index") return ParseIcd10CmIndex(path);
  if (format == "icd10pcs-tables") return ParseIcd10PcsTables(path);
  if (format == "icd10pcs-index") return ParseIcd10PcsIndex(path);
  if (format == "fhir-codesystem") {
    absl::StatusOr<FhirCodeSystem> cs = ParseFhirCodeSystem(path);
    if (!cs.ok()) return cs.status();
    return std::move(cs->concepts);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", format, "'; known formats: ", FormatNames()));
}

absl::Status ParseFileInChunks(absl::string_view format, const std::string& path, size_t chunk,
                               const ChunkSink& sink) {
  chunk = std::max<size_t>(chunk, 1);
  if (format == "icd10cm-order" || format == "icd10pcs-order") {
    return ParseIcd10OrderChunks(path, chunk, sink);
  }
  absl::StatusOr<Concepts> all = ParseFile(format, path);
  if (!all.ok()) return all.status();
  for (size_t start = 0; start < all->size(); start += chunk) {
    Concepts part;
    const size_t end = std::min(all->size(), start + chunk);
    part.reserve(end - start);
    for (size_t i = start; i < end; ++i) part.emplace_back().Swap(&(*all)[i]);
    if (!sink(std::move(part))) return absl::CancelledError("the parse was stopped");
  }
  return absl::OkStatus();
}

std::string FormatNames() {
  return "icd10cm-order, icd10pcs-order, hcpcs, hcpcs-xlsx, cpt, icd10cm-tabular, icd10cm-index, "
         "icd10pcs-tables, icd10pcs-index, fhir-codesystem";
}

}  // namespace codebook::importers
