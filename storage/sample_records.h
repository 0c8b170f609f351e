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

// A value set with every kind of rule: ICD-10-CM diabetes (E08-E13 by filters) without one
// code, plus the codes of another value set.
inline ValueSetRecord DiabetesValueSet() {
  ValueSetRecord r;
  r.url = "https://payer.example/vs/diabetes";
  r.version = "1";
  r.title = "Diabetes mellitus";
  r.publisher = "Example payer";
  r.description = "Diagnoses of diabetes mellitus";
  ValueSetRuleRecord& include = r.includes.emplace_back();
  include.system = "ICD10CM";
  include.filters = {{"concept", "is-a", "E11"}, {"billable", "=", "true"}};
  ValueSetRuleRecord& codes = r.includes.emplace_back();
  codes.system = "ICD10CM";
  codes.version = "FY2025";
  codes.codes = {"E08.9", "E09.9"};
  ValueSetRuleRecord& imported = r.includes.emplace_back();
  imported.value_sets = {"https://payer.example/vs/other|2"};
  ValueSetRuleRecord& exclude = r.excludes.emplace_back();
  exclude.system = "ICD10CM";
  exclude.codes = {"E11.9"};
  return r;
}

}  // namespace codebook::storage::testing

#endif  // CODEBOOK_STORAGE_SAMPLE_RECORDS_H_
