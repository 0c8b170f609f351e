// codebookd: the Codebook server. Serves every release of every code system from one RocksDB
// database over gRPC (Terminology and ReleaseAdmin services, the standard health service and
// server reflection) and, with --fhir_listen, as a FHIR R4 terminology service over HTTP. Turns
// its flags into server::Options (server/server.h); stops gracefully on SIGTERM or SIGINT
// (in-flight calls get up to 5 s) and reloads the tokens file on SIGHUP.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "server/server.h"
#include "service/auth.h"
#include "service/memory_releaser.h"
#include "storage/store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "address to serve on, host:port (port 0 picks a free port)");
ABSL_FLAG(std::string, db, "var/codebook-db", "folder of the RocksDB database (created if absent)");
ABSL_FLAG(std::string, port_file, "",
          "if set, write the ports actually bound to this file once serving, one per line: "
          "gRPC, metrics, health, FHIR (0 when not served); for tests and scripts");
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
ABSL_FLAG(std::string, fhir_listen, "",
          "HOST:PORT of the FHIR R4 terminology service over HTTP (HTTPS with --tls_cert; the same "
          "tokens and client certificates as the gRPC port), under /fhir, e.g. "
          "127.0.0.1:8080; empty: none");
ABSL_FLAG(int, fhir_max_body_kb, 8192, "largest FHIR request body, in KiB (larger: 413)");
ABSL_FLAG(std::string, follow, "",
          "run as a read replica of the primary at host:port: mirror its releases, refuse admin "
          "calls; health service codebook.v1.Replica is SERVING while in sync");

namespace {

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

// The options the flags give. With `read_files`, reads --follow_token_file (INVALID_ARGUMENT
// when it cannot be read or has no token); without, opens nothing.
absl::StatusOr<codebook::server::Options> OptionsFromFlags(bool read_files) {
  codebook::server::Options o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.db_path = absl::GetFlag(FLAGS_db);
  o.view_cache_bytes = static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_view_cache_mb))) << 20;
  o.plaintext = absl::GetFlag(FLAGS_plaintext);
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  o.tokens_file = absl::GetFlag(FLAGS_tokens);
  o.reads_need_token = absl::GetFlag(FLAGS_reads_need_token);
  o.health_listen = absl::GetFlag(FLAGS_health_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.fhir_listen = absl::GetFlag(FLAGS_fhir_listen);
  o.fhir_max_body_bytes = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_fhir_max_body_kb)))
                          << 10;
  o.access_log = absl::GetFlag(FLAGS_access_log);
  o.max_streams = absl::GetFlag(FLAGS_max_streams);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_mb) << 20;
  o.follow = absl::GetFlag(FLAGS_follow);
  o.follow_tls_ca = absl::GetFlag(FLAGS_follow_tls_ca);
  o.follow_tls_cert = absl::GetFlag(FLAGS_follow_tls_cert);
  o.follow_tls_key = absl::GetFlag(FLAGS_follow_tls_key);
  const std::string token_file = absl::GetFlag(FLAGS_follow_token_file);
  if (!token_file.empty() && !read_files) o.follow_token = "(in " + token_file + ")";
  if (!token_file.empty() && read_files) {
    absl::StatusOr<std::string> token = codebook::ReadWholeFile(token_file);
    if (!token.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--follow_token_file: ", token.status().message()));
    }
    o.follow_token = std::string(absl::StripAsciiWhitespace(token->substr(0, token->find('\n'))));
    if (o.follow_token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--follow_token_file: ", token_file, " has no token on its first line"));
    }
  }
  return o;
}

// --check_flags: what can be checked without opening anything.
int CheckFlagsAndExit() {
  codebook::server::Options o = OptionsFromFlags(/*read_files=*/false).value();
  std::vector<std::string> problems = codebook::server::CheckOptions(o);
  for (const std::string& p : problems) std::cerr << "codebookd: " << p << "\n";
  if (!problems.empty()) return 2;
  std::cout << "codebookd: flags ok\n";
  return 0;
}

int VerifyAndExit(const std::string& db_path) {
  auto store = codebook::storage::Store::Open(db_path, codebook::storage::StoreOptions());
  if (!store.ok()) {
    std::cerr << "codebookd: cannot open database: " << store.status().message() << "\n";
    return 1;
  }
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

int Run() {
  if (absl::GetFlag(FLAGS_hash_token)) return HashTokenAndExit();
  if (absl::GetFlag(FLAGS_check_flags)) return CheckFlagsAndExit();
  if (absl::GetFlag(FLAGS_verify)) return VerifyAndExit(absl::GetFlag(FLAGS_db));
  // Block the stop signals in every thread gRPC, httplib and RocksDB start; the main thread
  // waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that goes away mid-answer must not end the server (OpenSSL writes with write(2)).
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<codebook::server::Options> options = OptionsFromFlags(/*read_files=*/true);
  if (!options.ok()) {
    std::cerr << "codebookd: " << options.status().message() << "\n";
    return 2;
  }
  auto server = codebook::server::Server::BuildAndStart(*options);
  if (!server.ok()) {
    std::cerr << "codebookd: " << server.status().message() << "\n";
    // 1: the database or a port could not be had; 2: the flags or a file they name are wrong.
    return server.status().code() == absl::StatusCode::kUnavailable ? 1 : 2;
  }
  codebook::server::Server::Ports ports = (*server)->ports();
  const std::string listen = options->listen;
  std::cerr << "codebookd: serving on " << listen.substr(0, listen.rfind(':')) << ":" << ports.grpc
            << ", database " << options->db_path << " (" << (*server)->release_count()
            << " releases)" << std::endl;
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    // One port per line: gRPC, metrics, health, FHIR (0: none).
    std::string tmp = absl::GetFlag(FLAGS_port_file) + ".tmp";
    std::ofstream(tmp) << ports.grpc << "\n"
                       << ports.metrics << "\n"
                       << ports.health << "\n"
                       << ports.fhir << "\n";
    std::rename(tmp.c_str(), absl::GetFlag(FLAGS_port_file).c_str());
  }
  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    absl::Status reloaded = (*server)->ReloadTokens();
    if (absl::IsFailedPrecondition(reloaded)) {
      std::cerr << "codebookd: SIGHUP: no tokens file to reload" << std::endl;
    } else if (reloaded.ok()) {
      std::cerr << "codebookd: SIGHUP: reloaded " << options->tokens_file << " ("
                << (*server)->token_count() << " credentials)" << std::endl;
    } else {
      std::cerr << "codebookd: SIGHUP: kept the previous tokens: " << reloaded.message()
                << std::endl;
    }
  }
  std::cerr << "codebookd: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << " received, shutting down" << std::endl;
  (*server)->Shutdown();
  server->reset();
  std::cerr << "codebookd: stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  codebook::service::SetServerMallocPolicy();
  absl::SetProgramUsageMessage(
      "Codebook terminology server.\n\n"
      "  codebookd --listen=127.0.0.1:50051 --db=var/codebook-db [--fhir_listen=127.0.0.1:8080]\n\n"
      "Serves the codebook.v1.Terminology and codebook.v1.ReleaseAdmin gRPC services, the\n"
      "standard grpc.health.v1.Health service and server reflection, and with --fhir_listen\n"
      "FHIR R4 terminology operations under /fhir. Stops on SIGTERM/SIGINT.");
  absl::ParseCommandLine(argc, argv);
  // absl::Mutex (used by gRPC and by us) checks lock order on every acquisition unless told not
  // to: about a tenth of the server's CPU under load, for a debugging aid.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Run();
}
