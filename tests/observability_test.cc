// Integration tests of what operators see and what bounds a server: Prometheus metrics on the
// HTTP port (calls, errors, latency, releases and concepts, replica lag), the access log, and
// the limits (open streams, message size, deadlines), each refused with its status and a message.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "service/auth.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;
const std::string kReadToken = "read-token-0123456789abcdef";
const std::string kAdminToken = "admin-token-0123456789abcdef";
const std::vector<ReleaseFile> kTwoIcd = {
    {"ICD10CM", "2024", "2023-10-01", "icd10cm-order", "/icd10cm/2024/icd10cm-order-2024.txt"},
    {"ICD10CM", "2025", "2024-10-01", "icd10cm-order", "/icd10cm/2025/icd10cm_order_2025.txt"}};

std::string Metrics(const TestServer& server) {
  int status = 0;
  std::string page = HttpGet(server.metrics_port(), "/metrics", &status);
  EXPECT_EQ(status, 200);
  return page;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ObservabilityTest, MetricsCountCallsErrorsLatencyReleasesAndConcepts) {
  TestServer server("", {"--metrics_listen=127.0.0.1:0"});
  ASSERT_GT(server.metrics_port(), 0);
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), kSample, kTwoIcd).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Lookup("ICD10CM", "E11.9").ok());
  EXPECT_EQ(client->Lookup("ICD10CM", "99NOPE").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Lookup("NOSUCH", "E11.9").status().code(), absl::StatusCode::kNotFound);

  std::string page = Metrics(server);
  const std::string lookup = "method=\"/codebook.v1.Terminology/Lookup\"";
  EXPECT_EQ(MetricValue(page, "codebook_rpc_calls_total{" + lookup + ",code=\"OK\"}"), 5) << page;
  EXPECT_EQ(MetricValue(page, "codebook_rpc_calls_total{" + lookup + ",code=\"NOT_FOUND\"}"), 1);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_calls_total{" + lookup + ",code=\"INVALID_ARGUMENT\"}"), 1);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_errors_total{" + lookup + "}"), 2);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_latency_seconds_count{" + lookup + "}"), 7);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_latency_seconds_bucket{" + lookup + ",le=\"+Inf\"}"), 7);
  EXPECT_GT(MetricValue(page, "codebook_rpc_latency_seconds_sum{" + lookup + "}"), 0);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_in_flight{" + lookup + "}"), 0);
  // The import's calls are counted under their own methods: each release is created, then
  // uploaded and published in one stream.
  EXPECT_EQ(MetricValue(page, "codebook_rpc_calls_total{method=\"/codebook.v1.ReleaseAdmin/"
                              "CreateRelease\",code=\"OK\"}"),
            2);
  EXPECT_EQ(MetricValue(page, "codebook_rpc_calls_total{method=\"/codebook.v1.ReleaseAdmin/"
                              "UploadConcepts\",code=\"OK\"}"),
            2);
  // Releases and concepts per system, from the catalog.
  EXPECT_EQ(MetricValue(page, "codebook_releases{system=\"ICD10CM\",state=\"published\"}"), 2);
  EXPECT_EQ(MetricValue(page, "codebook_releases{system=\"HCPCS\",state=\"published\"}"), 0);
  v1::ReleaseSelector newest;
  newest.set_version("2025");
  auto release = client->GetRelease("ICD10CM", newest);
  ASSERT_TRUE(release.ok());
  EXPECT_EQ(MetricValue(page, "codebook_concepts{system=\"ICD10CM\"}"), release->counts().total());
  EXPECT_EQ(MetricValue(page, "codebook_concepts_active{system=\"ICD10CM\"}"),
            release->counts().total_active());
  // Every family has its HELP and TYPE.
  for (const char* family : {"codebook_rpc_calls_total counter", "codebook_rpc_errors_total counter",
                             "codebook_rpc_latency_seconds histogram", "codebook_releases gauge",
                             "codebook_release_view_build_failures_total counter"}) {
    EXPECT_NE(page.find(std::string("# TYPE ") + family), std::string::npos) << family;
  }
  EXPECT_EQ(MetricValue(page, "codebook_release_view_build_failures_total"), 0);

  // A server that is not a replica has no replica gauges.
  EXPECT_EQ(MetricValue(page, "codebook_replica_in_sync"), -1);

  int status = 0;
  EXPECT_EQ(HttpGet(server.metrics_port(), "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
  HttpGet(server.metrics_port(), "/other", &status);
  EXPECT_EQ(status, 404);
}

TEST(ObservabilityTest, AccessLogHasOneLinePerCallWithCallerStatusAndLatency) {
  char tmpl[] = "/tmp/codebook-log-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    std::ofstream tokens(dir + "/tokens");
    tokens << service::HashToken(kReadToken) << " read claims-app\n"
           << service::HashToken(kAdminToken) << " read,admin loader\n";
  }
  const std::string log = dir + "/access.log";
  {
    TestServer server(
        "", {"--tokens=" + dir + "/tokens", "--access_log=" + log, "--fhir_listen=127.0.0.1:0"});
    auto reader = server.NewClient(kReadToken);
    auto anonymous = server.NewClient();
    ASSERT_TRUE(ImportFiles(server.NewClient(kAdminToken).get(), kSample, {kTwoIcd[0]}).ok());
    // The same call in JSON on the HTTP port (the web page's): logged with the HTTP client.
    httplib::Client http("127.0.0.1", server.fhir_port());
    http.set_bearer_token_auth(kReadToken.c_str());
    auto json = http.Post("/api/v1/codebook.v1.Terminology/Lookup",
                          R"({"system":"ICD10CM","code":"E11.9"})", "application/json");
    ASSERT_TRUE(json && json->status == 200) << (json ? json->body : "no answer");
    ASSERT_TRUE(reader->Lookup("ICD10CM", "E11.9").ok());
    EXPECT_EQ(anonymous->CreateRelease("ICD10CM", "2099", "2098-10-01").status().code(),
              absl::StatusCode::kUnauthenticated);
    reader.reset();
    anonymous.reset();
    EXPECT_EQ(server.Stop(), 0);  // the log is flushed at exit
  }
  std::vector<std::string> lines = ReadLines(log);
  ASSERT_GE(lines.size(), 5u);  // create, upload and publish, lookup in JSON, lookup, refused
  const std::string& in_json = lines[lines.size() - 3];
  EXPECT_NE(in_json.find("\"method\":\"/codebook.v1.Terminology/Lookup\""), std::string::npos)
      << in_json;
  EXPECT_NE(in_json.find("\"caller\":\"claims-app\""), std::string::npos) << in_json;
  EXPECT_NE(in_json.find("\"peer\":\"http:127.0.0.1:"), std::string::npos) << in_json;
  const std::string& lookup = lines[lines.size() - 2];
  EXPECT_NE(lookup.find("\"method\":\"/codebook.v1.Terminology/Lookup\""), std::string::npos) << lookup;
  EXPECT_NE(lookup.find("\"caller\":\"claims-app\""), std::string::npos) << lookup;
  EXPECT_NE(lookup.find("\"code\":\"OK\""), std::string::npos) << lookup;
  EXPECT_NE(lookup.find("\"peer\":\"ipv4:127.0.0.1:"), std::string::npos) << lookup;
  EXPECT_NE(lookup.find("\"latency_ms\":"), std::string::npos) << lookup;
  EXPECT_EQ(lookup.front(), '{');
  EXPECT_EQ(lookup.back(), '}');
  const std::string& refused = lines.back();
  EXPECT_NE(refused.find("\"method\":\"/codebook.v1.ReleaseAdmin/CreateRelease\""), std::string::npos);
  EXPECT_NE(refused.find("\"caller\":\"anonymous\""), std::string::npos) << refused;
  EXPECT_NE(refused.find("\"code\":\"UNAUTHENTICATED\""), std::string::npos) << refused;
  EXPECT_NE(refused.find("\"message\":\"admin calls need"), std::string::npos) << refused;
  EXPECT_NE(lines[0].find("\"caller\":\"loader\""), std::string::npos) << lines[0];
  fs::remove_all(dir);

  // A log that cannot be opened stops the server at start with the reason.
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --db=/tmp/codebook-never --access_log=/nonexistent/dir/log",
                       &out),
            2);
  EXPECT_NE(out.find("cannot open access log /nonexistent/dir/log"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --db=/tmp/codebook-never --metrics_listen=nonsense", &out), 2);
  EXPECT_NE(out.find("--metrics_listen: 'nonsense' is not HOST:PORT"), std::string::npos) << out;
  fs::remove_all("/tmp/codebook-never");
}

TEST(ObservabilityTest, ReplicaReportsItsLag) {
  TestServer primary;
  ASSERT_TRUE(ImportFiles(primary.NewClient().get(), kSample, {kTwoIcd[0]}).ok());
  TestServer replica("", {"--follow=" + primary.address(), "--metrics_listen=127.0.0.1:0"});
  auto page = [&] { return Metrics(replica); };
  for (int i = 0; i < 300 && MetricValue(page(), "codebook_replica_in_sync") != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string synced = page();
  EXPECT_EQ(MetricValue(synced, "codebook_replica_in_sync"), 1) << synced;
  EXPECT_EQ(MetricValue(synced, "codebook_replica_releases_behind{system=\"ICD10CM\"}"), 0);
  EXPECT_EQ(MetricValue(synced, "codebook_replica_lag_seconds"), 0);
  // The primary goes away: the replica says it cannot tell, and counts the time.
  primary.Stop();
  for (int i = 0; i < 300 && MetricValue(page(), "codebook_replica_in_sync") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string lost = page();
  EXPECT_EQ(MetricValue(lost, "codebook_replica_in_sync"), 0) << lost;
  EXPECT_EQ(MetricValue(lost, "codebook_replica_releases_behind{system=\"ICD10CM\"}"), -1) << lost;
  EXPECT_GT(MetricValue(lost, "codebook_replica_lag_seconds"), 0) << lost;
}

TEST(ObservabilityTest, PlaintextHealthPortMirrorsTheTlsServersHealthAndServesNothingElse) {
  // A replica (its Replica status changes) on TLS, with a plaintext port for probes.
  char tmpl[] = "/tmp/codebook-health-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::string out;
  ASSERT_EQ(RunCommand("cd " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
                       "-out cert.pem -days 1 -subj /CN=localhost -addext "
                       "subjectAltName=DNS:localhost,IP:127.0.0.1",
                       &out),
            0)
      << out;
  TestServer primary;
  TestServer replica("", {"--follow=" + primary.address(), "--health_listen=127.0.0.1:0",
                          "--tls_cert=" + dir + "/cert.pem", "--tls_key=" + dir + "/key.pem"});
  ASSERT_GT(replica.health_port(), 0);
  auto probe = grpc::CreateChannel("127.0.0.1:" + std::to_string(replica.health_port()),
                                   grpc::InsecureChannelCredentials());
  EXPECT_EQ(HealthStatus(probe, ""), 1);
  EXPECT_EQ(HealthStatus(probe, "codebook.v1.Terminology"), 1);
  for (int i = 0; i < 300 && HealthStatus(probe, "codebook.v1.Replica") != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(HealthStatus(probe, "codebook.v1.Replica"), 1);
  primary.Stop();  // out of sync: NOT_SERVING on the probe port too
  for (int i = 0; i < 300 && HealthStatus(probe, "codebook.v1.Replica") != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(HealthStatus(probe, "codebook.v1.Replica"), 2);
  // The probe port answers nothing but health.
  ClientOptions o;
  o.target = "127.0.0.1:" + std::to_string(replica.health_port());
  Client plain(o);
  EXPECT_EQ(plain.Lookup("ICD10CM", "E11.9").status().code(), absl::StatusCode::kUnimplemented);
  // And the main port still refuses plaintext.
  EXPECT_EQ(replica.NewClient()->Lookup("ICD10CM", "E11.9").status().code(),
            absl::StatusCode::kUnavailable);
  std::filesystem::remove_all(dir);
}

TEST(ObservabilityTest, CheckFlagsValidatesWithoutOpeningAnything) {
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --check_flags --plaintext --listen=0.0.0.0:50051 "
                       "--metrics_listen=0.0.0.0:9464 --health_listen=0.0.0.0:8081 --db=/nonexistent",
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "codebookd: flags ok\n");
  EXPECT_EQ(RunCommand(kCodebookd + " --check_flags --listen=nothing --tls_cert=c.pem", &out), 2);
  EXPECT_NE(out.find("--listen=nothing is not HOST:PORT"), std::string::npos) << out;
  EXPECT_NE(out.find("TLS needs both --tls_cert and --tls_key"), std::string::npos) << out;
  EXPECT_NE(RunCommand(kCodebookd + " --check_flags --plaintext --no_such_flag=1", &out), 0);
  EXPECT_NE(out.find("no_such_flag"), std::string::npos) << out;
}

TEST(LimitsTest, StreamsPastTheLimitAreRefusedAndSlotsComeBack) {
  TestServer server("", {"--max_streams=2", "--metrics_listen=127.0.0.1:0"});
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), kSample, {kTwoIcd[0]}).ok());
  // Two watches hold the two slots. The import's upload stream gives its slot back just after
  // the client has its answer: a watch refused meanwhile is retried, for up to 2 s.
  std::atomic<int> ended{0};
  std::vector<std::thread> watchers;
  for (int i = 0; i < 2; ++i) {
    watchers.emplace_back([&] {
      auto c = server.NewClient();
      absl::Status s;
      for (int attempt = 0; attempt < 200; ++attempt) {
        s = c->WatchReleases("ICD10CM", 0, [](const v1::ReleaseEvent&) { return true; },
                             absl::Seconds(3));
        if (s.code() != absl::StatusCode::kResourceExhausted) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;  // deadlines end streams
      ++ended;
    });
  }
  const std::string in_flight =
      "codebook_rpc_in_flight{method=\"/codebook.v1.Terminology/WatchReleases\"}";
  for (int i = 0; i < 200 && MetricValue(Metrics(server), in_flight) != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(MetricValue(Metrics(server), in_flight), 2);
  absl::Status third = client->WatchReleases("ICD10CM", 0, [](const v1::ReleaseEvent&) { return true; },
                                             absl::Seconds(1));
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted) << third;
  EXPECT_NE(third.message().find("2 streams are open on this server, its limit (--max_streams=2)"),
            std::string::npos)
      << third;
  v1::ExportReleaseRequest exp;
  exp.set_system("ICD10CM");
  exp.mutable_selector()->set_version("2024");
  EXPECT_EQ(client->ExportRelease(exp, [](const v1::ExportReleaseResponse&) { return true; }).code(),
            absl::StatusCode::kResourceExhausted);
  // Unary calls are not streams.
  EXPECT_TRUE(client->Lookup("ICD10CM", "E11.9").ok());
  for (auto& t : watchers) t.join();
  EXPECT_EQ(ended.load(), 2);
  // The slots came back when the streams ended (the server releases them just after the
  // clients' deadlines: a refusal meanwhile is retried, for up to 2 s).
  int concepts = 0;
  absl::Status again;
  for (int i = 0; i < 200; ++i) {
    concepts = 0;
    again = client->ExportRelease(exp, [&](const v1::ExportReleaseResponse& m) {
      concepts += m.concepts_size();
      return true;
    });
    if (again.code() != absl::StatusCode::kResourceExhausted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_GT(concepts, 0);
}

TEST(LimitsTest, MessageSizeBatchSizePageSizeAndQueryLengthAreRefusedWithAMessage) {
  TestServer server("", {"--max_message_mb=1"});
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), kSample, {kTwoIcd[0]}).ok());
  // A request over --max_message_mb: RESOURCE_EXHAUSTED before it is read.
  std::vector<std::string> big(64, std::string(20000, 'A'));
  auto too_big = client->BatchLookup("ICD10CM", big);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted) << too_big.status();
  // Batch, page and query limits: INVALID_ARGUMENT naming the limit.
  auto too_many = client->BatchLookup("ICD10CM", std::vector<std::string>(10001, "E119"));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("the limit is 10000"), std::string::npos)
      << too_many.status();
  v1::SearchRequest search;
  search.set_system("ICD10CM");
  search.set_query("diabetes");
  search.set_page_size(201);
  auto page = client->Search(search);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("outside 1..200"), std::string::npos) << page.status();
  search.set_page_size(10);
  search.set_query(std::string(201, 'a'));
  EXPECT_EQ(client->Search(search).status().code(), absl::StatusCode::kInvalidArgument);
  v1::ValidateClaimRequest claim;
  EXPECT_EQ(client->ValidateClaim(claim).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codebook::testing
