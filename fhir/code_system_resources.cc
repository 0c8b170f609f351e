// CodeSystem read and search: one resource per published release (id SYSTEM-VERSION), its
// content not-present (the codes are reached through the operations).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fhir/fhir_service.h"

namespace codebook::fhir {
namespace {

// A FHIR id ([A-Za-z0-9.-]{1,64}) for a release: "ICD10CM-FY2025".
std::string ResourceId(const std::string& system, const std::string& version) {
  std::string id = absl::StrCat(system, "-", version);
  for (char& ch : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') ch = '-';
  }
  return id.substr(0, 64);
}

Json CodeSystemResource(const v1::CodeSystem& system, const v1::Release& release) {
  Json j = {{"resourceType", "CodeSystem"},
            {"id", ResourceId(system.id(), release.version())},
            {"url", FhirCanonical(system.id(), system.uri())},
            {"version", release.version()},
            {"name", system.id()},
            {"title", system.title()},
            {"status", "active"},
            {"date", release.effective_date()},
            {"publisher", system.publisher()},
            {"content", "not-present"},
            {"count", release.counts().total_active()}};
  if (!release.description().empty()) j["description"] = release.description();
  j["identifier"] = Json::array(
      {{{"system", "http://codebook.dev/fhir/release-checksum"}, {"value", release.checksum()}}});
  return j;
}

bool ContainsIgnoreCase(const std::string& text, const std::string& part) {
  return absl::StrContains(absl::AsciiStrToLower(text), absl::AsciiStrToLower(part));
}

}  // namespace

FhirService::Result FhirService::SearchCodeSystems(const Request& request) const {
  std::string url, version, name, id;
  for (const auto& [key, value] : request.query) {
    if (key == "url" || key == "system") {
      url = value;
    } else if (key == "version") {
      version = value;
    } else if (key == "name" || key == "title") {
      name = value;
    } else if (key == "_id") {
      id = value;
    } else if (!absl::StartsWith(key, "_")) {
      return absl::InvalidArgumentError(absl::StrCat("CodeSystem search has no parameter '", key,
                                                     "'; use url, version, name or _id"));
    }
  }
  v1::ListCodeSystemsResponse systems;
  if (absl::Status s = terminology_->ListCodeSystems(v1::ListCodeSystemsRequest(), &systems);
      !s.ok()) {
    return s;
  }
  Json entries = Json::array();
  for (const v1::CodeSystem& system : systems.systems()) {
    if (!url.empty() && system.uri() != url && system.id() != url &&
        FhirCanonical(system.id(), system.uri()) != url) {
      continue;
    }
    if (!name.empty() && !ContainsIgnoreCase(system.id(), name) &&
        !ContainsIgnoreCase(system.title(), name)) {
      continue;
    }
    v1::ListReleasesRequest req;
    req.set_system(system.id());
    v1::ListReleasesResponse releases;
    if (absl::Status s = terminology_->ListReleases(req, &releases); !s.ok()) return s;
    for (const v1::Release& r : releases.releases()) {
      if (r.state() != v1::RELEASE_STATE_PUBLISHED) continue;
      if (!version.empty() && r.version() != version) continue;
      Json resource = CodeSystemResource(system, r);
      if (!id.empty() && resource["id"] != id) continue;
      std::string full_url =
          absl::StrCat(request.base_url, "/CodeSystem/", resource["id"].get<std::string>());
      entries.push_back({{"fullUrl", full_url},
                         {"resource", std::move(resource)},
                         {"search", {{"mode", "match"}}}});
    }
  }
  Json bundle = {{"resourceType", "Bundle"},
                 {"type", "searchset"},
                 {"total", entries.size()},
                 {"entry", std::move(entries)}};
  return Answer{200, std::move(bundle)};
}

FhirService::Result FhirService::ReadCodeSystem(const std::string& id) const {
  v1::ListCodeSystemsResponse systems;
  if (absl::Status s = terminology_->ListCodeSystems(v1::ListCodeSystemsRequest(), &systems);
      !s.ok()) {
    return s;
  }
  for (const v1::CodeSystem& system : systems.systems()) {
    if (!absl::StartsWith(id, system.id() + "-")) continue;
    v1::ListReleasesRequest req;
    req.set_system(system.id());
    v1::ListReleasesResponse releases;
    if (absl::Status s = terminology_->ListReleases(req, &releases); !s.ok()) return s;
    for (const v1::Release& r : releases.releases()) {
      if (r.state() == v1::RELEASE_STATE_PUBLISHED && ResourceId(system.id(), r.version()) == id) {
        return Answer{200, CodeSystemResource(system, r)};
      }
    }
  }
  return absl::NotFoundError(absl::StrCat("CodeSystem/", id, " is not known"));
}

}  // namespace codebook::fhir
