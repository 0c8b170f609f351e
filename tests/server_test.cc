// Integration tests: a real codebookd on a real RocksDB in a fresh temporary folder, driven
// through the C++ client SDK and the codebook CLI, on the repo's sample releases.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <fstream>
#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include <sstream>

#include "importers/importers.h"
#include "nlohmann/json.hpp"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {


const std::vector<ReleaseFile>& SampleReleases() {
  static const std::vector<ReleaseFile> files = {
      {"HCPCS", "2017", "2017-01-01", "hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt"},
      {"HCPCS", "2018", "2018-01-01", "hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt"},
      {"HCPCS", "2019", "2019-01-01", "hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt"},
      {"ICD10CM", "FY2021-01", "2021-01-01", "icd10cm-order",
       "/icd10cm/2021-01/icd10cm-order-Jan-2021.txt"},
      {"ICD10CM", "FY2022", "2021-10-01", "icd10cm-order", "/icd10cm/2022/icd10cm-order-2022.txt"},
      {"ICD10CM", "FY2022-04", "2022-04-01", "icd10cm-order",
       "/icd10cm/2022-04/icd10cm_order_2022.txt"},
      {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order", "/icd10cm/2024/icd10cm-order-2024.txt"},
      {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order", "/icd10cm/2025/icd10cm_order_2025.txt"},
  };
  return files;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    ASSERT_TRUE(server_->Alive());
    auto client = server_->NewClient();
    absl::Status s = ImportFiles(client.get(), kSample, SampleReleases());
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { client_ = server_->NewClient(); }

  // Checksums of every published release, to prove that failures change nothing.
  std::map<std::string, std::string> Checksums() {
    std::map<std::string, std::string> out;
    for (const char* system : {"ICD10CM", "HCPCS"}) {
      auto releases = client_->ListReleases(system);
      EXPECT_TRUE(releases.ok());
      for (const auto& r : *releases) out[r.system() + " " + r.version()] = r.checksum();
    }
    return out;
  }
  std::string Cli(const std::string& args, int* rc) { return server_->RunCli(args, rc); }

  static TestServer* server_;
  std::unique_ptr<Client> client_;
};
TestServer* ServerTest::server_ = nullptr;

TEST_F(ServerTest, ListsSystemsAndReleasesInOrder) {
  auto systems = client_->ListCodeSystems();
  ASSERT_TRUE(systems.ok());
  std::vector<std::string> ids;
  for (const auto& s : *systems) ids.push_back(s.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"CPT", "HCPCS", "ICD10CM", "ICD10CM-INDEX",
                                           "ICD10CM-TABULAR", "ICD10PCS", "ICD10PCS-INDEX",
                                           "ICD10PCS-TABLES"}));
  auto releases = client_->ListReleases("ICD10CM");
  ASSERT_TRUE(releases.ok());
  ASSERT_EQ(releases->size(), 5u);
  for (size_t i = 0; i < releases->size(); ++i) {
    EXPECT_EQ((*releases)[i].sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ((*releases)[i].state(), v1::RELEASE_STATE_PUBLISHED);
    EXPECT_EQ((*releases)[i].checksum().size(), 71u);
  }
  EXPECT_EQ((*releases)[2].version(), "FY2022-04");
  EXPECT_EQ((*releases)[2].counts().billable_added(), 3);
  EXPECT_EQ((*releases)[2].counts().billable_removed(), 1);
  EXPECT_EQ((*releases)[2].counts().headers_added(), 2);
}

TEST_F(ServerTest, LookupNamesTheAnsweringRelease) {
  auto r = client_->Lookup("ICD10CM", "E119");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->concept().code(), "E11.9");
  EXPECT_EQ(r->release().version(), "FY2025");
  EXPECT_EQ(r->release().sequence(), 5);
  r = client_->Lookup("ICD10CM", "Z28.310", Selector::DateOfService("2022-05-01"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->release().version(), "FY2022-04");
  EXPECT_EQ(r->concept().parent(), "Z28.31");
  r = client_->Lookup("HCPCS", "G0506", Selector::DateOfService("2019-03-01"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->release().version(), "2019");
  r = client_->Lookup("ICD10CM", "T40.7X1A", Selector::Version("FY2022"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "code T40.7X1A was deleted in ICD10CM FY2022 (effective 2021-10-01)");
}

TEST_F(ServerTest, DateOfServiceEdges) {
  auto v = [&](const std::string& system, const std::string& code, const std::string& date) {
    auto r = client_->ValidateCode(system, code, date);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ValidateCodeResponse();
  };
  EXPECT_EQ(v("ICD10CM", "Z28.310", "2022-03-31").outcome(), v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE);
  EXPECT_TRUE(v("ICD10CM", "Z28.310", "2022-04-01").valid());
  EXPECT_TRUE(v("ICD10CM", "T81.32XA", "2024-09-30").valid());
  auto deleted = v("ICD10CM", "T81.32XA", "2024-10-01");
  EXPECT_EQ(deleted.outcome(), v1::VALIDATION_OUTCOME_DELETED);
  EXPECT_EQ(deleted.deleted_in().version(), "FY2025");
  EXPECT_TRUE(v("HCPCS", "G0505", "2017-12-31").valid());
  EXPECT_EQ(v("HCPCS", "G0505", "2018-01-01").outcome(), v1::VALIDATION_OUTCOME_TERMINATED);
  auto header = v("ICD10CM", "E11", "2024-11-01");
  EXPECT_EQ(header.outcome(), v1::VALIDATION_OUTCOME_NOT_BILLABLE);
  EXPECT_FALSE(header.valid());
  EXPECT_EQ(header.concept().code(), "E11");
}

TEST_F(ServerTest, BadRequestsGetClearStatusesAndChangeNothing) {
  auto before = Checksums();
  auto r = client_->Lookup("ICD9", "E119");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("unknown code system 'ICD9'"), std::string::npos);
  r = client_->Lookup("ICD10CM", "E119", Selector::Version("FY2019"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "ICD10CM has no release FY2019");
  r = client_->Lookup("ICD10CM", "E11..9");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->BatchLookup("ICD10CM", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<std::string> many(10001, "E119");
  auto big = client_->BatchLookup("ICD10CM", many);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("limit is 10000"), std::string::npos);
  std::vector<std::string> limit(10000, "E119");
  EXPECT_TRUE(client_->BatchLookup("ICD10CM", limit).ok());
  // Admin errors.
  EXPECT_EQ(client_->CreateRelease("ICD10CM", "FY2025", "2024-10-01").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client_->PublishRelease("ICD10CM", "FY2025").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client_->CreateRelease("ICD10CM", "FY2026", "2025-13-01").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(client_->Ping().ok());
  EXPECT_EQ(Checksums(), before);
}

TEST_F(ServerTest, OutOfOrderOrInvalidUploadsLeaveNothingBehind) {
  auto before = Checksums();
  v1::Concept c;
  c.set_code("E11.9");
  c.set_display("text");
  // Older than the latest published release: refused at publish, discarded by the SDK.
  auto r = client_->ImportRelease("ICD10CM", "FY2020", "2019-10-01", "", {c}, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  // A malformed concept and a duplicate code: the upload is refused whole.
  v1::Concept bad = c;
  bad.set_code("not a code");
  r = client_->ImportRelease("ICD10CM", "FY2026", "2025-10-01", "", {c, bad}, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a valid ICD10CM code"), std::string::npos);
  r = client_->ImportRelease("ICD10CM", "FY2026", "2025-10-01", "", {c, c}, true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // A stream mixing two releases.
  ASSERT_TRUE(client_->CreateRelease("ICD10CM", "FY2026", "2025-10-01").ok());
  {
    grpc::ClientContext ctx;
    v1::UploadConceptsResponse resp;
    auto writer = client_->admin()->UploadConcepts(&ctx, &resp);
    v1::UploadConceptsRequest m1, m2;
    m1.set_system("ICD10CM");
    m1.set_version("FY2026");
    *m1.add_concepts() = c;
    m2 = m1;
    m2.set_version("FY2027");
    writer->Write(m1);
    writer->Write(m2);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A cancelled stream stores nothing.
  {
    grpc::ClientContext ctx;
    v1::UploadConceptsResponse resp;
    auto writer = client_->admin()->UploadConcepts(&ctx, &resp);
    v1::UploadConceptsRequest m;
    m.set_system("ICD10CM");
    m.set_version("FY2026");
    *m.add_concepts() = c;
    writer->Write(m);
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  auto staged = client_->GetRelease("ICD10CM", Selector::Version("FY2026"));
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->state(), v1::RELEASE_STATE_STAGED);
  EXPECT_EQ(staged->staged_concepts(), 0);
  // Staged releases are invisible to reads.
  EXPECT_EQ(client_->Lookup("ICD10CM", "E119", Selector::Version("FY2026")).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(client_->DiscardRelease("ICD10CM", "FY2026").ok());
  EXPECT_EQ(client_->GetRelease("ICD10CM", Selector::Version("FY2026")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->GetRelease("ICD10CM", Selector::Version("FY2020")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Checksums(), before);
}

TEST_F(ServerTest, CliImportOfBadFilesNamesFileAndLineAndWritesNothing) {
  auto before = Checksums();
  char tmpl[] = "/tmp/codebook-cli-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ifstream in(kSample + "/icd10cm/2025/icd10cm_order_2025.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string good = ss.str();
  std::string truncated = dir + "/truncated.txt", garbled = dir + "/garbled.txt";
  std::ofstream(truncated, std::ios::binary) << good.substr(0, good.size() / 2);
  std::string g = good;
  g.replace(g.find("00005 "), 6, "0000X ");
  std::ofstream(garbled, std::ios::binary) << g;
  int rc;
  for (const std::string& path : {truncated, garbled}) {
    std::string out = Cli("import --system=ICD10CM --version=FY2026 --effective=2025-10-01 "
                          "--format=icd10cm-order --publish " + path, &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find(path + ":"), std::string::npos) << out;
  }
  std::string out = Cli("import --system=ICD10CM --version=FY2026 --effective=2025-10-01 "
                        "--format=icd10cm-order --publish /no/such/file.txt", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("/no/such/file.txt: no such file"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
  EXPECT_EQ(client_->GetRelease("ICD10CM", Selector::Version("FY2026")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Checksums(), before);
  EXPECT_TRUE(server_->Alive());
}

// LookupStream answers each batch as BatchLookup does, in order, while later batches arrive;
// the basic view carries the code, display, kind, billable flag and status only; a bad batch
// ends the stream with its error after the answers before it.
TEST_F(ServerTest, LookupStreamAnswersEachBatchAsBatchLookupDoes) {
  const std::vector<std::string> codes = {"E11.9", "e119", "not a code", "Z99.99", "A00.0",
                                          "E11",   "A00",  "E11.9",      "S72.001A"};
  for (int batch : {1, 2, 4, 100}) {
    std::vector<v1::BatchLookupResponse> answers;
    absl::Status s = client_->LookupStream(
        "ICD10CM", Selector::Version("FY2024"), codes, batch,
        [&](const v1::BatchLookupResponse& r) { answers.push_back(r); });
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(answers.size(), (codes.size() + batch - 1) / batch) << batch;
    for (size_t k = 0; k < answers.size(); ++k) {
      std::vector<std::string> slice(codes.begin() + k * batch,
                                     codes.begin() + std::min(codes.size(), (k + 1) * batch));
      auto expected = client_->BatchLookup("ICD10CM", slice, Selector::Version("FY2024"));
      ASSERT_TRUE(expected.ok()) << expected.status();
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(answers[k], *expected))
          << "batch size " << batch << ", answer " << k << ": " << answers[k].ShortDebugString();
    }
  }
  // The basic view.
  std::vector<v1::BatchLookupResponse> basic;
  ASSERT_TRUE(client_
                  ->LookupStream("ICD10CM", Selector::Version("FY2024"), {"E11.9"}, 1,
                                 [&](const v1::BatchLookupResponse& r) { basic.push_back(r); },
                                 v1::CONCEPT_VIEW_BASIC)
                  .ok());
  auto full = client_->Lookup("ICD10CM", "E11.9", Selector::Version("FY2024"));
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(basic.size(), 1u);
  const v1::Concept& b = basic[0].results(0).concept();
  EXPECT_EQ(b.code(), "E11.9");
  EXPECT_EQ(b.display(), full->concept().display());
  EXPECT_EQ(b.billable(), full->concept().billable());
  EXPECT_EQ(b.status(), full->concept().status());
  EXPECT_EQ(b.kind(), full->concept().kind());
  EXPECT_EQ(b.parent(), "");
  EXPECT_EQ(b.designations_size(), 0);
  EXPECT_GT(full->concept().designations_size(), 0);
  // The same view for one code.
  v1::LookupRequest light;
  light.set_system("ICD10CM");
  light.set_code("e119");
  *light.mutable_selector() = Selector::Version("FY2024");
  light.set_view(v1::CONCEPT_VIEW_BASIC);
  {
    grpc::ClientContext ctx;
    v1::LookupResponse one;
    ASSERT_TRUE(client_->terminology()->Lookup(&ctx, light, &one).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(one.concept(), b))
        << one.ShortDebugString();
    EXPECT_EQ(one.release().version(), "FY2024");
    EXPECT_FALSE(one.has_tabular());
  }
  {
    grpc::ClientContext ctx;
    v1::LookupResponse one;
    light.set_view(static_cast<v1::ConceptView>(9));
    EXPECT_EQ(client_->terminology()->Lookup(&ctx, light, &one).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A bad batch: the answers before it stand, then its error ends the stream.
  {
    grpc::ClientContext ctx;
    auto stream = client_->terminology()->LookupStream(&ctx);
    v1::BatchLookupRequest good, empty, unknown;
    good.set_system("ICD10CM");
    good.add_codes("E11.9");
    empty.set_system("ICD10CM");
    unknown.set_system("NOSUCH");
    unknown.add_codes("E11.9");
    ASSERT_TRUE(stream->Write(good));
    stream->Write(empty);
    stream->Write(good);
    stream->WritesDone();
    v1::BatchLookupResponse r;
    int read = 0;
    while (stream->Read(&r)) read++;
    grpc::Status s = stream->Finish();
    EXPECT_EQ(read, 1);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find("no codes"), std::string::npos) << s.error_message();
  }
  absl::Status s = client_->LookupStream("NOSUCH", {}, {"E11.9"}, 1,
                                         [](const v1::BatchLookupResponse&) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(server_->Alive());
}

TEST_F(ServerTest, CliCommandsAndExitCodes) {
  int rc;
  std::string out = Cli("lookup --system=ICD10CM --version=FY2019 E11.9", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("ICD10CM has no release FY2019"), std::string::npos) << out;
  out = Cli("lookup --system=ICD10CM --version=FY2022 E119", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("E11.9  Type 2 diabetes mellitus without complications"), std::string::npos);
  out = Cli("validate --system=ICD10CM --date=2024-11-01 T81.32XA E11", &rc);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("deleted in ICD10CM FY2025"), std::string::npos) << out;
  out = Cli("--json lookup --system=HCPCS --date=2019-03-01 G0506", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("{\"release\":{\"system\":\"HCPCS\",\"version\":\"2019\"", 0), 0u) << out;
  out = Cli("--json validate --system=ICD10CM --date=2024-09-30 T81.32XA", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"valid\":true"), std::string::npos) << out;
  out = Cli("lookup --system=ICD10CM --bogus E119", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown flag --bogus"), std::string::npos) << out;
  RunCommand("printf 'G0506 LT\\nA9999 # comment\\nbad!\\n' | " + kCli + " --server=" +
                 server_->address() + " batch --system=HCPCS --version=2019",
             &out);
  rc = 0;
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("G0506\tfound\tG0506"), std::string::npos) << out;
  EXPECT_NE(out.find("A9999\tunknown"), std::string::npos) << out;
  EXPECT_NE(out.find("bad!\tmalformed"), std::string::npos) << out;
  EXPECT_NE(out.find("2 of 4 codes found"), std::string::npos) << out;
  // Importing a published release again with --skip-existing is a no-op.
  out = Cli("import --system=ICD10CM --version=FY2025 --effective=2024-10-01 "
            "--format=icd10cm-order --publish --skip-existing " + kSample +
            "/icd10cm/2025/icd10cm_order_2025.txt", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("already published"), std::string::npos) << out;
  std::string unreachable;
  rc = RunCommand(kCli + " --server=127.0.0.1:1 --timeout=2 systems", &unreachable);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(unreachable.find("cannot reach the server"), std::string::npos) << unreachable;
}

TEST_F(ServerTest, ExportedReleaseRebuildsWithTheSameChecksum) {
  for (const auto& [system, version] : std::vector<std::pair<std::string, std::string>>{
           {"ICD10CM", "FY2022-04"}, {"HCPCS", "2018"}}) {
    v1::ExportReleaseRequest req;
    req.set_system(system);
    req.mutable_selector()->set_version(version);
    req.set_page_size(3);
    v1::Release exported;
    std::vector<v1::Concept> concepts;
    std::string last;
    ASSERT_TRUE(client_->ExportRelease(req, [&](const v1::ExportReleaseResponse& m) {
      if (m.has_release()) exported = m.release();
      for (const auto& c : m.concepts()) {
        std::string key = c.code();
        key.erase(std::remove(key.begin(), key.end(), '.'), key.end());
        EXPECT_LT(last, key);  // code order
        last = key;
        concepts.push_back(c);
      }
      return true;
    }).ok());
    EXPECT_EQ(static_cast<int64_t>(concepts.size()), exported.counts().total());
    // Rebuild it on another server: the checksum proves the copy.
    TestServer other;
    auto copy = other.NewClient()->ImportRelease(system, version, exported.effective_date(), "",
                                                 concepts, true);
    ASSERT_TRUE(copy.ok()) << copy.status();
    EXPECT_EQ(copy->checksum(), exported.checksum()) << system << " " << version;
  }
}

// A code system registered through the API (or the CLI) takes releases and answers like a
// built-in one, is listed with its definition, and keeps its definition: the same one again is
// no change, another one under its id or URI is refused, and a malformed one names its field.
TEST(CodeSystemApiTest, RegisteredThroughTheApiAndTheCliAndUsedLikeABuiltInOne) {
  TestServer server;
  auto client = server.NewClient();
  v1::CodeSystem pos;
  pos.set_id("POS");
  pos.set_uri("https://www.cms.gov/medicare/coding-billing/place-of-service-codes");
  pos.set_title("Place of Service Codes");
  pos.set_publisher("CMS");
  pos.set_code_pattern("[0-9]{2}");
  auto created = client->CreateCodeSystem(pos);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created());
  EXPECT_EQ(created->system().id(), "POS");
  EXPECT_FALSE(created->system().built_in());
  EXPECT_EQ(created->system().code_pattern(), "[0-9]{2}");
  auto again = client->CreateCodeSystem(pos);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created());

  v1::CodeSystem changed = pos;
  changed.set_title("POS");
  EXPECT_EQ(client->CreateCodeSystem(changed).status().code(), absl::StatusCode::kAlreadyExists);
  v1::CodeSystem bad = pos;
  bad.set_id("POS2");
  bad.set_uri("urn:example:pos2");
  bad.set_code_pattern("[0-9");
  auto refused = client->CreateCodeSystem(bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("code system POS2: the code pattern '[0-9' is not a "
                                            "regular expression"),
            std::string::npos)
      << refused.status();
  bad.set_code_pattern("");
  bad.set_uri("http://hl7.org/fhir/sid/icd-10-cm");
  EXPECT_EQ(client->CreateCodeSystem(bad).status().message(),
            "code system POS2: the URI is built-in system ICD10CM's");

  // Releases and reads, as for any system; codes are checked with the pattern.
  std::vector<v1::Concept> concepts(2);
  concepts[0].set_code("11");
  concepts[0].set_display("Office");
  concepts[1].set_code("12");
  concepts[1].set_display("Home");
  auto imported = client->ImportRelease("POS", "2025", "2025-01-01", "", concepts, true);
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto lookup = client->Lookup("POS", "12");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->concept().display(), "Home");
  EXPECT_EQ(client->Lookup("POS", "1").status().code(), absl::StatusCode::kInvalidArgument);

  // The CLI registers too, and lists every system with its kind.
  int rc = 0;
  std::string out = server.RunCli(
      "codesystem create --id=TOS --uri=urn:example:type-of-service --title='Type of service' "
      "--code-pattern='[0-9A-Z]' --hierarchy-meaning=is-a",
      &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "registered TOS (urn:example:type-of-service): Type of service\n"
                 "  codes match [0-9A-Z]\n");
  out = server.RunCli("codesystem create --id=TOS --uri=urn:example:type-of-service "
                      "--title='Type of service' --code-pattern='[0-9A-Z]' "
                      "--hierarchy-meaning=is-a",
                      &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("already registered, unchanged: TOS", 0), 0u) << out;
  out = server.RunCli("codesystem create --id=X --title=x", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("codesystem create needs --id, --uri and --title"), std::string::npos) << out;
  out = server.RunCli("codesystem create --id=X --uri=urn:x --title=x --hierarchy-meaning=up",
                      &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("hierarchy meaning 'up'"), std::string::npos) << out;

  auto systems = client->ListCodeSystems();
  ASSERT_TRUE(systems.ok()) << systems.status();
  ASSERT_EQ(systems->size(), 10u);
  EXPECT_TRUE((*systems)[0].built_in());
  EXPECT_EQ((*systems)[8].id(), "POS");
  EXPECT_EQ((*systems)[8].published_releases(), 1);
  EXPECT_EQ((*systems)[9].id(), "TOS");
  EXPECT_EQ((*systems)[9].hierarchy_meaning(), "is-a");
  EXPECT_FALSE((*systems)[9].built_in());

  // The registry survives a restart.
  server.Restart();
  client = server.NewClient();
  auto lookup_after = client->Lookup("POS", "11");
  ASSERT_TRUE(lookup_after.ok()) << lookup_after.status();
  EXPECT_EQ(lookup_after->concept().display(), "Office");
}

// `import --format=fhir-codesystem`: the system is registered from the resource (url, title,
// case sensitivity, hierarchy meaning), versions come from the resource, nesting, designations
// with languages, properties and status reach the answers, and a bad resource names its JSON
// path and leaves nothing behind.
TEST(FhirImportTest, ACodeSystemResourceRegistersItsSystemAndBecomesAReleasePerVersion) {
  TestServer server;
  int rc = 0;
  std::string out = server.RunCli(
      "import --format=fhir-codesystem --publish " + kSample + "/fhir/settings-1.json", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("registered code system settings "
                     "(https://codebook.example/fhir/CodeSystem/settings)"),
            std::string::npos)
      << out;
  out = server.RunCli(
      "import --format=fhir-codesystem --publish " + kSample + "/fhir/settings-2.json", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("registered"), std::string::npos) << out;  // found by its url

  auto client = server.NewClient();
  auto systems = client->ListCodeSystems();
  ASSERT_TRUE(systems.ok()) << systems.status();
  const v1::CodeSystem& settings = systems->back();
  EXPECT_EQ(settings.id(), "settings");
  EXPECT_EQ(settings.title(), "Codebook sample: care settings");
  EXPECT_TRUE(settings.case_sensitive());
  EXPECT_EQ(settings.hierarchy_meaning(), "is-a");
  EXPECT_EQ(settings.published_releases(), 2);
  EXPECT_EQ(settings.current_version(), "2.0.0");

  auto v1_release = client->GetRelease("settings", Selector::Version("1.0.0"));
  ASSERT_TRUE(v1_release.ok()) << v1_release.status();
  EXPECT_EQ(v1_release->effective_date(), "2024-01-01");
  EXPECT_EQ(v1_release->counts().total(), 7);
  EXPECT_EQ(v1_release->counts().total_active(), 6);  // "home" is retired
  auto ward = client->Lookup("settings", "ward", Selector::DateOfService("2024-06-01"));
  ASSERT_TRUE(ward.ok()) << ward.status();
  EXPECT_EQ(ward->concept().parent(), "inpatient");
  ASSERT_EQ(ward->concept().designations_size(), 2);
  EXPECT_EQ(ward->concept().designations(0).language(), "de");
  EXPECT_EQ(ward->concept().designations(0).value(), "Krankenhausstation");
  EXPECT_EQ(ward->concept().designations(1).use(), "http://snomed.info/sct|900000000000013009");
  EXPECT_EQ(ward->concept().designations(1).language(), "en");
  EXPECT_EQ(ward->concept().properties().at("beds"), "30");
  auto group = client->Lookup("settings", "inpatient");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->concept().kind(), v1::CONCEPT_KIND_HEADER);
  // Case-sensitive: "WARD" is another code, which no release has.
  EXPECT_EQ(client->Lookup("settings", "WARD").status().code(), absl::StatusCode::kNotFound);
  // Version 2.0.0 deleted "home": the release diff says so.
  out = server.RunCli("diff --system=settings --from=1.0.0 --to=2.0.0", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("home\tdeleted"), std::string::npos) << out;
  EXPECT_NE(out.find("school\tadded"), std::string::npos) << out;
  EXPECT_NE(out.find("icu\tdisplay_changed"), std::string::npos) << out;

  // A bad resource: the JSON path in the message, no system registered, no release.
  const std::string bad = server.dir() + "/bad.json";
  std::ofstream(bad) << R"({"resourceType": "CodeSystem", "url": "urn:example:bad",
      "content": "complete", "concept": [{"code": "a", "designation": [{"lang": "de"}]}]})";
  out = server.RunCli("import --format=fhir-codesystem --publish " + bad, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("$.concept[0].designation[0].lang: unknown element"), std::string::npos)
      << out;
  systems = client->ListCodeSystems();
  ASSERT_TRUE(systems.ok());
  EXPECT_EQ(systems->back().id(), "settings");
  // An id taken by another URI: the CLI says how to choose another.
  std::ofstream(bad) << R"({"resourceType": "CodeSystem", "url": "urn:other:settings",
      "content": "complete", "concept": [{"code": "a"}]})";
  out = server.RunCli("import --format=fhir-codesystem --publish " + bad, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("give --system=ID"), std::string::npos) << out;
  out = server.RunCli("import --format=fhir-codesystem --publish --system=settings2 " + bad, &rc);
  EXPECT_NE(rc, 0);  // --system names a system that must exist
  EXPECT_NE(out.find("settings2"), std::string::npos) << out;
}

// Issue 13: every setup CodeSystem and ValueSet of the HL7 suite's general-mode suites imports
// through the CLI. Each suite is loaded into a server of its own, as the suite's runner does
// (two suites define the same ValueSet url and version with other codes). Prints a table of
// counts: resources, concepts, and how many of the value sets expand today.
TEST(FhirImportTest, EverySetupResourceOfTheHl7GeneralSuitesImports) {
  const std::string tests = std::string(CODEBOOK_FHIR_TX_TESTS_DIR) + "/tests";
  if (!std::filesystem::exists(tests + "/test-cases.json")) {
    GTEST_SKIP() << "HL7 test suite not present: " << tests;
  }
  nlohmann::json cases = nlohmann::json::parse(std::ifstream(tests + "/test-cases.json"));
  std::set<std::string> code_system_files, value_set_files;
  int suites = 0;
  std::cout << absl::StrFormat("%-26s %5s %8s %5s %9s\n", "suite", "CS", "concepts", "VS",
                               "expanded");
  for (const auto& suite : cases["suites"]) {
    if (suite.value("mode", "general") != "general" || suite["setup"].empty()) continue;
    ++suites;
    TestServer server;
    int rc = 0, cs = 0, vs = 0, expanded = 0;
    int64_t concepts = 0;
    std::vector<std::string> value_sets;
    for (const std::string f : suite["setup"]) {
      nlohmann::json doc = nlohmann::json::parse(std::ifstream(tests + "/" + f));
      const std::string path = tests + "/" + f;
      if (doc["resourceType"] == "CodeSystem") {
        std::string out = server.RunCli("import --format=fhir-codesystem --publish " + path, &rc);
        EXPECT_EQ(rc, 0) << suite["name"] << " " << f << ": " << out;
        code_system_files.insert(f);
        ++cs;
      } else if (doc["resourceType"] == "ValueSet") {
        std::string out = server.RunCli("valueset create --file=" + path, &rc);
        EXPECT_EQ(rc, 0) << suite["name"] << " " << f << ": " << out;
        value_set_files.insert(f);
        value_sets.push_back(doc["url"]);
        ++vs;
      }
    }
    auto client = server.NewClient();
    auto systems = client->ListCodeSystems();
    ASSERT_TRUE(systems.ok()) << systems.status();
    for (const v1::CodeSystem& s : *systems) {
      if (s.built_in()) continue;
      auto releases = client->ListReleases(s.id());
      ASSERT_TRUE(releases.ok()) << releases.status();
      for (const v1::Release& r : *releases) concepts += r.counts().total();
    }
    for (const std::string& url : value_sets) {
      v1::ExpandValueSetRequest req;
      req.set_url(url);
      expanded += client->ExpandValueSet(req).ok();
    }
    std::cout << absl::StrFormat("%-26s %5d %8d %5d %9d\n", std::string(suite["name"]), cs,
                                 concepts, vs, expanded);
  }
  std::cout << absl::StrFormat("%d suites; %d distinct CodeSystem files, %d ValueSet files\n",
                               suites, code_system_files.size(), value_set_files.size());
  EXPECT_EQ(code_system_files.size(), 41u);  // measured in the suite at commit 888e84d
  EXPECT_EQ(value_set_files.size(), 110u);
}

// ICD-10-CM value sets by Tabular block and chapter: hierarchy filters take a block or chapter
// above the categories, and "chapter" and "block" filter by them (the sample's Tabular).
TEST(ValueSetTabularTest, BlocksAndChaptersOfTheTabularList) {
  TestServer server;
  auto client = server.NewClient();
  absl::Status loaded = ImportFiles(
      client.get(), kSample,
      {SampleReleases()[6],
       {"ICD10CM-TABULAR", "FY2024", "2023-10-01", "icd10cm-tabular",
        "/icd10cm/2024/icd10cm_tabular_2024.xml"}});
  ASSERT_TRUE(loaded.ok()) << loaded;
  auto codes = [&](const std::string& url, const std::vector<v1::ValueSetFilter>& filters) {
    v1::ValueSet vs;
    vs.set_url(url);
    vs.set_version("1");
    v1::ValueSetRule* rule = vs.add_includes();
    rule->set_system("ICD10CM");
    for (const auto& f : filters) *rule->add_filters() = f;
    auto created = client->CreateValueSet(vs);
    EXPECT_TRUE(created.ok()) << created.status();
    v1::ExpandValueSetRequest req;
    req.set_url(url);
    req.set_date_of_service("2024-01-01");
    std::vector<std::string> out;
    auto r = client->ExpandValueSet(req);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      for (const auto& e : r->concepts()) out.push_back(e.concept().code());
    }
    return out;
  };
  auto filter = [](const std::string& p, const std::string& op, const std::string& v) {
    v1::ValueSetFilter f;
    f.set_property(p);
    f.set_op(op);
    f.set_value(v);
    return f;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(codes("urn:vs:block", {filter("concept", "descendent-of", "E08-E13")}),
            (V{"E11", "E11.6", "E11.65", "E11.9"}));
  EXPECT_EQ(codes("urn:vs:block-children", {filter("concept", "child-of", "e08-e13")}),
            (V{"E11"}));
  EXPECT_EQ(codes("urn:vs:chapter-tree", {filter("concept", "is-a", "CHAPTER-4")}),
            (V{"E11", "E11.6", "E11.65", "E11.9"}));
  EXPECT_EQ(codes("urn:vs:block-prop",
                  {filter("block", "=", "T80-T88"), filter("billable", "=", "true")}),
            (V{"T81.32XA", "T81.32XD"}));
  EXPECT_EQ(codes("urn:vs:chapter-prop", {filter("chapter", "in", "9,10")}),
            (V{"I10", "J45", "J45.9", "J45.90", "J45.909"}));
  // A block of the wrong shape is refused when the value set is created.
  v1::ValueSet bad;
  bad.set_url("urn:vs:bad-block");
  bad.set_version("1");
  bad.add_includes()->set_system("ICD10CM");
  *bad.mutable_includes(0)->add_filters() = filter("concept", "is-a", "E08-");
  EXPECT_EQ(client->CreateValueSet(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// Value sets end to end: created from a FHIR ValueSet through the CLI, listed, expanded for a
// date of service in pages and with a text filter, and checked code by code with reasons.
// The sample's T81.32XA is replaced by T81.320A/T81.328A in FY2025.
TEST_F(ServerTest, ValueSetsAreCreatedExpandedByDateAndCheckedWithReasons) {
  const std::string file = server_->dir() + "/wounds.json";
  std::ofstream(file) << R"({"resourceType": "ValueSet", "url": "urn:example:vs:wounds",
    "version": "1", "title": "Wound disruption", "status": "active",
    "compose": {
      "include": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                   "filter": [{"property": "concept", "op": "is-a", "value": "T81.3"}]},
                  {"system": "ICD10CM", "concept": [{"code": "E11.9"}]}],
      "exclude": [{"system": "ICD10CM", "concept": [{"code": "T81.32XD"}]}]}})";
  int rc = 0;
  std::string out = Cli("valueset create --file=" + file, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "created urn:example:vs:wounds|1 (2 include, 1 exclude rules)\n");
  out = Cli("import --format=fhir-valueset " + file, &rc);  // the same again: no change
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("already stored with the same rules, unchanged", 0), 0u) << out;
  auto sets = client_->ListValueSets("urn:example:vs:wounds");
  ASSERT_TRUE(sets.ok()) << sets.status();
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ((*sets)[0].includes(0).system(), "ICD10CM");  // stored by id
  EXPECT_EQ((*sets)[0].excludes(0).codes(0), "T8132XD");  // and storage-form codes
  EXPECT_EQ(client_->ListValueSets("urn:none").status().code(), absl::StatusCode::kNotFound);

  // Each date of service expands against its release; pages join up to the whole.
  auto expand = [&](const std::string& date, const std::string& filter, int page) {
    std::vector<std::string> codes;
    v1::ExpandValueSetRequest req;
    req.set_url("urn:example:vs:wounds");
    req.set_date_of_service(date);
    req.set_filter(filter);
    req.set_page_size(page);
    int64_t total = -1;
    do {
      auto r = client_->ExpandValueSet(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      total = r->total();
      for (const auto& e : r->concepts()) codes.push_back(e.concept().code());
      req.set_page_token(r->next_page_token());
    } while (!req.page_token().empty());
    EXPECT_EQ(total, static_cast<int64_t>(codes.size()));
    return codes;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(expand("2023-11-01", "", 2), (V{"E11.9", "T81.3", "T81.32", "T81.32X", "T81.32XA"}));
  EXPECT_EQ(expand("2024-11-01", "", 4),
            (V{"E11.9", "T81.3", "T81.32", "T81.320", "T81.320A", "T81.328", "T81.328A"}));
  EXPECT_EQ(expand("2024-11-01", "t81.32", 100),
            (V{"T81.32", "T81.320", "T81.320A", "T81.328", "T81.328A"}));  // by code
  EXPECT_EQ(expand("2024-11-01", "diab", 100), (V{"E11.9"}));            // by words
  v1::ExpandValueSetRequest req;
  req.set_url("urn:example:vs:wounds");
  req.set_date_of_service("2024-11-01");
  req.set_page_size(2);
  auto first = client_->ExpandValueSet(req);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->releases_size(), 1);
  EXPECT_EQ(first->releases(0).version(), "FY2025");
  req.set_page_token(first->next_page_token());
  req.set_date_of_service("2023-11-01");  // another expansion: the token does not fit
  EXPECT_EQ(client_->ExpandValueSet(req).status().code(), absl::StatusCode::kFailedPrecondition);
  req.set_page_token("e1.x");
  EXPECT_EQ(client_->ExpandValueSet(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_page_token("");
  req.set_date_of_service("2000-01-01");
  EXPECT_EQ(client_->ExpandValueSet(req).status().code(), absl::StatusCode::kFailedPrecondition);
  req.set_date_of_service("");
  req.set_version("2");
  EXPECT_EQ(client_->ExpandValueSet(req).status().code(), absl::StatusCode::kNotFound);

  // Membership, with its reason, through ValidateCode and the CLI.
  v1::ValidateCodeRequest check;
  check.set_system("ICD10CM");
  check.set_value_set("urn:example:vs:wounds|1");
  check.set_date_of_service("2024-11-01");
  check.set_code("T81.32XA");
  auto deleted = client_->ValidateCode(check);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(deleted->valid());
  EXPECT_EQ(deleted->value_set().outcome(), v1::MEMBERSHIP_OUTCOME_DELETED);
  EXPECT_EQ(deleted->value_set().release().version(), "FY2024");
  check.set_code("I10");
  auto outside = client_->ValidateCode(check);
  ASSERT_TRUE(outside.ok()) << outside.status();
  EXPECT_EQ(outside->outcome(), v1::VALIDATION_OUTCOME_NOT_IN_VALUE_SET);
  EXPECT_EQ(outside->value_set().outcome(), v1::MEMBERSHIP_OUTCOME_NOT_IN_DEFINITION);
  check.set_value_set("urn:example:vs:none");
  EXPECT_EQ(client_->ValidateCode(check).status().code(), absl::StatusCode::kNotFound);
  out = Cli("valueset validate --url=urn:example:vs:wounds --date=2023-11-01 T81.32XA "
            "T81.320A T81.3 E11.9",
            &rc);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("T81.32XA   VALID   member"), std::string::npos) << out;
  EXPECT_NE(out.find("T81.320A   INVALID not yet effective"), std::string::npos) << out;
  EXPECT_NE(out.find("T81.3      INVALID header"), std::string::npos) << out;
  out = Cli("valueset expand --url=urn:example:vs:wounds --date=2023-11-01 --limit=2", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ICD10CM\tE11.9\tcode\t"), std::string::npos) << out;
  EXPECT_NE(out.find("5 concepts; releases ICD10CM FY2024"), std::string::npos) << out;
  EXPECT_NE(out.find("# more: --page-token=e1.2."), std::string::npos) << out;

  // A bad definition names its rule; a bad file its JSON path; neither stores anything.
  std::ofstream(file) << R"({"resourceType": "ValueSet", "url": "urn:example:vs:bad",
    "compose": {"include": [{"system": "ICD10CM", "concept": [{"code": "E11.9!"}]}]}})";
  out = Cli("valueset create --file=" + file, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("value set urn:example:vs:bad include[0]: "), std::string::npos) << out;
  std::ofstream(file) << R"({"resourceType": "ValueSet", "url": "urn:example:vs:bad",
    "compose": {"include": [{"system": "ICD10CM", "filter": [{"op": "is-a"}]}]}})";
  out = Cli("valueset create --file=" + file, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("$.compose.include[0].filter[0].property: absent"), std::string::npos)
      << out;
  EXPECT_EQ(client_->ListValueSets("urn:example:vs:bad").status().code(),
            absl::StatusCode::kNotFound);
  // A version never changes.
  std::ofstream(file) << R"({"resourceType": "ValueSet", "url": "urn:example:vs:wounds",
    "version": "1",
    "compose": {"include": [{"system": "ICD10CM", "concept": [{"code": "I10"}]}]}})";
  out = Cli("valueset create --file=" + file, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("a version never changes"), std::string::npos) << out;
}

TEST_F(ServerTest, HealthAndReflectionServicesAnswer) {
  EXPECT_EQ(HealthStatus(server_->NewClient()->channel(), ""), 1);  // SERVING
  EXPECT_EQ(HealthStatus(server_->NewClient()->channel(), "codebook.v1.Terminology"), 1);

  // grpc.reflection.v1alpha.ServerReflection: list_services (field 7) names our services.
  grpc::GenericStub stub(server_->NewClient()->channel());
  grpc::CompletionQueue cq;
  grpc::Status status;
  void* tag;
  bool ok;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  grpc::ClientContext rctx;
  rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub.PrepareCall(&rctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 &cq);
  stream->StartCall(reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice list(std::string("\x3a\x00", 2));
  grpc::ByteBuffer req(&list, 1);
  stream->Write(req, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer reply;
  stream->Read(&reply, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  ASSERT_TRUE(reply.Dump(&slices).ok());
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find("codebook.v1.Terminology"), std::string::npos);
  EXPECT_NE(bytes.find("codebook.v1.ReleaseAdmin"), std::string::npos);
  rctx.TryCancel();
  stream->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(ServerRetractTest, RetractedReleaseStopsAnsweringByDateButStaysReadable) {
  TestServer server;
  auto client = server.NewClient();
  // FY2021-01, FY2022, FY2022-04 of the sample
  absl::Status s = ImportFiles(client.get(), kSample,
                               {SampleReleases()[3], SampleReleases()[4], SampleReleases()[5]});
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(client->RetractRelease("ICD10CM", "FY2022-04", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto r = client->RetractRelease("ICD10CM", "FY2022-04", "published by mistake");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::RELEASE_STATE_RETRACTED);
  EXPECT_EQ(r->retract_reason(), "published by mistake");
  // By date and by default the earlier release answers now.
  auto by_date = client->Lookup("ICD10CM", "E11.9", Selector::DateOfService("2022-05-01"));
  ASSERT_TRUE(by_date.ok());
  EXPECT_EQ(by_date->release().version(), "FY2022");
  auto today = client->Lookup("ICD10CM", "E11.9");
  ASSERT_TRUE(today.ok());
  EXPECT_EQ(today->release().version(), "FY2022");
  EXPECT_EQ(client->ValidateCode("ICD10CM", "Z28.310", "2022-05-01")->outcome(),
            v1::VALIDATION_OUTCOME_UNKNOWN_CODE);
  // By explicit version it still answers, and it is listed with its reason.
  auto explicit_version = client->Lookup("ICD10CM", "Z28.310", Selector::Version("FY2022-04"));
  ASSERT_TRUE(explicit_version.ok()) << explicit_version.status();
  auto list = client->ListReleases("ICD10CM");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->back().state(), v1::RELEASE_STATE_RETRACTED);
  EXPECT_EQ(list->back().retract_reason(), "published by mistake");
  EXPECT_EQ(client->RetractRelease("ICD10CM", "FY2022-04", "twice").status().code(),
            absl::StatusCode::kFailedPrecondition);
  client.reset();
}

// WatchReleases with a value set: from the moment it opens, each publish or retract that
// changes the value set on the release's effective date, with the codes that enter and leave;
// events that do not touch it (another system, a release that changes none of its codes) are not
// sent.
TEST(ServerWatchTest, AValueSetWatchSendsTheEventsThatChangeIt) {
  TestServer server;
  auto client = server.NewClient();
  auto load = [&](int i) {
    absl::Status s = ImportFiles(client.get(), kSample, {SampleReleases()[i]});
    ASSERT_TRUE(s.ok()) << s;
  };
  load(6);  // ICD10CM FY2024
  v1::ValueSet wounds;
  wounds.set_url("urn:example:vs:wounds");
  wounds.set_version("1");
  v1::ValueSetFilter* f = wounds.add_includes()->add_filters();
  wounds.mutable_includes(0)->set_system("ICD10CM");
  f->set_property("concept");
  f->set_op("is-a");
  f->set_value("T81.32");
  ASSERT_TRUE(client->CreateValueSet(wounds).ok());
  absl::Mutex mu;
  std::vector<v1::ReleaseEvent> seen;
  absl::Status watch_status;
  std::thread watcher([&] {
    watch_status = server.NewClient()->WatchValueSet(
        "urn:example:vs:wounds",
        [&](const v1::ReleaseEvent& e) {
          absl::MutexLock l(&mu);
          seen.push_back(e);
          return seen.size() < 2;
        },
        absl::Seconds(30));
  });
  absl::SleepFor(absl::Seconds(1));  // the watch opens and takes its starting point
  auto wait_for = [&](size_t n) {
    auto enough = [&]() { return seen.size() >= n; };
    absl::MutexLock l(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
  };
  load(2);  // HCPCS 2019: another system, no event
  load(7);  // ICD10CM FY2025: T81.32X, T81.32XA, T81.32XD leave, T81.320(A), T81.328(A) enter
  ASSERT_TRUE(wait_for(1));
  ASSERT_TRUE(client->RetractRelease("ICD10CM", "FY2025", "test").ok());
  ASSERT_TRUE(wait_for(2));
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status;
  ASSERT_EQ(seen.size(), 2u);
  auto codes = [](const v1::ReleaseEvent& e) {
    std::vector<std::string> out;
    for (const auto& c : e.value_set().changes()) {
      out.push_back((c.entered() ? "+" : "-") + c.code());
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(seen[0].type(), v1::RELEASE_EVENT_TYPE_PUBLISHED);
  EXPECT_EQ(seen[0].release().version(), "FY2025");
  EXPECT_EQ(seen[0].value_set().url(), "urn:example:vs:wounds");
  EXPECT_EQ(seen[0].value_set().entered(), 4);
  EXPECT_EQ(seen[0].value_set().left(), 3);
  EXPECT_EQ(codes(seen[0]), (V{"+T81.320", "+T81.320A", "+T81.328", "+T81.328A", "-T81.32X",
                               "-T81.32XA", "-T81.32XD"}));
  EXPECT_EQ(seen[1].type(), v1::RELEASE_EVENT_TYPE_RETRACTED);
  EXPECT_EQ(codes(seen[1]), (V{"-T81.320", "-T81.320A", "-T81.328", "-T81.328A", "+T81.32X",
                               "+T81.32XA", "+T81.32XD"}));
  // An unknown value set ends the stream with NOT_FOUND; a system beside it is refused.
  EXPECT_EQ(client->WatchValueSet("urn:none", [](const v1::ReleaseEvent&) { return true; },
                                  absl::Seconds(5))
                .code(),
            absl::StatusCode::kNotFound);
  int rc = 0;
  std::string out = server.RunCli("watch --system=ICD10CM --valueset=urn:example:vs:wounds", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("give --system=S or --valueset=URL"), std::string::npos) << out;
}

TEST(ServerWatchTest, WatchSendsTheBacklogThenLiveEvents) {
  TestServer server;
  auto client = server.NewClient();
  auto load = [&](int i) {
    absl::Status s = ImportFiles(client.get(), kSample, {SampleReleases()[i]});
    ASSERT_TRUE(s.ok()) << s;
  };
  load(3);  // ICD10CM FY2021-01: event 1
  absl::Mutex mu;
  std::vector<v1::ReleaseEvent> seen;
  absl::Status watch_status;
  std::thread watcher([&] {
    auto watch_client = server.NewClient();
    watch_status = watch_client->WatchReleases(
        "ICD10CM", 0,
        [&](const v1::ReleaseEvent& e) {
          absl::MutexLock l(&mu);
          seen.push_back(e);
          return seen.size() < 3;
        },
        absl::Seconds(30));
  });
  auto wait_for = [&](size_t n) {
    auto enough = [&]() { return seen.size() >= n; };
    absl::MutexLock l(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(2));
  };
  ASSERT_TRUE(wait_for(1));  // the backlog
  load(4);                   // FY2022: a live event, within 2 s
  ASSERT_TRUE(wait_for(2));
  ASSERT_TRUE(client->RetractRelease("ICD10CM", "FY2022", "test").ok());
  ASSERT_TRUE(wait_for(3));
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].sequence(), 1);
  EXPECT_EQ(seen[0].release().version(), "FY2021-01");
  EXPECT_EQ(seen[1].type(), v1::RELEASE_EVENT_TYPE_PUBLISHED);
  EXPECT_EQ(seen[1].release().checksum().size(), 71u);
  EXPECT_EQ(seen[2].type(), v1::RELEASE_EVENT_TYPE_RETRACTED);
  // Resuming after the last sequence seen gives nothing new until the next event.
  std::vector<v1::ReleaseEvent> resumed;
  absl::Status s = client->WatchReleases(
      "ICD10CM", 2, [&](const v1::ReleaseEvent& e) {
        resumed.push_back(e);
        return false;
      },
      absl::Seconds(5));
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].sequence(), 3);
  EXPECT_EQ(client->WatchReleases("ICD9", 0, [](const v1::ReleaseEvent&) { return true; },
                                  absl::Seconds(5))
                .code(),
            absl::StatusCode::kNotFound);
  client.reset();
}

// Issue 3: one primary and two read replicas on loopback.
// Supplements reach replicas like any release, bound to theirs: the replica serves the
// Tabular and the Index with the primary's checksums, and answers lookups with the notes.
TEST(ReplicaTest, SupplementsAreFollowedWithTheReleaseTheyAreBoundTo) {
  TestServer primary;
  auto admin = primary.NewClient();
  ASSERT_TRUE(ImportFiles(admin.get(), kSample,
                          {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                            "/icd10cm/2024/icd10cm-order-2024.txt"},
                           {"ICD10CM-TABULAR", "FY2024", "2023-10-01", "icd10cm-tabular",
                            "/icd10cm/2024/icd10cm_tabular_2024.xml"},
                           {"ICD10CM-INDEX", "FY2024", "2023-10-01", "icd10cm-index",
                            "/icd10cm/2024"}})
                  .ok());
  TestServer replica("", {"--follow=" + primary.address()});
  auto client = replica.NewClient();
  for (const char* system : {"ICD10CM", "ICD10CM-TABULAR", "ICD10CM-INDEX"}) {
    std::string want = admin->GetRelease(system, Selector::Version("FY2024"))->checksum();
    bool served = false;
    for (absl::Time start = absl::Now(); !served && absl::Now() - start < absl::Seconds(15);) {
      auto r = client->GetRelease(system, Selector::Version("FY2024"));
      served = r.ok() && r->state() == v1::RELEASE_STATE_PUBLISHED && r->checksum() == want;
      if (!served) absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_TRUE(served) << system;
  }
  auto i10 = client->Lookup("ICD10CM", "I10", Selector::Version("FY2024"));
  ASSERT_TRUE(i10.ok()) << i10.status();
  EXPECT_EQ(i10->tabular().source().version(), "FY2024");
  EXPECT_EQ(i10->tabular().block().code(), "I10-I16");
  auto high = client->Lookup("ICD10CM-INDEX", "INDEX:BLOOD PRESSURE>HIGH",
                             Selector::Version("FY2024"));
  ASSERT_TRUE(high.ok()) << high.status();
  EXPECT_EQ(high->concept().properties().at("see.code"), "I10");
}

// A code system registered on the primary, before or after the replica starts, is registered
// on the replica with the same definition and its releases are followed.
TEST(ReplicaTest, RegisteredCodeSystemsAreCopiedAndFollowed) {
  TestServer primary;
  auto admin = primary.NewClient();
  v1::CodeSystem pos;
  pos.set_id("POS");
  pos.set_uri("urn:example:pos");
  pos.set_title("Place of service");
  pos.set_code_pattern("[0-9]{2}");
  ASSERT_TRUE(admin->CreateCodeSystem(pos).ok());
  std::vector<v1::Concept> concepts(1);
  concepts[0].set_code("11");
  concepts[0].set_display("Office");
  ASSERT_TRUE(admin->ImportRelease("POS", "2025", "2025-01-01", "", concepts, true).ok());
  TestServer replica("", {"--follow=" + primary.address()});
  auto client = replica.NewClient();
  auto served = [&](const std::string& system, const std::string& version) {
    std::string want = admin->GetRelease(system, Selector::Version(version))->checksum();
    for (absl::Time start = absl::Now(); absl::Now() - start < absl::Seconds(15);) {
      auto r = client->GetRelease(system, Selector::Version(version));
      if (r.ok() && r->state() == v1::RELEASE_STATE_PUBLISHED && r->checksum() == want) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  };
  EXPECT_TRUE(served("POS", "2025"));
  auto office = client->Lookup("POS", "11");
  ASSERT_TRUE(office.ok()) << office.status();
  EXPECT_EQ(office->concept().display(), "Office");
  // Registered while the replica runs.
  v1::CodeSystem tos = pos;
  tos.set_id("TOS");
  tos.set_uri("urn:example:tos");
  tos.set_code_pattern("");
  tos.set_case_sensitive(true);
  ASSERT_TRUE(admin->CreateCodeSystem(tos).ok());
  concepts[0].set_code("a");
  concepts[0].set_display("Lower-case code");
  // With the FHIR resource it came from, which the replica keeps too.
  const std::string resource = R"({"resourceType":"CodeSystem","name":"TypeOfService"})";
  auto one_chunk = [&](const ConceptChunkFn& sink) {
    sink(concepts);
    return absl::OkStatus();
  };
  ASSERT_TRUE(admin->ImportReleaseFrom("TOS", "1", "2025-01-01", "", one_chunk, true, nullptr,
                                       resource)
                  .ok());
  EXPECT_TRUE(served("TOS", "1"));
  EXPECT_EQ(client->GetRelease("TOS", Selector::Version("1"))->resource_json(), resource);
  auto systems = client->ListCodeSystems();
  ASSERT_TRUE(systems.ok()) << systems.status();
  ASSERT_GE(systems->size(), 2u);
  const v1::CodeSystem& last = systems->back();
  EXPECT_EQ(last.id(), "TOS");
  EXPECT_TRUE(last.case_sensitive());
  EXPECT_FALSE(last.built_in());
  EXPECT_EQ(client->Lookup("TOS", "a")->concept().display(), "Lower-case code");
  // The replica refuses registrations of its own, as every admin call.
  EXPECT_EQ(client->CreateCodeSystem(tos).status().code(), absl::StatusCode::kFailedPrecondition);
  // Value sets are copied too, and expand there as on the primary.
  v1::ValueSet office_vs;
  office_vs.set_url("urn:example:vs:office");
  office_vs.set_version("1");
  office_vs.add_includes()->set_system("urn:example:pos");  // by URI; stored as POS
  office_vs.mutable_includes(0)->add_codes("11");
  ASSERT_TRUE(admin->CreateValueSet(office_vs).ok());
  EXPECT_EQ(client->CreateValueSet(office_vs).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::ExpandValueSetRequest expand;
  expand.set_url("urn:example:vs:office");
  absl::StatusOr<v1::ExpandValueSetResponse> copied;
  for (absl::Time start = absl::Now(); absl::Now() - start < absl::Seconds(15);) {
    copied = client->ExpandValueSet(expand);
    if (copied.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_EQ(copied->concepts_size(), 1);
  EXPECT_EQ(copied->concepts(0).system(), "POS");
  EXPECT_EQ(copied->concepts(0).concept().display(), "Office");
  EXPECT_EQ(copied->value_set().includes(0).system(), "POS");
}

TEST(ReplicaTest, ReplicasFollowThePrimaryAndCatchUpAfterADowntime) {
  TestServer primary;
  auto admin = primary.NewClient();
  auto load = [&](int i) {
    const ReleaseFile& f = SampleReleases()[i];
    auto concepts = importers::ParseFile(f.format, kSample + f.path);
    EXPECT_TRUE(concepts.ok());
    auto r = admin->ImportRelease(f.system, f.version, f.effective, f.path, *concepts, true);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->checksum() : "";
  };
  load(0);  // HCPCS 2017
  load(3);  // ICD10CM FY2021-01
  char tmpl[] = "/tmp/codebook-replica-XXXXXX";
  std::string r2_dir = mkdtemp(tmpl);
  const std::string follow = "--follow=" + primary.address();
  TestServer r1("", {follow});
  auto r2 = std::make_unique<TestServer>(r2_dir, std::vector<std::string>{follow});

  // Waits until `server` answers `version` of ICD10CM with `checksum`; returns the time taken.
  auto serves = [&](const TestServer& server, const std::string& version,
                    const std::string& checksum, absl::Duration limit) {
    absl::Time start = absl::Now();
    auto c = server.NewClient();
    while (absl::Now() - start < limit) {
      auto r = c->GetRelease("ICD10CM", Selector::Version(version));
      if (r.ok() && r->checksum() == checksum && r->state() == v1::RELEASE_STATE_PUBLISHED) {
        return absl::Now() - start;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::InfiniteDuration();
  };
  std::string fy2022 = load(4);
  absl::Duration t1 = serves(r1, "FY2022", fy2022, absl::Seconds(10));
  absl::Duration t2 = serves(*r2, "FY2022", fy2022, absl::Seconds(10));
  // Both replicas were just started: allow them their first catch-up, then time a live publish.
  ASSERT_LT(t1, absl::Seconds(10));
  ASSERT_LT(t2, absl::Seconds(10));
  // A live publish: both replicas serve it, with the primary's checksum, within 2 s.
  std::string fy2022_04 = load(5);
  absl::Time published = absl::Now();
  EXPECT_LT(serves(r1, "FY2022-04", fy2022_04, absl::Seconds(2)), absl::Seconds(2));
  EXPECT_LT(serves(*r2, "FY2022-04", fy2022_04, absl::Seconds(2)), absl::Seconds(2));
  absl::Duration both = absl::Now() - published;
  EXPECT_LT(both, absl::Seconds(2));
  std::cerr << "both replicas served the new release " << absl::FormatDuration(both)
            << " after it was published\n";

  // In sync: the replica's health service says so (once its sync check after the copy has
  // asked the primary about every system); the primary has no such service.
  int replica_health = 0;
  for (absl::Time start = absl::Now(); absl::Now() - start < absl::Seconds(2);) {
    replica_health = HealthStatus(r1.NewClient()->channel(), "codebook.v1.Replica");
    if (replica_health == 1) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(replica_health, 1);
  EXPECT_EQ(HealthStatus(r1.NewClient()->channel(), ""), 1);
  EXPECT_EQ(HealthStatus(primary.NewClient()->channel(), "codebook.v1.Replica"), -1);
  // Replicas refuse admin calls.
  auto refused = r1.NewClient()->CreateRelease("ICD10CM", "X", "2030-01-01");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("read replica"), std::string::npos);

  // r2 is down during two publishes, then catches up.
  r2->Stop();
  std::string fy2024 = load(6);
  std::string fy2025 = load(7);
  r2 = std::make_unique<TestServer>(r2_dir, std::vector<std::string>{follow});
  EXPECT_LT(serves(*r2, "FY2025", fy2025, absl::Seconds(10)), absl::Seconds(10));
  EXPECT_LT(serves(*r2, "FY2024", fy2024, absl::Seconds(1)), absl::Seconds(1));
  EXPECT_LT(serves(r1, "FY2025", fy2025, absl::Seconds(2)), absl::Seconds(2));
  // Same sequences and checksums everywhere.
  auto mine = admin->ListReleases("ICD10CM");
  auto theirs = r2->NewClient()->ListReleases("ICD10CM");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_EQ(mine->size(), theirs->size());
  for (size_t i = 0; i < mine->size(); ++i) {
    EXPECT_EQ((*mine)[i].sequence(), (*theirs)[i].sequence());
    EXPECT_EQ((*mine)[i].checksum(), (*theirs)[i].checksum());
  }
  admin.reset();
  r2.reset();
  std::filesystem::remove_all(r2_dir);
}

// Issue 3: readers running through a publish see the old release or the new one, never a mix.
TEST(ConsistencyTest, ReadersDuringAPublishNeverSeeAMix) {
  TestServer server;
  auto admin = server.NewClient();
  // Every code's display names its release, so a mixed answer would show.
  auto release = [](const std::string& tag, int n) {
    std::vector<v1::Concept> out;
    for (int i = 0; i < n; ++i) {
      v1::Concept c;
      c.set_code("A" + std::to_string(10 + i % 90) + std::to_string(1000 + i).substr(1));
      c.set_display(tag);
      c.set_billable(true);
      out.push_back(c);
    }
    return out;
  };
  const int kCodes = 5000;
  std::vector<std::string> codes;
  for (const auto& c : release("", kCodes)) codes.push_back(c.code());
  ASSERT_TRUE(admin->ImportRelease("ICD10CM", "R1", "2020-01-01", "", release("R1", kCodes), true).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> answers{0}, mixed{0}, errors{0};
  std::set<std::string> versions_seen;
  absl::Mutex mu;
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      auto c = server.NewClient();
      std::vector<std::string> batch(codes.begin(), codes.begin() + 1000);
      while (!stop) {
        auto r = c->BatchLookup("ICD10CM", batch);  // the release in effect today
        if (!r.ok()) {
          errors++;
          continue;
        }
        answers++;
        for (const auto& res : r->results()) {
          if (res.concept().display() != r->release().version()) {
            mixed++;
            break;
          }
        }
        absl::MutexLock l(&mu);
        versions_seen.insert(r->release().version());
      }
    });
  }
  // Publish three more releases while they read.
  for (const char* v : {"R2", "R3", "R4"}) {
    absl::SleepFor(absl::Milliseconds(100));
    std::string date = std::string("202") + v[1] + "-01-01";
    ASSERT_TRUE(admin->ImportRelease("ICD10CM", v, date, "", release(v, kCodes), true).ok());
  }
  absl::SleepFor(absl::Milliseconds(100));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(answers.load(), 20);
  EXPECT_GE(versions_seen.size(), 3u);  // the readers did run through the publishes
  admin.reset();
}

TEST(CptTest, SyntheticCptReleasesWithACategoryIIICodeAndADeletion) {
  TestServer server;
  auto client = server.NewClient();
  absl::Status imported = ImportFiles(client.get(), kSample, kSampleCpt);
  ASSERT_TRUE(imported.ok()) << imported;
  auto cat3 = client->Lookup("CPT", "0042T", Selector::Version("2025"));
  ASSERT_TRUE(cat3.ok()) << cat3.status();
  EXPECT_EQ(cat3->concept().properties().at("category"), "III");
  auto deleted = client->Lookup("CPT", "0188T", Selector::DateOfService("2025-03-14"));
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(deleted.status().message(), "code 0188T was deleted in CPT 2025 (effective 2025-01-01)");
  EXPECT_TRUE(client->ValidateCode("CPT", "0188T", "2024-12-31")->valid());
  auto modifier = client->Lookup("CPT", "25", Selector::Version("2025"));
  ASSERT_TRUE(modifier.ok());
  EXPECT_EQ(modifier->concept().kind(), v1::CONCEPT_KIND_MODIFIER);
  EXPECT_TRUE(client->ValidateCode("CPT", "25", "2025-03-14")->valid());
  client.reset();
}

TEST(ServerLifecycleTest, RestartKeepsReleasesAndSigtermStopsCleanly) {
  char tmpl[] = "/tmp/codebook-life-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    TestServer server(dir);
    auto client = server.NewClient();
    auto concepts = importers::ParseFile("icd10cm-order", kSample + SampleReleases()[3].path);
    ASSERT_TRUE(concepts.ok());
    auto published = client->ImportRelease("ICD10CM", "FY2021-01", "2021-01-01", "", *concepts,
                                            true);
    ASSERT_TRUE(published.ok()) << published.status();
    // Leave one release staged across the restart.
    ASSERT_TRUE(client->ImportRelease("ICD10CM", "FY2022", "2021-10-01", "", *concepts, false).ok());
    client.reset();  // idle connections hold a graceful shutdown up to its 5 s grace period
    server.Restart();
    client = server.NewClient();
    auto again = client->GetRelease("ICD10CM", Selector::Version("FY2021-01"));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->checksum(), published->checksum());
    auto staged = client->GetRelease("ICD10CM", Selector::Version("FY2022"));
    ASSERT_TRUE(staged.ok());
    EXPECT_EQ(staged->staged_concepts(), static_cast<int64_t>(concepts->size()));
    auto p = client->PublishRelease("ICD10CM", "FY2022");
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->counts().added(), 0);
    client.reset();
    EXPECT_EQ(server.Stop(), 0);  // SIGTERM: graceful, exit status 0
  }
  std::filesystem::remove_all(dir);
}

// Issue 10: a newer ICD-10-CM release was refused at its first code of a shape the server's check
// did not allow. An order file with codes of every shape the layout allows (a letter second or
// third, letters only after the first) imports through the CLI, and each code is found by lookup
// in either form and by a code search.
TEST(CodeShapeTest, AnOrderFileWithEveryShapeTheLayoutAllowsImportsAndAnswers) {
  TestServer server;
  char tmpl[] = "/tmp/codebook-shapes-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  struct Row {
    const char* code;
    char flag;
    const char* text;
  };
  const std::vector<Row> rows = {
      {"A00", '0', "Cholera"},
      {"A000", '1', "Cholera due to Vibrio cholerae 01, biovar cholerae"},
      {"AB1", '0', "A category whose second character is a letter"},
      {"AB10", '1', "Its first code"},
      {"AB1X2Y", '0', "A placeholder level"},
      {"AB1X2YA", '1', "Seven characters, letters among them"},
      {"C4A", '0', "Merkel cell carcinoma"},
      {"C4A0", '1', "Merkel cell carcinoma of lip"},
      {"XYZ", '0', "Letters only"},
      {"XYZW", '1', "Letters only, a code"},
  };
  std::string file;
  int order = 1;
  for (const Row& r : rows) {
    char line[512];
    std::snprintf(line, sizeof(line), "%05d %-7s %c %-60s %s\r\n", order++, r.code, r.flag,
                  r.text, r.text);
    file += line;
  }
  std::string path = dir + "/icd10cm_order_2027.txt";
  std::ofstream(path, std::ios::binary) << file;
  int rc;
  std::string out = server.RunCli("import --system=ICD10CM --version=FY2027 "
                                  "--effective=2026-10-01 --format=icd10cm-order --publish " + path,
                                  &rc);
  ASSERT_EQ(rc, 0) << out;
  auto client = server.NewClient();
  for (const char* code : {"AB1", "AB1.0", "AB10", "AB1.X2YA", "AB1X2YA", "C4A.0", "XYZ.W"}) {
    auto r = client->Lookup("ICD10CM", code, Selector::Version("FY2027"));
    ASSERT_TRUE(r.ok()) << code << ": " << r.status();
  }
  EXPECT_EQ(client->Lookup("ICD10CM", "AB10", Selector::Version("FY2027"))->concept().code(),
            "AB1.0");
  EXPECT_EQ(client->Lookup("ICD10CM", "AB1X2YA", Selector::Version("FY2027"))->concept().parent(),
            "AB1.X2Y");
  EXPECT_TRUE(client->ValidateCode("ICD10CM", "AB1.X2YA", "2026-10-01")->valid());
  v1::SearchRequest req;
  req.set_system("ICD10CM");
  *req.mutable_selector() = Selector::Version("FY2027");
  req.set_query("AB1");
  auto found = client->Search(req);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_GE(found->hits_size(), 3);
  EXPECT_EQ(found->hits(0).concept().code(), "AB1");
  EXPECT_EQ(found->hits(0).match(), v1::SEARCH_MATCH_EXACT_CODE);
  // What cannot be a code is still refused with a clear message.
  auto bad = client->Lookup("ICD10CM", "1AB", Selector::Version("FY2027"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("is not a valid ICD10CM code"), std::string::npos);
  client.reset();
  std::filesystem::remove_all(dir);
}

// The CLI sends a file while it parses it, in messages of 5,000 concepts, and the server
// publishes at the end of the same stream: a file of several messages imports whole, and one
// whose last line is bad, found after messages were sent, stores nothing at all.
TEST(CliImportTest, AFileOfManyMessagesImportsWhileParsedAndABadLastLineStoresNothing) {
  TestServer server;
  char tmpl[] = "/tmp/codebook-chunks-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file;
  constexpr int kCodes = 12001;
  for (int i = 0; i < kCodes; ++i) {
    char code[16], text[64], line[256];
    std::snprintf(code, sizeof(code), "V%02d%04d", i / 10000, i % 10000);
    std::snprintf(text, sizeof(text), "Synthetic code number %d", i);
    std::snprintf(line, sizeof(line), "%05d %-7s 1 %-60s %s\r\n", i + 1, code, text, text);
    file += line;
  }
  const std::string good = dir + "/good.txt", bad = dir + "/bad.txt";
  std::ofstream(good, std::ios::binary) << file;
  std::ofstream(bad, std::ios::binary)
      << file << "12002 v!!     1 " << std::string(60, 'x') << " Not a code\r\n";
  int rc;
  std::string out = server.RunCli("import --system=ICD10CM --version=FY2030 "
                                  "--effective=2029-10-01 --format=icd10cm-order --publish " + bad,
                                  &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find(bad + ":12002: malformed code"), std::string::npos) << out;
  auto client = server.NewClient();
  EXPECT_EQ(client->GetRelease("ICD10CM", Selector::Version("FY2030")).status().code(),
            absl::StatusCode::kNotFound);
  auto releases = client->ListReleases("ICD10CM");
  ASSERT_TRUE(releases.ok()) << releases.status();
  EXPECT_TRUE(releases->empty());

  out = server.RunCli("import --system=ICD10CM --version=FY2030 --effective=2029-10-01 "
                      "--format=icd10cm-order --publish " + good,
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("12,001 concepts parsed, uploaded and published; total"), std::string::npos)
      << out;
  auto release = client->GetRelease("ICD10CM", Selector::Version("FY2030"));
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(release->state(), v1::RELEASE_STATE_PUBLISHED);
  EXPECT_EQ(release->counts().total(), kCodes);
  for (const char* code : {"V00.0000", "V00.5000", "V01.2000"}) {
    auto r = client->Lookup("ICD10CM", code, Selector::Version("FY2030"));
    ASSERT_TRUE(r.ok()) << code << ": " << r.status();
  }
  // Without --publish the same stream only stages.
  out = server.RunCli("import --system=ICD10CM --version=FY2031 --effective=2030-10-01 "
                      "--format=icd10cm-order " + good,
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  auto staged = client->GetRelease("ICD10CM", Selector::Version("FY2031"));
  ASSERT_TRUE(staged.ok()) << staged.status();
  EXPECT_EQ(staged->state(), v1::RELEASE_STATE_STAGED);
  EXPECT_EQ(staged->staged_concepts(), kCodes);
  ASSERT_TRUE(client->DiscardRelease("ICD10CM", "FY2031").ok());

  // The stream's own flag, from a client of its own: when the publish is refused, nothing of
  // the stream is stored and the release stays staged as it was; else the stream publishes.
  auto upload = [&](const std::string& version, const std::vector<std::string>& codes,
                    v1::UploadConceptsResponse* resp) {
    grpc::ClientContext ctx;
    auto writer = client->admin()->UploadConcepts(&ctx, resp);
    for (const std::string& code : codes) {
      v1::UploadConceptsRequest m;
      m.set_system("ICD10CM");
      m.set_version(version);
      m.set_publish(code == codes.back());  // any message may ask
      v1::Concept* c = m.add_concepts();
      c->set_code(code);
      c->set_display("text of " + code);
      writer->Write(m);
    }
    writer->WritesDone();
    return writer->Finish();
  };
  v1::UploadConceptsResponse resp;
  ASSERT_TRUE(client->CreateRelease("ICD10CM", "FY2020", "2019-10-01").ok());
  grpc::Status s = upload("FY2020", {"E11.9", "E11.8"}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("effective-date order"), std::string::npos) << s.error_message();
  staged = client->GetRelease("ICD10CM", Selector::Version("FY2020"));
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->state(), v1::RELEASE_STATE_STAGED);
  EXPECT_EQ(staged->staged_concepts(), 0);
  ASSERT_TRUE(client->DiscardRelease("ICD10CM", "FY2020").ok());
  ASSERT_TRUE(client->CreateRelease("ICD10CM", "FY2040", "2039-10-01").ok());
  s = upload("FY2040", {"E11.9", "A00.0"}, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.accepted(), 2);
  EXPECT_EQ(resp.release().state(), v1::RELEASE_STATE_PUBLISHED);
  EXPECT_EQ(resp.release().counts().total(), 2);
  EXPECT_EQ(resp.release().counts().deleted(), kCodes);
  EXPECT_FALSE(resp.release().checksum().empty());
  auto found = client->Lookup("ICD10CM", "E119", Selector::Version("FY2040"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->concept().display(), "text of E11.9");
  client.reset();
  std::filesystem::remove_all(dir);
}

// The Tabular List as a supplement: imported through the CLI as ICD10CM-TABULAR FY2024, bound
// to ICD10CM FY2024, and used (and named) by lookups of FY2024 and of the later FY2025.
TEST(TabularSupplementTest, ImportedThroughTheCliAndUsedByLaterReleases) {
  TestServer server;
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                            "/icd10cm/2024/icd10cm-order-2024.txt"}})
                  .ok());
  const std::string tabular = kSample + "/icd10cm/2024/icd10cm_tabular_2024.xml";
  int rc;
  // Bound to a release of the base system: none FY2023, and the effective date must agree.
  std::string out = server.RunCli("import --system=ICD10CM-TABULAR --version=FY2023 "
                                  "--effective=2022-10-01 --format=icd10cm-tabular --publish " +
                                      tabular,
                                  &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("needs ICD10CM FY2023, which this server does not have"), std::string::npos)
      << out;
  out = server.RunCli("import --system=ICD10CM-TABULAR --version=FY2024 --effective=2023-10-02 "
                      "--format=icd10cm-tabular --publish " + tabular,
                      &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("must take effect when ICD10CM FY2024 (effective 2023-10-01) does"),
            std::string::npos)
      << out;
  out = server.RunCli("import --system=ICD10CM-TABULAR --version=FY2024 --effective=2023-10-01 "
                      "--format=icd10cm-tabular --publish " + tabular,
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  // A supplement of a staged base release can be staged, not published.
  ASSERT_TRUE(client->CreateRelease("ICD10CM", "FY2025", "2024-10-01", "staged").ok());
  ASSERT_TRUE(client->CreateRelease("ICD10CM-TABULAR", "FY2025", "2024-10-01", "staged").ok());
  auto early = client->PublishRelease("ICD10CM-TABULAR", "FY2025");
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("once ICD10CM FY2025 is published"), std::string::npos);
  ASSERT_TRUE(client->DiscardRelease("ICD10CM-TABULAR", "FY2025").ok());
  ASSERT_TRUE(client->DiscardRelease("ICD10CM", "FY2025").ok());
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
                            "/icd10cm/2025/icd10cm_order_2025.txt"}})
                  .ok());

  // FY2025 has no Tabular of its own: FY2024's answers, and says so.
  auto i10 = client->Lookup("ICD10CM", "I10", Selector::Version("FY2025"));
  ASSERT_TRUE(i10.ok()) << i10.status();
  EXPECT_EQ(i10->release().version(), "FY2025");
  const v1::TabularContext& t = i10->tabular();
  EXPECT_EQ(t.source().system(), "ICD10CM-TABULAR");
  EXPECT_EQ(t.source().version(), "FY2024");
  EXPECT_EQ(t.chapter().code(), "CHAPTER-9");
  EXPECT_EQ(t.block().code(), "I10-I16");
  EXPECT_EQ(t.block().display(), "Hypertensive diseases (I10-I16)");
  std::vector<std::string> notes;
  for (const auto& n : t.notes()) notes.push_back(n.from() + " " + n.kind() + ": " + n.text());
  EXPECT_EQ(notes, (std::vector<std::string>{
                       "I10 includes: high blood pressure",
                       "I10 includes: hypertension (arterial) (essential) (primary)",
                       "I10 excludes1: hypertension in pregnancy (O10-O11, O13-O16)",
                       "I10 excludes2: hypertension of the vessels of the brain (I60-I69)",
                       "I10-I16 excludes1: hypertension in a newborn (P29.2)",
                       "CHAPTER-9 excludes2: injury of blood vessels (S-codes of the body region)"}));
  ASSERT_EQ(t.notes(2).references_size(), 2);
  EXPECT_EQ(t.notes(2).references(1).first(), "O13");
  EXPECT_EQ(t.notes(2).references(1).last(), "O16");
  EXPECT_FALSE(t.needs_seventh_character());
  EXPECT_TRUE(t.seventh_characters().empty());

  // A code without its 7th character, and one with it.
  auto s52 = client->Lookup("ICD10CM", "S52.501", Selector::Version("FY2024"));
  ASSERT_TRUE(s52.ok()) << s52.status();
  EXPECT_EQ(s52->tabular().source().version(), "FY2024");
  EXPECT_TRUE(s52->tabular().needs_seventh_character());
  EXPECT_EQ(s52->tabular().seventh_character_stem(), "S52.501");
  EXPECT_EQ(s52->tabular().seventh_characters_from(), "S52");
  ASSERT_EQ(s52->tabular().seventh_characters_size(), 4);
  EXPECT_EQ(s52->tabular().seventh_characters(1).character(), "B");
  EXPECT_EQ(s52->tabular().seventh_characters(1).meaning(),
            "initial encounter for open fracture type I or II; initial encounter for open "
            "fracture NOS");
  auto s52a = client->Lookup("ICD10CM", "S52.501A", Selector::Version("FY2024"));
  ASSERT_TRUE(s52a.ok());
  EXPECT_FALSE(s52a->tabular().needs_seventh_character());
  EXPECT_EQ(s52a->tabular().seventh_characters_size(), 4);
  // T81.32X: the Tabular's T81.32 with its placeholder; T81.32XA is complete.
  auto t8132x = client->Lookup("ICD10CM", "T81.32X", Selector::Version("FY2024"));
  ASSERT_TRUE(t8132x.ok());
  EXPECT_TRUE(t8132x->tabular().needs_seventh_character());
  EXPECT_EQ(t8132x->tabular().seventh_character_stem(), "T81.32X");
  EXPECT_EQ(t8132x->tabular().notes(0).text(), "Dehiscence of internal surgical wound");
  EXPECT_EQ(t8132x->tabular().notes(0).from(), "T81.32");

  // The CLI prints it all.
  out = server.RunCli("lookup --system=ICD10CM S52.501 I10", &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const char* want :
       {"needs a 7th character (S52.501?, defined at S52):", "      A  initial encounter for closed fracture",
        "    block I10-I16: Hypertensive diseases (I10-I16)",
        "    chapter 9: Diseases of the circulatory system (I00-I99)",
        "    includes: high blood pressure", "    excludes1: hypertension in a newborn (P29.2)  [I10-I16]",
        "    tabular: ICD10CM-TABULAR FY2024 (effective 2023-10-01)"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
  // The supplement is a release like any other: listed, exported, checksummed; its keys read.
  auto systems = client->ListCodeSystems();
  ASSERT_TRUE(systems.ok());
  bool listed = false;
  for (const auto& s : *systems) listed |= s.id() == "ICD10CM-TABULAR" && s.supplements() == "ICD10CM";
  EXPECT_TRUE(listed);
  auto block = client->Lookup("ICD10CM-TABULAR", "I10-I16", Selector::Version("FY2024"));
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->concept().parent(), "CHAPTER-9");
  auto release = client->GetRelease("ICD10CM-TABULAR", Selector::Version("FY2024"));
  ASSERT_TRUE(release.ok());
  EXPECT_EQ(release->counts().total(), 7 + 9 + 35);  // chapters, blocks, diags
  EXPECT_EQ(release->checksum().substr(0, 7), "sha256:");
  // Claim lines: the diagnoses checked against the Tabular's notes, each reason quoting its
  // note and the Tabular release (FY2025 answered with FY2024's).
  std::string csv = server.dir() + "/claim.csv";
  std::ofstream(csv) << "code,modifiers,units,diagnoses,date\n"
                     << "A0021,,1,S52.501,2024-11-01\n"
                     << "A0021,,1,U09.9;U07.1,2024-11-01\n"
                     << "A0021,,1,E11.9,2024-11-01\n"
                     << "A0021,,1,E11.9;S52.501A,2024-11-01\n";
  out = server.RunCli("claim " + csv, &rc);
  EXPECT_EQ(rc, 3) << out;
  for (const char* want : {
           "diagnosis S52.501: missing seventh character: S52.501 needs a 7th character "
           "(ICD10CM-TABULAR FY2024, defined at S52): S52.501A initial encounter for closed "
           "fracture; S52.501B initial encounter for open fracture type I or II; initial "
           "encounter for open fracture NOS; S52.501D",
           "diagnosis U09.9: excludes1: U09.9 and U07.1 are not reported together: Excludes1 at "
           "U09.9: \"current COVID-19 infection (U07.1)\" (ICD10CM-TABULAR FY2024)",
           "diagnosis U09.9: advisory, code first: U09.9 is listed first; check its code first "
           "note at U09.9: \"the specific condition related to COVID-19, if known\"",
           "diagnosis E11.9: advisory, use additional code: E11.9: use additional code if "
           "applicable; Use additional code at E11: \"code for any long term insulin use "
           "(Z79.4)\" (ICD10CM-TABULAR FY2024)"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
  auto claim_client = server.NewClient();
  v1::ValidateClaimRequest claim;
  claim.set_date_of_service("2024-11-01");
  for (const char* dx : {"E11.9", "S52.501A"}) {
    v1::ClaimLine* l = claim.add_lines();
    l->set_procedure_code("A0021");
    l->set_units(1);
    l->add_diagnosis_codes(dx);
  }
  auto answered = claim_client->ValidateClaim(claim);
  ASSERT_TRUE(answered.ok()) << answered.status();
  // The advisory leaves its line valid (no HCPCS release: the procedure is the only error).
  ASSERT_EQ(answered->results(0).issues_size(), 2);
  EXPECT_EQ(answered->results(0).issues(1).kind(), v1::CLAIM_ISSUE_KIND_USE_ADDITIONAL_CODE);
  EXPECT_TRUE(answered->results(0).issues(1).advisory());
  EXPECT_EQ(answered->results(0).issues(1).note().from(), "E11");
  EXPECT_EQ(answered->results(0).issues(1).note_source().version(), "FY2024");
  EXPECT_EQ(answered->results(1).issues_size(), 1);  // S52.501A is complete

  // The Index as the supplement ICD10CM-INDEX, from the sample folder (index and drug table).
  out = server.RunCli("import --system=ICD10CM-INDEX --version=FY2024 --effective=2023-10-01 "
                      "--format=icd10cm-index --publish " + kSample + "/icd10cm/2024",
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  auto high = client->Lookup("ICD10CM-INDEX", "index:blood pressure>high",
                             Selector::Version("FY2024"));
  ASSERT_TRUE(high.ok()) << high.status();
  EXPECT_EQ(high->concept().code(), "INDEX:BLOOD PRESSURE>HIGH");
  EXPECT_EQ(high->concept().display(), "Blood pressure, high");
  EXPECT_EQ(high->concept().properties().at("see.code"), "I10");
  auto index_release = client->GetRelease("ICD10CM-INDEX", Selector::Version("FY2024"));
  ASSERT_TRUE(index_release.ok());
  EXPECT_EQ(index_release->counts().total(), 18 + 2);  // index terms, drug-table rows
  out = server.RunCli("import --system=ICD10CM-INDEX --version=FY2022 --effective=2021-10-01 "
                      "--format=icd10cm-index " + kSample + "/icd10cm/2024",
                      &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("needs ICD10CM FY2022, which this server does not have"), std::string::npos)
      << out;

  // A diff of the base releases names the supplements serving each side: FY2024's Tabular and
  // Index serve FY2025 too, so they do not differ.
  out = server.RunCli("diff --system=ICD10CM --from=FY2024 --to=FY2025 --summary", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ICD10CM-TABULAR FY2024 -> FY2024: 0 entries differ"), std::string::npos)
      << out;
  EXPECT_NE(out.find("ICD10CM-INDEX FY2024 -> FY2024: 0 entries differ"), std::string::npos)
      << out;

  // The hierarchy knows chapters and blocks: FY2025 (answered with FY2024's Tabular).
  auto up = client->GetAncestors("ICD10CM", "S52.501A", Selector::Version("FY2025"));
  ASSERT_TRUE(up.ok()) << up.status();
  std::vector<std::string> chain;
  for (const auto& a : up->ancestors()) chain.push_back(a.code());
  EXPECT_EQ(chain, (std::vector<std::string>{"S52.501", "S52.5", "S52", "S50-S59", "CHAPTER-19"}));
  EXPECT_EQ(up->ancestors(3).kind(), v1::CONCEPT_KIND_GROUP);
  EXPECT_EQ(up->ancestors(3).display(), "Injuries to the elbow and forearm (S50-S59)");
  EXPECT_EQ(up->ancestors(2).parent(), "S50-S59");
  auto children_of = [&](const std::string& code) {
    v1::GetChildrenRequest req;
    req.set_system("ICD10CM");
    *req.mutable_selector() = Selector::Version("FY2025");
    req.set_code(code);
    std::vector<std::string> out;
    auto r = client->GetChildren(req);
    EXPECT_TRUE(r.ok()) << code << ": " << r.status();
    if (r.ok()) {
      for (const auto& c : r->children()) out.push_back(c.code());
    }
    return out;
  };
  EXPECT_EQ(children_of(""), (std::vector<std::string>{"CHAPTER-1", "CHAPTER-4", "CHAPTER-9",
                                                       "CHAPTER-10", "CHAPTER-19", "CHAPTER-21",
                                                       "CHAPTER-22"}));
  EXPECT_EQ(children_of("chapter-19"), (std::vector<std::string>{"S50-S59", "T36-T50", "T80-T88"}));
  EXPECT_EQ(children_of("T36-T50"), (std::vector<std::string>{"T40"}));
  EXPECT_EQ(children_of("I10"), (std::vector<std::string>{}));
  auto subsumes = client->Subsumes("ICD10CM", "CHAPTER-19", "T40.711A", Selector::Version("FY2025"));
  ASSERT_TRUE(subsumes.ok()) << subsumes.status();
  EXPECT_EQ(subsumes->outcome(), v1::SUBSUMPTION_OUTCOME_SUBSUMES);
  v1::GetChildrenRequest bad;
  bad.set_system("ICD10CM");
  bad.set_code("X00-X09");
  EXPECT_EQ(client->GetChildren(bad).status().code(), absl::StatusCode::kNotFound);
  out = server.RunCli("children --system=ICD10CM CHAPTER-9", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("I10-I16"), std::string::npos) << out;

  // A later release takes the newest Tabular effective before it.
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"ICD10CM", "FY2026", "2025-10-01", "icd10cm-order",
                            "/icd10cm/2025/icd10cm_order_2025.txt"}})
                  .ok());
  auto later = client->Lookup("ICD10CM", "I10", Selector::Version("FY2026"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->tabular().source().version(), "FY2024");
}

// ICD-10-PCS: the Tables explain each character of a code; the Index finds codes from a
// procedure's name, a partial code standing for the codes under it.
TEST(PcsSupplementTest, TablesExplainEachCharacterAndTheIndexFindsProcedures) {
  TestServer server;
  auto client = server.NewClient();
  const std::string dir = kSample + "/icd10pcs/2025";
  int rc;
  std::string out = server.RunCli("import --system=ICD10PCS --version=FY2025 "
                                  "--effective=2024-10-01 --format=icd10pcs-order --publish " +
                                      dir + "/icd10pcs_order_2025.txt",
                                  &rc);
  ASSERT_EQ(rc, 0) << out;
  out = server.RunCli("import --system=ICD10PCS-TABLES --version=FY2025 --effective=2024-10-01 "
                      "--format=icd10pcs-tables --publish " + dir + "/icd10pcs_tables_2025.xml",
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  out = server.RunCli("import --system=ICD10PCS-INDEX --version=FY2025 --effective=2024-10-01 "
                      "--format=icd10pcs-index --publish " + dir,
                      &rc);
  ASSERT_EQ(rc, 0) << out;
  // A later release without Tables of its own is answered with FY2025's, and says so.
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"ICD10PCS", "FY2026", "2025-10-01", "icd10pcs-order",
                            "/icd10pcs/2025/icd10pcs_order_2025.txt"}})
                  .ok());

  auto code = client->Lookup("ICD10PCS", "0DTJ0ZZ", Selector::Version("FY2026"));
  ASSERT_TRUE(code.ok()) << code.status();
  const v1::PcsContext& pcs = code->pcs();
  EXPECT_EQ(pcs.source().system(), "ICD10PCS-TABLES");
  EXPECT_EQ(pcs.source().version(), "FY2025");
  EXPECT_EQ(pcs.table(), "0DT");
  EXPECT_TRUE(pcs.in_table());
  EXPECT_EQ(pcs.definition(),
            "Taking out a whole body part by cutting, with nothing put in its place");
  std::vector<std::string> chars;
  for (const auto& c : pcs.characters()) {
    chars.push_back(absl::StrCat(c.position(), " ", c.axis(), " ", c.value(), " ", c.meaning()));
  }
  EXPECT_EQ(chars, (std::vector<std::string>{
                       "1 Section 0 Medical and Surgical", "2 Body System D Gastrointestinal System",
                       "3 Operation T Resection", "4 Body Part J Appendix", "5 Approach 0 Open",
                       "6 Device Z No Device", "7 Qualifier Z No Qualifier"}));
  // A table header: its three characters.
  auto table = client->Lookup("ICD10PCS", "0DB");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->pcs().characters_size(), 3);
  EXPECT_EQ(table->pcs().characters(2).meaning(), "Excision");
  EXPECT_FALSE(table->pcs().in_table());
  // Another system's code has no PCS context at all (the field unset, not empty).
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"HCPCS", "2019", "2019-01-01", "hcpcs",
                            "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt"}})
                  .ok());
  auto hcpcs = client->Lookup("HCPCS", "G0505");
  ASSERT_TRUE(hcpcs.ok()) << hcpcs.status();
  EXPECT_FALSE(hcpcs->has_pcs()) << hcpcs->ShortDebugString();
  // The CLI prints them.
  out = server.RunCli("lookup --system=ICD10PCS 0DTJ0ZZ", &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const char* want : {"    4 Body Part    J  Appendix", "    3 Operation    T  Resection",
                           "    operation: Taking out a whole body part",
                           "    tables: ICD10PCS-TABLES FY2025"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }

  // Appendectomy: the Index's two references, each a partial code; Resection names fewer
  // codes (2, against Excision's 3), so its codes come first.
  v1::SearchRequest req;
  req.set_system("ICD10PCS");
  req.set_query("appendectomy");
  auto found = client->Search(req);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->hits_size(), 5);
  std::vector<std::string> codes;
  for (const auto& h : found->hits()) {
    codes.push_back(h.concept().code());
    EXPECT_EQ(h.match(), v1::SEARCH_MATCH_INDEX);
    EXPECT_EQ(h.reason_source().system(), "ICD10PCS-INDEX");
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"0DTJ0ZZ", "0DTJ4ZZ", "0DBJ0ZX", "0DBJ0ZZ",
                                             "0DBJ4ZZ"}));
  EXPECT_EQ(found->hits(0).reason(), "index: Appendectomy, see Resection, Appendix -> 0DTJ...");
  ASSERT_EQ(found->supplements_size(), 1);
  EXPECT_EQ(found->supplements(0).system(), "ICD10PCS-INDEX");
  // The Definitions are in the supplement, not search hits.
  auto def = client->Lookup("ICD10PCS-INDEX", "DEFINITIONS:0>OPERATION>RESECTION",
                            Selector::Version("FY2025"));
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->concept().properties().at("includes"), "Removing the appendix");
  req.set_query("removing");
  auto none = client->Search(req);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->hits_size(), 0);
  // Tables keys have their own shape.
  auto bad = client->Lookup("ICD10PCS-TABLES", "0DT:7", Selector::Version("FY2025"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto row = client->Lookup("ICD10PCS-TABLES", "0DT:001", Selector::Version("FY2025"));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->concept().parent(), "0DT");
  EXPECT_EQ(row->concept().properties().at("5 Approach"), "0 Open\n4 Percutaneous Endoscopic");
}

// Search answers the same whether the release's in-memory view answers (entries resolved to the
// view's concept numbers) or the store does (records read per code).
TEST(ClinicalSearchTest, AnswersAreTheSameWithAndWithoutTheReleaseView) {
  TestServer viewed("", {"--metrics_listen=127.0.0.1:0"});
  TestServer stored("", {"--view_cache_mb=0"});
  const std::vector<ReleaseFile> files = {
      {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order", "/icd10cm/2024/icd10cm-order-2024.txt"},
      {"ICD10CM-TABULAR", "FY2024", "2023-10-01", "icd10cm-tabular",
       "/icd10cm/2024/icd10cm_tabular_2024.xml"},
      {"ICD10CM-INDEX", "FY2024", "2023-10-01", "icd10cm-index", "/icd10cm/2024"},
      {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order", "/icd10cm/2025/icd10cm_order_2025.txt"},
      {"ICD10PCS", "FY2025", "2024-10-01", "icd10pcs-order",
       "/icd10pcs/2025/icd10pcs_order_2025.txt"},
      {"ICD10PCS-INDEX", "FY2025", "2024-10-01", "icd10pcs-index", "/icd10pcs/2025"}};
  auto a = viewed.NewClient();
  auto b = stored.NewClient();
  ASSERT_TRUE(ImportFiles(a.get(), kSample, files).ok());
  ASSERT_TRUE(ImportFiles(b.get(), kSample, files).ok());
  auto search = [](Client* client, const std::string& system, const std::string& query,
                   bool billable) {
    v1::SearchRequest req;
    req.set_system(system);
    req.set_query(query);
    req.set_billable_only(billable);
    req.set_page_size(50);
    auto r = client->Search(req);
    EXPECT_TRUE(r.ok()) << query << ": " << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      out.push_back(absl::StrCat(r->total_hits()));
      std::set<std::string> codes;  // a code is one hit, however many ways it matched
      for (const auto& h : r->hits()) EXPECT_TRUE(codes.insert(h.concept().code()).second) << query;
      for (const auto& h : r->hits()) {
        out.push_back(absl::StrCat(h.concept().code(), " ", h.match(), " ", h.score(), " ",
                                   h.reason()));
      }
    }
    return out;
  };
  // The views of the releases searched are built on the viewed server before comparing.
  search(a.get(), "ICD10CM", "cholera", false);
  search(a.get(), "ICD10PCS", "appendectomy", false);
  bool built = false;
  std::string page;
  for (int i = 0; i < 300 && !built; ++i) {
    int status = 0;
    page = HttpGet(viewed.metrics_port(), "/metrics", &status);
    built = MetricValue(page, "codebook_release_views{state=\"queued\"}") == 0 &&
            MetricValue(page, "codebook_release_views{state=\"held\"}") >= 2;
    if (!built) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(built) << page;
  int compared = 0;
  for (const char* q : {"cholera", "classical cholera", "bronchial asthma", "high blood pressure",
                        "pressure high", "diabetes type 2", "covid", "cannabis poisoning",
                        "fracture radius", "hypertens", "asthm", "A00", "I10", "U07", "sequelae"}) {
    for (bool billable : {false, true}) {
      std::vector<std::string> want = search(b.get(), "ICD10CM", q, billable);
      EXPECT_EQ(search(a.get(), "ICD10CM", q, billable), want) << q;
      compared += want.size() > 1;
    }
  }
  for (const char* q : {"appendectomy", "resection appendix", "excision"}) {
    std::vector<std::string> want = search(b.get(), "ICD10PCS", q, false);
    EXPECT_EQ(search(a.get(), "ICD10PCS", q, false), want) << q;
    compared += want.size() > 1;
  }
  EXPECT_GE(compared, 20);  // the queries find something
}

// Search in clinical words: the Index's terms and the Tabular's inclusion terms and "includes"
// notes, from the supplements serving the release searched, each hit saying why it matched.
TEST(ClinicalSearchTest, IndexTermsAndNotesFindCodesAndSayWhy) {
  TestServer server;
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), kSample,
                          {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                            "/icd10cm/2024/icd10cm-order-2024.txt"},
                           {"ICD10CM-TABULAR", "FY2024", "2023-10-01", "icd10cm-tabular",
                            "/icd10cm/2024/icd10cm_tabular_2024.xml"},
                           {"ICD10CM-INDEX", "FY2024", "2023-10-01", "icd10cm-index",
                            "/icd10cm/2024"},
                           {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
                            "/icd10cm/2025/icd10cm_order_2025.txt"}})
                  .ok());
  auto search = [&](const std::string& query, const std::string& version,
                    bool billable_only = false) {
    v1::SearchRequest req;
    req.set_system("ICD10CM");
    req.set_query(query);
    req.set_billable_only(billable_only);
    *req.mutable_selector() = Selector::Version(version);
    auto r = client->Search(req);
    EXPECT_TRUE(r.ok()) << query << ": " << r.status();
    return r.ok() ? *r : v1::SearchResponse();
  };
  // FY2025 has no supplements of its own: FY2024's terms answer, named in the response and in
  // each hit found through them.
  v1::SearchResponse high = search("high blood pressure", "FY2025");
  EXPECT_EQ(high.release().version(), "FY2025");
  ASSERT_EQ(high.supplements_size(), 2);
  EXPECT_EQ(high.supplements(0).system(), "ICD10CM-INDEX");
  EXPECT_EQ(high.supplements(0).version(), "FY2024");
  EXPECT_EQ(high.supplements(1).system(), "ICD10CM-TABULAR");
  EXPECT_EQ(high.supplements(1).version(), "FY2024");
  ASSERT_GE(high.hits_size(), 1);
  EXPECT_EQ(high.hits(0).concept().code(), "I10");
  EXPECT_EQ(high.hits(0).match(), v1::SEARCH_MATCH_NOTE);
  EXPECT_EQ(high.hits(0).reason(), "includes: high blood pressure");
  EXPECT_EQ(high.hits(0).reason_source().system(), "ICD10CM-TABULAR");
  EXPECT_EQ(high.hits(0).reason_source().version(), "FY2024");
  v1::SearchResponse pressure = search("pressure high", "FY2025");
  ASSERT_GE(pressure.hits_size(), 1);
  EXPECT_EQ(pressure.hits(0).concept().code(), "I10");
  EXPECT_EQ(pressure.hits(0).match(), v1::SEARCH_MATCH_INDEX);
  EXPECT_EQ(pressure.hits(0).reason(), "index: Blood pressure, high -> see Hypertension");
  EXPECT_EQ(pressure.hits(0).reason_source().system(), "ICD10CM-INDEX");
  EXPECT_EQ(pressure.hits(0).reason_source().version(), "FY2024");
  // A main term alone ranks its own code first; a subterm's words find the subterm's code.
  v1::SearchResponse cholera = search("cholera", "FY2025");
  ASSERT_GE(cholera.hits_size(), 2);
  EXPECT_EQ(cholera.hits(0).concept().code(), "A00.9");
  EXPECT_EQ(cholera.hits(0).reason(), "index: Cholera");
  EXPECT_EQ(search("classical cholera", "FY2025").hits(0).concept().code(), "A00.0");
  // A nonessential modifier matches ("bronchial asthma"); one form of a main term's title
  // covers it ("asthmatic").
  EXPECT_EQ(search("bronchial asthma", "FY2025").hits(0).concept().code(), "J45.909");
  EXPECT_EQ(search("asthmatic", "FY2025").hits(0).concept().code(), "J45.909");
  // The Drug table's columns: the row and the column's heading.
  v1::SearchResponse cannabis = search("cannabis poisoning accidental", "FY2025");
  ASSERT_GE(cannabis.hits_size(), 1);
  EXPECT_EQ(cannabis.hits(0).concept().code(), "T40.711");
  EXPECT_EQ(cannabis.hits(0).reason().rfind("drug table: Cannabis, poisoning, accidental", 0), 0u)
      << cannabis.hits(0).reason();
  // A description match says so.
  v1::SearchResponse vibrio = search("vibrio", "FY2025");
  ASSERT_GE(vibrio.hits_size(), 1);
  bool described = false;
  for (const auto& h : vibrio.hits()) {
    if (h.match() == v1::SEARCH_MATCH_TEXT) {
      described = true;
      EXPECT_EQ(h.reason(), "description: " + h.concept().display());
      EXPECT_FALSE(h.has_reason_source());
    }
  }
  EXPECT_TRUE(described);
  // Every code returned is the release's: the Index's S52.50- (no such code in the sample) is
  // not; the billable filter applies to codes found through terms too.
  v1::SearchResponse radius = search("fracture radius lower end", "FY2025");
  for (const auto& h : radius.hits()) EXPECT_NE(h.concept().code(), "S52.50");
  v1::SearchResponse covid = search("covid", "FY2025", true);
  EXPECT_GE(covid.hits_size(), 1);
  for (const auto& h : covid.hits()) EXPECT_TRUE(h.concept().billable()) << h.concept().code();
  // Systems without supplements name none.
  v1::SearchRequest plain;
  plain.set_system("ICD10CM-TABULAR");
  plain.set_query("hypertension");
  auto none = client->Search(plain);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->supplements_size(), 0);

  // The CLI prints why under each hit found through a term, and the terms' releases.
  int rc;
  std::string out = server.RunCli("search --system=ICD10CM --limit=3 \"high blood pressure\"", &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const char* want : {"I10       billable Essential (primary) hypertension",
                           "                   (includes: high blood pressure)",
                           "terms of ICD10CM-INDEX FY2024"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
}

}  // namespace
}  // namespace codebook::testing
