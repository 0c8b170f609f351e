// libFuzzer target: the ICD-10-CM and ICD-10-PCS XML importers (plain or gzip, by content). The
// first input byte picks the importer (its value mod 5: ICD-10-CM Tabular, ICD-10-CM Index,
// ICD-10-PCS Tables, ICD-10-PCS Index, ICD-10-PCS Definitions); the rest is the file. Any input
// must give concepts or a clean error naming the file, and every concept must have a code.
#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

namespace {

namespace imp = codebook::importers;

struct Target {
  const char* file;  // the PCS importer of a folder's files tells them apart by name
  absl::StatusOr<imp::Concepts> (*parse)(const std::string& path);
};

const Target kTargets[] = {
    {"tabular.xml", [](const std::string& p) { return imp::ParseIcd10CmTabular(p); }},
    {"index.xml", [](const std::string& p) { return imp::ParseIcd10CmIndex(p); }},
    {"icd10pcs_tables.xml", [](const std::string& p) { return imp::ParseIcd10PcsTables(p); }},
    {"icd10pcs_index.xml", [](const std::string& p) { return imp::ParseIcd10PcsIndex(p); }},
    {"icd10pcs_definitions.xml", [](const std::string& p) { return imp::ParseIcd10PcsIndex(p); }},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Target& t = kTargets[data[0] % (sizeof(kTargets) / sizeof(kTargets[0]))];
  std::string path = codebook::fuzz::WriteScratch(t.file, data + 1, size - 1);
  codebook::fuzz::CheckParsed(path, t.parse(path));
  return 0;
}
