#include "service/terminology_impl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "absl/time/civil_time.h"
#include "service/release_admin_impl.h"
#include "tests/domain_releases.h"
#include "storage/sample_records.h"

namespace codebook::service {
namespace {

v1::Concept C(const std::string& code, const std::string& display, bool billable = true) {
  v1::Concept c;
  c.set_code(code);
  c.set_display(display);
  c.set_billable(billable);
  c.set_kind(billable ? v1::CONCEPT_KIND_CODE : v1::CONCEPT_KIND_HEADER);
  return c;
}

class DomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/codebook-domain-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = *storage::Store::Open(dir_ + "/db");
    Clock clock = [this] { return now_; };
    read_ = std::make_unique<TerminologyImpl>(store_.get(), clock, "test");
    admin_ = std::make_unique<ReleaseAdminImpl>(store_.get(), clock);
    SetToday(2026, 1, 1);
  }
  void TearDown() override {
    read_.reset();
    admin_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetToday(int y, int m, int d) {
    now_ = absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
  }
  absl::Status Load(const std::string& system, const std::string& version,
                    const std::string& date, std::vector<v1::Concept> concepts) {
    return testing::PublishRelease(*admin_, system, version, date, concepts);
  }
  void LoadIcd() {
    ASSERT_TRUE(Load("ICD10CM", "FY2022", "2021-10-01",
                     {C("E11", "Type 2 diabetes", false), C("E11.9", "T2DM w/o comp"),
                      C("Z283", "Underimmunization"), C("T8132XA", "Wound disruption")})
                    .ok());
    ASSERT_TRUE(Load("ICD10CM", "FY2022-04", "2022-04-01",
                     {C("E11", "Type 2 diabetes", false), C("E11.9", "T2DM w/o comp"),
                      C("Z283", "Underimmunization", false), C("Z28310", "Unvaccinated"),
                      C("T8132XA", "Wound disruption")})
                    .ok());
    ASSERT_TRUE(Load("ICD10CM", "FY2025", "2024-10-01",
                     {C("E11", "Type 2 diabetes", false), C("E11.9", "T2DM w/o comp"),
                      C("Z283", "Underimmunization", false), C("Z28310", "Unvaccinated")})
                    .ok());
  }
  v1::ValidateCodeResponse Validate(const std::string& code, const std::string& date) {
    v1::ValidateCodeRequest req;
    req.set_system("ICD10CM");
    req.set_code(code);
    req.set_date_of_service(date);
    v1::ValidateCodeResponse resp;
    absl::Status s = read_->ValidateCode(req, &resp);
    EXPECT_TRUE(s.ok()) << s;
    return resp;
  }

  std::string dir_;
  absl::Time now_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<TerminologyImpl> read_;
  std::unique_ptr<ReleaseAdminImpl> admin_;
};

TEST_F(DomainTest, DateOfServiceEdges) {
  LoadIcd();
  EXPECT_EQ(Validate("Z28.310", "2022-03-31").outcome(), v1::VALIDATION_OUTCOME_NOT_YET_EFFECTIVE);
  EXPECT_NE(Validate("Z28.310", "2022-03-31").message().find("added in ICD10CM FY2022-04"),
            std::string::npos);
  EXPECT_TRUE(Validate("Z28.310", "2022-04-01").valid());
  EXPECT_TRUE(Validate("T81.32XA", "2024-09-30").valid());
  v1::ValidateCodeResponse deleted = Validate("T81.32XA", "2024-10-01");
  EXPECT_EQ(deleted.outcome(), v1::VALIDATION_OUTCOME_DELETED);
  EXPECT_EQ(deleted.deleted_in().version(), "FY2025");
  EXPECT_NE(deleted.message().find("deleted in ICD10CM FY2025"), std::string::npos);
  v1::ValidateCodeResponse header = Validate("E11", "2024-11-01");
  EXPECT_EQ(header.outcome(), v1::VALIDATION_OUTCOME_NOT_BILLABLE);
  EXPECT_EQ(header.concept().code(), "E11");
  EXPECT_EQ(Validate("E11..9", "2024-11-01").outcome(), v1::VALIDATION_OUTCOME_MALFORMED_CODE);
  EXPECT_EQ(Validate("E11.9", "2024-11-01").release().version(), "FY2025");
}

TEST_F(DomainTest, DefaultReleaseIsTheOneInEffectToday) {
  LoadIcd();
  ASSERT_TRUE(Load("ICD10CM", "FY2027", "2026-10-01", {C("E11.9", "future text")}).ok());
  v1::LookupRequest req;
  req.set_system("ICD10CM");
  req.set_code("E119");
  v1::LookupResponse resp;
  ASSERT_TRUE(read_->Lookup(req, &resp).ok());
  EXPECT_EQ(resp.release().version(), "FY2025");  // FY2027 is published but not yet in effect
  EXPECT_EQ(resp.concept().code(), "E11.9");
  EXPECT_EQ(resp.concept().parent(), "");
  SetToday(2026, 10, 1);
  resp.Clear();
  ASSERT_TRUE(read_->Lookup(req, &resp).ok());
  EXPECT_EQ(resp.release().version(), "FY2027");
}

TEST_F(DomainTest, LookupErrors) {
  LoadIcd();
  v1::LookupRequest req;
  v1::LookupResponse resp;
  req.set_system("ICD10CM");
  req.set_code("E11.9");
  req.mutable_selector()->set_version("FY2019");
  absl::Status s = read_->Lookup(req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "ICD10CM has no release FY2019");
  req.mutable_selector()->set_date_of_service("2019-01-01");
  EXPECT_EQ(read_->Lookup(req, &resp).code(), absl::StatusCode::kNotFound);
  req.mutable_selector()->set_date_of_service("2019-02-30");
  EXPECT_EQ(read_->Lookup(req, &resp).code(), absl::StatusCode::kInvalidArgument);
  req.mutable_selector()->set_version("FY2025");
  req.set_code("T81.32XA");
  s = read_->Lookup(req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "code T81.32XA was deleted in ICD10CM FY2025 (effective 2024-10-01)");
  req.set_code("E11..9");
  EXPECT_EQ(read_->Lookup(req, &resp).code(), absl::StatusCode::kInvalidArgument);
  req.set_system("NOPE");
  EXPECT_EQ(read_->Lookup(req, &resp).code(), absl::StatusCode::kNotFound);
}

// A system registered in the store is a system like the built-in ones: releases are created,
// uploaded (each code checked with its pattern), published, listed and read by its id.
TEST_F(DomainTest, ARegisteredSystemTakesReleasesAndAnswers) {
  ASSERT_TRUE(store_->RegisterSystem(storage::testing::PlaceOfServiceSystem(), 1).ok());
  absl::Status refused = Load("POS", "2025", "2025-01-01", {C("11", "Office"), C("1", "One")});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "uploaded concept #2: concept: '1' is not a valid POS code "
            "(POS codes match [0-9]{2})");
  ASSERT_TRUE(store_->Discard("POS", "2025").ok());
  ASSERT_TRUE(Load("POS", "2025", "2025-01-01", {C("11", "Office"), C(" 12 ", "Home")}).ok());

  v1::LookupRequest req;
  req.set_system("POS");
  req.set_code("12");
  v1::LookupResponse resp;
  ASSERT_TRUE(read_->Lookup(req, &resp).ok());
  EXPECT_EQ(resp.concept().display(), "Home");
  EXPECT_EQ(resp.release().version(), "2025");
  req.set_code("123");
  EXPECT_EQ(read_->Lookup(req, &resp).code(), absl::StatusCode::kInvalidArgument);

  v1::ListCodeSystemsResponse systems;
  ASSERT_TRUE(read_->ListCodeSystems({}, &systems).ok());
  ASSERT_FALSE(systems.systems().empty());
  const v1::CodeSystem& last = systems.systems(systems.systems_size() - 1);
  EXPECT_EQ(last.id(), "POS");
  EXPECT_EQ(last.uri(), storage::testing::PlaceOfServiceSystem().uri);
  EXPECT_EQ(last.published_releases(), 1);
  EXPECT_EQ(last.current_version(), "2025");
  EXPECT_EQ(read_->LicenseScope("POS"), "");
  EXPECT_EQ(read_->LicenseScope("CPT"), "license:CPT");
  EXPECT_EQ(read_->LicenseScope("NOPE"), "");

  // A second release effective the same day: the one published last is in force from then on,
  // and the first stays readable by its version; an earlier day is still refused.
  ASSERT_TRUE(Load("POS", "2025b", "2025-01-01", {C("11", "Office visit"), C("12", "Home")}).ok());
  req.set_code("11");
  req.mutable_selector()->set_date_of_service("2025-06-01");
  ASSERT_TRUE(read_->Lookup(req, &resp).ok());
  EXPECT_EQ(resp.release().version(), "2025b");
  EXPECT_EQ(resp.concept().display(), "Office visit");
  req.mutable_selector()->set_version("2025");
  ASSERT_TRUE(read_->Lookup(req, &resp).ok());
  EXPECT_EQ(resp.concept().display(), "Office");
  EXPECT_EQ(Load("POS", "2024", "2024-12-31", {C("11", "Office")}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, BatchKeepsOrderWithAStatusPerCode) {
  LoadIcd();
  v1::BatchLookupRequest req;
  req.set_system("ICD10CM");
  req.mutable_selector()->set_version("FY2025");
  for (const char* c : {"Z28310", "bad!", "T81.32XA", "E11.9", "A00", "E119"}) req.add_codes(c);
  v1::BatchLookupResponse resp;
  ASSERT_TRUE(read_->BatchLookup(req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 6);
  EXPECT_EQ(resp.release().version(), "FY2025");
  EXPECT_EQ(resp.results(0).outcome(), v1::LOOKUP_OUTCOME_FOUND);
  EXPECT_EQ(resp.results(0).concept().code(), "Z28.310");
  EXPECT_EQ(resp.results(1).outcome(), v1::LOOKUP_OUTCOME_MALFORMED);
  EXPECT_EQ(resp.results(2).outcome(), v1::LOOKUP_OUTCOME_DELETED);
  EXPECT_EQ(resp.results(3).concept().display(), "T2DM w/o comp");
  EXPECT_EQ(resp.results(4).outcome(), v1::LOOKUP_OUTCOME_UNKNOWN);
  EXPECT_EQ(resp.results(5).requested_code(), "E119");
  EXPECT_EQ(resp.results(5).concept().code(), "E11.9");

  req.clear_codes();
  EXPECT_EQ(read_->BatchLookup(req, &resp).code(), absl::StatusCode::kInvalidArgument);
  for (int i = 0; i <= kMaxBatchCodes; ++i) req.add_codes("E119");
  absl::Status s = read_->BatchLookup(req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("limit is 10000"), std::string::npos);
}

TEST_F(DomainTest, HcpcsTerminationDate) {
  v1::Concept g = C("G0505", "Cognition assessment");
  g.set_added_date("2017-01-01");
  ASSERT_TRUE(Load("HCPCS", "2017", "2017-01-01", {g}).ok());
  g.set_termination_date("2017-12-31");
  ASSERT_TRUE(Load("HCPCS", "2018", "2018-01-01", {g}).ok());
  v1::ValidateCodeRequest req;
  req.set_system("HCPCS");
  req.set_code("G0505");
  v1::ValidateCodeResponse resp;
  req.set_date_of_service("2017-12-31");
  ASSERT_TRUE(read_->ValidateCode(req, &resp).ok());
  EXPECT_TRUE(resp.valid());
  req.set_date_of_service("2018-01-01");
  resp.Clear();
  ASSERT_TRUE(read_->ValidateCode(req, &resp).ok());
  EXPECT_EQ(resp.outcome(), v1::VALIDATION_OUTCOME_TERMINATED);
  EXPECT_EQ(resp.concept().status(), v1::CONCEPT_STATUS_INACTIVE);
  req.set_date_of_service("2016-12-31");
  EXPECT_EQ(read_->ValidateCode(req, &resp).code(), absl::StatusCode::kNotFound);
}

std::vector<v1::DiffReleasesResponse> Diff(const TerminologyImpl& impl, const std::string& from,
                                           const std::string& to, int page_size = 0,
                                           const std::string& token = "",
                                           absl::StatusCode expect = absl::StatusCode::kOk) {
  v1::DiffReleasesRequest req;
  req.set_system("ICD10CM");
  req.set_from_version(from);
  req.set_to_version(to);
  req.set_page_size(page_size);
  req.set_resume_token(token);
  std::vector<v1::DiffReleasesResponse> out;
  EXPECT_EQ(impl.DiffReleases(req, &out).code(), expect);
  return out;
}

std::map<std::string, std::string> Changes(const std::vector<v1::DiffReleasesResponse>& msgs) {
  std::map<std::string, std::string> m;
  for (const auto& msg : msgs) {
    for (const auto& c : msg.changes()) {
      std::string types;
      for (int t : c.types()) types += v1::ChangeType_Name(static_cast<v1::ChangeType>(t)) + " ";
      m[c.code()] = types;
    }
  }
  return m;
}

TEST_F(DomainTest, DiffBetweenReleasesBothWays) {
  LoadIcd();
  auto forward = Diff(*read_, "FY2022", "FY2025");
  ASSERT_EQ(forward.size(), 1u);
  EXPECT_EQ(forward[0].from().version(), "FY2022");
  auto changes = Changes(forward);
  EXPECT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes["Z28.310"], "CHANGE_TYPE_ADDED ");
  EXPECT_EQ(changes["T81.32XA"], "CHANGE_TYPE_DELETED ");
  EXPECT_EQ(changes["Z28.3"], "CHANGE_TYPE_PROPERTY_CHANGED CHANGE_TYPE_BILLABLE_CHANGED ");
  const v1::DiffSummary& s = forward[0].summary();
  EXPECT_EQ(s.changed_codes(), 3);
  EXPECT_EQ(s.billable_added(), 1);
  EXPECT_EQ(s.billable_removed(), 2);
  EXPECT_EQ(s.headers_added(), 1);

  auto backward = Changes(Diff(*read_, "FY2025", "FY2022"));
  EXPECT_EQ(backward["Z28.310"], "CHANGE_TYPE_DELETED ");
  EXPECT_EQ(backward["T81.32XA"], "CHANGE_TYPE_ADDED ");
  EXPECT_TRUE(Changes(Diff(*read_, "FY2025", "FY2025")).empty());
}

TEST_F(DomainTest, DiffPagesResumeAndErrors) {
  LoadIcd();
  auto pages = Diff(*read_, "FY2022", "FY2025", /*page_size=*/1);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_FALSE(pages[0].has_summary());
  EXPECT_TRUE(pages[2].has_summary());
  EXPECT_TRUE(pages[2].resume_token().empty());
  // Resuming after the first page gives the rest, and the same summary.
  auto rest = Diff(*read_, "FY2022", "FY2025", 0, pages[0].resume_token());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].changes_size(), 2);
  EXPECT_EQ(rest[0].changes(0).code(), pages[1].changes(0).code());
  EXPECT_EQ(rest[0].summary().changed_codes(), 3);
  Diff(*read_, "FY2022-04", "FY2025", 0, pages[0].resume_token(),
       absl::StatusCode::kInvalidArgument);
  Diff(*read_, "FY2022", "FY2025", 0, "garbage", absl::StatusCode::kInvalidArgument);
  Diff(*read_, "FY2022", "FY2019", 0, "", absl::StatusCode::kNotFound);
  Diff(*read_, "FY2022", "FY2025", 100000, "", absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, CodeHistory) {
  LoadIcd();
  v1::GetCodeHistoryRequest req;
  req.set_system("ICD10CM");
  req.set_code("T8132XA");
  v1::GetCodeHistoryResponse resp;
  ASSERT_TRUE(read_->GetCodeHistory(req, &resp).ok());
  EXPECT_EQ(resp.code(), "T81.32XA");
  ASSERT_EQ(resp.events_size(), 2);
  EXPECT_EQ(resp.events(0).release().version(), "FY2022");
  EXPECT_EQ(resp.events(0).types(0), v1::CHANGE_TYPE_ADDED);
  EXPECT_EQ(resp.events(1).release().version(), "FY2025");
  EXPECT_EQ(resp.events(1).types(0), v1::CHANGE_TYPE_DELETED);
  EXPECT_TRUE(resp.events(1).has_before());
  EXPECT_FALSE(resp.events(1).has_after());

  req.set_code("Z28.3");
  resp.Clear();
  ASSERT_TRUE(read_->GetCodeHistory(req, &resp).ok());
  ASSERT_EQ(resp.events_size(), 2);
  EXPECT_EQ(resp.events(1).release().version(), "FY2022-04");
  EXPECT_TRUE(resp.events(1).before().billable());
  EXPECT_FALSE(resp.events(1).after().billable());

  req.set_code("Q99.99");
  EXPECT_EQ(read_->GetCodeHistory(req, &resp).code(), absl::StatusCode::kNotFound);
  req.set_code("Q9..9");
  EXPECT_EQ(read_->GetCodeHistory(req, &resp).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, ConversionLinksInHistory) {
  LoadIcd();
  v1::AddCodeLinksRequest req;
  req.set_system("ICD10CM");
  v1::CodeLink* l = req.add_links();
  l->set_code("Z28.310");
  l->set_previous_code("Z283");
  l->set_effective("2022-04-01");
  v1::AddCodeLinksResponse resp;
  ASSERT_TRUE(admin_->AddCodeLinks(req, &resp).ok());
  EXPECT_EQ(resp.stored(), 1);
  v1::GetCodeHistoryRequest h;
  h.set_system("ICD10CM");
  h.set_code("Z28.3");
  v1::GetCodeHistoryResponse history;
  ASSERT_TRUE(read_->GetCodeHistory(h, &history).ok());
  ASSERT_EQ(history.successors_size(), 1);
  EXPECT_EQ(history.successors(0).code(), "Z28.310");
  EXPECT_EQ(history.successors(0).effective(), "2022-04-01");
  h.set_code("Z28310");
  ASSERT_TRUE(read_->GetCodeHistory(h, &history).ok());
  ASSERT_EQ(history.predecessors_size(), 1);
  EXPECT_EQ(history.predecessors(0).previous_code(), "Z28.3");
  EXPECT_EQ(history.successors_size(), 0);
  l->set_previous_code("not a code");
  EXPECT_EQ(admin_->AddCodeLinks(req, &resp).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, AdminRejectsBadInput) {
  EXPECT_EQ(Load("ICD10CM", "bad version", "2024-10-01", {C("E119", "x")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("ICD10CM", "FY2025", "2024-13-01", {C("E119", "x")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("ICD10CM", "FY2024", "2023-10-01", {C("E11..9", "x")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("ICD10CM", "FY2023", "2022-10-01", {C("E119", "")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("ICD10CM", "FY2022", "2021-10-01", {C("E119", "a"), C("E11.9", "b")}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("XYZ", "1", "2021-10-01", {C("E119", "a")}).code(),
            absl::StatusCode::kNotFound);
  // Nothing was published by any of these.
  EXPECT_EQ(store_->catalog()->LatestPublished("ICD10CM"), nullptr);
}

}  // namespace
}  // namespace codebook::service
