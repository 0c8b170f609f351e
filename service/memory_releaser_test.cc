#include "service/memory_releaser.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/time/clock.h"

namespace codebook::service {
namespace {

// Waits up to 5 s for `releaser` to have trimmed `n` times.
bool TrimsReach(const MemoryReleaser& releaser, uint64_t n) {
  for (int i = 0; i < 500 && releaser.trims() < n; ++i) absl::SleepFor(absl::Milliseconds(10));
  return releaser.trims() >= n;
}

TEST(MemoryReleaserTest, TrimsOnceAfterWorkSettlesAndNotWhenIdle) {
  std::atomic<uint64_t> generation{0};
  MemoryReleaser releaser([&] { return generation.load(); }, absl::Milliseconds(20));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(releaser.trims(), 0u);  // nothing was written: no trim
  generation = 1;
  ASSERT_TRUE(TrimsReach(releaser, 1));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(releaser.trims(), 1u);  // once per burst of work, not every period
  // Work that goes on without a pause is waited out.
  for (int i = 0; i < 10; ++i) {
    generation.fetch_add(1);
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(TrimsReach(releaser, 2));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(releaser.trims(), 2u);
}

}  // namespace
}  // namespace codebook::service
