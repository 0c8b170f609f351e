#include "service/tabular.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace codebook::service {
namespace {

// "first..last*" per reference: '*' marks with_subcodes.
std::vector<std::string> Refs(absl::string_view text) {
  std::vector<std::string> out;
  for (const v1::CodeRange& r : ParseCodeReferences(text)) {
    std::string s = r.first();
    if (r.last() != r.first()) s += ".." + r.last();
    if (r.with_subcodes()) s += "*";
    out.push_back(s);
  }
  return out;
}

TEST(CodeReferencesTest, ParsesCodesAndRangesAsTheTabularWritesThem) {
  EXPECT_EQ(Refs("acute pharyngitis (J02.-)"), std::vector<std::string>({"J02*"}));
  EXPECT_EQ(Refs("hypertensive disease complicating pregnancy, childbirth and the puerperium "
                 "(O10-O11, O13-O16)"),
            std::vector<std::string>({"O10..O11", "O13..O16"}));
  EXPECT_EQ(Refs("neonatal hypertension (P29.2)"), std::vector<std::string>({"P29.2"}));
  EXPECT_EQ(Refs("essential (primary) hypertension involving vessels of eye (H35.0-)"),
            std::vector<std::string>({"H35.0*"}));
  EXPECT_EQ(Refs("any condition in I50.- or I51.4-I51.7, I51.89, I51.9 due to hypertension"),
            std::vector<std::string>({"I50*", "I51.4..I51.7", "I51.89", "I51.9"}));
  EXPECT_EQ(Refs("code to identify resistance to antimicrobial drugs (Z16.-)"),
            std::vector<std::string>({"Z16*"}));
  EXPECT_EQ(Refs("type 2 diabetes mellitus (E11.-) and (E08-E13 with .65)"),
            std::vector<std::string>({"E11*", "E08..E13"}));
  // A reference narrowed in words is kept, marked, and covers nothing.
  std::vector<v1::CodeRange> q = ParseCodeReferences("diabetes mellitus (E08-E13 with .42)");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0].qualified());
  EXPECT_FALSE(Covers(q[0], "E1142"));
  EXPECT_FALSE(ParseCodeReferences("(E11.-)")[0].qualified());
}

TEST(CodeReferencesTest, LeavesWordsThatOnlyLookLikeCodes) {
  // Outside parentheses a bare category-shaped word is not taken; neither are longer words.
  EXPECT_TRUE(Refs("vitamin B12 deficiency anemia").empty());
  EXPECT_TRUE(Refs("COVID19 and A1C levels").empty());
  EXPECT_EQ(Refs("vitamin B12 deficiency (D51.-)"), std::vector<std::string>({"D51*"}));
  EXPECT_TRUE(Refs("").empty());
  EXPECT_TRUE(Refs("(").empty());
  EXPECT_TRUE(Refs("J0").empty());
}

TEST(CodeReferencesTest, CoversCodesFromFirstToLastAtTheirLength) {
  v1::CodeRange r;
  r.set_first("O10");
  r.set_last("O11");
  EXPECT_TRUE(Covers(r, "O10"));
  EXPECT_TRUE(Covers(r, "O1002"));
  EXPECT_TRUE(Covers(r, "O119"));
  EXPECT_FALSE(Covers(r, "O12"));
  EXPECT_FALSE(Covers(r, "O09"));
  r.set_first("I51.4");
  r.set_last("I51.7");
  EXPECT_TRUE(Covers(r, "I515"));
  EXPECT_TRUE(Covers(r, "I5141"));
  EXPECT_FALSE(Covers(r, "I518"));
  EXPECT_FALSE(Covers(r, "I51"));
  r.set_first("J02");
  r.set_last("J02");
  EXPECT_TRUE(Covers(r, "J029"));
  EXPECT_FALSE(Covers(r, "J03"));
}

}  // namespace
}  // namespace codebook::service
