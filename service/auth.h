// Access control: who a caller is, and whether it may make a call.
//
// Callers are known from a tokens file that the server reads at start and again on SIGHUP. Each
// line names one credential, its scopes and the caller's name:
//
//   # sha256 of the bearer token (hex)                              scopes       caller
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  read         claims-app
//   cert:loader.hospital.example                                      read,admin   nightly-loader
//
// A token line holds the SHA-256 of the token, never the token itself (`codebookd --hash_token`
// prints it). A "cert:NAME" line matches a client certificate whose common name is NAME
// (mutual TLS). Scopes: "read", "admin" (import, publish, retract, backup; implies read), and
// any other word for later use (licences). Admin calls always need a credential with the admin
// scope; read calls need one with the read scope only when the server is told so.
//
// Transport-agnostic: the gRPC handlers pass the "authorization" header and the certificate's
// common name. Thread-safe; Reload swaps the table whole.
#ifndef CODEBOOK_SERVICE_AUTH_H_
#define CODEBOOK_SERVICE_AUTH_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace codebook::service {

enum class Scope { kRead, kAdmin };

// SHA-256 of `token`, lower-case hex: what a tokens file holds.
std::string HashToken(absl::string_view token);

class Authorizer {
 public:
  struct Caller {
    std::string name;
    std::set<std::string> scopes;
  };

  // Reads the tokens file; INVALID_ARGUMENT naming "path:line" for a malformed line.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Load(std::string path,
                                                          bool reads_need_credentials);
  // Reads the file again; on error the table in force stays and the error is returned.
  absl::Status Reload();

  // Whether a call needing `scope` may proceed, given the value of its "authorization" header
  // ("Bearer <token>", or empty) and its client certificate's common name (or empty).
  // UNAUTHENTICATED without a credential or with an unknown one; PERMISSION_DENIED when the
  // caller lacks the scope. *caller is set to the caller's name when known.
  absl::Status Allow(absl::string_view authorization, absl::string_view cert_common_name,
                     Scope scope, std::string* caller) const;
  // Whether the caller (as for Allow) holds `scope`; false without a known credential.
  bool HasScope(absl::string_view authorization, absl::string_view cert_common_name,
                absl::string_view scope) const;
  // The caller's name for logs: its tokens-file name, or "anonymous" when the credential is
  // absent or unknown.
  std::string NameOf(absl::string_view authorization, absl::string_view cert_common_name) const;
  size_t size() const;

 private:
  using Table = std::map<std::string, Caller, std::less<>>;  // "sha256:<hex>" or "cert:<cn>"
  Authorizer(std::string path, bool reads) : path_(std::move(path)), reads_(reads) {}
  static absl::StatusOr<std::shared_ptr<const Table>> Read(const std::string& path);
  // The table in force (Reload may replace it meanwhile; this one stays whole).
  std::shared_ptr<const Table> Snapshot() const;
  // The caller a credential names, or nullptr (unknown or none); *status explains a refusal.
  const Caller* Find(const Table& table, absl::string_view authorization,
                     absl::string_view cert_cn, absl::Status* status) const;

  const std::string path_;
  const bool reads_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Table> table_ ABSL_GUARDED_BY(mu_);
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_AUTH_H_
