// FHIR version patterns and the order of resource versions.
#include <gtest/gtest.h>

#include "fhir/fhir_service.h"

namespace codebook::fhir {
namespace {

TEST(VersionMatchesTest, EqualOrWildcardSegments) {
  EXPECT_TRUE(VersionMatches("1.0.0", "1.0.0"));
  EXPECT_TRUE(VersionMatches("1.0.x", "1.0.7"));
  EXPECT_TRUE(VersionMatches("1.*.X", "1.2.3"));
  EXPECT_FALSE(VersionMatches("1.0.x", "1.2.0"));
  EXPECT_FALSE(VersionMatches("1", "1.0.0"));  // a shorter pattern is not a prefix
  EXPECT_FALSE(VersionMatches("1.0.x", "1.0"));
}

TEST(VersionBeforeTest, NumbersByValueTextAsText) {
  EXPECT_TRUE(VersionBefore("1.0.0", "1.2.0"));
  EXPECT_FALSE(VersionBefore("1.2.0", "1.0.0"));
  EXPECT_TRUE(VersionBefore("1.9.0", "1.10.0"));  // not as text
  EXPECT_FALSE(VersionBefore("1.2.0", "1.2.0"));
  EXPECT_TRUE(VersionBefore("1.2", "1.2.0"));  // fewer segments first
  EXPECT_TRUE(VersionBefore("FY2024", "FY2025"));
  EXPECT_TRUE(VersionBefore("1.0.0-alpha", "1.0.1"));
}

}  // namespace
}  // namespace codebook::fhir
