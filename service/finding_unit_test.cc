// Unit tests of the pure parts of search, hierarchy and claims: query parsing, CPT/HCPCS
// groups, CODE-MOD splitting.
#include <gtest/gtest.h>

#include "service/claims.h"
#include "service/hierarchy.h"
#include "service/search.h"

namespace codebook::service {
namespace {

using Alts = std::vector<std::vector<std::string>>;

TEST(ParseQueryTest, WordsAbbreviationsAndSlashForms) {
  std::vector<QueryWord> w = ParseQuery("Diab MEL w/o comp");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].text, "diab");
  EXPECT_EQ(w[0].alternatives, (Alts{{"diab"}}));
  EXPECT_EQ(w[2].text, "without");
  w = ParseQuery("fx, l radius; chf");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].alternatives, (Alts{{"fx"}, {"fracture"}}));
  EXPECT_EQ(w[1].alternatives, (Alts{{"l"}, {"left"}}));
  EXPECT_EQ(w[3].alternatives, (Alts{{"chf"}, {"heart", "failure"}}));
  EXPECT_EQ(ParseQuery("inj").at(0).alternatives, (Alts{{"inj"}, {"injury"}, {"injection"}}));
  EXPECT_EQ(ParseQuery("w/ coma").at(0).text, "with");
  EXPECT_TRUE(ParseQuery("  ,;  ").empty());
}

TEST(GroupOfCodeTest, CptRangesAndHcpcsLetters) {
  const CodeSystemInfo& cpt = **FindBuiltInSystem("CPT");
  const CodeSystemInfo& hcpcs = **FindBuiltInSystem("HCPCS");
  const CodeSystemInfo& icd = **FindBuiltInSystem("ICD10CM");
  storage::ConceptRecord code, modifier;
  modifier.kind = storage::ConceptKind::kModifier;
  struct Case {
    const char* code;
    const char* group;
  };
  for (const Case& c : std::vector<Case>{{"00100", "ANESTHESIA"},
                                         {"01999", "ANESTHESIA"},
                                         {"10004", "SURGERY"},
                                         {"69990", "SURGERY"},
                                         {"70010", "RADIOLOGY"},
                                         {"80047", "PATHOLOGY_LABORATORY"},
                                         {"89398", "PATHOLOGY_LABORATORY"},
                                         {"90281", "MEDICINE"},
                                         {"99199", "MEDICINE"},
                                         {"99202", "EVALUATION_MANAGEMENT"},
                                         {"99499", "EVALUATION_MANAGEMENT"},
                                         {"99500", "MEDICINE"},
                                         {"99607", "MEDICINE"},
                                         {"0001A", "MEDICINE"},
                                         {"4000F", "CATEGORY_II"},
                                         {"0042T", "CATEGORY_III"},
                                         {"0001U", "PLA"},
                                         {"05000", "CATEGORY_I"}}) {
    EXPECT_EQ(GroupOfCode(cpt, c.code, code), c.group) << c.code;
  }
  EXPECT_EQ(GroupOfCode(cpt, "25", modifier), "MODIFIERS");
  EXPECT_EQ(GroupOfCode(hcpcs, "E0114", code), "E");
  EXPECT_EQ(GroupOfCode(hcpcs, "LT", modifier), "MODIFIERS");
  EXPECT_EQ(GroupOfCode(icd, "E119", code), "");
}

TEST(SplitModifiersTest, OnlyProcedureSystemsTakeModifiers) {
  std::string code;
  std::vector<std::string> mods;
  SplitModifiers(**FindBuiltInSystem("CPT"), " 99213-25-LT ", &code, &mods);
  EXPECT_EQ(code, "99213");
  EXPECT_EQ(mods, (std::vector<std::string>{"25", "LT"}));
  SplitModifiers(**FindBuiltInSystem("HCPCS"), "E0114", &code, &mods);
  EXPECT_EQ(code, "E0114");
  EXPECT_TRUE(mods.empty());
  SplitModifiers(**FindBuiltInSystem("ICD10CM"), "E11.9-25", &code, &mods);
  EXPECT_EQ(code, "E11.9-25");  // not a modifier: NormalizeCode will refuse it
  EXPECT_TRUE(mods.empty());
  SplitModifiers(**FindBuiltInSystem("CPT"), "99213-", &code, &mods);
  EXPECT_EQ(mods, (std::vector<std::string>{""}));  // an empty modifier, reported as invalid
}

}  // namespace
}  // namespace codebook::service
