#include "bench/fhir_phase.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/client.h"

namespace codebook::bench {
namespace {

using Clock = std::chrono::steady_clock;

// `calls` requests over `threads` threads, each thread sending one at a time through its own
// connection; returns requests/s and fills the sorted latencies (us) and the failures.
double RunThreads(int calls, int threads, const std::function<bool(int thread, int i)>& one,
                  std::vector<double>* latencies, int* failures) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::vector<double>> per(threads);
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = next++; i < calls; i = next++) {
        auto s = Clock::now();
        if (!one(t, i)) ++failed;
        per[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
      }
    });
  }
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  latencies->clear();
  for (auto& v : per) latencies->insert(latencies->end(), v.begin(), v.end());
  std::sort(latencies->begin(), latencies->end());
  *failures = failed;
  return calls / seconds;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

}  // namespace

void FhirPhase(const FhirPhaseOptions& o, const std::vector<std::string>& codes,
               const std::function<void(const std::string&, double)>& add) {
  const std::string host = o.fhir.substr(0, o.fhir.rfind(':'));
  const int port = std::stoi(o.fhir.substr(o.fhir.rfind(':') + 1));
  std::vector<std::unique_ptr<httplib::Client>> http;
  for (int t = 0; t < o.concurrency; ++t) {
    http.push_back(std::make_unique<httplib::Client>(host, port));
    http.back()->set_keep_alive(true);
    http.back()->set_tcp_nodelay(true);
  }
  std::vector<std::unique_ptr<Client>> grpc;  // as many channels as the rpc phase uses
  for (int c = 0; c < 4; ++c) {
    ClientOptions options;
    options.target = o.server;
    options.channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection each
    options.channel_args.SetInt("codebook.bench.channel", c);
    grpc.push_back(std::make_unique<Client>(options));
  }
  const std::string icd = "http://hl7.org/fhir/sid/icd-10-cm";
  auto get = [&](int t, const std::string& path) {
    auto res = http[t]->Get(path.c_str());
    return res && res->status == 200;
  };
  std::vector<double> lat;
  int failures = 0, total_failures = 0;
  for (int run = 0; run < o.repeat; ++run) {
    double grpc_rate = RunThreads(
        o.calls, o.concurrency,
        [&](int t, int i) {
          return grpc[t % grpc.size()]
              ->Lookup("ICD10CM", codes[i % codes.size()], Selector::Version(o.version))
              .ok();
        },
        &lat, &failures);
    total_failures += failures;
    add("grpc Lookup calls/s (blocking threads)", grpc_rate);
    add("grpc Lookup p50 us", Percentile(lat, 0.5));
    double lookup_rate = RunThreads(
        o.calls, o.concurrency,
        [&](int t, int i) {
          return get(t, absl::StrCat("/fhir/CodeSystem/$lookup?system=", icd,
                                     "&code=", codes[i % codes.size()], "&version=", o.version));
        },
        &lat, &failures);
    total_failures += failures;
    add("fhir $lookup req/s", lookup_rate);
    add("fhir $lookup p50 us", Percentile(lat, 0.5));
    add("fhir $lookup p99 us", Percentile(lat, 0.99));
    add("fhir $lookup / grpc Lookup round ratio", lookup_rate / grpc_rate);
    double validate_rate = RunThreads(
        o.calls, o.concurrency,
        [&](int t, int i) {
          return get(t, absl::StrCat("/fhir/CodeSystem/$validate-code?url=", icd,
                                     "&code=", codes[i % codes.size()], "&date=", o.date));
        },
        &lat, &failures);
    total_failures += failures;
    add("fhir $validate-code req/s", validate_rate);
    add("fhir $validate-code p50 us", Percentile(lat, 0.5));
    add("fhir $validate-code p99 us", Percentile(lat, 0.99));
    add("fhir $validate-code / grpc Lookup round ratio", validate_rate / grpc_rate);
    // $expand of all of ICD-10-CM with a text filter, 20 codes a page, one client at a time.
    static const char* const kFilters[] = {"diabetes kidney", "fracture femur", "asthma",
                                           "hypertens",       "pregnan",        "sepsis"};
    const int expands = std::max(60, o.calls / 200);
    double expand_rate = RunThreads(
        expands, 1,
        [&](int t, int i) {
          std::string filter = kFilters[i % 6];
          std::replace(filter.begin(), filter.end(), ' ', '+');
          return get(t, absl::StrCat("/fhir/ValueSet/$expand?url=", icd,
                                     "%3Ffhir_vs&filter=", filter, "&count=20&date=", o.date));
        },
        &lat, &failures);
    total_failures += failures;
    add("fhir $expand with filter req/s (one client)", expand_rate);
    add("fhir $expand with filter p50 ms", Percentile(lat, 0.5) / 1000);
    add("fhir $expand with filter p99 ms", Percentile(lat, 0.99) / 1000);
  }
  if (total_failures > 0) {
    std::cerr << "fhir phase: " << total_failures << " requests failed\n";
  }
  add("fhir phase failures", total_failures);
}

}  // namespace codebook::bench
