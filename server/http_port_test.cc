// Unit tests of the HTTP port (cpp-httplib) with the metrics port's routes: answers, refusals,
// keep-alive, the body limit, and addresses that cannot be bound.
#include "server/http_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "server/http_routes.h"

namespace codebook::server {
namespace {

// Sends `request` to 127.0.0.1:port and returns the whole answer.
std::string Exchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// A metrics port as the server makes it.
std::unique_ptr<HttpPort> MetricsPort(std::function<bool()> healthy) {
  HttpPortOptions options;
  options.threads = 2;
  options.max_body_bytes = 8192;
  options.read_timeout = absl::Seconds(1);
  options.only_get = true;
  absl::StatusOr<std::unique_ptr<HttpPort>> port = HttpPort::Create(options);
  if (!port.ok()) return nullptr;
  AddMetricsRoutes((*port)->routes(), [] { return std::string("m 1\n"); }, std::move(healthy));
  return *std::move(port);
}

TEST(HttpPortTest, MetricsPortAnswersMetricsHealthAndRefusesTheRest) {
  std::atomic<bool> healthy{true};
  std::unique_ptr<HttpPort> http = MetricsPort([&] { return healthy.load(); });
  ASSERT_NE(http, nullptr);
  absl::StatusOr<int> port = http->Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  std::string metrics =
      Exchange(*port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("\r\n\r\nm 1\n"), std::string::npos);
  EXPECT_EQ(Exchange(*port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 200 OK", 0),
            0u);
  healthy = false;
  EXPECT_EQ(Exchange(*port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 503", 0),
            0u);
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    EXPECT_EQ(
        Exchange(*port, std::string(method) + " /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            .rfind("HTTP/1.1 405", 0),
        0u)
        << method;
  }
  EXPECT_EQ(Exchange(*port, "GET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 404", 0),
            0u);
  EXPECT_EQ(Exchange(*port, "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  // A client that sends half a request and stalls is dropped, and others are still served.
  EXPECT_EQ(Exchange(*port, "GET /metr").size(), 0u);
  EXPECT_EQ(Exchange(*port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 200", 0),
            0u);

  std::unique_ptr<HttpPort> taken = MetricsPort([] { return true; });
  absl::StatusOr<int> again = taken->Start("127.0.0.1:" + std::to_string(*port));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable) << again.status();
  EXPECT_EQ(taken->Start("localhost").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(taken->Start("127.0.0.1:70000").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpPortTest, AcceptNoBrotliKeepsEveryOtherCoding) {
  httplib::Request req;
  req.headers.emplace("accept-encoding", "gzip, deflate, br;q=1.0, zstd");
  AcceptNoBrotli(req);
  EXPECT_EQ(req.get_header_value("Accept-Encoding"), "gzip, deflate, zstd");
  httplib::Request only_br;
  only_br.headers.emplace("Accept-Encoding", " BR ");
  AcceptNoBrotli(only_br);
  EXPECT_EQ(only_br.get_header_value("Accept-Encoding"), "");
  httplib::Request none;
  AcceptNoBrotli(none);
  EXPECT_FALSE(none.has_header("Accept-Encoding"));
}

// A browser's Accept-Encoding gets gzip, never Brotli (httplib's Brotli is its slowest quality).
TEST(HttpPortTest, CompressesWithGzipNotBrotli) {
  absl::StatusOr<std::unique_ptr<HttpPort>> http = HttpPort::Create(HttpPortOptions());
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->routes().Get("/text", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(10000, 'a'), "text/plain");
  });
  absl::StatusOr<int> port = (*http)->Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  auto get = [&](const std::string& accept) {
    return Exchange(*port, "GET /text HTTP/1.1\r\nAccept-Encoding: " + accept +
                               "\r\nConnection: close\r\n\r\n");
  };
  std::string browser = get("gzip, deflate, br");
  EXPECT_NE(browser.find("Content-Encoding: gzip\r\n"), std::string::npos) << browser;
  std::string brotli_only = get("br");
  EXPECT_EQ(brotli_only.find("Content-Encoding"), std::string::npos) << brotli_only;
  EXPECT_NE(brotli_only.find(std::string(10000, 'a')), std::string::npos);
}

// Reads one answer with a Content-Length body from `fd`.
std::string ReadAnswer(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    size_t end = out.find("\r\n\r\n");
    size_t length_at = out.find("Content-Length: ");
    if (end != std::string::npos && length_at != std::string::npos) {
      size_t length = std::stoul(out.substr(length_at + 16));
      if (out.size() >= end + 4 + length) return out;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

TEST(HttpPortTest, KeepsConnectionsAliveAndRefusesBodiesOverTheLimit) {
  HttpPortOptions options;
  options.threads = 2;
  options.max_body_bytes = 8192;
  absl::StatusOr<std::unique_ptr<HttpPort>> http = HttpPort::Create(options);
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->routes().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  absl::StatusOr<int> port = (*http)->Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  // Two requests, one after the other, on one connection: both answered.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(*port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  for (const char* body : {"first", "second"}) {
    std::string request = std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ") +
                          std::to_string(strlen(body)) + "\r\n\r\n" + body;
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string answer = ReadAnswer(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK", 0), 0u) << answer;
    EXPECT_EQ(answer.substr(answer.size() - strlen(body)), body) << answer;
  }
  close(fd);
  // A body over the port's limit (8 KiB here) is refused before the route sees it.
  std::string big(9000, 'x');
  std::string refused = Exchange(
      *port, "POST /echo HTTP/1.1\r\nConnection: close\r\nContent-Length: 9000\r\n\r\n" + big);
  EXPECT_EQ(refused.rfind("HTTP/1.1 413", 0), 0u) << refused;
  // A port with TLS files that are not there cannot be made.
  HttpPortOptions tls;
  tls.tls_cert = "/nonexistent/cert.pem";
  tls.tls_key = "/nonexistent/key.pem";
  EXPECT_EQ(HttpPort::Create(tls).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codebook::server
