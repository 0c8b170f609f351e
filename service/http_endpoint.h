// A small HTTP/1.1 endpoint for Prometheus scrapes and plain health checks, on its own port
// (codebookd --metrics_listen). GET /metrics answers CallMetrics::Render() as
// "text/plain; version=0.0.4"; GET /healthz answers 200 "ok" while the server serves; anything
// else 404 (405 for a method other than GET). One connection at a time, each closed after its
// answer, requests up to 8 KiB read within 2 seconds: a scrape endpoint, not a web server.
// Plain HTTP: bind it to an address only the monitoring network reaches.
#ifndef CODEBOOK_SERVICE_HTTP_ENDPOINT_H_
#define CODEBOOK_SERVICE_HTTP_ENDPOINT_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace codebook::service {

struct HostPort {
  std::string host;  // without IPv6 brackets; may be empty (any address)
  int port = 0;
};
// "HOST:PORT" (also "[::]:50051"; port 0..65535) split; INVALID_ARGUMENT naming the text
// otherwise. The one check of listen addresses, for flags and for HttpEndpoint::Start.
absl::StatusOr<HostPort> SplitHostPort(const std::string& address);

class HttpEndpoint {
 public:
  // `metrics` renders the /metrics body; `healthy` decides /healthz (200 or 503).
  HttpEndpoint(std::function<std::string()> metrics, std::function<bool()> healthy);
  ~HttpEndpoint();

  // Listens on "host:port" (port 0: any free port) and serves on a thread of its own.
  // Returns the bound port; INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot
  // be bound.
  absl::StatusOr<int> Start(const std::string& listen);
  // Stops serving and joins the thread (also done by the destructor).
  void Stop();

 private:
  void Serve();
  void Answer(int fd);

  std::function<std::string()> metrics_;
  std::function<bool()> healthy_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_HTTP_ENDPOINT_H_
