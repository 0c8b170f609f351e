#include "storage/catalog.h"

#include <gtest/gtest.h>

namespace codebook::storage {
namespace {

ReleaseRecord Release(std::string system, std::string version, uint64_t sequence,
                      ReleaseState state, int64_t created = 0) {
  ReleaseRecord r;
  r.system = std::move(system);
  r.version = std::move(version);
  r.sequence = sequence;
  r.state = state;
  r.create_time_micros = created;
  return r;
}

std::vector<std::string> Versions(const Catalog& c, absl::string_view system) {
  std::vector<std::string> out;
  for (const ReleaseRecord& r : c.Releases(system)) out.push_back(r.version);
  return out;
}

TEST(CatalogTest, BuiltInAnyOrderItListsPublishedBySequenceThenStagedByCreation) {
  Catalog::Builder b;
  b.Add(Release("SYS", "S2", 0, ReleaseState::kStaged, 20));
  b.Add(Release("SYS", "V2", 2, ReleaseState::kRetracted));
  b.Add(Release("SYS", "S1", 0, ReleaseState::kStaged, 10));
  b.Add(Release("SYS", "V1", 1, ReleaseState::kPublished));
  b.Add(Release("ZZZ", "A", 1, ReleaseState::kPublished));
  b.SeeEvent("SYS", 3);
  b.SeeEvent("SYS", 2);
  std::shared_ptr<const Catalog> c = b.Finish();
  EXPECT_EQ(Versions(*c, "SYS"), (std::vector<std::string>{"V1", "V2", "S1", "S2"}));
  EXPECT_EQ(c->Systems(), (std::vector<std::string>{"SYS", "ZZZ"}));
  EXPECT_EQ(c->LastEvent("SYS"), 3u);
  EXPECT_EQ(c->LastEvent("ZZZ"), 0u);
  EXPECT_EQ(c->LatestPublished("SYS")->version, "V1");  // V2 is retracted
  EXPECT_EQ(c->FindBySequence("SYS", 2)->version, "V2");
  EXPECT_EQ(c->FindBySequence("SYS", 0), nullptr);  // staged releases have no sequence
  EXPECT_EQ(c->Find("SYS", "S1")->state, ReleaseState::kStaged);
  EXPECT_EQ(c->Find("SYS", "nope"), nullptr);
  EXPECT_TRUE(c->Releases("NONE").empty());
}

TEST(CatalogTest, WithMakesTheNextCatalogAndLeavesThisOneAsItWas) {
  Catalog::Builder b;
  b.Add(Release("SYS", "V1", 1, ReleaseState::kPublished));
  b.Add(Release("SYS", "S1", 0, ReleaseState::kStaged, 10));
  std::shared_ptr<const Catalog> before = b.Finish();
  // S1 published as sequence 2: it moves before the staged ones, in sequence order.
  std::shared_ptr<const Catalog> after =
      before->With(Release("SYS", "S1", 2, ReleaseState::kPublished), false, 7);
  EXPECT_EQ(Versions(*after, "SYS"), (std::vector<std::string>{"V1", "S1"}));
  EXPECT_EQ(after->LatestPublished("SYS")->version, "S1");
  EXPECT_EQ(after->LastEvent("SYS"), 7u);
  EXPECT_EQ(before->Find("SYS", "S1")->state, ReleaseState::kStaged);
  EXPECT_EQ(before->LastEvent("SYS"), 0u);
  // Erased: the last release of a system takes the system with it.
  std::shared_ptr<const Catalog> fewer = after->With(Release("SYS", "S1", 2, {}), true);
  EXPECT_EQ(Versions(*fewer, "SYS"), (std::vector<std::string>{"V1"}));
  EXPECT_EQ(fewer->LastEvent("SYS"), 7u);
  std::shared_ptr<const Catalog> none = fewer->With(Release("SYS", "V1", 1, {}), true);
  EXPECT_TRUE(none->Systems().empty());
  // A new system.
  std::shared_ptr<const Catalog> more =
      none->With(Release("NEW", "N1", 0, ReleaseState::kStaged, 5), false);
  EXPECT_EQ(more->Systems(), (std::vector<std::string>{"NEW"}));
}

}  // namespace
}  // namespace codebook::storage
