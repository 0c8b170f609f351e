// codebookd: the Codebook server. Serves every release of every code system from one RocksDB
// database over gRPC (Terminology and ReleaseAdmin services, the standard health service and
// server reflection). Stops gracefully on SIGTERM or SIGINT: in-flight calls get up to 5 s.
#include <algorithm>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "replica/follower.h"
#include "service/code_systems.h"
#include "service/grpc_services.h"
#include "service/http_endpoint.h"
#include "service/memory_releaser.h"
#include "service/metrics.h"
#include "service/observing.h"
#include "storage/store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "address to serve on, host:port (port 0 picks a free port)");
ABSL_FLAG(std::string, db, "var/codebook-db", "folder of the RocksDB database (created if absent)");
ABSL_FLAG(std::string, port_file, "",
          "if set, write the ports actually bound to this file once serving, one per line: "
          "gRPC, metrics, health (0 when not served); for tests and scripts");
ABSL_FLAG(int, max_message_mb, 64, "largest request or response message, in MiB");
ABSL_FLAG(bool, plaintext, false,
          "serve without encryption (only when asked for: give this, or --tls_cert and "
          "--tls_key)");
ABSL_FLAG(std::string, tls_cert, "", "PEM file of the server's certificate chain (TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM file of the server's private key (TLS)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM file of the CA certificates client certificates must chain to: when set, every "
          "client must present one (mutual TLS)");
ABSL_FLAG(std::string, follow_tls_ca, "",
          "with --follow over TLS: PEM file of the CA certificates the primary's certificate "
          "chains to");
ABSL_FLAG(std::string, follow_tls_cert, "",
          "with --follow to a primary that requires client certificates: this server's PEM "
          "certificate");
ABSL_FLAG(std::string, follow_tls_key, "", "the key of --follow_tls_cert (PEM)");
ABSL_FLAG(std::string, follow_token_file, "",
          "with --follow to a primary with a tokens file: a file whose first line is the bearer "
          "token this replica sends; its scopes must include the licences of licensed systems "
          "(license:CPT), or their releases cannot be copied");
ABSL_FLAG(std::string, tokens, "",
          "tokens file: who may call (SHA-256 of bearer tokens, or cert:COMMON_NAME, with their "
          "scopes; see service/auth.h); reloaded on SIGHUP. Without it every call is allowed");
ABSL_FLAG(bool, hash_token, false,
          "read a bearer token on stdin, print its line for a tokens file (its SHA-256) and exit");
ABSL_FLAG(bool, reads_need_token, false,
          "with --tokens: read calls also need a credential with the read scope");
ABSL_FLAG(bool, verify, false,
          "open the database, recompute every release's checksum from its concepts, print the "
          "result and exit (0: all match; 1: not); e.g. on a restored backup");
ABSL_FLAG(int, view_cache_mb, 256,
          "megabytes of published releases kept in memory for lookups and search, least "
          "recently used dropped first (about 40 MB for an ICD-10-CM release, and its search "
          "tables about 10 MB more once searched); 0 answers everything from the database");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT of the plain-HTTP endpoint with Prometheus metrics (/metrics) and a health "
          "check (/healthz), e.g. 0.0.0.0:9464; empty: none");
ABSL_FLAG(std::string, access_log, "",
          "write one JSON line per call (method, caller, peer, status, latency) to this file, "
          "or to standard error with '-'; empty: no access log");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext gRPC port that serves only grpc.health.v1.Health (the same "
          "statuses as the main port), for probes that cannot speak TLS, e.g. Kubernetes gRPC "
          "probes; empty: none");
ABSL_FLAG(bool, check_flags, false,
          "check the flags (names, values, combinations) and exit: 0 when they are valid; "
          "opens no database, file or port");
ABSL_FLAG(int, max_streams, 256,
          "most streams (WatchReleases, ExportRelease, DiffReleases, ValidateClaimStream, "
          "UploadConcepts) open at once; more are refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, follow, "",
          "run as a read replica of the primary at host:port: mirror its releases, refuse admin "
          "calls; health service codebook.v1.Replica is SERVING while in sync");

namespace {

constexpr char kServerVersion[] = "codebookd 0.1.0";

// The transport security the flags ask for: TLS (mutual when --tls_client_ca is given) or, only
// when --plaintext says so, none.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromFlags() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert), key = absl::GetFlag(FLAGS_tls_key),
                    client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  const bool tls = !cert.empty() || !key.empty() || !client_ca.empty();
  if (absl::GetFlag(FLAGS_plaintext)) {
    if (tls) return absl::InvalidArgumentError("--plaintext cannot go with --tls_* flags");
    return grpc::InsecureServerCredentials();
  }
  if (!tls) {
    return absl::InvalidArgumentError(
        "give --tls_cert and --tls_key to serve over TLS (and --tls_client_ca to require client "
        "certificates), or --plaintext to serve without encryption");
  }
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls_cert and --tls_key");
  }
  grpc::SslServerCredentialsOptions options(
      client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                        : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert_pem = codebook::ReadWholeFile(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = codebook::ReadWholeFile(key);
  if (!key_pem.ok()) return key_pem.status();
  options.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  if (!client_ca.empty()) {
    absl::StatusOr<std::string> ca_pem = codebook::ReadWholeFile(client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    options.pem_root_certs = *ca_pem;
  }
  return grpc::SslServerCredentials(options);
}

// Every method the server serves, as "/package.Service/Method", for the call metrics.
std::vector<std::string> ServedMethods() {
  std::vector<std::string> methods;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service : {"codebook.v1.Terminology", "codebook.v1.ReleaseAdmin"}) {
    const google::protobuf::ServiceDescriptor* d = pool->FindServiceByName(service);
    for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", service, "/", d->method(i)->name()));
    }
  }
  for (const char* m : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    methods.push_back(m);
  }
  return methods;
}

// Gauges read from the catalog when scraped: releases by state and the concepts of the newest
// published release, per code system.
void AppendStoreGauges(const codebook::storage::Store& store, std::string* out) {
  using codebook::service::AppendGauge;
  using codebook::storage::ReleaseState;
  std::vector<std::pair<std::string, double>> releases, concepts, active;
  auto catalog = store.catalog();
  for (const codebook::service::CodeSystemInfo* system : codebook::service::AllSystems(*catalog)) {
    const codebook::service::CodeSystemInfo& info = *system;
    int by_state[4] = {0, 0, 0, 0};
    const codebook::storage::ReleaseRecord* newest = nullptr;
    for (const auto& r : catalog->Releases(info.id)) {
      ++by_state[static_cast<int>(r.state) & 3];
      if (r.state == ReleaseState::kPublished && (newest == nullptr || r.sequence > newest->sequence)) {
        newest = &r;
      }
    }
    for (auto [state, name] : {std::pair{ReleaseState::kStaged, "staged"},
                               {ReleaseState::kPublished, "published"},
                               {ReleaseState::kRetracted, "retracted"}}) {
      releases.emplace_back(absl::StrCat("system=\"", info.id, "\",state=\"", name, "\""),
                            by_state[static_cast<int>(state) & 3]);
    }
    const std::string label = absl::StrCat("system=\"", info.id, "\"");
    concepts.emplace_back(label, newest ? newest->counts.total : 0);
    active.emplace_back(label, newest ? newest->counts.total_active : 0);
  }
  AppendGauge(out, "codebook_releases", "Releases of each code system, by state.", releases);
  AppendGauge(out, "codebook_concepts",
              "Concepts (active and deleted) in the newest published release of each system.",
              concepts);
  AppendGauge(out, "codebook_concepts_active",
              "Active concepts in the newest published release of each system.", active);
  auto [views, queued] = store.ViewCounts();
  AppendGauge(out, "codebook_release_views",
              "Published releases held in memory as views (held), and view builds queued.",
              {{"state=\"held\"", views}, {"state=\"queued\"", queued}});
  AppendGauge(out, "codebook_release_view_bytes",
              "What the release views held take in memory (their search tables aside); "
              "--view_cache_mb bounds it.",
              {{"", static_cast<double>(store.view_bytes())}});
  codebook::service::AppendCounter(
      out, "codebook_release_view_build_failures_total",
      "Release views whose build failed (the store's log says why); that release's reads go to "
      "RocksDB, which answers them or reports the same error.",
      {{"", static_cast<double>(store.view_build_failures())}});
  if (auto f = store.Footprint(); f.ok()) {
    AppendGauge(out, "codebook_store_bytes",
                "What the database takes, as RocksDB reports it: live_data (what a full "
                "compaction keeps), live_sst (SST files of the current version), sst (all SST "
                "files), wal (write-ahead log files alive), memtables, table_readers (indexes and "
                "filters of open files), block_cache.",
                {{"kind=\"live_data\"", f->live_data_bytes},
                 {"kind=\"live_sst\"", f->live_sst_bytes},
                 {"kind=\"sst\"", f->sst_bytes},
                 {"kind=\"wal\"", f->wal_bytes},
                 {"kind=\"memtables\"", f->memtable_bytes},
                 {"kind=\"table_readers\"", f->table_readers_bytes},
                 {"kind=\"block_cache\"", f->block_cache_bytes}});
    AppendGauge(out, "codebook_store_sst_files", "SST files of the database's current version.",
                {{"", f->sst_files}});
    AppendGauge(out, "codebook_store_background_jobs",
                "Flushes and compactions running, and column families whose compaction is due.",
                {{"", f->background_jobs}});
  }
}

// Gauges of a read replica: whether it is in sync, releases behind per system, and seconds
// since it was last in sync.
void AppendReplicaGauges(const codebook::replica::Follower& follower, std::string* out) {
  using codebook::service::AppendGauge;
  codebook::replica::Follower::Lag lag = follower.lag();
  std::vector<std::pair<std::string, double>> behind;
  for (const auto& [system, n] : lag.releases_behind) {
    behind.emplace_back(absl::StrCat("system=\"", system, "\""), n);
  }
  const bool in_sync = follower.InSync();
  AppendGauge(out, "codebook_replica_in_sync", "1 when this replica has every release of its primary.",
              {{"", in_sync ? 1 : 0}});
  AppendGauge(out, "codebook_replica_releases_behind",
              "Releases of the primary not yet here, per system (-1: primary unreachable).", behind);
  double seconds = in_sync ? 0
                   : lag.last_in_sync == absl::InfinitePast()
                       ? -1
                       : absl::ToDoubleSeconds(absl::Now() - lag.last_in_sync);
  AppendGauge(out, "codebook_replica_lag_seconds",
              "Seconds since this replica was last in sync (0 in sync, -1 never yet).",
              {{"", seconds}});
}

int HashTokenAndExit() {
  std::string token;
  std::getline(std::cin, token);
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.size() < 16) {
    std::cerr << "codebookd: a token needs at least 16 characters\n";
    return 2;
  }
  std::cout << codebook::service::HashToken(token) << "  read  CALLER\n";
  return 0;
}

// --check_flags: what can be checked without opening anything.
int CheckFlagsAndExit() {
  std::vector<std::string> problems;
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"--listen", absl::GetFlag(FLAGS_listen)},
        {"--metrics_listen", absl::GetFlag(FLAGS_metrics_listen)},
        {"--health_listen", absl::GetFlag(FLAGS_health_listen)}}) {
    if (!value.empty() && !codebook::service::SplitHostPort(value).ok()) {
      problems.push_back(absl::StrCat(name, "=", value, " is not HOST:PORT"));
    }
  }
  if (absl::GetFlag(FLAGS_listen).empty()) problems.push_back("--listen is empty");
  const bool tls = !absl::GetFlag(FLAGS_tls_cert).empty() || !absl::GetFlag(FLAGS_tls_key).empty();
  if (absl::GetFlag(FLAGS_plaintext) == tls) {
    problems.push_back(tls ? "--plaintext cannot go with --tls_* flags"
                           : "give --tls_cert and --tls_key, or --plaintext");
  }
  if (tls && (absl::GetFlag(FLAGS_tls_cert).empty() || absl::GetFlag(FLAGS_tls_key).empty())) {
    problems.push_back("TLS needs both --tls_cert and --tls_key");
  }
  if (absl::GetFlag(FLAGS_reads_need_token) && absl::GetFlag(FLAGS_tokens).empty()) {
    problems.push_back("--reads_need_token needs --tokens");
  }
  if (absl::GetFlag(FLAGS_follow).empty() &&
      (!absl::GetFlag(FLAGS_follow_tls_ca).empty() || !absl::GetFlag(FLAGS_follow_tls_cert).empty() ||
       !absl::GetFlag(FLAGS_follow_token_file).empty())) {
    problems.push_back("--follow_tls_* and --follow_token_file need --follow");
  }
  if (absl::GetFlag(FLAGS_max_streams) < 1) problems.push_back("--max_streams must be at least 1");
  if (absl::GetFlag(FLAGS_max_message_mb) < 1) problems.push_back("--max_message_mb must be at least 1");
  for (const std::string& p : problems) std::cerr << "codebookd: " << p << "\n";
  if (!problems.empty()) return 2;
  std::cout << "codebookd: flags ok\n";
  return 0;
}

int Run() {
  if (absl::GetFlag(FLAGS_hash_token)) return HashTokenAndExit();
  if (absl::GetFlag(FLAGS_check_flags)) return CheckFlagsAndExit();
  // Block the stop signals in every thread gRPC and RocksDB start; the main thread waits for
  // them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string db_path = absl::GetFlag(FLAGS_db);
  codebook::storage::StoreOptions store_options;
  store_options.view_cache_bytes =
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_view_cache_mb))) << 20;
  auto store = codebook::storage::Store::Open(db_path, store_options);
  if (!store.ok()) {
    std::cerr << "codebookd: cannot open database: " << store.status().message() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_verify)) {
    auto verified = (*store)->VerifyChecksums();
    if (!verified.ok()) {
      std::cerr << "codebookd: " << db_path << ": " << verified.status().message() << "\n";
      return 1;
    }
    for (const auto& r : *verified) {
      std::cout << r.system << " " << r.version << " " << r.checksum << " ok\n";
    }
    std::cout << verified->size() << " releases in " << db_path << ", every checksum matches\n";
    return 0;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFromFlags();
  if (!credentials.ok()) {
    std::cerr << "codebookd: " << credentials.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<grpc::ChannelCredentials> follow_credentials;
  if (!absl::GetFlag(FLAGS_follow_tls_ca).empty() || !absl::GetFlag(FLAGS_follow_tls_cert).empty()) {
    auto c = codebook::TlsChannelCredentials(absl::GetFlag(FLAGS_follow_tls_ca),
                                             absl::GetFlag(FLAGS_follow_tls_cert),
                                             absl::GetFlag(FLAGS_follow_tls_key));
    if (!c.ok()) {
      std::cerr << "codebookd: --follow_tls_*: " << c.status().message() << "\n";
      return 2;
    }
    follow_credentials = *std::move(c);
  }
  std::unique_ptr<codebook::service::Authorizer> auth;
  if (!absl::GetFlag(FLAGS_tokens).empty()) {
    auto loaded = codebook::service::Authorizer::Load(absl::GetFlag(FLAGS_tokens),
                                                      absl::GetFlag(FLAGS_reads_need_token));
    if (!loaded.ok()) {
      std::cerr << "codebookd: " << loaded.status().message() << "\n";
      return 2;
    }
    auth = *std::move(loaded);
  } else if (absl::GetFlag(FLAGS_reads_need_token)) {
    std::cerr << "codebookd: --reads_need_token needs --tokens\n";
    return 2;
  }
  codebook::service::Clock clock = [] { return absl::Now(); };
  codebook::service::TerminologyImpl terminology(store->get(), clock, kServerVersion);
  codebook::service::ReleaseAdminImpl admin(store->get(), clock);
  codebook::service::StreamLimit streams(std::max(1, absl::GetFlag(FLAGS_max_streams)));
  codebook::service::TerminologyHandler terminology_handler(&terminology, auth.get(), &streams);
  const std::string primary = absl::GetFlag(FLAGS_follow);
  std::string follow_token;
  if (!absl::GetFlag(FLAGS_follow_token_file).empty()) {
    absl::StatusOr<std::string> token = codebook::ReadWholeFile(absl::GetFlag(FLAGS_follow_token_file));
    if (!token.ok()) {
      std::cerr << "codebookd: --follow_token_file: " << token.status().message() << "\n";
      return 2;
    }
    follow_token = std::string(absl::StripAsciiWhitespace(token->substr(0, token->find('\n'))));
    if (follow_token.empty()) {
      std::cerr << "codebookd: --follow_token_file: " << absl::GetFlag(FLAGS_follow_token_file)
                << " has no token on its first line\n";
      return 2;
    }
  }
  if (!primary.empty()) {
    admin.SetReadOnly("this server is a read replica of " + primary +
                      "; send admin calls to the primary");
  }
  codebook::service::ReleaseAdminHandler admin_handler(&admin, auth.get(), &streams);
  // Publishes and retractions wake the open WatchReleases streams.
  (*store)->SetEventListener(
      [&terminology_handler](const std::string& system) {
        terminology_handler.NotifyReleaseEvent(system);
      });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), *credentials, &port);
  const int max_bytes = absl::GetFlag(FLAGS_max_message_mb) << 20;
  builder.SetMaxReceiveMessageSize(max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  // Batch answers run to hundreds of KB: larger HTTP/2 frames and windows move them in fewer
  // pieces and without waiting for window updates.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4 << 20);
  builder.RegisterService(&terminology_handler);
  builder.RegisterService(&admin_handler);
  // Every call is counted and, with --access_log, logged.
  codebook::service::CallMetrics metrics(ServedMethods());
  std::unique_ptr<codebook::service::AccessLog> access_log;
  if (!absl::GetFlag(FLAGS_access_log).empty()) {
    auto opened = codebook::service::AccessLog::Open(absl::GetFlag(FLAGS_access_log));
    if (!opened.ok()) {
      std::cerr << "codebookd: " << opened.status().message() << "\n";
      return 2;
    }
    access_log = *std::move(opened);
  }
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> observers;
    const codebook::service::Authorizer* authorizer = auth.get();
    observers.push_back(std::make_unique<codebook::service::ObservingInterceptorFactory>(
        &metrics, access_log.get(), [authorizer](const grpc::ServerContextBase& ctx) {
          return codebook::service::CallerName(authorizer, ctx);
        }));
    builder.experimental().SetInterceptorCreators(std::move(observers));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "codebookd: cannot listen on " << absl::GetFlag(FLAGS_listen) << "\n";
    return 1;
  }
  // With --health_listen, a second server on a plaintext port with nothing but the health
  // service; every status is set on both.
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!absl::GetFlag(FLAGS_health_listen).empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(absl::GetFlag(FLAGS_health_listen),
                                    grpc::InsecureServerCredentials(), &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      std::cerr << "codebookd: cannot listen on --health_listen=" << absl::GetFlag(FLAGS_health_listen)
                << "\n";
      server->Shutdown();
      return 1;
    }
    std::cerr << "codebookd: health checks (plaintext) on port " << health_port << std::endl;
  }
  grpc::HealthCheckServiceInterface* main_health = server->GetHealthCheckService();
  grpc::HealthCheckServiceInterface* probe_health =
      health_server ? health_server->GetHealthCheckService() : nullptr;
  auto set_health = [main_health, probe_health](const std::string& service, bool serving) {
    main_health->SetServingStatus(service, serving);
    if (probe_health != nullptr) probe_health->SetServingStatus(service, serving);
  };
  set_health("codebook.v1.Terminology", true);
  set_health("codebook.v1.ReleaseAdmin", true);
  // The follower's own admin writes the copies; the one served to callers stays read-only.
  // Declared first: it outlives the follower.
  codebook::service::ReleaseAdminImpl follower_admin(store->get(), clock);
  std::unique_ptr<codebook::replica::Follower> follower;
  if (!primary.empty()) {
    set_health("codebook.v1.Replica", false);
    follower = std::make_unique<codebook::replica::Follower>(
        primary, &terminology, &follower_admin, [set_health, primary](bool in_sync) {
          set_health("codebook.v1.Replica", in_sync);
          std::cerr << "codebookd: replica of " << primary << " is "
                    << (in_sync ? "in sync" : "catching up") << std::endl;
        },
        follow_credentials, follow_token);
    follower->Start();
  }
  metrics.AddSource([&store](std::string* out) { AppendStoreGauges(**store, out); });
  // Imports free hundreds of megabytes on many threads: hand them back once the work is over.
  codebook::storage::Store* store_ptr = store->get();
  codebook::service::MemoryReleaser memory_releaser(
      [store_ptr] { return store_ptr->work_generation(); }, absl::Seconds(1));
  if (follower) {
    codebook::replica::Follower* f = follower.get();
    metrics.AddSource([f](std::string* out) { AppendReplicaGauges(*f, out); });
  }
  std::atomic<bool> serving{true};
  codebook::service::HttpEndpoint http([&metrics] { return metrics.Render(); },
                                       [&serving] { return serving.load(); });
  int metrics_port = 0;
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    absl::StatusOr<int> bound = http.Start(absl::GetFlag(FLAGS_metrics_listen));
    if (!bound.ok()) {
      std::cerr << "codebookd: --metrics_listen: " << bound.status().message() << "\n";
      server->Shutdown();
      return 2;
    }
    metrics_port = *bound;
  }

  int releases = 0;
  auto catalog = (*store)->catalog();
  for (const codebook::service::CodeSystemInfo* s : codebook::service::AllSystems(*catalog)) {
    releases += static_cast<int>(catalog->Releases(s->id).size());
  }
  std::string listen = absl::GetFlag(FLAGS_listen);
  std::string host = listen.substr(0, listen.rfind(':'));
  std::cerr << "codebookd: serving on " << host << ":" << port << ", database " << db_path << " ("
            << releases << " releases)" << std::endl;
  if (metrics_port != 0) {
    std::cerr << "codebookd: metrics on http://" << absl::GetFlag(FLAGS_metrics_listen).substr(
                     0, absl::GetFlag(FLAGS_metrics_listen).rfind(':'))
              << ":" << metrics_port << "/metrics" << std::endl;
  }
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    // One port per line: gRPC, metrics (0: none), health (0: none).
    std::string tmp = absl::GetFlag(FLAGS_port_file) + ".tmp";
    std::ofstream(tmp) << port << "\n" << metrics_port << "\n" << health_port << "\n";
    std::rename(tmp.c_str(), absl::GetFlag(FLAGS_port_file).c_str());
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    if (!auth) {
      std::cerr << "codebookd: SIGHUP: no tokens file to reload" << std::endl;
      continue;
    }
    absl::Status reloaded = auth->Reload();
    if (reloaded.ok()) {
      std::cerr << "codebookd: SIGHUP: reloaded " << absl::GetFlag(FLAGS_tokens) << " ("
                << auth->size() << " credentials)" << std::endl;
    } else {
      std::cerr << "codebookd: SIGHUP: kept the previous tokens: " << reloaded.message()
                << std::endl;
    }
  }
  std::cerr << "codebookd: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << " received, shutting down" << std::endl;
  serving = false;
  if (follower) follower->Stop();
  main_health->Shutdown();
  if (probe_health != nullptr) probe_health->Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  if (health_server) {
    health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    health_server->Wait();
  }
  http.Stop();
  (*store)->SetEventListener(nullptr);
  store->reset();
  std::cerr << "codebookd: stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  codebook::service::SetServerMallocPolicy();
  absl::SetProgramUsageMessage(
      "Codebook terminology server.\n\n"
      "  codebookd --listen=127.0.0.1:50051 --db=var/codebook-db\n\n"
      "Serves the codebook.v1.Terminology and codebook.v1.ReleaseAdmin gRPC services, the\n"
      "standard grpc.health.v1.Health service and server reflection. Stops on SIGTERM/SIGINT.");
  absl::ParseCommandLine(argc, argv);
  // absl::Mutex (used by gRPC and by us) checks lock order on every acquisition unless told not
  // to: about a tenth of the server's CPU under load, for a debugging aid.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Run();
}
