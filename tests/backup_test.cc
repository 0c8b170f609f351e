// Integration tests of online backups: CreateBackup while the server is read and written, the
// backup restored into a new folder, and every release checksum equal.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "importers/importers.h"
#include "tests/test_server.h"

namespace codebook::testing {
namespace {

namespace fs = std::filesystem;

// Checksums of the published (and retracted) releases. A backup taken during an upload also
// holds that staged release as it was; it is not compared.
std::map<std::string, std::string> Checksums(Client* client) {
  std::map<std::string, std::string> out;
  for (const char* system : {"CPT", "HCPCS", "ICD10CM"}) {
    auto releases = client->ListReleases(system);
    EXPECT_TRUE(releases.ok());
    for (const auto& r : *releases) {
      if (r.state() != v1::RELEASE_STATE_STAGED) out[r.system() + " " + r.version()] = r.checksum();
    }
  }
  return out;
}

TEST(BackupTest, BackupUnderLoadRestoresWithEqualChecksums) {
  TestServer server;
  auto client = server.NewClient();
  const std::vector<ReleaseFile> files = {
      {"HCPCS", "2017", "2017-01-01", "hcpcs", "/hcpcs/2017/HCPC17_CONTR_ANWEB.txt"},
      {"HCPCS", "2018", "2018-01-01", "hcpcs", "/hcpcs/2018/HCPC2018_CONTR_ANWEB_disc.txt"},
      {"ICD10CM", "FY2024", "2023-10-01", "icd10cm-order", "/icd10cm/2024/icd10cm-order-2024.txt"},
      {"CPT", "2024", "2024-01-01", "cpt", "/cpt/2024"},
  };
  absl::Status imported = ImportFiles(client.get(), kSample, files);
  ASSERT_TRUE(imported.ok()) << imported;
  char tmpl[] = "/tmp/codebook-backup-XXXXXX";
  const std::string dir = mkdtemp(tmpl);

  // Load: lookups and searches on four threads, and imports of new releases, during the backup.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      auto c = server.NewClient();
      while (!stop) {
        auto r = c->Lookup("ICD10CM", "E11.9", Selector::Version("FY2024"));
        v1::SearchRequest req;
        req.set_system("HCPCS");
        req.set_query("wheelchair");
        auto s = c->Search(req);
        (r.ok() && s.ok() ? reads : errors)++;
      }
    });
  }
  std::thread writer([&] {
    auto c = server.NewClient();
    absl::Status s = ImportFiles(
        c.get(), kSample,
        {{"HCPCS", "2019", "2019-01-01", "hcpcs", "/hcpcs/2019/HCPC2019_CONTR_ANWEB.txt"},
         {"ICD10CM", "FY2025", "2024-10-01", "icd10cm-order",
          "/icd10cm/2025/icd10cm_order_2025.txt"},
         {"CPT", "2025", "2025-01-01", "cpt", "/cpt/2025"}});
    if (!s.ok()) errors++;
  });
  std::vector<v1::CreateBackupResponse> backups;
  for (int i = 0; i < 3; ++i) {
    auto b = client->CreateBackup(dir + "/backup" + std::to_string(i));
    ASSERT_TRUE(b.ok()) << b.status();
    backups.push_back(*b);
  }
  writer.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  // Each backup holds whole releases only: the ones published when it was taken.
  for (const auto& b : backups) {
    EXPECT_GE(b.releases_size(), 4);
    EXPECT_GT(b.bytes(), 0);
  }
  // A last backup after the load, restored into a new folder.
  auto last = client->CreateBackup(dir + "/final");
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->releases_size(), 7);
  std::map<std::string, std::string> primary = Checksums(client.get());
  // A published release never changes: every release in every backup has its final checksum.
  for (const auto& b : backups) {
    for (const auto& r : b.releases()) {
      EXPECT_EQ(r.checksum(), primary[r.system() + " " + r.version()]) << r.version();
    }
  }
  std::map<std::string, std::string> in_backup;
  for (const auto& r : last->releases()) in_backup[r.system() + " " + r.version()] = r.checksum();
  EXPECT_EQ(in_backup, primary);

  // TestServer(folder) serves the database in folder/db.
  const std::string restored = dir + "/restored/db";
  fs::create_directories(dir + "/restored");
  fs::copy(dir + "/final", restored, fs::copy_options::recursive);
  std::string out;
  EXPECT_EQ(RunCommand(kCodebookd + " --verify --db=" + restored, &out), 0) << out;
  EXPECT_NE(out.find("7 releases in " + restored + ", every checksum matches"), std::string::npos)
      << out;
  {
    TestServer copy(dir + "/restored");
    auto c = copy.NewClient();
    EXPECT_EQ(Checksums(c.get()), primary);
    auto lookup = c->Lookup("CPT", "99215-25");
    ASSERT_TRUE(lookup.ok()) << lookup.status();
    c.reset();
  }
  // Earlier backups restore too, each with the checksums it reported.
  for (size_t i = 0; i < backups.size(); ++i) {
    std::string copy_dir = dir + "/restored" + std::to_string(i);
    fs::create_directories(copy_dir);
    fs::copy(backups[i].directory(), copy_dir + "/db", fs::copy_options::recursive);
    TestServer copy(copy_dir);
    auto c = copy.NewClient();
    std::map<std::string, std::string> expected;
    for (const auto& r : backups[i].releases()) {
      expected[r.system() + " " + r.version()] = r.checksum();
    }
    EXPECT_EQ(Checksums(c.get()), expected) << i;
    c.reset();
  }

  // Errors: a relative path, a folder that exists, a parent that does not.
  EXPECT_EQ(client->CreateBackup("backup").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->CreateBackup(dir + "/final").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client->CreateBackup(dir + "/no/such/folder").status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The CLI.
  EXPECT_EQ(RunCommand(kCli + " --server=" + server.address() + " backup " + dir + "/cli", &out),
            0)
      << out;
  EXPECT_NE(out.find("backup of 7 releases in " + dir + "/cli"), std::string::npos) << out;
  client.reset();
  fs::remove_all(dir);
}

TEST(BackupTest, ReplicasTakeBackupsToo) {
  TestServer primary;
  auto client = primary.NewClient();
  auto concepts = importers::ParseFile("cpt", kSample + "/cpt/2024");
  ASSERT_TRUE(concepts.ok());
  ASSERT_TRUE(client->ImportRelease("CPT", "2024", "2024-01-01", "", *concepts, true).ok());
  TestServer replica("", {"--follow=" + primary.address()});
  auto rc = replica.NewClient();
  // Until the replica has published its copy: it lists the release as staged while it copies.
  auto published = [&] {
    auto releases = rc->ListReleases("CPT");
    return releases.ok() && !releases->empty() &&
           releases->front().state() == v1::RELEASE_STATE_PUBLISHED;
  };
  for (int i = 0; i < 200 && !published(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(published());
  char tmpl[] = "/tmp/codebook-backup-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto b = rc->CreateBackup(dir + "/from-replica");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->releases_size(), 1);
  EXPECT_EQ(b->releases(0).checksum(), client->ListReleases("CPT")->at(0).checksum());
  rc.reset();
  client.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace codebook::testing
