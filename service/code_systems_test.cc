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
  EXPECT_FALSE(NormalizeCode(Sys("HCPCS"), "99213").ok());
  EXPECT_FALSE(NormalizeCode(Sys("HCPCS"), "G05O6").ok());
  EXPECT_TRUE(NormalizeCode(Sys("CPT"), "0042T").ok());
  EXPECT_TRUE(NormalizeCode(Sys("ICD10PCS"), "0016070").ok());
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
