// An operation's input parameters, from either form FHIR allows: the URL's query (and a form
// body), where every value is a string, or a Parameters resource in a POST body, where values
// are typed (value[x], a resource, or parts). Operations read them by name through one
// interface, so GET and POST answer alike.
#ifndef CODEBOOK_FHIR_PARAMETERS_H_
#define CODEBOOK_FHIR_PARAMETERS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fhir/outcome.h"

namespace codebook::fhir {

class Params {
 public:
  // From query pairs (already percent-decoded).
  static Params FromQuery(const std::vector<std::pair<std::string, std::string>>& query);
  // From a Parameters resource: INVALID_ARGUMENT naming the problem when `body` is not JSON or
  // not a Parameters resource, or a parameter has no name.
  static absl::StatusOr<Params> FromBody(const std::string& body);
  // Adds the query's pairs to parameters read from a body (FHIR allows both at once).
  void AddQuery(const std::vector<std::pair<std::string, std::string>>& query);
  // Adds `parameter` (a Parameters.parameter element) unless one of its name is given: a
  // default that the request overrides.
  void AddDefault(Json parameter);

  // The first value of `name` as text: a query value, or any primitive value[x] (boolean and
  // numbers printed); nullopt when absent or not primitive.
  std::optional<std::string> Text(const std::string& name) const;
  // Every value of `name` as text (for repeating parameters such as property).
  std::vector<std::string> Texts(const std::string& name) const;
  // The first complex value of `name` of JSON type key `value_key` ("valueCoding",
  // "valueCodeableConcept", "resource"); nullptr when absent.
  const Json* Complex(const std::string& name, const std::string& value_key) const;
  std::vector<const Json*> Complexes(const std::string& name, const std::string& value_key) const;
  bool Has(const std::string& name) const;
  // Whether `name`, as a boolean, is true ("true"; absent: `otherwise`). INVALID_ARGUMENT for
  // anything but true or false.
  absl::StatusOr<bool> Bool(const std::string& name, bool otherwise) const;
  // The names given, in order, for checks of unknown parameters.
  std::vector<std::string> Names() const;

 private:
  // Each parameter as a Parameters.parameter element ({"name":..., "valueString":...} for a
  // query value).
  std::vector<Json> params_;
};

// A Parameters resource being built for an answer.
class ParamsOut {
 public:
  ParamsOut& Add(const std::string& name, const std::string& value_key, Json value);
  ParamsOut& AddResource(const std::string& name, Json resource);
  ParamsOut& AddParts(const std::string& name, Json parts);
  Json Build() const;

 private:
  Json params_ = Json::array();
};

}  // namespace codebook::fhir

#endif  // CODEBOOK_FHIR_PARAMETERS_H_
