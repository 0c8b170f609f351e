// Helpers shared by the importer fuzz targets: the importers read paths, so each input is
// written to a file in a private temporary folder (on /dev/shm when there is one) first.
#ifndef CODEBOOK_TESTS_FUZZ_FUZZ_FILE_H_
#define CODEBOOK_TESTS_FUZZ_FUZZ_FILE_H_

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "importers/importers.h"

namespace codebook::fuzz {

// A folder made once per process and removed by no one: the fuzzer's process is short-lived and
// the files are small. Aborts if it cannot be made, which fails the run loudly.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string tmpl = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    tmpl += "/codebook-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return tmpl;
  }();
  return dir;
}

// Writes bytes to ScratchDir()/name (subfolders must exist) and returns the path.
inline std::string WriteScratch(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = ScratchDir() + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (size > 0 && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return path;
}

// The contract every importer keeps for any input (importers.h): concepts, each with a code,
// or an error that names the file. Aborts (a finding) otherwise.
inline void CheckParsed(const std::string& path, const absl::StatusOr<importers::Concepts>& parsed) {
  if (!parsed.ok()) {
    if (parsed.status().message().find(path) == std::string::npos) abort();
    return;
  }
  for (const auto& c : *parsed) {
    if (c.code().empty()) abort();
  }
}

}  // namespace codebook::fuzz

#endif  // CODEBOOK_TESTS_FUZZ_FUZZ_FILE_H_
