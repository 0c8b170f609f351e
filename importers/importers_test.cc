#include "importers/importers.h"

#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>
#include <zip.h>
#include <zlib.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <tuple>
#include <algorithm>
#include <iterator>

#include "importers/line_reader.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"
#include "absl/time/civil_time.h"

namespace codebook::importers {
namespace {

namespace fs = std::filesystem;
const std::string kSample = CODEBOOK_SAMPLE_DIR;
const std::string kShared = CODEBOOK_SHARED_DATA_DIR;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/codebook-importers-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string WriteGz(const std::string& name, const std::string& content) {
    std::string p = path_ + "/" + name;
    gzFile gz = gzopen(p.c_str(), "wb");
    gzwrite(gz, content.data(), content.size());
    gzclose(gz);
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::map<std::string, v1::Concept> ByCode(const Concepts& concepts) {
  std::map<std::string, v1::Concept> m;
  for (const auto& c : concepts) m[c.code()] = c;
  return m;
}

std::string Designation(const v1::Concept& c, const std::string& use) {
  for (const auto& d : c.designations()) {
    if (d.use() == use) return d.value();
  }
  return "";
}

TEST(Icd10OrderTest, ParsesSampleWithHeadersAndParents) {
  auto parsed = ParseIcd10Order(kSample + "/icd10cm/2022-04/icd10cm_order_2022.txt");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto m = ByCode(*parsed);
  ASSERT_TRUE(m.count("E119"));
  EXPECT_EQ(m["E119"].kind(), v1::CONCEPT_KIND_CODE);
  EXPECT_TRUE(m["E119"].billable());
  EXPECT_EQ(m["E119"].parent(), "E11");
  EXPECT_EQ(m["E11"].kind(), v1::CONCEPT_KIND_HEADER);
  EXPECT_FALSE(m["E11"].billable());
  EXPECT_EQ(m["E11"].parent(), "");
  EXPECT_EQ(m["Z28310"].parent(), "Z2831");
  EXPECT_EQ(Designation(m["E119"], "short"), "Type 2 diabetes mellitus without complications");
  EXPECT_EQ(m["S52501A"].display(),
            "Unspecified fracture of the lower end of the right radius, first encounter for "
            "closed fracture");
}

TEST(Icd10OrderTest, ParsesAnIcd10PcsOrderFile) {
  // ICD-10-PCS order files share the layout: 3-character table headers, 7-character codes.
  TempDir dir;
  auto row = [](int n, const std::string& code, char flag, const std::string& text) {
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%05d %-7s %c %-60s %s\r\n", n, code.c_str(), flag,
                  text.c_str(), text.c_str());
    return std::string(buf);
  };
  std::string path = dir.Write("icd10pcs_order_2025.txt",
                               row(1, "001", '0', "Central Nervous System, Bypass") +
                                   row(2, "00160J0", '1', "Bypass Cereb Vent to Nasophar, Open") +
                                   row(3, "00160J1", '1', "Bypass Cereb Vent to Mastoid, Open"));
  auto parsed = ParseFile("icd10pcs-order", path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].kind(), v1::CONCEPT_KIND_HEADER);
  EXPECT_EQ((*parsed)[1].code(), "00160J0");
  EXPECT_EQ((*parsed)[1].parent(), "001");
  EXPECT_TRUE((*parsed)[2].billable());
}

TEST(Icd10OrderTest, ReadsGzipByContent) {
  TempDir dir;
  std::string plain = ReadAll(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  // Named .txt on purpose: detection is by content.
  std::string gz = dir.WriteGz("order.txt", plain);
  auto a = ParseIcd10Order(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  auto b = ParseIcd10Order(gz);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].SerializeAsString(), (*b)[i].SerializeAsString());
  }
}

// The size a parser reserves for: a plain file's size, a gzip file's uncompressed size from
// its trailer; 0 for what cannot say (a gzip file too short to have a trailer).
TEST(LineReaderTest, SizeHintIsTheTextsSize) {
  TempDir dir;
  std::string plain = ReadAll(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  ASSERT_GT(plain.size(), 1000u);
  auto a = LineReader::Open(dir.Write("plain.txt", plain));
  auto b = LineReader::Open(dir.WriteGz("packed.gz", plain));
  auto c = LineReader::Open(dir.Write("stub.gz", std::string("\x1f\x8b\x08", 3)));
  auto d = LineReader::Open(dir.Write("empty.txt", ""));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ((*a)->size_hint(), plain.size());
  EXPECT_EQ((*b)->size_hint(), plain.size());
  EXPECT_EQ((*c)->size_hint(), 0u);
  EXPECT_EQ((*d)->size_hint(), 0u);
}

TEST(Icd10OrderTest, MalformedFilesNameFileAndLine) {
  TempDir dir;
  std::string good = ReadAll(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  struct Case {
    std::string name, content, expect;
  };
  std::string line3 = "00003 A009    1 Cholera, unspecified";
  std::string bad_flag = good;
  bad_flag[good.find("00003 A009") + 14] = '7';
  std::vector<Case> cases = {
      {"badflag", bad_flag, ":3: flag is '7'"},
      {"badcode", "00001 a0!     0 Cholera" + std::string(53, ' ') + " Cholera\r\n",
       ":1: malformed code"},
      {"short", good.substr(0, good.find("00003")) + line3 + "\r\n", ":3: line is"},
      {"truncated", good.substr(0, good.size() - 10), "truncated"},
      {"garbage", "\x01\x02 hello\r\n", ":1: unexpected control"},
      {"empty", "", "no records"},
  };
  for (const Case& c : cases) {
    std::string path = dir.Write(c.name, c.content);
    auto parsed = ParseIcd10Order(path);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(parsed.status().message().find(path), std::string::npos) << parsed.status();
    EXPECT_NE(parsed.status().message().find(c.expect), std::string::npos) << parsed.status();
  }
}

// Chunks: the concepts of ParseFile, in file order, handed over while the file is read.
void ExpectChunksAreTheWholeParse(const std::string& format, const std::string& path,
                                  size_t chunk) {
  auto whole = ParseFile(format, path);
  ASSERT_TRUE(whole.ok()) << whole.status();
  Concepts joined;
  std::vector<size_t> sizes;
  absl::Status s = ParseFileInChunks(format, path, chunk, [&](Concepts part) {
    sizes.push_back(part.size());
    for (auto& c : part) joined.push_back(std::move(c));
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(joined.size(), whole->size()) << path;
  for (size_t i = 0; i < joined.size(); ++i) {
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(joined[i], (*whole)[i]))
        << path << " #" << i << ": " << joined[i].ShortDebugString();
  }
  ASSERT_FALSE(sizes.empty());
  for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], chunk) << path;
  EXPECT_GE(sizes.back(), 1u);
  EXPECT_LE(sizes.back(), chunk);
}

TEST(ChunkedParseTest, ChunksJoinToTheWholeParse) {
  ExpectChunksAreTheWholeParse("icd10cm-order", kSample + "/icd10cm/2025/icd10cm_order_2025.txt", 7);
  ExpectChunksAreTheWholeParse("icd10cm-order", kSample + "/icd10cm/2025/icd10cm_order_2025.txt",
                               1000000);
  ExpectChunksAreTheWholeParse("hcpcs", kSample + "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt", 5);
  const std::string real = kShared + "/icd10cm/2025/icd10cm_order_2025.txt.gz";
  if (fs::exists(real)) ExpectChunksAreTheWholeParse("icd10cm-order", real, 5000);
}

TEST(ChunkedParseTest, AnErrorAfterChunksIsStillReturnedAndTheSinkCanStop) {
  TempDir dir;
  std::string good = ReadAll(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  // A bad last line: the chunks before it are handed over, then the error comes.
  std::string path = dir.Write("bad-end", good + "99999 a!!     1 Not a code" + std::string(50, ' ') +
                                              " Not a code\r\n");
  size_t handed = 0;
  absl::Status s = ParseFileInChunks("icd10cm-order", path, 2, [&](Concepts part) {
    handed += part.size();
    return true;
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("malformed code"), std::string::npos) << s;
  EXPECT_GT(handed, 0u);
  // A code given twice far from its first line.
  std::string twice = dir.Write("twice", good + good.substr(0, good.find("\n") + 1));
  s = ParseFileInChunks("icd10cm-order", twice, 2, [](Concepts) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("appears twice"), std::string::npos) << s;
  // The sink stops the parse.
  int calls = 0;
  s = ParseFileInChunks("icd10cm-order", kSample + "/icd10cm/2025/icd10cm_order_2025.txt", 2,
                        [&](Concepts) { return ++calls < 2; });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(calls, 2);
  s = ParseFileInChunks("hcpcs", kSample + "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt", 1,
                        [&](Concepts) { return false; });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  // Errors of the whole-file formats and of unknown ones are returned as ParseFile's.
  EXPECT_EQ(ParseFileInChunks("nope", "/x", 5, [](Concepts) { return true; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFileInChunks("icd10cm-order", "/nonexistent", 5, [](Concepts) { return true; })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(Icd10OrderTest, TruncatedGzipIsInvalidArgument) {
  TempDir dir;
  std::string plain = ReadAll(kSample + "/icd10cm/2025/icd10cm_order_2025.txt");
  std::string gz = dir.WriteGz("full.gz", plain);
  std::string bytes = ReadAll(gz);
  std::string cut = dir.Write("cut.gz", bytes.substr(0, bytes.size() / 2));
  auto parsed = ParseIcd10Order(cut);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("cut.gz"), std::string::npos) << parsed.status();
}

TEST(Icd10OrderTest, MissingFileIsNotFound) {
  EXPECT_EQ(ParseIcd10Order("/nonexistent/file.txt").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseFile("nope", "/x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HcpcsTest, ParsesSampleWithContinuationsModifiersAndDates) {
  auto parsed = ParseHcpcs(kSample + "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto m = ByCode(*parsed);
  ASSERT_EQ(m.size(), 6u);
  const v1::Concept& g0505 = m["G0505"];
  EXPECT_EQ(g0505.display(),
            "Assessment of cognition and function with standardized instruments, with a "
            "recorded care plan for a patient with cognitive impairment, history from patient "
            "or caregiver, in office, outpatient or home setting");
  EXPECT_EQ(Designation(g0505, "short"), "Cog/func assessment outpt");
  EXPECT_EQ(g0505.termination_date(), "2017-12-31");
  EXPECT_EQ(g0505.added_date(), "2017-01-01");
  EXPECT_EQ(g0505.action_code(), "D");
  EXPECT_EQ(g0505.properties().at("betos"), "M5D");
  EXPECT_EQ(m["LT"].kind(), v1::CONCEPT_KIND_MODIFIER);
  EXPECT_FALSE(m["LT"].billable());
  EXPECT_EQ(m["A4206"].kind(), v1::CONCEPT_KIND_CODE);
  EXPECT_EQ(m["A4206"].termination_date(), "");
}

TEST(HcpcsTest, MalformedFilesNameFileAndLine) {
  TempDir dir;
  std::string good = ReadAll(kSample + "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt");
  std::string bad_date = good;
  size_t pos = bad_date.find("G2010001003");
  bad_date.replace(pos + 268, 8, "20191399");
  std::string orphan = good;
  orphan.insert(orphan.find("G2010001003"), "Q1234002004continued text\r\n");
  std::string junk = good + "this line is not a record\r\n";
  struct Case {
    std::string name, content, expect;
  };
  std::vector<Case> cases = {
      {"date", bad_date, "malformed date for G2010"},
      {"orphan", orphan, "continuation record for Q1234"},
      {"junk", junk, "not a HCPCS record"},
      {"truncated", good.substr(0, good.size() - 7), "truncated"},
  };
  for (const Case& c : cases) {
    std::string path = dir.Write(c.name, c.content);
    auto parsed = ParseHcpcs(path);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(parsed.status().message().find(path + ":"), std::string::npos) << parsed.status();
    EXPECT_NE(parsed.status().message().find(c.expect), std::string::npos) << parsed.status();
  }
}

// Writes the records of a fixed-width HCPCS file as an anweb.xlsx-style workbook: two note rows,
// the header row, then one row per record. Codes go through the shared-string table, other
// cells are inline strings, and ADD DT is written as an Excel serial day number.
std::string HcpcsFileAsXlsx(const std::string& fixed_width, const std::string& out) {
  struct Column {
    const char* name;
    size_t pos, len;
  };
  std::vector<Column> columns = {{"HCPC", 1, 5}, {"SEQNUM", 6, 5}, {"RECID", 11, 1},
                                 {"LONG DESCRIPTION", 12, 80}, {"SHORT DESCRIPTION", 92, 28}};
  auto add = [&](const char* prefix, int n, size_t pos, size_t len) {
    for (int i = 0; i < n; ++i) {
      static std::deque<std::string> names;  // keeps the c_str()s alive
      names.push_back(std::string(prefix) + (n > 1 ? std::to_string(i + 1) : ""));
      columns.push_back({names.back().c_str(), pos + i * len, len});
    }
  };
  add("PRICE", 4, 120, 2);
  add("MULT_PI", 1, 128, 1);
  add("CIM", 3, 129, 6);
  add("MCM", 3, 147, 8);
  add("STATUTE", 1, 171, 10);
  add("LABCERT", 8, 181, 3);
  add("XREF", 5, 205, 5);
  add("COV", 1, 230, 1);
  add("ASC_GRP", 1, 231, 2);
  add("ASC_DT", 1, 233, 8);
  add("PROCNOTE", 1, 253, 4);
  add("BETOS", 1, 257, 3);
  add("TOS", 5, 261, 1);
  add("ANEST_BU", 1, 266, 3);
  columns.push_back({"ADD DT", 269, 8});
  columns.push_back({"ACT EFF DT", 277, 8});
  columns.push_back({"TERM DT", 285, 8});
  columns.push_back({"ACTION CD", 293, 1});

  auto escape = [](std::string v) {
    std::string o;
    for (char c : v) {
      if (c == '&') o += "&amp;";
      else if (c == '<') o += "&lt;";
      else if (c == '>') o += "&gt;";
      else o += c;
    }
    return o;
  };
  auto col_name = [](size_t i) {
    std::string n;
    for (size_t k = i + 1; k > 0; k = (k - 1) / 26) n.insert(n.begin(), 'A' + (k - 1) % 26);
    return n;
  };
  std::vector<std::string> shared;
  std::string sheet = "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>";
  int row_number = 0;
  auto inline_cell = [&](size_t col, const std::string& v) {
    return "<c r=\"" + col_name(col) + std::to_string(row_number) + "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">" + escape(v) + "</t></is></c>";
  };
  auto row = [&](const std::vector<std::string>& cells) {};
  (void)row;
  auto begin_row = [&]() { sheet += "<row r=\"" + std::to_string(++row_number) + "\">"; };
  begin_row();
  sheet += inline_cell(0, "HCPCS file converted for a test") + "</row>";
  begin_row();
  sheet += inline_cell(0, "Notes: not an official CMS workbook") + "</row>";
  begin_row();
  for (size_t i = 0; i < columns.size(); ++i) sheet += inline_cell(i, columns[i].name);
  sheet += "</row>";
  std::ifstream in(fixed_width, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 11 || line[10] < '3' || line[10] > '8') continue;  // not a record
    line.resize(320, ' ');
    begin_row();
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string v = line.substr(columns[i].pos - 1, columns[i].len);
      if (i != 3) v = std::string(absl::StripAsciiWhitespace(v));  // long text keeps spaces
      if (v.empty()) continue;
      if (i == 0) {
        shared.push_back(v);
        sheet += "<c r=\"A" + std::to_string(row_number) + "\" t=\"s\"><v>" +
                 std::to_string(shared.size() - 1) + "</v></c>";
      } else if (std::string(columns[i].name) == "ADD DT") {
        absl::CivilDay day(std::stoi(v.substr(0, 4)), std::stoi(v.substr(4, 2)),
                           std::stoi(v.substr(6, 2)));
        sheet += "<c r=\"" + col_name(i) + std::to_string(row_number) + "\"><v>" +
                 std::to_string(day - absl::CivilDay(1899, 12, 30)) + "</v></c>";
      } else {
        sheet += inline_cell(i, v);
      }
    }
    sheet += "</row>";
  }
  sheet += "</sheetData></worksheet>";
  std::string sst = "<?xml version=\"1.0\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">";
  for (const auto& v : shared) sst += "<si><t>" + escape(v) + "</t></si>";
  sst += "</sst>";
  int err = 0;
  zip_t* zip = zip_open(out.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  static std::vector<std::string> keep;  // zip_source_buffer does not copy
  keep.push_back(sheet);
  keep.push_back(sst);
  zip_file_add(zip, "xl/worksheets/sheet1.xml",
               zip_source_buffer(zip, keep[keep.size() - 2].data(), keep[keep.size() - 2].size(), 0),
               ZIP_FL_OVERWRITE);
  zip_file_add(zip, "xl/sharedStrings.xml",
               zip_source_buffer(zip, keep.back().data(), keep.back().size(), 0), ZIP_FL_OVERWRITE);
  zip_close(zip);
  return out;
}

void ExpectSameConcepts(const Concepts& a, const Concepts& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]))
        << a[i].DebugString() << " vs " << b[i].DebugString();
  }
}

TEST(HcpcsXlsxTest, GivesTheSameConceptsAsTheFixedWidthFile) {
  TempDir dir;
  std::string fixed = kSample + "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt";
  std::string xlsx = HcpcsFileAsXlsx(fixed, dir.Write("anweb.xlsx", ""));
  auto from_text = ParseHcpcs(fixed);
  auto from_sheet = ParseFile("hcpcs-xlsx", xlsx);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  ASSERT_TRUE(from_sheet.ok()) << from_sheet.status();
  ExpectSameConcepts(*from_text, *from_sheet);
}

// A workbook whose first sheet holds `rows`, every cell an inline string (none when "").
std::string WriteSheet(const std::string& path, const std::vector<std::vector<std::string>>& rows) {
  std::string sheet =
      "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/"
      "spreadsheetml/2006/main\"><sheetData>";
  for (size_t r = 0; r < rows.size(); ++r) {
    sheet += "<row r=\"" + std::to_string(r + 1) + "\">";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      if (rows[r][c].empty()) continue;
      std::string col;
      for (size_t k = c + 1; k > 0; k = (k - 1) / 26) col.insert(col.begin(), 'A' + (k - 1) % 26);
      sheet += "<c r=\"" + col + std::to_string(r + 1) +
               "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">" + rows[r][c] + "</t></is></c>";
    }
    sheet += "</row>";
  }
  sheet += "</sheetData></worksheet>";
  static std::deque<std::string> keep;  // zip_source_buffer does not copy
  keep.push_back(sheet);
  int err = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  zip_file_add(zip, "xl/worksheets/sheet1.xml",
               zip_source_buffer(zip, keep.back().data(), keep.back().size(), 0), ZIP_FL_OVERWRITE);
  zip_close(zip);
  return path;
}

// Issue 10: CMS's real workbooks hold each long description whole in one cell; the importer cut
// every one at 80 characters (the width of a fixed-width slice). Columns are found by header,
// in any order, and a description split over rows (RECID 4) is joined at a word boundary.
TEST(HcpcsXlsxTest, CellsAreTakenWholeAndColumnsByTheirHeaders) {
  TempDir dir;
  const std::string long_text =
      "Non-emergency transportation, per mile - vehicle provided by individual (family member, "
      "self, neighbor) with vested interest, and a description that goes on well past eighty "
      "characters, past one hundred and sixty, and past two hundred and forty as well";
  ASSERT_GT(long_text.size(), 240u);
  std::string path = WriteSheet(
      dir.Write("anweb.xlsx", ""),
      {{"HCPC", "RECID", "SEQNUM", "SHORT DESCRIPTION", "ACTION CD", "TERM DT", "LONG DESCRIPTION",
        "ADD DT", "TOS1", "TOS2"},
       {"A0080", "3", "0010", "Noner vehicle provided by vol", "N", "", long_text, "20030101", "1",
        "D"},
       {"   GA", "7", "0010", "Waiver of liability on file", "N", "", "Waiver of liability "
        "statement issued as required by payer policy, individual case", "20020101", "", ""},
       {"G0503", "3", "0010", "Subseq psych care man,60mi", "D", "20171231",
        "Subsequent psychiatric collaborative care management, first 60 minutes in a subsequent "
        "month of behavioral health care manager activities, in consultation with a "
        "psychiatric consultant, and directed by the treating physician, achieved their treatment",
        "20170101", "1", ""},
       {"G0503", "4", "0020", "", "", "", "goals and are prepared for discharge", "", "", ""}});
  auto parsed = ParseHcpcsXlsx(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  auto by = ByCode(*parsed);
  EXPECT_EQ(by["A0080"].display(), long_text);
  EXPECT_EQ(Designation(by["A0080"], "short"), "Noner vehicle provided by vol");
  EXPECT_EQ(by["A0080"].added_date(), "2003-01-01");
  EXPECT_EQ(by["A0080"].properties().at("type_of_service"), "1,D");
  EXPECT_EQ(by["GA"].kind(), v1::CONCEPT_KIND_MODIFIER);
  EXPECT_EQ(by["GA"].display(),
            "Waiver of liability statement issued as required by payer policy, individual case");
  EXPECT_EQ(by["G0503"].termination_date(), "2017-12-31");
  EXPECT_TRUE(absl::EndsWith(by["G0503"].display(),
                             "and directed by the treating physician, achieved their treatment goals and are "
                             "prepared for discharge"))
      << by["G0503"].display();
  // A required column missing, a bad record id and a bad date name the file, row and field.
  for (const auto& [name, rows, expected] :
       std::vector<std::tuple<std::string, std::vector<std::vector<std::string>>, std::string>>{
           {"nolong.xlsx", {{"HCPC", "RECID"}, {"A0080", "3"}}, ":1: the header row has no column 'LONG DESCRIPTION'"},
           {"recid.xlsx", {{"HCPC", "RECID", "LONG DESCRIPTION"}, {"A0080", "5", "x"}},
            ":2: column RECID: '5' is not a record id"},
           {"date.xlsx", {{"HCPC", "RECID", "LONG DESCRIPTION", "ADD DT"}, {"A0080", "3", "x", "2003-01"}},
            ":2: malformed date for A0080"},
           {"code.xlsx", {{"HCPC", "RECID", "LONG DESCRIPTION"}, {"A00801", "3", "x"}},
            ":2: malformed HCPCS code 'A00801'"}}) {
    std::string bad = WriteSheet(dir.Write(name, ""), rows);
    auto r = ParseHcpcsXlsx(bad);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(bad + expected), std::string::npos) << r.status();
  }
}

TEST(HcpcsXlsxTest, BadWorkbooksAreInvalidArgument) {
  TempDir dir;
  std::string not_zip = dir.Write("x.xlsx", "this is not a zip file");
  EXPECT_EQ(ParseHcpcsXlsx(not_zip).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHcpcsXlsx(dir.Write("y.txt", "") + ".missing").status().code(),
            absl::StatusCode::kNotFound);
  // A header but no records (the text file has none).
  std::string order = dir.Write("order.txt", "00001 A00     0 Cholera" + std::string(53, ' ') +
                                                 " Cholera\r\n");
  auto parsed = ParseHcpcsXlsx(HcpcsFileAsXlsx(order, dir.Write("norecords.xlsx", "")));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("norecords.xlsx"), std::string::npos) << parsed.status();
  // No header row at all.
  std::string path = dir.Write("noheader.xlsx", "");
  int err = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  static const std::string sheet =
      "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>CODE</t></is></c>"
      "</row></sheetData></worksheet>";
  zip_file_add(zip, "xl/worksheets/sheet1.xml", zip_source_buffer(zip, sheet.data(), sheet.size(), 0),
               ZIP_FL_OVERWRITE);
  zip_close(zip);
  parsed = ParseHcpcsXlsx(path);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("no header row"), std::string::npos) << parsed.status();
}

// Found by fuzz_xlsx: a row or column reference past the worksheet's limits must be refused,
// not allocated (row 99,999,999 once asked for a hundred million empty rows).
TEST(HcpcsXlsxTest, RefusesReferencesPastTheWorksheetLimits) {
  TempDir dir;
  for (const auto& [name, sheet, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"farrow.xlsx", "<worksheet><sheetData><row r=\"99999999\"><c t=\"inlineStr\"><is><t>HCPC</t>"
                           "</is></c></row></sheetData></worksheet>", "row number 99999999"},
           {"backrow.xlsx", "<worksheet><sheetData><row r=\"5\"/><row r=\"2\"/></sheetData></worksheet>",
            "out of order"},
           {"farcol.xlsx", "<worksheet><sheetData><row r=\"1\"><c r=\"ZZZZZZZZZ1\"><v>1</v></c></row>"
                           "</sheetData></worksheet>", "malformed cell reference"}}) {
    std::string path = dir.Write(name, "");
    int err = 0;
    zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    zip_file_add(zip, "xl/worksheets/sheet1.xml",
                 zip_source_buffer(zip, sheet.data(), sheet.size(), 0), ZIP_FL_OVERWRITE);
    zip_close(zip);
    auto parsed = ParseHcpcsXlsx(path);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos) << parsed.status();
    EXPECT_NE(parsed.status().message().find(name), std::string::npos) << parsed.status();
  }
}

TEST(CptTest, ParsesTheSyntheticDataFileSet) {
  auto parsed = ParseFile("cpt", kSample + "/cpt/2024");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto m = ByCode(*parsed);
  EXPECT_EQ(m.size(), 16u);  // 11 codes, 5 modifiers
  EXPECT_EQ(m["0042T"].properties().at("category"), "III");
  EXPECT_EQ(m["4000F"].properties().at("category"), "II");
  EXPECT_EQ(m["0001U"].properties().at("category"), "PLA");
  EXPECT_EQ(m["99213"].properties().at("category"), "I");
  EXPECT_TRUE(m["99213"].billable());
  EXPECT_EQ(Designation(m["99213"], "short"), "OFFICE VISIT EST PT LOW");
  EXPECT_EQ(Designation(m["99213"], "consumer"),
            "Short visit with your doctor about a simple health problem");
  int clinician = 0;
  for (const auto& d : m["0042T"].designations()) clinician += d.use() == "clinician";
  EXPECT_EQ(clinician, 2);
  EXPECT_EQ(m["25"].kind(), v1::CONCEPT_KIND_MODIFIER);
  EXPECT_FALSE(m["25"].billable());
  EXPECT_EQ(m["25"].properties().at("section"), "Regular Modifiers");
  EXPECT_EQ(m["P1"].properties().at("section"), "Anesthesia Physical Status Modifiers");
  EXPECT_EQ(m["LT"].properties().at("section"), "Level II (HCPCS/National) Modifiers");
  EXPECT_NE(m["25"].display().find("same day of a procedure"), std::string::npos);
}

TEST(CptTest, CptLinkHistoryGivesHistoryAndAddedDates) {
  auto parsed = ParseFile("cpt", kSample + "/cpt/2025");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto m = ByCode(*parsed);
  EXPECT_EQ(m["99214"].properties().at("history"), "2023-01-01 ADDED; 2025-01-01 REVISED");
  EXPECT_EQ(m["99214"].added_date(), "2023-01-01");
  EXPECT_EQ(m["99215"].added_date(), "2025-01-01");
  EXPECT_EQ(m["25"].properties().at("history"), "2015-01-01 ADDED");
  EXPECT_EQ(m.count("0188T"), 0u);  // deleted in 2025: in the history files only
  EXPECT_EQ(m["0042T"].properties().count("history"), 0u);
  // Without the history files (2024), no history.
  auto older = ParseFile("cpt", kSample + "/cpt/2024");
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(ByCode(*older)["99214"].properties().count("history"), 0u);

  TempDir dir;
  std::string folder = dir.Write("", "");
  dir.Write("LONGULT.txt", "99213\tOffice visit\r\n");
  std::string history = dir.Write("History_DTK_tab.txt",
                                  "title\nheaders\n2025-13-01\tADDED\t1\t99213\t1\t\t\t\n");
  auto bad_date = ParseCptFolder(folder);
  ASSERT_FALSE(bad_date.ok());
  EXPECT_NE(bad_date.status().message().find(history + ":3: bad date '2025-13-01'"),
            std::string::npos)
      << bad_date.status();
  dir.Write("History_DTK_tab.txt", "title\nheaders\n01/02/2025\tADDED\t1\t99213\n");
  auto short_row = ParseCptFolder(folder);
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.status().message().find("expected 8 tab-separated fields, found 4"),
            std::string::npos)
      << short_row.status();
  dir.Write("History_DTK_tab.txt", "title\nheaders\n1/2/2025\tadded\t1\t99213\t1\t\t\t\n");
  auto ok = ParseCptFolder(folder);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].added_date(), "2025-01-02");
}

TEST(CptTest, BadFoldersAndFiles) {
  TempDir dir;
  EXPECT_EQ(ParseCptFolder(dir.Write("file.txt", "x")).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string folder = dir.Write("", "");  // the temp folder itself: no LONGULT.txt yet
  auto none = ParseCptFolder(folder);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("no LONGULT.txt"), std::string::npos);
  std::string longult = dir.Write("LONGULT.txt", "header\r\n\r\n99213\tOffice visit\r\n992X3\tBad\r\n");
  auto bad = ParseCptFolder(folder);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(longult + ":4: malformed CPT code '992X3'"),
            std::string::npos)
      << bad.status();
}

// The official files, when ../shared/data is beside the repo (SOURCES.md sections 3.1, 3.4).
TEST(RealDataTest, Icd10cmOrderFileCounts) {
  std::string path = kShared + "/icd10cm/2025/icd10cm_order_2025.txt.gz";
  if (!fs::exists(path)) GTEST_SKIP() << "official data not present: " << path;
  auto parsed = ParseIcd10Order(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  size_t valid = 0;
  for (const auto& c : *parsed) valid += c.billable();
  EXPECT_EQ(parsed->size(), 97584u);
  EXPECT_EQ(valid, 74260u);
}

TEST(RealDataTest, HcpcsXlsxOfTheOfficial2019FileGivesTheSameConcepts) {
  std::string gz = kShared + "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt.gz";
  if (!fs::exists(gz)) GTEST_SKIP() << "official data not present: " << gz;
  TempDir dir;
  std::string plain = dir.Write("anweb.txt", "");
  {
    gzFile f = gzopen(gz.c_str(), "rb");
    std::ofstream out(plain, std::ios::binary);
    char buf[65536];
    int n;
    while ((n = gzread(f, buf, sizeof(buf))) > 0) out.write(buf, n);
    gzclose(f);
  }
  auto from_text = ParseHcpcs(gz);
  auto from_sheet = ParseHcpcsXlsx(HcpcsFileAsXlsx(plain, dir.Write("anweb.xlsx", "")));
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  ASSERT_TRUE(from_sheet.ok()) << from_sheet.status();
  EXPECT_EQ(from_text->size(), 6800u);
  ExpectSameConcepts(*from_text, *from_sheet);
}

TEST(RealDataTest, Icd10CmConversionTable) {
  std::string path = kShared + "/icd10cm/conversion/icd-10-cm-conversion-table-FY2025.xlsx";
  if (!fs::exists(path)) GTEST_SKIP() << "official data not present: " << path;
  auto links = ParseIcd10CmConversion(path);
  ASSERT_TRUE(links.ok()) << links.status();
  EXPECT_GT(links->size(), 5000u);
  bool found = false;
  for (const auto& l : *links) {
    if (l.code() == "T81.320A" && l.previous_code() == "T81.32XA") {
      found = true;
      EXPECT_EQ(l.effective(), "2024-10-01");
    }
    EXPECT_NE(l.previous_code(), "None");
  }
  EXPECT_TRUE(found);
  // Not a conversion table.
  TempDir dir;
  std::string order = dir.Write("order.txt", "00001 A00     0 Cholera" + std::string(53, ' ') +
                                                 " Cholera\r\n");
  auto wrong = ParseIcd10CmConversion(HcpcsFileAsXlsx(order, dir.Write("x.xlsx", "")));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
}

// The concept fields an importer fills from each field of the HCPCS record layout, by the
// workbook's column headers (the names tests/tools/hcpcs_raw_diff.py reports).
std::map<std::string, std::vector<std::string>> ConceptFieldsOfTheLayout() {
  return {{"display", {"LONG DESCRIPTION"}},
          {"short", {"SHORT DESCRIPTION"}},
          {"added_date", {"ADD DT"}},
          {"action_effective_date", {"ACT EFF DT"}},
          {"termination_date", {"TERM DT"}},
          {"action_code", {"ACTION CD"}},
          {"kind", {"HCPC"}},
          {"pricing_indicator", {"PRICE1", "PRICE2", "PRICE3", "PRICE4"}},
          {"multiple_pricing_indicator", {"MULT_PI"}},
          {"coverage_issues_manual", {"CIM1", "CIM2", "CIM3"}},
          {"carriers_manual", {"MCM1", "MCM2", "MCM3"}},
          {"statute", {"STATUTE"}},
          {"lab_certification", {"LABCERT1", "LABCERT2", "LABCERT3", "LABCERT4", "LABCERT5",
                                 "LABCERT6", "LABCERT7", "LABCERT8"}},
          {"cross_reference", {"XREF1", "XREF2", "XREF3", "XREF4", "XREF5"}},
          {"coverage", {"COV"}},
          {"asc_payment_group", {"ASC_GRP"}},
          {"asc_effective_date", {"ASC_DT"}},
          {"processing_note", {"PROCNOTE"}},
          {"betos", {"BETOS"}},
          {"type_of_service", {"TOS1", "TOS2", "TOS3", "TOS4", "TOS5"}},
          {"anesthesia_base_units", {"ANEST_BU"}}};
}

// Every concept field of `c`, by the names above.
std::map<std::string, std::string> ConceptFields(const v1::Concept& c) {
  std::map<std::string, std::string> f = {
      {"display", c.display()},
      {"short", Designation(c, "short")},
      {"added_date", c.added_date()},
      {"action_effective_date", c.action_effective_date()},
      {"termination_date", c.termination_date()},
      {"action_code", c.action_code()},
      {"kind", std::to_string(c.kind())}};
  for (const auto& [name, value] : c.properties()) f[name] = value;
  return f;
}

// Issue 10: the fixed-width file and the workbook of one release import to the same concepts,
// field for field, except where CMS's two files themselves differ; those differences are found
// by a script that reads the raw files (tests/tools/hcpcs_raw_diff.py), and each must be one the
// importers show, and the other way round.
TEST(RealDataTest, Hcpcs2025FixedWidthAndWorkbookDifferOnlyWhereTheRawFilesDo) {
  std::string txt = kShared + "/hcpcs/2025/HCPC2025_JAN_ANWEB_12172024.txt.gz";
  std::string xlsx = kShared + "/hcpcs/2025/HCPC2025_JAN_ANWEB_12172024.xlsx";
  if (!fs::exists(txt) || !fs::exists(xlsx)) GTEST_SKIP() << "official data not present: " << txt;
  auto from_text = ParseHcpcs(txt);
  auto from_sheet = ParseHcpcsXlsx(xlsx);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  ASSERT_TRUE(from_sheet.ok()) << from_sheet.status();
  EXPECT_EQ(from_text->size(), 8642u);
  EXPECT_EQ(from_sheet->size(), 8642u);
  // (code, concept field) pairs that differ between the two imports.
  std::set<std::pair<std::string, std::string>> imported;
  auto sheet = ByCode(*from_sheet);
  for (const v1::Concept& t : *from_text) {
    auto it = sheet.find(t.code());
    if (it == sheet.end()) {
      imported.insert({t.code(), "(only in txt)"});
      continue;
    }
    auto a = ConceptFields(t), b = ConceptFields(it->second);
    for (const auto& [name, value] : a) {
      if (b[name] != value) imported.insert({t.code(), name});
    }
    for (const auto& [name, value] : b) {
      if (a[name] != value) imported.insert({t.code(), name});
    }
    sheet.erase(it);
  }
  for (const auto& [code, c] : sheet) imported.insert({code, "(only in xlsx)"});
  // The same from the raw files, mapped to concept fields.
  std::map<std::string, std::string> concept_field;
  for (const auto& [field, layout] : ConceptFieldsOfTheLayout()) {
    for (const auto& l : layout) concept_field[l] = field;
  }
  std::string command = "/usr/bin/python3 " + std::string(CODEBOOK_TESTS_DIR) +
                        "/tools/hcpcs_raw_diff.py '" + txt + "' '" + xlsx + "' 2>/dev/null";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::set<std::pair<std::string, std::string>> raw;
  std::map<std::string, int> raw_by_field;
  char buf[8192];
  std::string out;
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << command;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    ASSERT_GE(cols.size(), 2u) << line;
    ++raw_by_field[cols[1]];
    auto mapped = concept_field.find(cols[1]);
    // Fields the importers do not keep (OPPS) cannot differ in the concepts.
    if (cols[1][0] == '(') raw.insert({cols[0], cols[1]});
    else if (mapped != concept_field.end()) raw.insert({cols[0], mapped->second});
  }
  EXPECT_EQ(imported, raw);
  // What the raw files show (SOURCES.md 2.5 and 3.4, and two type-of-service letters found by
  // the script): G0503's long description cut in the workbook, ACT EFF DT blank in the workbook
  // for 116 old codes, and a fourth type of service only in the workbook for E0210 and E0776.
  EXPECT_EQ(raw_by_field, (std::map<std::string, int>{
                              {"ACT EFF DT", 116}, {"LONG DESCRIPTION", 1}, {"TOS4", 2}}));
  EXPECT_TRUE(imported.count({"G0503", "display"}));
  auto text = ByCode(*from_text);
  EXPECT_EQ(text["G0503"].display().size(), 1247u);
  EXPECT_EQ(ByCode(*from_sheet)["G0503"].display().size(), 1188u);
  // Every long description longer than a fixed-width slice came through whole.
  size_t longer = 0;
  for (const auto& c : *from_sheet) longer += c.display().size() > 80;
  EXPECT_GT(longer, 3000u);
}

// 2023 still splits G0503 over two rows (RECID 4): joined at a word boundary.
TEST(RealDataTest, Hcpcs2023WorkbookJoinsADescriptionSplitOverRows) {
  std::string path = kShared + "/hcpcs/2023/HCPC2023_JAN_ANWEB_v3.xlsx";
  if (!fs::exists(path)) GTEST_SKIP() << "official data not present: " << path;
  auto parsed = ParseHcpcsXlsx(path);
  ASSERT_TRUE(parsed.ok());
  const std::string g0503 = ByCode(*parsed)["G0503"].display();
  EXPECT_TRUE(absl::EndsWith(g0503, "with patients as they achieve remission of symptoms "
                                    "and/or other treatment goals and are prepared for "
                                    "discharge from active treatment"))
      << g0503;
}

// SOURCES.md 3.4, for every HCPCS file in ../shared/data, fixed-width and workbook.
TEST(RealDataTest, HcpcsFileCounts) {
  struct Expect {
    std::string format, file;
    size_t codes, procedures, modifiers, no_term;
  };
  for (const Expect& e : std::vector<Expect>{
           {"hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt.gz", 6498, 6155, 343, 5968},
           {"hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt.gz", 6559, 6205, 354, 6093},
           {"hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt.gz", 6800, 6440, 360, 6285},
           {"hcpcs-xlsx", "/hcpcs/2023/HCPC2023_JAN_ANWEB_v3.xlsx", 7785, 7404, 381, 6840},
           {"hcpcs", "/hcpcs/2025/HCPC2025_JAN_ANWEB_12172024.txt.gz", 8642, 8259, 383, 7477},
           {"hcpcs-xlsx", "/hcpcs/2025/HCPC2025_JAN_ANWEB_12172024.xlsx", 8642, 8259, 383, 7477}}) {
    std::string path = kShared + e.file;
    if (!fs::exists(path)) GTEST_SKIP() << "official data not present: " << path;
    auto parsed = ParseFile(e.format, path);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    size_t mods = 0, no_term = 0;
    for (const auto& c : *parsed) {
      mods += c.kind() == v1::CONCEPT_KIND_MODIFIER;
      no_term += c.termination_date().empty();
    }
    EXPECT_EQ(parsed->size(), e.codes) << e.file;
    EXPECT_EQ(parsed->size() - mods, e.procedures) << e.file;
    EXPECT_EQ(mods, e.modifiers) << e.file;
    EXPECT_EQ(no_term, e.no_term) << e.file;
  }
}

TEST(Icd10CmTabularTest, ParsesTheSampleIntoChaptersBlocksCodesAndNotes) {
  TabularCounts counts;
  auto parsed = ParseIcd10CmTabular(kSample + "/icd10cm/2024/icd10cm_tabular_2024.xml", &counts);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(counts.version, "2024");
  auto by = ByCode(*parsed);
  // Chapter -> block -> category -> ... with their keys.
  ASSERT_TRUE(by.count("CHAPTER-9"));
  EXPECT_EQ(by["CHAPTER-9"].display(), "Diseases of the circulatory system (I00-I99)");
  EXPECT_EQ(by["CHAPTER-9"].parent(), "");
  EXPECT_EQ(by["I10-I16"].parent(), "CHAPTER-9");
  EXPECT_EQ(by["I10-I16"].properties().at("block"), "I10-I16");
  EXPECT_EQ(by["I10-I16"].properties().at("excludes1"), "hypertension in a newborn (P29.2)");
  EXPECT_EQ(by["I10"].parent(), "I10-I16");
  EXPECT_EQ(by["I10"].kind(), v1::CONCEPT_KIND_CODE);
  EXPECT_EQ(by["E11"].kind(), v1::CONCEPT_KIND_HEADER);
  EXPECT_EQ(by["E1165"].parent(), "E116");
  // Other names are designations (one per note); instructions are properties, one per element.
  ASSERT_EQ(by["I10"].designations_size(), 2);
  EXPECT_EQ(by["I10"].designations(0).use(), "includes");
  EXPECT_EQ(by["I10"].designations(0).value(), "high blood pressure");
  EXPECT_EQ(by["E11"].properties().at("excludes1"),
            "type 1 diabetes mellitus (E10.-)\ngestational diabetes (O24.4-)");
  EXPECT_EQ(Designation(by["J45909"], "inclusionTerm"), "Asthma NOS");
  // 7th characters, a note inside the definition joining the character before it.
  const auto& s52 = by["S52"].properties();
  EXPECT_EQ(s52.at("7th:A"), "initial encounter for closed fracture");
  EXPECT_EQ(s52.at("7th:B"),
            "initial encounter for open fracture type I or II\ninitial encounter for open fracture NOS");
  EXPECT_EQ(s52.at("sevenChrNote"), "Add a 7th character to every code of category S52");
  EXPECT_EQ(by["S52501"].kind(), v1::CONCEPT_KIND_CODE);
  EXPECT_EQ(counts.elements["chapter"], 7);
  EXPECT_EQ(counts.elements["section"], 9);
  EXPECT_EQ(counts.elements["sevenChrDef"], 3);
  EXPECT_EQ(counts.elements["extension"], 10);
  EXPECT_EQ(counts.notes["excludes1"], 7);
  EXPECT_EQ(counts.elements["diag"], 35);
  EXPECT_EQ(parsed->size(), 7 + 9 + 35u);
}

TEST(Icd10CmTabularTest, BadFilesNameFileAndLine) {
  TempDir dir;
  struct Case {
    std::string xml, expect;
  };
  const std::string head = "<?xml version=\"1.0\"?>\n<ICD10CM.tabular>\n<chapter><name>1</name>"
                           "<desc>One</desc>\n<section id=\"A00-A09\"><desc>Block</desc>\n";
  for (const Case& c : std::vector<Case>{
           {head + "<diag><name>A00</name><desc>x</desc>\n", ":5: not well-formed XML"},
           {"<?xml version=\"1.0\"?>\n<ICD10.index/>\n", ":2: the root element is <ICD10.index>"},
           {head + "<diag><name>A00</name><desc>x</desc></diag>\n<diag><name>A00</name>"
                   "<desc>y</desc></diag></section></chapter></ICD10CM.tabular>\n",
            ":6: 'A00' is defined twice"},
           {head + "<diag><name>1AB</name><desc>x</desc></diag></section></chapter>"
                   "</ICD10CM.tabular>\n",
            ":5: diag name '1AB' is not an ICD-10-CM code"},
           {head + "<diag><name>A01</name></diag></section></chapter></ICD10CM.tabular>\n",
            ":5: A01 has no <desc>"},
           {"<ICD10CM.tabular><chapter><name>1</name><desc>One</desc>\n<section id=\"A09-A00\">"
            "<desc>B</desc></section></chapter></ICD10CM.tabular>\n",
            ":2: section id 'A09-A00' is not a category range"},
           {head + "<diag><name>A00</name><desc>x</desc><sevenChrDef><note>n</note>"
                   "</sevenChrDef></diag></section></chapter></ICD10CM.tabular>\n",
            ":5: a note before any 7th character"},
           {"<ICD10CM.tabular><version>1</version></ICD10CM.tabular>\n", "no <chapter> found"},
       }) {
    std::string path = dir.Write("t.xml", c.xml);
    auto parsed = ParseIcd10CmTabular(path);
    ASSERT_FALSE(parsed.ok()) << c.expect;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), path)) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expect)) << parsed.status();
  }
  EXPECT_EQ(ParseIcd10CmTabular(dir.Write("missing/none.xml", "")).status().code(),
            absl::StatusCode::kNotFound);
  // A truncated gzip stream is refused as the order files' are.
  std::string gz = dir.WriteGz("t.xml.gz", head);
  std::string bytes = ReadAll(gz);
  std::string cut = dir.Write("cut.xml.gz", bytes.substr(0, bytes.size() - 6));
  EXPECT_EQ(ParseIcd10CmTabular(cut).status().code(), absl::StatusCode::kInvalidArgument);
}

// Every official Tabular file: the elements taken equal the counts SOURCES.md measured in the
// files (3.5), and the Tabular generates exactly the release's order file (3.5: billable codes
// are the leaves, with each 7th character of the nearest definition above them, placeholder X
// up to the 6th character; S06 codes with 6th character 7 or 8 take no D or S, a rule only in
// prose), every other diag being a header of the order file, with its long description.
TEST(RealDataTest, Icd10CmTabularFilesMatchSourcesAndTheirOrderFiles) {
  struct Expect {
    std::string tabular, order;
    std::map<std::string, int64_t> elements;
    size_t s06_exception;
  };
  const std::vector<Expect> files = {
      {"/icd10cm/2017/icd10cm_tabular_2017.xml.gz", "/icd10cm/2017/icd10cm_order_2017.txt.gz",
       {{"chapter", 21}, {"section", 295}, {"diag", 43910}, {"inclusionTerm", 5981},
        {"excludes1", 2602}, {"excludes2", 972}, {"codeFirst", 292}, {"useAdditionalCode", 743},
        {"codeAlso", 155}, {"sevenChrDef", 505}, {"sevenChrNote", 505}, {"includes", 413},
        {"notes", 83}, {"extension", 1781}},
       0},
      {"/icd10cm/2021-01/icd10cm_tabular_2021.xml.gz",
       "/icd10cm/2021-01/icd10cm-order-Jan-2021.txt.gz",
       {{"chapter", 22}, {"section", 296}, {"diag", 45017}, {"inclusionTerm", 6269},
        {"excludes1", 2625}, {"excludes2", 1045}, {"codeFirst", 317}, {"useAdditionalCode", 774},
        {"codeAlso", 206}, {"sevenChrDef", 507}, {"sevenChrNote", 507}, {"includes", 414},
        {"notes", 84}, {"extension", 1787}},
       72},
      {"/icd10cm/2023/icd10cm_tabular_2023.xml.gz", "/icd10cm/2023/icd10cm-order-2023.txt.gz",
       {{"chapter", 22}, {"section", 296}, {"diag", 45869}, {"inclusionTerm", 6524},
        {"excludes1", 2627}, {"excludes2", 1087}, {"codeFirst", 339}, {"useAdditionalCode", 802},
        {"codeAlso", 248}, {"sevenChrDef", 507}, {"sevenChrNote", 507}, {"includes", 415},
        {"notes", 85}, {"extension", 1787}},
       76},
  };
  for (const Expect& e : files) {
    if (!fs::exists(kShared + e.tabular)) GTEST_SKIP() << "official data not present: " << e.tabular;
    TabularCounts counts;
    auto tabular = ParseIcd10CmTabular(kShared + e.tabular, &counts);
    ASSERT_TRUE(tabular.ok()) << tabular.status();
    EXPECT_EQ(counts.elements, e.elements) << e.tabular;
    auto order = ParseIcd10Order(kShared + e.order);
    ASSERT_TRUE(order.ok()) << order.status();
    std::map<std::string, const v1::Concept*> by;
    for (const auto& c : *tabular) by[c.code()] = &c;
    std::set<std::string> billable, headers, generated, diag_headers;
    std::map<std::string, std::string> long_text;
    for (const auto& c : *order) {
      (c.billable() ? billable : headers).insert(c.code());
      // Whitespace as the Tabular's is read (2017's order file has a few double spaces).
      long_text[c.code()] = absl::StrJoin(
          absl::StrSplit(c.display(), ' ', absl::SkipEmpty()), " ");
    }
    size_t ascii_equal = 0, ascii_descs = 0;
    for (const auto& c : *tabular) {
      if (absl::StrContains(c.code(), '-')) continue;  // chapters and blocks
      bool ascii = std::all_of(c.display().begin(), c.display().end(),
                               [](char x) { return static_cast<unsigned char>(x) < 0x80; });
      ascii_descs += ascii;
      ascii_equal += ascii && long_text[c.code()] == c.display();
      std::map<std::string, std::string> sevenths;
      for (const v1::Concept* up = &c; up != nullptr && sevenths.empty();
           up = up->parent().empty() ? nullptr : by[up->parent()]) {
        for (const auto& [name, value] : up->properties()) {
          if (absl::StartsWith(name, "7th:")) sevenths[name.substr(4)] = value;
        }
      }
      if (c.kind() != v1::CONCEPT_KIND_CODE) {
        diag_headers.insert(c.code());
      } else if (sevenths.empty()) {
        generated.insert(c.code());
      } else {
        diag_headers.insert(c.code());
        std::string stem = c.code();
        stem.resize(6, 'X');
        for (const auto& [ch, meaning] : sevenths) generated.insert(stem + ch);
      }
    }
    std::vector<std::string> missing, extra;
    std::set_difference(billable.begin(), billable.end(), generated.begin(), generated.end(),
                        std::back_inserter(missing));
    std::set_difference(generated.begin(), generated.end(), billable.begin(), billable.end(),
                        std::back_inserter(extra));
    EXPECT_TRUE(missing.empty()) << e.tabular << ": " << missing.size() << " order codes not generated";
    EXPECT_EQ(extra.size(), e.s06_exception) << e.tabular;
    for (const std::string& x : extra) {
      EXPECT_TRUE(absl::StartsWith(x, "S06") && (x[5] == '7' || x[5] == '8') &&
                  (x[6] == 'D' || x[6] == 'S'))
          << e.tabular << ": " << x;
    }
    // The order file's headers are the non-billable diags, and the codes that take a 7th
    // character's stems where the order file lists them (placeholder levels such as T81.32X).
    std::vector<std::string> headers_not_diags, diags_not_headers;
    std::set_difference(diag_headers.begin(), diag_headers.end(), headers.begin(), headers.end(),
                        std::back_inserter(diags_not_headers));
    EXPECT_TRUE(diags_not_headers.empty()) << e.tabular << ": " << diags_not_headers.size()
                                           << " diags are not headers, e.g. "
                                           << (diags_not_headers.empty() ? "" : diags_not_headers[0]);
    EXPECT_EQ(headers.size(), diag_headers.size()) << e.tabular;
    EXPECT_EQ(ascii_equal, ascii_descs) << e.tabular;
    EXPECT_EQ(counts.elements["diag"] + counts.elements["section"] + counts.elements["chapter"],
              static_cast<int64_t>(tabular->size()));
  }
}

// The FY2017 index files: the elements taken equal SOURCES.md's counts (3.5), and `see`
// references resolve to terms of their file.
TEST(RealDataTest, Icd10CmIndexFilesMatchSources) {
  const std::string dir = kShared + "/icd10cm/2017";
  if (!fs::exists(dir + "/icd10cm_index_2017.xml.gz")) GTEST_SKIP() << "official data not present";
  std::vector<IndexCounts> counts;
  auto parsed = ParseIcd10CmIndex(dir, &counts);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(counts.size(), 4u);
  std::map<std::string, IndexCounts> by;
  for (const auto& c : counts) by[c.table] = c;
  EXPECT_EQ(by["index"].elements["mainTerm"], 7973);
  EXPECT_EQ(by["index"].elements["term"], 69226);
  EXPECT_EQ(by["index"].elements["code"], 59412);
  EXPECT_EQ(by["external cause"].elements["mainTerm"], 314);
  EXPECT_EQ(by["external cause"].elements["term"], 7258);
  EXPECT_EQ(by["external cause"].elements["code"], 6208);
  EXPECT_EQ(by["drug"].elements["mainTerm"], 5170);
  EXPECT_EQ(by["drug"].elements["term"], 2246);
  EXPECT_EQ(by["drug"].elements["cell"], 43140);
  EXPECT_EQ(by["drug"].elements["cell code"], 39964);
  EXPECT_EQ(by["neoplasm"].elements["mainTerm"], 1);
  EXPECT_EQ(by["neoplasm"].elements["term"], 1929);
  EXPECT_EQ(by["neoplasm"].elements["cell"], 10858);
  EXPECT_EQ(by["neoplasm"].elements["cell code"], 9009);
  // `see` references resolved to a term (measured 2026-12-02: index 8,557 of 11,979, the
  // rest prose, misspelt, or naming another table); a floor against regressions.
  EXPECT_GE(by["index"].see_resolved, 8550);
  EXPECT_GE(by["external cause"].see_resolved, 560);
  for (const auto& c : counts) {
    EXPECT_EQ(c.version, "2017") << c.file;
    std::cout << c.table << ": see resolved " << c.see_resolved << ", to another table "
              << c.see_other_table << ", unresolved " << c.see_unresolved << "\n";
    for (size_t i = 0; i < c.unresolved.size() && i < 3; ++i) {
      std::cout << "  e.g. " << c.unresolved[i] << "\n";
    }
  }
  int64_t terms = 0;
  for (const auto& c : counts) terms += c.elements.at("mainTerm") + c.elements.at("term");
  EXPECT_EQ(static_cast<int64_t>(parsed->size()), terms);
  auto all = ByCode(*parsed);
  ASSERT_TRUE(all.count("INDEX:PNEUMONIA"));
  EXPECT_EQ(all["INDEX:PNEUMONIA"].properties().at("code"), "J18.9");
  EXPECT_EQ(Designation(all["INDEX:PNEUMONIA"], "nemod"),
            "(acute) (double) (migratory) (purulent) (septic) (unresolved)");
  const v1::Concept& heart = all["INDEX:ATTACK, ATTACKS>HEART"];
  EXPECT_EQ(heart.display(), "Attack, attacks, heart");
  EXPECT_EQ(heart.properties().at("see"), "infarct, myocardium");
  EXPECT_TRUE(absl::StartsWith(heart.properties().at("see.term"), "INDEX:INFARCT, INFARCTION>MYOCARDIUM"))
      << heart.properties().at("see.term");
  EXPECT_TRUE(absl::StartsWith(heart.properties().at("see.code"), "I21")) << heart.ShortDebugString();
  const v1::Concept& aspirin = all["DRUG:ASPIRIN"];
  EXPECT_EQ(aspirin.properties().at("poisoning, accidental (unintentional)"), "T39.011");
  EXPECT_EQ(all["NEOPLASM:NEOPLASM, NEOPLASTIC>LUNG"].properties().at("malignant primary"), "C34.9-");
}

TEST(Icd10CmIndexTest, ParsesTheSampleFolderWithSeeReferencesResolved) {
  std::vector<IndexCounts> counts;
  auto parsed = ParseIcd10CmIndex(kSample + "/icd10cm/2024", &counts);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(counts.size(), 2u);  // the drug table and the index, by file name
  EXPECT_EQ(counts[0].table, "drug");
  EXPECT_EQ(counts[1].table, "index");
  EXPECT_EQ(counts[1].see_resolved, 2);
  EXPECT_EQ(counts[1].see_unresolved, 0);
  auto by = ByCode(*parsed);
  const v1::Concept& high = by["INDEX:BLOOD PRESSURE>HIGH"];
  EXPECT_EQ(high.display(), "Blood pressure, high");
  EXPECT_EQ(high.parent(), "INDEX:BLOOD PRESSURE");
  EXPECT_EQ(high.properties().at("see"), "Hypertension");
  EXPECT_EQ(high.properties().at("see.term"), "INDEX:HYPERTENSION, HYPERTENSIVE");
  EXPECT_EQ(high.properties().at("see.code"), "I10");
  EXPECT_EQ(by["INDEX:COVID-19>SEQUELAE"].properties().at("see.code"), "U09.9");
  EXPECT_EQ(by["INDEX:DIABETES, DIABETIC>TYPE 2>WITH>HYPERGLYCEMIA"].properties().at("code"),
            "E11.65");
  EXPECT_EQ(by["INDEX:DIABETES, DIABETIC>TYPE 2"].kind(), v1::CONCEPT_KIND_HEADER);
  EXPECT_EQ(Designation(by["INDEX:HYPERTENSION, HYPERTENSIVE"], "nemod"),
            "(accelerated) (benign) (essential)");
  const v1::Concept& cannabis = by["DRUG:CANNABIS>SYNTHETIC"];
  EXPECT_EQ(cannabis.properties().at("poisoning, accidental (unintentional)"), "T40.721");
  EXPECT_EQ(cannabis.properties().count("adverse effect"), 0u);  // "--": no code
  EXPECT_EQ(cannabis.properties().at("table"), "drug");
}

TEST(Icd10CmIndexTest, BadFilesNameFileAndLine) {
  TempDir dir;
  struct Case {
    std::string xml, expect;
  };
  const std::string head = "<?xml version=\"1.0\"?>\n<ICD10CM.index>\n<letter><title>A</title>\n";
  for (const Case& c : std::vector<Case>{
           {head + "<mainTerm><title>Abc</title>\n", ":4: not well-formed XML"},
           {"<?xml version=\"1.0\"?>\n<ICD10CM.tabular/>\n", ":2: the root element is"},
           {head + "<mainTerm><title>Abc</title>\n<code>12.3</code></mainTerm></letter>"
                   "</ICD10CM.index>\n",
            ":5: <code> '12.3' is not an ICD-10-CM code"},
           {head + "<mainTerm><code>A00</code></mainTerm></letter></ICD10CM.index>\n",
            ":4: a term without a title"},
           {"<ICD10CM.index><indexHeading><head col=\"1\">Substance</head><head col=\"2\">P"
            "</head></indexHeading><letter><title>A</title>\n<mainTerm><title>x</title>"
            "<cell col=\"9\">T40.711</cell></mainTerm></letter></ICD10CM.index>\n",
            ":2: a cell of column '9'"},
           {"<ICD10CM.index><version>1</version></ICD10CM.index>\n", "no <mainTerm> found"},
       }) {
    std::string path = dir.Write("i.xml", c.xml);
    auto parsed = ParseIcd10CmIndex(path);
    ASSERT_FALSE(parsed.ok()) << c.expect;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), path)) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expect)) << parsed.status();
  }
  // A folder without index files, and a missing file.
  EXPECT_EQ(ParseIcd10CmIndex(kSample + "/hcpcs/2017").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseIcd10CmIndex(kSample + "/none.xml").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace codebook::importers

namespace codebook::importers {
namespace {

// Every official ICD-10-PCS Tables file: tables, rows and generated codes equal SOURCES.md's
// counts (3.6), and the rows, multiplied out, generate exactly the valid codes of the same
// folder's order file, whose headers are exactly the table prefixes. The Index and Definitions
// files: the elements taken equal SOURCES.md's counts.
TEST(RealDataTest, Icd10PcsTablesIndexAndDefinitionsMatchSourcesAndTheOrderFiles) {
  struct Expected {
    std::string folder, year;
    int64_t tables, rows, codes;
    int64_t main_terms, terms, code, codes_refs, tab, sections, definitions;
  };
  for (const Expected& e : std::vector<Expected>{
           {"/icd10pcs/2023-04", "2023", 901, 2544, 78530, 3023, 21179, 2767, 12094, 1349, 16, 896},
           {"/icd10pcs/2025", "2025", 908, 2661, 78948, 3215, 21269, 2794, 12152, 1415, 16, 930}}) {
    std::string tables_file = kShared + e.folder + "/icd10pcs_tables_" + e.year + ".xml.gz";
    if (!fs::exists(tables_file)) GTEST_SKIP() << "official data not present: " << tables_file;
    PcsTablesCounts counts;
    auto tables = ParseIcd10PcsTables(tables_file, &counts);
    ASSERT_TRUE(tables.ok()) << tables.status();
    EXPECT_EQ(counts.version, e.year);
    EXPECT_EQ(counts.tables, e.tables) << e.folder;
    EXPECT_EQ(counts.rows, e.rows) << e.folder;
    EXPECT_EQ(counts.codes, e.codes) << e.folder;
    // Multiply the rows out.
    std::set<std::string> generated, prefixes;
    for (const auto& c : *tables) {
      if (c.parent().empty()) {
        prefixes.insert(c.code());
        // Axes 1 to 3 ("3 Operation" in Medical and Surgical; other sections name some
        // differently).
        int top = 0;
        for (const auto& [name, value] : c.properties()) {
          top += name.size() > 2 && name[0] >= '1' && name[0] <= '3' && name[1] == ' ';
        }
        EXPECT_EQ(top, 3) << c.code();
        continue;
      }
      std::vector<std::string> partial = {c.parent()};
      for (int pos = 4; pos <= 7; ++pos) {
        std::vector<std::string> next;
        for (const auto& [name, value] : c.properties()) {
          if (!absl::StartsWith(name, absl::StrCat(pos, " "))) continue;
          for (absl::string_view line : absl::StrSplit(value, '\n')) {
            for (const std::string& p : partial) next.push_back(p + line[0]);
          }
        }
        partial = std::move(next);
      }
      for (const std::string& code : partial) EXPECT_TRUE(generated.insert(code).second) << code;
    }
    auto order = ParseFile("icd10pcs-order",
                           kShared + e.folder + "/icd10pcs_order_" + e.year + ".txt.gz");
    ASSERT_TRUE(order.ok()) << order.status();
    std::set<std::string> valid, headers;
    for (const auto& c : *order) (c.billable() ? valid : headers).insert(c.code());
    EXPECT_EQ(generated.size(), static_cast<size_t>(e.codes));
    EXPECT_TRUE(generated == valid) << e.folder;
    EXPECT_TRUE(prefixes == headers) << e.folder;

    PcsIndexCounts index_counts;
    auto index = ParseIcd10PcsIndex(kShared + e.folder, &index_counts);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(index_counts.index_version, e.year);
    EXPECT_EQ(index_counts.definitions_version, e.year);
    EXPECT_EQ(index_counts.elements["mainTerm"], e.main_terms) << e.folder;
    EXPECT_EQ(index_counts.elements["term"], e.terms) << e.folder;
    EXPECT_EQ(index_counts.elements["code"], e.code) << e.folder;
    EXPECT_EQ(index_counts.elements["codes"], e.codes_refs) << e.folder;
    EXPECT_EQ(index_counts.elements["tab"], e.tab) << e.folder;
    EXPECT_EQ(index_counts.elements["section"], e.sections) << e.folder;
    EXPECT_EQ(index_counts.elements["terms"], e.definitions) << e.folder;
    EXPECT_EQ(index->size(), static_cast<size_t>(e.main_terms + e.terms + e.definitions));
    // Every reference is the start of a generated code, but for the two SOURCES.md names
    // (5A0512C and 5A0522C, "DownStream(R) System").
    std::set<std::string> stray;
    for (const auto& c : *index) {
      for (const char* p : {"code", "codes", "tab"}) {
        auto it = c.properties().find(p);
        if (it == c.properties().end()) continue;
        auto next = generated.lower_bound(it->second);
        if (next == generated.end() || !absl::StartsWith(*next, it->second)) stray.insert(it->second);
      }
    }
    EXPECT_EQ(stray, (std::set<std::string>{"5A0512C", "5A0522C"})) << e.folder;
  }
  // The index's keys, and a definition.
  auto index = ParseIcd10PcsIndex(kShared + "/icd10pcs/2025");
  ASSERT_TRUE(index.ok());
  std::map<std::string, const v1::Concept*> by_key;
  for (const auto& c : *index) by_key[c.code()] = &c;
  ASSERT_TRUE(by_key.count("INDEX:APPENDECTOMY>SEE RESECTION, APPENDIX"));
  const v1::Concept& resection = *by_key["INDEX:APPENDECTOMY>SEE RESECTION, APPENDIX"];
  EXPECT_EQ(resection.properties().at("codes"), "0DTJ");
  EXPECT_EQ(resection.properties().at("see"), "Resection, Appendix");
  EXPECT_EQ(resection.display(), "Appendectomy, see Resection, Appendix");
  EXPECT_EQ(resection.parent(), "INDEX:APPENDECTOMY");
  ASSERT_TRUE(by_key.count("DEFINITIONS:0>OPERATION>RESECTION"));
  EXPECT_EQ(by_key["DEFINITIONS:0>OPERATION>RESECTION"]->properties().at("definition"),
            "Cutting out or off, without replacement, all of a body part");
}

TEST(Icd10PcsXmlTest, BadFilesNameFileAndLine) {
  TempDir dir;
  struct Case {
    std::string xml, expect;
  };
  const std::string table =
      "<?xml version=\"1.0\"?>\n<ICD10PCS.tabular><version>1</version>\n<pcsTable>\n"
      "<axis pos=\"1\" values=\"1\"><title>Section</title><label code=\"0\">S</label></axis>\n"
      "<axis pos=\"2\" values=\"1\"><title>Body System</title><label code=\"D\">B</label></axis>\n"
      "<axis pos=\"3\" values=\"1\"><title>Operation</title><label code=\"T\">O</label></axis>\n";
  const std::string row_axes =
      "<axis pos=\"5\" values=\"1\"><title>Approach</title><label code=\"0\">A</label></axis>"
      "<axis pos=\"6\" values=\"1\"><title>Device</title><label code=\"Z\">D</label></axis>"
      "<axis pos=\"7\" values=\"1\"><title>Qualifier</title><label code=\"Z\">Q</label></axis>";
  const std::string end = "</pcsRow></pcsTable></ICD10PCS.tabular>\n";
  for (const Case& c : std::vector<Case>{
           {table + "<pcsRow codes=\"2\">\n<axis pos=\"4\" values=\"1\"><title>Body Part</title>"
                    "<label code=\"J\">P</label></axis>" + row_axes + end,
            ":7: the row says codes=\"2\" but its labels make 1"},
           {table + "<pcsRow codes=\"1\">\n<axis pos=\"4\" values=\"2\"><title>Body Part</title>"
                    "<label code=\"J\">P</label></axis>" + row_axes + end,
            ":8: the axis says values=\"2\" but has 1 labels"},
           {table + "<pcsRow codes=\"1\">\n<axis pos=\"4\" values=\"1\"><title>Body Part</title>"
                    "<label code=\"j1\">P</label></axis>" + row_axes + end,
            "label code 'j1' is not one digit or capital letter"},
           {table + "<pcsRow codes=\"1\">\n" + row_axes + end, ":7: a row lacks one of axes 4 to 7"},
           {"<ICD10PCS.tabular><version>1</version></ICD10PCS.tabular>\n", "no <pcsTable> found"},
           {table + "<pcsRow codes=\"1\">\n<axis pos=\"4\"", "not well-formed XML"},
       }) {
    std::string path = dir.Write("t.xml", c.xml);
    auto parsed = ParseIcd10PcsTables(path);
    ASSERT_FALSE(parsed.ok()) << c.expect;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), path)) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expect)) << parsed.status();
  }
  const std::string index = "<?xml version=\"1.0\"?>\n<ICD10PCS.index><version>1</version>\n"
                            "<letter><title>A</title>\n";
  for (const Case& c : std::vector<Case>{
           {index + "<mainTerm><title>Appendectomy</title>\n<term level=\"1\"><see>Resection"
                    "<codes>0dtj</codes></see></term></mainTerm></letter></ICD10PCS.index>\n",
            ":5: <codes> '0dtj' is not an ICD-10-PCS code"},
           {index + "<mainTerm>\n<term level=\"1\"/></mainTerm></letter></ICD10PCS.index>\n",
            ":4: a term without a title"},
           {"<ICD10PCS.index><version>1</version></ICD10PCS.index>\n", "no <mainTerm> found"},
       }) {
    std::string path = dir.Write("icd10pcs_index_t.xml", c.xml);
    auto parsed = ParseIcd10PcsIndex(path);
    ASSERT_FALSE(parsed.ok()) << c.expect;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expect)) << parsed.status();
  }
  // A definitions file where an index belongs (by its name) says which root it has.
  auto wrong = ParseIcd10PcsIndex(dir.Write("icd10pcs_definitions_t.xml", index + "</letter></ICD10PCS.index>\n"));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(wrong.status().message(), "<ICD10PCS.index>")) << wrong.status();
  EXPECT_EQ(ParseIcd10PcsIndex(dir.path() + "/nothing-here").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace codebook::importers
