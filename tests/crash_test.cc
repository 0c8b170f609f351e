// Issue 3: crash safety. Kills codebookd with SIGKILL at 24 moments spread over imports and
// publishes (random timing across the whole import), restarts it, and checks that every release
// published before is intact (same checksum, still answering) and that the interrupted release
// is either fully published with the right checksum or not visible at all.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

// A synthetic release of `n` codes whose texts all carry `tag`.
std::vector<v1::Concept> Release(const std::string& tag, int n) {
  std::vector<v1::Concept> out;
  for (int i = 0; i < n; ++i) {
    v1::Concept c;
    char code[16];
    std::snprintf(code, sizeof(code), "A%02d%04d", 10 + i / 10000, i % 10000);
    c.set_code(code);
    c.set_display(tag + " display text of code " + code);
    c.set_billable(true);
    c.add_designations()->set_use("short");
    c.mutable_designations(0)->set_value(tag + " short " + code);
    out.push_back(c);
  }
  return out;
}

TEST(CrashTest, SigkillDuringImportOrPublishLosesNothingPublished) {
  constexpr int kConcepts = 40000;
  constexpr int kKills = 24;
  const std::vector<v1::Concept> content[2] = {Release("A", kConcepts), Release("B", kConcepts)};

  // Reference checksums and the time one import takes, from an undisturbed server.
  std::string expected[2];
  absl::Duration import_time;
  {
    TestServer reference;
    auto c = reference.NewClient();
    for (int k = 0; k < 2; ++k) {
      absl::Time t0 = absl::Now();
      auto r = c->ImportRelease("ICD10CM", k == 0 ? "REF-A" : "REF-B",
                                k == 0 ? "2000-01-01" : "2000-02-01", "", content[k], true);
      ASSERT_TRUE(r.ok()) << r.status();
      expected[k] = r->checksum();
      import_time = absl::Now() - t0;
    }
  }

  TestServer server;
  std::map<std::string, std::pair<std::string, std::string>> published;  // version -> checksum, tag
  std::mt19937 rng(20261127);
  int completed = 0, absent = 0, staged = 0;
  for (int i = 0; i < kKills; ++i) {
    const int k = i % 2;
    char version[16], date[16];
    std::snprintf(version, sizeof(version), "V%02d", i);
    std::snprintf(date, sizeof(date), "%04d-01-01", 2001 + i);
    // Kill at a moment spread uniformly over the import (create, upload, publish) and a little
    // beyond it.
    std::uniform_int_distribution<int64_t> when(0, absl::ToInt64Microseconds(import_time * 1.3));
    absl::Duration delay = absl::Microseconds(when(rng));
    std::thread importer([&, k] {
      auto c = server.NewClient();
      (void)c->ImportRelease("ICD10CM", version, date, "", content[k], true);
    });
    absl::SleepFor(delay);
    server.Kill();
    importer.join();
    server.Start();
    ASSERT_TRUE(server.Alive());
    auto c = server.NewClient();

    // Every release published before the crash is intact.
    for (const auto& [v, published_as] : published) {
      auto r = c->GetRelease("ICD10CM", Selector::Version(v));
      ASSERT_TRUE(r.ok()) << "kill " << i << ": " << v << ": " << r.status();
      EXPECT_EQ(r->checksum(), published_as.first) << "kill " << i << ": " << v;
      auto l = c->Lookup("ICD10CM", "A100001", Selector::Version(v));
      ASSERT_TRUE(l.ok()) << l.status();
      EXPECT_EQ(l->concept().display().substr(0, 1), published_as.second);
    }
    // The interrupted one is whole or invisible.
    auto r = c->GetRelease("ICD10CM", Selector::Version(version));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
      ++absent;
    } else if (r->state() == v1::RELEASE_STATE_STAGED) {
      // Never visible to reads; clean it up as an operator would.
      EXPECT_EQ(c->Lookup("ICD10CM", "A100001", Selector::Version(version)).status().code(),
                absl::StatusCode::kNotFound);
      ASSERT_TRUE(c->DiscardRelease("ICD10CM", version).ok());
      ++staged;
    } else {
      EXPECT_EQ(r->state(), v1::RELEASE_STATE_PUBLISHED);
      EXPECT_EQ(r->checksum(), expected[k]) << "kill " << i;
      EXPECT_EQ(r->counts().total(), kConcepts);
      published[version] = {r->checksum(), k == 0 ? "A" : "B"};
      ++completed;
    }
  }
  std::cerr << kKills << " kills: " << completed << " imports had completed, " << staged
            << " left staged (invisible, discarded), " << absent << " left nothing\n";
  EXPECT_EQ(completed + staged + absent, kKills);
}

}  // namespace
}  // namespace codebook::testing
