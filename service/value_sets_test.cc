#include "service/value_sets.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "service/release_admin_impl.h"
#include "tests/domain_releases.h"
#include "storage/store.h"

namespace codebook::service {
namespace {

using storage::ValueSetFilterRecord;
using storage::ValueSetRecord;
using storage::ValueSetRuleRecord;

v1::Concept C(const std::string& code, const std::string& parent, bool header = false) {
  v1::Concept c;
  c.set_code(code);
  c.set_display("text of " + code);
  c.set_parent(parent);
  c.set_billable(!header);
  c.set_kind(header ? v1::CONCEPT_KIND_HEADER : v1::CONCEPT_KIND_CODE);
  return c;
}

class ValueSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/codebook-valueset-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = *storage::Store::Open(dir_ + "/db");
    admin_ = std::make_unique<ReleaseAdminImpl>(store_.get(), [] { return absl::Now(); });
    // FY2025 deletes E11.22 and adds E11.A; FY2026 adds E11.23.
    std::vector<v1::Concept> fy2024 = {C("E10", "", true), C("E10.9", "E10"), C("E11", "", true),
                                       C("E11.2", "E11", true), C("E11.21", "E11.2"),
                                       C("E11.22", "E11.2"), C("E11.9", "E11"), C("I10", "")};
    ASSERT_TRUE(Load("ICD10CM", "FY2024", "2023-10-01", fy2024).ok());
    std::vector<v1::Concept> fy2025 = fy2024;
    fy2025.erase(fy2025.begin() + 5);
    fy2025.push_back(C("E11.A", "E11"));
    ASSERT_TRUE(Load("ICD10CM", "FY2025", "2024-10-01", fy2025).ok());
    std::vector<v1::Concept> fy2026 = fy2025;
    fy2026.push_back(C("E11.23", "E11.2"));
    for (v1::Concept& c : fy2026) {
      if (c.code() == "E11.9") c = C("E11.9", "E11", true);  // becomes a header
    }
    absl::Status fy2026_loaded = Load("ICD10CM", "FY2026", "2025-10-01", fy2026);
    ASSERT_TRUE(fy2026_loaded.ok()) << fy2026_loaded;
    std::vector<v1::Concept> hcpcs = {C("E0100", ""), C("E0105", ""), C("A4253", "")};
    (*hcpcs[0].mutable_properties())["betos"] = "D1A";
    (*hcpcs[1].mutable_properties())["betos"] = "D1B";
    ASSERT_TRUE(Load("HCPCS", "2025", "2025-01-01", hcpcs).ok());
  }
  void TearDown() override {
    admin_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  absl::Status Load(const std::string& system, const std::string& version,
                    const std::string& date, std::vector<v1::Concept> concepts) {
    return testing::PublishRelease(*admin_, system, version, date, concepts);
  }
  // Checks and stores `vs`; returns the stored form.
  ValueSetRecord Create(ValueSetRecord vs) {
    absl::Status s = CheckValueSet(*store_->catalog(), &vs);
    EXPECT_TRUE(s.ok()) << s;
    auto stored = store_->CreateValueSet(vs, 1);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return *stored;
  }
  // The printed codes of the expansion of `vs` on `date`.
  std::vector<std::string> Codes(const ValueSetRecord& vs, const std::string& date) {
    auto reader = store_->NewReader();
    auto e = Expand(*reader, vs, date);
    EXPECT_TRUE(e.ok()) << e.status();
    std::vector<std::string> out;
    if (!e.ok()) return out;
    for (const ExpandedConcept& c : (*e)->concepts) out.push_back(PrintedCode(*c.system, c.code));
    return out;
  }
  static ValueSetRecord Diabetes() {
    ValueSetRecord vs;
    vs.url = "https://payer.example/vs/diabetes";
    vs.version = "1";
    vs.title = "Diabetes";
    ValueSetRuleRecord& tree = vs.includes.emplace_back();
    tree.system = "http://hl7.org/fhir/sid/icd-10-cm";  // by URI
    tree.filters = {{"concept", "is-a", "E11"}};
    ValueSetRuleRecord& codes = vs.includes.emplace_back();
    codes.system = "ICD10CM";
    codes.codes = {"E10.9"};
    ValueSetRuleRecord& out = vs.excludes.emplace_back();
    out.system = "ICD10CM";
    out.codes = {"e11.9"};
    return vs;
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ReleaseAdminImpl> admin_;
};

TEST_F(ValueSetTest, ExpansionFollowsTheReleaseInForceOnTheDate) {
  ValueSetRecord vs = Create(Diabetes());
  EXPECT_EQ(vs.includes[0].system, "ICD10CM");  // the stored form names the id
  EXPECT_EQ(vs.excludes[0].codes[0], "E119");   // and storage-form codes
  using V = std::vector<std::string>;
  EXPECT_EQ(Codes(vs, "2024-01-01"), (V{"E10.9", "E11", "E11.2", "E11.21", "E11.22"}));
  EXPECT_EQ(Codes(vs, "2024-11-01"), (V{"E10.9", "E11", "E11.2", "E11.21", "E11.A"}));
  EXPECT_EQ(Codes(vs, "2025-10-01"), (V{"E10.9", "E11", "E11.2", "E11.21", "E11.23", "E11.A"}));

  auto reader = store_->NewReader();
  bool cached = true;
  auto first = Expand(*reader, vs, "2024-12-24", &cached);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ((*first)->releases.size(), 1u);
  EXPECT_EQ((*first)->releases[0].version, "FY2025");
  bool again = false;
  auto second = Expand(*reader, vs, "2024-10-01", &again);  // the same release: the same answer
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(again);
  EXPECT_EQ(first->get(), second->get());

  auto none = Expand(*reader, vs, "2020-01-01");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("ICD10CM has no published release in effect on "
                                         "2020-01-01"),
            std::string::npos);
  EXPECT_EQ(Expand(*reader, vs, "2024-13-01").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ValueSetTest, FiltersOnHierarchyPropertiesAndImports) {
  using V = std::vector<std::string>;
  auto one = [&](const std::string& url, std::vector<ValueSetFilterRecord> filters,
                 const std::string& system = "ICD10CM") {
    ValueSetRecord vs;
    vs.url = url;
    vs.version = "1";
    vs.includes.emplace_back().system = system;
    vs.includes[0].filters = std::move(filters);
    return Create(vs);
  };
  EXPECT_EQ(Codes(one("urn:vs:desc", {{"concept", "descendent-of", "E11"}}), "2024-11-01"),
            (V{"E11.2", "E11.21", "E11.9", "E11.A"}));
  EXPECT_EQ(Codes(one("urn:vs:child", {{"concept", "child-of", "E11"}}), "2024-11-01"),
            (V{"E11.2", "E11.9", "E11.A"}));
  EXPECT_EQ(Codes(one("urn:vs:billable", {{"concept", "is-a", "E11"}, {"billable", "=", "true"}}),
                  "2024-11-01"),
            (V{"E11.21", "E11.9", "E11.A"}));
  EXPECT_EQ(Codes(one("urn:vs:headers", {{"kind", "=", "header"}}), "2024-11-01"),
            (V{"E10", "E11", "E11.2"}));
  EXPECT_EQ(Codes(one("urn:vs:regex", {{"concept", "regex", "E1[01]\\.9"}}), "2024-11-01"),
            (V{"E10.9", "E11.9"}));
  EXPECT_EQ(Codes(one("urn:vs:in", {{"concept", "in", "I10,E10.9"}}), "2024-11-01"),
            (V{"E10.9", "I10"}));
  EXPECT_EQ(Codes(one("urn:vs:parent", {{"parent", "=", "E11.2"}}), "2024-11-01"),
            (V{"E11.21"}));
  // HCPCS: its letter groups and its properties.
  EXPECT_EQ(Codes(one("urn:vs:dme", {{"concept", "is-a", "E"}}, "HCPCS"), "2025-06-01"),
            (V{"E0100", "E0105"}));
  EXPECT_EQ(Codes(one("urn:vs:betos", {{"concept", "is-a", "E"}, {"betos", "in", "D1A,D1X"}},
                      "HCPCS"),
                  "2025-06-01"),
            (V{"E0100"}));
  EXPECT_EQ(Codes(one("urn:vs:nobetos", {{"betos", "exists", "false"}}, "HCPCS"), "2025-06-01"),
            (V{"A4253"}));
  EXPECT_EQ(Codes(one("urn:vs:betosre", {{"betos", "regex", "D1.*"}}, "HCPCS"), "2025-06-01"),
            (V{"E0100", "E0105"}));

  // Imports: the codes of the system also in the imported set; several sets intersect; an
  // import-only rule takes the imported set; two systems in one set.
  Create(Diabetes());
  ValueSetRecord vs;
  vs.url = "urn:vs:mixed";
  vs.version = "1";
  ValueSetRuleRecord& billable = vs.includes.emplace_back();
  billable.system = "ICD10CM";
  billable.filters = {{"billable", "=", "true"}};
  billable.value_sets = {"https://payer.example/vs/diabetes|1"};
  vs.includes.emplace_back().value_sets = {"urn:vs:dme"};
  ValueSetRecord mixed = Create(vs);
  EXPECT_EQ(Codes(mixed, "2025-06-01"), (V{"E0100", "E0105", "E10.9", "E11.21", "E11.A"}));
  vs.url = "urn:vs:both";
  vs.includes = {ValueSetRuleRecord{}};
  vs.includes[0].value_sets = {"urn:vs:desc", "urn:vs:billable"};
  EXPECT_EQ(Codes(Create(vs), "2024-11-01"), (V{"E11.21", "E11.9", "E11.A"}));
}

TEST_F(ValueSetTest, MembershipSaysWhyACodeIsOut) {
  ValueSetRecord vs = Create(Diabetes());
  auto reader = store_->NewReader();
  struct Case {
    std::string code;
    Membership outcome;
    std::string release;
  };
  for (const Case& c : std::vector<Case>{
           {"E11.21", Membership::kMember, "FY2025"},
           {"E1121", Membership::kMember, "FY2025"},
           {"E11", Membership::kHeader, "FY2025"},
           {"I10", Membership::kNotInDefinition, "FY2025"},
           {"E11.9", Membership::kNotInDefinition, "FY2025"},  // excluded
           {"E11.22", Membership::kDeleted, "FY2024"},
           {"E11.23", Membership::kNotYetEffective, "FY2026"},
           {"Z99.89", Membership::kUnknownCode, "FY2025"},
       }) {
    auto m = CheckMembership(*reader, vs, "ICD10CM", c.code, "2024-11-01");
    ASSERT_TRUE(m.ok()) << c.code << ": " << m.status();
    EXPECT_EQ(m->outcome, c.outcome) << c.code << ": " << m->message;
    EXPECT_EQ(m->release.version, c.release) << c.code << ": " << m->message;
  }
  auto m = CheckMembership(*reader, vs, "ICD10CM", "E11.22", "2024-11-01");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message,
            "ICD10CM E11.22 was deleted from https://payer.example/vs/diabetes|1 on 2024-11-01 "
            "(ICD10CM FY2024, effective 2023-10-01)");
  EXPECT_EQ(CheckMembership(*reader, vs, "ICD10CM", "E11.2!", "2024-11-01").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto other = CheckMembership(*reader, vs, "HCPCS", "E0100", "2025-06-01");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("takes no codes of HCPCS"), std::string::npos);
}

TEST_F(ValueSetTest, DefinitionsAreCheckedAndCyclesStopped) {
  auto check = [&](ValueSetRecord vs) { return CheckValueSet(*store_->catalog(), &vs); };
  struct Case {
    std::function<void(ValueSetRecord*)> change;
    absl::StatusCode code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {[](ValueSetRecord* v) { v->url = "no scheme"; }, absl::StatusCode::kInvalidArgument,
            "the url must be an absolute URI"},
           {[](ValueSetRecord* v) { v->version = ""; }, absl::StatusCode::kInvalidArgument,
            "the version must be"},
           {[](ValueSetRecord* v) { v->includes.clear(); }, absl::StatusCode::kInvalidArgument,
            "it includes nothing"},
           {[](ValueSetRecord* v) { v->includes[1].codes = {"E1!"}; },
            absl::StatusCode::kInvalidArgument, "include[1]: "},
           {[](ValueSetRecord* v) { v->includes[0].filters[0].op = "below"; },
            absl::StatusCode::kInvalidArgument, "the operator is not one of"},
           {[](ValueSetRecord* v) { v->includes[0].filters[0].property = "display"; },
            absl::StatusCode::kInvalidArgument, "apply to the property 'concept'"},
           {[](ValueSetRecord* v) { v->includes[0].filters = {{"display", "regex", "(a"}}; },
            absl::StatusCode::kInvalidArgument, "not a regular expression"},
           {[](ValueSetRecord* v) { v->includes[0].filters = {{"billable", "=", "yes"}}; },
            absl::StatusCode::kInvalidArgument, "true or false"},
           {[](ValueSetRecord* v) { v->excludes[0].value_sets = {v->url}; },
            absl::StatusCode::kInvalidArgument, "cannot import itself"},
           {[](ValueSetRecord* v) { v->includes.emplace_back(); },
            absl::StatusCode::kInvalidArgument, "include[2]: names neither"},
       }) {
    ValueSetRecord vs = Diabetes();
    c.change(&vs);
    absl::Status s = check(vs);
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s << "\nwanted: " << c.message;
  }
  // What does not exist yet is accepted, and expanding says what is missing.
  auto reader = store_->NewReader();
  for (const Case& c : std::vector<Case>{
           {[](ValueSetRecord* v) { v->includes[0].system = "urn:cs:later"; },
            absl::StatusCode::kFailedPrecondition,
            "the value set needs code system urn:cs:later, which is not known here"},
           {[](ValueSetRecord* v) { v->includes[0].version = "FY2030"; },
            absl::StatusCode::kFailedPrecondition,
            "ICD10CM release FY2030, which the value set names, is not published"},
           {[](ValueSetRecord* v) { v->excludes[0].value_sets = {"urn:vs:none"}; },
            absl::StatusCode::kNotFound, "no value set urn:vs:none"},
       }) {
    ValueSetRecord vs = Diabetes();
    vs.url = "urn:vs:pending";
    c.change(&vs);
    ASSERT_TRUE(check(vs).ok()) << check(vs);
    auto e = Expand(*reader, vs, "2024-11-01");
    EXPECT_EQ(e.status().code(), c.code) << e.status();
    EXPECT_NE(e.status().message().find(c.message), std::string::npos) << e.status();
  }
  // A version imports the newest version of another; a later version of that one importing
  // the first closes a cycle, which expansion stops.
  ValueSetRecord a;
  a.url = "urn:vs:a";
  a.version = "1";
  a.includes.emplace_back().system = "ICD10CM";
  a.includes[0].codes = {"I10"};
  Create(a);
  ValueSetRecord b;
  b.url = "urn:vs:b";
  b.version = "1";
  b.includes.emplace_back().value_sets = {"urn:vs:a"};
  ValueSetRecord stored_b = Create(b);
  a.version = "2";
  a.includes[0].value_sets = {"urn:vs:b"};
  Create(a);
  reader = store_->NewReader();
  auto e = Expand(*reader, stored_b, "2024-11-01");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(e.status().message().find("in a cycle"), std::string::npos) << e.status();
}

TEST_F(ValueSetTest, DiffSaysWhichCodesEnterOrLeaveAndWhy) {
  ValueSetRecord vs = Diabetes();
  vs.includes[0].filters.push_back({"billable", "=", "true"});
  vs = Create(vs);
  auto reader = store_->NewReader();
  auto names = [](const ValueSetDiff& d) {
    std::vector<std::string> out;
    for (const ValueSetChange& c : d.changes) {
      std::string causes;
      for (ChangeCause cause : c.causes) absl::StrAppend(&causes, static_cast<int>(cause));
      out.push_back(absl::StrCat(c.entered ? "+" : "-", PrintedCode(*c.system, c.code), ":",
                                 causes));
    }
    return out;
  };
  using V = std::vector<std::string>;
  // FY2024 -> FY2025: E11.22 deleted, E11.A added.
  auto d = DiffValueSets(*reader, vs, "2024-09-30", vs, "2024-10-01");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(names(*d), (V{"-E11.22:1", "+E11.A:0"}));
  ASSERT_TRUE(d->changes[0].before.has_value());
  EXPECT_FALSE(d->changes[0].after.has_value());
  EXPECT_EQ(d->from->releases[0].version, "FY2024");
  EXPECT_EQ(d->to->releases[0].version, "FY2025");
  // FY2025 -> FY2026: E11.23 added; E11.9 (excluded anyway) is no change.
  d = DiffValueSets(*reader, vs, "2025-09-30", vs, "2025-10-01");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(names(*d), (V{"+E11.23:0"}));
  // Without the exclusion, E11.9 leaves as a header: its record changed.
  ValueSetRecord wide = vs;
  wide.url = "urn:vs:wide";
  wide.excludes.clear();
  wide = Create(wide);
  d = DiffValueSets(*reader, wide, "2025-09-30", wide, "2025-10-01");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(names(*d), (V{"+E11.23:0", "-E11.9:2"}));
  // Two versions on one date: the rules changed.
  d = DiffValueSets(*reader, vs, "2024-11-01", wide, "2024-11-01");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(names(*d), (V{"+E11.9:4"}));
  EXPECT_EQ(DiffValueSets(*reader, vs, "2020-01-01", vs, "2024-11-01").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace codebook::service
