// Search scores only the candidates whose bound can still reach the page asked for (search.cc,
// search_table.h). These tests hold it to the reference, which scores every candidate: the
// same hits with the same scores and reasons, the same counts and page tokens, on the official
// releases in ../shared/data when they are there (else the repo's sample), for queries typed
// as people type them, the clinical relevance set, codes, filters and later pages.
#include "service/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "importers/importers.h"
#include "service/release_admin_impl.h"
#include "service/terminology_impl.h"
#include "tests/typed_queries.h"

namespace codebook::service {
namespace {

namespace fs = std::filesystem;

struct File {
  std::string system, version, effective, format, path;
};

// The releases loaded: the ICD-10-CM and ICD-10-PCS releases in effect on 2025-06-01 with the
// Index and Tabular that serve them (and the releases those supplement).
std::vector<File> Files(std::string* base) {
  const std::string shared = CODEBOOK_SHARED_DATA_DIR;
  if (fs::exists(shared + "/icd10cm/2025") && fs::exists(shared + "/icd10cm/2017") &&
      fs::exists(shared + "/icd10pcs/2025")) {
    *base = shared;
    return {{"ICD10CM", "FY2017", "2016-10-01", "icd10cm-order",
             "/icd10cm/2017/icd10cm_order_2017.txt.gz"},
            {"ICD10CM-INDEX", "FY2017", "2016-10-01", "icd10cm-index", "/icd10cm/2017"},
            {"ICD10CM", "FY2023", "2022-10-01", "icd10cm-order",
             "/icd10cm/2023/icd10cm-order-2023.txt.gz"},
            {"ICD10CM-TABULAR", "FY2023", "2022-10-01", "icd10cm-tabular",
             "/icd10cm/2023/icd10cm_tabular_2023.xml.gz"},
            {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
             "/icd10cm/2025/icd10cm_order_2025.txt.gz"},
            {"ICD10PCS", "FY2025", "2024-10-01", "icd10pcs-order",
             "/icd10pcs/2025/icd10pcs_order_2025.txt.gz"},
            {"ICD10PCS-INDEX", "FY2025", "2024-10-01", "icd10pcs-index", "/icd10pcs/2025"}};
  }
  *base = CODEBOOK_SAMPLE_DIR;
  return {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
           "/icd10cm/2024/icd10cm-order-2024.txt"},
          {"ICD10CM-INDEX", "FY2024", "2023-10-01", "icd10cm-index", "/icd10cm/2024"},
          {"ICD10CM-TABULAR", "FY2024", "2023-10-01", "icd10cm-tabular",
           "/icd10cm/2024/icd10cm_tabular_2024.xml"},
          {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
           "/icd10cm/2025/icd10cm_order_2025.txt"},
          {"ICD10PCS", "FY2025", "2024-10-01", "icd10pcs-order",
           "/icd10pcs/2025/icd10pcs_order_2025.txt"},
          {"ICD10PCS-INDEX", "FY2025", "2024-10-01", "icd10pcs-index", "/icd10pcs/2025"}};
}

class SearchPruningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/codebook-search-test-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    store_ = storage::Store::Open(*dir_ + "/db")->release();
    Clock clock = [] {
      return absl::FromCivil(absl::CivilDay(2025, 6, 1), absl::UTCTimeZone());
    };
    ReleaseAdminImpl admin(store_, clock);
    std::string base;
    concepts_ = new std::map<std::string, importers::Concepts>();
    for (const File& f : Files(&base)) {
      absl::StatusOr<importers::Concepts> concepts = importers::ParseFile(f.format, base + f.path);
      ASSERT_TRUE(concepts.ok()) << f.path << ": " << concepts.status();
      absl::Status loaded = Load(admin, f, *concepts);
      ASSERT_TRUE(loaded.ok()) << f.path << ": " << loaded;
      (*concepts_)[f.system] = *std::move(concepts);
    }
    pruned_ = new TerminologyImpl(store_, clock, "test");
    SearchOptions every;
    every.exhaustive = true;
    exhaustive_ = new TerminologyImpl(store_, clock, "test", every);
  }
  static void TearDownTestSuite() {
    delete pruned_;
    delete exhaustive_;
    delete store_;
    delete concepts_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  static absl::Status Load(ReleaseAdminImpl& admin, const File& f,
                           const importers::Concepts& concepts) {
    v1::CreateReleaseRequest create;
    create.set_system(f.system);
    create.set_version(f.version);
    create.set_effective_date(f.effective);
    v1::CreateReleaseResponse created;
    if (absl::Status s = admin.CreateRelease(create, &created); !s.ok()) return s;
    auto upload = admin.StartUpload();
    for (size_t i = 0; i < concepts.size(); i += 1000) {
      v1::UploadConceptsRequest req;
      req.set_system(f.system);
      req.set_version(f.version);
      for (size_t k = i; k < std::min(concepts.size(), i + 1000); ++k) {
        *req.add_concepts() = concepts[k];
      }
      if (absl::Status s = upload->Add(&req); !s.ok()) return s;
    }
    v1::UploadConceptsResponse uploaded;
    if (absl::Status s = upload->Commit(&uploaded); !s.ok()) return s;
    v1::PublishReleaseRequest publish;
    publish.set_system(f.system);
    publish.set_version(f.version);
    v1::PublishReleaseResponse published;
    return admin.PublishRelease(publish, &published);
  }

  // Waits until the release search reads in `system` has its view (pruning needs it).
  static bool ViewBuilt(const std::string& system) {
    v1::SearchRequest req;
    req.set_system(system);
    req.set_query("a");
    v1::SearchResponse resp;
    for (int i = 0; i < 600; ++i) {
      if (!pruned_->Search(req, &resp).ok()) return false;
      if (store_->NewReader()->ViewOf(system, resp.release().sequence()) != nullptr) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  static std::string Describe(const absl::Status& s, const v1::SearchResponse& r) {
    std::string out = absl::StrCat(s.ToString(), " total ", r.total_hits(), " next ",
                                   r.next_page_token(), "\n");
    for (const v1::SearchHit& h : r.hits()) {
      absl::StrAppend(&out, h.concept().code(), " ", h.match(), " ", h.score(), " ", h.reason(),
                      " ", h.reason_source().version(), "\n");
    }
    return out;
  }

  // Compares the pruned and the exhaustive answers to `req`, and to its next page; returns the
  // hits compared.
  static int Compare(v1::SearchRequest req) {
    int hits = 0;
    for (int page = 0; page < 2; ++page) {
      v1::SearchResponse want, got;
      absl::Status ws = exhaustive_->Search(req, &want);
      absl::Status gs = pruned_->Search(req, &got);
      EXPECT_EQ(Describe(gs, got), Describe(ws, want)) << req.ShortDebugString();
      hits += want.hits_size();
      if (want.next_page_token().empty()) break;
      req.set_page_token(want.next_page_token());
    }
    return hits;
  }

  static std::string* dir_;
  static storage::Store* store_;
  static std::map<std::string, importers::Concepts>* concepts_;
  static TerminologyImpl* pruned_;
  static TerminologyImpl* exhaustive_;
};

std::string* SearchPruningTest::dir_ = nullptr;
storage::Store* SearchPruningTest::store_ = nullptr;
std::map<std::string, importers::Concepts>* SearchPruningTest::concepts_ = nullptr;
TerminologyImpl* SearchPruningTest::pruned_ = nullptr;
TerminologyImpl* SearchPruningTest::exhaustive_ = nullptr;

TEST_F(SearchPruningTest, TypedQueriesGetTheExhaustiveAnswers) {
  ASSERT_TRUE(ViewBuilt("ICD10CM"));
  int hits = 0;
  std::vector<std::string> queries = testing::TypedQueries((*concepts_)["ICD10CM"], 300, 7);
  for (const char* q : {"unspecified", "of", "encounter for fract", "with", "s", "a b",
                        "E11", "S52.5", "T81.3", "A0", "xyzzy", "diabetis mel"}) {
    queries.push_back(q);
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    v1::SearchRequest req;
    req.set_system("ICD10CM");
    req.set_query(queries[i]);
    // Pages of several sizes, and the filters, in turn.
    req.set_page_size(i % 3 == 0 ? 10 : i % 3 == 1 ? 3 : 50);
    if (i % 4 == 1) req.set_billable_only(true);
    if (i % 4 == 2) req.add_kinds(v1::CONCEPT_KIND_HEADER);
    hits += Compare(req);
  }
  EXPECT_GE(hits, 3000);  // the queries find things
}

TEST_F(SearchPruningTest, ClinicalQueriesGetTheExhaustiveAnswers) {
  ASSERT_TRUE(ViewBuilt("ICD10CM"));
  std::ifstream in(std::string(CODEBOOK_TESTS_DIR) + "/search_clinical.tsv");
  int queries = 0, hits = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::string q = line.substr(0, line.find('\t'));
    for (const std::string& typed : {q, q.substr(0, q.size() * 2 / 3)}) {
      if (typed.size() < 3) continue;
      v1::SearchRequest req;
      req.set_system("ICD10CM");
      req.set_query(typed);
      req.set_page_size(10);
      hits += Compare(req);
      ++queries;
    }
  }
  EXPECT_GE(queries, 120);
  EXPECT_GE(hits, 500);
}

TEST_F(SearchPruningTest, ProcedureQueriesGetTheExhaustiveAnswers) {
  ASSERT_TRUE(ViewBuilt("ICD10PCS"));
  std::vector<std::string> queries = testing::TypedQueries((*concepts_)["ICD10PCS"], 100, 11);
  for (const char* q : {"appendectomy", "resection appendix", "excision", "bypass coronary",
                        "drainage", "0DT", "0DTJ0ZZ"}) {
    queries.push_back(q);
  }
  int hits = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    v1::SearchRequest req;
    req.set_system("ICD10PCS");
    req.set_query(queries[i]);
    req.set_page_size(i % 2 == 0 ? 10 : 25);
    hits += Compare(req);
  }
  EXPECT_GE(hits, 500);
}

}  // namespace
}  // namespace codebook::service
