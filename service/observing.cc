#include "service/observing.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/grpc_services.h"

namespace codebook::service {
namespace {

// A JSON string literal's contents for `s` (quotes, backslashes and control bytes escaped).
std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

class ObservingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservingInterceptor(grpc::experimental::ServerRpcInfo* info, CallMetrics* metrics,
                       AccessLog* log, const CallerNamer* caller)
      : info_(info), method_(info->method()), metrics_(metrics), log_(log), caller_(caller),
        start_(absl::Now()) {
    metrics_->Started(method_);
  }
  ~ObservingInterceptor() override {
    // A call cancelled before its status was sent.
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Finish(const grpc::Status& status) {
    finished_ = true;
    const absl::Time now = absl::Now();
    const absl::Duration latency = now - start_;
    const int code = static_cast<int>(status.error_code());
    metrics_->Finished(method_, code, latency);
    if (log_ == nullptr) return;
    grpc::ServerContextBase* ctx = info_->server_context();
    std::string line = absl::StrCat(
        "{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", now, absl::UTCTimeZone()),
        "\",\"method\":\"", JsonEscape(method_), "\",\"caller\":\"",
        JsonEscape(ctx != nullptr && *caller_ ? (*caller_)(*ctx) : "-"), "\",\"peer\":\"",
        JsonEscape(ctx != nullptr ? PeerOf(*ctx) : ""), "\",\"code\":\"",
        CallMetrics::CodeName(code),
        "\",\"latency_ms\":", absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(latency)));
    if (!status.ok()) absl::StrAppend(&line, ",\"message\":\"", JsonEscape(status.error_message()), "\"");
    line += "}";
    log_->Write(line);
  }

  grpc::experimental::ServerRpcInfo* info_;
  const std::string method_;
  CallMetrics* metrics_;
  AccessLog* log_;
  const CallerNamer* caller_;
  const absl::Time start_;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<AccessLog>(new AccessLog(stderr, false));
  FILE* f = fopen(path.c_str(), "ae");
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open access log ", path, ": ", strerror(errno)));
  }
  return std::unique_ptr<AccessLog>(new AccessLog(f, true));
}

AccessLog::AccessLog(FILE* f, bool owned) : file_(f), owned_(owned) {
  flusher_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      absl::MutexLock l(&mu_);
      FlushLocked();
    }
  });
}

AccessLog::~AccessLog() {
  stop_.Notify();
  flusher_.join();
  absl::MutexLock l(&mu_);
  FlushLocked();
  if (owned_) fclose(file_);
}

void AccessLog::FlushLocked() {
  if (buffer_.empty()) return;
  fwrite(buffer_.data(), 1, buffer_.size(), file_);  // whole lines, one write for many
  fflush(file_);
  buffer_.clear();
}

void AccessLog::Write(absl::string_view line) {
  absl::MutexLock l(&mu_);
  buffer_.append(line.data(), line.size());
  buffer_.push_back('\n');
  if (buffer_.size() >= kFlushBytes) FlushLocked();
}

ObservingInterceptorFactory::ObservingInterceptorFactory(CallMetrics* metrics, AccessLog* log,
                                                         CallerNamer caller)
    : metrics_(metrics), log_(log), caller_(std::move(caller)) {}

grpc::experimental::Interceptor* ObservingInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ObservingInterceptor(info, metrics_, log_, &caller_);
}

}  // namespace codebook::service
