// Call metrics in Prometheus's text exposition format (version 0.0.4), without a client
// library: Debian 12 has no prometheus-cpp package, and the format is a few lines of text.
//
// CallMetrics counts the calls of a fixed set of methods, named when the server starts (each
// method gets its own atomics, so recording a call takes no lock): calls by status code,
// errors (any code but OK), a latency histogram, and calls in flight. Methods it was not told
// of are counted under "other". Gauges that are read when scraped (releases, concepts, replica
// lag) are added as sources that append their own text.
//
// Exposed names (every method label is "/package.Service/Method"):
//   codebook_rpc_calls_total{method,code}        counter
//   codebook_rpc_errors_total{method}            counter (code != OK)
//   codebook_rpc_latency_seconds{method}         histogram (buckets kLatencyBuckets)
//   codebook_rpc_in_flight{method}               gauge (calls started, not yet finished)
// Thread-safe.
#ifndef CODEBOOK_SERVICE_METRICS_H_
#define CODEBOOK_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace codebook::service {

// Upper bounds of the latency buckets, in seconds (+Inf is implied).
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30};

class CallMetrics {
 public:
  // gRPC's status codes 0..16, by name, for the code label.
  static constexpr int kCodes = 17;

  explicit CallMetrics(const std::vector<std::string>& methods);

  void Started(absl::string_view method);
  // `code` is a gRPC status code (0..16; anything else counts as UNKNOWN).
  void Finished(absl::string_view method, int code, absl::Duration latency);

  // A source appends complete metric families (with # HELP and # TYPE) to *out when scraped.
  using Source = std::function<void(std::string* out)>;
  void AddSource(Source source);

  // Every metric, in the text format.
  std::string Render() const;

  // The name of gRPC status code `code` ("OK", "NOT_FOUND", ...).
  static const char* CodeName(int code);

 private:
  struct Method {
    std::string name;
    std::atomic<int64_t> in_flight{0};
    std::array<std::atomic<uint64_t>, kCodes> calls{};
    std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> latency_sum_ns{0};
  };
  Method* Find(absl::string_view method);

  std::vector<std::unique_ptr<Method>> methods_;  // fixed after construction
  absl::flat_hash_map<std::string, Method*> by_name_;
  mutable absl::Mutex mu_;
  std::vector<Source> sources_ ABSL_GUARDED_BY(mu_);
};

// Appends one gauge family: `# HELP`, `# TYPE name gauge`, then a sample per (labels, value);
// labels are written as given ("system=\"CPT\"", or "" for none).
void AppendGauge(std::string* out, absl::string_view name, absl::string_view help,
                 const std::vector<std::pair<std::string, double>>& samples);
// The same for a counter family (`# TYPE name counter`; by convention its name ends in _total).
void AppendCounter(std::string* out, absl::string_view name, absl::string_view help,
                   const std::vector<std::pair<std::string, double>>& samples);
// A label value escaped for the text format (backslash, double quote, newline).
std::string EscapeLabel(absl::string_view value);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_METRICS_H_
