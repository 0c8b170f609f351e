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

// Collapses runs of whitespace to one space and trims the ends.
std::string CollapseSpaces(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  return out;
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

absl::StatusOr<Concepts> ParseIcd10Order(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  LineReader& r = **opened;
  Concepts concepts;

  absl::flat_hash_set<std::string> codes;

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
  }
  if (absl::Status s = EndOfFile(r, !concepts.empty()); !s.ok()) return s;
  if (absl::Status s = CheckTerminated(r); !s.ok()) return s;
  return concepts;
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

// Joins the non-blank fields of `count` repeats of `width` columns from `pos`.
std::string Repeated(absl::string_view rec, size_t pos, size_t width, int count) {
  std::vector<std::string> parts;
  for (int i = 0; i < count; ++i) {
    absl::string_view v = Trim(Col(rec, pos + i * width, width));
    if (!v.empty()) parts.emplace_back(v);
  }
  return absl::StrJoin(parts, ",");
}

void SetProperty(Concept* c, const char* name, absl::string_view value) {
  if (!value.empty()) (*c->mutable_properties())[name] = std::string(value);
}

bool IsHcpcsRecord(absl::string_view line) {
  if (line.size() < 11 || !AllDigits(Col(line, 6, 5))) return false;
  char ric = line[10];
  return ric == '3' || ric == '4' || ric == '7' || ric == '8';
}

}  // namespace

namespace {

// The HCPCS record layout shared by the fixed-width file and the xlsx workbook: each line is
// one 320-column record (or a disclaimer line before the first record).
absl::StatusOr<Concepts> ParseHcpcsRecords(LineSource& r) {
  Concepts concepts;
  absl::flat_hash_set<std::string> codes;
  std::string line, long_text;
  Concept* current = nullptr;
  char current_ric = 0;
  int last_seq = 0;
  auto finish = [&]() {
    if (current == nullptr) return;
    current->set_display(CollapseSpaces(long_text));
  };
  while (r.Next(&line)) {
    if (!IsHcpcsRecord(line)) {
      // Disclaimer and free-text lines come before the first record; after it, only blank
      // lines may appear.
      if (concepts.empty() || Trim(line).empty()) continue;
      return LineError(r, "not a HCPCS record (columns 6-10 sequence number, 11 record id)");
    }
    if (!PrintableAscii(line)) return LineError(r, "unexpected control or non-ASCII byte");
    std::string rec = line;
    rec.resize(320, ' ');
    char ric = rec[10];
    bool modifier = ric == '7' || ric == '8';
    absl::string_view code_field = Col(rec, 1, 5);
    absl::string_view code;
    if (modifier) {
      code = Col(rec, 4, 2);
      if (!Trim(Col(rec, 1, 3)).empty() || !AllUpperAlnum(code)) {
        return LineError(r, absl::StrCat("malformed modifier '", code_field, "'"));
      }
    } else {
      code = code_field;
      if (!AllUpperAlnum(code) || !absl::ascii_isupper(static_cast<unsigned char>(code[0]))) {
        return LineError(r, absl::StrCat("malformed HCPCS code '", code_field, "'"));
      }
    }
    int seq = std::stoi(std::string(Col(rec, 6, 5)));
    absl::string_view chunk = Col(rec, 12, 80);
    if (ric == '4' || ric == '8') {
      char expected = ric == '4' ? '3' : '7';
      if (current == nullptr || current->code() != code ||
          (current_ric != expected && current_ric != ric) || seq <= last_seq) {
        return LineError(r, absl::StrCat("continuation record for ", code,
                                         " does not follow a record of the same code"));
      }
      long_text.append(chunk.data(), chunk.size());
      current_ric = ric;
      last_seq = seq;
      continue;
    }
    // A first record: it carries every field.
    finish();
    if (!codes.insert(std::string(code)).second) {
      return LineError(r, absl::StrCat("code ", code, " appears twice"));
    }
    std::string added, action_effective, termination;
    if (!HcpcsDate(Col(rec, 269, 8), &added) ||
        !HcpcsDate(Col(rec, 277, 8), &action_effective) ||
        !HcpcsDate(Col(rec, 285, 8), &termination)) {
      return LineError(r, absl::StrCat("malformed date for ", code, " (expected CCYYMMDD)"));
    }
    Concept& c = concepts.emplace_back();
    current = &c;
    current_ric = ric;
    last_seq = seq;
    long_text.assign(chunk.data(), chunk.size());
    c.set_code(std::string(code));
    AddDesignation(&c, "short", Trim(Col(rec, 92, 28)));
    c.set_kind(modifier ? v1::CONCEPT_KIND_MODIFIER : v1::CONCEPT_KIND_CODE);
    c.set_billable(!modifier);
    // Status is left unset: the server derives it from the termination date and the release's
    // effective date.
    c.set_added_date(added);
    c.set_action_effective_date(action_effective);
    c.set_termination_date(termination);
    c.set_action_code(std::string(Trim(Col(rec, 293, 1))));
    SetProperty(&c, "pricing_indicator", Repeated(rec, 120, 2, 4));
    SetProperty(&c, "multiple_pricing_indicator", Trim(Col(rec, 128, 1)));
    SetProperty(&c, "coverage_issues_manual", Repeated(rec, 129, 6, 3));
    SetProperty(&c, "carriers_manual", Repeated(rec, 147, 8, 3));
    SetProperty(&c, "statute", Trim(Col(rec, 171, 10)));
    SetProperty(&c, "lab_certification", Repeated(rec, 181, 3, 8));
    SetProperty(&c, "cross_reference", Repeated(rec, 205, 5, 5));
    SetProperty(&c, "coverage", Trim(Col(rec, 230, 1)));
    SetProperty(&c, "asc_payment_group", Trim(Col(rec, 231, 2)));
    // Kept as written: the 2018 file shifts this field by one column.
    SetProperty(&c, "asc_effective_date", Trim(Col(rec, 233, 8)));
    SetProperty(&c, "processing_note", Trim(Col(rec, 253, 4)));
    SetProperty(&c, "betos", Trim(Col(rec, 257, 3)));
    SetProperty(&c, "type_of_service", Repeated(rec, 261, 1, 5));
    SetProperty(&c, "anesthesia_base_units", Trim(Col(rec, 266, 3)));
  }
  finish();
  if (absl::Status s = EndOfFile(r, !concepts.empty()); !s.ok()) return s;
  if (absl::Status s = CheckTerminated(r); !s.ok()) return s;
  return concepts;
}

// Puts `value` at 1-based column `pos` of a record, in at most `len` columns.
void Place(std::string* rec, size_t pos, size_t len, absl::string_view value) {
  rec->replace(pos - 1, std::min(len, value.size()), value.data(), std::min(len, value.size()));
}

// "YYYYMMDD" from a date cell: written as digits, or an Excel serial day number.
std::string SheetDate(absl::string_view cell) {
  cell = Trim(cell);
  if (cell.empty() || cell.size() == 8 || !AllDigits(cell)) return std::string(cell);
  // Excel serial date: days since 1899-12-30.
  absl::CivilDay day = absl::CivilDay(1899, 12, 30) + std::stoll(std::string(cell));
  return absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day());
}

// Rows of an anweb.xlsx-style sheet turned into the fixed-width records of the text file: the
// header row (first cell "HCPC", below any note rows) names the columns.
class SheetRecords final : public LineSource {
 public:
  SheetRecords(std::string path, SheetRows rows) : path_(std::move(path)), rows_(std::move(rows)) {}

  bool Next(std::string* line) override {
    while (next_ < rows_.size()) {
      const std::vector<std::string>& row = rows_[next_++];
      if (columns_.empty()) {
        if (!row.empty() && absl::AsciiStrToUpper(Trim(row[0])) == "HCPC") ReadHeader(row);
        continue;
      }
      bool blank = true;
      for (const auto& cell : row) blank = blank && Trim(cell).empty();
      if (blank) continue;
      *line = Record(row);
      return true;
    }
    if (columns_.empty() && status_.ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(path_, ": no header row whose first cell is HCPC"));
    }
    return false;
  }
  const absl::Status& status() const override { return status_; }
  int line_number() const override { return static_cast<int>(next_); }
  bool last_line_terminated() const override { return true; }
  const std::string& path() const override { return path_; }

 private:
  struct Field {
    size_t pos, len;
    bool date;
  };
  void ReadHeader(const std::vector<std::string>& header) {
    static const auto* kFields = new std::map<std::string, Field>{
        {"SEQNUM", {6, 5, false}}, {"RECID", {11, 1, false}},
        {"LONG DESCRIPTION", {12, 80, false}}, {"SHORT DESCRIPTION", {92, 28, false}},
        {"PRICE1", {120, 2, false}}, {"PRICE2", {122, 2, false}}, {"PRICE3", {124, 2, false}},
        {"PRICE4", {126, 2, false}}, {"MULT_PI", {128, 1, false}}, {"CIM1", {129, 6, false}},
        {"CIM2", {135, 6, false}}, {"CIM3", {141, 6, false}}, {"MCM1", {147, 8, false}},
        {"MCM2", {155, 8, false}}, {"MCM3", {163, 8, false}}, {"STATUTE", {171, 10, false}},
        {"LABCERT1", {181, 3, false}}, {"LABCERT2", {184, 3, false}},
        {"LABCERT3", {187, 3, false}}, {"LABCERT4", {190, 3, false}},
        {"LABCERT5", {193, 3, false}}, {"LABCERT6", {196, 3, false}},
        {"LABCERT7", {199, 3, false}}, {"LABCERT8", {202, 3, false}}, {"XREF1", {205, 5, false}},
        {"XREF2", {210, 5, false}}, {"XREF3", {215, 5, false}}, {"XREF4", {220, 5, false}},
        {"XREF5", {225, 5, false}}, {"COV", {230, 1, false}}, {"ASC_GRP", {231, 2, false}},
        {"ASC_DT", {233, 8, false}}, {"PROCNOTE", {253, 4, false}}, {"BETOS", {257, 3, false}},
        {"TOS1", {261, 1, false}}, {"TOS2", {262, 1, false}}, {"TOS3", {263, 1, false}},
        {"TOS4", {264, 1, false}}, {"TOS5", {265, 1, false}}, {"ANEST_BU", {266, 3, false}},
        {"ADD DT", {269, 8, true}}, {"ACT EFF DT", {277, 8, true}}, {"TERM DT", {285, 8, true}},
        {"ACTION CD", {293, 1, false}}};
    columns_.assign(header.size(), nullptr);
    for (size_t i = 0; i < header.size(); ++i) {
      auto it = kFields->find(absl::AsciiStrToUpper(Trim(header[i])));
      if (it != kFields->end()) columns_[i] = &it->second;
    }
  }
  std::string Record(const std::vector<std::string>& row) const {
    std::string rec(320, ' ');
    absl::string_view code = Trim(row[0]);
    // Modifiers (2 characters) sit right-justified in the 5-column code field.
    Place(&rec, code.size() <= 2 ? 6 - code.size() : 1, 5, code);
    for (size_t i = 1; i < row.size() && i < columns_.size(); ++i) {
      const Field* f = columns_[i];
      if (f == nullptr) continue;
      std::string value = f->date ? SheetDate(row[i]) : std::string(row[i]);
      if (f->pos == 6) value = absl::StrFormat("%05d", std::atoi(value.c_str()));  // SEQNUM
      if (f->pos == 12) {
        Place(&rec, f->pos, f->len, value);  // long text chunk keeps its own spacing
      } else {
        Place(&rec, f->pos, f->len, Trim(value));
      }
    }
    return rec;
  }

  std::string path_;
  SheetRows rows_;
  size_t next_ = 0;
  std::vector<const Field*> columns_;  // by column of the sheet; null when not used
  absl::Status status_;
};

}  // namespace

absl::StatusOr<Concepts> ParseHcpcs(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> opened = LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  return ParseHcpcsRecords(**opened);
}

absl::StatusOr<Concepts> ParseHcpcsXlsx(const std::string& path) {
  absl::StatusOr<SheetRows> rows = ReadXlsxSheet(path);
  if (!rows.ok()) return rows.status();
  SheetRecords records(path, *std::move(rows));
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
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", format, "'; known formats: ", FormatNames()));
}

std::string FormatNames() { return "icd10cm-order, icd10pcs-order, hcpcs, hcpcs-xlsx, cpt"; }

}  // namespace codebook::importers
