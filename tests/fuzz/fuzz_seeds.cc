// Writes the seed corpus of the storage fuzz targets: keys and records made with the encoders
// of storage/encoding.h, so the seeds follow the frozen layout without a second copy of it.
// Usage: fuzz_seeds KEYS_DIR RECORDS_DIR (both must exist).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "storage/encoding.h"
#include "storage/sample_records.h"

using namespace codebook::storage;

namespace {

void Write(const std::string& dir, int n, const std::string& bytes) {
  std::ofstream(dir + "/seed" + std::to_string(n), std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds KEYS_DIR RECORDS_DIR\n");
    return 2;
  }
  const std::string keys = argv[1], records = argv[2];
  int n = 0;
  for (const std::string& key :
       {ConceptKey("ICD10CM", "E119", 7), ConceptKey("CPT", "99213", 1),
        TermKey("ICD10CM", "diabetes", 3), TermKey("HCPCS", "wheelchair", 12),
        ChangeKey("ICD10CM", 2, "A000"), LinkKey("ICD10CM", "E119", LinkKind::kPredecessors, "E11"),
        ReleaseKey("HCPCS", "2019"), StagingKey("CPT", "2025", "0042T")}) {
    Write(keys, n++, key);
  }

  ConceptRecord r;
  r.display = "Type 2 diabetes mellitus without complications";
  r.designations = {{"short", "Type 2 diabetes mellitus w/o complications"}};
  r.kind = ConceptKind::kCode;
  r.billable = true;
  r.parent = "E11";
  r.added_date = "2015-10-01";
  r.action_code = "N";
  r.properties = {{"category", "I"}, {"history", "2024-01-01 ADDED"}};
  ConceptRecord header;
  header.display = "Type 2 diabetes mellitus";
  header.kind = ConceptKind::kHeader;
  std::string body;
  EncodeConceptRecord(r, &body);
  EventRecord event{3, EventKind::kRetracted, "2024", 1700000000000000};
  CodeLinkRecord link{"E119", "E11", "2016-10-01", "Codes in categories E10-E11"};
  ReleaseRecord release;
  release.system = "ICD10CM";
  release.version = "2025";
  release.effective_date = "2024-10-01";
  release.state = ReleaseState::kPublished;
  release.sequence = 7;
  release.counts.added = 252;
  release.counts.total = 97584;
  release.checksum = "sha256:00ff";
  release.description = "FY2025";
  std::string terms;
  EncodeTermEntry({{"E119", true}, {"E1165", false}}, &terms);
  CodeSystemRecord system = testing::PlaceOfServiceSystem();
  system.case_sensitive = false;
  system.create_time_micros = 1700000000000000;
  // One leading byte picks the decoder in fuzz_records (see its switch).
  const std::vector<std::pair<char, std::string>> seeds = {
      {0, body},          {1, EncodePresentEntry(r)}, {1, EncodePresentEntry(header)},
      {1, EncodeDeletedEntry()}, {2, terms},          {3, EncodeEvent(event)},
      {4, EncodeLink(link)},     {5, EncodeRelease(release)}, {6, EncodeSystem(system)},
      {7, EncodeValueSet(testing::DiabetesValueSet())}};
  n = 0;
  for (const auto& [which, bytes] : seeds) Write(records, n++, std::string(1, which) + bytes);
  return 0;
}
