#include "service/code_systems.h"

#include <gtest/gtest.h>

namespace codebook::service {
namespace {

const CodeSystemInfo& Sys(const char* id) { return **FindSystem(id); }

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
  auto r = FindSystem("ICD9");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("ICD10CM"), std::string::npos);
  EXPECT_EQ(FindSystem("").status().code(), absl::StatusCode::kInvalidArgument);
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
