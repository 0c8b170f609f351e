// Integration tests of access control: bearer tokens with scopes from a tokens file (hashes
// only), admin calls refused without the admin scope, reads open or not by setting, the file
// reloaded on SIGHUP.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "importers/importers.h"
#include "service/auth.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;
const std::string kAdminToken = "admin-token-0123456789abcdef";
const std::string kReadToken = "read-token-0123456789abcdef";
const std::string kLaterToken = "later-token-0123456789abcdef";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/codebook-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    WriteTokens({{kAdminToken, "read,admin", "loader"}, {kReadToken, "read", "claims-app"}});
  }
  void TearDown() override { fs::remove_all(dir_); }
  void WriteTokens(const std::vector<std::vector<std::string>>& lines) {
    std::ofstream out(dir_ + "/tokens");
    out << "# sha256  scopes  caller\n";
    for (const auto& l : lines) out << service::HashToken(l[0]) << "  " << l[1] << "  " << l[2] << "\n";
  }
  std::string dir_;
};

absl::StatusCode CreateCode(Client* c, const std::string& version) {
  return c->CreateRelease("CPT", version, "2024-01-01").status().code();
}

TEST_F(AuthTest, AdminCallsNeedTheAdminScope) {
  TestServer server("", {"--tokens=" + dir_ + "/tokens"});
  auto anonymous = server.NewClient();
  auto reader = server.NewClient(kReadToken);
  auto admin = server.NewClient(kAdminToken);
  auto stranger = server.NewClient("not-a-known-token-at-all");

  EXPECT_EQ(CreateCode(anonymous.get(), "2024"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CreateCode(reader.get(), "2024"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CreateCode(stranger.get(), "2024"), absl::StatusCode::kUnauthenticated);
  auto denied = reader->CreateRelease("CPT", "2024", "2024-01-01");
  EXPECT_EQ(denied.status().message(), "caller claims-app has no admin scope");
  // Streams and every other admin call too.
  EXPECT_EQ(anonymous->UploadConcepts("CPT", "2024", {v1::Concept()}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(reader->PublishRelease("CPT", "2024").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(reader->CreateBackup(dir_ + "/backup").status().code(),
            absl::StatusCode::kPermissionDenied);
  // With the admin token, the whole import works.
  auto concepts = importers::ParseFile("cpt", kSample + "/cpt/2024");
  ASSERT_TRUE(concepts.ok());
  auto imported = admin->ImportRelease("CPT", "2024", "2024-01-01", "", *concepts, true);
  ASSERT_TRUE(imported.ok()) << imported.status();
  // Reads are open to everyone on this server.
  EXPECT_TRUE(anonymous->Lookup("CPT", "99213").ok());
  EXPECT_TRUE(stranger->Lookup("CPT", "99213").ok());
  // The CLI sends a token from a file.
  std::ofstream(dir_ + "/admin.token") << kAdminToken << "\n";
  std::string out;
  EXPECT_EQ(RunCommand(kCli + " --server=" + server.address() + " --token_file=" + dir_ +
                           "/admin.token retract --system=CPT --version=2024 --reason=test",
                       &out),
            0)
      << out;
  EXPECT_EQ(RunCommand(kCli + " --server=" + server.address() +
                           " publish --system=CPT --version=2099",
                       &out),
            1);
  EXPECT_NE(out.find("admin calls need a bearer token or a client certificate with the admin "
                     "scope"),
            std::string::npos)
      << out;
}

TEST_F(AuthTest, ReadsNeedATokenWhenTheServerSaysSo) {
  TestServer server("", {"--tokens=" + dir_ + "/tokens", "--reads_need_token"});
  auto anonymous = server.NewClient();
  auto reader = server.NewClient(kReadToken);
  EXPECT_EQ(anonymous->ListCodeSystems().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(reader->ListCodeSystems().ok());
  v1::ExportReleaseRequest req;
  req.set_system("CPT");
  absl::Status s = anonymous->ExportRelease(req, [](const v1::ExportReleaseResponse&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  s = anonymous->WatchReleases("CPT", 0, [](const v1::ReleaseEvent&) { return false; },
                               absl::Seconds(2));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  v1::ClaimLine line;
  line.set_procedure_code("99213");
  s = anonymous->ValidateClaimStream({line}, [](const v1::ClaimLineResult&) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  // The health service stays open, for probes.
  EXPECT_EQ(HealthStatus(anonymous->channel(), ""), 1);
}

TEST_F(AuthTest, TokensFileIsReloadedOnSighup) {
  TestServer server("", {"--tokens=" + dir_ + "/tokens"});
  auto later = server.NewClient(kLaterToken);
  EXPECT_EQ(CreateCode(later.get(), "2024"), absl::StatusCode::kUnauthenticated);
  WriteTokens({{kAdminToken, "read,admin", "loader"}, {kLaterToken, "admin", "new-loader"}});
  kill(server.pid(), SIGHUP);
  absl::StatusCode code = absl::StatusCode::kUnauthenticated;
  for (int i = 0; i < 100 && code == absl::StatusCode::kUnauthenticated; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    code = CreateCode(later.get(), "2024");
  }
  EXPECT_EQ(code, absl::StatusCode::kOk);
  // The read token is gone now; a broken file keeps the table in force.
  EXPECT_EQ(CreateCode(server.NewClient(kReadToken).get(), "2025"),
            absl::StatusCode::kUnauthenticated);
  std::ofstream(dir_ + "/tokens") << "garbage line\n";
  kill(server.pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(server.Alive());
  EXPECT_EQ(CreateCode(later.get(), "2025"), absl::StatusCode::kOk);
}

TEST_F(AuthTest, TokensFilesAreCheckedAndHashesPrinted) {
  std::string out;
  EXPECT_EQ(RunCommand("echo " + kAdminToken + " | " + kCodebookd + " --hash_token", &out), 0);
  EXPECT_EQ(out, service::HashToken(kAdminToken) + "  read  CALLER\n");
  std::ofstream(dir_ + "/bad") << "# plain tokens are refused\n" << kAdminToken << " admin x\n";
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --tokens=" + dir_ + "/bad --db=" + dir_ + "/db",
                       &out),
            2);
  EXPECT_NE(out.find(dir_ + "/bad:2: a credential is the SHA-256 of a token"), std::string::npos)
      << out;
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --reads_need_token --db=" + dir_ + "/db", &out),
            2);
  EXPECT_NE(out.find("--reads_need_token needs --tokens"), std::string::npos) << out;
}

}  // namespace
}  // namespace codebook::testing
