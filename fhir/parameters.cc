#include "fhir/parameters.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace codebook::fhir {
namespace {

// The value[x] key of a parameter element, or "" when it has none.
std::string ValueKey(const Json& p) {
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (absl::StartsWith(it.key(), "value")) return it.key();
  }
  return "";
}

std::optional<std::string> PrimitiveText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  return std::nullopt;
}

}  // namespace

Params Params::FromQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  Params p;
  p.AddQuery(query);
  return p;
}

void Params::AddQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  for (const auto& [name, value] : query) {
    params_.push_back({{"name", name}, {"valueString", value}});
  }
}

void Params::AddDefault(Json parameter) {
  if (!parameter.is_object() || Has(parameter.value("name", ""))) return;
  params_.push_back(std::move(parameter));
}

absl::StatusOr<Params> Params::FromBody(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("the body is not JSON");
  if (!j.is_object() || j.value("resourceType", "") != "Parameters") {
    return absl::InvalidArgumentError("the body is not a Parameters resource");
  }
  Params p;
  if (!j.contains("parameter")) return p;
  if (!j["parameter"].is_array()) {
    return absl::InvalidArgumentError("Parameters.parameter is not an array");
  }
  int i = 0;
  for (Json& e : j["parameter"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("Parameters.parameter[", i, "] has no name"));
    }
    p.params_.push_back(std::move(e));
    ++i;
  }
  return p;
}

std::optional<std::string> Params::Text(const std::string& name) const {
  for (const Json& p : params_) {
    if (p["name"] != name) continue;
    std::string key = ValueKey(p);
    if (!key.empty()) {
      if (std::optional<std::string> t = PrimitiveText(p[key])) return t;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Params::Texts(const std::string& name) const {
  std::vector<std::string> out;
  for (const Json& p : params_) {
    if (p["name"] != name) continue;
    std::string key = ValueKey(p);
    if (key.empty()) continue;
    if (std::optional<std::string> t = PrimitiveText(p[key])) out.push_back(*t);
  }
  return out;
}

const Json* Params::Complex(const std::string& name, const std::string& value_key) const {
  for (const Json& p : params_) {
    if (p["name"] == name && p.contains(value_key) && p[value_key].is_object()) {
      return &p[value_key];
    }
  }
  return nullptr;
}

std::vector<const Json*> Params::Complexes(const std::string& name,
                                           const std::string& value_key) const {
  std::vector<const Json*> out;
  for (const Json& p : params_) {
    if (p["name"] == name && p.contains(value_key) && p[value_key].is_object()) {
      out.push_back(&p[value_key]);
    }
  }
  return out;
}

bool Params::Has(const std::string& name) const {
  for (const Json& p : params_) {
    if (p["name"] == name) return true;
  }
  return false;
}

absl::StatusOr<bool> Params::Bool(const std::string& name, bool otherwise) const {
  std::optional<std::string> t = Text(name);
  if (!t) return otherwise;
  if (*t == "true") return true;
  if (*t == "false") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("parameter '", name, "' is '", *t, "', not true or false"));
}

std::vector<std::string> Params::Names() const {
  std::vector<std::string> out;
  for (const Json& p : params_) out.push_back(p["name"].get<std::string>());
  return out;
}

ParamsOut& ParamsOut::Add(const std::string& name, const std::string& value_key, Json value) {
  params_.push_back({{"name", name}, {value_key, std::move(value)}});
  return *this;
}

ParamsOut& ParamsOut::AddResource(const std::string& name, Json resource) {
  params_.push_back({{"name", name}, {"resource", std::move(resource)}});
  return *this;
}

ParamsOut& ParamsOut::AddParts(const std::string& name, Json parts) {
  params_.push_back({{"name", name}, {"part", std::move(parts)}});
  return *this;
}

Json ParamsOut::Build() const {
  Json j = {{"resourceType", "Parameters"}};
  j["parameter"] = params_;
  return j;
}

}  // namespace codebook::fhir
