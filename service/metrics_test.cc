// Unit tests of the call metrics' text format and of the HTTP endpoint's answers.
#include "service/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service/http_endpoint.h"

namespace codebook::service {
namespace {

TEST(CallMetricsTest, CountsByCodeBucketsLatencyAndNamesUnknownMethodsOther) {
  CallMetrics m({"/a.S/One", "/a.S/Two"});
  m.Started("/a.S/One");
  m.Finished("/a.S/One", 0, absl::Microseconds(300));  // le 0.0005
  m.Started("/a.S/One");
  m.Finished("/a.S/One", 5, absl::Seconds(2));          // le 5
  m.Started("/x.Y/Z");                                    // not declared: "other", in flight
  m.Started("/a.S/One");
  m.Finished("/a.S/One", 99, absl::Seconds(60));          // bad code: UNKNOWN, +Inf
  const std::string page = m.Render();
  auto has = [&](const std::string& line) { return page.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("codebook_rpc_calls_total{method=\"/a.S/One\",code=\"OK\"} 1")) << page;
  EXPECT_TRUE(has("codebook_rpc_calls_total{method=\"/a.S/One\",code=\"NOT_FOUND\"} 1"));
  EXPECT_TRUE(has("codebook_rpc_calls_total{method=\"/a.S/One\",code=\"UNKNOWN\"} 1"));
  EXPECT_TRUE(has("codebook_rpc_errors_total{method=\"/a.S/One\"} 2"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_bucket{method=\"/a.S/One\",le=\"0.00025\"} 0"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_bucket{method=\"/a.S/One\",le=\"0.0005\"} 1"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_bucket{method=\"/a.S/One\",le=\"5\"} 2"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_bucket{method=\"/a.S/One\",le=\"30\"} 2"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_bucket{method=\"/a.S/One\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_sum{method=\"/a.S/One\"} 62.000300000"));
  EXPECT_TRUE(has("codebook_rpc_latency_seconds_count{method=\"/a.S/One\"} 3"));
  EXPECT_TRUE(has("codebook_rpc_in_flight{method=\"other\"} 1"));
  // A method never called has no series yet.
  EXPECT_EQ(page.find("/a.S/Two"), std::string::npos);
}

TEST(CallMetricsTest, SourcesAppendGaugesWithEscapedLabels) {
  CallMetrics m({});
  m.AddSource([](std::string* out) {
    AppendGauge(out, "codebook_test", "A test gauge.",
                {{"system=\"" + EscapeLabel("a\"b\\c\nd") + "\"", 2.5}, {"", 7}});
  });
  const std::string page = m.Render();
  EXPECT_NE(page.find("# HELP codebook_test A test gauge.\n# TYPE codebook_test gauge\n"
                      "codebook_test{system=\"a\\\"b\\\\c\\nd\"} 2.5\ncodebook_test 7\n"),
            std::string::npos)
      << page;
}

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

TEST(HttpEndpointTest, AnswersMetricsHealthAndRefusesTheRest) {
  bool healthy = true;
  HttpEndpoint http([] { return std::string("m 1\n"); }, [&] { return healthy; });
  absl::StatusOr<int> port = http.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  std::string metrics = Exchange(*port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("\r\n\r\nm 1\n"), std::string::npos);
  EXPECT_EQ(Exchange(*port, "GET /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0), 0u);
  healthy = false;
  EXPECT_EQ(Exchange(*port, "GET /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(Exchange(*port, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(Exchange(*port, "GET /nothing HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(Exchange(*port, "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  // A client that sends half a request and stalls is dropped, and others are still served.
  EXPECT_EQ(Exchange(*port, "GET /metr").size(), 0u);
  EXPECT_EQ(Exchange(*port, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);

  HttpEndpoint taken([] { return std::string(); }, [] { return true; });
  absl::StatusOr<int> again = taken.Start("127.0.0.1:" + std::to_string(*port));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable) << again.status();
  EXPECT_EQ(taken.Start("localhost").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(taken.Start("127.0.0.1:70000").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codebook::service
