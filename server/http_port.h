// One HTTP/1.1 port of the server, on cpp-httplib (Debian's libcpp-httplib-dev): the FHIR port
// and the metrics port are each one HttpPort with their own routes.
//
// Why cpp-httplib: among Debian 12's three choices it is the one whose whole API is one C++
// header (civetweb is a C API with callbacks and a C-string request struct; Boost.Beast is an
// asynchronous toolkit that would have us write connection handling, keep-alive and TLS
// accept loops ourselves, the very code this replaces). Its model, a thread pool in which one
// thread serves one connection at a time, suits a server whose answers are computed in
// microseconds from memory: `threads` bounds the connections served at once, and the rest
// queue until a thread is free.
//
// What a port does for every request, before any route sees it: TLS (and client certificates
// when a client CA is given) from the same PEM files as the gRPC port; keep-alive; bodies over
// `max_body_bytes` refused with 413; requests that stall past `read_timeout` dropped; answers
// compressed with gzip, never Brotli (see AcceptNoBrotli). Routes are httplib handlers (see
// routes()); they run on the port's threads, concurrently.
#ifndef CODEBOOK_SERVER_HTTP_PORT_H_
#define CODEBOOK_SERVER_HTTP_PORT_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace codebook::server {

struct HostPort {
  std::string host;  // without IPv6 brackets; may be empty (any address)
  int port = 0;
};
// "HOST:PORT" (also "[::]:50051"; port 0..65535) split; INVALID_ARGUMENT naming the text
// otherwise. The one check of listen addresses, for flags and for HttpPort::Start.
absl::StatusOr<HostPort> SplitHostPort(const std::string& address);

// httplib 0.11 (Debian's build has Brotli and zlib) compresses an answer with Brotli whenever the
// request accepts "br", as every browser's does, at Brotli's slowest quality (11): 15 to 20 ms
// for a 10 KB answer on a development machine, ten times the request's own work, where gzip
// takes a tenth of a millisecond. httplib picks the encoding from the request once the handler
// has answered, and has no setting for it; so every port takes "br" (with any q-value) out of
// the request's Accept-Encoding before routing, and the answer is gzip's or uncompressed.
void AcceptNoBrotli(httplib::Request& req);

struct HttpPortOptions {
  // PEM files; an empty certificate means plain HTTP. With client_ca, every client must present
  // a certificate that chains to it (mutual TLS), as on the gRPC port.
  std::string tls_cert, tls_key, tls_client_ca;
  size_t max_body_bytes = 8 << 20;
  int threads = 32;                     // connections served at once
  int keep_alive_max_requests = 10000;  // on one connection, then it is closed
  absl::Duration read_timeout = absl::Seconds(5);
  // Answer every method but GET and HEAD with 405, before reading a body (the metrics port).
  bool only_get = false;
};

class HttpPort {
 public:
  // INVALID_ARGUMENT when a TLS file cannot be read or the key does not match.
  static absl::StatusOr<std::unique_ptr<HttpPort>> Create(const HttpPortOptions& options);
  ~HttpPort();

  // Where routes are added (Get, Post, ... and an error handler); before Start. The pre-routing
  // handler is the port's own: do not replace it.
  httplib::Server& routes() { return *server_; }
  // Listens on "host:port" (port 0: any free port) and serves on threads of its own. Returns the
  // bound port; INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot be bound.
  absl::StatusOr<int> Start(const std::string& listen);
  // Stops accepting, lets the requests in progress finish, joins the threads; also done by the
  // destructor.
  void Stop();

  // The common name of the client certificate a request came with over mutual TLS; empty
  // otherwise.
  static std::string ClientCommonName(const httplib::Request& request);

 private:
  explicit HttpPort(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {}
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_HTTP_PORT_H_
