// The ICD-10-PCS Tables in answers: what each character of a code means, read from the
// ICD10PCS-TABLES supplement (supplements.h; importers.h describes its concepts).
//
// A code's first three characters name its table (section, body system, operation); the table's
// rows list, for positions 4 to 7, the values that combine, so a 7-character code is valid
// exactly when one row holds each of its characters 4 to 7 (ICD-10-PCS Official Guidelines,
// A.4 and A.5).
#ifndef CODEBOOK_SERVICE_PCS_H_
#define CODEBOOK_SERVICE_PCS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/terminology.pb.h"
#include "storage/store.h"

namespace codebook::service {

// Sets resp->pcs for ICD-10-PCS `code` (storage form, 3 to 7 characters) of base release
// `base`, from the Tables supplement release serving it, read through `reader` (one table and
// its rows). Leaves it unset when the server holds no Tables for it, or they lack the code's
// table. DATA_LOSS on a corrupt record (resp->pcs is then partly written).
absl::Status PcsContextOf(storage::Reader& reader, const storage::ReleaseRecord& base,
                          absl::string_view code, v1::LookupResponse* resp);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_PCS_H_
