// Integration test on the official releases in ../shared/data (skipped when absent): imports all
// ICD-10-CM, ICD-10-PCS and HCPCS releases in effective-date order through a real codebookd, then checks the
// change counts against the official addenda (SOURCES.md section 3.2) and the date-of-service
// edges named in the core issue.
#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <thread>
#include <atomic>
#include <iostream>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "importers/importers.h"
#include "importers/line_reader.h"
#include "tests/claim_lines.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;
const std::string kData = CODEBOOK_SHARED_DATA_DIR;

const std::vector<ReleaseFile> kReleases = {
    {"HCPCS", "2017", "2017-01-01", "hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt.gz"},
    {"HCPCS", "2018", "2018-01-01", "hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt.gz"},
    {"HCPCS", "2019", "2019-01-01", "hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt.gz"},
    {"HCPCS", "2023", "2023-01-01", "hcpcs-xlsx", "/hcpcs/2023/HCPC2023_JAN_ANWEB_v3.xlsx"},
    {"HCPCS", "2025", "2025-01-01", "hcpcs", "/hcpcs/2025/HCPC2025_JAN_ANWEB_12172024.txt.gz"},
    {"ICD10CM", "FY2017", "2016-10-01", "icd10cm-order", "/icd10cm/2017/icd10cm_order_2017.txt.gz"},
    {"ICD10CM-TABULAR", "FY2017", "2016-10-01", "icd10cm-tabular",
     "/icd10cm/2017/icd10cm_tabular_2017.xml.gz"},
    {"ICD10CM-INDEX", "FY2017", "2016-10-01", "icd10cm-index", "/icd10cm/2017"},
    {"ICD10CM", "FY2021-01", "2021-01-01", "icd10cm-order",
     "/icd10cm/2021-01/icd10cm-order-Jan-2021.txt.gz"},
    {"ICD10CM-TABULAR", "FY2021-01", "2021-01-01", "icd10cm-tabular",
     "/icd10cm/2021-01/icd10cm_tabular_2021.xml.gz"},
    {"ICD10CM", "FY2022", "2021-10-01", "icd10cm-order", "/icd10cm/2022/icd10cm-order-2022.txt.gz"},
    {"ICD10CM", "FY2022-04", "2022-04-01", "icd10cm-order",
     "/icd10cm/2022-04/icd10cm_order_2022.txt.gz"},
    {"ICD10CM", "FY2023", "2022-10-01", "icd10cm-order", "/icd10cm/2023/icd10cm-order-2023.txt.gz"},
    {"ICD10CM-TABULAR", "FY2023", "2022-10-01", "icd10cm-tabular",
     "/icd10cm/2023/icd10cm_tabular_2023.xml.gz"},
    {"ICD10CM", "FY2023-04", "2023-04-01", "icd10cm-order",
     "/icd10cm/2023-04/icd10cm_order_2023.txt.gz"},
    {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order", "/icd10cm/2024/icd10cm-order-2024.txt.gz"},
    {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order", "/icd10cm/2025/icd10cm_order_2025.txt.gz"},
    {"ICD10PCS", "FY2023-04", "2023-04-01", "icd10pcs-order",
     "/icd10pcs/2023-04/icd10pcs_order_2023.txt.gz"},
    {"ICD10PCS-TABLES", "FY2023-04", "2023-04-01", "icd10pcs-tables",
     "/icd10pcs/2023-04/icd10pcs_tables_2023.xml.gz"},
    {"ICD10PCS-INDEX", "FY2023-04", "2023-04-01", "icd10pcs-index", "/icd10pcs/2023-04"},
    {"ICD10PCS", "FY2024-04", "2024-04-01", "icd10pcs-order",
     "/icd10pcs/2024-04/icd10pcs_order_2024.txt.gz"},
    {"ICD10PCS", "FY2025", "2024-10-01", "icd10pcs-order", "/icd10pcs/2025/icd10pcs_order_2025.txt.gz"},
    {"ICD10PCS-TABLES", "FY2025", "2024-10-01", "icd10pcs-tables",
     "/icd10pcs/2025/icd10pcs_tables_2025.xml.gz"},
    {"ICD10PCS-INDEX", "FY2025", "2024-10-01", "icd10pcs-index", "/icd10pcs/2025"},
    {"ICD10PCS", "FY2026", "2025-10-01", "icd10pcs-order", "/icd10pcs/2026/icd10pcs_order_2026.txt.gz"},
};

class RealDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kData + "/icd10cm")) return;
    server_ = new TestServer();
    auto client = server_->NewClient();
    for (const ReleaseFile& f : kReleases) {
      auto concepts = importers::ParseFile(f.format, kData + f.path);
      ASSERT_TRUE(concepts.ok()) << concepts.status();
      // Claim lines are procedures of HCPCS and CPT with ICD-10-CM diagnoses.
      if (f.system == "ICD10CM" || f.system == "HCPCS") {
        claims_.AddRelease(f.system, f.effective, *concepts);
      } else if (f.system == "ICD10CM-TABULAR") {
        claims_.AddTabular(f.effective, *concepts);
      }
      auto r = client->ImportRelease(f.system, f.version, f.effective, f.path, *concepts, true);
      ASSERT_TRUE(r.ok()) << f.version << ": " << r.status();
      releases_[f.system + " " + f.version] = *r;
    }
    // CPT has no public release: the synthetic sample stands in for it.
    for (const char* year : {"2024", "2025"}) {
      auto concepts = importers::ParseFile("cpt", std::string(CODEBOOK_SAMPLE_DIR) + "/cpt/" + year);
      ASSERT_TRUE(concepts.ok()) << concepts.status();
      std::string effective = std::string(year) + "-01-01";
      claims_.AddRelease("CPT", effective, *concepts);
      auto r = client->ImportRelease("CPT", year, effective, "synthetic sample", *concepts, true);
      ASSERT_TRUE(r.ok()) << r.status();
    }
    // The first search of a release reads its Index and Tabular terms and builds its search
    // tables (about a second here, ten times that under the sanitizers): done once, unhurried,
    // so that the tests' own calls keep the usual deadline.
    ClientOptions patient;
    patient.target = server_->address();
    patient.deadline = absl::Minutes(5);
    Client warm(patient);
    for (const char* system : {"ICD10CM", "ICD10PCS", "HCPCS"}) {
      v1::SearchRequest req;
      req.set_system(system);
      req.set_query("a");
      auto r = warm.Search(req);
      ASSERT_TRUE(r.ok()) << system << ": " << r.status();
    }
  }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "official data not present in " << kData;
    client_ = server_->NewClient();
  }
  v1::ValidateCodeResponse Validate(const std::string& system, const std::string& code,
                                    const std::string& date) {
    auto r = client_->ValidateCode(system, code, date);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ValidateCodeResponse();
  }

  static TestServer* server_;
  static std::map<std::string, v1::Release> releases_;
  static ClaimLineGenerator claims_;
  std::unique_ptr<Client> client_;
};
TestServer* RealDataTest::server_ = nullptr;
std::map<std::string, v1::Release> RealDataTest::releases_;
ClaimLineGenerator RealDataTest::claims_;

TEST_F(RealDataTest, Icd10cmChangeCountsEqualTheOfficialAddenda) {
  // SOURCES.md 3.2: valid codes added / removed (including code->header) and headers added, from
  // the summary block of each newer release's order-addenda file.
  struct Official {
    std::string version;
    int64_t valid_added, valid_removed, headers_added;
  };
  for (const Official& o : std::vector<Official>{{"FY2022", 159, 32, 46},
                                                 {"FY2022-04", 3, 1, 2},
                                                 {"FY2023", 1176, 287, 328},
                                                 {"FY2023-04", 42, 7, 15},
                                                 {"FY2024", 395, 25, 131},
                                                 {"FY2025", 252, 36, 72}}) {
    const v1::ReleaseCounts& c = releases_.at("ICD10CM " + o.version).counts();
    EXPECT_EQ(c.billable_added(), o.valid_added) << o.version;
    EXPECT_EQ(c.billable_removed(), o.valid_removed) << o.version;
    EXPECT_EQ(c.headers_added(), o.headers_added) << o.version;
  }
  // SOURCES.md 3.1 totals.
  EXPECT_EQ(releases_.at("ICD10CM FY2025").counts().total(), 97584);
  EXPECT_EQ(releases_.at("ICD10CM FY2021-01").counts().total(), 95358);
}

TEST_F(RealDataTest, HcpcsCountsMatchTheFiles) {
  // SOURCES.md 3.4: codes in the file, those without a termination date, and step changes.
  EXPECT_EQ(releases_.at("HCPCS 2017").counts().total(), 6498);
  EXPECT_EQ(releases_.at("HCPCS 2017").counts().total_active(), 5968);
  EXPECT_EQ(releases_.at("HCPCS 2018").counts().total_active(), 6093);
  EXPECT_EQ(releases_.at("HCPCS 2019").counts().total_active(), 6285);
  EXPECT_EQ(releases_.at("HCPCS 2018").counts().added(), 168);
  EXPECT_EQ(releases_.at("HCPCS 2018").counts().deleted(), 107);
  EXPECT_EQ(releases_.at("HCPCS 2019").counts().added(), 244);
  EXPECT_EQ(releases_.at("HCPCS 2019").counts().deleted(), 3);
}

// Issue 10: every release in ../shared/data imports whole, with the counts SOURCES.md measured
// in the files (3.1, 3.3, 3.4), and the release in effect today (2026-12-01 or later) is each
// system's newest.
TEST_F(RealDataTest, EveryOfficialReleaseHasTheCountsOfItsFiles) {
  struct Official {
    std::string release;
    int64_t total, billable;
  };
  // ICD: order-file lines and valid (flag 1) codes; HCPCS: codes and procedures in the file.
  for (const Official& o : std::vector<Official>{{"ICD10CM FY2017", 93830, 71486},
                                                 {"ICD10CM FY2021-01", 95358, 72621},
                                                 {"ICD10CM FY2022", 95524, 72748},
                                                 {"ICD10CM FY2022-04", 95528, 72750},
                                                 {"ICD10CM FY2023", 96745, 73639},
                                                 {"ICD10CM FY2023-04", 96795, 73674},
                                                 {"ICD10CM FY2024", 97296, 74044},
                                                 {"ICD10CM FY2025", 97584, 74260},
                                                 {"ICD10PCS FY2023-04", 79431, 78530},
                                                 {"ICD10PCS FY2024-04", 79543, 78638},
                                                 {"ICD10PCS FY2025", 79856, 78948},
                                                 {"ICD10PCS FY2026", 80029, 79115},
                                                 {"HCPCS 2017", 6498, 6155},
                                                 {"HCPCS 2018", 6559, 6205},
                                                 {"HCPCS 2019", 6800, 6440},
                                                 {"HCPCS 2023", 7785, 7404},
                                                 {"HCPCS 2025", 8642, 8259}}) {
    const v1::Release& r = releases_.at(o.release);
    EXPECT_EQ(r.counts().total(), o.total) << o.release;
    int64_t codes = 0;
    v1::ExportReleaseRequest req;
    req.set_system(r.system());
    *req.mutable_selector() = Selector::Version(r.version());
    absl::Status s = client_->ExportRelease(req, [&](const v1::ExportReleaseResponse& m) {
      for (const auto& c : m.concepts()) codes += c.billable();
      return true;
    });
    ASSERT_TRUE(s.ok()) << o.release << ": " << s;
    EXPECT_EQ(codes, o.billable) << o.release;
  }
  // SOURCES.md 3.3: ICD-10-PCS steps (codes added and removed, headers added).
  struct Step {
    std::string release;
    int64_t added, removed, headers_added;
  };
  for (const Step& o : std::vector<Step>{{"ICD10PCS FY2024-04", 119, 11, 5},
                                         {"ICD10PCS FY2025", 371, 61, 3},
                                         {"ICD10PCS FY2026", 206, 39, 6}}) {
    const v1::ReleaseCounts& c = releases_.at(o.release).counts();
    EXPECT_EQ(c.billable_added(), o.added) << o.release;
    EXPECT_EQ(c.billable_removed(), o.removed) << o.release;
    EXPECT_EQ(c.headers_added(), o.headers_added) << o.release;
  }
  // SOURCES.md 3.4: codes without a termination date.
  EXPECT_EQ(releases_.at("HCPCS 2023").counts().total_active(), 6840);
  EXPECT_EQ(releases_.at("HCPCS 2025").counts().total_active(), 7477);
  for (const auto& [system, newest] : std::vector<std::pair<std::string, std::string>>{
           {"ICD10CM", "FY2025"}, {"ICD10PCS", "FY2026"}, {"HCPCS", "2025"}}) {
    auto today = client_->GetRelease(system, Selector::Today());
    ASSERT_TRUE(today.ok()) << system << ": " << today.status();
    EXPECT_EQ(today->version(), newest) << system;
  }
}

TEST_F(RealDataTest, ReleasesAreInEffectiveDateOrder) {
  auto list = client_->ListReleases("ICD10CM");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 8u);
  for (size_t i = 1; i < list->size(); ++i) {
    EXPECT_LT((*list)[i - 1].effective_date(), (*list)[i].effective_date());
    EXPECT_EQ((*list)[i].sequence(), (*list)[i - 1].sequence() + 1);
  }
}

TEST_F(RealDataTest, DateOfServiceEdges) {
  EXPECT_EQ(Validate("ICD10CM", "Z28.310", "2022-03-31").outcome(),
            v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE);
  EXPECT_TRUE(Validate("ICD10CM", "Z28.310", "2022-04-01").valid());
  EXPECT_TRUE(Validate("ICD10CM", "Z28310", "2022-04-01").valid());
  EXPECT_TRUE(Validate("ICD10CM", "T81.32XA", "2024-09-30").valid());
  auto deleted = Validate("ICD10CM", "T81.32XA", "2024-10-01");
  EXPECT_EQ(deleted.outcome(), v1::VALIDATION_OUTCOME_DELETED);
  EXPECT_EQ(deleted.deleted_in().version(), "FY2025");
  EXPECT_NE(deleted.message().find("deleted in ICD10CM FY2025"), std::string::npos);
  EXPECT_TRUE(Validate("HCPCS", "G0505", "2017-12-31").valid());
  auto terminated = Validate("HCPCS", "G0505", "2018-01-01");
  EXPECT_EQ(terminated.outcome(), v1::VALIDATION_OUTCOME_TERMINATED);
  EXPECT_EQ(terminated.concept().termination_date(), "2017-12-31");
  auto header = Validate("ICD10CM", "E11", "2024-11-01");
  EXPECT_EQ(header.outcome(), v1::VALIDATION_OUTCOME_NOT_BILLABLE);
  EXPECT_EQ(header.concept().display(), "Type 2 diabetes mellitus");
}

TEST_F(RealDataTest, LookupsFromTheIssue) {
  auto r = client_->Lookup("ICD10CM", "T40.7X1A", Selector::Version("FY2022"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("deleted in ICD10CM FY2022"), std::string::npos);
  r = client_->Lookup("ICD10CM", "T40.7X1A", Selector::Version("FY2021-01"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->concept().code(), "T40.7X1A");
  auto h = client_->Lookup("HCPCS", "G0506", Selector::DateOfService("2019-03-01"));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->release().version(), "2019");
  EXPECT_NE(h->concept().display().find("chronic care management"), std::string::npos);
  auto batch = client_->BatchLookup("HCPCS", {"G0506", "LT", "A4206", "ZZZ-ZZ"},
                                    Selector::Version("2019"));
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->results(1).concept().kind(), v1::CONCEPT_KIND_MODIFIER);
  EXPECT_EQ(batch->results(3).outcome(), v1::LOOKUP_OUTCOME_MALFORMED);
}

std::vector<v1::DiffReleasesResponse> DiffOverRpc(Client& client, const std::string& system,
                                                  const std::string& from, const std::string& to,
                                                  bool summary_only) {
  v1::DiffReleasesRequest req;
  req.set_system(system);
  req.set_from_version(from);
  req.set_to_version(to);
  req.set_summary_only(summary_only);
  std::vector<v1::DiffReleasesResponse> out;
  absl::Status s = client.DiffReleases(req, [&](const v1::DiffReleasesResponse& m) {
    out.push_back(m);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST_F(RealDataTest, DiffSummariesEqualTheOfficialAddenda) {
  struct Official {
    std::string from, to;
    int64_t valid_added, valid_removed, headers_added;
  };
  for (const Official& o : std::vector<Official>{{"FY2021-01", "FY2022", 159, 32, 46},
                                                 {"FY2022", "FY2022-04", 3, 1, 2},
                                                 {"FY2022-04", "FY2023", 1176, 287, 328},
                                                 {"FY2023", "FY2023-04", 42, 7, 15},
                                                 {"FY2023-04", "FY2024", 395, 25, 131},
                                                 {"FY2024", "FY2025", 252, 36, 72}}) {
    auto msgs = DiffOverRpc(*client_, "ICD10CM", o.from, o.to, /*summary_only=*/true);
    ASSERT_FALSE(msgs.empty());
    const v1::DiffSummary& s = msgs.back().summary();
    EXPECT_EQ(s.billable_added(), o.valid_added) << o.to;
    EXPECT_EQ(s.billable_removed(), o.valid_removed) << o.to;
    EXPECT_EQ(s.headers_added(), o.headers_added) << o.to;
  }
}

TEST_F(RealDataTest, CodeHistories) {
  auto t = client_->GetCodeHistory("ICD10CM", "T81.32XA");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->events_size(), 2);
  EXPECT_EQ(t->events(0).release().version(), "FY2017");
  EXPECT_EQ(t->events(1).release().version(), "FY2025");
  EXPECT_EQ(t->events(1).types(0), v1::CHANGE_TYPE_DELETED);
  auto g = client_->GetCodeHistory("HCPCS", "G0505");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_GE(g->events_size(), 2);
  EXPECT_EQ(g->events(1).release().version(), "2018");
  EXPECT_EQ(g->events(1).after().termination_date(), "2017-12-31");
  EXPECT_EQ(g->events(1).after().status(), v1::CONCEPT_STATUS_INACTIVE);
}

// CMS's 2019 change report ("Changes by HCPCS code") against our 2018 -> 2019 diff. The report
// has one line per code of the new file; ADD and Discontinued are its code-level changes.
TEST_F(RealDataTest, HcpcsDiffReconcilesWithTheCmsChangeReport) {
  auto reader = importers::LineReader::Open(kData + "/hcpcs/2019/Changes_by_HCPCSCode.prn.gz");
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::set<std::string> cms_add, cms_discontinued;
  std::regex row("^\\s*(\\S+)\\s+(ADD|Discontinued)\\b.*");
  std::string line;
  std::smatch m;
  while ((*reader)->Next(&line)) {
    if (std::regex_match(line, m, row)) {
      (m[2] == "ADD" ? cms_add : cms_discontinued).insert(m[1]);
    }
  }
  ASSERT_EQ(cms_add.size(), 228u);
  ASSERT_EQ(cms_discontinued.size(), 49u);

  std::set<std::string> newly_active, newly_inactive, added_terminated, dropped;
  auto active = [](bool has, const v1::Concept& c) {
    return has && c.status() == v1::CONCEPT_STATUS_ACTIVE;
  };
  for (const auto& msg : DiffOverRpc(*client_, "HCPCS", "2018", "2019", false)) {
    for (const auto& c : msg.changes()) {
      bool was = active(c.has_before(), c.before()), is = active(c.has_after(), c.after());
      if (!was && is) newly_active.insert(c.code());
      if (was && !is) newly_inactive.insert(c.code());
      if (!c.has_before() && c.has_after() && !is) added_terminated.insert(c.code());
      if (c.has_before() && !c.has_after()) dropped.insert(c.code());
    }
  }
  // ADD: CMS counts against its quarterly updates, our 2018 file is the annual one of March 2018.
  //  - G9868-G9870 (added 2018-01-01) are missing from that file, and Q2041 was added on
  //    2018-04-01: new to us, "No Change"/"Long Description Change" to CMS;
  //  - QQ, VM (added during 2018) are already in that file, and G9890, G9891 were reused for new
  //    services on 2018-04-01: ADD to CMS, present (changed) for us.
  std::set<std::string> expected_add = newly_active;
  for (const char* c : {"G9868", "G9869", "G9870", "Q2041"}) expected_add.erase(c);
  for (const char* c : {"G9890", "G9891", "QQ", "VM"}) expected_add.insert(c);
  EXPECT_TRUE(expected_add == cms_add);
  // Discontinued: our newly inactive codes, less those dropped from the 2019 file altogether
  // (the report lists only codes in the file), plus the codes added and discontinued within
  // 2018, which appear in 2019 already terminated.
  EXPECT_EQ(dropped, (std::set<std::string>{"DA", "G9976", "G9977"}));
  EXPECT_EQ(added_terminated.size(), 16u);
  std::set<std::string> expected_disc;
  for (const auto& c : newly_inactive) {
    if (!dropped.count(c)) expected_disc.insert(c);
  }
  expected_disc.insert(added_terminated.begin(), added_terminated.end());
  EXPECT_TRUE(expected_disc == cms_discontinued);
}

TEST_F(RealDataTest, HistoryShowsConversionTableLinks) {
  for (const char* table : {"/icd10cm/conversion/icd-10-cm-conversion-table-FY2025.xlsx"}) {
    auto links = importers::ParseIcd10CmConversion(kData + table);
    ASSERT_TRUE(links.ok()) << links.status();
    auto stored = client_->AddCodeLinks("ICD10CM", *links);
    ASSERT_TRUE(stored.ok()) << stored.status();
  }
  auto h = client_->GetCodeHistory("ICD10CM", "T81.32XA");
  ASSERT_TRUE(h.ok()) << h.status();
  std::set<std::string> successors;
  for (const auto& l : h->successors()) successors.insert(l.code());
  EXPECT_TRUE(successors.count("T81.320A")) << h->DebugString();
  auto n = client_->GetCodeHistory("ICD10CM", "T81.320A");
  ASSERT_TRUE(n.ok());
  ASSERT_GE(n->predecessors_size(), 1);
  EXPECT_EQ(n->predecessors(0).previous_code(), "T81.32XA");
  EXPECT_EQ(n->events(0).release().version(), "FY2025");
}

TEST_F(RealDataTest, WideDiffEqualsTheCompositionOfSingleSteps) {
  const std::vector<std::string> versions = {"FY2021-01", "FY2022", "FY2022-04", "FY2023",
                                             "FY2023-04", "FY2024", "FY2025"};
  // Per code: the concept before the first step that touched it, and after the last one
  // ("" when absent), from the single-step diffs.
  std::map<std::string, std::string> first_before, last_after;
  for (size_t i = 1; i < versions.size(); ++i) {
    for (const auto& m : DiffOverRpc(*client_, "ICD10CM", versions[i - 1], versions[i], false)) {
      for (const auto& c : m.changes()) {
        if (!first_before.count(c.code())) {
          first_before[c.code()] = c.has_before() ? c.before().SerializeAsString() : "";
        }
        last_after[c.code()] = c.has_after() ? c.after().SerializeAsString() : "";
      }
    }
  }
  std::map<std::string, std::pair<std::string, std::string>> composed;
  for (const auto& [code, before] : first_before) {
    if (before != last_after[code]) composed[code] = {before, last_after[code]};
  }
  std::map<std::string, std::pair<std::string, std::string>> wide;
  for (const auto& m : DiffOverRpc(*client_, "ICD10CM", versions.front(), versions.back(), false)) {
    for (const auto& c : m.changes()) {
      wide[c.code()] = {c.has_before() ? c.before().SerializeAsString() : "",
                        c.has_after() ? c.after().SerializeAsString() : ""};
    }
  }
  EXPECT_GT(wide.size(), 1000u);  // a real test: thousands of codes changed over 6 steps
  EXPECT_EQ(wide.size(), composed.size());
  EXPECT_TRUE(wide == composed);
}

}  // namespace
TEST_F(RealDataTest, SearchRelevance) {
  struct Row {
    std::string kind, system, query, expected;
  };
  std::vector<Row> rows;
  std::ifstream in(std::string(CODEBOOK_TESTS_DIR) + "/search_relevance.tsv");
  ASSERT_TRUE(in) << "tests/search_relevance.tsv";
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 4u) << line;
    rows.push_back({f[0], f[1], f[2], f[3]});
  }
  ASSERT_GE(rows.size(), 40u);
  int first = 0, top5 = 0;
  std::string table = absl::StrFormat("%-3s %-7s %-8s %-52s %-9s %-4s %s\n", "#", "kind",
                                      "system", "query", "expected", "rank", "first hit");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    v1::SearchRequest req;
    req.set_system(row.system);
    req.set_query(row.query);
    req.set_page_size(5);
    *req.mutable_selector() = Selector::Version(row.system == "ICD10CM" ? "FY2025" : "2019");
    auto r = client_->Search(req);
    ASSERT_TRUE(r.ok()) << row.query << ": " << r.status();
    int rank = 0;
    for (int k = 0; k < r->hits_size(); ++k) {
      if (r->hits(k).concept().code() == row.expected) {
        rank = k + 1;
        break;
      }
    }
    first += rank == 1;
    top5 += rank >= 1;
    std::string hit = r->hits_size() > 0 ? absl::StrCat(r->hits(0).concept().code(), " ",
                                                        r->hits(0).concept().display())
                                         : "(none)";
    absl::StrAppendFormat(&table, "%-3d %-7s %-8s %-52s %-9s %-4s %s\n", i + 1, row.kind,
                          row.system, row.query, row.expected,
                          rank == 0 ? "-" : absl::StrCat(rank), hit.substr(0, 70));
  }
  double n = static_cast<double>(rows.size());
  absl::StrAppendFormat(&table, "expected code first: %d of %d (%.0f%%); in the top 5: %d of %d (%.0f%%)\n",
                        first, rows.size(), 100 * first / n, top5, rows.size(), 100 * top5 / n);
  std::cout << table;
  EXPECT_GE(top5 / n, 0.90);
  EXPECT_GE(first / n, 0.70);
}

TEST_F(RealDataTest, PcsCodesAreExplainedByTheTablesAndFoundThroughTheIndex) {
  // Today's release (FY2026) has no Tables of its own: FY2025's explain it, and say so.
  auto r = client_->Lookup("ICD10PCS", "0DTJ0ZZ", Selector::Today());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->release().version(), "FY2026");
  EXPECT_EQ(r->pcs().source().version(), "FY2025");
  EXPECT_TRUE(r->pcs().in_table());
  std::vector<std::string> meanings;
  for (const auto& c : r->pcs().characters()) meanings.push_back(c.meaning());
  EXPECT_EQ(meanings, (std::vector<std::string>{"Medical and Surgical", "Gastrointestinal System",
                                                "Resection", "Appendix", "Open", "No Device",
                                                "No Qualifier"}));
  EXPECT_EQ(r->pcs().characters(3).axis(), "Body Part");
  // FY2023-04 is explained by its own Tables; every code of a table's rows has its seven.
  auto old = client_->Lookup("ICD10PCS", "0DTJ0ZZ", Selector::Version("FY2023-04"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->pcs().source().version(), "FY2023-04");
  for (const char* code : {"00160J0", "XW033E5", "B030ZZZ", "GZ3ZZZZ", "0SRC0J9"}) {
    auto c = client_->Lookup("ICD10PCS", code, Selector::Version("FY2025"));
    ASSERT_TRUE(c.ok()) << code << ": " << c.status();
    EXPECT_EQ(c->pcs().characters_size(), 7) << code;
    EXPECT_TRUE(c->pcs().in_table()) << code;
  }
  // "appendectomy": the Index's Resection, Appendix (0DTJ) first.
  v1::SearchRequest req;
  req.set_system("ICD10PCS");
  req.set_query("appendectomy");
  req.set_page_size(5);
  auto found = client_->Search(req);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_GE(found->hits_size(), 1);
  EXPECT_TRUE(absl::StartsWith(found->hits(0).concept().code(), "0DTJ"))
      << found->hits(0).concept().code();
  EXPECT_EQ(found->hits(0).reason(), "index: Appendectomy, see Resection, Appendix -> 0DTJ...");
  EXPECT_EQ(found->hits(0).reason_source().version(), "FY2025");
  for (const auto& h : found->hits()) {
    std::cout << h.concept().code() << " " << h.concept().display() << "  (" << h.reason() << ")\n";
  }
}

TEST_F(RealDataTest, ClinicalSearchRelevance) {
  struct Row {
    std::string query, expected, source, entry;
  };
  std::vector<Row> rows;
  std::ifstream in(std::string(CODEBOOK_TESTS_DIR) + "/search_clinical.tsv");
  ASSERT_TRUE(in) << "tests/search_clinical.tsv";
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ASSERT_EQ(f.size(), 4u) << line;
    rows.push_back({f[0], f[1], f[2], f[3]});
  }
  ASSERT_GE(rows.size(), 60u);
  // Each expectation is the publisher's: the Index term's code (or its "see" target's), or the
  // Tabular note under the expected code.
  for (const Row& row : rows) {
    if (row.source == "index") {
      auto r = client_->Lookup("ICD10CM-INDEX", row.entry, Selector::Version("FY2017"));
      ASSERT_TRUE(r.ok()) << row.entry << ": " << r.status();
      const auto& props = r->concept().properties();
      std::string code = props.count("code") ? props.at("code")
                         : props.count("see.code") ? props.at("see.code")
                                                   : "";
      EXPECT_EQ(std::string(absl::StripSuffix(code, "-")), row.expected) << row.entry;
    } else {
      ASSERT_EQ(row.source, "tabular") << row.query;
      std::pair<std::string, std::string> code_kind = absl::StrSplit(row.entry, ' ');
      std::string text(absl::StripPrefix(row.entry, code_kind.first + " " + code_kind.second));
      text = std::string(absl::StripPrefix(text, " "));
      code_kind.second = std::string(absl::StripSuffix(code_kind.second, ":"));
      EXPECT_EQ(code_kind.first, row.expected) << row.entry;
      auto r = client_->Lookup("ICD10CM-TABULAR", code_kind.first, Selector::Version("FY2023"));
      ASSERT_TRUE(r.ok()) << row.entry << ": " << r.status();
      bool found = false;
      for (const auto& d : r->concept().designations()) {
        found |= d.use() == code_kind.second && d.value() == text;
      }
      EXPECT_TRUE(found) << row.entry;
    }
  }
  int first = 0, top5 = 0;
  std::string table = absl::StrFormat("%-3s %-26s %-8s %-7s %-4s %-9s %s\n", "#", "query",
                                      "expected", "source", "rank", "first", "why");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    v1::SearchRequest req;
    req.set_system("ICD10CM");
    req.set_query(row.query);
    req.set_page_size(5);
    *req.mutable_selector() = Selector::Today();
    auto r = client_->Search(req);
    ASSERT_TRUE(r.ok()) << row.query << ": " << r.status();
    ASSERT_EQ(r->release().version(), "FY2025");
    // The terms come from the Index and Tabular serving FY2025, and say so.
    ASSERT_EQ(r->supplements_size(), 2) << row.query;
    EXPECT_EQ(r->supplements(0).version(), "FY2017");
    EXPECT_EQ(r->supplements(1).version(), "FY2023");
    int rank = 0;
    for (int k = 0; k < r->hits_size(); ++k) {
      const v1::SearchHit& h = r->hits(k);
      EXPECT_FALSE(h.reason().empty()) << row.query << " " << h.concept().code();
      if (h.match() == v1::SEARCH_MATCH_INDEX || h.match() == v1::SEARCH_MATCH_NOTE) {
        EXPECT_EQ(h.reason_source().system(), h.match() == v1::SEARCH_MATCH_INDEX
                                                  ? "ICD10CM-INDEX"
                                                  : "ICD10CM-TABULAR");
      }
      if (rank == 0 && h.concept().code() == row.expected) rank = k + 1;
    }
    first += rank == 1;
    top5 += rank >= 1;
    std::string hit = r->hits_size() > 0 ? absl::StrCat(r->hits(0).concept().code(), " ",
                                                        r->hits(0).reason())
                                         : "(none)";
    absl::StrAppendFormat(&table, "%-3d %-26s %-8s %-7s %-4s %s\n", i + 1, row.query,
                          row.expected, row.source, rank == 0 ? "-" : absl::StrCat(rank),
                          hit.substr(0, 80));
  }
  double n = static_cast<double>(rows.size());
  absl::StrAppendFormat(&table,
                        "clinical words: expected code first: %d of %d (%.0f%%); in the top 5: "
                        "%d of %d (%.0f%%)\n",
                        first, rows.size(), 100 * first / n, top5, rows.size(), 100 * top5 / n);
  std::cout << table;
  EXPECT_GE(top5 / n, 0.90);
  EXPECT_GE(first / n, 0.60);
}

TEST_F(RealDataTest, TenThousandGeneratedClaimLinesGetTheExpectedAnswers) {
  // Dates over 2017-2025: HCPCS 2017-2019, ICD-10-CM from January 2021, synthetic CPT 2024-2025,
  // so lines before a system's first release are in the mix too.
  std::vector<v1::ClaimLine> lines = claims_.Generate(10000, 20261127, "2017-01-01", "2025-12-31");
  std::map<std::string, int> kinds;  // issue kind -> lines having it
  int valid = 0;
  for (const auto& l : lines) {
    std::vector<std::string> expected = claims_.Expected(l);
    valid += ClaimLineGenerator::Valid(expected);
    std::set<std::string> seen;
    for (const std::string& e : expected) seen.insert(e.substr(e.rfind(':') + 1));
    for (const std::string& k : seen) ++kinds[k];
  }
  // The mix is a real one: valid lines and every kind of issue.
  EXPECT_GT(valid, 1000);
  EXPECT_LT(valid, 9000);
  for (const char* k : {"DELETED", "NOT_YET_EFFECTIVE", "TERMINATED", "UNKNOWN_CODE",
                        "NOT_BILLABLE", "UNKNOWN_MODIFIER", "WRONG_KIND", "NO_RELEASE",
                        "INVALID_UNITS", "MISSING_DIAGNOSIS", "MISSING_SEVENTH_CHARACTER",
                        "USE_ADDITIONAL_CODE(advisory)", "CODE_FIRST(advisory)"}) {
    EXPECT_GT(kinds[k], 0) << k;
  }

  v1::ValidateClaimRequest req;
  for (const auto& l : lines) *req.add_lines() = l;
  auto r = client_->ValidateClaim(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 10000);
  int mismatches = 0;
  for (int i = 0; i < 10000; ++i) {
    std::vector<std::string> expected = claims_.Expected(lines[i]);
    std::vector<std::string> got = ClaimLineGenerator::Issues(r->results(i));
    if (got != expected || r->results(i).valid() != ClaimLineGenerator::Valid(expected) ||
        r->results(i).line_id() != lines[i].line_id()) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "line " << lines[i].ShortDebugString() << "\n  expected "
                      << absl::StrJoin(expected, " ") << "\n  got      "
                      << absl::StrJoin(got, " ");
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(r->valid_lines(), valid);

  // The stream form: the same answers, in order.
  int index = 0;
  mismatches = 0;
  absl::Status s = client_->ValidateClaimStream(lines, [&](const v1::ClaimLineResult& res) {
    if (index >= 10000 || ClaimLineGenerator::Issues(res) != claims_.Expected(lines[index]) ||
        res.index() != index) {
      ++mismatches;
    }
    ++index;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(index, 10000);
  EXPECT_EQ(mismatches, 0);
  std::cout << "claim lines: " << valid << " valid, " << 10000 - valid << " invalid; lines per issue kind:";
  for (const auto& [k, n] : kinds) std::cout << " " << k << "=" << n;
  std::cout << "\n";
}

TEST_F(RealDataTest, BackupUnderLoadRestoresEveryReleaseWithItsChecksum) {
  char tmpl[] = "/tmp/codebook-real-backup-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, errors{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      auto c = server_->NewClient();
      std::vector<std::string> codes = {"E11.9", "I10", "T81.32XA", "Z28.310", "J44.1"};
      while (!stop) {
        v1::SearchRequest req;
        req.set_system("ICD10CM");
        req.set_query(t % 2 ? "fracture of radius" : "diab");
        auto s = c->Search(req);
        auto b = c->BatchLookup("ICD10CM", codes);
        (s.ok() && b.ok() ? reads : errors)++;
      }
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  auto backup = client_->CreateBackup(dir + "/backup");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  for (auto& t : load) t.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(errors.load(), 0);
  std::map<std::string, std::string> primary;
  for (const char* system :
       {"CPT", "HCPCS", "ICD10CM", "ICD10CM-INDEX", "ICD10CM-TABULAR", "ICD10PCS",
        "ICD10PCS-INDEX", "ICD10PCS-TABLES"}) {
    auto releases = client_->ListReleases(system);
    ASSERT_TRUE(releases.ok()) << releases.status();
    for (const auto& r : *releases) primary[r.system() + " " + r.version()] = r.checksum();
  }
  std::map<std::string, std::string> backed_up;
  for (const auto& r : backup->releases()) backed_up[r.system() + " " + r.version()] = r.checksum();
  EXPECT_EQ(backed_up, primary);
  // 8 ICD-10-CM with 3 Tabulars and 1 Index, 4 ICD-10-PCS with 2 Tables and 2 Indexes, 5 HCPCS,
  // 2 synthetic CPT.
  ASSERT_EQ(backed_up.size(), 27u);
  // Restore into a new folder and recompute every checksum there.
  std::filesystem::copy(dir + "/backup", dir + "/restored", std::filesystem::copy_options::recursive);
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --verify --db=" + dir + "/restored", &out), 0)
      << out;
  EXPECT_NE(out.find("27 releases in " + dir + "/restored, every checksum matches"),
            std::string::npos)
      << out;
  std::cout << "backup under load (" << reads.load() << " search+batch calls meanwhile): "
            << backed_up.size() << " releases, " << backup->bytes() / 1e6 << " MB in " << seconds
            << " s; restored copy: every checksum recomputed and equal\n";
  std::filesystem::remove_all(dir);
}

// The official Tabular Lists as supplements: each answers its own release and the later ones
// without a Tabular, by name; its notes, 7th characters and blocks are the file's.
TEST_F(RealDataTest, TabularNotesAnswerTheirReleaseAndLaterOnes) {
  struct Case {
    std::string version, source;
  };
  for (const Case& c : std::vector<Case>{{"FY2017", "FY2017"},
                                         {"FY2021-01", "FY2021-01"},
                                         {"FY2022", "FY2021-01"},
                                         {"FY2023", "FY2023"},
                                         {"FY2025", "FY2023"}}) {
    auto r = client_->Lookup("ICD10CM", "I10", Selector::Version(c.version));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->release().version(), c.version);
    EXPECT_EQ(r->tabular().source().system(), "ICD10CM-TABULAR");
    EXPECT_EQ(r->tabular().source().version(), c.source) << c.version;
    EXPECT_EQ(r->tabular().block().code(), "I10-I16");
    EXPECT_EQ(r->tabular().chapter().code(), "CHAPTER-9");
    EXPECT_EQ(r->tabular().chapter().display(), "Diseases of the circulatory system (I00-I99)");
    ASSERT_GE(r->tabular().notes_size(), 1);
    EXPECT_EQ(r->tabular().notes(0).kind(), "includes");
    EXPECT_EQ(r->tabular().notes(0).text(), "high blood pressure");
  }
  // The release in effect today (FY2025): I10's Excludes1 with its ranges, the block's notes
  // after it.
  auto i10 = client_->Lookup("ICD10CM", "I10", Selector::Today());
  ASSERT_TRUE(i10.ok());
  EXPECT_EQ(i10->release().version(), "FY2025");
  bool excludes1 = false, block_note = false;
  for (const auto& n : i10->tabular().notes()) {
    if (n.kind() == "excludes1" && n.from() == "I10") {
      excludes1 = true;
      EXPECT_EQ(n.text(), "hypertensive disease complicating pregnancy, childbirth and the "
                          "puerperium (O10-O11, O13-O16)");
      ASSERT_EQ(n.references_size(), 2);
      EXPECT_EQ(n.references(0).first(), "O10");
      EXPECT_EQ(n.references(0).last(), "O11");
    }
    block_note |= n.from() == "I10-I16" && n.kind() == "useAdditionalCode";
  }
  EXPECT_TRUE(excludes1);
  EXPECT_TRUE(block_note);
  // S52.501 needs a 7th character from S52's definition; T81.32XA (FY2024) has its own.
  auto s52 = client_->Lookup("ICD10CM", "S52.501", Selector::Today());
  ASSERT_TRUE(s52.ok()) << s52.status();
  EXPECT_TRUE(s52->tabular().needs_seventh_character());
  EXPECT_EQ(s52->tabular().seventh_characters_from(), "S52");
  ASSERT_EQ(s52->tabular().seventh_characters_size(), 16);
  EXPECT_EQ(s52->tabular().seventh_characters(0).character(), "A");
  EXPECT_EQ(s52->tabular().seventh_characters(0).meaning(),
            "initial encounter for closed fracture");
  auto t81 = client_->Lookup("ICD10CM", "T81.32XA", Selector::Version("FY2024"));
  ASSERT_TRUE(t81.ok()) << t81.status();
  EXPECT_FALSE(t81->tabular().needs_seventh_character());
  EXPECT_EQ(t81->tabular().seventh_characters_from(), "T81");
  // What changed between two Tabulars is a diff of the supplement: FY2023 has 852 more diags
  // than FY2021-01 (SOURCES.md 3.5: 45,869 and 45,017; blocks and chapters alike), and notes
  // changed.
  v1::DiffReleasesRequest req;
  req.set_system("ICD10CM-TABULAR");
  req.set_from_version("FY2021-01");
  req.set_to_version("FY2023");
  req.set_summary_only(true);
  v1::DiffSummary d;
  absl::Status s = client_->DiffReleases(req, [&](const v1::DiffReleasesResponse& m) {
    if (m.has_summary()) d = m.summary();
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(d.added() - d.deleted(), 45869 - 45017);
  EXPECT_GT(d.designation_changed(), 0);
  EXPECT_GT(d.property_changed(), 0);
  // A diff of two ICD-10-CM releases reports the supplements' differences too: FY2021-01 and
  // FY2023 have Tabulars of their own; FY2023-04 -> FY2024 share FY2023's.
  v1::DiffReleasesRequest base_diff;
  base_diff.set_system("ICD10CM");
  base_diff.set_from_version("FY2021-01");
  base_diff.set_to_version("FY2023");
  base_diff.set_summary_only(true);
  std::vector<v1::SupplementDiff> sups;
  s = client_->DiffReleases(base_diff, [&](const v1::DiffReleasesResponse& m) {
    for (const auto& x : m.supplements()) sups.push_back(x);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(sups.size(), 2u);  // the Index (FY2017 on both sides), the Tabular
  EXPECT_EQ(sups[0].system(), "ICD10CM-INDEX");
  EXPECT_EQ(sups[0].summary().changed_codes(), 0);
  EXPECT_EQ(sups[1].system(), "ICD10CM-TABULAR");
  EXPECT_EQ(sups[1].from().version(), "FY2021-01");
  EXPECT_EQ(sups[1].to().version(), "FY2023");
  EXPECT_EQ(sups[1].summary().changed_codes(), d.changed_codes());
  EXPECT_EQ(sups[1].summary().added(), d.added());
  int rc = 0;
  std::string printed = server_->RunCli(
      "diff --system=ICD10CM --from=FY2021-01 --to=FY2023 --summary", &rc);
  EXPECT_EQ(rc, 0) << printed;
  EXPECT_NE(printed.find("ICD10CM-TABULAR FY2021-01 -> FY2023: "), std::string::npos) << printed;

  // The hierarchy: a category's block and chapter from the Tabular that serves the release.
  auto up = client_->GetAncestors("ICD10CM", "I10", Selector::Today());
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_EQ(up->ancestors_size(), 2);
  EXPECT_EQ(up->ancestors(0).code(), "I10-I16");
  EXPECT_EQ(up->ancestors(1).code(), "CHAPTER-9");
  v1::GetChildrenRequest top;
  top.set_system("ICD10CM");
  top.set_page_size(5000);
  auto chapters = client_->GetChildren(top);
  ASSERT_TRUE(chapters.ok()) << chapters.status();
  int chapter_count = 0;
  for (const auto& c : chapters->children()) {
    chapter_count += absl::StartsWith(c.code(), "CHAPTER-");
  }
  EXPECT_EQ(chapter_count, 22);
  std::cout << "FY2025 top level: " << chapter_count << " chapters and "
            << chapters->children_size() - chapter_count
            << " categories that the FY2023 Tabular's blocks do not hold\n";
  v1::GetChildrenRequest block;
  block.set_system("ICD10CM");
  block.set_code("I10-I16");
  auto categories = client_->GetChildren(block);
  ASSERT_TRUE(categories.ok()) << categories.status();
  std::vector<std::string> held;
  for (const auto& c : categories->children()) held.push_back(c.code());
  EXPECT_EQ(held, (std::vector<std::string>{"I10", "I11", "I12", "I13", "I15", "I16"}));
  EXPECT_EQ(categories->children(0).parent(), "I10-I16");
  // I1A came in FY2024, after the newest Tabular: FY2025 answers it at the top level, with no
  // block, rather than lose it.
  bool i1a_at_top = false;
  for (const auto& c : chapters->children()) i1a_at_top |= c.code() == "I1A" && c.parent().empty();
  EXPECT_TRUE(i1a_at_top);

  // The FY2017 Index is a supplement release too: 94,117 terms (SOURCES.md 3.5: 7,973 + 69,226
  // index, 314 + 7,258 external cause, 5,170 + 2,246 drug, 1 + 1,929 neoplasm), see resolved.
  EXPECT_EQ(releases_.at("ICD10CM-INDEX FY2017").counts().total(), 94117);
  auto heart = client_->Lookup("ICD10CM-INDEX", "INDEX:ATTACK, ATTACKS>HEART",
                               Selector::Version("FY2017"));
  ASSERT_TRUE(heart.ok()) << heart.status();
  EXPECT_EQ(heart->concept().display(), "Attack, attacks, heart");
  EXPECT_EQ(heart->concept().properties().at("see"), "infarct, myocardium");
  EXPECT_EQ(heart->concept().properties().at("see.code").substr(0, 3), "I21");
}

// Claim checks from the Tabular's notes, on real codes (FY2025 answered with the FY2023
// Tabular's notes), each reason quoting its note and naming the Tabular release.
TEST_F(RealDataTest, ClaimLinesAreCheckedAgainstTheTabularNotes) {
  struct Case {
    std::vector<std::string> dx;
    std::vector<std::string> issues;  // ClaimLineGenerator::Issues form
    bool valid;
    std::string quote;  // in the first issue's message
  };
  const std::vector<Case> cases = {
      // I10's Excludes1 names O10-O11: pre-existing hypertension in childbirth is coded there.
      {{"I10", "O10.02"},
       {"diagnosis:I10:EXCLUDES1"},
       false,
       "I10 and O10.02 are not reported together: Excludes1 at I10: \"hypertensive disease "
       "complicating pregnancy, childbirth and the puerperium (O10-O11, O13-O16)\" "
       "(ICD10CM-TABULAR FY2023)"},
      // G63, "in diseases classified elsewhere", has a code-first note: never listed first.
      {{"G63", "E85.0"},
       {"diagnosis:G63:CODE_FIRST"},
       false,
       "G63 is a manifestation code and may not be listed first: Code first at G63: "
       "\"underlying disease, such as:\""},
      {{"E85.0", "G63"}, {}, true, ""},
      // F02.80 inherits its category's code-first note.
      {{"F02.80"}, {"diagnosis:F02.80:CODE_FIRST"}, false, "Code first at F02:"},
      // S52.501 without its 7th character: the choices are listed.
      {{"S52.501"},
       {"diagnosis:S52.501:MISSING_SEVENTH_CHARACTER"},
       false,
       "S52.501 needs a 7th character (ICD10CM-TABULAR FY2023, defined at S52): S52.501A "
       "initial encounter for closed fracture; S52.501B initial encounter for open fracture "
       "type I or II; initial encounter for open fracture NOS;"},
      {{"S52.501A"}, {}, true, ""},
      // E11's "use additional code" (insulin Z79.4, ...) is an advisory, met by Z79.4.
      {{"E11.9"},
       {"diagnosis:E11.9:USE_ADDITIONAL_CODE(advisory)"},
       true,
       "E11.9: use additional code if applicable; Use additional code at E11: \"insulin "
       "(Z79.4)\""},
      {{"E11.9", "Z79.4"}, {}, true, ""},
      // "E08-E13 with .42" names only some diabetes codes: not applied to E11.9.
      {{"E11.9", "Z79.4", "G63"}, {}, true, ""},
  };
  for (const Case& c : cases) {
    v1::ValidateClaimRequest req;
    req.set_date_of_service("2024-11-01");
    v1::ClaimLine* line = req.add_lines();
    line->set_procedure_code("99213");
    line->set_units(1);
    for (const std::string& d : c.dx) line->add_diagnosis_codes(d);
    auto r = client_->ValidateClaim(req);
    ASSERT_TRUE(r.ok()) << r.status();
    const v1::ClaimLineResult& res = r->results(0);
    std::string label = absl::StrJoin(c.dx, ",");
    EXPECT_EQ(ClaimLineGenerator::Issues(res), c.issues) << label;
    EXPECT_EQ(res.valid(), c.valid) << label;
    if (!c.quote.empty() && res.issues_size() > 0) {
      const v1::ClaimIssue& i = res.issues(0);
      EXPECT_NE(i.message().find(c.quote), std::string::npos) << i.message();
      EXPECT_EQ(i.note_source().system(), "ICD10CM-TABULAR") << label;
      EXPECT_EQ(i.note_source().version(), "FY2023") << label;
      EXPECT_EQ(i.release().version(), "FY2025") << label;
    }
  }
  // The FY2017 Tabular answers a line of 2017-02-01 (ICD-10-CM FY2017) the same way.
  v1::ValidateClaimRequest req;
  req.set_date_of_service("2017-02-01");
  v1::ClaimLine* line = req.add_lines();
  line->set_procedure_code("G0008");
  line->set_units(1);
  line->add_diagnosis_codes("I10");
  line->add_diagnosis_codes("O10.02");
  auto r = client_->ValidateClaim(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ClaimLineGenerator::Issues(r->results(0)),
            std::vector<std::string>{"diagnosis:I10:EXCLUDES1"});
  ASSERT_EQ(r->results(0).issues_size(), 1);
  const v1::ClaimIssue& issue = r->results(0).issues(0);
  EXPECT_EQ(issue.note_source().version(), "FY2017");
  EXPECT_EQ(issue.release().version(), "FY2017");
  EXPECT_EQ(issue.note().from(), "I10");
  EXPECT_EQ(issue.note().kind(), "excludes1");
}

// Issue 13: three value sets written for the tests (tests/valuesets: ICD-10-CM diabetes below
// E08-E13 less three codes; HCPCS DME by first letter and BETOS; one importing both, less
// ICD-10-CM headers). Their expansion sizes per ICD-10-CM release, and their DiffValueSet across
// every consecutive pair of ICD-10-CM releases, cross-checked code by code against the release
// diff restricted to the expansions: the codes that enter or leave are exactly the release
// diff's codes whose membership differs, and a code enters as added (leaves as deleted)
// exactly when the release diff says so.
TEST_F(RealDataTest, ValueSetDiffsEqualTheReleaseDiffRestrictedToTheExpansions) {
  const std::vector<std::string> urls = {"https://payer.example/vs/diabetes",
                                         "https://payer.example/vs/hcpcs-dme",
                                         "https://payer.example/vs/diabetes-and-dme",
                                         "urn:codebook:test:vs:billable-icd10cm"};
  for (const char* name : {"diabetes", "hcpcs-dme", "diabetes-and-dme"}) {
    int rc = 0;
    std::string out = server_->RunCli(absl::StrCat("valueset create --file=", CODEBOOK_TESTS_DIR,
                                                   "/valuesets/", name, ".json"),
                                      &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  // A fourth, wide one, so that the check meets thousands of changes: every billable code.
  v1::ValueSet billable;
  billable.set_url(urls[3]);
  billable.set_version("1");
  billable.add_includes()->set_system("ICD10CM");
  v1::ValueSetFilter* f = billable.mutable_includes(0)->add_filters();
  f->set_property("billable");
  f->set_op("=");
  f->set_value("true");
  ASSERT_TRUE(client_->CreateValueSet(billable).ok());
  using Members = std::set<std::pair<std::string, std::string>>;
  auto expand = [&](const std::string& url, const std::string& date) {
    Members m;
    v1::ExpandValueSetRequest req;
    req.set_url(url);
    req.set_date_of_service(date);
    req.set_page_size(1000);
    do {
      auto r = client_->ExpandValueSet(req);
      EXPECT_TRUE(r.ok()) << url << " " << date << ": " << r.status();
      if (!r.ok()) break;
      for (const auto& e : r->concepts()) m.emplace(e.system(), e.concept().code());
      req.set_page_token(r->next_page_token());
    } while (!req.page_token().empty());
    return m;
  };
  auto releases = client_->ListReleases("ICD10CM");
  ASSERT_TRUE(releases.ok());
  ASSERT_EQ(releases->size(), 8u);
  std::cout << absl::StrFormat("%-10s %-10s %9s %9s %17s %9s\n", "ICD10CM", "effective",
                               "diabetes", "hcpcs-dme", "diabetes-and-dme", "billable");
  for (const v1::Release& r : *releases) {
    std::cout << absl::StrFormat("%-10s %-10s", r.version(), r.effective_date());
    for (const std::string& url : urls) {
      // No HCPCS release is in force on FY2017's first day (HCPCS 2017 starts 2017-01-01).
      v1::ExpandValueSetRequest req;
      req.set_url(url);
      req.set_date_of_service(r.effective_date());
      req.set_page_size(1);
      auto e = client_->ExpandValueSet(req);
      EXPECT_TRUE(e.ok() || (r.version() == "FY2017" && (url == urls[1] || url == urls[2])))
          << e.status();
      std::cout << (e.ok() ? absl::StrFormat(" %9d", e->total()) : absl::StrFormat(" %9s", "-"));
    }
    std::cout << "\n";
  }
  int checked = 0;
  for (size_t i = 1; i < releases->size(); ++i) {
    const v1::Release& a = (*releases)[i - 1];
    const v1::Release& b = (*releases)[i];
    absl::CivilDay day;
    ASSERT_TRUE(absl::ParseCivilTime(b.effective_date(), &day));
    const std::string from_date = absl::FormatCivilTime(day - 1), to_date = b.effective_date();
    // The release diff: code -> its change types; and the codes billable before and after.
    std::map<std::string, std::set<int>> release_diff;
    std::set<std::string> billable_before, billable_after;
    for (const auto& m : DiffOverRpc(*client_, "ICD10CM", a.version(), b.version(), false)) {
      for (const auto& c : m.changes()) {
        release_diff[c.code()].insert(c.types().begin(), c.types().end());
        if (c.has_before() && c.before().billable()) billable_before.insert(c.code());
        if (c.has_after() && c.after().billable()) billable_after.insert(c.code());
      }
    }
    for (const std::string& url : urls) {
      v1::DiffValueSetRequest req;
      req.set_url(url);
      req.set_from_date(from_date);
      req.set_to_date(to_date);
      auto d = client_->DiffValueSet(req);
      ASSERT_TRUE(d.ok()) << d.status();
      // Membership on each side: from the expansions, or for the billable set (too wide to
      // page through here) from the release diff's own records, a way that owes nothing to
      // value sets.
      const bool wide = url == urls[3];
      const Members from = wide ? Members() : expand(url, from_date);
      const Members to = wide ? Members() : expand(url, to_date);
      auto in_from = [&](const std::string& code) {
        return wide ? billable_before.count(code) == 1 : from.count({"ICD10CM", code}) == 1;
      };
      auto in_to = [&](const std::string& code) {
        return wide ? billable_after.count(code) == 1 : to.count({"ICD10CM", code}) == 1;
      };
      std::set<std::string> expected, got, symmetric;
      for (const auto& [code, types] : release_diff) {
        if (in_from(code) != in_to(code)) expected.insert(code);
      }
      for (const auto& [system, code] : from) {
        if (system == "ICD10CM" && !to.count({system, code})) symmetric.insert(code);
      }
      for (const auto& [system, code] : to) {
        if (system == "ICD10CM" && !from.count({system, code})) symmetric.insert(code);
      }
      for (const v1::ValueSetChange& c : d->changes()) {
        ASSERT_EQ(c.system(), "ICD10CM") << url << " " << c.code();  // HCPCS did not move
        got.insert(c.code());
        const std::set<int>& types = release_diff[c.code()];
        const bool added =
            types.count(v1::CHANGE_TYPE_ADDED) || types.count(v1::CHANGE_TYPE_REACTIVATED);
        const bool deleted = types.count(v1::CHANGE_TYPE_DELETED);
        auto has = [&](v1::ValueSetChangeCause cause) {
          return std::find(c.causes().begin(), c.causes().end(), cause) != c.causes().end();
        };
        EXPECT_EQ(has(v1::VALUE_SET_CHANGE_CAUSE_CODE_ADDED), added) << url << " " << c.code();
        EXPECT_EQ(has(v1::VALUE_SET_CHANGE_CAUSE_CODE_DELETED), deleted) << url << " " << c.code();
        EXPECT_EQ(c.entered(), in_to(c.code())) << url << " " << c.code();
      }
      EXPECT_EQ(got, expected) << url << " " << a.version() << " -> " << b.version();
      EXPECT_EQ(d->entered() + d->left(), static_cast<int64_t>(got.size()));
      if (!wide) {
        EXPECT_EQ(got, symmetric) << url << " " << a.version() << " -> " << b.version();
        EXPECT_EQ(d->from_total(), static_cast<int64_t>(from.size()));
        EXPECT_EQ(d->to_total(), static_cast<int64_t>(to.size()));
      }
      std::cout << absl::StrFormat("%-10s -> %-10s %-45s +%-4d -%-4d (release diff: %d codes)\n",
                                   a.version(), b.version(), url, d->entered(), d->left(),
                                   release_diff.size());
      checked += static_cast<int>(got.size());
    }
  }
  EXPECT_GT(checked, 0);
}

}  // namespace codebook::testing
