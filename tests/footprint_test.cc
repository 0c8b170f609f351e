// Issue 10: the database on disk stays the size of its data, and the server's memory that of
// what it serves, after imports, discards, retracts, link loads and restarts. The old server
// left every byte it had written in the write-ahead log (the staging uploads and memtables were
// never flushed): 176 MB of files, 154 MB of them *.log, for about 15 MB of data.
//
// Runs on the official ICD-10-CM files when ../shared/data is there (two releases and a
// conversion table), else on the repo's sample; a real codebookd on a fresh database.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "storage/store.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;

struct Sizes {
  uint64_t files = 0;  // every file of the database folder
  uint64_t wal = 0;    // its *.log files
};

Sizes FolderSizes(const std::string& dir) {
  Sizes s;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    s.files += e.file_size();
    if (e.path().extension() == ".log") s.wal += e.file_size();
  }
  return s;
}

// The value of one sample of the server's metrics page; -1 if absent.
double Metric(int port, const std::string& sample) {
  int status = 0;
  return MetricValue(HttpGet(port, "/metrics", &status), sample);
}

// What the data take once compacted: a backup of the running server, compacted in-process.
uint64_t CompactedBytes(Client* client, const std::string& scratch) {
  std::string copy = scratch + "/copy";
  fs::remove_all(copy);
  auto backup = client->CreateBackup(copy);
  EXPECT_TRUE(backup.ok()) << backup.status();
  storage::StoreOptions options;
  options.view_cache_bytes = 0;
  auto store = storage::Store::Open(copy, options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return 0;
  EXPECT_TRUE((*store)->CompactAll().ok());
  return *(*store)->SizeOnDisk();
}

class FootprintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/codebook-footprint-XXXXXX";
    scratch_ = mkdtemp(tmpl);
    std::string shared = CODEBOOK_SHARED_DATA_DIR;
    if (fs::exists(shared + "/icd10cm/2025/icd10cm_order_2025.txt.gz")) {
      dir_ = shared;
      files_ = {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                 "/icd10cm/2024/icd10cm-order-2024.txt.gz"},
                {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
                 "/icd10cm/2025/icd10cm_order_2025.txt.gz"}};
      links_ = shared + "/icd10cm/conversion/icd-10-cm-conversion-table-FY2025.xlsx";
    } else {
      dir_ = kSample;
      files_ = {{"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order",
                 "/icd10cm/2024/icd10cm-order-2024.txt"},
                {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
                 "/icd10cm/2025/icd10cm_order_2025.txt"}};
    }
  }
  void TearDown() override { fs::remove_all(scratch_); }

  // Files at most 1.5 times the compacted data, the log and the memtables empty.
  void ExpectTheSizeOfItsData(TestServer& server, const std::string& when) {
    // Once the background work is over: a compaction holds its inputs and its outputs, and a
    // release view being built reads through a version of the files that may be obsolete.
    bool quiet = false;
    for (int i = 0; i < 300 && !quiet; ++i) {
      quiet = Metric(server.metrics_port(), "codebook_store_background_jobs") == 0 &&
              Metric(server.metrics_port(), "codebook_release_views{state=\"queued\"}") == 0;
      if (!quiet) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(quiet) << when << ": background jobs still running after 30 s";
    // Sizes first: a backup flushes the memtables, which would hide what is left in the log.
    Sizes s = FolderSizes(server.dir() + "/db");
    double memtables = Metric(server.metrics_port(), "codebook_store_bytes{kind=\"memtables\"}");
    auto client = server.NewClient();
    uint64_t compacted = CompactedBytes(client.get(), scratch_);
    EXPECT_GT(compacted, 0u) << when;
    EXPECT_LE(s.files, compacted * 3 / 2)
        << when << ": " << s.files << " bytes of files for " << compacted << " of data";
    EXPECT_LT(s.wal, 64u << 10) << when << ": " << s.wal << " bytes of write-ahead log";
    EXPECT_GE(memtables, 0) << when;
    EXPECT_LT(memtables, 1 << 20) << when << ": " << memtables << " bytes in memtables";
    double live = Metric(server.metrics_port(), "codebook_store_bytes{kind=\"live_data\"}");
    EXPECT_GT(live, 0) << when;
  }

  std::string scratch_, dir_, links_;
  std::vector<ReleaseFile> files_;
};

TEST_F(FootprintTest, ImportsDiscardsRetractsAndRestartsLeaveNoLogAndNoDeadData) {
  TestServer server("", {"--metrics_listen=127.0.0.1:0"});
  auto client = server.NewClient();
  ASSERT_TRUE(ImportFiles(client.get(), dir_, files_).ok());
  int rc = 0;
  if (!links_.empty()) {
    std::string out = server.RunCli("import-links --system=ICD10CM '" + links_ + "'", &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  ExpectTheSizeOfItsData(server, "after two releases and a conversion table");

  auto concepts = importers::ParseFile("icd10cm-order", dir_ + files_[1].path);
  ASSERT_TRUE(concepts.ok());
  // A staged upload that is discarded, and import-and-retract cycles.
  ASSERT_TRUE(client->ImportRelease("ICD10CM", "DISCARDED", "2025-10-01", "", *concepts, false).ok());
  ASSERT_TRUE(client->DiscardRelease("ICD10CM", "DISCARDED").ok());
  for (int i = 1; i <= 3; ++i) {
    std::string version = "CYCLE-" + std::to_string(i);
    auto r = client->ImportRelease("ICD10CM", version, "2025-10-01", "", *concepts, true);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(client->RetractRelease("ICD10CM", version, "footprint test").ok());
  }
  ExpectTheSizeOfItsData(server, "after a discard and three import-retract cycles");

  client.reset();
  server.Restart();
  ExpectTheSizeOfItsData(server, "after a restart");
  client = server.NewClient();
  auto latest = client->GetRelease("ICD10CM", Selector::Version("FY2025"));
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->counts().total(), static_cast<int64_t>(concepts->size()));
}

}  // namespace
}  // namespace codebook::testing
