// $validate-code on CodeSystem and ValueSet: one check per coding, its findings as FHIR issues
// in the HL7 validator's wording and message ids (so clients that read them, and HL7's test
// suite, understand them), and the billing answer for Codebook's own systems (deleted,
// terminated, not billable on the date of service).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fhir/fhir_service.h"
#include "service/conversions.h"

namespace codebook::fhir {

// A coding as the request gives it, and where in the request it is (for issue expressions).
struct FhirService::CodingIn {
  std::string system, version, code;
  std::optional<std::string> display;
  std::string
      where;  // "" (code, system, display parameters), "Coding", "CodeableConcept.coding[0]"
  std::string Path(const std::string& element) const {
    return where.empty() ? element : absl::StrCat(where, ".", element);
  }
};

// What one coding came to.
struct FhirService::CodingCheck {
  bool result = false;
  bool found = false;  // the code is in its code system
  bool inactive = false;
  bool unknown_system = false;
  bool caused_by_unknown_system = false;  // the value set itself names the unknown system
  std::string unknown_canonical;          // what x-caused-by-unknown-system names
  bool mismatch = false;                  // the coding's version is not the value set's
  bool version_known = true;  // false: the FHIR code system has no version (Codebook made one)
  std::string system, version, code, display;
  std::vector<Issue> issues;
};

namespace {

Issue MakeIssue(std::string code, std::string tx_code, std::string message_id, std::string text,
                std::string expression, std::string severity = "error") {
  Issue i;
  i.severity = std::move(severity);
  i.code = std::move(code);
  i.tx_code = std::move(tx_code);
  i.message_id = std::move(message_id);
  i.text = std::move(text);
  i.expression = std::move(expression);
  return i;
}

// FHIR's canonical of a value set, as messages name it: "url|version".
std::string Canonical(const v1::ValueSet& vs) {
  return vs.version().empty() || vs.version() == "0" ? vs.url()
                                                     : absl::StrCat(vs.url(), "|", vs.version());
}

// The one system a value set's includes name, or "" when none or several.
std::string OnlySystem(const v1::ValueSet& vs) {
  std::string only;
  for (const v1::ValueSetRule& r : vs.includes()) {
    if (r.system().empty()) return "";
    if (!only.empty() && only != r.system()) return "";
    only = r.system();
  }
  return only;
}

}  // namespace

FhirService::CodingCheck FhirService::CheckCoding(const CodingIn& in, const v1::ValueSet* vs,
                                                  const Params& params,
                                                  const Caller& caller) const {
  CodingCheck out;
  out.system = in.system;
  out.code = in.code;
  out.version = in.version;
  absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(in.system);
  const std::string vs_name = vs != nullptr ? Canonical(*vs) : "";
  auto not_in_vs = [&]() {
    if (vs == nullptr) return;
    out.issues.push_back(MakeIssue(
        "code-invalid", "not-in-vs", "None_of_the_provided_codes_are_in_the_value_set_one",
        absl::StrCat("The provided code '", in.system, "#", in.code,
                     in.display ? absl::StrCat(" ('", *in.display, "')") : "",
                     "' was not found in the value set '", vs_name, "'"),
        in.Path("code")));
  };
  if (!info.ok()) {
    out.unknown_system = true;
    out.issues.push_back(
        MakeIssue("not-found", "not-found", "UNKNOWN_CODESYSTEM",
                  absl::StrCat("A definition for CodeSystem '", in.system,
                               "' could not be found, so the code cannot be validated"),
                  in.Path("system")));
    // When the value set takes the system's codes, membership cannot be told: the unknown
    // system is the cause. Otherwise the code is simply not in the value set.
    for (const v1::ValueSetRule& r :
         vs != nullptr ? vs->includes() : google::protobuf::RepeatedPtrField<v1::ValueSetRule>()) {
      out.caused_by_unknown_system = out.caused_by_unknown_system || r.system() == in.system;
    }
    if (!out.caused_by_unknown_system) not_in_vs();
    return out;
  }
  out.system = FhirCanonical((*info)->id, (*info)->uri);
  const std::string& id = (*info)->id;
  // Which version answers: a forced one, else the one the value set pins, else the coding's,
  // else the request's default, else the one in force on the date.
  const std::string forced = VersionParam(params, "force-system-version", out.system);
  const std::string check = VersionParam(params, "check-system-version", out.system);
  // The request's default for a coding without a version: system-version, else the version the
  // request checks for.
  std::string fallback = VersionParam(params, "system-version", out.system);
  if (fallback.empty()) fallback = check;
  // The versions the value set allows the system in: each include's pin, the newest for an
  // include without one. A coding without a version takes the value set's single pin, else the
  // request's default (system-version), else the release in force; a coding with one must be
  // one the value set allows.
  std::vector<std::string> allowed;
  std::string pin;  // the value set's own pin, when all its includes of the system agree
  if (vs != nullptr) {
    pin = PinnedVersion(*vs, id, out.system);
    std::vector<std::string> versions = VersionsOf(id);
    for (const v1::ValueSetRule& r : vs->includes()) {
      if (r.system() != id && r.system() != out.system) continue;
      std::string v = !r.version().empty() ? r.version() : versions.empty() ? "" : versions.back();
      if (!v.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        allowed.push_back(v);
      }
    }
  }
  bool coding_allowed = allowed.empty();
  for (const std::string& a : allowed) {
    coding_allowed = coding_allowed || in.version.empty() || VersionMatches(a, in.version);
  }
  std::string pattern = !forced.empty()                         ? forced
                        : !in.version.empty() && coding_allowed ? in.version
                        : !in.version.empty()                   ? allowed.front()
                        : !pin.empty()                          ? pin
                                                                : fallback;
  auto unknown_version = [&](const std::string& version) {
    const std::string valid = VersionListText(id);
    out.unknown_system = out.caused_by_unknown_system = true;
    out.unknown_canonical = absl::StrCat(out.system, "|", version);
    out.issues.push_back(MakeIssue(
        "not-found", "not-found", "UNKNOWN_CODESYSTEM_VERSION",
        absl::StrCat(
            "A definition for CodeSystem '", out.system, "' version '", version,
            "' could not be found, so the code cannot be validated. Valid versions: ", valid),
        in.Path("system")));
  };
  const bool coding_known = in.version.empty() || !ResolveVersion(id, in.version).empty();
  if (vs != nullptr && !coding_known) {
    // A coding with a version the code system does not have, in a value set: the version the
    // value set takes (forced, else its include's pin, else the request's default, else the
    // newest) answers, and the coding's is reported against it.
    std::string result = !forced.empty() ? forced : !pin.empty() ? pin : fallback;
    if (result.empty() && !coding_allowed) result = allowed.front();
    std::vector<std::string> versions = VersionsOf(id);
    const std::string taken =
        result.empty() ? (versions.empty() ? "" : versions.back()) : ResolveVersion(id, result);
    if (!taken.empty() && taken != in.version && !VersionMatches(in.version, taken)) {
      const bool versionless = pin.empty() && forced.empty() && fallback.empty();
      if (versionless) {
        out.issues.push_back(MakeIssue(
            "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH_DEFAULT",
            absl::StrCat("The code system '", out.system, "' version '", taken,
                         "' for the versionless include in the ValueSet include is different to "
                         "the one in the value ('",
                         in.version, "')"),
            in.Path("version"), "warning"));
      } else if (result != pin) {
        out.issues.push_back(MakeIssue(
            "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH_CHANGED",
            absl::StrCat("The code system '", out.system, "' version '", result,
                         "' resulting from the version '", pin,
                         "' in the ValueSet include is different to the one in the value ('",
                         in.version, "')"),
            in.Path("version")));
        out.mismatch = true;
      } else {
        out.issues.push_back(MakeIssue(
            "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH",
            absl::StrCat("The code system '", out.system, "' version '", taken,
                         "' in the ValueSet include is different to the one in the value ('",
                         in.version, "')"),
            in.Path("version")));
        out.mismatch = true;
      }
      unknown_version(in.version);
    }
    pattern = result;
  } else {
    if (!coding_known && pattern != in.version) unknown_version(in.version);
    if (forced.empty() && !coding_allowed) {
      const std::string pinned = ResolveVersion(id, allowed.front());
      out.issues.push_back(MakeIssue(
          "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH",
          absl::StrCat("The code system '", out.system, "' version '",
                       pinned.empty() ? allowed.front() : pinned,
                       "' in the ValueSet include is different to the one in the value ('",
                       in.version, "')"),
          in.Path("version")));
      out.mismatch = true;
    }
  }
  std::string used;
  if (!pattern.empty()) {
    used = ResolveVersion(id, pattern);
    if (used.empty()) {
      unknown_version(pattern);
      // The answer names the version the coding gave, else the request's default, else the
      // newest.
      std::vector<std::string> versions = VersionsOf(id);
      const std::string defaulted = fallback.empty() ? "" : ResolveVersion(id, fallback);
      out.version = !in.version.empty()  ? in.version
                    : !defaulted.empty() ? defaulted
                    : versions.empty()   ? pattern
                                         : versions.back();
      return out;
    }
  }
  if (!check.empty()) {
    std::string actual = used;
    if (actual.empty()) {
      std::vector<std::string> versions = VersionsOf(id);
      if (!versions.empty()) actual = versions.back();
    }
    if (!actual.empty() && !VersionMatches(check, actual)) {
      out.issues.push_back(MakeIssue(
          "exception", "version-error", "VALUESET_VERSION_CHECK",
          absl::StrCat("The version '", actual, "' is not allowed for system '", out.system,
                       "': required to be '", check, "' by a version-check parameter"),
          in.Path("version")));
      out.mismatch = true;
    }
  }
  v1::ValidateCodeRequest req;
  req.set_system(id);
  req.set_code(CodeOf(**info, in.code));
  req.set_version(used);
  if (std::optional<std::string> date = params.Text("date")) {
    req.set_date_of_service(date->substr(0, 10));
  }
  if (vs != nullptr) {
    *req.mutable_value_set_definition() = *vs;
    ApplyVersionParams(params, req.mutable_value_set_definition());
  }
  v1::ValidateCodeResponse resp;
  absl::Status s = terminology_->ValidateCode(req, &resp);
  if (!s.ok()) {
    Error e = ErrorFromStatus(s);
    // A value set the definition imports that is not here, in FHIR's words.
    constexpr absl::string_view kNoValueSet = "no value set ";
    if (absl::IsNotFound(s) && absl::StartsWith(s.message(), kNoValueSet)) {
      e.issue.text = absl::StrCat("A definition for the value Set '",
                                  s.message().substr(kNoValueSet.size()), "' could not be found");
      e.issue.message_id = "Unable_to_resolve_value_Set_";
      e.issue.expression.clear();
    } else {
      e.issue.expression = in.Path("system");
    }
    out.issues.push_back(e.issue);
    return out;
  }
  if (caller.LacksLicence(auth_, (*info)->license_scope)) service::WithholdText(&resp);
  out.version = resp.release().version();
  if (std::shared_ptr<const Json> resource = ResourceOf(id, out.version)) {
    out.version_known = resource->contains("version");
    if (const std::string warning = StatusWarning(*resource); !warning.empty()) {
      std::string id_upper = warning;
      absl::AsciiStrToUpper(&id_upper);
      out.issues.push_back(MakeIssue(
          "business-rule", "status-check", "MSG_" + id_upper,
          absl::StrCat("Reference to ", warning, " CodeSystem ", out.system, "|", out.version), "",
          "information"));
    }
  }
  out.found = resp.has_concept() && !resp.concept().code().empty();
  if (out.found) {
    // An expression with modifiers ("99213:25") is answered as given.
    out.code = in.code.find(':') != std::string::npos ? in.code : resp.concept().code();
    out.display = resp.concept().text_withheld() ? "" : resp.concept().display();
    out.inactive = resp.concept().status() == v1::CONCEPT_STATUS_INACTIVE;
  }
  // A code system registered from FHIR has no billing rules: a code it marks notSelectable is a
  // header to Codebook, but a code that a value set may hold and a client may validate.
  const bool billing = service::FindBuiltInSystem(id).ok();
  // An inactive concept is valid, with a warning to review its use.
  if (out.found && out.inactive && resp.outcome() != v1::VALIDATION_OUTCOME_TERMINATED) {
    auto status = resp.concept().properties().find("status");
    std::string said = "inactive";
    if (status != resp.concept().properties().end() && !status->second.empty() &&
        status->second != "inactive") {
      said = absl::StrCat(status->second, " and inactive");
    }
    out.issues.push_back(MakeIssue("business-rule", "code-comment", "INACTIVE_CONCEPT_FOUND",
                                   absl::StrCat("The concept '", out.code, "' has a status of ",
                                                said, " and its use should be reviewed"),
                                   in.where.empty() ? "code" : in.where, "warning"));
  }
  const bool member = vs == nullptr || resp.value_set().member() ||
                      (!billing && resp.value_set().outcome() == v1::MEMBERSHIP_OUTCOME_HEADER);
  v1::ValidationOutcome outcome = resp.outcome();
  if (!billing && outcome == v1::VALIDATION_OUTCOME_NOT_BILLABLE) {
    outcome = member ? v1::VALIDATION_OUTCOME_VALID : v1::VALIDATION_OUTCOME_NOT_IN_VALUE_SET;
  }
  switch (outcome) {
    case v1::VALIDATION_OUTCOME_VALID:
      out.result = !out.mismatch && !out.unknown_system;
      break;
    case v1::VALIDATION_OUTCOME_UNKNOWN_CODE:
    case v1::VALIDATION_OUTCOME_MALFORMED_CODE:
      not_in_vs();
      out.issues.push_back(
          MakeIssue("code-invalid", "invalid-code", "Unknown_Code_in_Version",
                    absl::StrCat("Unknown code '", in.code, "' in the CodeSystem '", out.system,
                                 "' version '", out.version, "'"),
                    in.Path("code")));
      break;
    case v1::VALIDATION_OUTCOME_NOT_IN_VALUE_SET:
      not_in_vs();
      break;
    case v1::VALIDATION_OUTCOME_DELETED:
    case v1::VALIDATION_OUTCOME_INVALID_MODIFIER:
      not_in_vs();
      out.issues.push_back(
          MakeIssue("code-invalid", "invalid-code", "", resp.message(), in.Path("code")));
      break;
    default:  // terminated, not billable, not yet effective: the code exists, may not be used
      if (!member) not_in_vs();
      out.issues.push_back(
          MakeIssue("business-rule", "code-rule", "", resp.message(), in.Path("code")));
      break;
  }
  // The languages asked for (displayLanguage, else Accept-Language), and the language of the
  // concept's display.
  const std::string asked =
      params.Text("displayLanguage").value_or(caller.request->accept_language);
  const std::vector<std::string> languages = LanguagesAsked(asked);
  auto wanted = [&](const std::string& language) { return LanguageWanted(languages, language); };
  std::shared_ptr<const Json> resource = ResourceOf(id, out.version);
  // The language of the concept's display: the code system's (none known for a FHIR code
  // system that does not say: it matches any), English for Codebook's own.
  const std::string own_language =
      resource != nullptr ? resource->value("language", std::string()) : "en";
  // The display answered is one in the languages asked for, when the concept has one.
  if (out.found && !resp.concept().text_withheld() && !wanted(own_language)) {
    for (const v1::Designation& d : resp.concept().designations()) {
      if (!d.language().empty() && wanted(d.language())) {
        out.display = d.value();
        break;
      }
    }
  }
  // The display, when given, must be the concept's or one of its designations', in those
  // languages when any are asked for.
  // A display of licensed text the caller may not read is not checked (the answer would tell
  // the text), and the answer says so.
  if (in.display && out.found && resp.concept().text_withheld()) {
    out.issues.push_back(
        MakeIssue("forbidden", "", "",
                  absl::StrCat("The display was not checked: the text of ", (*info)->id,
                               " needs the scope ", (*info)->license_scope),
                  in.Path("display"), "warning"));
  }
  if (in.display && out.found && !resp.concept().text_withheld()) {
    bool matches = wanted(own_language) && *in.display == resp.concept().display();
    for (const v1::Designation& d : resp.concept().designations()) {
      const std::string language = d.language().empty() ? own_language : d.language();
      matches = matches || (wanted(language) && *in.display == d.value());
    }
    // No display at all in the languages asked for: one in the default language is accepted,
    // and said so.
    bool any_in_language = wanted(own_language);
    bool default_match = *in.display == resp.concept().display();
    for (const v1::Designation& d : resp.concept().designations()) {
      any_in_language = any_in_language || (!d.language().empty() && wanted(d.language()));
      default_match = default_match || ((d.language().empty() || d.language() == own_language) &&
                                        *in.display == d.value());
    }
    absl::StatusOr<bool> lenient = params.Bool("lenient-display-validation", false);
    const std::string severity = lenient.ok() && *lenient ? "warning" : "error";
    if (!matches && !any_in_language && default_match) {
      out.issues.push_back(MakeIssue(
          "invalid", "invalid-display", "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK",
          absl::StrCat("There are no valid display names found for the code ", out.system, "#",
                       out.code, " for language(s) '", asked, "'. The display is '", *in.display,
                       "' which is a valid display for the default language"),
          in.Path("display"), "information"));
      matches = true;
    } else if (!matches && !any_in_language) {
      out.issues.push_back(MakeIssue(
          "invalid", "invalid-display", "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR",
          absl::StrCat("Wrong Display Name '", *in.display, "' for ", out.system, "#", out.code,
                       ". There are no valid display names found for language(s) '", asked,
                       "'. Default display is '", resp.concept().display(), "'"),
          in.Path("display"), severity));
      if (severity == "error") out.result = false;
      matches = true;
    }
    if (!matches) {
      const bool only_spaces = *in.display != resp.concept().display() &&
                               absl::StrJoin(absl::StrSplit(*in.display, ' ', absl::SkipEmpty()),
                                             " ") == resp.concept().display();
      // The valid displays: the concept's and its designations', in the languages asked for.
      std::vector<std::pair<std::string, std::string>> valid;  // display, language
      auto add_valid = [&](const std::string& display, const std::string& language) {
        if (!wanted(language)) return;
        if (std::find(valid.begin(), valid.end(), std::pair{display, language}) == valid.end()) {
          valid.emplace_back(display, language);
        }
      };
      add_valid(resp.concept().display(), own_language);
      for (const v1::Designation& d : resp.concept().designations()) {
        add_valid(d.value(), d.language().empty() ? own_language : d.language());
      }
      if (valid.empty()) valid.emplace_back(resp.concept().display(), own_language);
      std::string choices =
          valid.size() == 1 ? "Valid display is "
                            : absl::StrCat("Valid display is one of ", valid.size(), " choices: ");
      for (size_t i = 0; i < valid.size(); ++i) {
        absl::StrAppend(&choices,
                        i == 0                  ? ""
                        : i + 1 == valid.size() ? " or "
                                                : ", ",
                        "'", valid[i].first, "'",
                        valid[i].second.empty() ? "" : absl::StrCat(" (", valid[i].second, ")"));
      }
      out.issues.push_back(MakeIssue(
          "invalid", "invalid-display",
          only_spaces ? "Display_Name_WS_for__should_be_one_of__instead_of"
                      : "Display_Name_for__should_be_one_of__instead_of",
          absl::StrCat(only_spaces ? "Wrong whitespace in Display Name '" : "Wrong Display Name '",
                       *in.display, "' for ", out.system, "#", out.code, ". ", choices,
                       " (for the language(s) '", asked.empty() ? "--" : asked, "')"),
          in.Path("display"), severity));
      if (severity == "error") out.result = false;
    }
  }
  return out;
}

FhirService::Result FhirService::ValidateCode(const Params& request_params, const Caller& caller,
                                              bool in_value_set) const {
  std::optional<v1::ValueSet> vs;
  if (in_value_set) {
    absl::StatusOr<v1::ValueSet> found = ValueSetOf(request_params);
    if (!found.ok()) return found.status();
    vs = *std::move(found);
    if (absl::Status s = CheckFilters(*vs, /*expanding=*/false); !s.ok()) return s;
  }
  // The value set's own parameters (displayLanguage, ...) apply unless the request gives them.
  const Json resource = vs ? ParsedResource(*vs) : Json();
  const Params params = WithExpansionParameters(request_params, resource);
  if (absl::Status s = CheckSupplements(params, vs ? &*vs : nullptr); !s.ok()) return s;
  // The codings: code (+ system / url, version, display), a coding, or a codeableConcept.
  std::vector<CodingIn> codings;
  if (const Json* cc = params.Complex("codeableConcept", "valueCodeableConcept")) {
    int i = 0;
    for (const Json& c : cc->value("coding", Json::array())) {
      CodingIn in;
      in.system = c.value("system", "");
      in.version = c.value("version", "");
      in.code = c.value("code", "");
      if (c.contains("display")) in.display = c.value("display", "");
      in.where = absl::StrCat("CodeableConcept.coding[", i++, "]");
      codings.push_back(std::move(in));
    }
  } else if (const Json* c = params.Complex("coding", "valueCoding")) {
    CodingIn in;
    in.system = c->value("system", "");
    in.version = c->value("version", "");
    in.code = c->value("code", "");
    if (c->contains("display")) in.display = c->value("display", "");
    in.where = "Coding";
    codings.push_back(std::move(in));
  } else if (std::optional<std::string> code = params.Text("code")) {
    CodingIn in;
    in.code = *code;
    in.system = params.Text("system").value_or(in_value_set ? "" : params.Text("url").value_or(""));
    in.version = params.Text(in_value_set ? "systemVersion" : "version").value_or("");
    in.display = params.Text("display");
    codings.push_back(std::move(in));
  }
  if (codings.empty()) {
    return absl::InvalidArgumentError(
        "$validate-code needs a code (with its system), a coding or a codeableConcept");
  }
  std::vector<CodingCheck> checks;
  for (CodingIn& in : codings) {
    if (in.code.empty()) return absl::InvalidArgumentError("a coding without a code");
    if (in.system.empty()) {
      absl::StatusOr<bool> infer = params.Bool("inferSystem", false);
      std::string only = vs ? OnlySystem(*vs) : "";
      if (vs && infer.ok() && *infer && !only.empty()) {
        in.system = only;
      } else if (vs) {
        CodingCheck check;
        check.code = in.code;
        check.issues.push_back(
            MakeIssue("not-found", "cannot-infer", "Coding_has_no_system__cannot_validate",
                      absl::StrCat("The System URI could not be determined for the code '", in.code,
                                   "' in the ValueSet '", Canonical(*vs), "'"),
                      in.Path("code")));
        check.issues.push_back(MakeIssue(
            "code-invalid", "not-in-vs", "None_of_the_provided_codes_are_in_the_value_set_one",
            absl::StrCat("The provided code '#", in.code, "' was not found in the value set '",
                         Canonical(*vs), "'"),
            in.Path("code")));
        checks.push_back(std::move(check));
        continue;
      } else {
        return absl::InvalidArgumentError(
            "CodeSystem/$validate-code needs the code's system (url)");
      }
    }
    checks.push_back(CheckCoding(in, vs ? &*vs : nullptr, params, caller));
  }
  // A codeableConcept is valid when one of its codings is; the answer speaks of that one, or
  // of the first.
  const CodingCheck* chosen = &checks.front();
  for (const CodingCheck& c : checks) {
    if (c.result) {
      chosen = &c;
      break;
    }
  }
  const bool concept = params.Complex("codeableConcept", "valueCodeableConcept") != nullptr;
  std::vector<Issue> issues;
  if (resource.is_object()) {
    const std::string warning = StatusWarning(resource);
    if (warning == "deprecated" || warning == "withdrawn") {
      std::string id_upper = warning;
      absl::AsciiStrToUpper(&id_upper);
      issues.push_back(MakeIssue(
          "business-rule", "status-check", "MSG_" + id_upper,
          absl::StrCat("Reference to ", warning, " ValueSet ", Canonical(*vs)), "", "information"));
    }
  }
  // A codeableConcept with a coding in the value set is still invalid when another of its
  // codings is in error for a reason of its own (an unknown code): that coding's issues are
  // reported, its absence from the value set as information.
  bool other_error = false;
  for (const CodingCheck& c : checks) {
    if (chosen->result && &c != chosen) {
      bool own_error = false;
      for (const Issue& i : c.issues) {
        own_error |= i.severity == "error" && i.tx_code == "invalid-code";
      }
      if (!own_error) continue;
      other_error = true;
    }
    issues.insert(issues.end(), c.issues.begin(), c.issues.end());
  }
  const bool result = chosen->result && !other_error;
  if (other_error) {
    for (Issue& i : issues) {
      if (i.tx_code != "not-in-vs") continue;
      i.severity = "information";
      i.tx_code = "this-code-not-in-vs";
    }
  }
  // A codeableConcept none of whose codings is in the value set: one error for the concept,
  // and each coding's absence as information.
  if (concept && vs && !chosen->result) {
    bool none_in = false;
    for (Issue& i : issues) {
      if (i.tx_code != "not-in-vs") continue;
      i.severity = "information";
      i.tx_code = "this-code-not-in-vs";
      none_in = true;
    }
    if (none_in) {
      issues.insert(issues.begin(),
                    MakeIssue("code-invalid", "not-in-vs", "TX_GENERAL_CC_ERROR_MESSAGE",
                              absl::StrCat("No valid coding was found for the value set '",
                                           Canonical(*vs), "'"),
                              ""));
    }
  }
  ParamsOut out;
  out.Add("result", "valueBoolean", result);
  if (const Json* cc = params.Complex("codeableConcept", "valueCodeableConcept")) {
    out.Add("codeableConcept", "valueCodeableConcept", *cc);
  }
  // For a codeableConcept, the code, system, version and display are those of a coding found
  // that the value set does not leave out, if any.
  bool left_out = false;
  for (const Issue& i : chosen->issues) left_out |= i.tx_code == "not-in-vs";
  const bool speak = !concept || chosen->result || (chosen->found && !left_out);
  if (speak) {
    out.Add("code", "valueCode", chosen->code);
    if (!chosen->system.empty()) out.Add("system", "valueUri", chosen->system);
  }
  if (!chosen->version.empty() && chosen->version_known && speak) {
    out.Add("version", "valueString", chosen->version);
  }
  if (!chosen->display.empty() && speak) out.Add("display", "valueString", chosen->display);
  if (chosen->inactive) out.Add("inactive", "valueBoolean", true);
  if (chosen->unknown_system) {
    out.Add(chosen->caused_by_unknown_system ? "x-caused-by-unknown-system" : "x-unknown-system",
            "valueCanonical",
            chosen->unknown_canonical.empty() ? chosen->system : chosen->unknown_canonical);
  }
  if (!issues.empty()) {
    // The message: the errors' texts, else the warnings', else the information's (but for
    // notes on the status of the resources used).
    std::string level = "information";
    for (const Issue& i : issues) {
      if (i.severity == "error" || (i.severity == "warning" && level != "error")) {
        level = i.severity;
      }
    }
    std::vector<std::string> texts;
    for (const Issue& i : issues) {
      if (i.severity == level && i.tx_code != "status-check") texts.push_back(i.text);
    }
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    if (!texts.empty()) out.Add("message", "valueString", absl::StrJoin(texts, "; "));
    out.AddResource("issues", OperationOutcome(issues));
  }
  return Answer{200, out.Build()};
}

}  // namespace codebook::fhir
