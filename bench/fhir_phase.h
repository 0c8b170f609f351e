// The benchmark's fhir phase (codebook_bench --phases=fhir --fhir=HOST:PORT): FHIR requests per
// second at --concurrency over keep-alive HTTP connections, next to the gRPC Lookup of the same
// round made the same way (one blocking call per thread), so their ratio compares the two
// ports under the same machine noise.
#ifndef CODEBOOK_BENCH_FHIR_PHASE_H_
#define CODEBOOK_BENCH_FHIR_PHASE_H_

#include <functional>
#include <string>
#include <vector>

namespace codebook::bench {

struct FhirPhaseOptions {
  std::string fhir;     // HOST:PORT of the FHIR port
  std::string server;   // HOST:PORT of the gRPC port
  std::string version;  // the ICD-10-CM release asked for
  std::string date;     // a date of service in that release
  int calls = 20000;    // requests per measurement
  int concurrency = 32;
  int repeat = 5;
};

// Runs the phase; each figure goes to `add(name, value)` once per run.
void FhirPhase(const FhirPhaseOptions& options, const std::vector<std::string>& codes,
               const std::function<void(const std::string&, double)>& add);

}  // namespace codebook::bench

#endif  // CODEBOOK_BENCH_FHIR_PHASE_H_
