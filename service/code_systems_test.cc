#include "service/code_systems.h"

#include <gtest/gtest.h>

#include "service/conversions.h"
#include "storage/sample_records.h"

namespace codebook::service {
namespace {

const CodeSystemInfo& Sys(const char* id) { return **FindBuiltInSystem(id); }
storage::CodeSystemRecord PosRecord() { return storage::testing::PlaceOfServiceSystem(); }

TEST(CodeSystemsTest, Icd10CmAcceptsDotOrNoDotAndPrintsDotted) {
  EXPECT_EQ(*NormalizeCode(Sys("ICD10CM"), "E11.9"), "E119");
  EXPECT_EQ(*NormalizeCode(Sys("ICD10CM"), "e119"), "E119");
  EXPECT_EQ(*NormalizeCode(Sys("ICD10CM"), " T81.32XA "), "T8132XA");
  EXPECT_EQ(*NormalizeCode(Sys("ICD10CM"), "E11"), "E11");
  EXPECT_EQ(*NormalizeCode(Sys("ICD10CM"), "E11."), "E11");
  EXPECT_EQ(PrintedCode(Sys("ICD10CM"), "T8132XA"), "T81.32XA");
  EXPECT_EQ(PrintedCode(Sys("ICD10CM"), "E11"), "E11");
}

TEST(CodeSystemsTest, MalformedCodesAreInvalidArgument) {
  for (const char* bad : {"", "E1", "E11..9", "E1.19", "11E", "E11.99999", "E11-9", "E11\n9"}) {
    auto r = NormalizeCode(Sys("ICD10CM"), bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(NormalizeCode(Sys("HCPCS"), "g0506").ok());
  EXPECT_TRUE(NormalizeCode(Sys("HCPCS"), "LT").ok());
  EXPECT_FALSE(NormalizeCode(Sys("HCPCS"), "G050").ok());
  EXPECT_FALSE(NormalizeCode(Sys("HCPCS"), "G05-6").ok());
  EXPECT_FALSE(NormalizeCode(Sys("HCPCS"), "G05061").ok());
  EXPECT_TRUE(NormalizeCode(Sys("CPT"), "0042T").ok());
  EXPECT_TRUE(NormalizeCode(Sys("ICD10PCS"), "0016070").ok());
  EXPECT_FALSE(NormalizeCode(Sys("ICD10PCS"), "00160700").ok());
  EXPECT_FALSE(NormalizeCode(Sys("CPT"), "A0042").ok());
  EXPECT_FALSE(NormalizeCode(Sys("CPT"), "0042").ok());
}

// Every shape the publishers' layouts allow is a code (issue 10: a newer ICD-10-CM release was
// refused at its first code of a new shape). The shapes are those of SOURCES.md and the layout
// documents: see ValidShape in code_systems.cc.
TEST(CodeSystemsTest, EveryShapeThePublishersAllowIsACode) {
  struct Case {
    const char* system;
    const char* input;
    const char* stored;
  };
  for (const Case& c : std::vector<Case>{
           // ICD-10-CM: a letter, then letters or digits, 3 to 7 characters.
           {"ICD10CM", "A00", "A00"},
           {"ICD10CM", "C4A.0", "C4A0"},            // letter third (Merkel cell)
           {"ICD10CM", "M1A.0110", "M1A0110"},      // letter third, 7 characters
           {"ICD10CM", "Z3A.00", "Z3A00"},
           {"ICD10CM", "AB1", "AB1"},               // a category whose second character is a letter
           {"ICD10CM", "AB1.2", "AB12"},
           {"ICD10CM", "XA1.23BC", "XA123BC"},
           {"ICD10CM", "ABC.DEF", "ABCDEF"},        // letters only after the first
           {"ICD10CM", "U07.1", "U071"},
           {"ICD10CM", "T81.32XA", "T8132XA"},
           {"ICD10CM", "S06.0X0A", "S060X0A"},
           // ICD-10-PCS: up to 7 letters or digits (headers are 3-character table prefixes).
           {"ICD10PCS", "0DTJ0ZZ", "0DTJ0ZZ"},
           {"ICD10PCS", "XW033E5", "XW033E5"},
           {"ICD10PCS", "001", "001"},
           {"ICD10PCS", "B", "B"},
           // HCPCS Level II: 5 letters or digits, or a 2-character modifier.
           {"HCPCS", "A0021", "A0021"},
           {"HCPCS", "G0506", "G0506"},
           {"HCPCS", "D0120", "D0120"},
           {"HCPCS", "C97A1", "C97A1"},  // a letter where Level II has had digits
           {"HCPCS", "LT", "LT"},
           {"HCPCS", "Q5", "Q5"},
           {"HCPCS", "1P", "1P"},
           // CPT: 4 digits and a digit or a letter; modifiers of 2.
           {"CPT", "99213", "99213"},
           {"CPT", "4000F", "4000F"},
           {"CPT", "0042T", "0042T"},
           {"CPT", "0001U", "0001U"},
           {"CPT", "0001A", "0001A"},
           {"CPT", "0001M", "0001M"},
           {"CPT", "25", "25"},
           {"CPT", "P1", "P1"},
       }) {
    auto r = NormalizeCode(Sys(c.system), c.input);
    ASSERT_TRUE(r.ok()) << c.system << " " << c.input << ": " << r.status();
    EXPECT_EQ(*r, c.stored) << c.system << " " << c.input;
  }
  EXPECT_EQ(PrintedCode(Sys("ICD10CM"), "AB12"), "AB1.2");
}

TEST(CodeSystemsTest, UnknownSystem) {
  auto r = FindBuiltInSystem("ICD9");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("ICD10CM"), std::string::npos);
  EXPECT_EQ(FindBuiltInSystem("").status().code(), absl::StatusCode::kInvalidArgument);
}

// A catalog's systems: the built-in ones, then those registered in it, each found by id for as
// long as the process lives; a stored definition that no longer passes is DATA_LOSS.
TEST(CodeSystemsTest, CatalogsFindBuiltInAndRegisteredSystems) {
  storage::Catalog::Builder builder;
  builder.AddSystem(PosRecord());
  storage::CodeSystemRecord broken = PosRecord();
  broken.id = "BROKEN";
  broken.uri = "urn:example:broken";
  broken.code_pattern = "(";
  builder.AddSystem(broken);
  std::shared_ptr<const storage::Catalog> catalog = builder.Finish();

  absl::StatusOr<const CodeSystemInfo*> pos = FindSystem(*catalog, "POS");
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ((*pos)->format, CodeFormat::kPattern);
  EXPECT_EQ(*FindSystem(*catalog, "ICD10CM"), *FindBuiltInSystem("ICD10CM"));
  // Interned: the same object every time, and after the catalog is gone.
  const CodeSystemInfo* first = *pos;
  catalog.reset();
  storage::Catalog::Builder again;
  again.AddSystem(PosRecord());
  std::shared_ptr<const storage::Catalog> second = again.Finish();
  EXPECT_EQ(*FindSystem(*second, "POS"), first);
  EXPECT_EQ(first->id, "POS");

  storage::Catalog::Builder with_broken;
  with_broken.AddSystem(broken);
  std::shared_ptr<const storage::Catalog> bad = with_broken.Finish();
  EXPECT_EQ(FindSystem(*bad, "BROKEN").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<const CodeSystemInfo*> unknown = FindSystem(*second, "TOS");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("ICD10CM, ICD10CM-INDEX"), std::string::npos);
  EXPECT_NE(unknown.status().message().find(", POS"), std::string::npos)
      << unknown.status().message();
  std::vector<std::string> ids;
  for (const CodeSystemInfo* s : AllSystems(*bad)) ids.push_back(s->id);
  EXPECT_EQ(ids.size(), KnownSystems().size());  // the broken one is left out
  ids.clear();
  for (const CodeSystemInfo* s : AllSystems(*second)) ids.push_back(s->id);
  EXPECT_EQ(ids.back(), "POS");
  EXPECT_EQ(ids.size(), KnownSystems().size() + 1);
}


// A registered system checks its codes with its pattern, upper-cases them unless it is
// case-sensitive, and prints them as stored.
TEST(CodeSystemsTest, RegisteredSystemsCheckCodesWithTheirPattern) {
  absl::StatusOr<CodeSystemInfo> pos = SystemFromRecord(PosRecord());
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(pos->format, CodeFormat::kPattern);
  EXPECT_EQ(*NormalizeCode(*pos, " 11 "), "11");
  EXPECT_EQ(PrintedCode(*pos, "11"), "11");
  absl::StatusOr<std::string> bad = NormalizeCode(*pos, "1");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "'1' is not a valid POS code (POS codes match [0-9]{2})");
  EXPECT_FALSE(NormalizeCode(*pos, "111").ok());  // the whole code matches, not a part
  EXPECT_EQ(NormalizeCode(*pos, "  ").status().message(), "an empty code is not a POS code");

  storage::CodeSystemRecord open = PosRecord();
  open.code_pattern = "";
  open.case_sensitive = true;
  absl::StatusOr<CodeSystemInfo> any = SystemFromRecord(open);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(*NormalizeCode(*any, "abc-Def 1"), "abc-Def 1");  // kept as written
  EXPECT_EQ(*NormalizeCode(*any, "Chédiak"), "Chédiak");
  EXPECT_FALSE(NormalizeCode(*any, "a\tb").ok());
  EXPECT_TRUE(NormalizeCode(*any, std::string(256, 'x')).ok());
  EXPECT_FALSE(NormalizeCode(*any, std::string(257, 'x')).ok());
  open.case_sensitive = false;
  EXPECT_EQ(*NormalizeCode(*SystemFromRecord(open), "abc"), "ABC");

  // The record it came from, back again through the API's form.
  v1::CodeSystem api;
  ToApi(*pos, &api);
  EXPECT_TRUE(FromApi(api).SameDefinition(PosRecord()));
}

TEST(CodeSystemsTest, RegisteredDefinitionsAreCheckedFieldByField) {
  auto refused = [](void (*change)(storage::CodeSystemRecord*)) {
    storage::CodeSystemRecord r = PosRecord();
    change(&r);
    absl::StatusOr<CodeSystemInfo> info = SystemFromRecord(r);
    EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(info.status().message());
  };
  EXPECT_EQ(refused([](auto* r) { r->id = ""; }),
            "code system : the id must be 1 to 32 letters, digits, '.', '_' or '-', a letter or "
            "digit first");
  refused([](auto* r) { r->id = "-POS"; });
  refused([](auto* r) { r->id = "PO S"; });
  refused([](auto* r) { r->id = std::string(33, 'P'); });
  EXPECT_EQ(refused([](auto* r) { r->id = "icd10cm"; }),
            "code system icd10cm: the id is a built-in system's");
  EXPECT_EQ(refused([](auto* r) { r->uri = "http://hl7.org/fhir/sid/icd-10-cm"; }),
            "code system POS: the URI is built-in system ICD10CM's");
  refused([](auto* r) { r->uri = "no-scheme"; });
  refused([](auto* r) { r->uri = "http://x y"; });
  refused([](auto* r) { r->uri = "1http://x"; });
  refused([](auto* r) { r->uri = "urn:"; });
  refused([](auto* r) { r->title = ""; });
  EXPECT_EQ(refused([](auto* r) { r->code_format = "icd10cm"; }),
            "code system POS: code format 'icd10cm': only 'pattern' is registered (the built-in "
            "formats belong to the built-in systems)");
  std::string pattern = refused([](auto* r) { r->code_pattern = "[0-9"; });
  EXPECT_NE(pattern.find("the code pattern '[0-9' is not a regular expression: "),
            std::string::npos)
      << pattern;
  refused([](auto* r) { r->hierarchy_meaning = "parent-of"; });
  refused([](auto* r) { r->supplements = "ICD10CM"; });
  refused([](auto* r) { r->license_scope = "a scope"; });
  for (const char* meaning : {"grouped-by", "is-a", "part-of", "classified-with"}) {
    storage::CodeSystemRecord r = PosRecord();
    r.hierarchy_meaning = meaning;
    EXPECT_TRUE(SystemFromRecord(r).ok()) << meaning;
  }
}

TEST(CodeSystemsTest, Dates) {
  EXPECT_TRUE(IsValidDate("2024-02-29"));
  EXPECT_FALSE(IsValidDate("2023-02-29"));
  EXPECT_FALSE(IsValidDate("2024-13-01"));
  EXPECT_FALSE(IsValidDate("2024-1-01"));
  EXPECT_FALSE(IsValidDate("20240101"));
  EXPECT_TRUE(IsValidVersion("FY2022-04"));
  EXPECT_FALSE(IsValidVersion("FY 2022"));
  EXPECT_FALSE(IsValidVersion(""));
}

}  // namespace
}  // namespace codebook::service
