// libFuzzer target: the HCPCS Level II fixed-width importer (plain or gzip, by content).
// Any input must give concepts or a clean error naming the file; every concept has a code.
#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = codebook::fuzz::WriteScratch("anweb.txt", data, size);
  codebook::fuzz::CheckParsed(path, codebook::importers::ParseHcpcs(path));
  return 0;
}
