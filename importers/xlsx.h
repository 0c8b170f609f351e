// Reading spreadsheet files (.xlsx, Office Open XML) with Debian's libzip and pugixml.
//
// ReadXlsxSheet returns the cells of one worksheet as text, row by row: shared strings resolved,
// inline strings and numbers as written in the file (dates stay whatever the cell holds).
// Empty cells are "" so that a column keeps its position. A file that is not a readable
// workbook gives INVALID_ARGUMENT naming it; a missing file NOT_FOUND.
#ifndef CODEBOOK_IMPORTERS_XLSX_H_
#define CODEBOOK_IMPORTERS_XLSX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace codebook::importers {

using SheetRows = std::vector<std::vector<std::string>>;

// The first worksheet of the workbook at `path`.
absl::StatusOr<SheetRows> ReadXlsxSheet(const std::string& path);

}  // namespace codebook::importers

#endif  // CODEBOOK_IMPORTERS_XLSX_H_
