// ConceptMap/$translate over the conversion tables a publisher ships (ICD-10-CM's, loaded with
// `codebook links`): a code's successors (the codes that took over its meaning in a later
// release), or with reverse (R4) / targetCode (R5) its predecessors, each with the date the
// link took effect. The map is named http://codebook.dev/fhir/ConceptMap/<system id>-conversion.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fhir/fhir_service.h"

namespace codebook::fhir {

std::string ConversionMapUrl(const std::string& system_id) {
  return absl::StrCat("http://codebook.dev/fhir/ConceptMap/", system_id, "-conversion");
}

FhirService::Result FhirService::Translate(const Params& params) const {
  // R4 names (system, code, coding, reverse) and R5 ones (sourceSystem, sourceCode,
  // sourceCoding; targetCode + targetSystem for the reverse direction).
  std::optional<std::string> system = params.Text("system");
  if (!system) system = params.Text("sourceSystem");
  std::optional<std::string> code = params.Text("code");
  if (!code) code = params.Text("sourceCode");
  absl::StatusOr<bool> reverse = params.Bool("reverse", false);
  if (!reverse.ok()) return reverse.status();
  for (const char* name : {"coding", "sourceCoding", "targetCoding"}) {
    if (const Json* c = params.Complex(name, "valueCoding")) {
      system = c->value("system", "");
      code = c->value("code", "");
      if (std::string(name) == "targetCoding") *reverse = true;
    }
  }
  if (std::optional<std::string> target = params.Text("targetCode")) {
    code = target;
    system = params.Text("targetSystem");
    *reverse = true;
  }
  if (!code || code->empty() || !system || system->empty()) {
    return absl::InvalidArgumentError(
        "$translate needs a code and its system (system and code, sourceSystem and sourceCode, "
        "a coding, or targetCode and targetSystem for the reverse direction)");
  }
  absl::StatusOr<const service::CodeSystemInfo*> info = SystemOf(*system);
  if (!info.ok()) return info.status();
  const std::string uri = FhirCanonical((*info)->id, (*info)->uri);
  const std::string map = ConversionMapUrl((*info)->id);
  if (std::optional<std::string> url = params.Text("url")) {
    if (url->substr(0, url->find('|')) != map) {
      return WithMessageId(
          absl::NotFoundError(absl::StrCat("A definition for the ConceptMap '", *url,
                                           "' could not be found; Codebook translates with ", map)),
          "Unable_to_resolve_ConceptMap_");
    }
  }
  v1::GetCodeHistoryRequest req;
  req.set_system((*info)->id);
  req.set_code(*code);
  v1::GetCodeHistoryResponse history;
  if (absl::Status s = terminology_->GetCodeHistory(req, &history); !s.ok()) return s;
  const auto& links = *reverse ? history.predecessors() : history.successors();
  ParamsOut out;
  out.Add("result", "valueBoolean", !links.empty());
  if (links.empty()) {
    out.Add("message", "valueString",
            absl::StrCat("No ", *reverse ? "predecessor" : "successor", " of ", uri, "#", *code,
                         " in ", map));
  }
  // A conversion table says a code took over (part of) another's meaning, not how the two
  // meanings compare: the relation is "related to".
  for (const v1::CodeLink& link : links) {
    const std::string& other = *reverse ? link.previous_code() : link.code();
    Json parts = Json::array();
    parts.push_back({{"name", "equivalence"}, {"valueCode", "relatedto"}});    // FHIR R4
    parts.push_back({{"name", "relationship"}, {"valueCode", "related-to"}});  // FHIR R5
    parts.push_back({{"name", "concept"}, {"valueCoding", {{"system", uri}, {"code", other}}}});
    parts.push_back({{"name", "originMap"}, {"valueCanonical", map}});
    if (!link.effective().empty()) {
      parts.push_back(
          {{"name", "property"},
           {"part", Json::array({{{"name", "code"}, {"valueCode", "effective"}},
                                 {{"name", "value"}, {"valueDate", link.effective()}}})}});
    }
    out.AddParts("match", std::move(parts));
  }
  return Answer{200, out.Build()};
}

}  // namespace codebook::fhir
