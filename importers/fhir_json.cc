#include "importers/fhir_json.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "importers/line_reader.h"

namespace codebook::importers::fhir {

absl::StatusOr<Json> ReadResource(const std::string& path, absl::string_view resource_type) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParseResource(*text, path, resource_type);
}

absl::StatusOr<Json> ParseResource(const std::string& json, const std::string& where,
                                   absl::string_view resource_type) {
  const std::string* text = &json;
  const std::string& path = where;
  Json doc;
  try {
    doc = Json::parse(*text);
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based offset where the parser stopped: say on which line it is.
    const size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text->size());
    const int64_t line = 1 + std::count(text->begin(), text->begin() + at, '\n');
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    if (size_t colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": not JSON: ", what));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a FHIR resource (the top level is not a JSON object)"));
  }
  auto type = doc.find("resourceType");
  if (type == doc.end() || !type->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": $.resourceType: absent; a FHIR ", resource_type, " is expected"));
  }
  if (type->get<std::string>() != resource_type) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": $.resourceType: '",
                                                   type->get<std::string>(), "' is not a ",
                                                   resource_type));
  }
  return doc;
}

std::string Member(const std::string& parent, absl::string_view key) {
  return absl::StrCat(parent, ".", key);
}

std::string Index(const std::string& parent, size_t i) {
  return absl::StrCat(parent, "[", i, "]");
}

absl::Status Reader::Error(absl::string_view json_path, absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ": ", json_path, ": ", what));
}

absl::Status Reader::CheckKeys(const Json& node, const std::string& json_path,
                               std::initializer_list<absl::string_view> allowed) const {
  if (!node.is_object()) return Error(json_path, "not a JSON object");
  auto known = [&](absl::string_view k) {
    return std::find(allowed.begin(), allowed.end(), k) != allowed.end();
  };
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& key = it.key();
    if (key == "extension" || key == "id" || key == "fhir_comments") continue;
    if (key == "modifierExtension") {
      return Error(Member(json_path, key),
                   "a modifier extension changes the meaning of its element and is not "
                   "understood here");
    }
    if (known(key)) continue;
    // "_name": the id and extensions of the primitive "name".
    if (key.size() > 1 && key[0] == '_' && known(absl::string_view(key).substr(1))) {
      if (!it->is_object() && !it->is_array()) {
        return Error(Member(json_path, key), "not a JSON object");
      }
      continue;
    }
    // "name:lang": a language-tagged copy of the string "name".
    if (size_t colon = key.find(':'); colon != std::string::npos && colon > 0 &&
                                      known(absl::string_view(key).substr(0, colon))) {
      if (!it->is_string()) return Error(Member(json_path, key), "not a JSON string");
      continue;
    }
    return Error(Member(json_path, key), "unknown element");
  }
  return absl::OkStatus();
}

absl::Status Reader::String(const Json& node, const std::string& json_path, const char* key,
                            std::string* out) const {
  out->clear();
  auto it = node.find(key);
  if (it == node.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return Error(Member(json_path, key), "not a JSON string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status Reader::Bool(const Json& node, const std::string& json_path, const char* key,
                          bool* out, bool* present) const {
  auto it = node.find(key);
  if (present != nullptr) *present = false;
  if (it == node.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return Error(Member(json_path, key), "not true or false");
  *out = it->get<bool>();
  if (present != nullptr) *present = true;
  return absl::OkStatus();
}

absl::Status Reader::Array(const Json& node, const std::string& json_path, const char* key,
                           const Json** out) const {
  *out = nullptr;
  auto it = node.find(key);
  if (it == node.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return Error(Member(json_path, key), "not a JSON array");
  *out = &*it;
  return absl::OkStatus();
}

absl::Status Reader::Object(const Json& node, const std::string& json_path, const char* key,
                            const Json** out) const {
  *out = nullptr;
  auto it = node.find(key);
  if (it == node.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return Error(Member(json_path, key), "not a JSON object");
  *out = &*it;
  return absl::OkStatus();
}

absl::Status ValueText(const Reader& reader, const Json& node, const std::string& json_path,
                       std::string* name, std::string* text) {
  name->clear();
  text->clear();
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& key = it.key();
    if (!absl::StartsWith(key, "value")) continue;
    if (!name->empty()) {
      return reader.Error(Member(json_path, key), absl::StrCat("a second value (", *name, ")"));
    }
    *name = key;
    const std::string at = Member(json_path, key);
    if (key == "valueCode" || key == "valueString" || key == "valueUri" ||
        key == "valueDateTime" || key == "valueCanonical" || key == "valueDate") {
      if (!it->is_string()) return reader.Error(at, "not a JSON string");
      *text = it->get<std::string>();
    } else if (key == "valueBoolean") {
      if (!it->is_boolean()) return reader.Error(at, "not true or false");
      *text = it->get<bool>() ? "true" : "false";
    } else if (key == "valueInteger" || key == "valueDecimal") {
      if (!it->is_number()) return reader.Error(at, "not a JSON number");
      if (key == "valueInteger" && !it->is_number_integer()) {
        return reader.Error(at, "not an integer");
      }
      *text = it->dump();
    } else if (key == "valueCoding") {
      if (absl::Status s = reader.CheckKeys(*it, at, {"system", "version", "code", "display",
                                                      "userSelected"});
          !s.ok()) {
        return s;
      }
      std::string system, code;
      if (absl::Status s = reader.String(*it, at, "system", &system); !s.ok()) return s;
      if (absl::Status s = reader.String(*it, at, "code", &code); !s.ok()) return s;
      if (code.empty()) return reader.Error(Member(at, "code"), "absent");
      *text = system.empty() ? code : absl::StrCat(system, "|", code);
    } else {
      return reader.Error(at, "a kind of value not taken here (code, Coding, string, integer, "
                              "boolean, dateTime, decimal, uri)");
    }
  }
  return absl::OkStatus();
}

}  // namespace codebook::importers::fhir
