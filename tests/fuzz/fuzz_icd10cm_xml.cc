// libFuzzer target: the ICD-10-CM Tabular XML importer (plain or gzip, by content). Any input
// must give concepts or a clean error naming the file, and every concept must have a code.
#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = codebook::fuzz::WriteScratch("tabular.xml", data, size);
  codebook::fuzz::CheckParsed(path, codebook::importers::ParseIcd10CmTabular(path));
  return 0;
}
