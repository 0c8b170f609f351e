#include "service/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace codebook::service {

CallMetrics::CallMetrics(const std::vector<std::string>& methods) {
  for (const std::string& name : methods) {
    if (by_name_.contains(name)) continue;
    methods_.push_back(std::make_unique<Method>());
    methods_.back()->name = name;
    by_name_[name] = methods_.back().get();
  }
  methods_.push_back(std::make_unique<Method>());
  methods_.back()->name = "other";
}

CallMetrics::Method* CallMetrics::Find(absl::string_view method) {
  auto it = by_name_.find(method);
  return it == by_name_.end() ? methods_.back().get() : it->second;
}

void CallMetrics::Started(absl::string_view method) {
  Find(method)->in_flight.fetch_add(1, std::memory_order_relaxed);
}

void CallMetrics::Finished(absl::string_view method, int code, absl::Duration latency) {
  Method* m = Find(method);
  m->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  m->calls[code].fetch_add(1, std::memory_order_relaxed);
  const double seconds = absl::ToDoubleSeconds(latency);
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  m->buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  m->latency_sum_ns.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(latency)),
                              std::memory_order_relaxed);
}

void CallMetrics::AddSource(Source source) {
  absl::MutexLock l(&mu_);
  sources_.push_back(std::move(source));
}

const char* CallMetrics::CodeName(int code) {
  static const char* const kNames[kCodes] = {
      "OK",        "CANCELLED",          "UNKNOWN",        "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",  "OUT_OF_RANGE",   "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE", "DATA_LOSS",        "UNAUTHENTICATED"};
  return code >= 0 && code < kCodes ? kNames[code] : "UNKNOWN";
}

std::string EscapeLabel(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

namespace {

void AppendFamily(std::string* out, absl::string_view type, absl::string_view name,
                  absl::string_view help,
                  const std::vector<std::pair<std::string, double>>& samples) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  for (const auto& [labels, value] : samples) {
    absl::StrAppend(out, name, labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}", " ",
                    absl::StrFormat("%.17g", value), "\n");
  }
}

}  // namespace

void AppendGauge(std::string* out, absl::string_view name, absl::string_view help,
                 const std::vector<std::pair<std::string, double>>& samples) {
  AppendFamily(out, "gauge", name, help, samples);
}

void AppendCounter(std::string* out, absl::string_view name, absl::string_view help,
                   const std::vector<std::pair<std::string, double>>& samples) {
  AppendFamily(out, "counter", name, help, samples);
}

std::string CallMetrics::Render() const {
  // Methods appear once called (as client libraries create labelled series on first use).
  std::vector<const Method*> seen;
  for (const auto& m : methods_) {
    bool any = m->in_flight.load(std::memory_order_relaxed) != 0;
    for (int code = 0; code < kCodes && !any; ++code) any = m->calls[code].load() != 0;
    if (any) seen.push_back(m.get());
  }
  std::string out;
  out += "# HELP codebook_rpc_calls_total Finished calls by method and gRPC status code.\n"
         "# TYPE codebook_rpc_calls_total counter\n";
  for (const Method* m : seen) {
    for (int code = 0; code < kCodes; ++code) {
      uint64_t n = m->calls[code].load(std::memory_order_relaxed);
      if (n == 0 && code != 0) continue;  // OK always, other codes once seen
      absl::StrAppend(&out, "codebook_rpc_calls_total{method=\"", EscapeLabel(m->name),
                      "\",code=\"", CodeName(code), "\"} ", n, "\n");
    }
  }
  out += "# HELP codebook_rpc_errors_total Finished calls whose status was not OK.\n"
         "# TYPE codebook_rpc_errors_total counter\n";
  for (const Method* m : seen) {
    uint64_t errors = 0;
    for (int code = 1; code < kCodes; ++code) errors += m->calls[code].load(std::memory_order_relaxed);
    absl::StrAppend(&out, "codebook_rpc_errors_total{method=\"", EscapeLabel(m->name), "\"} ",
                    errors, "\n");
  }
  out += "# HELP codebook_rpc_latency_seconds Time from a call's arrival to its status (whole "
         "stream for streaming calls).\n# TYPE codebook_rpc_latency_seconds histogram\n";
  for (const Method* m : seen) {
    const std::string label = EscapeLabel(m->name);
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
      cumulative += m->buckets[b].load(std::memory_order_relaxed);
      std::string le = b < kLatencyBuckets.size() ? absl::StrFormat("%g", kLatencyBuckets[b]) : "+Inf";
      absl::StrAppend(&out, "codebook_rpc_latency_seconds_bucket{method=\"", label, "\",le=\"", le,
                      "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "codebook_rpc_latency_seconds_sum{method=\"", label, "\"} ",
                    absl::StrFormat("%.9f", m->latency_sum_ns.load(std::memory_order_relaxed) / 1e9),
                    "\n", "codebook_rpc_latency_seconds_count{method=\"", label, "\"} ", cumulative,
                    "\n");
  }
  out += "# HELP codebook_rpc_in_flight Calls started and not yet finished (open streams "
         "included).\n# TYPE codebook_rpc_in_flight gauge\n";
  for (const Method* m : seen) {
    absl::StrAppend(&out, "codebook_rpc_in_flight{method=\"", EscapeLabel(m->name), "\"} ",
                    m->in_flight.load(std::memory_order_relaxed), "\n");
  }
  std::vector<Source> sources;
  {
    absl::MutexLock l(&mu_);
    sources = sources_;
  }
  for (const Source& s : sources) s(&out);
  return out;
}

}  // namespace codebook::service
