#include "storage/view_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "storage/encoding.h"

namespace codebook::storage {
namespace {

// A view of `n` concepts whose displays are long enough to weigh something.
std::shared_ptr<ReleaseView> ViewOf(int n) {
  ReleaseView::Entries entries;
  for (int i = 0; i < n; ++i) {
    ConceptRecord r;
    r.display = absl::StrCat("concept number ", i, " of a release made for the cache's tests");
    std::string body;
    EncodeConceptRecord(r, &body);
    entries.emplace(absl::StrCat("C", i), ReleaseView::Entry{1, std::move(body)});
  }
  auto view = ReleaseView::Build("SYS", std::move(entries));
  EXPECT_TRUE(view.ok()) << view.status();
  return *view;
}

// Waits until the cache has no build queued (the builder took the last one and finished it).
void Settle(const ViewCache& cache, const std::atomic<int>& builds, int want_builds) {
  for (int i = 0; i < 1000 && (cache.Counts().second != 0 || builds.load() < want_builds); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(ReleaseViewTest, BuildSortsCodesAndWeighsWhatItHolds) {
  auto small = ViewOf(10), large = ViewOf(1000);
  EXPECT_EQ(large->size(), 1000u);
  EXPECT_EQ(large->sorted_codes().front(), "C0");
  EXPECT_TRUE(std::is_sorted(large->sorted_codes().begin(), large->sorted_codes().end()));
  ASSERT_NE(large->Find("C999"), nullptr);
  EXPECT_EQ(large->words().concepts(), 1000u);
  // At least the bodies it holds, and growing with them.
  EXPECT_GT(large->MemoryBytes(), 1000u * 60);
  EXPECT_GT(large->MemoryBytes(), 50 * small->MemoryBytes());

  ReleaseView::Entries bad;
  bad.emplace("X1", ReleaseView::Entry{1, "\x07"});
  auto refused = ReleaseView::Build("SYS", std::move(bad));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("SYS X1"), std::string::npos) << refused.status();
}

TEST(ViewCacheTest, HoldsViewsWithinItsByteBudgetLeastRecentlyUsedFirstOut) {
  const size_t one = ViewOf(1000)->MemoryBytes();
  std::atomic<int> builds{0};
  ViewCache cache(
      2 * one + one / 2,
      [&](const ViewCache::Key&) -> absl::StatusOr<std::shared_ptr<ReleaseView>> {
        ++builds;
        return ViewOf(1000);
      },
      nullptr, "test");
  ASSERT_TRUE(cache.enabled());
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);  // queued
  Settle(cache, builds, 1);
  ASSERT_NE(cache.Get({"SYS", 1}), nullptr);
  EXPECT_EQ(cache.Get({"SYS", 2}), nullptr);
  Settle(cache, builds, 2);
  ASSERT_NE(cache.Get({"SYS", 2}), nullptr);
  ASSERT_NE(cache.Get({"SYS", 1}), nullptr);  // 1 is now the most recently used
  EXPECT_EQ(cache.Counts(), std::make_pair(size_t{2}, size_t{0}));
  EXPECT_EQ(cache.bytes(), 2 * one);
  // A third does not fit beside them: the least recently used (2) goes.
  EXPECT_EQ(cache.Get({"SYS", 3}), nullptr);
  Settle(cache, builds, 3);
  EXPECT_EQ(cache.Counts(), std::make_pair(size_t{2}, size_t{0}));
  EXPECT_LE(cache.bytes(), 2 * one + one / 2);
  EXPECT_NE(cache.Get({"SYS", 1}), nullptr);
  EXPECT_NE(cache.Get({"SYS", 3}), nullptr);
  EXPECT_EQ(cache.Get({"SYS", 2}), nullptr);  // dropped, so queued again
  Settle(cache, builds, 4);
  EXPECT_EQ(builds.load(), 4);
  EXPECT_EQ(cache.failures(), 0u);
}

TEST(ViewCacheTest, AFailedBuildIsCountedAndNotTriedAgainButAGoneReleaseIsNoFailure) {
  std::atomic<int> builds{0};
  ViewCache cache(
      size_t{64} << 20,
      [&](const ViewCache::Key& key) -> absl::StatusOr<std::shared_ptr<ReleaseView>> {
        ++builds;
        if (key.second == 1) return absl::DataLossError("corrupt concept record: SYS B1");
        return absl::FailedPreconditionError("SYS has no published release with sequence 2");
      },
      nullptr, "test");
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  Settle(cache, builds, 1);
  EXPECT_EQ(cache.failures(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  EXPECT_EQ(cache.Counts(), std::make_pair(size_t{0}, size_t{0}));  // not queued again
  EXPECT_EQ(cache.Get({"SYS", 2}), nullptr);
  Settle(cache, builds, 2);
  EXPECT_EQ(cache.failures(), 1u);
  EXPECT_EQ(cache.Get({"SYS", 2}), nullptr);  // may be published again later: asked again
  Settle(cache, builds, 3);
  EXPECT_EQ(builds.load(), 3);
}

TEST(ViewCacheTest, AViewLargerThanTheBudgetIsNotHeldNorBuiltAgain) {
  std::atomic<int> builds{0};
  ViewCache cache(
      ViewOf(1000)->MemoryBytes() / 2,
      [&](const ViewCache::Key&) -> absl::StatusOr<std::shared_ptr<ReleaseView>> {
        ++builds;
        return ViewOf(1000);
      },
      nullptr, "test");
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  Settle(cache, builds, 1);
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  EXPECT_EQ(cache.Counts(), std::make_pair(size_t{0}, size_t{0}));
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.failures(), 1u);
  cache.Insert({"SYS", 2}, ViewOf(1000));
  EXPECT_EQ(cache.Counts().first, 0u);
  EXPECT_EQ(builds.load(), 1);
}

TEST(ViewCacheTest, DropUnreadDropsOnlyWarmUpsAndQueuedBuilds) {
  ViewCache cache(
      size_t{64} << 20,
      [&](const ViewCache::Key&) -> absl::StatusOr<std::shared_ptr<ReleaseView>> {
        return ViewOf(10);
      },
      nullptr, "test");
  cache.Insert({"SYS", 1}, ViewOf(10));  // a warm-up: nobody read it
  cache.Insert({"SYS", 2}, ViewOf(10));
  ASSERT_NE(cache.Get({"SYS", 2}), nullptr);  // read
  cache.DropUnread({"SYS", 1});
  cache.DropUnread({"SYS", 2});
  EXPECT_EQ(cache.Counts().first, 1u);
  EXPECT_NE(cache.Get({"SYS", 2}), nullptr);
  EXPECT_EQ(cache.bytes(), ViewOf(10)->MemoryBytes());
}

TEST(ViewCacheTest, WithoutABudgetItHoldsNothingAndStartsNoBuilds) {
  std::atomic<int> builds{0};
  std::atomic<int> done{0};
  ViewCache cache(
      0,
      [&](const ViewCache::Key&) -> absl::StatusOr<std::shared_ptr<ReleaseView>> {
        ++builds;
        return ViewOf(10);
      },
      [&] { ++done; }, "test");
  EXPECT_FALSE(cache.enabled());
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  cache.Insert({"SYS", 1}, ViewOf(10));
  EXPECT_EQ(cache.Get({"SYS", 1}), nullptr);
  EXPECT_EQ(cache.Counts(), std::make_pair(size_t{0}, size_t{0}));
  EXPECT_EQ(builds.load(), 0);
  EXPECT_EQ(done.load(), 0);
}

}  // namespace
}  // namespace codebook::storage
