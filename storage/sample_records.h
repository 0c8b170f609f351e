// Records for tests: one sample of each kind that several test binaries build alike.
// Test-only; nothing in the product includes it.
#ifndef CODEBOOK_STORAGE_SAMPLE_RECORDS_H_
#define CODEBOOK_STORAGE_SAMPLE_RECORDS_H_

#include "storage/records.h"

namespace codebook::storage::testing {

// A code system as an admin would register it: CMS's place-of-service codes, two digits.
inline CodeSystemRecord PlaceOfServiceSystem() {
  CodeSystemRecord r;
  r.id = "POS";
  r.uri = "https://www.cms.gov/medicare/coding-billing/place-of-service-codes";
  r.title = "Place of Service Codes";
  r.publisher = "CMS";
  r.code_format = "pattern";
  r.code_pattern = "[0-9]{2}";
  return r;
}

}  // namespace codebook::storage::testing

#endif  // CODEBOOK_STORAGE_SAMPLE_RECORDS_H_
