// Unit tests of the call metrics' text format.
#include "service/metrics.h"

#include <gtest/gtest.h>


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

}  // namespace
}  // namespace codebook::service
