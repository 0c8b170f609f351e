// Watches every call the server handles (every service, health and reflection included) through
// a gRPC server interceptor: counts it in CallMetrics and writes one access-log line for it.
//
// Access log: one JSON object per line, written when the call's status is sent:
//   {"time":"2026-11-27T18:40:01.123456Z","method":"/codebook.v1.Terminology/Lookup",
//    "caller":"claims-app","peer":"ipv4:10.0.0.7:51234","code":"OK","latency_ms":0.412}
// plus "message" when the code is not OK. "caller" is the tokens-file name of the credential
// presented, "anonymous" without a known one, "-" when the server has no tokens file. Lines are
// buffered (up to 64 KiB) and written whole at least once a second, and when the log is closed.
#ifndef CODEBOOK_SERVICE_OBSERVING_H_
#define CODEBOOK_SERVICE_OBSERVING_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "service/metrics.h"

namespace codebook::service {

class AccessLog {
 public:
  // "-" is standard error; otherwise the file is opened for appending (created if absent).
  // INVALID_ARGUMENT naming the path if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& path);
  ~AccessLog();  // flushes, stops the flusher and closes the file
  void Write(absl::string_view line);  // `line` without its newline

 private:
  static constexpr size_t kFlushBytes = 64 << 10;
  explicit AccessLog(FILE* f, bool owned);
  void FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  FILE* const file_;
  const bool owned_;
  absl::Mutex mu_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);  // whole lines not yet written
  absl::Notification stop_;
  std::thread flusher_;
};

// Names the caller of a call for the access log (see above).
using CallerNamer = std::function<std::string(const grpc::ServerContextBase&)>;

class ObservingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server; `log` may be null (no access log).
  ObservingInterceptorFactory(CallMetrics* metrics, AccessLog* log, CallerNamer caller);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CallMetrics* metrics_;
  AccessLog* log_;
  CallerNamer caller_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_OBSERVING_H_
