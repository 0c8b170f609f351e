// libFuzzer target: the ICD-10-CM XML importers (plain or gzip, by content). The first input
// byte picks the Tabular importer (even) or the Index importer (odd); the rest is the file. Any
// input must give concepts or a clean error naming the file, and every concept must have a code.
#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool index = data[0] & 1;
  std::string path = codebook::fuzz::WriteScratch(index ? "index.xml" : "tabular.xml", data + 1,
                                                  size - 1);
  codebook::fuzz::CheckParsed(path, index ? codebook::importers::ParseIcd10CmIndex(path)
                                          : codebook::importers::ParseIcd10CmTabular(path));
  return 0;
}
