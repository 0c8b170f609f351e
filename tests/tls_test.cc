// Integration tests of transport security: TLS, mutual TLS, and plaintext only when asked for.
// Certificates are made for each run with the openssl command (a CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate from the same CA, and one from another CA).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "codebook/v1/release_admin.grpc.pb.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/codebook-tls-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    const std::string& d = *dir_;
    std::string script =
        "set -e; cd " + d + "\n" +
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n"
        "for ca in ca other-ca; do\n"
        "  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$ca -keyout $ca.key "
        "-out $ca.pem\n"
        "done\n"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out "
        "server.csr\n"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile server.ext -out server.pem\n"
        "for c in client:ca reader:ca stranger:other-ca; do\n"
        "  name=${c%%:*}; ca=${c##*:}\n"
        "  openssl req -newkey rsa:2048 -nodes -subj /CN=$name -keyout $name.key -out $name.csr\n"
        "  openssl x509 -req -in $name.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial -days 2 "
        "-out $name.pem\n"
        "done\n";
    std::string out;
    int rc = RunCommand("bash -c '" + Escape(script) + "'", &out);
    ASSERT_EQ(rc, 0) << out;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Escape(const std::string& s) {
    std::string e;
    for (char c : s) {
      if (c == '\'') {
        e += "'\\''";
      } else {
        e += c;
      }
    }
    return e;
  }
  static std::string F(const std::string& name) { return *dir_ + "/" + name; }

  // Ping through `credentials` (plaintext when null); the status.
  static absl::Status PingWith(const TestServer& server,
                               std::shared_ptr<grpc::ChannelCredentials> credentials) {
    ClientOptions o;
    o.target = server.address();
    o.deadline = absl::Seconds(5);
    if (credentials) o.credentials = std::move(credentials);
    Client client(o);
    return client.Ping().status();
  }
  static std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& cert = "",
                                                       const std::string& key = "") {
    auto c =
        TlsChannelCredentials(F("ca.pem"), cert.empty() ? "" : F(cert), key.empty() ? "" : F(key));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : nullptr;
  }

  static std::string* dir_;
};
std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, TlsServerRefusesPlaintextAndAnswersTls) {
  TestServer server("", {"--tls_cert=" + F("server.pem"), "--tls_key=" + F("server.key")});
  ASSERT_TRUE(server.Alive());
  absl::Status plain = PingWith(server, nullptr);
  EXPECT_FALSE(plain.ok());
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable) << plain;
  EXPECT_TRUE(PingWith(server, Tls()).ok());
  // Trusting another CA: the server's certificate is refused.
  auto other = TlsChannelCredentials(F("other-ca.pem"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(PingWith(server, *other).ok());
  // The CLI with --tls_ca.
  std::string out;
  EXPECT_EQ(
      RunCommand(kCli + " --server=" + server.address() + " --tls_ca=" + F("ca.pem") + " ping",
                 &out),
      0)
      << out;
  EXPECT_NE(RunCommand(kCli + " --server=" + server.address() + " --timeout=3 ping", &out), 0);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheTrustedCa) {
  TestServer server("", {"--tls_cert=" + F("server.pem"), "--tls_key=" + F("server.key"),
                         "--tls_client_ca=" + F("ca.pem")});
  ASSERT_TRUE(server.Alive());
  EXPECT_FALSE(PingWith(server, nullptr).ok());
  EXPECT_FALSE(PingWith(server, Tls()).ok());                                // no certificate
  EXPECT_FALSE(PingWith(server, Tls("stranger.pem", "stranger.key")).ok());  // wrong CA
  EXPECT_TRUE(PingWith(server, Tls("client.pem", "client.key")).ok());
  std::string out;
  EXPECT_EQ(
      RunCommand(kCli + " --server=" + server.address() + " --tls_ca=" + F("ca.pem") +
                     " --tls_cert=" + F("client.pem") + " --tls_key=" + F("client.key") + " ping",
                 &out),
      0)
      << out;
  // A replica follows a mutual-TLS primary with its own certificate.
  TestServer replica(
      "", {"--follow=" + server.address(), "--follow_tls_ca=" + F("ca.pem"),
           "--follow_tls_cert=" + F("client.pem"), "--follow_tls_key=" + F("client.key")});
  ASSERT_TRUE(replica.Alive());
  ASSERT_TRUE(PingWith(replica, nullptr).ok());
  int health = -1;
  for (int i = 0; i < 100 && health != 1; ++i) {
    health = HealthStatus(replica.NewClient()->channel(), "codebook.v1.Replica");
    if (health != 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(health, 1);  // SERVING: in sync with the (empty) primary over mutual TLS
}

TEST_F(TlsTest, ClientCertificatesIdentifyCallers) {
  // Under mutual TLS, a tokens file line "cert:<common name>" gives a certificate its scopes.
  std::ofstream(F("tokens")) << "cert:client read,admin loader\ncert:reader read clinic\n";
  TestServer server("", {"--tls_cert=" + F("server.pem"), "--tls_key=" + F("server.key"),
                         "--tls_client_ca=" + F("ca.pem"), "--tokens=" + F("tokens")});
  ASSERT_TRUE(server.Alive());
  auto client_for = [&](const std::string& name) {
    ClientOptions o;
    o.target = server.address();
    o.credentials = Tls(name + ".pem", name + ".key");
    return std::make_unique<Client>(o);
  };
  auto loader = client_for("client");
  auto clinic = client_for("reader");
  auto created = loader->CreateRelease("CPT", "2024", "2024-01-01");
  EXPECT_TRUE(created.ok()) << created.status();
  auto denied = clinic->CreateRelease("CPT", "2025", "2025-01-01");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(), "caller clinic has no admin scope");
  EXPECT_TRUE(clinic->ListReleases("CPT").ok());
  // A certificate name sent as the in-process forwarding metadata counts only with the
  // process's own key: a caller cannot claim another certificate's scopes with it.
  auto stub = codebook::v1::ReleaseAdmin::NewStub(clinic->channel());
  for (const std::string& key : {std::string(""), std::string(64, '0')}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("codebook-forwarded-cn", "client");
    if (!key.empty()) ctx.AddMetadata("codebook-forward-key", key);
    codebook::v1::CreateReleaseRequest req;
    req.set_system("CPT");
    req.set_version("2026");
    req.set_effective_date("2026-01-01");
    codebook::v1::CreateReleaseResponse res;
    grpc::Status status = stub->CreateRelease(&ctx, req, &res);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_EQ(status.error_message(), "caller clinic has no admin scope");
  }
}

// The FHIR port serves HTTPS with the gRPC port's certificate, asks for the same client
// certificates, and knows callers by them as the gRPC port does.
TEST_F(TlsTest, FhirPortUsesTheSameCertificatesAndCallers) {
  // A TLS client whose handshake the server refuses may write to a closed socket: EPIPE, not
  // the end of this process.
  signal(SIGPIPE, SIG_IGN);
  std::ofstream(F("fhir-tokens")) << "cert:reader read clinic\n";
  TestServer server("", {"--tls_cert=" + F("server.pem"), "--tls_key=" + F("server.key"),
                         "--tls_client_ca=" + F("ca.pem"), "--tokens=" + F("fhir-tokens"),
                         "--reads_need_token", "--fhir_listen=127.0.0.1:0"});
  ASSERT_NE(server.fhir_port(), 0);
  auto get = [&](const std::string& cert, const std::string& path) {
    std::unique_ptr<httplib::SSLClient> c =
        cert.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", server.fhir_port())
                     : std::make_unique<httplib::SSLClient>("127.0.0.1", server.fhir_port(),
                                                            F(cert + ".pem"), F(cert + ".key"));
    c->set_ca_cert_path(F("ca.pem").c_str());
    c->enable_server_certificate_verification(true);
    auto res = c->Get(path.c_str());
    return res ? res->status : -1;
  };
  EXPECT_EQ(get("reader", "/fhir/CodeSystem"), 200);
  // Known certificate, no read scope in the tokens file: 401 as on the gRPC port.
  EXPECT_EQ(get("client", "/fhir/CodeSystem"), 401);
  // The gRPC API in JSON (the web page's) knows the same callers by their certificates.
  auto post = [&](const std::string& cert) {
    httplib::SSLClient c("127.0.0.1", server.fhir_port(), F(cert + ".pem"), F(cert + ".key"));
    c.set_ca_cert_path(F("ca.pem").c_str());
    c.enable_server_certificate_verification(true);
    auto res = c.Post("/api/v1/codebook.v1.Terminology/ListCodeSystems", "{}", "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(post("reader"), 200);
  EXPECT_EQ(post("client"), 401);
  // No client certificate, or one from another CA: the handshake fails.
  EXPECT_EQ(get("", "/fhir/metadata"), -1);
  EXPECT_EQ(get("stranger", "/fhir/metadata"), -1);
  // Plain HTTP on the HTTPS port gets no answer.
  httplib::Client plain("127.0.0.1", server.fhir_port());
  EXPECT_FALSE(plain.Get("/fhir/metadata"));
}

TEST_F(TlsTest, PlaintextOnlyWhenAskedFor) {
  char tmpl[] = "/tmp/codebook-tls-db-XXXXXX";
  std::string db = mkdtemp(tmpl);
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --listen=127.0.0.1:0 --db=" + db + "/db", &out), 2);
  EXPECT_NE(out.find("or --plaintext to serve without encryption"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --tls_cert=" + F("server.pem") +
                           " --listen=127.0.0.1:0 --db=" + db + "/db",
                       &out),
            2);
  EXPECT_NE(out.find("--plaintext cannot go with --tls_* flags"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(kCodebookd + " --tls_cert=" + F("server.pem") +
                           " --listen=127.0.0.1:0 --db=" + db + "/db",
                       &out),
            2);
  EXPECT_NE(out.find("TLS needs both --tls_cert and --tls_key"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(kCodebookd + " --tls_cert=" + F("nope.pem") + " --tls_key=" +
                           F("server.key") + " --listen=127.0.0.1:0 --db=" + db + "/db",
                       &out),
            2);
  EXPECT_NE(out.find("nope.pem: cannot read"), std::string::npos) << out;
  // Flags from a file (--flagfile): the same checks apply.
  std::ofstream(db + "/codebookd.flags")
      << "--tls_cert=" << F("server.pem") << "\n--listen=127.0.0.1:0\n";
  EXPECT_EQ(
      RunCommand(kCodebookd + " --flagfile=" + db + "/codebookd.flags --db=" + db + "/db", &out),
      2);
  EXPECT_NE(out.find("TLS needs both --tls_cert and --tls_key"), std::string::npos) << out;
  // A client given a certificate without its key is a usage error.
  EXPECT_EQ(
      RunCommand(kCli + " --tls_ca=" + F("ca.pem") + " --tls_cert=" + F("client.pem") + " ping",
                 &out),
      2);
  fs::remove_all(db);
}

}  // namespace
}  // namespace codebook::testing
