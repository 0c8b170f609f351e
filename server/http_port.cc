#include "server/http_port.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace codebook::server {

absl::StatusOr<HostPort> SplitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  HostPort out;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &out.port) ||
      out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", address, "' is not HOST:PORT (e.g. 0.0.0.0:9464)"));
  }
  out.host = address.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

void AcceptNoBrotli(httplib::Request& req) {
  auto found = req.headers.find("Accept-Encoding");  // httplib's header map ignores case
  if (found == req.headers.end()) return;
  std::vector<std::string> kept;
  for (absl::string_view coding : absl::StrSplit(found->second, ',')) {
    absl::string_view name = absl::StripAsciiWhitespace(coding.substr(0, coding.find(';')));
    if (!absl::EqualsIgnoreCase(name, "br")) kept.emplace_back(absl::StripAsciiWhitespace(coding));
  }
  found->second = absl::StrJoin(kept, ", ");
}

absl::StatusOr<std::unique_ptr<HttpPort>> HttpPort::Create(const HttpPortOptions& options) {
  std::unique_ptr<httplib::Server> server;
  if (options.tls_cert.empty()) {
    server = std::make_unique<httplib::Server>();
  } else {
    // OpenSSL writes with write(2): a client gone mid-answer would raise SIGPIPE and end the
    // process. A server ignores it, process-wide, and sees EPIPE instead.
    signal(SIGPIPE, SIG_IGN);
    auto tls = std::make_unique<httplib::SSLServer>(
        options.tls_cert.c_str(), options.tls_key.c_str(),
        options.tls_client_ca.empty() ? nullptr : options.tls_client_ca.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot serve HTTPS with ", options.tls_cert, " and ", options.tls_key,
          options.tls_client_ca.empty() ? "" : " and " + options.tls_client_ca,
          ": a file is unreadable, not PEM, or the key does not match the certificate"));
    }
    server = std::move(tls);
  }
  // httplib's default also sets SO_REUSEPORT, which would let a second server share a port in
  // use; only SO_REUSEADDR here, so that a taken port is refused.
  server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
  const size_t threads = static_cast<size_t>(std::max(1, options.threads));
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->set_payload_max_length(options.max_body_bytes);
  // Answers are small and written in pieces (headers, body): without TCP_NODELAY, Nagle's
  // algorithm and the client's delayed ACK hold each answer back by tens of milliseconds.
  server->set_tcp_nodelay(true);
  // httplib hands handlers the request as const, but it is the server's own object, made for
  // this request (not const): changing a header of it is well defined.
  server->set_pre_routing_handler(
      [only_get = options.only_get](const httplib::Request& req, httplib::Response& res) {
        AcceptNoBrotli(const_cast<httplib::Request&>(req));
        if (!only_get || req.method == "GET" || req.method == "HEAD") {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        res.status = 405;
        res.set_content("only GET\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      });
  server->set_keep_alive_max_count(
      static_cast<size_t>(std::max(1, options.keep_alive_max_requests)));
  const int64_t usec = absl::ToInt64Microseconds(options.read_timeout);
  server->set_read_timeout(usec / 1000000, usec % 1000000);
  return std::unique_ptr<HttpPort>(new HttpPort(std::move(server)));
}

HttpPort::~HttpPort() { Stop(); }

absl::StatusOr<int> HttpPort::Start(const std::string& listen) {
  absl::StatusOr<HostPort> split = SplitHostPort(listen);
  if (!split.ok()) return split.status();
  int port = split->port;
  if (port == 0) {
    port = server_->bind_to_any_port(split->host);
    if (port < 0) port = 0;
  } else if (!server_->bind_to_port(split->host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": the address is in use or not this host's"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port;
}

void HttpPort::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

std::string HttpPort::ClientCommonName(const httplib::Request& request) {
  if (request.ssl == nullptr) return "";
  X509* cert = SSL_get_peer_certificate(request.ssl);
  if (cert == nullptr) return "";
  char name[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  X509_free(cert);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : "";
}

}  // namespace codebook::server
