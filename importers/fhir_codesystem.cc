// FHIR CodeSystem resources (R4 4.0.1 and R5 5.0.0 JSON) as concepts: see importers.h.
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "importers/fhir_json.h"
#include "importers/importers.h"

namespace codebook::importers {
namespace {

using fhir::Index;
using fhir::Json;
using fhir::Member;

constexpr absl::string_view kConceptProperties = "http://hl7.org/fhir/concept-properties#";

// What a concept property means to Codebook, from its definition in CodeSystem.property.
enum class Meaning { kOther, kStatus, kInactive, kNotSelectable, kParent };

Meaning MeaningOf(absl::string_view code, absl::string_view uri) {
  absl::string_view name = code;
  if (absl::StartsWith(uri, kConceptProperties)) name = uri.substr(kConceptProperties.size());
  else if (!uri.empty()) return Meaning::kOther;  // someone else's property of that name
  if (name == "status") return Meaning::kStatus;
  if (name == "inactive") return Meaning::kInactive;
  if (name == "notSelectable") return Meaning::kNotSelectable;
  if (name == "parent") return Meaning::kParent;
  return Meaning::kOther;
}

// "v3-ActReason" from "http://terminology.hl7.org/CodeSystem/v3-ActReason": the url's last
// segment with anything a system id may not hold made '-', at most 32 characters.
std::string IdFromUrl(absl::string_view url) {
  absl::string_view last = url;
  while (!last.empty() && (last.back() == '/' || last.back() == '#')) last.remove_suffix(1);
  if (size_t slash = last.find_last_of("/:#"); slash != absl::string_view::npos) {
    last = last.substr(slash + 1);
  }
  std::string id;
  for (char c : last) {
    if (id.size() == 32) break;
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '-';
    if (!ok && id.empty()) continue;
    id.push_back(ok ? c : '-');
  }
  return id;
}

class CodeSystemParser {
 public:
  explicit CodeSystemParser(const std::string& path) : reader_(path) {}

  absl::StatusOr<FhirCodeSystem> Parse(const Json& doc) {
    const std::string root = "$";
    if (absl::Status s = reader_.CheckKeys(
            doc, root,
            {"resourceType", "meta", "implicitRules", "language", "text", "contained", "url",
             "identifier", "version", "versionAlgorithmString", "versionAlgorithmCoding", "name",
             "title", "status", "experimental", "date", "publisher", "contact", "description",
             "useContext", "jurisdiction", "purpose", "copyright", "copyrightLabel",
             "approvalDate", "lastReviewDate", "effectivePeriod", "topic", "author", "editor",
             "reviewer", "endorser", "relatedArtifact", "caseSensitive", "valueSet",
             "hierarchyMeaning", "compositional", "versionNeeded", "content", "supplements",
             "count", "filter", "property", "concept"});
        !s.ok()) {
      return s;
    }
    FhirCodeSystem out;
    Json header = doc;
    header.erase("concept");
    out.resource_json = header.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string url, name, title, publisher, date, meaning;
    for (auto [key, field] : {std::pair{"url", &url}, {"name", &name}, {"title", &title},
                              {"publisher", &publisher}, {"date", &date},
                              {"hierarchyMeaning", &meaning}, {"id", &out.resource_id},
                              {"version", &out.version}, {"content", &out.content},
                              {"supplements", &out.supplements}, {"language", &out.language}}) {
      if (absl::Status s = reader_.String(doc, root, key, field); !s.ok()) return s;
    }
    if (url.empty()) return reader_.Error("$.url", "absent: a code system needs its canonical URL");
    static const char* const kContents[] = {"not-present", "example", "fragment", "complete",
                                            "supplement"};
    if (out.content.empty()) return reader_.Error("$.content", "absent");
    if (std::find(std::begin(kContents), std::end(kContents), out.content) ==
        std::end(kContents)) {
      return reader_.Error("$.content", absl::StrCat("'", out.content, "' is not a FHIR content "
                                                     "mode (not-present, example, fragment, "
                                                     "complete, supplement)"));
    }
    if (out.content == "supplement" && out.supplements.empty()) {
      return reader_.Error("$.supplements", "absent in a supplement");
    }
    if (!date.empty()) {
      // FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD or with a time; the day, when it has one.
      if (date.size() >= 10 && date[4] == '-' && date[7] == '-') {
        out.date = date.substr(0, 10);
      } else if (date.size() != 4 && date.size() != 7) {
        return reader_.Error("$.date", absl::StrCat("'", date, "' is not a FHIR dateTime"));
      }
    }
    bool case_sensitive = false;
    if (absl::Status s = reader_.Bool(doc, root, "caseSensitive", &case_sensitive); !s.ok()) {
      return s;
    }
    case_sensitive_ = case_sensitive;
    v1::CodeSystem& system = out.system;
    system.set_uri(url);
    system.set_id(IdFromUrl(url));
    system.set_title(!title.empty() ? title : !name.empty() ? name : system.id());
    system.set_publisher(publisher);
    system.set_case_sensitive(case_sensitive);
    system.set_hierarchy_meaning(meaning);

    if (absl::Status s = ReadPropertyDefinitions(doc); !s.ok()) return s;
    const Json* filters = nullptr;
    if (absl::Status s = reader_.Array(doc, root, "filter", &filters); !s.ok()) return s;
    for (size_t i = 0; filters != nullptr && i < filters->size(); ++i) {
      if (absl::Status s = reader_.CheckKeys((*filters)[i], Index("$.filter", i),
                                             {"code", "description", "operator", "value"});
          !s.ok()) {
        return s;
      }
    }
    const Json* concepts = nullptr;
    if (absl::Status s = reader_.Array(doc, root, "concept", &concepts); !s.ok()) return s;
    if (concepts != nullptr) {
      if (absl::Status s = ReadConcepts(*concepts, "$.concept", "", &out.concepts); !s.ok()) {
        return s;
      }
    }
    return out;
  }

 private:
  absl::Status ReadPropertyDefinitions(const Json& doc) {
    const Json* props = nullptr;
    if (absl::Status s = reader_.Array(doc, "$", "property", &props); !s.ok()) return s;
    for (size_t i = 0; props != nullptr && i < props->size(); ++i) {
      const std::string at = Index("$.property", i);
      const Json& p = (*props)[i];
      if (absl::Status s = reader_.CheckKeys(p, at, {"code", "uri", "description", "type"});
          !s.ok()) {
        return s;
      }
      std::string code, uri;
      if (absl::Status s = reader_.String(p, at, "code", &code); !s.ok()) return s;
      if (absl::Status s = reader_.String(p, at, "uri", &uri); !s.ok()) return s;
      if (code.empty()) return reader_.Error(Member(at, "code"), "absent");
      meanings_[code] = MeaningOf(code, uri);
    }
    return absl::OkStatus();
  }

  absl::Status ReadConcepts(const Json& list, const std::string& at, const std::string& parent,
                            Concepts* out) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string here = Index(at, i);
      const Json& c = list[i];
      if (absl::Status s = reader_.CheckKeys(
              c, here, {"code", "display", "definition", "designation", "property", "concept"});
          !s.ok()) {
        return s;
      }
      v1::Concept concept;
      std::string code, display, definition;
      if (absl::Status s = reader_.String(c, here, "code", &code); !s.ok()) return s;
      if (code.empty()) return reader_.Error(Member(here, "code"), "absent");
      if (code.size() > 256 || code != absl::StripAsciiWhitespace(code)) {
        return reader_.Error(Member(here, "code"),
                             "a code is 1 to 256 characters, without spaces at either end");
      }
      const std::string key = case_sensitive_ ? code : absl::AsciiStrToUpper(code);
      if (auto [it, added] = seen_.emplace(key, here); !added) {
        return reader_.Error(Member(here, "code"),
                             absl::StrCat("'", code, "' is defined already at ", it->second,
                                          case_sensitive_ ? "" : " (the system ignores case)"));
      }
      concept.set_code(code);
      if (absl::Status s = reader_.String(c, here, "display", &display); !s.ok()) return s;
      concept.set_display(display);
      if (!parent.empty()) concept.set_parent(parent);
      auto& props = *concept.mutable_properties();
      if (absl::Status s = reader_.String(c, here, "definition", &definition); !s.ok()) return s;
      if (!definition.empty()) props["definition"] = definition;
      for (auto it = c.begin(); it != c.end(); ++it) {  // "definition:de"
        if (absl::StartsWith(it.key(), "definition:")) props[it.key()] = it->get<std::string>();
      }
      if (absl::Status s = ReadDesignations(c, here, &concept); !s.ok()) return s;
      if (absl::Status s = ReadProperties(c, here, &concept); !s.ok()) return s;
      const std::string own_code = concept.code();
      out->push_back(std::move(concept));
      const Json* children = nullptr;
      if (absl::Status s = reader_.Array(c, here, "concept", &children); !s.ok()) return s;
      if (children != nullptr) {
        if (absl::Status s = ReadConcepts(*children, Member(here, "concept"), own_code, out);
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadDesignations(const Json& c, const std::string& here, v1::Concept* concept) {
    const Json* list = nullptr;
    if (absl::Status s = reader_.Array(c, here, "designation", &list); !s.ok()) return s;
    for (size_t j = 0; list != nullptr && j < list->size(); ++j) {
      const std::string at = Index(Member(here, "designation"), j);
      const Json& d = (*list)[j];
      if (absl::Status s = reader_.CheckKeys(d, at, {"language", "use", "additionalUse",
                                                     "value"});
          !s.ok()) {
        return s;
      }
      v1::Designation* out = concept->add_designations();
      std::string language, value;
      if (absl::Status s = reader_.String(d, at, "language", &language); !s.ok()) return s;
      if (absl::Status s = reader_.String(d, at, "value", &value); !s.ok()) return s;
      if (value.empty()) return reader_.Error(Member(at, "value"), "absent");
      if (language.find('@') != std::string::npos) {
        return reader_.Error(Member(at, "language"), "not a language tag");
      }
      out->set_language(language);
      out->set_value(value);
      const Json* use = nullptr;
      if (absl::Status s = reader_.Object(d, at, "use", &use); !s.ok()) return s;
      if (use != nullptr) {
        const std::string use_at = Member(at, "use");
        if (absl::Status s = reader_.CheckKeys(*use, use_at, {"system", "version", "code",
                                                              "display", "userSelected"});
            !s.ok()) {
          return s;
        }
        std::string system, code;
        if (absl::Status s = reader_.String(*use, use_at, "system", &system); !s.ok()) return s;
        if (absl::Status s = reader_.String(*use, use_at, "code", &code); !s.ok()) return s;
        std::string text = system.empty() ? code : absl::StrCat(system, "|", code);
        if (text.find('@') != std::string::npos) {
          return reader_.Error(use_at, "a use with '@' is not taken");
        }
        out->set_use(text);
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadProperties(const Json& c, const std::string& here, v1::Concept* concept) {
    const Json* list = nullptr;
    if (absl::Status s = reader_.Array(c, here, "property", &list); !s.ok()) return s;
    bool inactive = false, not_selectable = false;
    std::map<std::string, std::vector<std::string>> values;
    for (size_t j = 0; list != nullptr && j < list->size(); ++j) {
      const std::string at = Index(Member(here, "property"), j);
      const Json& p = (*list)[j];
      if (!p.is_object()) return reader_.Error(at, "not a JSON object");
      std::vector<absl::string_view> keys = {"code"};
      for (auto it = p.begin(); it != p.end(); ++it) {
        if (absl::StartsWith(it.key(), "value")) keys.push_back(it.key());
      }
      if (absl::Status s = CheckKeysIn(p, at, keys); !s.ok()) return s;
      std::string code, kind, text;
      if (absl::Status s = reader_.String(p, at, "code", &code); !s.ok()) return s;
      if (code.empty()) return reader_.Error(Member(at, "code"), "absent");
      if (absl::Status s = fhir::ValueText(reader_, p, at, &kind, &text); !s.ok()) return s;
      if (kind.empty()) return reader_.Error(at, "no value[x]");
      auto m = meanings_.find(code);
      const Meaning meaning = m != meanings_.end() ? m->second : MeaningOf(code, "");
      switch (meaning) {
        case Meaning::kStatus:
          if (text == "retired" || text == "inactive") inactive = true;
          break;
        case Meaning::kInactive: inactive = inactive || text == "true"; break;
        case Meaning::kNotSelectable: not_selectable = not_selectable || text == "true"; break;
        case Meaning::kParent:
          if (concept->parent().empty()) concept->set_parent(text);
          break;
        case Meaning::kOther: break;
      }
      values[code].push_back(std::move(text));
    }
    for (auto& [code, list_of] : values) {
      (*concept->mutable_properties())[code] = absl::StrJoin(list_of, "\n");
    }
    concept->set_status(inactive ? v1::CONCEPT_STATUS_INACTIVE : v1::CONCEPT_STATUS_ACTIVE);
    concept->set_kind(not_selectable ? v1::CONCEPT_KIND_HEADER : v1::CONCEPT_KIND_CODE);
    concept->set_billable(!not_selectable);
    return absl::OkStatus();
  }

  absl::Status CheckKeysIn(const Json& node, const std::string& at,
                           const std::vector<absl::string_view>& keys) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "extension" || it.key() == "id") continue;
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
        return reader_.Error(Member(at, it.key()), "unknown element");
      }
    }
    return absl::OkStatus();
  }

  fhir::Reader reader_;
  bool case_sensitive_ = false;
  absl::flat_hash_map<std::string, Meaning> meanings_;
  absl::flat_hash_map<std::string, std::string> seen_;  // code -> where it was defined
};

}  // namespace

absl::StatusOr<FhirCodeSystem> ParseFhirCodeSystem(const std::string& path) {
  absl::StatusOr<Json> doc = fhir::ReadResource(path, "CodeSystem");
  if (!doc.ok()) return doc.status();
  return CodeSystemParser(path).Parse(*doc);
}

}  // namespace codebook::importers
