#include "importers/xlsx.h"

#include <zip.h>

#include <filesystem>
#include <memory>
#include <pugixml.hpp>

#include "absl/strings/str_cat.h"

namespace codebook::importers {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

// The bytes of one member of the archive; false if it is absent.
bool ReadMember(zip_t* zip, const char* name, std::string* out) {
  zip_stat_t st;
  if (zip_stat(zip, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) return false;
  zip_file_t* f = zip_fopen(zip, name, 0);
  if (f == nullptr) return false;
  out->resize(st.size);
  zip_int64_t n = zip_fread(f, out->data(), st.size);
  zip_fclose(f);
  return n == static_cast<zip_int64_t>(st.size);
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
int ColumnOf(const char* ref) {
  int col = 0;
  const char* p = ref;
  while (*p >= 'A' && *p <= 'Z') col = col * 26 + (*p++ - 'A' + 1);
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
  if (!ReadMember(zip.get(), "xl/worksheets/sheet1.xml", &sheet_xml)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no worksheet xl/worksheets/sheet1.xml"));
  }
  std::vector<std::string> shared;
  if (ReadMember(zip.get(), "xl/sharedStrings.xml", &strings_xml)) {
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
    size_t number = row.attribute("r").as_ullong(rows.size() + 1);
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
