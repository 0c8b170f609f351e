// FHIR ValueSet resources (R4 4.0.1 and R5 5.0.0 JSON) as value-set definitions: see
// importers.h.
#include <string>

#include "absl/strings/str_cat.h"
#include "importers/fhir_json.h"
#include "importers/importers.h"

namespace codebook::importers {
namespace {

using fhir::Index;
using fhir::Json;
using fhir::Member;

class ValueSetParser {
 public:
  explicit ValueSetParser(const std::string& path) : reader_(path) {}

  absl::StatusOr<FhirValueSet> Parse(const Json& doc) {
    if (absl::Status s = reader_.CheckKeys(
            doc, "$",
            {"resourceType", "meta", "implicitRules", "language", "text", "contained", "url",
             "identifier", "version", "versionAlgorithmString", "versionAlgorithmCoding", "name",
             "title", "status", "experimental", "date", "publisher", "contact", "description",
             "useContext", "jurisdiction", "immutable", "purpose", "copyright", "copyrightLabel",
             "approvalDate", "lastReviewDate", "effectivePeriod", "topic", "author", "editor",
             "reviewer", "endorser", "relatedArtifact", "compose", "expansion", "scope"});
        !s.ok()) {
      return s;
    }
    FhirValueSet out;
    v1::ValueSet& vs = out.value_set;
    std::string url, version, name, title, publisher, description, date;
    for (auto [key, field] : {std::pair{"url", &url}, {"version", &version}, {"name", &name},
                              {"title", &title}, {"publisher", &publisher},
                              {"description", &description}, {"date", &date}}) {
      if (absl::Status s = reader_.String(doc, "$", key, field); !s.ok()) return s;
    }
    if (url.empty()) return reader_.Error("$.url", "absent: a value set needs its canonical URL");
    if (date.size() >= 10 && date[4] == '-' && date[7] == '-') out.date = date.substr(0, 10);
    vs.set_url(url);
    vs.set_version(version);
    vs.set_title(!title.empty() ? title : name);
    vs.set_publisher(publisher);
    vs.set_description(description);
    Json kept = doc;
    kept.erase("expansion");
    vs.set_resource_json(kept.dump(-1, ' ', false, Json::error_handler_t::replace));
    const Json* compose = nullptr;
    if (absl::Status s = reader_.Object(doc, "$", "compose", &compose); !s.ok()) return s;
    if (compose == nullptr) {
      return reader_.Error("$.compose", "absent: Codebook keeps value sets by their definition");
    }
    if (absl::Status s = reader_.CheckKeys(*compose, "$.compose",
                                           {"lockedDate", "inactive", "include", "exclude",
                                            "property"});
        !s.ok()) {
      return s;
    }
    bool inactive = false;
    if (absl::Status s = reader_.Bool(*compose, "$.compose", "inactive", &inactive); !s.ok()) {
      return s;
    }
    for (auto [key, rules] : {std::pair{"include", vs.mutable_includes()},
                              std::pair{"exclude", vs.mutable_excludes()}}) {
      const Json* list = nullptr;
      if (absl::Status s = reader_.Array(*compose, "$.compose", key, &list); !s.ok()) return s;
      for (size_t i = 0; list != nullptr && i < list->size(); ++i) {
        if (absl::Status s = ReadRule((*list)[i], Index(Member("$.compose", key), i), rules->Add());
            !s.ok()) {
          return s;
        }
      }
    }
    if (vs.includes().empty()) return reader_.Error("$.compose.include", "absent or empty");
    return out;
  }

 private:
  absl::Status ReadRule(const Json& node, const std::string& at, v1::ValueSetRule* rule) {
    if (absl::Status s = reader_.CheckKeys(node, at, {"system", "version", "concept", "filter",
                                                      "valueSet", "copyright"});
        !s.ok()) {
      return s;
    }
    std::string system, version;
    if (absl::Status s = reader_.String(node, at, "system", &system); !s.ok()) return s;
    if (absl::Status s = reader_.String(node, at, "version", &version); !s.ok()) return s;
    rule->set_system(system);
    rule->set_version(version);
    const Json* concepts = nullptr;
    if (absl::Status s = reader_.Array(node, at, "concept", &concepts); !s.ok()) return s;
    for (size_t j = 0; concepts != nullptr && j < concepts->size(); ++j) {
      const std::string c_at = Index(Member(at, "concept"), j);
      const Json& c = (*concepts)[j];
      if (absl::Status s = reader_.CheckKeys(c, c_at, {"code", "display", "designation"});
          !s.ok()) {
        return s;
      }
      std::string code;
      if (absl::Status s = reader_.String(c, c_at, "code", &code); !s.ok()) return s;
      if (code.empty()) return reader_.Error(Member(c_at, "code"), "absent");
      rule->add_codes(code);
    }
    const Json* filters = nullptr;
    if (absl::Status s = reader_.Array(node, at, "filter", &filters); !s.ok()) return s;
    for (size_t j = 0; filters != nullptr && j < filters->size(); ++j) {
      const std::string f_at = Index(Member(at, "filter"), j);
      const Json& f = (*filters)[j];
      if (absl::Status s = reader_.CheckKeys(f, f_at, {"property", "op", "value"}); !s.ok()) {
        return s;
      }
      v1::ValueSetFilter* out = rule->add_filters();
      std::string property, op, value;
      if (absl::Status s = reader_.String(f, f_at, "property", &property); !s.ok()) return s;
      if (absl::Status s = reader_.String(f, f_at, "op", &op); !s.ok()) return s;
      if (absl::Status s = reader_.String(f, f_at, "value", &value); !s.ok()) return s;
      if (property.empty()) return reader_.Error(Member(f_at, "property"), "absent");
      if (op.empty()) return reader_.Error(Member(f_at, "op"), "absent");
      out->set_property(property);
      out->set_op(op);
      out->set_value(value);
    }
    const Json* imports = nullptr;
    if (absl::Status s = reader_.Array(node, at, "valueSet", &imports); !s.ok()) return s;
    for (size_t j = 0; imports != nullptr && j < imports->size(); ++j) {
      if (!(*imports)[j].is_string()) {
        return reader_.Error(Index(Member(at, "valueSet"), j), "not a JSON string");
      }
      rule->add_value_sets((*imports)[j].get<std::string>());
    }
    if (system.empty() && rule->value_sets().empty()) {
      return reader_.Error(at, "neither a system nor a valueSet");
    }
    return absl::OkStatus();
  }

  fhir::Reader reader_;
};

}  // namespace

absl::StatusOr<FhirValueSet> ParseFhirValueSet(const std::string& path) {
  absl::StatusOr<Json> doc = fhir::ReadResource(path, "ValueSet");
  if (!doc.ok()) return doc.status();
  return ValueSetParser(path).Parse(*doc);
}

absl::StatusOr<FhirValueSet> ParseFhirValueSetJson(const std::string& json,
                                                   const std::string& where) {
  absl::StatusOr<Json> doc = fhir::ParseResource(json, where, "ValueSet");
  if (!doc.ok()) return doc.status();
  return ValueSetParser(where).Parse(*doc);
}

}  // namespace codebook::importers
