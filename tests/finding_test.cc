// Integration tests of finding and checking codes (search, hierarchy, CODE-MOD modifiers, claim
// lines) against a real codebookd on the repo's sample releases, including the synthetic CPT
// files (a Category III code, 0188T, is deleted in 2025).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <tuple>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "importers/importers.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {


class FindingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    auto client = server_->NewClient();
    const std::vector<ReleaseFile> files = {
        {"HCPCS", "2017", "2017-01-01", "hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt"},
        {"HCPCS", "2018", "2018-01-01", "hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt"},
        {"HCPCS", "2019", "2019-01-01", "hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt"},
        {"ICD10CM", "FY2022", "2021-10-01", "icd10cm-order",
         "/icd10cm/2022/icd10cm-order-2022.txt"},
        {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
         "/icd10cm/2024/icd10cm-order-2024.txt"},
        {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
         "/icd10cm/2025/icd10cm_order_2025.txt"},
        {"CPT", "2024", "2024-01-01", "cpt", "/cpt/2024"},
        {"CPT", "2025", "2025-01-01", "cpt", "/cpt/2025"},
    };
    absl::Status s = ImportFiles(client.get(), kSample, files);
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { client_ = server_->NewClient(); }

  v1::SearchResponse Search(const std::string& system, const std::string& query,
                            const std::string& version = "", int page_size = 0) {
    v1::SearchRequest req;
    req.set_system(system);
    req.set_query(query);
    req.set_page_size(page_size);
    if (!version.empty()) *req.mutable_selector() = Selector::Version(version);
    auto r = client_->Search(req);
    EXPECT_TRUE(r.ok()) << query << ": " << r.status();
    return r.ok() ? *r : v1::SearchResponse();
  }
  static std::vector<std::string> Codes(const v1::SearchResponse& r) {
    std::vector<std::string> out;
    for (const auto& h : r.hits()) out.push_back(h.concept().code());
    return out;
  }
  std::vector<std::string> Children(const std::string& system, const std::string& code,
                                    const std::string& version = "") {
    v1::GetChildrenRequest req;
    req.set_system(system);
    req.set_code(code);
    if (!version.empty()) *req.mutable_selector() = Selector::Version(version);
    auto r = client_->GetChildren(req);
    EXPECT_TRUE(r.ok()) << code << ": " << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& c : r->children()) out.push_back(c.code());
    }
    return out;
  }
  std::vector<std::string> Ancestors(const std::string& system, const std::string& code,
                                     const std::string& version = "") {
    auto r = client_->GetAncestors(system, code,
                                   version.empty() ? Selector::Today() : Selector::Version(version));
    EXPECT_TRUE(r.ok()) << code << ": " << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& c : r->ancestors()) out.push_back(c.code());
    }
    return out;
  }
  v1::ClaimLine Line(const std::string& code, std::vector<std::string> modifiers,
                     std::vector<std::string> diagnoses, const std::string& date, int units = 1) {
    v1::ClaimLine l;
    l.set_procedure_code(code);
    for (auto& m : modifiers) l.add_modifiers(m);
    for (auto& d : diagnoses) l.add_diagnosis_codes(d);
    l.set_date_of_service(date);
    l.set_units(units);
    return l;
  }
  static std::string Issues(const v1::ClaimLineResult& r) {
    std::vector<std::string> out;
    for (const auto& i : r.issues()) {
      std::string kind = v1::ClaimIssueKind_Name(i.kind()).substr(strlen("CLAIM_ISSUE_KIND_"));
      out.push_back(i.field() + ":" + i.code() + ":" + kind);
    }
    return absl::StrJoin(out, " ");
  }
  std::string Cli(const std::string& args, int* rc) { return server_->RunCli(args, rc); }

  static TestServer* server_;
  std::unique_ptr<Client> client_;
};
TestServer* FindingTest::server_ = nullptr;

// ---------------------------------------------------------------- search

TEST_F(FindingTest, SearchMatchesWordPrefixesAbbreviationsAndTypos) {
  // Word prefixes: every query word starts a word of the text.
  std::vector<std::string> diab = Codes(Search("ICD10CM", "diab mel w/o comp"));
  ASSERT_FALSE(diab.empty());
  EXPECT_EQ(diab[0], "E11.9");
  // "fx" is the short descriptions' abbreviation of fracture; "unsp" a prefix of unspecified.
  std::vector<std::string> fx = Codes(Search("ICD10CM", "unsp fx radius"));
  ASSERT_FALSE(fx.empty());
  EXPECT_EQ(fx[0], "S52.501A");
  // A misspelt ending: "diabetis" matches nothing, "diabet" does.
  std::vector<std::string> typo = Codes(Search("ICD10CM", "type 2 diabetis hyperglycemia"));
  ASSERT_FALSE(typo.empty());
  EXPECT_EQ(typo[0], "E11.65");
  // Every word must match: nothing has both words.
  EXPECT_EQ(Search("ICD10CM", "cholera radius").total_hits(), 0);
  // Nothing at all.
  EXPECT_EQ(Search("ICD10CM", "xylophone").total_hits(), 0);
  // HCPCS by date of service: the 2019 release knows G2010 ("Remote evaluation ...").
  v1::SearchRequest req;
  req.set_system("HCPCS");
  req.set_query("remote eval");
  *req.mutable_selector() = Selector::DateOfService("2019-06-01");
  auto r = client_->Search(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->release().version(), "2019");
  ASSERT_GT(r->hits_size(), 0);
  EXPECT_EQ(r->hits(0).concept().code(), "G2010");
  EXPECT_EQ(r->hits(0).match(), v1::SEARCH_MATCH_TEXT);
}

TEST_F(FindingTest, CodeQueriesRankTheExactCodeFirstThenPrefixes) {
  for (const char* q : {"E11", "e11", "E11."}) {
    v1::SearchResponse r = Search("ICD10CM", q);
    std::vector<std::string> codes = Codes(r);
    EXPECT_EQ(codes, (std::vector<std::string>{"E11", "E11.6", "E11.9", "E11.65"})) << q;
    EXPECT_EQ(r.hits(0).match(), v1::SEARCH_MATCH_EXACT_CODE);
    EXPECT_EQ(r.hits(1).match(), v1::SEARCH_MATCH_CODE_PREFIX);
  }
  // With and without the dot.
  EXPECT_EQ(Codes(Search("ICD10CM", "S52.50")), Codes(Search("ICD10CM", "s5250")));
  EXPECT_EQ(Codes(Search("ICD10CM", "S52.501A")), (std::vector<std::string>{"S52.501A"}));
  // CPT: a Category III code by its prefix; a modifier by its code.
  EXPECT_EQ(Codes(Search("CPT", "0042", "2025"))[0], "0042T");
  EXPECT_EQ(Codes(Search("CPT", "25", "2025"))[0], "25");
  EXPECT_EQ(Codes(Search("HCPCS", "LT", "2019"))[0], "LT");
}

TEST_F(FindingTest, SearchFiltersAndPagesStably) {
  // Billable only, and by kind.
  v1::SearchRequest req;
  req.set_system("ICD10CM");
  req.set_query("diabetes");
  req.set_billable_only(true);
  auto billable = client_->Search(req);
  ASSERT_TRUE(billable.ok());
  EXPECT_EQ(Codes(*billable), (std::vector<std::string>{"E11.9", "E11.65"}));
  req.set_billable_only(false);
  req.add_kinds(v1::CONCEPT_KIND_HEADER);
  auto headers = client_->Search(req);
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(Codes(*headers), (std::vector<std::string>{"E11", "E11.6"}));
  req.clear_kinds();

  // Pages of 2 put together equal one page of everything.
  req.set_query("poisoning");
  req.set_page_size(200);
  auto all = client_->Search(req);
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->total_hits(), 5);
  std::vector<std::string> paged;
  req.set_page_size(2);
  int pages = 0;
  do {
    auto page = client_->Search(req);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_hits(), all->total_hits());
    for (const auto& c : Codes(*page)) paged.push_back(c);
    req.set_page_token(page->next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 100);
  EXPECT_EQ(paged, Codes(*all));
  EXPECT_EQ(pages, (all->total_hits() + 1) / 2);

  // A token belongs to its query and filters.
  req.set_page_token("");
  auto first = client_->Search(req);
  ASSERT_TRUE(first.ok());
  req.set_page_token(first->next_page_token());
  req.set_query("poisoning cannabis");
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_page_token("garbage");
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  // Bad requests.
  req.set_page_token("");
  req.set_query("   ");
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_query(std::string(201, 'a'));
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_query("asthma");
  req.set_page_size(201);
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_page_size(0);
  req.set_system("SNOMED");
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kNotFound);
  req.set_system("ICD10CM");
  *req.mutable_selector() = Selector::Version("FY2019");
  EXPECT_EQ(client_->Search(req).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FindingTest, SearchAnswersFromTheSelectedReleaseOnly) {
  // T81.32XA exists through FY2024 and is deleted in FY2025; its successors arrive in FY2025.
  EXPECT_EQ(Codes(Search("ICD10CM", "T81.32XA", "FY2024")), (std::vector<std::string>{"T81.32XA"}));
  EXPECT_EQ(Search("ICD10CM", "T81.32XA", "FY2025").total_hits(), 0);
  std::vector<std::string> deep = Codes(Search("ICD10CM", "deep fascia", "FY2025"));
  EXPECT_NE(std::find(deep.begin(), deep.end(), "T81.320A"), deep.end());
  EXPECT_EQ(Search("ICD10CM", "deep fascia", "FY2022").total_hits(), 0);
  // CPT 0188T: found in 2024, gone in 2025.
  EXPECT_EQ(Codes(Search("CPT", "remote critical care", "2024"))[0], "0188T");
  EXPECT_EQ(Search("CPT", "remote critical care", "2025").total_hits(), 0);
}

TEST(SearchRetractTest, RetractingARelease) {
  // The newest release retracted: the default search answers from the one before, and the
  // retracted one still answers by version.
  TestServer server;
  auto client = server.NewClient();
  absl::Status imported = ImportFiles(client.get(), kSample, kSampleCpt);
  ASSERT_TRUE(imported.ok()) << imported;
  v1::SearchRequest req;
  req.set_system("CPT");
  req.set_query("office visit high");
  auto before = client->Search(req);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->release().version(), "2025");
  ASSERT_GT(before->hits_size(), 0);
  EXPECT_EQ(before->hits(0).concept().code(), "99215");  // added in 2025
  ASSERT_TRUE(client->RetractRelease("CPT", "2025", "test").ok());
  auto after = client->Search(req);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->release().version(), "2024");
  for (const auto& h : after->hits()) EXPECT_NE(h.concept().code(), "99215");
  *req.mutable_selector() = Selector::Version("2025");
  auto by_version = client->Search(req);
  ASSERT_TRUE(by_version.ok());
  EXPECT_EQ(by_version->hits(0).concept().code(), "99215");
  client.reset();
}

TEST_F(FindingTest, ServersWithAndWithoutReleaseViewsAnswerSearchesAlike) {
  // Without views, candidates come from the store's search index and are scored from their
  // records; with them, from the in-memory word table. The answers must be the same.
  TestServer cold("", {"--view_cache_mb=0"});
  auto cold_client = cold.NewClient();
  auto warm_client = server_->NewClient();
  std::vector<ReleaseFile> files = kSampleCpt;
  files.push_back({"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                   "/icd10cm/2024/icd10cm-order-2024.txt"});
  files.push_back({"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
                   "/icd10cm/2025/icd10cm_order_2025.txt"});
  absl::Status imported = ImportFiles(cold_client.get(), kSample, files);
  ASSERT_TRUE(imported.ok()) << imported;
  // Touch the four releases so that the warm server builds their views (in the background).
  for (const auto& [system, version] : std::vector<std::pair<std::string, std::string>>{
           {"ICD10CM", "FY2025"}, {"ICD10CM", "FY2024"}, {"CPT", "2025"}, {"CPT", "2024"}}) {
    ASSERT_TRUE(warm_client->GetRelease(system, Selector::Version(version)).ok());
    (void)warm_client->Search([&] {
      v1::SearchRequest r;
      r.set_system(system);
      r.set_query("a");
      *r.mutable_selector() = Selector::Version(version);
      return r;
    }());
  }
  absl::SleepFor(absl::Milliseconds(500));
  int compared = 0;
  for (const auto& [system, version, query] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"ICD10CM", "FY2025", "diab mel w/o comp"}, {"ICD10CM", "FY2025", "unsp fx radius"},
           {"ICD10CM", "FY2025", "type 2 diabetis"},  {"ICD10CM", "FY2024", "disruption wound"},
           {"ICD10CM", "FY2025", "poisoning"},        {"ICD10CM", "FY2025", "E11"},
           {"CPT", "2025", "office visit"},           {"CPT", "2024", "remote critical"},
           {"CPT", "2025", "25"}}) {
    for (bool billable : {false, true}) {
      v1::SearchRequest req;
      req.set_system(system);
      req.set_query(query);
      req.set_billable_only(billable);
      req.set_page_size(50);
      *req.mutable_selector() = Selector::Version(version);
      auto warm = warm_client->Search(req);
      auto cold_answer = cold_client->Search(req);
      ASSERT_TRUE(warm.ok() && cold_answer.ok()) << query;
      ASSERT_EQ(warm->hits_size(), cold_answer->hits_size()) << query;
      for (int i = 0; i < warm->hits_size(); ++i) {
        EXPECT_EQ(warm->hits(i).concept().code(), cold_answer->hits(i).concept().code()) << query;
        EXPECT_DOUBLE_EQ(warm->hits(i).score(), cold_answer->hits(i).score()) << query;
      }
      compared += warm->hits_size();
    }
  }
  EXPECT_GT(compared, 30);
  cold_client.reset();
}

// ---------------------------------------------------------------- hierarchy

TEST_F(FindingTest, Icd10cmHierarchyFollowsTheOrderFileHeaders) {
  EXPECT_EQ(Children("ICD10CM", "E11"), (std::vector<std::string>{"E11.6", "E11.9"}));
  EXPECT_EQ(Children("ICD10CM", "E11.6"), (std::vector<std::string>{"E11.65"}));
  EXPECT_EQ(Children("ICD10CM", "E11.9"), std::vector<std::string>{});
  EXPECT_EQ(Ancestors("ICD10CM", "S52.501A"),
            (std::vector<std::string>{"S52.501", "S52.5", "S52"}));
  EXPECT_EQ(Ancestors("ICD10CM", "E11"), std::vector<std::string>{});
  std::vector<std::string> top = Children("ICD10CM", "");
  EXPECT_NE(std::find(top.begin(), top.end(), "E11"), top.end());
  for (const auto& c : top) EXPECT_EQ(c.size(), 3u) << c;
  auto sub = client_->Subsumes("ICD10CM", "S52", "S52.501A");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->outcome(), v1::SUBSUMPTION_OUTCOME_SUBSUMES);
  EXPECT_EQ(client_->Subsumes("ICD10CM", "S52.501A", "S52")->outcome(),
            v1::SUBSUMPTION_OUTCOME_SUBSUMED_BY);
  EXPECT_EQ(client_->Subsumes("ICD10CM", "E11.9", "e119")->outcome(),
            v1::SUBSUMPTION_OUTCOME_EQUIVALENT);
  EXPECT_EQ(client_->Subsumes("ICD10CM", "E11", "I10")->outcome(),
            v1::SUBSUMPTION_OUTCOME_NOT_SUBSUMED);
  // Errors: an unknown or deleted code, a malformed one.
  EXPECT_EQ(client_->GetAncestors("ICD10CM", "T81.32XA").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->GetAncestors("ICD10CM", "T81.32XA").status().message(),
            "code T81.32XA was deleted in ICD10CM FY2025 (effective 2024-10-01)");
  EXPECT_EQ(client_->Subsumes("ICD10CM", "E11", "!!").status().code(),
            absl::StatusCode::kInvalidArgument);
  // The same code, an older release: T81.32XA sits under its placeholder header T81.32X.
  EXPECT_EQ(Ancestors("ICD10CM", "T81.32XA", "FY2024"),
            (std::vector<std::string>{"T81.32X", "T81.32", "T81.3", "T81"}));
}

TEST(PcsHierarchyTest, Icd10PcsCodesDescendFromTheirTables) {
  // A small ICD-10-PCS order file (the official layout: 3-character tables are headers).
  char tmpl[] = "/tmp/codebook-pcs-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto row = [](int n, const std::string& code, char flag, const std::string& text) {
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%05d %-7s %c %-60s %s\r\n", n, code.c_str(), flag,
                  text.c_str(), text.c_str());
    return std::string(buf);
  };
  std::ofstream(dir + "/icd10pcs_order_2025.txt")
      << row(1, "001", '0', "Central Nervous System and Cranial Nerves, Bypass")
      << row(2, "00160J0", '1', "Bypass Cerebral Ventricle to Nasopharynx, Open Approach")
      << row(3, "00160J1", '1', "Bypass Cerebral Ventricle to Mastoid Sinus, Open Approach")
      << row(4, "0DT", '0', "Gastrointestinal System, Resection")
      << row(5, "0DTJ4ZZ", '1', "Resection of Appendix, Percutaneous Endoscopic Approach");
  TestServer server;
  auto client = server.NewClient();
  auto concepts = importers::ParseFile("icd10pcs-order", dir + "/icd10pcs_order_2025.txt");
  ASSERT_TRUE(concepts.ok()) << concepts.status();
  ASSERT_TRUE(client->ImportRelease("ICD10PCS", "FY2025", "2024-10-01", "", *concepts, true).ok());
  auto ancestors = client->GetAncestors("ICD10PCS", "0DTJ4ZZ");
  ASSERT_TRUE(ancestors.ok()) << ancestors.status();
  ASSERT_EQ(ancestors->ancestors_size(), 1);
  EXPECT_EQ(ancestors->ancestors(0).code(), "0DT");
  v1::GetChildrenRequest req;
  req.set_system("ICD10PCS");
  req.set_code("001");
  auto children = client->GetChildren(req);
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->children_size(), 2);
  EXPECT_EQ(children->children(1).code(), "00160J1");
  req.set_code("");
  auto top = client->GetChildren(req);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->children_size(), 2);
  EXPECT_EQ(top->children(0).code(), "001");
  EXPECT_EQ(client->Subsumes("ICD10PCS", "0DT", "0DTJ4ZZ")->outcome(),
            v1::SUBSUMPTION_OUTCOME_SUBSUMES);
  EXPECT_EQ(client->Subsumes("ICD10PCS", "001", "0DTJ4ZZ")->outcome(),
            v1::SUBSUMPTION_OUTCOME_NOT_SUBSUMED);
  // Search: by words and by code prefix.
  v1::SearchRequest search;
  search.set_system("ICD10PCS");
  search.set_query("resection appendix");
  auto found = client->Search(search);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_GT(found->hits_size(), 0);
  EXPECT_EQ(found->hits(0).concept().code(), "0DTJ4ZZ");
  search.set_query("0016");
  found = client->Search(search);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->total_hits(), 2);
  client.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(FindingTest, CptHierarchyBySectionsAndCategories) {
  EXPECT_EQ(Ancestors("CPT", "99213", "2025"),
            (std::vector<std::string>{"EVALUATION_MANAGEMENT", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "10060", "2025"), (std::vector<std::string>{"SURGERY", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "00100", "2025"),
            (std::vector<std::string>{"ANESTHESIA", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "70010", "2025"),
            (std::vector<std::string>{"RADIOLOGY", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "80047", "2025"),
            (std::vector<std::string>{"PATHOLOGY_LABORATORY", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "90471", "2025"), (std::vector<std::string>{"MEDICINE", "CATEGORY_I"}));
  EXPECT_EQ(Ancestors("CPT", "4000F", "2025"), (std::vector<std::string>{"CATEGORY_II"}));
  EXPECT_EQ(Ancestors("CPT", "0042T", "2025"), (std::vector<std::string>{"CATEGORY_III"}));
  EXPECT_EQ(Ancestors("CPT", "0001U", "2025"), (std::vector<std::string>{"PLA"}));
  EXPECT_EQ(Ancestors("CPT", "25", "2025"), (std::vector<std::string>{"MODIFIERS"}));
  EXPECT_EQ(Children("CPT", ""), (std::vector<std::string>{"CATEGORY_I", "CATEGORY_II",
                                                           "CATEGORY_III", "PLA", "MODIFIERS"}));
  EXPECT_EQ(Children("CPT", "CATEGORY_I", "2025"),
            (std::vector<std::string>{"ANESTHESIA", "SURGERY", "RADIOLOGY", "PATHOLOGY_LABORATORY",
                                      "MEDICINE", "EVALUATION_MANAGEMENT"}));
  EXPECT_EQ(Children("CPT", "evaluation_management", "2025"),
            (std::vector<std::string>{"99213", "99214", "99215"}));
  EXPECT_EQ(Children("CPT", "EVALUATION_MANAGEMENT", "2024"),
            (std::vector<std::string>{"99213", "99214"}));
  // The Category III code deleted in 2025 is a child of CATEGORY_III in 2024 only.
  EXPECT_EQ(Children("CPT", "CATEGORY_III", "2024"), (std::vector<std::string>{"0042T", "0188T"}));
  EXPECT_EQ(Children("CPT", "CATEGORY_III", "2025"), (std::vector<std::string>{"0042T"}));
  EXPECT_EQ(Children("CPT", "MODIFIERS", "2025"),
            (std::vector<std::string>{"1P", "25", "59", "LT", "P1"}));
  EXPECT_EQ(client_->Subsumes("CPT", "CATEGORY_I", "99215")->outcome(),
            v1::SUBSUMPTION_OUTCOME_SUBSUMES);
  EXPECT_EQ(client_->Subsumes("CPT", "SURGERY", "99215")->outcome(),
            v1::SUBSUMPTION_OUTCOME_NOT_SUBSUMED);
  auto group = client_->GetAncestors("CPT", "SURGERY");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->concept().kind(), v1::CONCEPT_KIND_GROUP);
  EXPECT_EQ(group->concept().display(), "Surgery (10004-69990)");
  EXPECT_EQ(client_->GetAncestors("CPT", "ORTHOPEDICS").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FindingTest, HcpcsCodesGroupByFirstLetter) {
  EXPECT_EQ(Ancestors("HCPCS", "G2010", "2019"), (std::vector<std::string>{"G"}));
  EXPECT_EQ(Children("HCPCS", "G", "2019"), (std::vector<std::string>{"G0505", "G0506", "G2010"}));
  EXPECT_EQ(Children("HCPCS", "G", "2017"), (std::vector<std::string>{"G0505", "G0506"}));
  EXPECT_EQ(Children("HCPCS", "MODIFIERS", "2019"), (std::vector<std::string>{"LT", "RT"}));
  EXPECT_EQ(client_->Subsumes("HCPCS", "E", "E0114")->outcome(), v1::SUBSUMPTION_OUTCOME_SUBSUMES);
  // Paging through children.
  v1::GetChildrenRequest req;
  req.set_system("HCPCS");
  req.set_code("G");
  req.set_page_size(2);
  *req.mutable_selector() = Selector::Version("2019");
  auto p1 = client_->GetChildren(req);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->children_size(), 2);
  req.set_page_token(p1->next_page_token());
  auto p2 = client_->GetChildren(req);
  ASSERT_TRUE(p2.ok()) << p2.status();
  ASSERT_EQ(p2->children_size(), 1);
  EXPECT_EQ(p2->children(0).code(), "G2010");
  EXPECT_TRUE(p2->next_page_token().empty());
  req.set_code("E");
  EXPECT_EQ(client_->GetChildren(req).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- modifiers

TEST_F(FindingTest, CodeModNotationInLookupAndValidation) {
  auto r = client_->Lookup("CPT", "99213-25", Selector::Version("2025"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->concept().code(), "99213");
  ASSERT_EQ(r->modifiers_size(), 1);
  EXPECT_EQ(r->modifiers(0).code(), "25");
  EXPECT_EQ(r->modifiers(0).kind(), v1::CONCEPT_KIND_MODIFIER);
  // A HCPCS Level II modifier on a HCPCS code; a CPT modifier on a HCPCS code.
  auto h = client_->Lookup("HCPCS", "E0114-RT", Selector::Version("2019"));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->modifiers(0).code(), "RT");
  auto unknown = client_->Lookup("CPT", "99213-ZZ", Selector::Version("2025"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("ZZ is not a modifier"), std::string::npos);

  auto v = client_->ValidateCode("CPT", "99213-25-LT", "2025-03-14");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->valid()) << v->message();
  ASSERT_EQ(v->modifiers_size(), 2);
  EXPECT_TRUE(v->modifiers(0).valid());
  EXPECT_TRUE(v->modifiers(1).valid());
  auto bad = client_->ValidateCode("CPT", "99213-25-ZZ", "2025-03-14");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->valid());
  EXPECT_EQ(bad->outcome(), v1::VALIDATION_OUTCOME_INVALID_MODIFIER);
  EXPECT_TRUE(bad->modifiers(0).valid());
  EXPECT_FALSE(bad->modifiers(1).valid());
  // A code is not a modifier.
  auto code_as_mod = client_->ValidateCode("CPT", "99213-99", "2025-03-14");
  ASSERT_TRUE(code_as_mod.ok());
  EXPECT_FALSE(code_as_mod->modifiers(0).valid());
  // The deleted code stays deleted whatever its modifiers.
  auto deleted = client_->ValidateCode("CPT", "0188T-25", "2025-03-14");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->outcome(), v1::VALIDATION_OUTCOME_DELETED);
  EXPECT_EQ(deleted->deleted_in().version(), "2025");
  // The CLI prints each modifier on its own line and exits 3.
  int rc = 0;
  std::string out = Cli("validate --system=CPT --date=2025-03-14 99213-25-ZZ", &rc);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("  modifier 25   VALID"), std::string::npos) << out;
  EXPECT_NE(out.find("  modifier ZZ   INVALID"), std::string::npos) << out;
}

// ---------------------------------------------------------------- claims

TEST_F(FindingTest, ClaimLinesGetEveryReason) {
  v1::ValidateClaimRequest req;
  req.set_date_of_service("2025-03-14");
  *req.add_lines() = Line("99213", {"25"}, {"E11.9"}, "");                       // 0 valid
  *req.add_lines() = Line("0188T", {}, {"E11.9"}, "");                           // 1 deleted
  *req.add_lines() = Line("99215", {}, {"E11.9"}, "2024-06-01");                 // 2 not yet
  *req.add_lines() = Line("99213-ZZ", {"59"}, {"E11", "T81.32XA"}, "");          // 3 several
  *req.add_lines() = Line("G0505", {}, {"E11.9"}, "2018-03-01");                 // 4 terminated
  *req.add_lines() = Line("G2010", {}, {"Z28.310"}, "2018-06-01");               // 5 not yet, no ICD
  *req.add_lines() = Line("E0114", {"RT"}, {"I10"}, "2019-02-01", 2);            // 6 valid HCPCS
  *req.add_lines() = Line("99999", {}, {}, "", 0);                               // 7 unknown, no dx
  *req.add_lines() = Line("99213", {}, {"E11.9"}, "2025-02-30");                 // 8 bad date
  *req.add_lines() = Line("25", {}, {"E11.9"}, "", 10000);                       // 9 wrong kind
  *req.add_lines() = Line("E0114", {"LT"}, {"E11.9"}, "2016-05-01");             // 10 no release
  auto r = client_->ValidateClaim(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 11);
  std::vector<std::string> issues;
  for (const auto& res : r->results()) issues.push_back(Issues(res));
  EXPECT_EQ(issues[0], "");
  EXPECT_EQ(issues[1], "procedure:0188T:DELETED");
  EXPECT_EQ(r->results(1).issues(0).deleted_in().version(), "2025");
  EXPECT_EQ(issues[2], "procedure:99215:NOT_YET_EFFECTIVE");
  EXPECT_EQ(issues[3],
            "modifier:ZZ:UNKNOWN_MODIFIER diagnosis:E11:NOT_BILLABLE diagnosis:T81.32XA:DELETED");
  EXPECT_EQ(issues[4], "procedure:G0505:TERMINATED diagnosis:E11.9:NO_RELEASE");
  EXPECT_EQ(issues[5], "procedure:G2010:NOT_YET_EFFECTIVE diagnosis:Z28.310:NO_RELEASE");
  EXPECT_EQ(issues[6], "diagnosis:I10:NO_RELEASE");  // the sample ICD-10-CM starts in 2021
  EXPECT_EQ(issues[7], "procedure:99999:UNKNOWN_CODE diagnosis::MISSING_DIAGNOSIS");
  EXPECT_EQ(issues[8], "date::INVALID_DATE");
  EXPECT_EQ(issues[9], "procedure:25:WRONG_KIND units::INVALID_UNITS");
  EXPECT_EQ(issues[10],
            "procedure:E0114:NO_RELEASE modifier:LT:UNKNOWN_MODIFIER diagnosis:E11.9:NO_RELEASE");
  EXPECT_TRUE(r->results(0).valid());
  EXPECT_EQ(r->valid_lines(), 1);
  EXPECT_EQ(r->invalid_lines(), 10);
  EXPECT_EQ(r->results(3).issues(2).release().version(), "FY2025");

  // The stream answers the same, line for line.
  std::vector<v1::ClaimLine> lines;
  for (auto l : req.lines()) {
    if (l.date_of_service().empty()) l.set_date_of_service(req.date_of_service());
    lines.push_back(l);
  }
  std::vector<std::string> streamed;
  absl::Status s = client_->ValidateClaimStream(
      lines, [&](const v1::ClaimLineResult& res) { streamed.push_back(Issues(res)); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(streamed, issues);

  // Limits.
  v1::ValidateClaimRequest empty;
  EXPECT_EQ(client_->ValidateClaim(empty).status().code(), absl::StatusCode::kInvalidArgument);
  v1::ValidateClaimRequest big;
  for (int i = 0; i < 10001; ++i) *big.add_lines() = Line("99213", {}, {"E11.9"}, "2025-03-14");
  auto too_many = client_->ValidateClaim(big);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("10000"), std::string::npos);
}

TEST_F(FindingTest, CliClaimReadsACsvFile) {
  char tmpl[] = "/tmp/codebook-claim-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/lines.csv";
  std::ofstream(file) << "code,modifiers,units,diagnoses,date\n"
                         "99213,25,1,E11.9;I10\n"
                         "0188T,,1,E11.9\n"
                         "99213-LT,59 ZZ,2,E11.65,2025-01-02\n";
  int rc = 0;
  std::string out = Cli("claim --date=2025-03-14 " + file, &rc);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("line 2  VALID"), std::string::npos) << out;
  EXPECT_NE(out.find("line 3  INVALID\n    procedure 0188T: deleted: code 0188T was deleted in "
                     "CPT 2025"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("    modifier ZZ: unknown modifier"), std::string::npos) << out;
  EXPECT_NE(out.find("# 1 valid, 2 invalid of 3 lines"), std::string::npos) << out;
  std::string streamed = Cli("claim --stream --date=2025-03-14 " + file, &rc);
  EXPECT_EQ(rc, 3);
  EXPECT_EQ(streamed, out);
  std::ofstream(file) << "99213,25\n";
  out = Cli("claim " + file, &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("lines.csv:1: expected code,modifiers,units,diagnoses[,date]"),
            std::string::npos)
      << out;
  std::filesystem::remove_all(dir);
}

TEST_F(FindingTest, CliSearchAndHierarchyCommands) {
  int rc = 0;
  std::string out = Cli("search --system=ICD10CM --limit=3 diab mel w/o comp", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("E11.9     billable Type 2 diabetes mellitus without complications\n", 0), 0u)
      << out;
  out = Cli("children --system=ICD10CM E11", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("E11.6 "), std::string::npos) << out;
  EXPECT_NE(out.find("# 2 children in ICD10CM FY2025"), std::string::npos) << out;
  out = Cli("ancestors --system=CPT --version=2025 99213", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("  < EVALUATION_MANAGEMENT  Evaluation and Management (99202-99499)"),
            std::string::npos)
      << out;
  out = Cli("subsumes --system=ICD10CM E11 E11.65", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("E11 subsumes E11.65"), std::string::npos) << out;
  out = Cli("lookup --system=CPT --version=2025 99213-25", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("    modifier 25  Significant"), std::string::npos) << out;
  out = Cli("search --system=ICD10CM --kind=nonsense asthma", &rc);
  EXPECT_EQ(rc, 2) << out;
}

}  // namespace
}  // namespace codebook::testing
