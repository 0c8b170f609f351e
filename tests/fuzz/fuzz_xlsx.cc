// libFuzzer target: the spreadsheet importers (HCPCS workbook and ICD-10-CM conversion table),
// and under them the .xlsx reader. An input whose first byte is even is used as the file itself
// (any zip, or not); an odd one is split at its first NUL byte into the worksheet XML and the
// shared-strings XML, which are stored in a fresh workbook, so the mutations reach the sheet
// reading rather than the zip checksums. Any input must give records or a clean error.
#include <zip.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

namespace {

// Stores the two members uncompressed-or-deflated (libzip's default) in a new workbook at path.
void WriteWorkbook(const std::string& path, const std::string& sheet, const std::string& strings) {
  int err = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (zip == nullptr) abort();
  zip_file_add(zip, "xl/worksheets/sheet1.xml",
               zip_source_buffer(zip, sheet.data(), sheet.size(), 0), ZIP_FL_OVERWRITE);
  if (!strings.empty()) {
    zip_file_add(zip, "xl/sharedStrings.xml",
                 zip_source_buffer(zip, strings.data(), strings.size(), 0), ZIP_FL_OVERWRITE);
  }
  if (zip_close(zip) != 0) abort();
}

void Check(const absl::Status& status) {
  if (!status.ok() && status.message().empty()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string path;
  if (data[0] % 2 == 0) {
    path = codebook::fuzz::WriteScratch("raw.xlsx", data + 1, size - 1);
  } else {
    std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    size_t nul = rest.find('\0');
    std::string sheet = rest.substr(0, nul);
    std::string strings = nul == std::string::npos ? "" : rest.substr(nul + 1);
    path = codebook::fuzz::ScratchDir() + "/built.xlsx";
    WriteWorkbook(path, sheet, strings);
  }
  auto hcpcs = codebook::importers::ParseHcpcsXlsx(path);
  Check(hcpcs.status());
  if (hcpcs.ok()) {
    for (const auto& c : *hcpcs) {
      if (c.code().empty()) abort();
    }
  }
  Check(codebook::importers::ParseIcd10CmConversion(path).status());
  return 0;
}
