// ValueSet read, search and $expand: stored value sets (with the FHIR resource they were made
// from), FHIR's implicit value sets of a code system (url?fhir_vs, url?fhir_vs=isa/CODE), and a
// value set passed with the request (valueSet, or tx-resource with the url asked for).
#include <algorithm>
#include <cstdlib>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "fhir/fhir_service.h"
#include "importers/importers.h"
#include "service/conversions.h"
#include "service/value_sets.h"
#include "storage/store.h"

namespace codebook::fhir {
namespace {

// Expansions without `count` answer every concept up to this many; more is too costly.
constexpr int kMaxUnpagedExpansion = 10000;
constexpr int kPage = 1000;  // the domain's largest page

std::string Uuid() {
  static thread_local std::mt19937_64 random(std::random_device{}());
  uint64_t a = random(), b = random();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | (b >> 48 & 0x3fff), b & 0xffffffffffffULL);
}

Json RuleJson(const v1::ValueSetRule& rule) {
  Json j = Json::object();
  if (!rule.system().empty()) j["system"] = rule.system();
  if (!rule.version().empty()) j["version"] = rule.version();
  if (!rule.codes().empty()) {
    Json codes = Json::array();
    for (const std::string& c : rule.codes()) codes.push_back({{"code", c}});
    j["concept"] = std::move(codes);
  }
  if (!rule.filters().empty()) {
    Json filters = Json::array();
    for (const v1::ValueSetFilter& f : rule.filters()) {
      filters.push_back({{"property", f.property()}, {"op", f.op()}, {"value", f.value()}});
    }
    j["filter"] = std::move(filters);
  }
  if (!rule.value_sets().empty()) {
    j["valueSet"] =
        Json(std::vector<std::string>(rule.value_sets().begin(), rule.value_sets().end()));
  }
  return j;
}

}  // namespace

Json FhirService::ValueSetResource(const v1::ValueSet& vs) const {
  if (!vs.resource_json().empty()) {
    Json j = Json::parse(vs.resource_json(), nullptr, false);
    if (j.is_object()) return j;
  }
  Json j = {{"resourceType", "ValueSet"}, {"url", vs.url()}};
  if (!vs.version().empty() && vs.version() != "0") j["version"] = vs.version();
  if (!vs.title().empty()) j["title"] = vs.title();
  j["status"] = "active";
  if (!vs.publisher().empty()) j["publisher"] = vs.publisher();
  if (!vs.description().empty()) j["description"] = vs.description();
  Json compose = Json::object();
  for (const auto& [key, rules] :
       {std::pair{"include", &vs.includes()}, std::pair{"exclude", &vs.excludes()}}) {
    if (rules->empty()) continue;
    Json list = Json::array();
    for (const v1::ValueSetRule& r : *rules) {
      v1::ValueSetRule shown = r;
      absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
      if (info.ok()) shown.set_system(FhirCanonical((*info)->id, (*info)->uri));
      list.push_back(RuleJson(shown));
    }
    compose[key] = std::move(list);
  }
  j["compose"] = std::move(compose);
  return j;
}

absl::StatusOr<v1::ValueSet> FhirService::ImplicitValueSet(const std::string& url) const {
  const size_t q = url.find("?fhir_vs");
  absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(url.substr(0, q));
  if (!info.ok()) return info.status();
  std::string rest = url.substr(q + 8);
  v1::ValueSet vs;
  vs.set_url(url);
  vs.set_version("0");
  vs.set_title(
      absl::StrCat((*info)->title, rest.empty() ? ", every concept" : ", " + rest.substr(1)));
  v1::ValueSetRule* rule = vs.add_includes();
  rule->set_system((*info)->id);
  if (rest.empty()) return vs;
  if (absl::StartsWith(rest, "=isa/") && rest.size() > 5) {
    v1::ValueSetFilter* f = rule->add_filters();
    f->set_property("concept");
    f->set_op("is-a");
    f->set_value(rest.substr(5));
    return vs;
  }
  return absl::InvalidArgumentError(absl::StrCat("the implicit value set '", url,
                                                 "' is not one Codebook knows: use ?fhir_vs (every "
                                                 "concept) or ?fhir_vs=isa/CODE"));
}

absl::StatusOr<v1::ValueSet> FhirService::ValueSetOf(const Params& params) const {
  if (const Json* resource = params.Complex("valueSet", "resource")) {
    // A value set passed whole needs no url (a stored one does): it gets a stand-in for the
    // rules, and answers keep the resource as it came.
    Json given = *resource;
    if (!given.contains("url")) given["url"] = "urn:codebook:value-set-in-request";
    absl::StatusOr<importers::FhirValueSet> parsed =
        importers::ParseFhirValueSetJson(given.dump(), "valueSet");
    if (!parsed.ok()) return parsed.status();
    parsed->value_set.set_resource_json(resource->dump());
    return parsed->value_set;
  }
  std::string url = params.Text("url").value_or(params.Text("context").value_or(""));
  if (url.empty()) {
    return absl::InvalidArgumentError("give the value set: url, or a valueSet resource");
  }
  std::string version = params.Text("valueSetVersion").value_or("");
  if (const size_t bar = url.find('|'); bar != std::string::npos) {
    if (version.empty()) version = url.substr(bar + 1);
    url = url.substr(0, bar);
  }
  if (url.find("?fhir_vs") != std::string::npos) return ImplicitValueSet(url);
  // A value set passed with the request (tx-resource) answers for its url.
  for (const Json* resource : params.Complexes("tx-resource", "resource")) {
    if (resource->value("resourceType", "") != "ValueSet" || resource->value("url", "") != url) {
      continue;
    }
    if (!version.empty() && resource->value("version", "") != version) continue;
    absl::StatusOr<importers::FhirValueSet> parsed =
        importers::ParseFhirValueSetJson(resource->dump(), "tx-resource");
    if (!parsed.ok()) return parsed.status();
    return parsed->value_set;
  }
  v1::ListValueSetsRequest req;
  req.set_url(url);
  v1::ListValueSetsResponse list;
  if (absl::Status s = terminology_->ListValueSets(req, &list); !s.ok() && !absl::IsNotFound(s)) {
    return s;
  }
  const v1::ValueSet* found = nullptr;
  for (const v1::ValueSet& vs : list.value_sets()) {
    if (!version.empty() ? vs.version() == version
                         : found == nullptr || !VersionBefore(vs.version(), found->version())) {
      found = &vs;  // the newest when no version is asked for
    }
  }
  if (found == nullptr) {
    return WithMessageId(absl::NotFoundError(absl::StrCat("A definition for the value Set '", url,
                                                          version.empty() ? "" : "|" + version,
                                                          "' could not be found")),
                         "Unable_to_resolve_value_Set_");
  }
  return *found;
}

Json ParsedResource(const v1::ValueSet& vs) {
  if (vs.resource_json().empty()) return Json();
  Json resource = Json::parse(vs.resource_json(), nullptr, false);
  return resource.is_object() ? resource : Json();
}

Params WithExpansionParameters(const Params& params, const Json& resource) {
  Params out = params;
  if (!resource.is_object() || !resource.contains("compose") || !resource["compose"].is_object()) {
    return out;
  }
  for (const Json& ext : resource["compose"].value("extension", Json::array())) {
    const std::string url = ext.value("url", "");
    if (url != "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter" &&
        url != "http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter") {
      continue;
    }
    Json parameter = Json::object();
    for (const Json& part : ext.value("extension", Json::array())) {
      if (!part.is_object()) continue;
      for (const auto& [key, value] : part.items()) {
        if (key == "url" || !absl::StartsWith(key, "value")) continue;
        if (part.value("url", "") == "name") parameter["name"] = value;
        if (part.value("url", "") == "value") parameter[key] = value;
      }
    }
    if (parameter.contains("name") && parameter["name"].is_string() && parameter.size() == 2) {
      out.AddDefault(std::move(parameter));
    }
  }
  return out;
}

absl::Status FhirService::CheckFilters(const v1::ValueSet& vs, bool expanding) const {
  for (const auto* rules : {&vs.includes(), &vs.excludes()}) {
    for (int i = 0; i < rules->size(); ++i) {
      const v1::ValueSetRule& r = (*rules)[i];
      for (int f = 0; f < r.filters_size(); ++f) {
        if (!r.filters(f).value().empty()) continue;
        absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
        const std::string system =
            info.ok() ? FhirCanonical((*info)->id, (*info)->uri) : r.system();
        return WithIssue(
            absl::InvalidArgumentError(absl::StrCat(
                "The system ", system, " filter with property = ", r.filters(f).property(),
                ", op = ", r.filters(f).op(), " has no value")),
            "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE", "invalid", "vs-invalid",
            absl::StrCat("ValueSet",
                         expanding
                             ? absl::StrCat("[", vs.url(),
                                            vs.version().empty() ? "" : "|" + vs.version(), "]")
                             : "",
                         ".compose.", rules == &vs.includes() ? "include[" : "exclude[", i,
                         "].filter[", f, "]", expanding ? ".value" : ""));
      }
    }
  }
  return absl::OkStatus();
}

FhirService::Result FhirService::Expand(const Params& request_params, const Caller& caller) const {
  absl::StatusOr<v1::ValueSet> vs = ValueSetOf(request_params);
  if (!vs.ok()) return vs.status();
  // Parameters the value set's definition sets (compose's valueset-expansion-parameter
  // extensions) apply unless the request gives them.
  const Json given = ParsedResource(*vs);
  const Params params = WithExpansionParameters(request_params, given);
  if (absl::Status s = CheckSupplements(params, &*vs); !s.ok()) return s;
  if (absl::Status s = CheckFilters(*vs, /*expanding=*/true); !s.ok()) return s;
  const bool defaulted = ApplyVersionParams(params, &*vs);
  // A version the definition names (or the request forces) that is not here.
  for (const v1::ValueSetRule& r : vs->includes()) {
    if (r.system().empty() || r.version().empty()) continue;
    absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
    if (!info.ok() || !ResolveVersion((*info)->id, r.version()).empty()) continue;
    return WithIssue(
        absl::NotFoundError(absl::StrCat(
            "A definition for CodeSystem '", FhirCanonical((*info)->id, (*info)->uri),
            "' version '", r.version(), "' could not be found, so the value set cannot be ",
            "expanded. Valid versions: ", VersionListText((*info)->id))),
        "UNKNOWN_CODESYSTEM_VERSION_EXP", "not-found", "not-found");
  }
  v1::ExpandValueSetRequest req;
  *req.mutable_definition() = *vs;
  if (req.definition().version().empty()) req.mutable_definition()->set_version("0");
  req.set_filter(params.Text("filter").value_or(""));
  if (std::optional<std::string> date = params.Text("date")) {
    req.set_date_of_service(date->substr(0, 10));
  }
  absl::StatusOr<bool> active_only = params.Bool("activeOnly", false);
  if (!active_only.ok()) return active_only.status();
  // compose.inactive false in the resource: the definition leaves inactive codes out.
  if (given.is_object() && given.contains("compose") && given["compose"].is_object() &&
      given["compose"].value("inactive", true) == false) {
    *active_only = true;
  }
  req.set_active_only(*active_only);
  absl::StatusOr<bool> designations = params.Bool("includeDesignations", false);
  if (!designations.ok()) return designations.status();
  int offset = 0, count = -1;
  for (auto [name, out] : {std::pair{"offset", &offset}, {"count", &count}}) {
    std::optional<std::string> text = params.Text(name);
    if (!text) continue;
    if (!absl::SimpleAtoi(*text, out) || *out < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "' is '", *text, "', not a whole number"));
    }
  }
  req.set_offset(offset);
  // Pages of the domain's size until `count` (or every concept) is had.
  const int wanted = count < 0 ? kMaxUnpagedExpansion + 1 : count;
  v1::ExpandValueSetResponse all;
  do {
    req.set_page_size(std::clamp(wanted - all.concepts_size(), 1, kPage));
    v1::ExpandValueSetResponse page;
    if (absl::Status s = terminology_->ExpandValueSet(req, &page); !s.ok()) return s;
    if (absl::Status s = service::RefuseLicensedTextMatch(
            req, &page,
            [&](const std::string& id) {
              const std::string scope = terminology_->LicenseScope(id);
              return caller.LacksLicence(auth_, scope) ? scope : std::string();
            });
        !s.ok()) {
      return s;
    }
    if (all.releases().empty()) {
      *all.mutable_releases() = page.releases();
      all.set_total(page.total());
    }
    for (v1::ExpansionEntry& e : *page.mutable_concepts()) {
      if (all.concepts_size() >= wanted) break;  // count=0: the total only
      if (caller.LacksLicence(auth_, terminology_->LicenseScope(e.system()))) {
        service::WithholdText(e.mutable_concept());
      }
      *all.add_concepts() = std::move(e);
    }
    req.set_offset(offset + all.concepts_size());
    if (page.concepts().empty() || wanted == 0) break;
  } while (all.concepts_size() < wanted && offset + all.concepts_size() < all.total());
  if (count < 0 && all.total() - offset > kMaxUnpagedExpansion) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the expansion has ", all.total(), " concepts, more than ", kMaxUnpagedExpansion,
        " in one answer: page it with count and offset, or narrow it with filter"));
  }
  // check-system-version: every release the expansion used must be one the request allows.
  for (const v1::ReleaseRef& r : all.releases()) {
    absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
    if (!info.ok()) continue;
    const std::string uri = FhirCanonical((*info)->id, (*info)->uri);
    const std::string check = VersionParam(params, "check-system-version", uri);
    if (!check.empty() && !VersionMatches(check, r.version())) {
      return WithIssue(absl::InvalidArgumentError(absl::StrCat(
                           "The version '", r.version(), "' is not allowed for system '", uri,
                           "': required to be '", check, "' by a version-check parameter")),
                       "VALUESET_VERSION_CHECK", "exception", "version-error");
    }
  }
  Json resource = ValueSetResource(*vs);
  // The definition stays with the stored value set; an expansion answers with its metadata.
  resource.erase("compose");
  Json expansion = {
      {"identifier", "urn:uuid:" + Uuid()},
      {"timestamp", absl::FormatTime("%Y-%m-%dT%H:%M:%S+00:00", absl::Now(), absl::UTCTimeZone())},
      {"total", all.total()}};
  if (params.Has("offset")) expansion["offset"] = offset;
  Json parameters = Json::array();
  // The request's parameters, echoed as FHIR types them.
  static constexpr std::pair<const char*, const char*> kEchoed[] = {
      {"excludeNested", "valueBoolean"},
      {"activeOnly", "valueBoolean"},
      {"includeDesignations", "valueBoolean"},
      {"filter", "valueString"},
      {"count", "valueInteger"},
      {"offset", "valueInteger"},
      {"date", "valueDateTime"},
      {"displayLanguage", "valueCode"},
      {"designation", "valueString"},
      {"force-system-version", "valueUri"}};
  for (const auto& [name, key] : kEchoed) {
    std::vector<std::string> values = params.Texts(name);
    if (values.empty() && std::string(name) == "displayLanguage" &&
        !caller.request->accept_language.empty()) {
      values.push_back(caller.request->accept_language);
    }
    for (const std::string& v : values) {
      Json value = v;
      if (std::string(key) == "valueBoolean") value = v == "true";
      if (std::string(key) == "valueInteger") value = std::atoi(v.c_str());
      parameters.push_back({{"name", name}, {key, std::move(value)}});
    }
  }
  if (defaulted) {
    for (const std::string& v : params.Texts("system-version")) {
      parameters.push_back({{"name", "system-version"}, {"valueUri", v}});
    }
  }
  for (const v1::ReleaseRef& r : all.releases()) {
    absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
    std::string uri = info.ok() ? FhirCanonical((*info)->id, (*info)->uri) : r.system();
    // A FHIR code system without a version has none to name (Codebook gave it its date).
    std::shared_ptr<const Json> resource = ResourceOf(r.system(), r.version());
    const bool versioned = resource == nullptr || resource->contains("version");
    parameters.push_back(
        {{"name", "used-codesystem"}, {"valueUri", versioned ? uri + "|" + r.version() : uri}});
  }
  // Warnings of the code systems used and of the value set itself: draft, experimental,
  // deprecated, withdrawn.
  for (const v1::ReleaseRef& r : all.releases()) {
    std::shared_ptr<const Json> cs = ResourceOf(r.system(), r.version());
    const std::string warning = cs != nullptr ? StatusWarning(*cs) : "";
    if (warning.empty()) continue;
    absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(r.system());
    const std::string uri = info.ok() ? FhirCanonical((*info)->id, (*info)->uri) : r.system();
    parameters.push_back({{"name", "warning-" + warning}, {"valueUri", uri + "|" + r.version()}});
  }
  // (A value set warns only of its standards status: a draft value set is the common case.)
  if (const std::string warning = StatusWarning(resource);
      warning == "deprecated" || warning == "withdrawn") {
    const std::string canonical = vs->version().empty() || vs->version() == "0"
                                      ? vs->url()
                                      : absl::StrCat(vs->url(), "|", vs->version());
    parameters.push_back({{"name", "warning-" + warning}, {"valueUri", canonical}});
  }
  expansion["parameter"] = std::move(parameters);
  // The resource of each code system release used, for property types.
  auto release_resource = [&](const std::string& system) -> std::shared_ptr<const Json> {
    for (const v1::ReleaseRef& r : all.releases()) {
      if (r.system() == system) return ResourceOf(r.system(), r.version());
    }
    return nullptr;
  };
  const std::vector<std::string> asked_properties = params.Texts("property");
  if (!asked_properties.empty()) {
    Json declared = Json::array();
    for (const std::string& p : asked_properties) {
      Json d = {{"code", p}};
      for (const v1::ReleaseRef& r : all.releases()) {
        std::shared_ptr<const Json> cs = ResourceOf(r.system(), r.version());
        if (cs == nullptr) continue;
        for (const Json& prop : cs->value("property", Json::array())) {
          if (prop.value("code", "") == p && prop.contains("uri")) d["uri"] = prop["uri"];
        }
      }
      declared.push_back(std::move(d));
    }
    expansion["property"] = std::move(declared);
  }
  // The languages asked for: a concept whose code system's language is not one of them is
  // displayed in a designation that is, and its own display becomes a designation.
  const std::vector<std::string> languages =
      LanguagesAsked(params.Text("displayLanguage").value_or(caller.request->accept_language));
  Json contains = Json::array();
  for (const v1::ExpansionEntry& e : all.concepts()) {
    absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(e.system());
    const v1::Concept& c = e.concept();
    Json entry = {{"system", info.ok() ? FhirCanonical((*info)->id, (*info)->uri) : e.system()}};
    if (c.kind() == v1::CONCEPT_KIND_HEADER) entry["abstract"] = true;
    if (c.status() == v1::CONCEPT_STATUS_INACTIVE) entry["inactive"] = true;
    entry["code"] = c.code();
    int shown = -1;  // the designation displayed instead of the concept's display
    std::string own_language;
    if (!languages.empty() && !c.text_withheld()) {
      std::shared_ptr<const Json> cs = release_resource(e.system());
      own_language = cs != nullptr ? cs->value("language", "") : "";
      // Only a code system that states a language not asked for is displayed otherwise; the
      // languages are tried in the order asked.
      const bool other = !own_language.empty() && !LanguageWanted(languages, own_language);
      for (size_t l = 0; other && l < languages.size() && shown < 0; ++l) {
        for (int i = 0; i < c.designations_size() && shown < 0; ++i) {
          const std::string& language = c.designations(i).language();
          if (!language.empty() && LanguageWanted({languages[l]}, language)) shown = i;
        }
      }
    }
    if (shown >= 0) {
      entry["display"] = c.designations(shown).value();
    } else if (!c.text_withheld() && !c.display().empty()) {
      entry["display"] = c.display();
    }
    // The properties asked for, typed as the code system declares them.
    Json properties = Json::array();
    for (const std::string& p : asked_properties) {
      auto value = c.properties().find(p);
      if (value == c.properties().end()) continue;
      std::shared_ptr<const Json> cs = release_resource(e.system());
      auto [key, typed] = PropertyValue(cs.get(), p, value->second);
      properties.push_back({{"code", p}, {key, std::move(typed)}});
    }
    if (!properties.empty()) entry["property"] = std::move(properties);
    if (*designations && !c.designations().empty()) {
      Json list = Json::array();
      if (shown >= 0) {
        list.push_back({{"language", own_language}, {"value", c.display()}});
      }
      for (int i = 0; i < c.designations_size(); ++i) {
        if (i == shown) continue;
        const v1::Designation& d = c.designations(i);
        Json dj = Json::object();
        if (!d.language().empty()) dj["language"] = d.language();
        if (!d.use().empty()) {
          dj["use"] = {{"system", "http://codebook.dev/fhir/designation-use"}, {"code", d.use()}};
        }
        dj["value"] = d.value();
        list.push_back(std::move(dj));
      }
      entry["designation"] = std::move(list);
    }
    contains.push_back(std::move(entry));
  }
  if (!contains.empty()) expansion["contains"] = std::move(contains);
  resource["expansion"] = std::move(expansion);
  return Answer{200, std::move(resource)};
}

FhirService::Result FhirService::SearchValueSets(const Request& request) const {
  std::string url, version;
  for (const auto& [key, value] : request.query) {
    if (key == "url") {
      url = value;
    } else if (key == "version") {
      version = value;
    } else if (!absl::StartsWith(key, "_")) {
      return absl::InvalidArgumentError(
          absl::StrCat("ValueSet search has no parameter '", key, "'; use url or version"));
    }
  }
  v1::ListValueSetsRequest req;
  req.set_url(url);
  v1::ListValueSetsResponse list;
  if (absl::Status s = terminology_->ListValueSets(req, &list); !s.ok()) return s;
  Json entries = Json::array();
  for (const v1::ValueSet& vs : list.value_sets()) {
    if (!version.empty() && vs.version() != version) continue;
    entries.push_back({{"resource", ValueSetResource(vs)}, {"search", {{"mode", "match"}}}});
  }
  Json bundle = {{"resourceType", "Bundle"},
                 {"type", "searchset"},
                 {"total", entries.size()},
                 {"entry", std::move(entries)}};
  return Answer{200, std::move(bundle)};
}

absl::Status FhirService::CheckSupplements(const Params& params, const v1::ValueSet* vs) const {
  std::vector<std::string> wanted = params.Texts("useSupplement");
  if (vs != nullptr && !vs->resource_json().empty()) {
    Json resource = Json::parse(vs->resource_json(), nullptr, false);
    if (resource.is_object()) {
      for (const Json& e : resource.value("extension", Json::array())) {
        if (e.value("url", "") == "http://hl7.org/fhir/StructureDefinition/valueset-supplement") {
          wanted.push_back(e.value("valueCanonical", ""));
        }
      }
    }
  }
  for (const std::string& canonical : wanted) {
    const std::string url = canonical.substr(0, canonical.find('|'));
    if (url.empty() || SystemOf(url).ok()) continue;
    return WithMessageId(
        absl::NotFoundError(absl::StrCat("Required supplement not found: ", canonical)),
        "VALUESET_SUPPLEMENT_MISSING");
  }
  return absl::OkStatus();
}

}  // namespace codebook::fhir
