// Reading FHIR resources in JSON (R4 and R5) strictly: every element is checked against the list
// of elements the resource may hold at that place, and anything unknown or of the wrong JSON type
// is INVALID_ARGUMENT naming the file and the element's JSON path ("$.concept[3].property[0]").
//
// FHIR's own JSON conventions are accepted wherever an element is: "_name" (the extensions and id
// of a primitive "name") and "name:lang" (a language-tagged copy of a string, as the HL7
// terminology test suite writes translations); `extension` is accepted and not interpreted,
// `modifierExtension` is refused (FHIR: a modifier nobody understands must not be ignored).
// Internal to the importers.
#ifndef CODEBOOK_IMPORTERS_FHIR_JSON_H_
#define CODEBOOK_IMPORTERS_FHIR_JSON_H_

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace codebook::importers::fhir {

using Json = nlohmann::json;

// The JSON document in `path` (plain or gzip-compressed). A file that is not JSON is
// INVALID_ARGUMENT "<path>:<line>: <what>"; one whose top level is not an object of the
// `resource_type` (its "resourceType") is INVALID_ARGUMENT naming what it is.
absl::StatusOr<Json> ReadResource(const std::string& path, absl::string_view resource_type);
// The same for JSON text already read; `where` names it in errors as the path would.
absl::StatusOr<Json> ParseResource(const std::string& json, const std::string& where,
                                   absl::string_view resource_type);

// Error helper bound to one file.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  // INVALID_ARGUMENT "<file>: <json path>: <what>".
  absl::Status Error(absl::string_view json_path, absl::string_view what) const;

  // OK if every key of the object `node` (at `json_path`) is one of `allowed`, or one of
  // FHIR's conventions above for one of them; else the error naming the first key that is not.
  // Also checks that `node` is an object.
  absl::Status CheckKeys(const Json& node, const std::string& json_path,
                         std::initializer_list<absl::string_view> allowed) const;

  // The string at node[key] ("" when absent); an error when present and not a string.
  absl::Status String(const Json& node, const std::string& json_path, const char* key,
                      std::string* out) const;
  // The boolean at node[key] (`*present` false when absent).
  absl::Status Bool(const Json& node, const std::string& json_path, const char* key, bool* out,
                    bool* present = nullptr) const;
  // node[key] as an array (`*out` null when absent); an error when present and not an array.
  absl::Status Array(const Json& node, const std::string& json_path, const char* key,
                     const Json** out) const;
  // node[key] as an object (`*out` null when absent); an error when present and not an object.
  absl::Status Object(const Json& node, const std::string& json_path, const char* key,
                      const Json** out) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `parent` + "." + key, and `parent` + "[i]".
std::string Member(const std::string& parent, absl::string_view key);
std::string Index(const std::string& parent, size_t i);

// A FHIR value[x] of a concept property or a filter as text: valueCode, valueString,
// valueUri and valueDateTime as written, valueBoolean "true"/"false", valueInteger and
// valueDecimal as numbers, valueCoding "system|code" ("code" without a system). `*name` gets the
// element's name ("valueCode"). NOT an error when absent: `*name` is then "".
absl::Status ValueText(const Reader& reader, const Json& node, const std::string& json_path,
                       std::string* name, std::string* text);

}  // namespace codebook::importers::fhir

#endif  // CODEBOOK_IMPORTERS_FHIR_JSON_H_
