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
  v1::CodeSystem pos;
  pos.set_id("POS");
  pos.set_uri("urn:example:pos");
  pos.set_title("Place of service");
  EXPECT_EQ(reader->CreateCodeSystem(pos).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(anonymous->CreateCodeSystem(pos).status().code(), absl::StatusCode::kUnauthenticated);
  auto pos_created = admin->CreateCodeSystem(pos);
  ASSERT_TRUE(pos_created.ok()) << pos_created.status();
  EXPECT_TRUE(pos_created->created());
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

TEST_F(AuthTest, CptTextOnlyForCallersWithTheLicence) {
  const std::string licensed_token = "licensed-token-0123456789abcdef";
  WriteTokens({{kAdminToken, "read,admin", "loader"},
               {kReadToken, "read", "claims-app"},
               {licensed_token, "read,license:CPT", "coder-app"}});
  TestServer server("", {"--tokens=" + dir_ + "/tokens"});
  auto admin = server.NewClient(kAdminToken);
  absl::Status imported = ImportFiles(
      admin.get(), kSample,
      {kSampleCpt[1],
       {"HCPCS", "2019", "2019-01-01", "hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt"}});
  ASSERT_TRUE(imported.ok()) << imported;
  auto anonymous = server.NewClient();
  auto reader = server.NewClient(kReadToken);
  auto coder = server.NewClient(licensed_token);

  auto systems = anonymous->ListCodeSystems();
  ASSERT_TRUE(systems.ok());
  EXPECT_EQ(systems->at(0).id(), "CPT");
  EXPECT_EQ(systems->at(0).license_scope(), "license:CPT");

  // Without the licence: the code, its status and dates, no text; the answer says so.
  for (Client* c : {anonymous.get(), reader.get()}) {
    auto r = c->Lookup("CPT", "99213-25", Selector::Version("2025"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->concept().code(), "99213");
    EXPECT_TRUE(r->concept().billable());
    EXPECT_EQ(r->concept().added_date(), "2023-01-01");
    EXPECT_TRUE(r->concept().text_withheld());
    EXPECT_EQ(r->concept().display(), "");
    EXPECT_EQ(r->concept().designations_size(), 0);
    EXPECT_TRUE(r->modifiers(0).text_withheld());
  }
  auto full = coder->Lookup("CPT", "99213", Selector::Version("2025"));
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->concept().text_withheld());
  EXPECT_NE(full->concept().display(), "");
  EXPECT_GT(full->concept().designations_size(), 0);
  // Other systems are open.
  auto hcpcs = reader->Lookup("HCPCS", "G2010");
  ASSERT_TRUE(hcpcs.ok());
  EXPECT_FALSE(hcpcs->concept().text_withheld());
  EXPECT_NE(hcpcs->concept().display(), "");
  // Every answer that carries CPT concepts: batches, hierarchy, export.
  auto batch = reader->BatchLookup("CPT", {"99213", "0042T"});
  ASSERT_TRUE(batch.ok());
  for (const auto& res : batch->results()) EXPECT_TRUE(res.concept().text_withheld());
  int streamed = 0;
  ASSERT_TRUE(reader
                  ->LookupStream("CPT", {}, {"99213", "0042T", "99213"}, 2,
                                 [&](const v1::BatchLookupResponse& r) {
                                   for (const auto& res : r.results()) {
                                     streamed++;
                                     EXPECT_TRUE(res.concept().text_withheld());
                                     EXPECT_EQ(res.concept().display(), "");
                                   }
                                 })
                  .ok());
  EXPECT_EQ(streamed, 3);
  ASSERT_TRUE(coder
                  ->LookupStream("CPT", {}, {"99213"}, 1,
                                 [&](const v1::BatchLookupResponse& r) {
                                   EXPECT_NE(r.results(0).concept().display(), "");
                                 })
                  .ok());
  v1::GetChildrenRequest children;
  children.set_system("CPT");
  children.set_code("EVALUATION_MANAGEMENT");
  auto kids = reader->GetChildren(children);
  ASSERT_TRUE(kids.ok());
  ASSERT_GT(kids->children_size(), 0);
  for (const auto& c : kids->children()) EXPECT_TRUE(c.text_withheld());
  v1::ExportReleaseRequest exp;
  exp.set_system("CPT");
  int exported = 0;
  ASSERT_TRUE(reader
                  ->ExportRelease(exp,
                                  [&](const v1::ExportReleaseResponse& m) {
                                    for (const auto& c : m.concepts()) {
                                      exported++;
                                      EXPECT_TRUE(c.text_withheld());
                                      EXPECT_EQ(c.display(), "");
                                    }
                                    return true;
                                  })
                  .ok());
  EXPECT_GT(exported, 10);
  // Searching the text would reveal it: refused; searching by code works, without text.
  v1::SearchRequest search;
  search.set_system("CPT");
  search.set_query("office visit");
  auto refused = reader->Search(search);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("license:CPT"), std::string::npos);
  auto allowed = coder->Search(search);
  ASSERT_TRUE(allowed.ok());
  EXPECT_GT(allowed->hits_size(), 0);
  search.set_query("9921");
  auto by_code = reader->Search(search);
  ASSERT_TRUE(by_code.ok()) << by_code.status();
  ASSERT_GT(by_code->hits_size(), 0);
  EXPECT_TRUE(by_code->hits(0).concept().text_withheld());
  // Value sets: creating one needs the admin scope; an expansion withholds CPT text without the
  // licence, and refuses a text filter that would reveal it.
  v1::ValueSet em;
  em.set_url("urn:example:vs:em");
  em.set_version("1");
  em.add_includes()->set_system("CPT");
  v1::ValueSetFilter* f = em.mutable_includes(0)->add_filters();
  f->set_property("concept");
  f->set_op("is-a");
  f->set_value("EVALUATION_MANAGEMENT");
  EXPECT_EQ(reader->CreateValueSet(em).status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(admin->CreateValueSet(em).ok());
  v1::ExpandValueSetRequest expand;
  expand.set_url("urn:example:vs:em");
  auto withheld = reader->ExpandValueSet(expand);
  ASSERT_TRUE(withheld.ok()) << withheld.status();
  ASSERT_GT(withheld->concepts_size(), 0);
  for (const auto& e : withheld->concepts()) {
    EXPECT_TRUE(e.concept().text_withheld());
    EXPECT_EQ(e.concept().display(), "");
  }
  auto shown = coder->ExpandValueSet(expand);
  ASSERT_TRUE(shown.ok()) << shown.status();
  EXPECT_NE(shown->concepts(0).concept().display(), "");
  expand.set_filter("office");
  auto filtered = reader->ExpandValueSet(expand);
  EXPECT_EQ(filtered.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(filtered.status().message().find("license:CPT"), std::string::npos)
      << filtered.status();
  EXPECT_TRUE(coder->ExpandValueSet(expand).ok());
  // The CLI says so.
  std::string out;
  RunCommand(kCli + " --server=" + server.address() + " lookup --system=CPT 99213", &out);
  EXPECT_NE(out.find("99213  [text withheld: licensed"), std::string::npos) << out;
}

}  // namespace
}  // namespace codebook::testing

namespace codebook::testing {
namespace {

// A replica of a primary with a tokens file copies CPT only with a credential that holds the
// licence: without one it says what it needs and stays out of sync; with one it copies all.
TEST_F(AuthTest, ReplicaNeedsTheLicenceToCopyCpt) {
  const std::string replica_token = "replica-token-0123456789abcdef";
  WriteTokens({{kAdminToken, "read,admin", "loader"},
               {replica_token, "read,license:CPT", "replica"}});
  TestServer primary("", {"--tokens=" + dir_ + "/tokens"});
  ASSERT_TRUE(ImportFiles(primary.NewClient(kAdminToken).get(), kSample, kSampleCpt).ok());

  TestServer anonymous("", {"--follow=" + primary.address()});
  const std::string log = anonymous.dir() + "/server.log";
  std::string text;
  for (int i = 0; i < 300 && text.find("withholds CPT") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_NE(text.find("the primary withholds CPT's text from this replica: give the replica a "
                      "credential whose scopes include its licence"),
            std::string::npos)
      << text;
  auto channel = grpc::CreateChannel(anonymous.address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(HealthStatus(channel, "codebook.v1.Replica"), 2);
  EXPECT_EQ(anonymous.NewClient()->Lookup("CPT", "99213").status().code(), absl::StatusCode::kNotFound);

  std::ofstream(dir_ + "/replica.token") << replica_token << "\n";
  TestServer licensed("", {"--follow=" + primary.address(),
                           "--follow_token_file=" + dir_ + "/replica.token"});
  auto licensed_channel = grpc::CreateChannel(licensed.address(), grpc::InsecureChannelCredentials());
  for (int i = 0; i < 300 && HealthStatus(licensed_channel, "codebook.v1.Replica") != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(HealthStatus(licensed_channel, "codebook.v1.Replica"), 1);
  auto found = licensed.NewClient()->Lookup("CPT", "99213");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->concept().display().empty());

  // A token file that is missing or empty stops the replica at start.
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --db=" + dir_ + "/x --follow=127.0.0.1:1 "
                       "--follow_token_file=" + dir_ + "/missing.token", &out), 2);
  EXPECT_NE(out.find("--follow_token_file:"), std::string::npos) << out;
  std::ofstream(dir_ + "/empty.token") << "\n";
  EXPECT_EQ(RunCommand(kCodebookd + " --plaintext --db=" + dir_ + "/x --follow=127.0.0.1:1 "
                       "--follow_token_file=" + dir_ + "/empty.token", &out), 2);
  EXPECT_NE(out.find("has no token on its first line"), std::string::npos) << out;
}

}  // namespace
}  // namespace codebook::testing
