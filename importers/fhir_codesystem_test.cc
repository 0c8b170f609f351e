// ParseFhirCodeSystem: the repo's sample, error paths, and every setup CodeSystem of the HL7
// terminology test suite's general-mode suites (when ../shared/fhir-tx-tests is there).
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "importers/importers.h"
#include "nlohmann/json.hpp"

namespace codebook::importers {
namespace {

namespace fs = std::filesystem;
const std::string kSample = CODEBOOK_SAMPLE_DIR;
const std::string kFhirTests = CODEBOOK_FHIR_TX_TESTS_DIR;

std::map<std::string, v1::Concept> ByCode(const Concepts& concepts) {
  std::map<std::string, v1::Concept> m;
  for (const auto& c : concepts) m[c.code()] = c;
  return m;
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/codebook-fhir-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() { fs::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(FhirCodeSystemTest, ReadsTheSample) {
  auto cs = ParseFhirCodeSystem(kSample + "/fhir/settings-1.json");
  ASSERT_TRUE(cs.ok()) << cs.status();
  EXPECT_EQ(cs->system.uri(), "https://codebook.example/fhir/CodeSystem/settings");
  EXPECT_EQ(cs->system.id(), "settings");
  EXPECT_EQ(cs->system.title(), "Codebook sample: care settings");
  EXPECT_EQ(cs->system.publisher(), "Codebook project (sample)");
  EXPECT_TRUE(cs->system.case_sensitive());
  EXPECT_EQ(cs->system.hierarchy_meaning(), "is-a");
  EXPECT_EQ(cs->version, "1.0.0");
  EXPECT_EQ(cs->date, "2024-01-01");
  EXPECT_EQ(cs->content, "complete");
  ASSERT_EQ(cs->concepts.size(), 7u);
  // Document order: each group, then its members.
  EXPECT_EQ(cs->concepts[0].code(), "inpatient");
  EXPECT_EQ(cs->concepts[1].code(), "ward");
  auto by = ByCode(cs->concepts);
  EXPECT_EQ(by["inpatient"].kind(), v1::CONCEPT_KIND_HEADER);  // notSelectable, by its uri
  EXPECT_FALSE(by["inpatient"].billable());
  EXPECT_EQ(by["inpatient"].parent(), "");
  EXPECT_EQ(by["ward"].parent(), "inpatient");
  EXPECT_EQ(by["ward"].kind(), v1::CONCEPT_KIND_CODE);
  EXPECT_TRUE(by["ward"].billable());
  EXPECT_EQ(by["ward"].properties().at("definition"), "A bed on a general ward.");
  EXPECT_EQ(by["ward"].properties().at("beds"), "30");
  ASSERT_EQ(by["ward"].designations_size(), 2);
  EXPECT_EQ(by["ward"].designations(0).language(), "de");
  EXPECT_EQ(by["ward"].designations(0).use(), "");
  EXPECT_EQ(by["ward"].designations(0).value(), "Krankenhausstation");
  EXPECT_EQ(by["ward"].designations(1).use(), "http://snomed.info/sct|900000000000013009");
  EXPECT_EQ(by["home"].status(), v1::CONCEPT_STATUS_INACTIVE);  // status retired
  EXPECT_EQ(by["home"].properties().at("status"), "retired");
  EXPECT_EQ(by["clinic"].status(), v1::CONCEPT_STATUS_ACTIVE);
  EXPECT_EQ(by["clinic"].parent(), "outpatient");
  // The generic format name reaches the same parser.
  auto concepts = ParseFile("fhir-codesystem", kSample + "/fhir/settings-2.json");
  ASSERT_TRUE(concepts.ok()) << concepts.status();
  EXPECT_EQ(ByCode(*concepts).count("school"), 1u);
  EXPECT_EQ(ByCode(*concepts).count("home"), 0u);
}

TEST(FhirCodeSystemTest, BadResourcesNameTheJsonPath) {
  const std::string head =
      R"({"resourceType": "CodeSystem", "url": "http://example.org/cs", "content": "complete", )";
  struct Case {
    std::string json, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"resourceType\": \"CodeSystem\",\n \"url\": }", ":2: not JSON"},
           {"[1, 2]", "not a FHIR resource"},
           {R"({"resourceType": "ValueSet"})", "$.resourceType: 'ValueSet' is not a CodeSystem"},
           {R"({"url": "x"})", "$.resourceType: absent"},
           {head + R"("concept": [{"code": "a", "colour": "red"}]})",
            "$.concept[0].colour: unknown element"},
           {head + R"("concept": [{"code": "a", "concept": [{"display": "x"}]}]})",
            "$.concept[0].concept[0].code: absent"},
           {head + R"("concept": [{"code": "a"}, {"code": "b", "concept": [{"code": "a"}]}]})",
            "$.concept[1].concept[0].code: 'a' is defined already at $.concept[0]"},
           {head + R"("caseSensitive": false, "concept": [{"code": "a"}, {"code": "A"}]})",
            "(the system ignores case)"},
           {head + R"("concept": [{"code": "a", "property": [{"code": "p", "valueFoo": 1}]}]})",
            "$.concept[0].property[0].valueFoo: a kind of value not taken here"},
           {head + R"("concept": [{"code": "a", "property": [{"code": "p"}]}]})",
            "$.concept[0].property[0]: no value[x]"},
           {head + R"("concept": [{"code": "a", "property": [{"code": "p", "valueInteger": 1.5}]}]})",
            "valueInteger: not an integer"},
           {head + R"("concept": [{"code": "a", "designation": [{"language": "de"}]}]})",
            "$.concept[0].designation[0].value: absent"},
           {head + R"("modifierExtension": [], "concept": []})", "$.modifierExtension"},
           {head + R"("caseSensitive": "yes"})", "$.caseSensitive: not true or false"},
           {head + R"("concept": {"code": "a"}})", "$.concept: not a JSON array"},
           {head + R"("date": "April"})", "$.date: 'April' is not a FHIR dateTime"},
           {R"({"resourceType": "CodeSystem", "content": "complete"})", "$.url: absent"},
           {R"({"resourceType": "CodeSystem", "url": "u", "content": "all"})",
            "$.content: 'all' is not a FHIR content mode"},
           {R"({"resourceType": "CodeSystem", "url": "u", "content": "supplement"})",
            "$.supplements: absent in a supplement"},
       }) {
    TempFile f(c.json);
    auto parsed = ParseFhirCodeSystem(f.path());
    ASSERT_FALSE(parsed.ok()) << c.expect;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.expect;
    EXPECT_TRUE(absl::StartsWith(parsed.status().message(), f.path())) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.expect))
        << parsed.status() << "\nexpected: " << c.expect;
  }
  EXPECT_EQ(ParseFhirCodeSystem("/nonexistent/cs.json").status().code(),
            absl::StatusCode::kNotFound);
  // FHIR's conventions are taken: "_x" extensions and "x:lang" translations of known elements.
  TempFile ok(head + R"("_title": {"extension": []}, "title": "T", "title:de": "Titel",
                         "concept": [{"code": "a", "definition": "d", "definition:de": "D",
                                      "extension": [{"url": "u", "valueString": "v"}]}]})");
  auto parsed = ParseFhirCodeSystem(ok.path());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->concepts[0].properties().at("definition:de"), "D");
  EXPECT_EQ(parsed->system.id(), "cs");
  EXPECT_FALSE(parsed->system.case_sensitive());  // FHIR's default
}

// Issue 13: every setup CodeSystem of the HL7 suite's general-mode suites loads, and each gives
// one concept per concept element (nested ones included).
TEST(FhirCodeSystemTest, EverySetupCodeSystemOfTheHl7GeneralSuitesParses) {
  const std::string cases = kFhirTests + "/tests/test-cases.json";
  if (!fs::exists(cases)) GTEST_SKIP() << "HL7 test suite not present: " << cases;
  nlohmann::json suites = nlohmann::json::parse(std::ifstream(cases));
  std::set<std::string> files;
  for (const auto& suite : suites["suites"]) {
    if (suite.value("mode", "general") != "general") continue;
    for (const auto& f : suite.value("setup", nlohmann::json::array())) files.insert(f);
  }
  int code_systems = 0;
  for (const std::string& f : files) {
    const std::string path = kFhirTests + "/tests/" + f;
    nlohmann::json doc = nlohmann::json::parse(std::ifstream(path));
    if (doc["resourceType"] != "CodeSystem") continue;
    ++code_systems;
    std::function<int(const nlohmann::json&)> count = [&](const nlohmann::json& list) {
      int n = 0;
      for (const auto& c : list) n += 1 + count(c.value("concept", nlohmann::json::array()));
      return n;
    };
    auto parsed = ParseFhirCodeSystem(path);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(static_cast<int>(parsed->concepts.size()),
              count(doc.value("concept", nlohmann::json::array())))
        << f;
    EXPECT_EQ(parsed->system.uri(), doc["url"]) << f;
  }
  EXPECT_EQ(code_systems, 41);  // measured in the suite at commit 888e84d
}

}  // namespace
}  // namespace codebook::importers
