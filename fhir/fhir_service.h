// FHIR R4 (4.0.1) terminology service over the domain: the same calls the gRPC handlers make
// (service/terminology_impl.h), the same release selection, errors, tokens and licences, with
// FHIR's resources and operations in JSON (application/fhir+json).
//
// Transport-free: the HTTP port (server/http_routes.h) turns each request under /fhir into a
// Request and sends back the Response; tests may call Handle directly. Thread-safe: Handle may
// run on many threads at once.
//
// Served (paths relative to the base, /fhir):
//   GET  metadata                         CapabilityStatement; ?mode=terminology for
//                                         TerminologyCapabilities
//   GET  CodeSystem, CodeSystem/ID        search (url, version, name, system) and read: one
//                                         resource per published release, content not-present
//   GET|POST CodeSystem/$lookup           code + system (+ version | date), property,
//                                         displayLanguage
//   GET|POST CodeSystem/$validate-code    code + url/system (+ version | date), display
//   GET|POST CodeSystem/$subsumes         codeA, codeB, system (+ version)
//   GET  ValueSet                         search (url, version) of the stored value sets
//   GET|POST ValueSet/$expand             url (stored, implicit ?fhir_vs[=isa/CODE], or a
//                                         tx-resource) or valueSet; filter, count, offset,
//                                         activeOnly, includeDesignations, date
//   GET|POST ConceptMap/$translate        system + code (R4) or sourceSystem + sourceCode (R5):
//                                         successors from the conversion tables; reverse (or
//                                         targetCode) for predecessors, each with its date
//   GET|POST ValueSet/$validate-code      the value set as for $expand; code + system (+
//                                         systemVersion), coding or codeableConcept; display
// Errors are OperationOutcome resources with the HTTP status of outcome.h's ErrorFromStatus.
#ifndef CODEBOOK_FHIR_FHIR_SERVICE_H_
#define CODEBOOK_FHIR_FHIR_SERVICE_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "fhir/outcome.h"
#include "fhir/parameters.h"
#include "service/auth.h"
#include "service/terminology_impl.h"

namespace codebook::fhir {

// The canonical URI FHIR clients know a system by: the registry's URI, but for HCPCS HL7's
// (terminology.hl7.org names it with http://, the registry with https://; both are accepted).
std::string FhirCanonical(const std::string& system_id, const std::string& registry_uri);

// A code as Codebook reads it: CPT and HCPCS post-coordinated expressions with modifiers,
// "99213:25" (FHIR's form), become Codebook's "99213-25"; other codes are unchanged.
std::string CodeOf(const service::CodeSystemInfo& system, const std::string& code);

// The value[x] key of a FHIR code system's property, from its declared type ("" unknown).
std::string PropertyValueKey(const Json& resource, const std::string& code);
// A stored property value as FHIR types it in `resource` (a code system; may be null:
// valueString): the value[x] key and the value.
std::pair<std::string, Json> PropertyValue(const Json* resource, const std::string& code,
                                           const std::string& value);

// What a FHIR resource's status says a reader should be warned of: "withdrawn" or
// "deprecated" (its standards-status extension), "draft", "experimental"; "" for nothing.
std::string StatusWarning(const Json& resource);

// The FHIR resource a value set was made from, parsed; null when it has none.
Json ParsedResource(const v1::ValueSet& vs);
// `params` with the parameters a value set's definition sets (its resource's compose
// valueset-expansion-parameter extensions) added where the request does not give them.
Params WithExpansionParameters(const Params& params, const Json& resource);

// The language tags a displayLanguage or Accept-Language value asks for, in order ("de, en;q=0.8,
// *" is {"de", "en"}: weights and the wildcard dropped).
std::vector<std::string> LanguagesAsked(const std::string& asked);
// Whether a display in `language` is one of `asked`: no languages asked, a display of no stated
// language, or a tag that one of them equals or is a prefix of at a "-" ("de" and "de-CH").
bool LanguageWanted(const std::vector<std::string>& asked, const std::string& language);

// The canonical of the ConceptMap of a system's conversion tables.
std::string ConversionMapUrl(const std::string& system_id);

// Whether a code system version matches a FHIR version pattern: equal, or equal but for "x" or
// "*" segments ("1.0.x" matches "1.0.0").
bool VersionMatches(const std::string& pattern, const std::string& version);

// Whether resource version `a` comes before `b`: segment by segment, numerically where both
// segments are numbers ("1.10.0" after "1.9.0"), else as text.
bool VersionBefore(const std::string& a, const std::string& b);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // below the base: "/metadata", "/CodeSystem/$lookup"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string body;
  std::string content_type;
  std::string accept_language;
  // Credentials, as on the gRPC port: the "authorization" header and the client certificate's
  // common name (mutual TLS); empty when absent.
  std::string authorization;
  std::string client_common_name;
  std::string base_url;  // e.g. "http://127.0.0.1:8080/fhir", for references in answers
};

struct Response {
  int status = 200;
  std::string content_type = "application/fhir+json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class FhirService {
 public:
  // `terminology` (required) and `auth` (null: every call allowed, no licences enforced) must
  // outlive the service.
  FhirService(const service::TerminologyImpl* terminology, const service::Authorizer* auth);

  Response Handle(const Request& request) const;

 private:
  // The caller's access, decided once per request.
  struct Caller {
    const Request* request;
    // Whether answers about the system with licence scope `scope` must leave out its text.
    bool LacksLicence(const service::Authorizer* auth, const std::string& scope) const;
  };
  // A JSON answer, or an error.
  struct Answer {
    int status = 200;
    Json body;
  };
  using Result = absl::StatusOr<Answer>;

  Result Route(const Request& request, const Caller& caller) const;
  // An operation's parameters: the query (and form body), or a Parameters body with the query.
  static absl::StatusOr<Params> ParamsOf(const Request& request);
  Result Metadata(const Request& request) const;
  Result TerminologyCapabilities() const;
  Result SearchCodeSystems(const Request& request) const;
  Result ReadCodeSystem(const std::string& id) const;
  Result Lookup(const Params& params, const Caller& caller) const;
  // One coding checked (validate_code.cc).
  struct CodingIn;
  struct CodingCheck;
  CodingCheck CheckCoding(const CodingIn& in, const v1::ValueSet* vs, const Params& params,
                          const Caller& caller) const;
  Result ValidateCode(const Params& params, const Caller& caller, bool in_value_set) const;
  Result Subsumes(const Params& params) const;
  Result Expand(const Params& params, const Caller& caller) const;
  Result Translate(const Params& params) const;
  Result SearchValueSets(const Request& request) const;

  // The value set a request names: a valueSet resource, a tx-resource with the url asked for,
  // an implicit one (url?fhir_vs...), or a stored one (url, valueSetVersion or url|version).
  absl::StatusOr<v1::ValueSet> ValueSetOf(const Params& params) const;

  // NOT_FOUND ("Required supplement not found") for a supplement the request asks for
  // (useSupplement) or the value set names (its valueset-supplement extension) that is not a
  // code system here.
  absl::Status CheckSupplements(const Params& params, const v1::ValueSet* vs) const;

  // Code system versions (versions.cc). The published release versions of a system, in
  // publish order.
  std::vector<std::string> VersionsOf(const std::string& system_id) const;
  // Those versions as FHIR's messages list them: "1.0.0, 1.1.0 or 1.2.0".
  std::string VersionListText(const std::string& system_id) const;
  // INVALID_ARGUMENT (vs-invalid) when a filter of the value set's definition has no value. Its
  // expression is the filter's value with the value set's canonical when `expanding`
  // ("ValueSet[URL|VERSION].compose.include[0].filter[0].value"), else the filter's
  // ("ValueSet.compose.include[0].filter[0]"), as tx.fhir.org words each.
  absl::Status CheckFilters(const v1::ValueSet& vs, bool expanding) const;
  // The published version `pattern` names: itself, else the newest one it matches with "x" or
  // "*" segments (FHIR's version wildcards, "1.0.x"); "" when none.
  std::string ResolveVersion(const std::string& system_id, const std::string& pattern) const;
  // The version a request's system-version (default), force-system-version or
  // check-system-version parameter gives `system_uri` ("" when none).
  static std::string VersionParam(const Params& params, const std::string& name,
                                  const std::string& system_uri);
  // The version the value set's includes pin for a system (id or URI); "" when none or when
  // they differ.
  static std::string PinnedVersion(const v1::ValueSet& vs, const std::string& system_id,
                                   const std::string& system_uri);
  // The definition with the request's version parameters applied to its includes: a forced
  // version replaces theirs, a default fills those without one (wildcards resolved).
  // Returns whether the request's system-version default was applied to an include.
  bool ApplyVersionParams(const Params& params, v1::ValueSet* vs) const;
  absl::StatusOr<v1::ValueSet> ImplicitValueSet(const std::string& url) const;
  // A value set as a FHIR resource: the one it was made from, else one made from its rules.
  Json ValueSetResource(const v1::ValueSet& vs) const;

  // The system a FHIR canonical URI (or Codebook id) names; NOT_FOUND as FHIR words it.
  absl::StatusOr<const service::CodeSystemInfo*> SystemOf(const std::string& uri) const;
  // The release selector of `version` and/or `date` (INVALID_ARGUMENT when both are given).
  absl::StatusOr<v1::ReleaseSelector> SelectorOf(const Params& params) const;

  // The FHIR CodeSystem resource a release was imported from (without its concepts), parsed
  // once: releases never change; null for a release that has none (Codebook's own systems).
  std::shared_ptr<const Json> ResourceOf(const std::string& system_id,
                                         const std::string& version) const;

  const service::TerminologyImpl* terminology_;
  const service::Authorizer* auth_;
  mutable absl::Mutex resources_mu_;
  mutable std::map<std::pair<std::string, std::string>, std::shared_ptr<const Json>> resources_
      ABSL_GUARDED_BY(resources_mu_);
};

}  // namespace codebook::fhir

#endif  // CODEBOOK_FHIR_FHIR_SERVICE_H_
