#include "service/auth.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace codebook::service {

std::string HashToken(absl::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) absl::StrAppendFormat(&hex, "%02x", md[i]);
  return hex;
}

absl::StatusOr<std::shared_ptr<const Authorizer::Table>> Authorizer::Read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the tokens file"));
  auto table = std::make_shared<Table>();
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string body(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (body.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(body, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": ", why));
    };
    if (f.size() < 2) return error("expected: credential scopes [caller]");
    std::string key;
    if (absl::StartsWith(f[0], "cert:") && f[0].size() > 5) {
      key = f[0];
    } else if (f[0].size() == 64 &&
               f[0].find_first_not_of("0123456789abcdef") == std::string::npos) {
      key = "sha256:" + f[0];
    } else {
      return error("a credential is the SHA-256 of a token (64 lower-case hex digits) or "
                   "cert:COMMON_NAME");
    }
    Caller caller;
    caller.name = f.size() > 2 ? f[2] : f[0].substr(0, 12);
    for (absl::string_view scope : absl::StrSplit(f[1], ',', absl::SkipEmpty())) {
      caller.scopes.emplace(scope);
    }
    if (caller.scopes.count("admin")) caller.scopes.insert("read");
    if (!table->emplace(key, std::move(caller)).second) return error("credential given twice");
  }
  return std::shared_ptr<const Table>(std::move(table));
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Load(std::string path, bool reads) {
  auto table = Read(path);
  if (!table.ok()) return table.status();
  std::unique_ptr<Authorizer> a(new Authorizer(std::move(path), reads));
  a->table_ = *std::move(table);
  return a;
}

absl::Status Authorizer::Reload() {
  auto table = Read(path_);
  if (!table.ok()) return table.status();
  absl::MutexLock l(&mu_);
  table_ = *std::move(table);
  return absl::OkStatus();
}

std::shared_ptr<const Authorizer::Table> Authorizer::Snapshot() const {
  absl::MutexLock l(&mu_);
  return table_;
}

size_t Authorizer::size() const { return Snapshot()->size(); }

const Authorizer::Caller* Authorizer::Find(const Table& table, absl::string_view authorization,
                                           absl::string_view cert_cn, absl::Status* status) const {
  *status = absl::OkStatus();
  if (!authorization.empty()) {
    absl::string_view token = authorization;
    if (!absl::ConsumePrefix(&token, "Bearer ") || token.empty()) {
      *status = absl::UnauthenticatedError("the authorization header must be \"Bearer <token>\"");
      return nullptr;
    }
    auto it = table.find("sha256:" + HashToken(token));
    if (it == table.end()) {
      *status = absl::UnauthenticatedError("unknown token");
      return nullptr;
    }
    return &it->second;
  }
  if (!cert_cn.empty()) {
    auto it = table.find(absl::StrCat("cert:", cert_cn));
    if (it != table.end()) return &it->second;
  }
  return nullptr;
}

bool Authorizer::HasScope(absl::string_view authorization, absl::string_view cert_cn,
                          absl::string_view scope) const {
  std::shared_ptr<const Table> table = Snapshot();
  absl::Status status;
  const Caller* found = Find(*table, authorization, cert_cn, &status);
  return found != nullptr && found->scopes.count(std::string(scope)) > 0;
}

std::string Authorizer::NameOf(absl::string_view authorization,
                               absl::string_view cert_cn) const {
  std::shared_ptr<const Table> table = Snapshot();
  absl::Status status;
  const Caller* found = Find(*table, authorization, cert_cn, &status);
  return found == nullptr ? "anonymous" : found->name;
}

absl::Status Authorizer::Allow(absl::string_view authorization, absl::string_view cert_cn,
                               Scope scope, std::string* caller) const {
  caller->clear();
  if (scope == Scope::kRead && !reads_) return absl::OkStatus();
  std::shared_ptr<const Table> table = Snapshot();
  absl::Status status;
  const Caller* found = Find(*table, authorization, cert_cn, &status);
  if (!status.ok()) return status;
  const char* needed = scope == Scope::kAdmin ? "admin" : "read";
  if (found == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat(
        scope == Scope::kAdmin ? "admin calls" : "reads on this server",
        " need a bearer token or a client certificate with the ", needed, " scope"));
  }
  *caller = found->name;
  if (!found->scopes.count(needed)) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", found->name, " has no ", needed, " scope"));
  }
  return absl::OkStatus();
}

}  // namespace codebook::service
