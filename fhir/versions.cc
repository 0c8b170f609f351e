// Code system versions in FHIR requests: wildcards ("1.0.x"), the value set's pinned versions,
// and the system-version, force-system-version and check-system-version parameters.
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fhir/fhir_service.h"

namespace codebook::fhir {

bool VersionMatches(const std::string& pattern, const std::string& version) {
  if (pattern == version) return true;
  std::vector<std::string> p = absl::StrSplit(pattern, '.');
  std::vector<std::string> v = absl::StrSplit(version, '.');
  if (p.size() != v.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != "x" && p[i] != "X" && p[i] != "*" && p[i] != v[i]) return false;
  }
  return true;
}

bool VersionBefore(const std::string& a, const std::string& b) {
  std::vector<std::string> x = absl::StrSplit(a, '.');
  std::vector<std::string> y = absl::StrSplit(b, '.');
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (x[i] == y[i]) continue;
    int64_t m = 0, n = 0;
    if (absl::SimpleAtoi(x[i], &m) && absl::SimpleAtoi(y[i], &n)) return m < n;
    return x[i] < y[i];
  }
  return x.size() < y.size();
}

std::vector<std::string> FhirService::VersionsOf(const std::string& system_id) const {
  v1::ListReleasesRequest req;
  req.set_system(system_id);
  v1::ListReleasesResponse resp;
  std::vector<std::string> out;
  if (!terminology_->ListReleases(req, &resp).ok()) return out;
  for (const v1::Release& r : resp.releases()) {
    if (r.state() == v1::RELEASE_STATE_PUBLISHED) out.push_back(r.version());
  }
  return out;
}

std::string FhirService::VersionListText(const std::string& system_id) const {
  std::vector<std::string> versions = VersionsOf(system_id);
  std::string text;
  for (size_t i = 0; i < versions.size(); ++i) {
    absl::StrAppend(&text, i == 0 ? "" : i + 1 == versions.size() ? " or " : ", ", versions[i]);
  }
  return text;
}

std::string FhirService::ResolveVersion(const std::string& system_id,
                                        const std::string& pattern) const {
  std::vector<std::string> versions = VersionsOf(system_id);
  std::string found;
  for (const std::string& v : versions) {
    if (v == pattern) return v;
    if (VersionMatches(pattern, v)) found = v;  // the newest published that matches
  }
  return found;
}

std::string FhirService::VersionParam(const Params& params, const std::string& name,
                                      const std::string& system_uri) {
  for (const std::string& canonical : params.Texts(name)) {
    const size_t bar = canonical.find('|');
    if (bar != std::string::npos && canonical.substr(0, bar) == system_uri) {
      return canonical.substr(bar + 1);
    }
  }
  return "";
}

std::string FhirService::PinnedVersion(const v1::ValueSet& vs, const std::string& system_id,
                                       const std::string& system_uri) {
  std::string pinned;
  for (const v1::ValueSetRule& r : vs.includes()) {
    if (r.system() != system_id && r.system() != system_uri) continue;
    if (r.version().empty()) return "";
    if (!pinned.empty() && pinned != r.version()) return "";
    pinned = r.version();
  }
  return pinned;
}

bool FhirService::ApplyVersionParams(const Params& params, v1::ValueSet* vs) const {
  bool defaulted = false;
  for (auto* rules : {vs->mutable_includes(), vs->mutable_excludes()}) {
    for (v1::ValueSetRule& r : *rules) {
      if (r.system().empty()) continue;
      absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
      if (!info.ok()) continue;
      const std::string uri = FhirCanonical((*info)->id, (*info)->uri);
      std::string forced = VersionParam(params, "force-system-version", uri);
      std::string fallback = VersionParam(params, "system-version", uri);
      if (fallback.empty()) fallback = VersionParam(params, "check-system-version", uri);
      std::string pattern = !forced.empty()        ? forced
                            : !r.version().empty() ? r.version()
                                                   : fallback;
      defaulted = defaulted || (forced.empty() && r.version().empty() && !fallback.empty() &&
                                !VersionParam(params, "system-version", uri).empty());
      if (pattern.empty()) continue;
      std::string resolved = ResolveVersion((*info)->id, pattern);
      r.set_version(resolved.empty() ? pattern : resolved);
    }
  }
  return defaulted;
}

}  // namespace codebook::fhir
