// The FHIR R4 terminology port against a real server: the server runs in this process
// (server::Server, as codebookd runs it), on a real RocksDB in a fresh temporary folder, with
// the sample releases loaded over gRPC; requests go over HTTP on loopback with cpp-httplib's
// client. Covers the answers for Codebook's own systems (a code deleted by a release, a header
// that is not billable, a HCPCS code terminated before the date of service, CPT text withheld
// without the licence) and the error paths (unknown system, bad body, credentials, methods,
// size limit).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "server/server.h"
#include "service/auth.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

using Json = nlohmann::json;

const std::string kAdminToken = "fhir-admin-token-0123456789";
const std::string kReadToken = "fhir-read-token-0123456789ab";
const std::string kCoderToken = "fhir-coder-token-0123456789a";
constexpr char kIcd[] = "http://hl7.org/fhir/sid/icd-10-cm";
// HL7's canonical for HCPCS (http://, where Codebook's registry has https://).
constexpr char kHcpcs[] = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";
constexpr char kCpt[] = "http://www.ama-assn.org/go/cpt";

class FhirTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/codebook-fhir-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    std::ofstream tokens(*dir_ + "/tokens");
    for (const auto& [token, scopes, name] : {std::tuple{kAdminToken, "read,admin", "loader"},
                                              {kReadToken, "read", "claims-app"},
                                              {kCoderToken, "read,license:CPT", "coder-app"}}) {
      tokens << service::HashToken(token) << "  " << scopes << "  " << name << "\n";
    }
    tokens.close();
    server::Options options = Options("db");
    options.fhir_max_body_bytes = 64 << 10;
    auto started = server::Server::BuildAndStart(options);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ClientOptions client_options;
    client_options.target = "127.0.0.1:" + std::to_string(server_->ports().grpc);
    client_options.bearer_token = kAdminToken;
    Client admin(client_options);
    absl::Status imported = ImportFiles(
        &admin, kSample,
        {kSampleCpt[0],
         kSampleCpt[1],
         {"HCPCS", "2017", "2017-01-01", "hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt"},
         {"HCPCS", "2018", "2018-01-01", "hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt"},
         {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
          "/icd10cm/2024/icd10cm-order-2024.txt"},
         {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
          "/icd10cm/2025/icd10cm_order_2025.txt"}});
    ASSERT_TRUE(imported.ok()) << imported;
  }
  // A plaintext server on loopback with a FHIR port, the suite's tokens and database `db`.
  static server::Options Options(const std::string& db) {
    server::Options options;
    options.listen = "127.0.0.1:0";
    options.fhir_listen = "127.0.0.1:0";
    options.db_path = *dir_ + "/" + db;
    options.plaintext = true;
    options.tokens_file = *dir_ + "/tokens";
    return options;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A client of the FHIR port, with `token` as its bearer token when given.
  static httplib::Client Http(const std::string& token = kReadToken) {
    httplib::Client c("127.0.0.1", server_->ports().fhir);
    if (!token.empty()) c.set_bearer_token_auth(token.c_str());
    return c;
  }
  // GETs `path` (under /fhir); the parsed body, and its status in *status.
  static Json Get(const std::string& path, int* status, const std::string& token = kReadToken) {
    auto res = Http(token).Get(("/fhir" + path).c_str());
    if (!res) return Json();
    *status = res->status;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/fhir+json") << path;
    return Json::parse(res->body, nullptr, false);
  }
  // The value[x] of the first output parameter called `name` ("" when absent).
  static Json Param(const Json& parameters, const std::string& name) {
    for (const Json& p : parameters.value("parameter", Json::array())) {
      if (p["name"] != name) continue;
      for (auto it = p.begin(); it != p.end(); ++it) {
        if (it.key().rfind("value", 0) == 0) return it.value();
      }
      if (p.contains("resource")) return p["resource"];
    }
    return Json();
  }
  // The value of property `code` in a $lookup answer (null when absent).
  static Json Property(const Json& parameters, const std::string& code) {
    for (const Json& p : parameters.value("parameter", Json::array())) {
      if (p["name"] != "property" || p["part"][0]["valueCode"] != code) continue;
      for (auto it = p["part"][1].begin(); it != p["part"][1].end(); ++it) {
        if (it.key().rfind("value", 0) == 0) return it.value();
      }
    }
    return Json();
  }

  static std::string* dir_;
  static server::Server* server_;
};

std::string* FhirTest::dir_ = nullptr;
server::Server* FhirTest::server_ = nullptr;

TEST_F(FhirTest, MetadataDescribesTheServerAndItsCodeSystems) {
  int status = 0;
  Json cs = Get("/metadata", &status, "");  // public: no token needed
  EXPECT_EQ(status, 200);
  EXPECT_EQ(cs["resourceType"], "CapabilityStatement");
  EXPECT_EQ(cs["fhirVersion"], "4.0.1");
  EXPECT_EQ(cs["rest"][0]["resource"][0]["type"], "CodeSystem");
  Json tc = Get("/metadata?mode=terminology", &status);
  EXPECT_EQ(status, 200);
  ASSERT_EQ(tc["resourceType"], "TerminologyCapabilities") << tc.dump();
  bool icd = false;
  for (const Json& s : tc["codeSystem"]) {
    if (s["uri"] != kIcd) continue;
    icd = true;
    ASSERT_EQ(s["version"].size(), 2u) << s.dump();
  }
  EXPECT_TRUE(icd) << tc.dump();
}

TEST_F(FhirTest, LookupAnswersForTheDateOfService) {
  int status = 0;
  Json found =
      Get(std::string("/CodeSystem/$lookup?system=") + kIcd + "&code=T81.32XA&date=2024-05-01",
          &status);
  ASSERT_EQ(status, 200) << found.dump();
  EXPECT_EQ(found["resourceType"], "Parameters");
  EXPECT_EQ(Param(found, "version"), "FY2024");
  EXPECT_EQ(Param(found, "code"), "T81.32XA");
  EXPECT_FALSE(Param(found, "display").get<std::string>().empty()) << found.dump();
  EXPECT_EQ(Property(found, "billable"), true);
  // FY2025 deleted it: on a later date of service it is not there, and the outcome says so.
  Json deleted =
      Get(std::string("/CodeSystem/$lookup?system=") + kIcd + "&code=T81.32XA&date=2024-11-01",
          &status);
  EXPECT_EQ(status, 404) << deleted.dump();
  EXPECT_EQ(deleted["resourceType"], "OperationOutcome");
  EXPECT_EQ(deleted["issue"][0]["code"], "not-found");
  EXPECT_NE(deleted["issue"][0]["details"]["text"].get<std::string>().find("FY2025"),
            std::string::npos)
      << deleted.dump();
  // A header: abstract, not billable, with its children's parent link.
  Json header = Get(
      std::string("/CodeSystem/$lookup?system=") + kIcd + "&code=E11&property=billable", &status);
  ASSERT_EQ(status, 200) << header.dump();
  EXPECT_EQ(Param(header, "abstract"), true);
  EXPECT_EQ(Property(header, "billable"), false);
  EXPECT_TRUE(Property(header, "kind").is_null()) << "only the property asked for";
  // POST with a Parameters body and a Coding, as FHIR clients send it.
  auto res = Http().Post(
      "/fhir/CodeSystem/$lookup",
      Json{{"resourceType", "Parameters"},
           {"parameter",
            {{{"name", "coding"}, {"valueCoding", {{"system", kIcd}, {"code", "E11.9"}}}}}}}
          .dump(),
      "application/fhir+json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Param(Json::parse(res->body), "version"), "FY2025");
}

TEST_F(FhirTest, ValidateCodeGivesTheBillingAnswer) {
  int status = 0;
  Json ok =
      Get(std::string("/CodeSystem/$validate-code?url=") + kIcd + "&code=T81.32XA&date=2024-09-30",
          &status);
  ASSERT_EQ(status, 200) << ok.dump();
  EXPECT_EQ(Param(ok, "result"), true) << ok.dump();
  EXPECT_EQ(Param(ok, "version"), "FY2024");
  // Deleted by FY2025, in force from 2024-10-01.
  Json deleted =
      Get(std::string("/CodeSystem/$validate-code?url=") + kIcd + "&code=T81.32XA&date=2024-10-01",
          &status);
  ASSERT_EQ(status, 200) << deleted.dump();
  EXPECT_EQ(Param(deleted, "result"), false);
  EXPECT_EQ(Param(deleted, "version"), "FY2025");
  Json issues = Param(deleted, "issues");
  EXPECT_EQ(issues["issue"][0]["code"], "code-invalid") << deleted.dump();
  EXPECT_NE(Param(deleted, "message").get<std::string>().find("FY2025"), std::string::npos)
      << deleted.dump();
  // A header is a code of ICD-10-CM but not billable.
  Json header = Get(std::string("/CodeSystem/$validate-code?url=") + kIcd + "&code=E11", &status);
  EXPECT_EQ(Param(header, "result"), false) << header.dump();
  EXPECT_EQ(Param(header, "issues")["issue"][0]["code"], "business-rule") << header.dump();
  EXPECT_FALSE(Param(header, "display").is_null()) << header.dump();
  // G0505 was terminated on 2017-12-31.
  Json before =
      Get(std::string("/CodeSystem/$validate-code?url=") + kHcpcs + "&code=G0505&date=2017-06-01",
          &status);
  EXPECT_EQ(Param(before, "result"), true) << before.dump();
  Json after =
      Get(std::string("/CodeSystem/$validate-code?url=") + kHcpcs + "&code=G0505&date=2018-06-01",
          &status);
  EXPECT_EQ(Param(after, "result"), false) << after.dump();
  EXPECT_NE(Param(after, "message").get<std::string>().find("2017-12-31"), std::string::npos)
      << after.dump();
  // A wrong display fails with an invalid-display issue; the right one passes.
  Json wrong =
      Get(std::string("/CodeSystem/$validate-code?url=") + kIcd + "&code=I10&display=Hypotension",
          &status);
  EXPECT_EQ(Param(wrong, "result"), false) << wrong.dump();
  EXPECT_EQ(Param(wrong, "issues")["issue"][0]["details"]["coding"][0]["code"], "invalid-display");
  // An unknown code: FHIR's wording and message id.
  Json unknown =
      Get(std::string("/CodeSystem/$validate-code?url=") + kIcd + "&code=Q99.99", &status);
  EXPECT_EQ(Param(unknown, "result"), false);
  EXPECT_EQ(Param(unknown, "message"),
            std::string("Unknown code 'Q99.99' in the CodeSystem '") + kIcd + "' version 'FY2025'");
}

TEST_F(FhirTest, CptTextOnlyForCallersWithTheLicence) {
  int status = 0;
  const std::string path = std::string("/CodeSystem/$lookup?system=") + kCpt + "&code=99215";
  Json withheld = Get(path, &status, kReadToken);
  ASSERT_EQ(status, 200) << withheld.dump();
  EXPECT_TRUE(Param(withheld, "display").is_null()) << withheld.dump();
  EXPECT_EQ(Property(withheld, "text-withheld"), true);
  Json anonymous = Get(path, &status, "");
  EXPECT_TRUE(Param(anonymous, "display").is_null()) << anonymous.dump();
  Json licensed = Get(path, &status, kCoderToken);
  EXPECT_FALSE(Param(licensed, "display").is_null()) << licensed.dump();
  Json validated = Get(std::string("/CodeSystem/$validate-code?url=") + kCpt + "&code=99215",
                       &status, kReadToken);
  EXPECT_EQ(Param(validated, "result"), true) << validated.dump();
  EXPECT_TRUE(Param(validated, "display").is_null()) << validated.dump();
  // A display given by a caller without the licence is not checked (the error would tell the
  // text): valid, with a warning that says so; the licensed caller's is checked.
  const std::string wrong_display =
      std::string("/CodeSystem/$validate-code?url=") + kCpt + "&code=99215&display=Wrong";
  Json unchecked = Get(wrong_display, &status, kReadToken);
  EXPECT_EQ(Param(unchecked, "result"), true) << unchecked.dump();
  EXPECT_NE(unchecked.dump().find("The display was not checked"), std::string::npos)
      << unchecked.dump();
  EXPECT_EQ(unchecked.dump().find("Valid display"), std::string::npos) << unchecked.dump();
  Json checked = Get(wrong_display, &status, kCoderToken);
  EXPECT_EQ(Param(checked, "result"), false) << checked.dump();
  EXPECT_NE(checked.dump().find("Wrong Display Name 'Wrong'"), std::string::npos) << checked.dump();
  // CPT's code:modifier expressions.
  Json modified = Get(std::string("/CodeSystem/$validate-code?url=") + kCpt + "&code=99215:25",
                      &status, kCoderToken);
  EXPECT_EQ(Param(modified, "result"), true) << modified.dump();
  EXPECT_EQ(Param(modified, "code"), "99215:25");
  Json bad_modifier = Get(std::string("/CodeSystem/$validate-code?url=") + kCpt + "&code=99215:ZZ",
                          &status, kCoderToken);
  EXPECT_EQ(Param(bad_modifier, "result"), false) << bad_modifier.dump();
  EXPECT_NE(Param(bad_modifier, "message").get<std::string>().find("ZZ"), std::string::npos);
}

TEST_F(FhirTest, CodeSystemsAreSearchedAndReadOneReleaseEach) {
  int status = 0;
  Json bundle = Get(std::string("/CodeSystem?url=") + kIcd, &status);
  ASSERT_EQ(status, 200) << bundle.dump();
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  ASSERT_EQ(bundle["total"], 2) << bundle.dump();
  Json read = Get("/CodeSystem/ICD10CM-FY2025", &status);
  EXPECT_EQ(status, 200) << read.dump();
  EXPECT_EQ(read["version"], "FY2025");
  EXPECT_EQ(read["content"], "not-present");
  Get("/CodeSystem/ICD10CM-FY1999", &status);
  EXPECT_EQ(status, 404);
  Get("/CodeSystem?colour=blue", &status);
  EXPECT_EQ(status, 400);
}

TEST_F(FhirTest, SubsumesFollowsTheHierarchy) {
  int status = 0;
  Json a =
      Get(std::string("/CodeSystem/$subsumes?system=") + kIcd + "&codeA=E11&codeB=E11.9", &status);
  ASSERT_EQ(status, 200) << a.dump();
  EXPECT_EQ(Param(a, "outcome"), "subsumes");
  Json b =
      Get(std::string("/CodeSystem/$subsumes?system=") + kIcd + "&codeA=E11.9&codeB=I10", &status);
  EXPECT_EQ(Param(b, "outcome"), "not-subsumed");
}

TEST_F(FhirTest, ExpandsImplicitValueSetsWithFilterAndPaging) {
  int status = 0;
  // Every concept below E11 in the release in force, then only those matching "hyperglycemia".
  // The implicit value set's url is encoded, as FHIR clients send it; unencoded, the answer
  // says how to send it.
  Json unencoded = Get(std::string("/ValueSet/$expand?url=") + kIcd + "?fhir_vs=isa/E11", &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(unencoded["issue"][0]["details"]["text"].get<std::string>().find("%3F"),
            std::string::npos)
      << unencoded.dump();
  Json all = Get(std::string("/ValueSet/$expand?url=") + kIcd + "%3Ffhir_vs%3Disa/E11", &status);
  ASSERT_EQ(status, 200) << all.dump();
  EXPECT_EQ(all["resourceType"], "ValueSet");
  const int total = all["expansion"]["total"];
  EXPECT_GE(total, 3) << all.dump();
  bool header = false;
  for (const Json& c : all["expansion"]["contains"]) {
    EXPECT_EQ(c["system"], kIcd);
    header = header || (c["code"] == "E11" && c.value("abstract", false));
  }
  EXPECT_TRUE(header) << "E11 is a header: abstract";
  EXPECT_EQ(all["expansion"]["parameter"].back()["valueUri"], std::string(kIcd) + "|FY2025");
  Json filtered = Get(
      std::string("/ValueSet/$expand?url=") + kIcd + "%3Ffhir_vs%3Disa/E11&filter=hyperglycemia",
      &status);
  ASSERT_EQ(filtered["expansion"]["total"], 1) << filtered.dump();
  EXPECT_EQ(filtered["expansion"]["contains"][0]["code"], "E11.65");
  // Pages by count and offset: two pages hold every concept once.
  std::set<std::string> seen;
  for (int offset = 0; offset < total; offset += 2) {
    Json page = Get(std::string("/ValueSet/$expand?url=") + kIcd +
                        "%3Ffhir_vs%3Disa/E11&count=2&offset=" + std::to_string(offset),
                    &status);
    ASSERT_EQ(status, 200) << page.dump();
    EXPECT_EQ(page["expansion"]["total"], total);
    EXPECT_EQ(page["expansion"]["offset"], offset);
    for (const Json& c : page["expansion"]["contains"]) seen.insert(c["code"].get<std::string>());
  }
  EXPECT_EQ(static_cast<int>(seen.size()), total);
  // A value set passed in the request.
  Json body = {
      {"resourceType", "Parameters"},
      {"parameter",
       {{{"name", "valueSet"},
         {"resource",
          {{"resourceType", "ValueSet"},
           {"url", "https://payer.example/vs/hypertension"},
           {"compose", {{"include", {{{"system", kIcd}, {"concept", {{{"code", "I10"}}}}}}}}}}}}}}};
  auto res = Http().Post("/fhir/ValueSet/$expand", body.dump(), "application/fhir+json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Json::parse(res->body)["expansion"]["contains"][0]["code"], "I10");
  // CPT: codes without the licence, and no matching of its text.
  Json cpt = Get(std::string("/ValueSet/$expand?url=") + kCpt + "%3Ffhir_vs", &status);
  ASSERT_EQ(status, 200) << cpt.dump();
  EXPECT_FALSE(cpt["expansion"]["contains"][0].contains("display")) << cpt.dump();
  Get(std::string("/ValueSet/$expand?url=") + kCpt + "%3Ffhir_vs&filter=office", &status);
  EXPECT_EQ(status, 403);
  Json licensed = Get(std::string("/ValueSet/$expand?url=") + kCpt + "%3Ffhir_vs&filter=office",
                      &status, kCoderToken);
  EXPECT_EQ(status, 200) << licensed.dump();
  // Errors: an unknown stored value set, an implicit one Codebook does not make, a bad count.
  Get("/ValueSet/$expand?url=https://payer.example/vs/none", &status);
  EXPECT_EQ(status, 404);
  Get(std::string("/ValueSet/$expand?url=") + kIcd + "%3Ffhir_vs%3Drefset/x", &status);
  EXPECT_EQ(status, 400);
  Get(std::string("/ValueSet/$expand?url=") + kIcd + "%3Ffhir_vs&count=many", &status);
  EXPECT_EQ(status, 400);
}

TEST_F(FhirTest, VersionsThatAreNotHereAreNamedWithTheOnesThatAre) {
  auto post = [](const std::string& op, const Json& parameters, int* status) {
    Json body = {{"resourceType", "Parameters"}, {"parameter", parameters}};
    auto res = Http().Post(("/fhir/ValueSet/" + op).c_str(), body.dump(), "application/fhir+json");
    *status = res ? res->status : 0;
    return res ? Json::parse(res->body, nullptr, false) : Json();
  };
  auto value_set = [](const Json& include) {
    return Json{{"name", "valueSet"},
                {"resource",
                 {{"resourceType", "ValueSet"},
                  {"url", "https://payer.example/vs/diabetes"},
                  {"compose", {{"include", Json::array({include})}}}}}};
  };
  int status = 0;
  // A value set pinned to a release that is not here cannot be expanded.
  Json pinned =
      post("$expand", Json::array({value_set({{"system", kIcd}, {"version", "FY1999"}})}), &status);
  EXPECT_EQ(status, 404) << pinned.dump();
  EXPECT_NE(pinned.dump().find("version 'FY1999' could not be found, so the value set cannot be "
                               "expanded. Valid versions: FY2024 or FY2025"),
            std::string::npos)
      << pinned.dump();
  // A coding of a release that is not here: invalid, answered in the release the value set
  // takes (the newest), the unknown version named.
  Json coding =
      post("$validate-code",
           {value_set({{"system", kIcd}}),
            {{"name", "coding"},
             {"valueCoding", {{"system", kIcd}, {"version", "FY1999"}, {"code", "E11.9"}}}}},
           &status);
  EXPECT_EQ(status, 200) << coding.dump();
  EXPECT_EQ(Param(coding, "result"), false) << coding.dump();
  EXPECT_EQ(Param(coding, "version"), "FY2025") << coding.dump();
  EXPECT_EQ(Param(coding, "x-caused-by-unknown-system"), std::string(kIcd) + "|FY1999");
  EXPECT_NE(coding.dump().find("UNKNOWN_CODESYSTEM_VERSION"), std::string::npos) << coding.dump();
  // A filter without a value is refused, naming the filter.
  Json filter =
      post("$validate-code",
           {value_set({{"system", kIcd}, {"filter", {{{"property", "concept"}, {"op", "is-a"}}}}}),
            {{"name", "code"}, {"valueCode", "E11.9"}},
            {{"name", "system"}, {"valueUri", kIcd}}},
           &status);
  EXPECT_EQ(status, 400) << filter.dump();
  EXPECT_EQ(filter["issue"][0]["expression"][0], "ValueSet.compose.include[0].filter[0]")
      << filter.dump();
}

TEST_F(FhirTest, TranslateFollowsTheConversionTables) {
  ClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(server_->ports().grpc);
  options.bearer_token = kAdminToken;
  Client admin(options);
  v1::CodeLink link;
  link.set_code("T81.320A");
  link.set_previous_code("T81.32XA");
  link.set_effective("2024-10-01");
  ASSERT_TRUE(admin.AddCodeLinks("ICD10CM", {link}).ok());
  int status = 0;
  auto concept_of = [](const Json& parameters) {
    for (const Json& p : parameters["parameter"]) {
      if (p["name"] != "match") continue;
      for (const Json& part : p["part"]) {
        if (part["name"] == "concept") return part["valueCoding"]["code"].get<std::string>();
      }
    }
    return std::string();
  };
  Json forward =
      Get(std::string("/ConceptMap/$translate?system=") + kIcd + "&code=T81.32XA", &status);
  ASSERT_EQ(status, 200) << forward.dump();
  EXPECT_EQ(Param(forward, "result"), true);
  EXPECT_EQ(concept_of(forward), "T81.320A") << forward.dump();
  EXPECT_NE(forward.dump().find("2024-10-01"), std::string::npos) << "the link's date";
  Json reverse =
      Get(std::string("/ConceptMap/$translate?system=") + kIcd + "&code=T81.320A&reverse=true",
          &status);
  EXPECT_EQ(concept_of(reverse), "T81.32XA") << reverse.dump();
  Json none = Get(std::string("/ConceptMap/$translate?system=") + kIcd + "&code=I10", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Param(none, "result"), false);
  Get(std::string("/ConceptMap/$translate?url=http://example.org/map&system=") + kIcd + "&code=I10",
      &status);
  EXPECT_EQ(status, 404);
  Get("/ConceptMap/$translate?code=I10", &status);
  EXPECT_EQ(status, 400);
}

TEST_F(FhirTest, ErrorsAreOperationOutcomesWithTheRightStatus) {
  int status = 0;
  Json unknown = Get("/CodeSystem/$lookup?system=http://example.org/none&code=x", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(unknown["issue"][0]["details"]["text"],
            "A definition for CodeSystem 'http://example.org/none' could not be found");
  Json missing = Get("/CodeSystem/$lookup?code=E11", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(missing["issue"][0]["code"], "invalid");
  Json both = Get(std::string("/CodeSystem/$lookup?system=") + kIcd +
                      "&code=E11&version=FY2025&date=2024-11-01",
                  &status);
  EXPECT_EQ(status, 400) << both.dump();
  Get(std::string("/CodeSystem/$lookup?system=") + kIcd + "&code=E11&date=yesterday", &status);
  EXPECT_EQ(status, 400);
  Get("/Nothing/here", &status);
  EXPECT_EQ(status, 404);
  // Bodies: not JSON, not Parameters, too large.
  for (const std::string& body :
       {std::string("{not json"), std::string(R"({"resourceType":"Patient"})")}) {
    auto res = Http().Post("/fhir/CodeSystem/$lookup", body, "application/fhir+json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_EQ(Json::parse(res->body)["resourceType"], "OperationOutcome");
  }
  auto big =
      Http().Post("/fhir/CodeSystem/$lookup", std::string(100 << 10, ' '), "application/fhir+json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(Json::parse(big->body)["issue"][0]["code"], "too-costly");
  auto del = Http().Delete("/fhir/CodeSystem/$lookup");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  // This server does not ask for a token to read: none reads.
  Get("/CodeSystem", &status, "");
  EXPECT_EQ(status, 200);
}

TEST_F(FhirTest, ReadsNeedATokenWhenTheServerSaysSo) {
  server::Options options = Options("closed-db");
  options.reads_need_token = true;
  auto closed = server::Server::BuildAndStart(options);
  ASSERT_TRUE(closed.ok()) << closed.status();
  httplib::Client c("127.0.0.1", (*closed)->ports().fhir);
  auto refused = c.Get("/fhir/CodeSystem");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Json::parse(refused->body)["issue"][0]["code"], "login");
  c.set_bearer_token_auth("not-a-known-token-0123456789");
  EXPECT_EQ(c.Get("/fhir/CodeSystem")->status, 401);
  // The CapabilityStatement is public; a known token reads.
  EXPECT_EQ(c.Get("/fhir/metadata")->status, 200);
  c.set_bearer_token_auth(kReadToken.c_str());
  EXPECT_EQ(c.Get("/fhir/CodeSystem")->status, 200);
}

// fhir-kit-client from npm (tests/fhir_client, installed by tests/run.sh with npm ci): a
// lookup and a validation for a date of service, an expansion page by page, and an error.
TEST_F(FhirTest, AThirdPartyFhirClientFromNpm) {
  const std::string dir = std::string(CODEBOOK_TESTS_DIR) + "/fhir_client";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/fhir-kit-client"))
      << "run npm ci in tests/fhir_client (tests/run.sh does)";
  std::string out;
  const std::string base = "http://127.0.0.1:" + std::to_string(server_->ports().fhir) + "/fhir";
  EXPECT_EQ(RunCommand("node " + dir + "/fhir_kit_test.mjs " + base + " " + kReadToken, &out), 0)
      << out;
  EXPECT_NE(out.find("checks passed"), std::string::npos) << out;
  // The script fails when the server does not answer as it must: here, no server at all.
  EXPECT_NE(RunCommand("node " + dir + "/fhir_kit_test.mjs http://127.0.0.1:1/fhir", &out), 0);
}

// The HTTP port's other API: the gRPC methods in JSON (server/json_api.h).
TEST_F(FhirTest, TheGrpcApiInJsonBesideFhir) {
  auto call = [](const std::string& method, const std::string& body, const std::string& token,
                 int* status) {
    auto res = Http(token).Post(("/api/v1/" + method).c_str(), body, "application/json");
    *status = res ? res->status : 0;
    if (res) {
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << method;
    }
    return res ? Json::parse(res->body, nullptr, false) : Json();
  };
  int status = 0;
  Json lookup = call("codebook.v1.Terminology/Lookup", R"({"system":"ICD10CM","code":"E11.9"})",
                     kReadToken, &status);
  ASSERT_EQ(status, 200) << lookup.dump();
  EXPECT_EQ(lookup["release"]["version"], "FY2025");
  EXPECT_EQ(lookup["concept"]["code"], "E11.9");
  EXPECT_FALSE(lookup["concept"].value("display", "").empty()) << lookup.dump();
  // A server-streaming method answers an array of its messages.
  Json diff = call("codebook.v1.Terminology/DiffReleases",
                   R"({"system":"ICD10CM","fromVersion":"FY2024","toVersion":"FY2025"})",
                   kReadToken, &status);
  ASSERT_EQ(status, 200) << diff.dump();
  ASSERT_TRUE(diff.is_array() && !diff.empty()) << diff.dump();
  EXPECT_EQ(diff[0]["to"]["version"], "FY2025");
  // CPT's text as over gRPC: withheld without the licence.
  const std::string cpt = R"({"system":"CPT","code":"99215"})";
  Json withheld = call("codebook.v1.Terminology/Lookup", cpt, kReadToken, &status);
  EXPECT_EQ(status, 200) << withheld.dump();
  EXPECT_EQ(withheld["concept"].value("textWithheld", false), true) << withheld.dump();
  EXPECT_FALSE(withheld["concept"].contains("display")) << withheld.dump();
  Json licensed = call("codebook.v1.Terminology/Lookup", cpt, kCoderToken, &status);
  EXPECT_FALSE(licensed["concept"].value("display", "").empty()) << licensed.dump();
  // Errors: JSON with the gRPC code, and the HTTP status of that code.
  Json unknown = call("codebook.v1.Terminology/Nope", "{}", kReadToken, &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(unknown["status"], "NOT_FOUND") << unknown.dump();
  Json bad = call("codebook.v1.Terminology/Lookup", R"({"sytem":"ICD10CM"})", kReadToken, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(bad.value("message", "").find("sytem"), std::string::npos) << bad.dump();
  Json missing = call("codebook.v1.Terminology/Lookup", R"({"system":"ICD10CM","code":"Q99.99"})",
                      kReadToken, &status);
  EXPECT_EQ(status, 404) << missing.dump();
  const std::string discard = R"({"system":"CPT","version":"2025"})";
  Json forbidden = call("codebook.v1.ReleaseAdmin/DiscardRelease", discard, kReadToken, &status);
  EXPECT_EQ(status, 403) << forbidden.dump();
  Json anonymous = call("codebook.v1.ReleaseAdmin/DiscardRelease", discard, "", &status);
  EXPECT_EQ(status, 401) << anonymous.dump();
  // Only JSON: another site's page could send a form or text/plain without a preflight.
  auto text = Http().Post("/api/v1/codebook.v1.Terminology/Lookup",
                          R"({"system":"ICD10CM","code":"E11.9"})", "text/plain");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 415) << text->body;
  auto get = Http().Get("/api/v1/codebook.v1.Terminology/Lookup");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
}

TEST_F(FhirTest, ConnectionsAreKeptAlive) {
  httplib::Client c = Http();
  c.set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {
    auto res =
        c.Get((std::string("/fhir/CodeSystem/$validate-code?url=") + kIcd + "&code=I10").c_str());
    ASSERT_TRUE(res) << i;
    ASSERT_EQ(res->status, 200);
  }
}

}  // namespace
}  // namespace codebook::testing
