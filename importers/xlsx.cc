#include "importers/xlsx.h"

#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <pugixml.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace codebook::importers {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

// The largest member read: CMS's and CDC's workbooks are a few megabytes; a member that says it
// is bigger is refused before anything is allocated for it.
constexpr uint64_t kMaxMemberBytes = 256ull << 20;

// The bytes of one member of the archive: OK, NOT_FOUND if it is absent, INVALID_ARGUMENT
// (naming path) if it is too large or unreadable.
absl::Status ReadMember(zip_t* zip, const std::string& path, const char* name, std::string* out) {
  zip_stat_t st;
  if (zip_stat(zip, name, 0, &st) != 0) return absl::NotFoundError(name);
  if (!(st.valid & ZIP_STAT_SIZE) || st.size > kMaxMemberBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": member ", name, " is larger than ",
                                                   kMaxMemberBytes >> 20, " MB or of unknown size"));
  }
  zip_file_t* f = zip_fopen(zip, name, 0);
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": member ", name, " is unreadable"));
  }
  out->resize(st.size);
  zip_int64_t n = zip_fread(f, out->data(), st.size);
  zip_fclose(f);
  if (n != static_cast<zip_int64_t>(st.size)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": member ", name, " is truncated or corrupt"));
  }
  return absl::OkStatus();
}

// All the text of a shared-string or inline-string item (plain <t> or rich-text runs).
std::string ItemText(const pugi::xml_node& item) {
  std::string text;
  for (const pugi::xpath_node& t : item.select_nodes(".//*[local-name()='t']")) {
    text += t.node().text().get();
  }
  return text;
}

// "BC12" -> 54 (0-based column of the cell reference); -1 if malformed.
// A worksheet's limits (Office Open XML, as Excel enforces them): columns A..XFD, rows 1..2^20.
constexpr int kMaxColumns = 16384;
constexpr uint64_t kMaxRows = 1048576;

// "BC12" -> 54 (zero-based column); -1 without column letters or past the last column.
int ColumnOf(const char* ref) {
  int col = 0;
  const char* p = ref;
  while (*p >= 'A' && *p <= 'Z') {
    col = col * 26 + (*p++ - 'A' + 1);
    if (col > kMaxColumns) return -1;
  }
  return p == ref ? -1 : col - 1;
}

}  // namespace

absl::StatusOr<SheetRows> ReadXlsxSheet(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> zip(zip_open(path.c_str(), ZIP_RDONLY, &err));
  if (!zip) return absl::InvalidArgumentError(absl::StrCat(path, ": not an xlsx (zip) file"));
  std::string sheet_xml, strings_xml;
  if (absl::Status s = ReadMember(zip.get(), path, "xl/worksheets/sheet1.xml", &sheet_xml);
      !s.ok()) {
    if (!absl::IsNotFound(s)) return s;
    return absl::InvalidArgumentError(absl::StrCat(path, ": no worksheet xl/worksheets/sheet1.xml"));
  }
  std::vector<std::string> shared;
  absl::Status strings = ReadMember(zip.get(), path, "xl/sharedStrings.xml", &strings_xml);
  if (!strings.ok() && !absl::IsNotFound(strings)) return strings;
  if (strings.ok()) {
    pugi::xml_document doc;
    if (!doc.load_buffer(strings_xml.data(), strings_xml.size())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": unreadable shared strings"));
    }
    for (const pugi::xpath_node& si : doc.select_nodes("/*[local-name()='sst']/*[local-name()='si']")) {
      shared.push_back(ItemText(si.node()));
    }
  }
  pugi::xml_document doc;
  if (!doc.load_buffer(sheet_xml.data(), sheet_xml.size())) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unreadable worksheet"));
  }
  SheetRows rows;
  pugi::xml_node data = doc.document_element().child("sheetData");
  for (pugi::xml_node row : data.children("row")) {
    // Keep row positions: a gap in row numbers is empty rows.
    uint64_t number = row.attribute("r").as_ullong(rows.size() + 1);
    if (number < rows.size() + 1 || number > kMaxRows) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": row number ", row.attribute("r").value(), " is out of order or past row ",
          kMaxRows));
    }
    while (rows.size() + 1 < number) rows.emplace_back();
    std::vector<std::string>& cells = rows.emplace_back();
    for (pugi::xml_node c : row.children("c")) {
      int col = c.attribute("r") ? ColumnOf(c.attribute("r").value()) : static_cast<int>(cells.size());
      if (col < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": row ", number, ": malformed cell reference"));
      }
      std::string type = c.attribute("t").value();
      std::string value;
      if (type == "s") {
        size_t index = c.child("v").text().as_ullong(shared.size());
        if (index >= shared.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": row ", number, ": shared string out of range"));
        }
        value = shared[index];
      } else if (type == "inlineStr") {
        value = ItemText(c.child("is"));
      } else {
        value = c.child("v").text().get();
      }
      if (cells.size() <= static_cast<size_t>(col)) cells.resize(col + 1);
      cells[col] = std::move(value);
    }
  }
  return rows;
}

}  // namespace codebook::importers
