// ICD-10-PCS Tables, Index and Definitions (CMS's icd10pcs_tables_YYYY.xml, _index_,
// _definitions_; no schema is published, SOURCES.md section 2.8 describes them) -> the concepts
// of the ICD10PCS-TABLES and ICD10PCS-INDEX supplements. See importers.h for the mapping.
#include <algorithm>
#include <filesystem>
#include <map>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "importers/importers.h"
#include "importers/xml_file.h"

namespace codebook::importers {
namespace {

using codebook::v1::Concept;

constexpr int kMaxDepth = 32;          // index term levels (the files go to 5)
constexpr size_t kMaxKeyBytes = 1000;  // an index path longer than this is refused

bool IsPcsChar(char c) { return absl::ascii_isdigit(c) || absl::ascii_isupper(c); }

// A PCS code or partial code as written: 1 to 7 digits or upper-case letters.
bool IsPcsCode(absl::string_view c) {
  return !c.empty() && c.size() <= 7 && std::all_of(c.begin(), c.end(), IsPcsChar);
}

// One axis of a table or row: <axis pos="N" values="K"><title/><label code="C"/>...</axis>.
struct Axis {
  int pos = 0;
  std::string title;
  std::vector<std::pair<char, std::string>> labels;  // (character, meaning)
  std::string definition;                            // the operation's, on axis 3
};

absl::StatusOr<Axis> ReadAxis(const XmlFile& file, const pugi::xml_node& node) {
  Axis a;
  a.pos = node.attribute("pos").as_int();
  a.title = XmlFile::Text(node.child("title"));
  for (pugi::xml_node label : node.children("label")) {
    std::string code = label.attribute("code").value();
    if (code.size() != 1 || !IsPcsChar(code[0])) {
      return file.Error(label.offset_debug(),
                        absl::StrCat("label code '", code, "' is not one digit or capital letter"));
    }
    a.labels.emplace_back(code[0], XmlFile::Text(label));
  }
  a.definition = XmlFile::Text(node.child("definition"));
  if (a.pos < 1 || a.pos > 7 || a.title.empty() || a.labels.empty()) {
    return file.Error(node.offset_debug(),
                      "an <axis> needs pos 1 to 7, a <title> and at least one <label>");
  }
  if (!node.attribute("values").empty() &&
      node.attribute("values").as_int() != static_cast<int>(a.labels.size())) {
    return file.Error(node.offset_debug(),
                      absl::StrCat("the axis says values=\"", node.attribute("values").value(),
                                   "\" but has ", a.labels.size(), " labels"));
  }
  return a;
}

// The property of an axis: "<pos> <title>" -> "<char> <meaning>" lines.
void AddAxis(const Axis& a, Concept* c) {
  std::vector<std::string> lines;
  for (const auto& [ch, meaning] : a.labels) lines.push_back(absl::StrCat(std::string(1, ch), " ", meaning));
  (*c->mutable_properties())[absl::StrCat(a.pos, " ", a.title)] = absl::StrJoin(lines, "\n");
}

// The files of a folder whose names start with one of `prefixes` and end in .xml or .xml.gz,
// sorted by name.
std::vector<std::string> XmlFilesIn(const std::string& dir, std::vector<std::string> prefixes) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    for (const std::string& prefix : prefixes) {
      if (absl::StartsWith(name, prefix) &&
          (absl::EndsWith(name, ".xml") || absl::EndsWith(name, ".xml.gz"))) {
        files.push_back(f.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class PcsIndexParser {
 public:
  PcsIndexParser(const XmlFile& file, PcsIndexCounts* counts) : file_(file), counts_(counts) {}

  absl::Status Index(Concepts* out) {
    counts_->index_version = XmlFile::Text(file_.root().child("version"));
    for (pugi::xml_node letter : file_.root().children("letter")) {
      for (pugi::xml_node main : letter.children("mainTerm")) {
        ++counts_->elements["mainTerm"];
        if (absl::Status s = Term(main, "", "", 0, out); !s.ok()) return s;
      }
    }
    if (counts_->elements["mainTerm"] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": no <mainTerm> found"));
    }
    return absl::OkStatus();
  }

  absl::Status Definitions(Concepts* out) {
    counts_->definitions_version = XmlFile::Text(file_.root().child("version"));
    for (pugi::xml_node section : file_.root().children("section")) {
      ++counts_->elements["section"];
      std::string code = section.attribute("code").value();
      if (code.size() != 1 || !IsPcsChar(code[0])) {
        return file_.Error(section.offset_debug(),
                           absl::StrCat("section code '", code, "' is not one character"));
      }
      std::string section_title = XmlFile::Text(section.child("title"));
      for (pugi::xml_node axis : section.children("axis")) {
        std::string axis_title = XmlFile::Text(axis.child("title"));
        for (pugi::xml_node terms : axis.children("terms")) {
          ++counts_->elements["terms"];
          std::string title = XmlFile::Text(terms.child("title"));
          if (title.empty()) return file_.Error(terms.offset_debug(), "<terms> without a <title>");
          Concept c;
          c.set_code(Unique(absl::StrCat("DEFINITIONS:", code, ">",
                                         absl::AsciiStrToUpper(axis_title), ">",
                                         absl::AsciiStrToUpper(title))));
          c.set_display(absl::StrCat(section_title, ", ", axis_title, ", ", title));
          c.set_kind(v1::CONCEPT_KIND_CODE);
          c.set_billable(false);
          auto& props = *c.mutable_properties();
          props["table"] = "definitions";
          props["section"] = code;
          props["axis"] = absl::StrCat(axis.attribute("pos").as_int(), " ", axis_title);
          props["title"] = title;
          for (const char* part : {"definition", "explanation", "includes"}) {
            std::vector<std::string> texts;
            for (pugi::xml_node n : terms.children(part)) texts.push_back(XmlFile::Text(n));
            if (!texts.empty()) props[part] = absl::StrJoin(texts, "\n");
          }
          out->push_back(std::move(c));
        }
      }
    }
    for (pugi::xml_node agg : file_.root().child("deviceAggregation").children("aggregate")) {
      (void)agg;
      ++counts_->elements["aggregate"];
    }
    if (counts_->elements["section"] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": no <section> found"));
    }
    return absl::OkStatus();
  }

 private:
  // A key not used before: "KEY", then "KEY #2", ...
  std::string Unique(const std::string& key) {
    std::string k = key;
    for (int n = 2; !keys_.insert(k).second; ++n) k = absl::StrCat(key, " #", n);
    return k;
  }

  absl::Status Code(const pugi::xml_node& node, const char* what, std::string* out) {
    *out = XmlFile::Text(node);
    ++counts_->elements[what];
    if (!IsPcsCode(*out)) {
      return file_.Error(node.offset_debug(),
                         absl::StrCat("<", what, "> '", *out, "' is not an ICD-10-PCS code"));
    }
    return absl::OkStatus();
  }

  // One term: a concept, then its subterms. A term without a title (a list of references
  // under its main term) is named by its reference: "see Resection, Appendix", "use ...".
  absl::Status Term(const pugi::xml_node& node, const std::string& parent_key,
                    const std::string& parent_display, int depth, Concepts* out) {
    if (depth >= kMaxDepth) return file_.Error(node.offset_debug(), "terms nested too deep");
    Concept c;
    auto& props = *c.mutable_properties();
    props["table"] = "index";
    std::string title = XmlFile::Text(node.child("title"));
    for (pugi::xml_node child : node.children()) {
      std::string name = child.name();
      std::string code;
      if (name == "code" || name == "codes" || name == "tab") {
        if (absl::Status s = Code(child, name.c_str(), &code); !s.ok()) return s;
        props[name] = code;
      } else if (name == "see" || name == "use") {
        ++counts_->elements[name];
        // The reference's words, and the code it gives (<code>, <codes> or <tab> inside it).
        std::string words;
        for (pugi::xml_node part : child.children()) {
          std::string part_name = part.name();
          if (part_name == "code" || part_name == "codes" || part_name == "tab") {
            if (absl::Status s = Code(part, part_name.c_str(), &code); !s.ok()) return s;
            props[part_name] = code;
          } else if (part.type() == pugi::node_pcdata) {
            absl::StrAppend(&words, part.value());
          }
        }
        props[name] = std::string(absl::StripAsciiWhitespace(words));
      }
    }
    if (title.empty()) {
      // A term without a title is named by what it gives: "see Resection, Appendix",
      // "use Pons", or its code.
      for (const char* p : {"see", "use", "code", "codes", "tab"}) {
        if (props.count(p)) {
          title = (std::string(p) == "see" || std::string(p) == "use")
                      ? absl::StrCat(p, " ", props[p])
                      : props[p];
          break;
        }
      }
    }
    if (title.empty()) return file_.Error(node.offset_debug(), "a term without a title");
    props["title"] = title;
    std::string key = parent_key.empty() ? absl::StrCat("INDEX:", absl::AsciiStrToUpper(title))
                                         : absl::StrCat(parent_key, ">", absl::AsciiStrToUpper(title));
    if (key.size() > kMaxKeyBytes) return file_.Error(node.offset_debug(), "term path too long");
    key = Unique(key);
    std::string display = parent_display.empty() ? title : absl::StrCat(parent_display, ", ", title);
    c.set_code(key);
    c.set_display(display);
    c.set_parent(parent_key);
    bool has_terms = !node.child("term").empty();
    c.set_kind(has_terms ? v1::CONCEPT_KIND_HEADER : v1::CONCEPT_KIND_CODE);
    c.set_billable(false);
    out->push_back(std::move(c));
    for (pugi::xml_node term : node.children("term")) {
      ++counts_->elements["term"];
      if (absl::Status s = Term(term, key, display, depth + 1, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  const XmlFile& file_;
  PcsIndexCounts* counts_;
  std::set<std::string> keys_;
};

}  // namespace

absl::StatusOr<Concepts> ParseIcd10PcsTables(const std::string& path, PcsTablesCounts* counts) {
  absl::StatusOr<std::unique_ptr<XmlFile>> xml = XmlFile::Open(path, "ICD10PCS.tabular");
  if (!xml.ok()) return xml.status();
  const XmlFile& file = **xml;
  PcsTablesCounts local;
  local.version = XmlFile::Text(file.root().child("version"));
  Concepts out;
  std::set<std::string> tables;
  for (pugi::xml_node table : file.root().children("pcsTable")) {
    ++local.tables;
    Axis top[3];
    for (pugi::xml_node axis : table.children("axis")) {
      absl::StatusOr<Axis> a = ReadAxis(file, axis);
      if (!a.ok()) return a.status();
      if (a->pos > 3 || a->labels.size() != 1) {
        return file.Error(axis.offset_debug(),
                          "a table's own axes are positions 1 to 3 with one label each");
      }
      top[a->pos - 1] = std::move(*a);
    }
    std::string prefix;
    for (const Axis& a : top) {
      if (a.pos == 0) return file.Error(table.offset_debug(), "a table lacks one of axes 1 to 3");
      prefix.push_back(a.labels[0].first);
    }
    if (!tables.insert(prefix).second) {
      return file.Error(table.offset_debug(), absl::StrCat("table ", prefix, " appears twice"));
    }
    Concept t;
    t.set_code(prefix);
    t.set_display(absl::StrCat(top[0].labels[0].second, " / ", top[1].labels[0].second, " / ",
                               top[2].labels[0].second));
    t.set_kind(v1::CONCEPT_KIND_HEADER);
    for (const Axis& a : top) AddAxis(a, &t);
    if (!top[2].definition.empty()) (*t.mutable_properties())["definition"] = top[2].definition;
    out.push_back(std::move(t));
    int row_number = 0;
    for (pugi::xml_node row : table.children("pcsRow")) {
      ++local.rows;
      Concept r;
      r.set_code(absl::StrFormat("%s:%03d", prefix, ++row_number));
      r.set_parent(prefix);
      r.set_kind(v1::CONCEPT_KIND_CODE);
      int64_t product = 1;
      std::set<int> seen;
      std::string body_parts;
      for (pugi::xml_node axis : row.children("axis")) {
        absl::StatusOr<Axis> a = ReadAxis(file, axis);
        if (!a.ok()) return a.status();
        if (a->pos < 4 || !seen.insert(a->pos).second) {
          return file.Error(axis.offset_debug(), "a row's axes are positions 4 to 7, once each");
        }
        product *= static_cast<int64_t>(a->labels.size());
        if (a->pos == 4) {
          for (const auto& [ch, meaning] : a->labels) {
            absl::StrAppend(&body_parts, body_parts.empty() ? "" : ", ", meaning);
          }
        }
        AddAxis(*a, &r);
      }
      if (seen.size() != 4) return file.Error(row.offset_debug(), "a row lacks one of axes 4 to 7");
      if (!row.attribute("codes").empty() && row.attribute("codes").as_llong() != product) {
        return file.Error(row.offset_debug(),
                          absl::StrCat("the row says codes=\"", row.attribute("codes").value(),
                                       "\" but its labels make ", product));
      }
      local.codes += product;
      r.set_display(absl::StrCat(t.display(), ": ", body_parts));
      (*r.mutable_properties())["codes"] = absl::StrCat(product);
      out.push_back(std::move(r));
    }
    if (row_number == 0) return file.Error(table.offset_debug(), "a table without rows");
  }
  if (local.tables == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no <pcsTable> found"));
  }
  if (counts != nullptr) *counts = local;
  return out;
}

absl::StatusOr<Concepts> ParseIcd10PcsIndex(const std::string& path, PcsIndexCounts* counts) {
  std::error_code ec;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path, ec)) {
    files = XmlFilesIn(path, {"icd10pcs_index_", "icd10pcs_definitions_"});
    if (files.empty()) {
      return absl::NotFoundError(absl::StrCat(
          path, ": no icd10pcs_index_* or icd10pcs_definitions_* XML file in the folder"));
    }
  } else {
    files.push_back(path);
  }
  Concepts out;
  PcsIndexCounts local;
  bool index = false, definitions = false;
  for (const std::string& file : files) {
    // The publisher's names say which file it is; the root element must agree.
    const bool is_definitions =
        absl::StrContains(std::filesystem::path(file).filename().string(), "definitions");
    absl::StatusOr<std::unique_ptr<XmlFile>> xml =
        XmlFile::Open(file, is_definitions ? "ICD10PCS.definitions" : "ICD10PCS.index");
    if (!xml.ok()) return xml.status();
    bool& once = is_definitions ? definitions : index;
    if (once) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": a second ", is_definitions ? "definitions" : "index", " file in one release"));
    }
    once = true;
    PcsIndexParser parser(**xml, &local);
    absl::Status s = is_definitions ? parser.Definitions(&out) : parser.Index(&out);
    if (!s.ok()) return s;
  }
  if (counts != nullptr) *counts = std::move(local);
  return out;
}

}  // namespace codebook::importers
