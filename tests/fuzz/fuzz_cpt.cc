// libFuzzer target: the CPT data-file set importer. The first input byte picks which of the
// AMA's files the rest of the input becomes; the other files are a small valid set written
// here (synthetic, like every CPT text in this repository). Any input must give concepts or a
// clean error.
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "importers/importers.h"
#include "tests/fuzz/fuzz_file.h"

namespace {

struct File {
  const char* name;
  const char* valid;
};

// Valid contents in the AMA layouts (see importers.h), with synthetic text.
const File kFiles[] = {
    {"LONGULT.txt", "Synthetic header line\n\n10001\tSynthetic long descriptor one\n"
                    "0001F\tSynthetic category two measure\n"},
    {"SHORTU.txt", "10001 SYNTH SHORT ONE\n0001F SYNTH MEASURE\n"},
    {"MEDU.txt", "10001 SYNTHETIC MEDIUM ONE\n"},
    {"ConsumerDescriptor.txt", "Concept Id\tCPT Code\tConsumer Friendly Descriptor\n"
                               "1\t10001\tSynthetic consumer text\n"},
    {"ClinicianDescriptor.txt", "Concept Id\tCPT Code\tClinician Descriptor Id\tClinician "
                                "Descriptor\n1\t10001\t2\tSynthetic clinician text\n"},
    {"MODUL.txt", "Modifiers\n\n25 Synthetic modifier text\n\n"},
    {"History_DTK_tab.txt", "Date\tConcept Id\tCPT Code\tChange Type\tNotes\n"
                            "20240101\t1\t10001\tADDED\tSynthetic note\n"},
    {"HistoryModifiers_DTK_tab.txt", "Date\tModifier\tChange Type\tNotes\n"},
    {"Deleted_DTK_tab.txt", "Date\tConcept Id\tCPT Code\tNotes\n"},
};
constexpr size_t kFileCount = sizeof(kFiles) / sizeof(kFiles[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string dir = [] {
    std::string d = codebook::fuzz::ScratchDir() + "/cpt";
    mkdir(d.c_str(), 0700);
    return d;
  }();
  const size_t chosen = data[0] % kFileCount;
  // Only the file chosen now and the one chosen last time differ from the valid set on disk.
  static size_t last = kFileCount;  // kFileCount: nothing written yet
  for (size_t i = 0; i < kFileCount; ++i) {
    if (last != kFileCount && i != chosen && i != last) continue;
    const auto* bytes = i == chosen ? data + 1 : reinterpret_cast<const uint8_t*>(kFiles[i].valid);
    const size_t n = i == chosen ? size - 1 : strlen(kFiles[i].valid);
    codebook::fuzz::WriteScratch(std::string("cpt/") + kFiles[i].name, bytes, n);
  }
  last = chosen;
  auto parsed = codebook::importers::ParseCptFolder(dir);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) abort();
    return 0;
  }
  for (const auto& c : *parsed) {
    if (c.code().empty()) abort();
  }
  return 0;
}
