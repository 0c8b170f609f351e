// codebook_bench: Codebook's benchmark. Prints every figure and the ratios between them, each a
// median over --repeat runs, all measured in this one process so that ratios compare like with
// like on a shared, noisy machine.
//
//   codebook_bench --server=127.0.0.1:50051 --data=../shared/data [--repeat=5]
//
// Phases:
//  storage  in-process, on a fresh temporary RocksDB: import time of each ICD-10-CM release
//           through the domain layer; database size after compaction with all releases vs. the
//           latest alone; storage-layer lookups/s (one Reader, one thread).
//  rpc      against a running server holding the same releases: Ping (the empty-call ceiling)
//           and Lookup calls/s with p50/p99 at --concurrency, on gRPC's callback client API;
//           BatchLookup codes/s with --batch_size codes per call, decoded by the client and, to
//           show what the server delivers, read as bytes; each next to a run of storage-layer
//           lookups (view built, one thread) for the ratio.
//  diff     DiffReleases against the same server, from one consecutive pair up to the widest
//           pair: time and changes, to show that a diff costs what its changes cost.
//  search   (with rpc) autocomplete queries of 1 to 3 words (the last one cut short, as typed)
//           drawn from the latest ICD-10-CM release, then the clinical-language queries of
//           --clinical_queries (whole and half typed), at --search_concurrency: queries/s and
//           p50/p99 next to Ping at the same concurrency in the same round. The storage phase
//           reports the search index's size next to the store's.
//  search_inprocess
//           the same queries through the domain layer on --search_db, one thread, no rpc: the
//           search's own cost per query (for profiling it apart from gRPC).
//  claims   (with rpc) --claim_lines generated claim lines (tests/claim_lines.h; HCPCS and
//           ICD-10-CM from --data, CPT from its cpt/ folder or the repo's synthetic sample)
//           checked through ValidateClaimStream and through one ValidateClaim request: lines/s,
//           and how many answers differ from the expected ones (must be 0).
//  valueset (with a server holding the ICD-10-CM releases of --data) a value set of 5,262 codes
//           (billable codes below S52 and S72 in FY2025): ExpandValueSet's first page (100)
//           and all pages (1,000 each), cold (a new version: nothing cached) and cached;
//           membership checks (ValidateCode with the value set, codes in it and not) per second
//           beside Ping in the same round; DiffValueSet across each consecutive pair of
//           ICD-10-CM releases for every billable code (a new version per run: cold), time
//           against the number of changes.
//  fhir     (with --fhir, the server's FHIR port) $lookup and $validate-code (for a date of
//           service) requests/s with p50/p99 at --concurrency over keep-alive connections, next
//           to gRPC Lookup made the same way in the same round (their ratio); $expand of all of
//           ICD-10-CM with a text filter, 20 a page, one client (bench/fhir_phase.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/fhir_phase.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include <grpcpp/generic/generic_stub.h>

#include "client/client.h"
#include "google/protobuf/arena.h"
#include "importers/importers.h"
#include "service/release_admin_impl.h"
#include "service/terminology_impl.h"
#include "storage/store.h"
#include "tests/claim_lines.h"
#include "tests/typed_queries.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "server for the rpc phase (empty: skip it)");
ABSL_FLAG(std::string, data, "", "data folder with icd10cm/<version>/ order files "
                                 "(default ../shared/data, else data/sample)");
ABSL_FLAG(std::string, fhir, "",
          "HOST:PORT of the server's FHIR port for the fhir phase (empty: skip it)");
ABSL_FLAG(std::string, phases, "storage,rpc,search,claims,valueset,fhir",
          "phases to run (soak: a timed mixed load, see bench/soak.sh)");
ABSL_FLAG(int, repeat, 5, "runs of each measurement; medians are reported");
ABSL_FLAG(int, calls, 50000, "unary calls per Ping/Lookup run");
ABSL_FLAG(int, concurrency, 32, "calls in flight for Ping/Lookup");
ABSL_FLAG(int, batch_size, 1000, "codes per BatchLookup call");
ABSL_FLAG(int, batch_calls, 300, "BatchLookup calls per run");
ABSL_FLAG(int, batch_concurrency, 4, "BatchLookup calls in flight");
ABSL_FLAG(int, channels, 4, "client connections the calls are spread over");
ABSL_FLAG(std::string, rpcs, "ping,lookup,batch,stream",
          "rpc measurements to run (for profiling one alone)");
ABSL_FLAG(int, storage_lookups, 500000, "in-process lookups per run");
ABSL_FLAG(int, search_calls, 20000, "Search calls per run");
ABSL_FLAG(int, search_concurrency, 16, "Search (and its Ping reference) calls in flight");
ABSL_FLAG(std::string, clinical_queries, "tests/search_clinical.tsv",
          "The clinical-language queries the search phase also runs (first column; none when "
          "the file is missing)");
ABSL_FLAG(int, search_slowest, 0,
          "after the search phase, time each distinct query alone (one call in flight, median of "
          "3) and print this many of the slowest with their total hits: where search time goes");
ABSL_FLAG(std::string, search_db, "",
          "the search_inprocess phase's database: a copy of a stopped server's (or a checkpoint), "
          "opened in this process");
ABSL_FLAG(int, claim_lines, 10000, "generated claim lines per claims run");
ABSL_FLAG(std::string, compact_db, "",
          "instead of benchmarking: compact the database in this folder fully (a stopped "
          "server's, or a copy) and print the bytes of its SST files, its live data exactly");
ABSL_FLAG(int, soak_seconds, 300, "length of the soak phase (a mixed load at --concurrency)");

namespace codebook::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct IcdRelease {
  std::string version, effective, path;
  std::string tabular;  // the folder's Tabular List (icd10cm_tabular_*.xml[.gz]), if any
};

// The ICD-10-CM order files of a data folder, in effective-date order (the layout rules of
// deploy/load-default-data.sh).
std::vector<IcdRelease> FindIcdReleases(const std::string& data) {
  std::vector<IcdRelease> out;
  std::regex folder_re("^([0-9]{4})(-([0-9]{2}))?$");
  std::regex file_re("^icd10cm[-_]order[-_].*\\.txt(\\.gz)?$");
  std::regex tabular_re("^icd10cm_tabular_.*\\.xml(\\.gz)?$");
  for (const auto& dir : fs::directory_iterator(data + "/icd10cm")) {
    std::smatch m;
    std::string name = dir.path().filename().string();
    if (!dir.is_directory() || !std::regex_match(name, m, folder_re)) continue;
    IcdRelease r;
    int year = std::stoi(m[1]);
    if (m[3].matched) {
      r.version = absl::StrFormat("FY%d-%s", year, m[3].str());
      r.effective = absl::StrFormat("%d-%s-01", year, m[3].str());
    } else {
      r.version = absl::StrFormat("FY%d", year);
      r.effective = absl::StrFormat("%d-10-01", year - 1);
    }
    for (const auto& f : fs::directory_iterator(dir.path())) {
      std::string fname = f.path().filename().string();
      if (std::regex_match(fname, file_re) && fname.find("addenda") == std::string::npos) {
        r.path = f.path().string();
      }
      if (std::regex_match(fname, tabular_re)) r.tabular = f.path().string();
    }
    if (!r.path.empty()) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const IcdRelease& a, const IcdRelease& b) { return a.effective < b.effective; });
  return out;
}

// Loads releases into a fresh store through the domain layer; returns seconds per release.
std::vector<double> LoadInProcess(storage::Store* store, const std::vector<IcdRelease>& releases,
                                  const std::vector<importers::Concepts>& parsed) {
  service::ReleaseAdminImpl admin(store, [] { return absl::Now(); });
  std::vector<double> seconds;
  for (size_t i = 0; i < releases.size(); ++i) {
    auto t0 = Clock::now();
    v1::CreateReleaseRequest create;
    create.set_system("ICD10CM");
    create.set_version(releases[i].version);
    create.set_effective_date(releases[i].effective);
    v1::CreateReleaseResponse created;
    // Messages as the CLI sends them (the server's per-message limit is 10,000 concepts).
    std::vector<v1::UploadConceptsRequest> stream;
    for (size_t k = 0; k < parsed[i].size(); ++k) {
      if (k % 5000 == 0) {
        stream.emplace_back();
        stream.back().set_system("ICD10CM");
        stream.back().set_version(releases[i].version);
      }
      *stream.back().add_concepts() = parsed[i][k];
    }
    v1::UploadConceptsResponse uploaded;
    v1::PublishReleaseRequest publish;
    publish.set_system("ICD10CM");
    publish.set_version(releases[i].version);
    v1::PublishReleaseResponse published;
    absl::Status s = admin.CreateRelease(create, &created);
    auto upload = admin.StartUpload();
    for (auto& msg : stream) {
      if (s.ok()) s = upload->Add(&msg);
    }
    if (s.ok()) s = upload->Commit(&uploaded);
    if (s.ok()) s = admin.PublishRelease(publish, &published);
    if (!s.ok()) {
      std::cerr << "load failed: " << s << "\n";
      std::exit(1);
    }
    seconds.push_back(Seconds(t0));
  }
  return seconds;
}

std::string TempDir() {
  char tmpl[] = "/tmp/codebook-bench-XXXXXX";
  return mkdtemp(tmpl);
}

struct Figures {
  std::map<std::string, std::vector<double>> runs;
  void Add(const std::string& name, double v) { runs[name].push_back(v); }
  double Get(const std::string& name) const {
    auto it = runs.find(name);
    return it == runs.end() ? 0 : Median(it->second);
  }
};

std::vector<std::string> CodesOf(const importers::Concepts& concepts) {
  std::vector<std::string> codes;
  for (const auto& c : concepts) codes.push_back(c.code());
  return codes;
}

void StoragePhase(const std::vector<IcdRelease>& releases,
                  const std::vector<importers::Concepts>& parsed, Figures* f) {
  int repeat = absl::GetFlag(FLAGS_repeat);
  const std::vector<std::string> codes = CodesOf(parsed.back());
  for (int run = 0; run < repeat; ++run) {
    std::string dir = TempDir();
    {
      auto all = storage::Store::Open(dir + "/all");
      auto latest = storage::Store::Open(dir + "/latest");
      if (!all.ok() || !latest.ok()) {
        std::cerr << "cannot open temp stores\n";
        std::exit(1);
      }
      std::vector<double> s = LoadInProcess(all->get(), releases, parsed);
      for (size_t i = 0; i < s.size(); ++i) f->Add("import " + releases[i].version + " s", s[i]);
      std::vector<double> one = LoadInProcess(latest->get(), {releases.back()}, {parsed.back()});
      f->Add("import latest alone s", one[0]);
      (void)(*all)->CompactAll();
      (void)(*latest)->CompactAll();
      f->Add("db size all releases MB", *(*all)->SizeOnDisk() / 1e6);
      f->Add("db size latest alone MB", *(*latest)->SizeOnDisk() / 1e6);
      auto all_cfs = (*all)->SizeByColumnFamily();
      auto latest_cfs = (*latest)->SizeByColumnFamily();
      if (all_cfs.ok() && latest_cfs.ok()) {
        f->Add("concepts all releases MB", (*all_cfs)["concepts"] / 1e6);
        f->Add("search index all releases MB", (*all_cfs)["terms"] / 1e6);
        f->Add("search index latest alone MB", (*latest_cfs)["terms"] / 1e6);
      }

      // Storage-layer lookups: one reader, random codes of the latest release, one thread;
      // first as the server runs (release view built), then from RocksDB alone.
      uint64_t seq = (*all)->catalog()->LatestPublished("ICD10CM")->sequence;
      std::mt19937 rng(run);
      std::uniform_int_distribution<size_t> pick(0, codes.size() - 1);
      std::vector<std::string> sample;
      int n = absl::GetFlag(FLAGS_storage_lookups);
      sample.reserve(n);
      for (int i = 0; i < n; ++i) sample.push_back(codes[pick(rng)]);
      auto measure = [&](storage::Store* store) {
        auto reader = store->NewReader();
        storage::CodeState st;
        auto t0 = Clock::now();
        int found = 0;
        for (const std::string& code : sample) {
          (void)reader->Read("ICD10CM", code, seq, &st);
          found += st.kind == storage::CodeState::Kind::kPresent;
        }
        if (found != n) std::cerr << "warning: " << n - found << " lookups missed\n";
        return n / Seconds(t0);
      };
      if (absl::Status s = (*all)->BuildView("ICD10CM", seq); !s.ok()) {
        std::cerr << s << "\n";
        std::exit(1);
      }
      f->Add("storage lookups/s", measure(all->get()));
      if (auto view = (*all)->View("ICD10CM", seq)) {
        f->Add("word table of a view MB", view->words().MemoryBytes() / 1e6);
      }
      all->reset();
      storage::StoreOptions no_views;
      no_views.view_cache_bytes = 0;
      auto seek_only = storage::Store::Open(dir + "/all", no_views);
      f->Add("storage lookups/s, no view", measure(seek_only->get()));
    }
    fs::remove_all(dir);
  }
}

// Runs `total` calls with `concurrency` in flight; `start(i, done)` starts call i and must call
// done(ok) when it completes. Returns calls/s and fills latencies (microseconds).
double RunClosedLoop(int total, int concurrency,
                     const std::function<void(int, std::function<void(bool)>)>& start,
                     std::vector<double>* latencies_us, int* errors) {
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::condition_variable cv;
  int finished_slots = 0;
  std::vector<std::vector<double>> per_slot(concurrency);
  std::function<void(int)> issue = [&](int slot) {
    int i = next.fetch_add(1);
    if (i >= total) {
      std::lock_guard<std::mutex> l(mu);
      if (++finished_slots == concurrency) cv.notify_all();
      return;
    }
    auto t0 = Clock::now();
    start(i, [&, slot, t0](bool ok) {
      per_slot[slot].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (!ok) failed.fetch_add(1);
      issue(slot);
    });
  };
  auto t0 = Clock::now();
  for (int s = 0; s < concurrency; ++s) issue(s);
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return finished_slots == concurrency; });
  }
  double rate = total / Seconds(t0);
  latencies_us->clear();
  for (auto& v : per_slot) latencies_us->insert(latencies_us->end(), v.begin(), v.end());
  std::sort(latencies_us->begin(), latencies_us->end());
  *errors = failed.load();
  return rate;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

// --channels clients, each on its own connection, as a pool of clients would use: a server
// handles the calls of one connection largely on one thread.
std::vector<std::unique_ptr<Client>> ChannelClients(const ClientOptions& options) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    ClientOptions o = options;
    o.channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    o.channel_args.SetInt("codebook.bench.channel", i);
    clients.push_back(std::make_unique<Client>(o));
  }
  return clients;
}

// The empty call, `calls` of them with `concurrency` in flight: the ceiling of any unary rpc.
double RunPings(const std::vector<std::unique_ptr<Client>>& clients, int calls, int concurrency,
                std::vector<double>* lat, int* errors) {
  return RunClosedLoop(
      calls, concurrency,
      [&](int i, std::function<void(bool)> done) {
        struct Call {
          grpc::ClientContext ctx;
          google::protobuf::Arena arena;
          v1::PingRequest req;
          v1::PingResponse* resp = google::protobuf::Arena::CreateMessage<v1::PingResponse>(&arena);
        };
        auto* call = new Call;
        call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        clients[i % clients.size()]->terminology()->async()->Ping(
            &call->ctx, &call->req, call->resp, [call, done](grpc::Status s) {
              delete call;
              done(s.ok());
            });
      },
      lat, errors);
}

// Storage-layer lookups/s on a store holding `concepts` as one release, its view built, one
// reader, one thread: the in-process reference for BatchLookup.
class StorageReference {
 public:
  StorageReference(const IcdRelease& release, const importers::Concepts& concepts)
      : dir_(TempDir()) {
    store_ = *storage::Store::Open(dir_ + "/ref");
    LoadInProcess(store_.get(), {release}, {concepts});
    seq_ = store_->catalog()->LatestPublished("ICD10CM")->sequence;
    (void)store_->BuildView("ICD10CM", seq_);
    std::mt19937 rng(7);
    std::uniform_int_distribution<size_t> pick(0, concepts.size() - 1);
    for (int i = 0; i < 200000; ++i) sample_.push_back(concepts[pick(rng)].code());
  }
  ~StorageReference() {
    store_.reset();
    fs::remove_all(dir_);
  }
  double LookupsPerSecond() {
    auto reader = store_->NewReader();
    storage::CodeState st;
    auto t0 = Clock::now();
    for (const std::string& code : sample_) (void)reader->Read("ICD10CM", code, seq_, &st);
    return sample_.size() / Seconds(t0);
  }

 private:
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  uint64_t seq_ = 0;
  std::vector<std::string> sample_;
};

// DiffReleases end to end (whole stream read and decoded) for every pair of releases that starts
// at the first or at the one before the last: its time should follow the number of changes.
void DiffPhase(const std::vector<IcdRelease>& releases, Figures* f,
               std::vector<std::string>* pairs) {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  Client client(options);
  std::vector<std::pair<std::string, std::string>> todo;
  const std::string& last = releases.back().version;
  todo.emplace_back(releases[releases.size() - 2].version, last);  // one consecutive pair
  for (size_t i = 0; i + 2 < releases.size(); ++i) todo.emplace_back(releases[i].version, last);
  for (const auto& [from, to] : todo) {
    std::string name = "diff " + from + " -> " + to;
    for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
      v1::DiffReleasesRequest req;
      req.set_system("ICD10CM");
      req.set_from_version(from);
      req.set_to_version(to);
      int64_t changes = 0;
      auto t0 = Clock::now();
      absl::Status s = client.DiffReleases(req, [&](const v1::DiffReleasesResponse& m) {
        changes += m.changes_size();
        return true;
      });
      double ms = Seconds(t0) * 1000;
      if (!s.ok()) {
        std::cerr << name << ": " << s << "\n";
        std::exit(1);
      }
      f->Add(name + " ms", ms);
      f->Add(name + " changes", changes);
    }
    pairs->push_back(name);
  }
}

// The value-set phase (see the header). Each run creates versions of its own (same rules, a new
// version label), so that "cold" figures find nothing in the server's expansion cache.
void ValueSetPhase(const std::vector<IcdRelease>& releases, Figures* f,
                   std::vector<std::string>* diff_pairs) {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.admin_deadline = absl::Minutes(5);
  Client client(options);
  const std::string date = releases.back().effective;
  const std::string tag = absl::StrCat(absl::ToUnixMicros(absl::Now()));
  auto fractures = [&](const std::string& version) {
    v1::ValueSet vs;
    vs.set_url("urn:codebook:bench:vs:fractures");
    vs.set_version(version);
    for (const char* category : {"S52", "S72"}) {
      v1::ValueSetRule* rule = vs.add_includes();
      rule->set_system("ICD10CM");
      for (auto [p, op, v] : {std::tuple{"concept", "is-a", category},
                              std::tuple{"billable", "=", "true"}}) {
        v1::ValueSetFilter* filter = rule->add_filters();
        filter->set_property(p);
        filter->set_op(op);
        filter->set_value(v);
      }
    }
    auto created = client.CreateValueSet(vs);
    if (!created.ok()) {
      std::cerr << "valueset phase: " << created.status() << "\n";
      std::exit(1);
    }
    return version;
  };
  auto expand = [&](const std::string& version, int page_size, bool all, int64_t* total) {
    v1::ExpandValueSetRequest req;
    req.set_url("urn:codebook:bench:vs:fractures");
    req.set_version(version);
    req.set_date_of_service(date);
    req.set_page_size(page_size);
    auto t0 = Clock::now();
    do {
      auto r = client.ExpandValueSet(req);
      if (!r.ok()) {
        std::cerr << "valueset phase: " << r.status() << "\n";
        std::exit(1);
      }
      *total = r->total();
      req.set_page_token(all ? r->next_page_token() : "");
    } while (!req.page_token().empty());
    return Seconds(t0) * 1000;
  };
  std::vector<std::unique_ptr<Client>> clients = ChannelClients(options);
  const int calls = absl::GetFlag(FLAGS_calls);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  std::vector<double> lat;
  int errors = 0;
  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    int64_t total = 0;
    const std::string first = fractures(absl::StrCat("bench-", tag, "-", run, "-a"));
    f->Add("expand first page cold ms", expand(first, 100, false, &total));
    f->Add("expand first page cached ms", expand(first, 100, false, &total));
    f->Add("expand all pages cached ms", expand(first, 1000, true, &total));
    const std::string second = fractures(absl::StrCat("bench-", tag, "-", run, "-b"));
    f->Add("expand all pages cold ms", expand(second, 1000, true, &total));
    f->Add("value set size", total);

    // Membership: half the codes in the set, half elsewhere in ICD-10-CM.
    static const char* const kCodes[] = {"S72.001A", "S52.501A", "S72.92XS", "S52.90XA",
                                         "E11.22",   "I10",      "S72.0",    "Z99.89"};
    const std::string canonical = absl::StrCat("urn:codebook:bench:vs:fractures|", first);
    double ping_rate = RunPings(clients, calls, concurrency, &lat, &errors);
    double member_rate = RunClosedLoop(
        calls, concurrency,
        [&](int i, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext ctx;
            v1::ValidateCodeRequest req;
            v1::ValidateCodeResponse resp;
          };
          auto* call = new Call;
          call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          call->req.set_system("ICD10CM");
          call->req.set_code(kCodes[i % 8]);
          call->req.set_date_of_service(date);
          call->req.set_value_set(canonical);
          clients[i % clients.size()]->terminology()->async()->ValidateCode(
              &call->ctx, &call->req, &call->resp, [call, done](grpc::Status s) {
                bool ok = s.ok() && call->resp.has_value_set();
                delete call;
                done(ok);
              });
        },
        &lat, &errors);
    f->Add("valueset ping calls/s", ping_rate);
    f->Add("membership checks/s", member_rate);
    f->Add("membership p50 us", Percentile(lat, 0.5));
    f->Add("membership/ping round ratio", member_rate / ping_rate);
    f->Add("membership errors", errors);

    // DiffValueSet over every billable code, each consecutive pair of releases.
    v1::ValueSet billable;
    billable.set_url("urn:codebook:bench:vs:billable");
    billable.set_version(absl::StrCat("bench-", tag, "-", run));
    v1::ValueSetFilter* filter = billable.add_includes()->add_filters();
    billable.mutable_includes(0)->set_system("ICD10CM");
    filter->set_property("billable");
    filter->set_op("=");
    filter->set_value("true");
    if (auto c = client.CreateValueSet(billable); !c.ok()) {
      std::cerr << "valueset phase: " << c.status() << "\n";
      std::exit(1);
    }
    for (size_t i = 1; i < releases.size(); ++i) {
      absl::CivilDay day;
      if (!absl::ParseCivilTime(releases[i].effective, &day)) std::exit(1);
      v1::DiffValueSetRequest req;
      req.set_url(billable.url());
      req.set_from_version(billable.version());
      req.set_to_version(billable.version());
      req.set_from_date(absl::FormatCivilTime(day - 1));
      req.set_to_date(releases[i].effective);
      auto t0 = Clock::now();
      auto d = client.DiffValueSet(req);
      double ms = Seconds(t0) * 1000;
      if (!d.ok()) {
        std::cerr << "valueset phase: " << d.status() << "\n";
        std::exit(1);
      }
      const std::string name =
          "valueset diff " + releases[i - 1].version + " -> " + releases[i].version;
      f->Add(name + " ms", ms);
      f->Add(name + " changes", static_cast<double>(d->changes_size()));
      if (run == 0) diff_pairs->push_back(name);
    }
  }
}

void RpcPhase(const std::string& version, const std::vector<std::string>& codes,
              StorageReference* reference, Figures* f) {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  Client client(options);
  auto probe = client.Lookup("ICD10CM", codes.front(), Selector::Version(version));
  if (!probe.ok()) {
    std::cerr << "rpc phase: the server at " << options.target << " cannot answer "
              << codes.front() << " in ICD10CM " << version << ": " << probe.status() << "\n";
    std::exit(1);
  }
  std::vector<std::unique_ptr<Client>> clients = ChannelClients(options);
  auto stub_for = [&](int i) { return clients[i % clients.size()]->terminology(); };
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs;
  for (auto& c : clients) generic_stubs.push_back(std::make_unique<grpc::GenericStub>(c->channel()));
  const int calls = absl::GetFlag(FLAGS_calls);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(0, codes.size() - 1);
  std::vector<std::string> lookup_codes(calls);
  for (auto& c : lookup_codes) c = codes[pick(rng)];
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  std::vector<double> lat;
  int errors = 0, total_errors = 0;

  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    const std::string rpcs = absl::GetFlag(FLAGS_rpcs);
    // The empty call: the ceiling any unary rpc on this server and client can reach.
    double ping_rate = rpcs.find("ping") == std::string::npos
                           ? 0
                           : RunPings(clients, calls, concurrency, &lat, &errors);
    total_errors += errors;
    f->Add("ping calls/s", ping_rate);
    f->Add("ping p50 us", Percentile(lat, 0.5));
    f->Add("ping p99 us", Percentile(lat, 0.99));

    auto run_lookups = [&](v1::ConceptView view) {
      return RunClosedLoop(
        calls, concurrency,
        [&, view](int i, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext ctx;
            google::protobuf::Arena arena;
            v1::LookupRequest req;
            v1::LookupResponse* resp =
                google::protobuf::Arena::CreateMessage<v1::LookupResponse>(&arena);
          };
          auto* call = new Call;
          call->ctx.set_deadline(deadline());
          call->req.set_system("ICD10CM");
          call->req.mutable_selector()->set_version(version);
          call->req.set_code(lookup_codes[i]);
          call->req.set_view(view);
          stub_for(i)->async()->Lookup(&call->ctx, &call->req, call->resp,
                                [call, done](grpc::Status s) {
                                  delete call;
                                  done(s.ok());
                                });
        },
        &lat, &errors);
    };
    // The basic view first: the full one's latencies are the ones reported.
    double basic_rate = rpcs.find("lookup") == std::string::npos ? 0
                                                                 : run_lookups(v1::CONCEPT_VIEW_BASIC);
    total_errors += errors;
    f->Add("lookup calls/s, basic view", basic_rate);
    f->Add("lookup basic/ping round ratio", basic_rate / ping_rate);
    double lookup_rate =
        rpcs.find("lookup") == std::string::npos ? 0 : run_lookups(v1::CONCEPT_VIEW_FULL);
    total_errors += errors;
    f->Add("lookup calls/s", lookup_rate);
    // Ratio within one round: ping and lookup ran back to back, under the same machine noise.
    f->Add("lookup/ping round ratio", lookup_rate / ping_rate);
    f->Add("lookup p50 us", Percentile(lat, 0.5));
    f->Add("lookup p99 us", Percentile(lat, 0.99));

    const int batch_size = absl::GetFlag(FLAGS_batch_size);
    const int batch_calls = absl::GetFlag(FLAGS_batch_calls);
    std::vector<v1::BatchLookupRequest> batches(8);
    for (auto& b : batches) {
      b.set_system("ICD10CM");
      b.mutable_selector()->set_version(version);
      for (int k = 0; k < batch_size; ++k) b.add_codes(codes[pick(rng)]);
    }
    double batch_rate = rpcs.find("batch") == std::string::npos ? 0 : RunClosedLoop(
        batch_calls, absl::GetFlag(FLAGS_batch_concurrency),
        [&](int i, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext ctx;
            google::protobuf::Arena arena;
            v1::BatchLookupResponse* resp =
                google::protobuf::Arena::CreateMessage<v1::BatchLookupResponse>(&arena);
          };
          auto* call = new Call;
          call->ctx.set_deadline(deadline());
          stub_for(i)->async()->BatchLookup(&call->ctx, &batches[i % batches.size()], call->resp,
                                     [call, done, batch_size](grpc::Status s) {
                                       bool ok = s.ok() && call->resp->results_size() == batch_size;
                                       delete call;
                                       done(ok);
                                     });
        },
        &lat, &errors);
    total_errors += errors;
    f->Add("batch codes/s", batch_rate * batch_size);
    f->Add("batch p50 ms", Percentile(lat, 0.5) / 1000);

    // The same calls read as bytes: what the server delivers, without this load generator
    // spending the shared cores on decoding 1,000 concepts per answer.
    std::vector<grpc::ByteBuffer> raw_batches(batches.size());
    for (size_t k = 0; k < batches.size(); ++k) {
      grpc::Slice slice(batches[k].SerializeAsString());
      raw_batches[k] = grpc::ByteBuffer(&slice, 1);
    }
    double raw_rate = rpcs.find("batch") == std::string::npos ? 0 : RunClosedLoop(
        batch_calls, absl::GetFlag(FLAGS_batch_concurrency),
        [&](int i, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext ctx;
            grpc::ByteBuffer resp;
          };
          auto* call = new Call;
          call->ctx.set_deadline(deadline());
          generic_stubs[i % generic_stubs.size()]->UnaryCall(
              &call->ctx, "/codebook.v1.Terminology/BatchLookup", grpc::StubOptions(),
              &raw_batches[i % raw_batches.size()], &call->resp, [call, done](grpc::Status s) {
                bool ok = s.ok() && call->resp.Length() > 0;
                delete call;
                done(ok);
              });
        },
        &lat, &errors);
    total_errors += errors;
    f->Add("batch codes/s, unparsed", raw_rate * batch_size);

    // LookupStream: the same batches over one stream per channel (two streams keep both of
    // the server's cores busy), answers decoded, in the full and the basic view.
    if (rpcs.find("stream") != std::string::npos) {
      // Four times BatchLookup's batches: a stream's run is then about a second, long enough
      // that starting and ending the streams do not weigh on the rate.
      const int stream_batches = 4 * batch_calls;
      std::vector<std::string> stream_codes;
      stream_codes.reserve(static_cast<size_t>(stream_batches) * batch_size);
      for (int k = 0; k < stream_batches; ++k) {
        const auto& b = batches[k % batches.size()];
        stream_codes.insert(stream_codes.end(), b.codes().begin(), b.codes().end());
      }
      for (v1::ConceptView view : {v1::CONCEPT_VIEW_FULL, v1::CONCEPT_VIEW_BASIC}) {
        const int kStreams = absl::GetFlag(FLAGS_batch_concurrency);
        std::atomic<int64_t> answered{0};
        std::atomic<int> failed{0};
        absl::Time start = absl::Now();
        std::vector<std::thread> threads;
        for (int t = 0; t < kStreams; ++t) {
          threads.emplace_back([&, t] {
            std::vector<std::string> mine(
                stream_codes.begin() + stream_codes.size() * t / kStreams,
                stream_codes.begin() + stream_codes.size() * (t + 1) / kStreams);
            absl::Status st = clients[t % clients.size()]->LookupStream(
                "ICD10CM", Selector::Version(version), mine, batch_size,
                [&](const v1::BatchLookupResponse& r) { answered += r.results_size(); }, view);
            if (!st.ok()) failed++;
          });
        }
        for (auto& th : threads) th.join();
        double secs = absl::ToDoubleSeconds(absl::Now() - start);
        total_errors += failed.load();
        if (answered.load() != static_cast<int64_t>(stream_codes.size())) total_errors++;
        f->Add(view == v1::CONCEPT_VIEW_BASIC ? "stream codes/s, basic view" : "stream codes/s",
               answered.load() / secs);
      }
    }
    if (reference != nullptr && batch_rate > 0) {
      // Measured right after the batch runs, under the same machine noise.
      double storage_rate = reference->LookupsPerSecond();
      f->Add("storage lookups/s (round)", storage_rate);
      f->Add("batch/storage round ratio", batch_rate * batch_size / storage_rate);
      f->Add("unparsed batch/storage round ratio", raw_rate * batch_size / storage_rate);
    }
  }
  f->Add("rpc errors", total_errors);
}

// Autocomplete queries as a person types them (tests/typed_queries.h).
std::vector<std::string> AutocompleteQueries(const importers::Concepts& concepts, int n) {
  return testing::TypedQueries(concepts, n, 11);
}

// The queries of the clinical relevance set (tests/search_clinical.tsv: lay terms, Index main
// terms and subterms, inclusion terms), each whole and as typed halfway through its last word.
std::vector<std::string> ClinicalQueries() {
  std::vector<std::string> out;
  std::ifstream in(absl::GetFlag(FLAGS_clinical_queries));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::string q = line.substr(0, line.find('\t'));
    out.push_back(q);
    size_t cut = q.rfind(' ') == std::string::npos ? 0 : q.rfind(' ') + 1;
    if (q.size() - cut >= 6) out.push_back(q.substr(0, cut + (q.size() - cut) / 2 + 1));
  }
  return out;
}

// Each distinct query of `queries` timed alone (one call in flight, the median of 3), the
// `n` slowest printed with their hit counts, and the share of all their time they take.
void PrintSlowestQueries(v1::Terminology::Stub* stub, const std::string& version,
                         std::vector<std::string> queries, const std::string& name, int n) {
  std::sort(queries.begin(), queries.end());
  queries.erase(std::unique(queries.begin(), queries.end()), queries.end());
  struct Timed {
    double us;
    int total_hits;
    std::string query;
  };
  std::vector<Timed> timed;
  double sum = 0;
  for (const std::string& q : queries) {
    std::vector<double> us;
    v1::SearchResponse resp;
    for (int k = 0; k < 3; ++k) {
      grpc::ClientContext ctx;
      v1::SearchRequest req;
      req.set_system("ICD10CM");
      req.mutable_selector()->set_version(version);
      req.set_query(q);
      req.set_page_size(10);
      auto start = Clock::now();
      grpc::Status s = stub->Search(&ctx, req, &resp);
      us.push_back(1e6 * Seconds(start));
      if (!s.ok()) std::cerr << "search \"" << q << "\": " << s.error_message() << "\n";
    }
    timed.push_back({Median(us), resp.total_hits(), q});
    sum += timed.back().us;
  }
  std::sort(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) { return a.us > b.us; });
  double top = 0;
  for (int i = 0; i < n && i < static_cast<int>(timed.size()); ++i) top += timed[i].us;
  std::cout << absl::StrFormat("slowest %s queries alone (%d distinct, mean %.0f us; these %d take "
                               "%.0f%% of the time)\n",
                               name, timed.size(), sum / std::max<size_t>(1, timed.size()), n,
                               100 * top / std::max(1.0, sum));
  for (int i = 0; i < n && i < static_cast<int>(timed.size()); ++i) {
    std::cout << absl::StrFormat("  %8.0f us %7d hits  %s\n", timed[i].us, timed[i].total_hits,
                                 timed[i].query);
  }
}

void SearchPhase(const std::string& version, const importers::Concepts& concepts, Figures* f) {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  std::vector<std::unique_ptr<Client>> clients = ChannelClients(options);
  auto stub_for = [&](int i) { return clients[i % clients.size()]->terminology(); };
  const int calls = absl::GetFlag(FLAGS_search_calls);
  const int concurrency = absl::GetFlag(FLAGS_search_concurrency);
  std::vector<std::string> queries = AutocompleteQueries(concepts, 2000);
  std::vector<std::string> clinical = ClinicalQueries();
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  std::vector<double> lat;
  int errors = 0, total_errors = 0;
  std::atomic<int64_t> hits{0}, empty{0};
  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    double ping_rate = RunPings(clients, calls, concurrency, &lat, &errors);
    total_errors += errors;
    f->Add("search ping calls/s", ping_rate);
    f->Add("search ping p99 us", Percentile(lat, 0.99));
    auto search_loop = [&](const std::vector<std::string>& qs) {
      return RunClosedLoop(
        calls, concurrency,
        [&](int i, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext ctx;
            google::protobuf::Arena arena;
            v1::SearchRequest* req = google::protobuf::Arena::CreateMessage<v1::SearchRequest>(&arena);
            v1::SearchResponse* resp =
                google::protobuf::Arena::CreateMessage<v1::SearchResponse>(&arena);
          };
          auto* call = new Call;
          call->ctx.set_deadline(deadline());
          call->req->set_system("ICD10CM");
          call->req->mutable_selector()->set_version(version);
          call->req->set_query(qs[i % qs.size()]);
          call->req->set_page_size(10);
          stub_for(i)->async()->Search(&call->ctx, call->req, call->resp,
                                       [&, call, done](grpc::Status s) {
                                         hits += call->resp->hits_size();
                                         empty += call->resp->hits_size() == 0;
                                         delete call;
                                         done(s.ok());
                                       });
        },
        &lat, &errors);
    };
    double search_rate = search_loop(queries);
    total_errors += errors;
    f->Add("search queries/s", search_rate);
    f->Add("search p50 us", Percentile(lat, 0.5));
    f->Add("search p99 us", Percentile(lat, 0.99));
    f->Add("search/ping round ratio", search_rate / ping_rate);
    if (!clinical.empty()) {
      double clinical_rate = search_loop(clinical);
      total_errors += errors;
      f->Add("clinical search queries/s", clinical_rate);
      f->Add("clinical search p50 us", Percentile(lat, 0.5));
      f->Add("clinical search p99 us", Percentile(lat, 0.99));
      f->Add("clinical search/ping round ratio", clinical_rate / ping_rate);
    }
  }
  f->Add("search errors", total_errors);
  f->Add("search queries without hits %",
         100.0 * empty.load() / (static_cast<double>(calls) * absl::GetFlag(FLAGS_repeat)));
  if (int slowest = absl::GetFlag(FLAGS_search_slowest); slowest > 0) {
    PrintSlowestQueries(stub_for(0), version, queries, "autocomplete", slowest);
    PrintSlowestQueries(stub_for(0), version, clinical, "clinical", slowest);
  }
}

// The search queries answered in this process on a copy of a server's database.
void SearchInProcessPhase(const std::string& version, const importers::Concepts& concepts,
                          Figures* f) {
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(absl::GetFlag(FLAGS_search_db));
  if (!store.ok()) {
    std::cerr << "--search_db: " << store.status() << "\n";
    return;
  }
  service::TerminologyImpl impl(store->get(), [] { return absl::Now(); }, "bench");
  std::vector<std::string> queries = AutocompleteQueries(concepts, 2000);
  std::vector<std::string> clinical = ClinicalQueries();
  auto run = [&](const std::vector<std::string>& qs, int rounds) {
    auto start = Clock::now();
    for (int r = 0; r < rounds; ++r) {
      for (const std::string& q : qs) {
        // In an arena, as the server's message allocator gives them.
        google::protobuf::Arena arena;
        auto* req = google::protobuf::Arena::CreateMessage<v1::SearchRequest>(&arena);
        req->set_system("ICD10CM");
        req->mutable_selector()->set_version(version);
        req->set_query(q);
        req->set_page_size(10);
        auto* resp = google::protobuf::Arena::CreateMessage<v1::SearchResponse>(&arena);
        absl::Status s = impl.Search(*req, resp);
        if (!s.ok()) std::cerr << "search \"" << q << "\": " << s << "\n";
      }
    }
    return 1e6 * Seconds(start) / (static_cast<double>(qs.size()) * rounds);
  };
  run(queries, 1);  // builds the release's view and search tables
  for (int i = 0; i < absl::GetFlag(FLAGS_repeat); ++i) {
    f->Add("in-process search us", run(queries, 1));
    if (!clinical.empty()) f->Add("in-process clinical search us", run(clinical, 5));
  }
}

struct HcpcsRelease {
  std::string year, path, format;
};

// HCPCS releases of a data folder as deploy/load-default-data.sh loads them: the fixed-width
// file of hcpcs/<year>/ (HCPC*ANWEB*.txt[.gz]), else its workbook (HCPC*ANWEB*.xlsx).
std::vector<HcpcsRelease> FindHcpcsReleases(const std::string& data) {
  std::vector<HcpcsRelease> out;
  if (!fs::exists(data + "/hcpcs")) return out;
  std::regex file_re("^HCPC.*ANWEB.*\\.txt(\\.gz)?$");
  std::regex workbook_re("^HCPC.*ANWEB.*\\.xlsx$");
  for (const auto& dir : fs::directory_iterator(data + "/hcpcs")) {
    std::string year = dir.path().filename().string();
    if (!dir.is_directory() || !std::regex_match(year, std::regex("^[0-9]{4}$"))) continue;
    HcpcsRelease text{year, "", "hcpcs"}, workbook{year, "", "hcpcs-xlsx"};
    for (const auto& file : fs::directory_iterator(dir.path())) {
      std::string name = file.path().filename().string();
      if (std::regex_match(name, file_re)) text.path = file.path().string();
      if (std::regex_match(name, workbook_re)) workbook.path = file.path().string();
    }
    if (!text.path.empty()) {
      out.push_back(text);
    } else if (!workbook.path.empty()) {
      out.push_back(workbook);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const HcpcsRelease& a, const HcpcsRelease& b) { return a.year < b.year; });
  return out;
}

void ClaimsPhase(const std::string& data, const std::vector<IcdRelease>& icd,
                 const std::vector<importers::Concepts>& parsed_icd, Figures* f) {
  testing::ClaimLineGenerator generator;
  for (size_t i = 0; i < icd.size(); ++i) {
    generator.AddRelease("ICD10CM", icd[i].effective, parsed_icd[i]);
    // The server checks diagnoses against the Tabulars the default data load; so does the oracle.
    if (icd[i].tabular.empty()) continue;
    auto t = importers::ParseFile("icd10cm-tabular", icd[i].tabular);
    if (!t.ok()) {
      std::cerr << t.status() << "\n";
      std::exit(1);
    }
    generator.AddTabular(icd[i].effective, *t);
  }
  for (const HcpcsRelease& h : FindHcpcsReleases(data)) {
    auto c = importers::ParseFile(h.format, h.path);
    if (!c.ok()) {
      std::cerr << c.status() << "\n";
      std::exit(1);
    }
    generator.AddRelease("HCPCS", h.year + "-01-01", *c);
  }
  std::string cpt = fs::exists(data + "/cpt") ? data + "/cpt" : std::string(CODEBOOK_SAMPLE_DIR) + "/cpt";
  for (const auto& dir : fs::directory_iterator(cpt)) {
    std::string year = dir.path().filename().string();
    if (!std::regex_match(year, std::regex("^[0-9]{4}$"))) continue;
    auto c = importers::ParseFile("cpt", dir.path().string());
    if (!c.ok()) {
      std::cerr << c.status() << "\n";
      std::exit(1);
    }
    generator.AddRelease("CPT", year + "-01-01", *c);
  }
  const int n = absl::GetFlag(FLAGS_claim_lines);
  std::vector<v1::ClaimLine> lines = generator.Generate(n, 20261127, "2017-01-01", "2025-12-31");
  std::vector<std::vector<std::string>> expected;
  int valid = 0;
  for (const auto& l : lines) {
    expected.push_back(generator.Expected(l));
    valid += testing::ClaimLineGenerator::Valid(expected.back());
  }
  f->Add("claim lines valid", valid);
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.deadline = absl::Minutes(2);
  Client client(options);
  int wrong = 0;
  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    int index = 0;
    auto t0 = Clock::now();
    absl::Status s = client.ValidateClaimStream(lines, [&](const v1::ClaimLineResult& r) {
      if (index >= n || testing::ClaimLineGenerator::Issues(r) != expected[index]) ++wrong;
      ++index;
    });
    double stream_rate = n / Seconds(t0);
    if (!s.ok() || index != n) {
      std::cerr << "claims: stream failed after " << index << " lines: " << s << "\n";
      std::exit(1);
    }
    f->Add("claim stream lines/s", stream_rate);
    // The same lines in unary requests of at most 10,000.
    t0 = Clock::now();
    for (int start = 0; start < n; start += 10000) {
      v1::ValidateClaimRequest req;
      for (int i = start; i < n && i < start + 10000; ++i) *req.add_lines() = lines[i];
      auto r = client.ValidateClaim(req);
      if (!r.ok()) {
        std::cerr << "claims: " << r.status() << "\n";
        std::exit(1);
      }
      for (int i = 0; i < r->results_size(); ++i) {
        if (testing::ClaimLineGenerator::Issues(r->results(i)) != expected[start + i]) ++wrong;
      }
    }
    f->Add("claim unary lines/s", n / Seconds(t0));
  }
  f->Add("claim answers not as expected", wrong);
}

// The soak: --soak_seconds of a mixed load at --concurrency calls in flight (the benchmark's
// highest), on --channels connections: of every 10 calls, 6 Lookups, 2 Searches (autocomplete
// queries), 1 BatchLookup of 100 codes and 1 ValidateCode, on the newest ICD-10-CM release.
// Prints calls, errors and p99 per 30 s window, then the totals; the caller watches the server.
void SoakPhase(const std::string& version, const importers::Concepts& concepts) {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  std::vector<std::unique_ptr<Client>> clients = ChannelClients(options);
  const std::vector<std::string> codes = CodesOf(concepts);
  const std::vector<std::string> queries = AutocompleteQueries(concepts, 2000);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const auto end = Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_soak_seconds));
  constexpr auto kWindow = std::chrono::seconds(30);
  std::atomic<int64_t> next{0}, calls{0}, errors{0};
  std::mutex mu;
  std::condition_variable cv;
  int finished_slots = 0;
  std::vector<double> window_lat;  // guarded by mu
  std::string first_error;         // guarded by mu
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  std::function<void(int)> issue = [&](int slot) {
    if (Clock::now() >= end) {
      std::lock_guard<std::mutex> l(mu);
      if (++finished_slots == concurrency) cv.notify_all();
      return;
    }
    const int64_t i = next.fetch_add(1);
    const auto t0 = Clock::now();
    auto done = [&, slot, t0](const grpc::Status& st) {
      double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      ++calls;
      {
        std::lock_guard<std::mutex> l(mu);
        window_lat.push_back(us);
        if (!st.ok()) {
          ++errors;
          if (first_error.empty()) first_error = st.error_message();
        }
      }
      issue(slot);
    };
    v1::Terminology::Stub* stub = clients[i % clients.size()]->terminology();
    const std::string& code = codes[(i * 7919) % codes.size()];
    struct Call {
      grpc::ClientContext ctx;
      google::protobuf::Arena arena;
    };
    auto* call = new Call;
    call->ctx.set_deadline(deadline());
    auto* a = &call->arena;
    switch (i % 10) {
      case 6:
      case 7: {
        auto* req = google::protobuf::Arena::CreateMessage<v1::SearchRequest>(a);
        auto* resp = google::protobuf::Arena::CreateMessage<v1::SearchResponse>(a);
        req->set_system("ICD10CM");
        req->mutable_selector()->set_version(version);
        req->set_query(queries[i % queries.size()]);
        req->set_page_size(10);
        stub->async()->Search(&call->ctx, req, resp, [call, done](grpc::Status st) {
          delete call;
          done(st);
        });
        break;
      }
      case 8: {
        auto* req = google::protobuf::Arena::CreateMessage<v1::BatchLookupRequest>(a);
        auto* resp = google::protobuf::Arena::CreateMessage<v1::BatchLookupResponse>(a);
        req->set_system("ICD10CM");
        req->mutable_selector()->set_version(version);
        for (int k = 0; k < 100; ++k) req->add_codes(codes[(i * 31 + k * 104729) % codes.size()]);
        stub->async()->BatchLookup(&call->ctx, req, resp, [call, done](grpc::Status st) {
          delete call;
          done(st);
        });
        break;
      }
      case 9: {
        auto* req = google::protobuf::Arena::CreateMessage<v1::ValidateCodeRequest>(a);
        auto* resp = google::protobuf::Arena::CreateMessage<v1::ValidateCodeResponse>(a);
        req->set_system("ICD10CM");
        req->set_code(code);
        req->set_date_of_service("2024-11-01");
        stub->async()->ValidateCode(&call->ctx, req, resp, [call, done](grpc::Status st) {
          delete call;
          done(st);
        });
        break;
      }
      default: {
        auto* req = google::protobuf::Arena::CreateMessage<v1::LookupRequest>(a);
        auto* resp = google::protobuf::Arena::CreateMessage<v1::LookupResponse>(a);
        req->set_system("ICD10CM");
        req->mutable_selector()->set_version(version);
        req->set_code(code);
        stub->async()->Lookup(&call->ctx, req, resp, [call, done](grpc::Status st) {
          delete call;
          done(st);
        });
      }
    }
  };
  std::cout << absl::StrFormat("soak: %d s, %d calls in flight on %d connections, ICD10CM %s\n",
                               absl::GetFlag(FLAGS_soak_seconds), concurrency, clients.size(),
                               version);
  const auto start = Clock::now();
  for (int s = 0; s < concurrency; ++s) issue(s);
  int64_t last_calls = 0, last_errors = 0;
  auto window_end = start + kWindow;
  std::unique_lock<std::mutex> l(mu);
  while (!cv.wait_until(l, std::min(window_end, end + std::chrono::seconds(60)),
                        [&] { return finished_slots == concurrency; })) {
    std::vector<double> lat;
    lat.swap(window_lat);
    std::sort(lat.begin(), lat.end());
    const int64_t c = calls.load(), e = errors.load();
    std::cout << absl::StrFormat("  %4.0f s: %7d calls/s, %d errors, p50 %.0f us, p99 %.0f us\n",
                                 Seconds(start), (c - last_calls) / 30, e - last_errors,
                                 Percentile(lat, 0.5), Percentile(lat, 0.99))
              << std::flush;
    last_calls = c;
    last_errors = e;
    window_end += kWindow;
  }
  const double seconds = Seconds(start);
  std::cout << absl::StrFormat("soak: %d calls in %.0f s (%.0f calls/s), %d errors%s\n",
                               calls.load(), seconds, calls.load() / seconds, errors.load(),
                               first_error.empty() ? "" : "; first: " + first_error);
}

// --compact_db: what the data of a database take once every dead record is gone.
int CompactDb(const std::string& dir) {
  storage::StoreOptions options;
  options.view_cache_bytes = 0;
  auto store = storage::Store::Open(dir, options);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  absl::Status s = (*store)->CompactAll();
  auto bytes = (*store)->SizeOnDisk();
  if (!s.ok() || !bytes.ok()) {
    std::cerr << (s.ok() ? bytes.status() : s) << "\n";
    return 1;
  }
  std::cout << *bytes << "\n";
  return 0;
}

int Main() {
  if (!absl::GetFlag(FLAGS_compact_db).empty()) return CompactDb(absl::GetFlag(FLAGS_compact_db));
  std::string data = absl::GetFlag(FLAGS_data);
  if (data.empty()) {
    data = fs::exists("../shared/data/icd10cm") ? "../shared/data" : "data/sample";
  }
  std::vector<IcdRelease> releases = FindIcdReleases(data);
  if (releases.empty()) {
    std::cerr << "no ICD-10-CM order files under " << data << "/icd10cm\n";
    return 1;
  }
  std::vector<importers::Concepts> parsed;
  for (const auto& r : releases) {
    auto c = importers::ParseFile("icd10cm-order", r.path);
    if (!c.ok()) {
      std::cerr << c.status() << "\n";
      return 1;
    }
    parsed.push_back(*std::move(c));
  }
  const std::set<std::string> phases = absl::StrSplit(absl::GetFlag(FLAGS_phases), ',');
  Figures f;
  std::cout << absl::StrFormat("codebook_bench: data %s (%d ICD-10-CM releases, latest %s with %d "
                               "concepts), %d runs, medians; %d cores\n",
                               data, releases.size(), releases.back().version,
                               parsed.back().size(), absl::GetFlag(FLAGS_repeat),
                               std::thread::hardware_concurrency());
  if (phases.count("storage")) StoragePhase(releases, parsed, &f);
  bool rpc = phases.count("rpc") && !absl::GetFlag(FLAGS_server).empty();
  if (rpc) {
    StorageReference reference(releases.back(), parsed.back());
    RpcPhase(releases.back().version, CodesOf(parsed.back()), &reference, &f);
  }
  std::vector<std::string> diff_pairs;
  if (rpc && releases.size() >= 2) DiffPhase(releases, &f, &diff_pairs);
  const bool has_server = !absl::GetFlag(FLAGS_server).empty();
  bool search = has_server && phases.count("search");
  if (search) SearchPhase(releases.back().version, parsed.back(), &f);
  bool inprocess = phases.count("search_inprocess");
  if (inprocess) SearchInProcessPhase(releases.back().version, parsed.back(), &f);
  bool claims = has_server && phases.count("claims");
  if (claims) ClaimsPhase(data, releases, parsed, &f);
  std::vector<std::string> valueset_pairs;
  bool valuesets = has_server && phases.count("valueset");
  if (valuesets) ValueSetPhase(releases, &f, &valueset_pairs);
  if (has_server && phases.count("fhir") && !absl::GetFlag(FLAGS_fhir).empty()) {
    bench::FhirPhaseOptions o;
    o.fhir = absl::GetFlag(FLAGS_fhir);
    o.server = absl::GetFlag(FLAGS_server);
    o.version = releases.back().version;
    o.date = releases.back().effective;
    o.calls = absl::GetFlag(FLAGS_calls);
    o.concurrency = absl::GetFlag(FLAGS_concurrency);
    o.repeat = absl::GetFlag(FLAGS_repeat);
    bench::FhirPhase(o, CodesOf(parsed.back()), [&f](const std::string& name, double v) {
      f.Add(name, v);
    });
  }
  if (has_server && phases.count("soak")) {
    SoakPhase(releases.back().version, parsed.back());
    return 0;
  }

  auto line = [&](const std::string& name, const std::string& fmt) {
    if (f.runs.count(name)) {
      char value[64];
      std::snprintf(value, sizeof(value), fmt.c_str(), f.Get(name));
      std::cout << absl::StrFormat("  %-34s %s\n", name, value);
    }
  };
  std::cout << "storage (in-process)\n";
  for (const auto& r : releases) line("import " + r.version + " s", "%.3f");
  line("import latest alone s", "%.3f");
  line("db size all releases MB", "%.2f");
  line("db size latest alone MB", "%.2f");
  line("concepts all releases MB", "%.2f");
  line("search index all releases MB", "%.2f");
  line("search index latest alone MB", "%.2f");
  line("word table of a view MB", "%.1f");
  line("storage lookups/s", "%.0f");
  line("storage lookups/s, no view", "%.0f");
  if (rpc) {
    std::cout << absl::StrFormat("rpc (server %s, concurrency %d, %d calls a run)\n",
                                 absl::GetFlag(FLAGS_server), absl::GetFlag(FLAGS_concurrency),
                                 absl::GetFlag(FLAGS_calls));
    for (const char* n : {"ping calls/s", "ping p50 us", "ping p99 us", "lookup calls/s",
                          "lookup p50 us", "lookup p99 us", "lookup calls/s, basic view", "batch codes/s", "batch p50 ms",
                          "batch codes/s, unparsed", "stream codes/s", "stream codes/s, basic view",
                          "storage lookups/s (round)", "rpc errors"}) {
      line(n, "%.0f");
    }
  }
  if (!diff_pairs.empty()) {
    std::cout << "DiffReleases, whole stream read by the client (ICD-10-CM has "
              << parsed.back().size() << " codes in every release)\n";
    for (const std::string& name : diff_pairs) {
      std::cout << absl::StrFormat("  %-34s %6.0f changes  %7.1f ms  %5.1f us/change\n", name,
                                   f.Get(name + " changes"), f.Get(name + " ms"),
                                   1000 * f.Get(name + " ms") / std::max(1.0, f.Get(name + " changes")));
    }
  }
  if (inprocess) {
    std::cout << "Search in process (one thread, no rpc, " << absl::GetFlag(FLAGS_search_db) << ")\n";
    line("in-process search us", "%.1f");
    line("in-process clinical search us", "%.1f");
  }
  if (search) {
    std::cout << absl::StrFormat("Search (autocomplete, 1-3 words, concurrency %d, %d calls a run)\n",
                                 absl::GetFlag(FLAGS_search_concurrency),
                                 absl::GetFlag(FLAGS_search_calls));
    for (const char* n : {"search ping calls/s", "search ping p99 us", "search queries/s",
                          "search p50 us", "search p99 us", "search queries without hits %",
                          "clinical search queries/s", "clinical search p50 us",
                          "clinical search p99 us", "search errors"}) {
      line(n, "%.0f");
    }
  }
  if (claims) {
    std::cout << absl::StrFormat("claim lines (%d generated lines, dates 2017-2025)\n",
                                 absl::GetFlag(FLAGS_claim_lines));
    for (const char* n : {"claim lines valid", "claim stream lines/s", "claim unary lines/s",
                          "claim answers not as expected"}) {
      line(n, "%.0f");
    }
  }
  if (valuesets) {
    std::cout << absl::StrFormat("value sets (a set of %.0f codes on %s; membership at concurrency "
                                 "%d, %d calls a run)\n",
                                 f.Get("value set size"), releases.back().effective,
                                 absl::GetFlag(FLAGS_concurrency), absl::GetFlag(FLAGS_calls));
    for (const char* n : {"expand first page cold ms", "expand first page cached ms",
                          "expand all pages cold ms", "expand all pages cached ms"}) {
      line(n, "%.1f");
    }
    for (const char* n : {"valueset ping calls/s", "membership checks/s", "membership p50 us",
                          "membership errors"}) {
      line(n, "%.0f");
    }
    std::cout << "DiffValueSet, every billable ICD-10-CM code, consecutive releases (cold)\n";
    for (const std::string& name : valueset_pairs) {
      std::cout << absl::StrFormat("  %-44s %6.0f changes  %7.1f ms\n", name,
                                   f.Get(name + " changes"), f.Get(name + " ms"));
    }
  }
  const bool fhir = f.runs.count("fhir $lookup req/s") > 0;
  if (fhir) {
    std::cout << absl::StrFormat("FHIR port (%s; %d requests a run at concurrency %d, keep-alive)\n",
                                 absl::GetFlag(FLAGS_fhir), absl::GetFlag(FLAGS_calls),
                                 absl::GetFlag(FLAGS_concurrency));
    for (const char* n : {"grpc Lookup calls/s (blocking threads)", "grpc Lookup p50 us",
                          "fhir $lookup req/s", "fhir $lookup p50 us", "fhir $lookup p99 us",
                          "fhir $validate-code req/s", "fhir $validate-code p50 us",
                          "fhir $validate-code p99 us", "fhir $expand with filter req/s (one client)",
                          "fhir phase failures"}) {
      line(n, "%.0f");
    }
    line("fhir $expand with filter p50 ms", "%.2f");
    line("fhir $expand with filter p99 ms", "%.2f");
  }
  std::cout << "ratios\n";
  if (fhir) {
    for (const char* n : {"fhir $lookup / grpc Lookup round ratio",
                          "fhir $validate-code / grpc Lookup round ratio"}) {
      std::cout << absl::StrFormat("  %-34s %.3f  (median of per-round ratios)\n", n, f.Get(n));
    }
  }
  if (valuesets) {
    std::cout << absl::StrFormat("  %-34s %.3f  (median of per-round ratios)\n",
                                 "membership / ping calls/s", f.Get("membership/ping round ratio"));
  }
  if (f.runs.count("db size all releases MB")) {
    std::cout << absl::StrFormat("  %-34s %.3f  (target <= 1.5)\n", "db size all / latest alone",
                                 f.Get("db size all releases MB") /
                                     f.Get("db size latest alone MB"));
  }
  if (f.runs.count("search index all releases MB")) {
    std::cout << absl::StrFormat("  %-34s %.3f  (all releases; latest alone %.3f)\n",
                                 "search index / whole db",
                                 f.Get("search index all releases MB") /
                                     f.Get("db size all releases MB"),
                                 f.Get("search index latest alone MB") /
                                     f.Get("db size latest alone MB"));
    std::cout << absl::StrFormat("  %-34s %.3f  (a full copy per release would be %d)\n",
                                 "search index all / latest alone",
                                 f.Get("search index all releases MB") /
                                     f.Get("search index latest alone MB"),
                                 static_cast<int>(releases.size()));
  }
  if (search) {
    std::cout << absl::StrFormat("  %-34s %.3f  (target >= 0.5; median of per-round ratios)\n",
                                 "search / ping queries/s", f.Get("search/ping round ratio"));
    if (f.runs.count("clinical search/ping round ratio")) {
      std::cout << absl::StrFormat("  %-34s %.3f  (target >= 0.5; median of per-round ratios)\n",
                                   "clinical search / ping queries/s",
                                   f.Get("clinical search/ping round ratio"));
    }
  }
  if (rpc) {
    if (f.Get("ping calls/s") > 0 && f.Get("lookup calls/s") > 0) {
      std::cout << absl::StrFormat("  %-34s %.3f  (target >= 0.9; median of per-round ratios)\n",
                                   "lookup / ping calls/s", f.Get("lookup/ping round ratio"));
      std::cout << absl::StrFormat("  %-34s %.3f  (the basic view: no Tabular context)\n",
                                   "lookup basic / ping calls/s",
                                   f.Get("lookup basic/ping round ratio"));
    }
    if (f.Get("batch codes/s") > 0) {
      std::cout << absl::StrFormat(
          "  %-34s %.3f  (target >= 0.4; median of per-round ratios)\n",
          "batch codes/s / storage lookups/s", f.Get("batch/storage round ratio"));
      std::cout << absl::StrFormat(
          "  %-34s %.3f  (the same, answers read as bytes)\n",
          "unparsed batch / storage lookups/s", f.Get("unparsed batch/storage round ratio"));
    }
  }
  return 0;
}

}  // namespace
}  // namespace codebook::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Codebook benchmark; see bench/README.md and bench/run.sh.");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as codebookd does
  return codebook::bench::Main();
}
