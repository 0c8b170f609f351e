// The Codebook server as a library: an options struct and BuildAndStart, as tensorflow/serving's
// model server does. One Server object owns the store and every port it serves: the gRPC port
// (Terminology, ReleaseAdmin, health, reflection), an optional plaintext gRPC health port, an
// optional FHIR R4 terminology port over HTTP(S), and an optional plain-HTTP metrics port, plus
// the replica follower when it follows a primary. codebookd turns flags into Options; tests may
// run a Server in-process.
//
// Lifetime: BuildAndStart opens the database and starts every port, or returns the first error
// with nothing left running. Shutdown (also run by the destructor) stops the ports (in-flight
// gRPC calls get up to 5 s), the follower, then closes the database. Thread-safe: ports() and
// ReloadTokens() may be called from any thread while serving.
#ifndef CODEBOOK_SERVER_SERVER_H_
#define CODEBOOK_SERVER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace codebook::storage {
class Store;
}

namespace codebook::server {

struct Options {
  std::string listen = "127.0.0.1:50051";  // gRPC, HOST:PORT (port 0: any free port)
  std::string db_path = "var/codebook-db";
  size_t view_cache_bytes = size_t{256} << 20;

  // Transport security of the gRPC and FHIR ports: plaintext only when asked for.
  bool plaintext = false;
  std::string tls_cert, tls_key;  // PEM files
  std::string tls_client_ca;      // PEM file: when set, clients need a certificate (mutual TLS)

  // Who may call: a tokens file (service/auth.h); empty lets every call through.
  std::string tokens_file;
  bool reads_need_token = false;

  std::string health_listen;   // plaintext gRPC port with only the health service; empty: none
  std::string metrics_listen;  // plain-HTTP /metrics and /healthz; empty: none
  std::string fhir_listen;     // FHIR R4 terminology over HTTP(S), under /fhir; empty: none
  size_t fhir_max_body_bytes = 8 << 20;
  int fhir_threads = 64;  // FHIR connections served at once

  std::string access_log;  // file for one JSON line per call; "-": standard error; empty: none
  int max_streams = 256;
  int max_message_bytes = 64 << 20;

  // Read replica: the primary's HOST:PORT, and how to reach it.
  std::string follow;
  std::string follow_tls_ca, follow_tls_cert, follow_tls_key;  // PEM files
  std::string follow_token;                                    // the bearer token itself

  std::string server_version = "codebookd 0.1.0";
};

// What can be said of `options` without opening anything: one line per problem (empty: none).
std::vector<std::string> CheckOptions(const Options& options);

class Server {
 public:
  struct Ports {
    int grpc = 0, health = 0, metrics = 0, fhir = 0;  // 0: not served
  };

  static absl::StatusOr<std::unique_ptr<Server>> BuildAndStart(const Options& options);
  ~Server();

  Ports ports() const;
  storage::Store* store() const;
  // The releases of every system in the database, for the start-up line.
  int release_count() const;
  // Reads the tokens file again (SIGHUP); FAILED_PRECONDITION without one. On error the tokens
  // in force stay.
  absl::Status ReloadTokens();
  // How many credentials the tokens file holds (0 without one).
  size_t token_count() const;
  void Shutdown();

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace codebook::server

#endif  // CODEBOOK_SERVER_SERVER_H_
