#include "fhir/fhir_service.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/conversions.h"
#include "service/value_sets.h"
#include "storage/store.h"

namespace codebook::fhir {
namespace {

constexpr char kFhirVersion[] = "4.0.1";
// Where Codebook's own concept properties and designation uses are defined.
constexpr char kPropertyBase[] = "http://codebook.dev/fhir/concept-property#";
constexpr char kDesignationUse[] = "http://codebook.dev/fhir/designation-use";
constexpr char kHl7HcpcsUri[] = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
}

Response JsonResponse(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = Dump(body);
  return r;
}

Response ErrorResponse(const Error& e) {
  Response r = JsonResponse(e.http_status, OperationOutcome({e.issue}));
  if (e.http_status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Error MakeError(int status, std::string code, std::string text) {
  Error e;
  e.http_status = status;
  e.issue.code = std::move(code);
  e.issue.text = std::move(text);
  return e;
}

const char* KindName(v1::ConceptKind k) {
  switch (k) {
    case v1::CONCEPT_KIND_CODE:
      return "code";
    case v1::CONCEPT_KIND_HEADER:
      return "header";
    case v1::CONCEPT_KIND_MODIFIER:
      return "modifier";
    default:
      return "unspecified";
  }
}

Json PropertyPart(const std::string& code, const std::string& value_key, Json value) {
  return Json::array({{{"name", "code"}, {"valueCode", code}},
                      {{"name", "value"}, {value_key, std::move(value)}}});
}

// A designation's use as a Coding: "system|code" as stored from a FHIR code system, else one
// of Codebook's uses (short, long, consumer, ...).
Json UseCoding(const std::string& use) {
  const size_t bar = use.rfind('|');
  if (bar == std::string::npos) return {{"system", kDesignationUse}, {"code", use}};
  return {{"system", use.substr(0, bar)}, {"code", use.substr(bar + 1)}};
}

// Whether property `code` was asked for: no property parameter, "*", or the code itself.
bool Wanted(const std::vector<std::string>& asked, const std::string& code) {
  return asked.empty() || std::find(asked.begin(), asked.end(), "*") != asked.end() ||
         std::find(asked.begin(), asked.end(), code) != asked.end();
}

// The language part of an Accept-Language or displayLanguage value: "de-CH;q=0.8, en" -> "de-CH".
std::string FirstLanguage(const std::string& header) {
  std::string first(absl::StripAsciiWhitespace(header.substr(0, header.find(','))));
  return first.substr(0, first.find(';'));
}

}  // namespace

// The value[x] key of a FHIR code system's property, from its declared type ("" unknown).
std::string PropertyValueKey(const Json& resource, const std::string& code) {
  for (const Json& p : resource.value("property", Json::array())) {
    if (p.value("code", "") != code) continue;
    const std::string type = p.value("type", "string");
    if (type == "code" || type == "boolean" || type == "integer" || type == "decimal" ||
        type == "dateTime" || type == "string") {
      return "value" + std::string(1, static_cast<char>(std::toupper(type[0]))) + type.substr(1);
    }
    return "valueString";
  }
  return "";
}

std::pair<std::string, Json> PropertyValue(const Json* resource, const std::string& code,
                                           const std::string& value) {
  std::string key = resource != nullptr ? PropertyValueKey(*resource, code) : "";
  Json typed = value;
  if (key == "valueBoolean") {
    typed = value == "true";
  } else if (key == "valueInteger") {
    int64_t n = 0;
    typed = absl::SimpleAtoi(value, &n) ? Json(n) : Json(value);
  } else if (key == "valueDecimal") {
    double d = 0;
    typed = absl::SimpleAtod(value, &d) ? Json(d) : Json(value);
  }
  return {key.empty() ? "valueString" : key, std::move(typed)};
}

std::string StatusWarning(const Json& resource) {
  for (const Json& e : resource.value("extension", Json::array())) {
    if (e.value("url", "") ==
        "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status") {
      const std::string status = e.value("valueCode", "");
      if (status == "withdrawn" || status == "deprecated") return status;
    }
  }
  if (resource.value("status", "") == "draft") return "draft";
  if (resource.value("experimental", false)) return "experimental";
  return "";
}

std::string CodeOf(const service::CodeSystemInfo& system, const std::string& code) {
  if (system.id != "CPT" && system.id != "HCPCS") return code;
  std::string out = code;
  std::replace(out.begin(), out.end(), ':', '-');
  return out;
}

std::string FhirCanonical(const std::string& system_id, const std::string& registry_uri) {
  return system_id == "HCPCS" ? kHl7HcpcsUri : registry_uri;
}

FhirService::FhirService(const service::TerminologyImpl* terminology,
                         const service::Authorizer* auth)
    : terminology_(terminology), auth_(auth) {}

bool FhirService::Caller::LacksLicence(const service::Authorizer* auth,
                                       const std::string& scope) const {
  if (auth == nullptr || scope.empty()) return false;
  return !auth->HasScope(request->authorization, request->client_common_name, scope);
}

Response FhirService::Handle(const Request& request) const {
  // The CapabilityStatement is public, as FHIR clients read it before they authenticate.
  if (auth_ != nullptr && request.path != "/metadata") {
    std::string name;
    absl::Status allowed = auth_->Allow(request.authorization, request.client_common_name,
                                        service::Scope::kRead, &name);
    if (!allowed.ok()) return ErrorResponse(ErrorFromStatus(allowed));
  }
  Caller caller{&request};
  Result result = Route(request, caller);
  if (!result.ok()) return ErrorResponse(ErrorFromStatus(result.status()));
  return JsonResponse(result->status, result->body);
}

absl::StatusOr<Params> FhirService::ParamsOf(const Request& request) {
  if (request.method != "POST" ||
      absl::StartsWith(request.content_type, "application/x-www-form-urlencoded")) {
    return Params::FromQuery(request.query);
  }
  absl::StatusOr<Params> params = Params::FromBody(request.body);
  if (params.ok()) params->AddQuery(request.query);
  return params;
}

FhirService::Result FhirService::Route(const Request& request, const Caller& caller) const {
  std::vector<std::string> parts = absl::StrSplit(request.path, '/', absl::SkipEmpty());
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto method_not_allowed = [&]() -> Result {
    Answer a;
    a.status = 405;
    a.body = OperationOutcome(
        {MakeError(405, "not-supported",
                   absl::StrCat(request.method, " is not supported on ", request.path))
             .issue});
    return a;
  };
  if (parts.size() == 1 && parts[0] == "metadata") {
    if (!get) return method_not_allowed();
    return Metadata(request);
  }
  if (!parts.empty() && parts[0] == "CodeSystem") {
    if (parts.size() == 1) return get ? SearchCodeSystems(request) : method_not_allowed();
    if (parts.size() == 2 && parts[1][0] != '$') {
      return get ? ReadCodeSystem(parts[1]) : method_not_allowed();
    }
    if (parts.size() == 2 && (get || post)) {
      absl::StatusOr<Params> params = ParamsOf(request);
      if (!params.ok()) return params.status();
      if (parts[1] == "$lookup") return Lookup(*params, caller);
      if (parts[1] == "$validate-code")
        return ValidateCode(*params, caller, /*in_value_set=*/false);
      if (parts[1] == "$subsumes") return Subsumes(*params);
      return absl::NotFoundError(absl::StrCat("CodeSystem has no operation ", parts[1],
                                              "; try $lookup, $validate-code or $subsumes"));
    }
    if (parts.size() == 2) return method_not_allowed();
  }
  if (parts.size() == 2 && parts[0] == "ConceptMap") {
    if (!get && !post) return method_not_allowed();
    if (parts[1] != "$translate") {
      return absl::NotFoundError(
          absl::StrCat("ConceptMap has no operation ", parts[1], "; try $translate"));
    }
    absl::StatusOr<Params> params = ParamsOf(request);
    if (!params.ok()) return params.status();
    return Translate(*params);
  }
  if (!parts.empty() && parts[0] == "ValueSet") {
    if (parts.size() == 1) return get ? SearchValueSets(request) : method_not_allowed();
    if (parts.size() == 2 && (get || post)) {
      absl::StatusOr<Params> params = ParamsOf(request);
      if (!params.ok()) return params.status();
      if (parts[1] == "$expand") return Expand(*params, caller);
      if (parts[1] == "$validate-code") return ValidateCode(*params, caller, /*in_value_set=*/true);
      return absl::NotFoundError(
          absl::StrCat("ValueSet has no operation ", parts[1], "; try $expand or $validate-code"));
    }
    if (parts.size() == 2) return method_not_allowed();
  }
  return absl::NotFoundError(
      absl::StrCat("nothing is served at ", request.path, "; see ", request.base_url, "/metadata"));
}

FhirService::Result FhirService::Metadata(const Request& request) const {
  for (const auto& [name, value] : request.query) {
    if (name == "mode" && value == "terminology") return TerminologyCapabilities();
  }
  v1::PingResponse ping;  // the server's version, for software.version
  if (absl::Status s = terminology_->Ping(v1::PingRequest(), &ping); !s.ok()) return s;
  auto op = [&](const char* name, const char* definition) {
    return Json{{"name", name}, {"definition", definition}};
  };
  Json cs_ops = Json::array(
      {op("lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"),
       op("validate-code", "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code"),
       op("subsumes", "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes")});
  Json search = Json::array();
  for (const char* p : {"url", "version", "name", "_id"}) {
    search.push_back({{"name", p}, {"type", std::string(p) == "url" ? "uri" : "token"}});
  }
  Json j = {{"resourceType", "CapabilityStatement"},
            {"status", "active"},
            {"date", terminology_->Today()},
            {"kind", "instance"},
            {"software", {{"name", "Codebook"}, {"version", ping.server_version()}}},
            {"implementation",
             {{"description", "Codebook terminology server"}, {"url", request.base_url}}},
            {"fhirVersion", kFhirVersion},
            {"format", Json::array({"application/fhir+json"})},
            {"instantiates",
             Json::array({"http://hl7.org/fhir/CapabilityStatement/terminology-server"})}};
  Json resources = Json::array();
  resources.push_back(
      {{"type", "CodeSystem"},
       {"interaction", Json::array({{{"code", "read"}}, {{"code", "search-type"}}})},
       {"searchParam", search},
       {"operation", cs_ops}});
  j["rest"] = Json::array({{{"mode", "server"}, {"resource", resources}}});
  return Answer{200, std::move(j)};
}

FhirService::Result FhirService::TerminologyCapabilities() const {
  v1::ListCodeSystemsResponse systems;
  if (absl::Status s = terminology_->ListCodeSystems(v1::ListCodeSystemsRequest(), &systems);
      !s.ok()) {
    return s;
  }
  Json list = Json::array();
  for (const v1::CodeSystem& system : systems.systems()) {
    v1::ListReleasesRequest req;
    req.set_system(system.id());
    v1::ListReleasesResponse releases;
    if (absl::Status s = terminology_->ListReleases(req, &releases); !s.ok()) return s;
    Json versions = Json::array();
    for (const v1::Release& r : releases.releases()) {
      if (r.state() != v1::RELEASE_STATE_PUBLISHED) continue;
      versions.push_back(
          {{"code", r.version()}, {"isDefault", r.version() == system.current_version()}});
    }
    if (versions.empty()) continue;
    list.push_back({{"uri", FhirCanonical(system.id(), system.uri())}, {"version", versions}});
  }
  Json j = {{"resourceType", "TerminologyCapabilities"},
            {"status", "active"},
            {"date", terminology_->Today()},
            {"kind", "instance"},
            {"codeSystem", list},
            {"expansion", {{"hierarchical", false}, {"paging", true}}},
            {"validateCode", {{"translations", false}}},
            {"translation", {{"needsMap", true}}}};
  return Answer{200, std::move(j)};
}

absl::StatusOr<const service::CodeSystemInfo*> FhirService::SystemOf(const std::string& uri) const {
  auto catalog = terminology_->store()->catalog();
  // HL7's canonical for HCPCS (terminology.hl7.org) is http://, the registry's https://.
  const std::string* id = &uri;
  static const std::string kHcpcs = "HCPCS";
  if (uri == kHl7HcpcsUri) id = &kHcpcs;
  absl::StatusOr<const service::CodeSystemInfo*> found =
      service::FindSystemByIdOrUri(*catalog, *id);
  if (!found.ok() && found.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("A definition for CodeSystem '", uri, "' could not be found"));
  }
  return found;
}

absl::StatusOr<v1::ReleaseSelector> FhirService::SelectorOf(const Params& params) const {
  v1::ReleaseSelector selector;
  std::optional<std::string> version = params.Text("version");
  std::optional<std::string> date = params.Text("date");
  if (version && date) {
    return absl::InvalidArgumentError(
        "give version or date (of service), not both: each picks a release");
  }
  if (version) selector.set_version(*version);
  // FHIR dates may carry a time; the date of service is the day.
  if (date) selector.set_date_of_service(date->substr(0, 10));
  return selector;
}

FhirService::Result FhirService::Lookup(const Params& params, const Caller& caller) const {
  std::optional<std::string> code = params.Text("code"), system = params.Text("system");
  if (const Json* coding = params.Complex("coding", "valueCoding")) {
    code = coding->value("code", "");
    system = coding->value("system", "");
  }
  if (!code || !system || code->empty() || system->empty()) {
    return absl::InvalidArgumentError("$lookup needs a code and a system, or a coding");
  }
  absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(*system);
  if (!info.ok()) return info.status();
  if (absl::Status s = CheckSupplements(params, nullptr); !s.ok()) return s;
  absl::StatusOr<v1::ReleaseSelector> selector = SelectorOf(params);
  if (!selector.ok()) return selector.status();
  v1::LookupRequest req;
  req.set_system((*info)->id);
  req.set_code(CodeOf(**info, *code));
  *req.mutable_selector() = *selector;
  v1::LookupResponse resp;
  if (absl::Status s = terminology_->Lookup(req, &resp); !s.ok()) return s;
  if (caller.LacksLicence(auth_, (*info)->license_scope)) service::WithholdText(&resp);
  const v1::Concept& c = resp.concept();
  const std::vector<std::string> asked = params.Texts("property");
  std::string language = params.Text("displayLanguage").value_or("");
  if (language.empty()) language = FirstLanguage(caller.request->accept_language);
  std::string display = c.display();
  for (const v1::Designation& d : c.designations()) {
    if (!language.empty() && !d.language().empty() &&
        absl::StartsWithIgnoreCase(d.language(), language.substr(0, 2))) {
      display = d.value();
      break;
    }
  }
  // A FHIR code system answers with its resource's name, version and property types.
  std::shared_ptr<const Json> resource = ResourceOf((*info)->id, resp.release().version());
  ParamsOut out;
  std::string name = (*info)->title.empty() ? (*info)->id : (*info)->title;
  if (resource != nullptr) name = resource->value("name", resource->value("title", name));
  out.Add("name", "valueString", name);
  if (resource == nullptr || resource->contains("version")) {
    out.Add("version", "valueString", resp.release().version());
  }
  out.Add("system", "valueUri", FhirCanonical((*info)->id, (*info)->uri));
  out.Add("code", "valueCode", c.code());
  if (!c.text_withheld()) out.Add("display", "valueString", display);
  out.Add("abstract", "valueBoolean", c.kind() == v1::CONCEPT_KIND_HEADER);
  for (const v1::Designation& d : c.designations()) {
    Json parts = Json::array();
    if (!d.language().empty()) parts.push_back({{"name", "language"}, {"valueCode", d.language()}});
    if (!d.use().empty()) parts.push_back({{"name", "use"}, {"valueCoding", UseCoding(d.use())}});
    parts.push_back({{"name", "value"}, {"valueString", d.value()}});
    out.AddParts("designation", std::move(parts));
  }
  auto property = [&](const std::string& name, const std::string& key, Json value) {
    if (Wanted(asked, name)) out.AddParts("property", PropertyPart(name, key, std::move(value)));
  };
  property("inactive", "valueBoolean", c.status() == v1::CONCEPT_STATUS_INACTIVE);
  if (!c.parent().empty()) property("parent", "valueCode", c.parent());
  // Kind and billable flag: what the billing code sets say of a code; a FHIR code system's
  // own properties say it for those.
  const bool built_in = service::FindBuiltInSystem((*info)->id).ok();
  if (built_in) {
    property("kind", "valueCode", KindName(c.kind()));
    property("billable", "valueBoolean", c.billable());
  }
  if (!c.added_date().empty()) property("added-date", "valueDate", c.added_date());
  if (!c.action_effective_date().empty()) {
    property("action-effective-date", "valueDate", c.action_effective_date());
  }
  if (!c.termination_date().empty())
    property("termination-date", "valueDate", c.termination_date());
  if (!c.action_code().empty()) property("action-code", "valueCode", c.action_code());
  std::vector<std::pair<std::string, std::string>> sorted(c.properties().begin(),
                                                          c.properties().end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, value] : sorted) {
    if (name == "definition") {
      out.Add("definition", "valueString", value);
    } else if (!absl::StartsWith(name, "definition:")) {
      auto [key, typed] = PropertyValue(resource.get(), name, value);
      property(name, key, std::move(typed));
    }
  }
  if (c.text_withheld()) {
    property("text-withheld", "valueBoolean", true);
  }
  return Answer{200, out.Build()};
}

FhirService::Result FhirService::Subsumes(const Params& params) const {
  std::optional<std::string> a = params.Text("codeA"), b = params.Text("codeB");
  std::optional<std::string> system = params.Text("system");
  const Json* coding_a = params.Complex("codingA", "valueCoding");
  const Json* coding_b = params.Complex("codingB", "valueCoding");
  if (coding_a != nullptr && coding_b != nullptr) {
    a = coding_a->value("code", "");
    b = coding_b->value("code", "");
    system = coding_a->value("system", "");
    if (coding_b->value("system", "") != *system) {
      return absl::InvalidArgumentError("codingA and codingB are of different systems");
    }
  }
  if (!a || !b || !system || a->empty() || b->empty() || system->empty()) {
    return absl::InvalidArgumentError(
        "$subsumes needs codeA, codeB and system, or codingA and "
        "codingB");
  }
  absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(*system);
  if (!info.ok()) return info.status();
  absl::StatusOr<v1::ReleaseSelector> selector = SelectorOf(params);
  if (!selector.ok()) return selector.status();
  v1::SubsumesRequest req;
  req.set_system((*info)->id);
  *req.mutable_selector() = *selector;
  req.set_code_a(*a);
  req.set_code_b(*b);
  v1::SubsumesResponse resp;
  if (absl::Status s = terminology_->Subsumes(req, &resp); !s.ok()) return s;
  const char* outcome = "not-subsumed";
  switch (resp.outcome()) {
    case v1::SUBSUMPTION_OUTCOME_EQUIVALENT:
      outcome = "equivalent";
      break;
    case v1::SUBSUMPTION_OUTCOME_SUBSUMES:
      outcome = "subsumes";
      break;
    case v1::SUBSUMPTION_OUTCOME_SUBSUMED_BY:
      outcome = "subsumed-by";
      break;
    default:
      break;
  }
  ParamsOut out;
  out.Add("outcome", "valueCode", outcome);
  return Answer{200, out.Build()};
}

std::shared_ptr<const Json> FhirService::ResourceOf(const std::string& system_id,
                                                    const std::string& version) const {
  const auto key = std::make_pair(system_id, version);
  {
    absl::MutexLock l(&resources_mu_);
    auto it = resources_.find(key);
    if (it != resources_.end()) return it->second;
  }
  v1::GetReleaseRequest req;
  req.set_system(system_id);
  req.mutable_selector()->set_version(version);
  v1::GetReleaseResponse resp;
  std::shared_ptr<const Json> parsed;
  if (terminology_->GetRelease(req, &resp).ok() && !resp.release().resource_json().empty()) {
    Json j = Json::parse(resp.release().resource_json(), nullptr, false);
    if (j.is_object()) parsed = std::make_shared<const Json>(std::move(j));
  }
  absl::MutexLock l(&resources_mu_);
  resources_[key] = parsed;
  return parsed;
}

std::vector<std::string> LanguagesAsked(const std::string& asked) {
  std::vector<std::string> languages;
  for (absl::string_view part : absl::StrSplit(asked, ',', absl::SkipEmpty())) {
    std::string tag(absl::StripAsciiWhitespace(part.substr(0, part.find(';'))));
    if (!tag.empty() && tag != "*") languages.push_back(tag);
  }
  return languages;
}

bool LanguageWanted(const std::vector<std::string>& asked, const std::string& language) {
  if (asked.empty() || language.empty()) return true;
  for (const std::string& l : asked) {
    const std::string& shorter = l.size() < language.size() ? l : language;
    const std::string& longer = l.size() < language.size() ? language : l;
    if (absl::StartsWithIgnoreCase(longer, shorter) &&
        (longer.size() == shorter.size() || longer[shorter.size()] == '-')) {
      return true;
    }
  }
  return false;
}

}  // namespace codebook::fhir
