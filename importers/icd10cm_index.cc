// ICD-10-CM Alphabetic Index, External Cause Index, Table of Drugs and Chemicals and Neoplasm
// Table (CDC's icd10cm_index_YYYY.xml, _eindex_, _drug_, _neoplasm_; schema icd10cm_index.xsd)
// -> the concepts of the ICD10CM-INDEX supplement. See importers.h for the mapping.
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
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "importers/importers.h"
#include "importers/line_reader.h"
#include "importers/xml_file.h"

namespace codebook::importers {
namespace {

using codebook::v1::Concept;

constexpr int kMaxDepth = 32;          // term levels (the files go to 7)
constexpr size_t kMaxKeyBytes = 1000;  // a path longer than this is refused

// The text of `node` without its <nemod> parts, whitespace collapsed; the nemod's text in
// *nemod when asked.
std::string TitleText(const pugi::xml_node& node, std::string* nemod = nullptr) {
  return XmlFile::Text(node, "nemod", nemod);
}

// A term's words as compared by `see` resolution and kept in keys: lower case, no nemod.
std::string Folded(absl::string_view title) { return absl::AsciiStrToLower(title); }

// What kind of file this is, from its content (the four files share one root element).
struct Table {
  const char* prefix;  // of every key of the file's terms
  const char* name;    // the value of the "table" property
};
constexpr Table kIndex{"INDEX", "index"};
constexpr Table kExternal{"EXTERNAL", "external cause"};
constexpr Table kDrug{"DRUG", "drug"};
constexpr Table kNeoplasm{"NEOPLASM", "neoplasm"};

class IndexParser {
 public:
  IndexParser(const XmlFile& file, IndexCounts* counts) : file_(file), counts_(counts) {}

  absl::Status Parse(Concepts* out) {
    pugi::xml_node root = file_.root();
    counts_->version = TitleText(root.child("version"));
    // The table: a drug or neoplasm table has column headings, the first naming it.
    std::map<std::string, std::string> headings;  // col -> heading
    for (pugi::xml_node head : root.child("indexHeading").children("head")) {
      headings[head.attribute("col").value()] = TitleText(head);
    }
    table_ = &kIndex;
    if (!headings.empty()) {
      table_ = absl::StartsWithIgnoreCase(headings["1"], "neoplasm") ? &kNeoplasm : &kDrug;
      for (const auto& [col, heading] : headings) {
        if (col != "1") columns_[col] = absl::AsciiStrToLower(heading);
      }
    } else if (absl::StrContains(Folded(TitleText(root.child("title"))), "external cause")) {
      table_ = &kExternal;
    }
    counts_->table = table_->name;
    size_t first = out->size();
    for (pugi::xml_node letter : root.children("letter")) {
      for (pugi::xml_node main : letter.children("mainTerm")) {
        ++counts_->elements["mainTerm"];
        if (absl::Status s = Term(main, "", "", 0, out); !s.ok()) return s;
      }
    }
    if (counts_->elements["mainTerm"] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": no <mainTerm> found"));
    }
    ResolveSees(first, out);
    return absl::OkStatus();
  }

 private:
  absl::Status Error(ptrdiff_t offset, absl::string_view what) const {
    return file_.Error(offset, what);
  }

  // One mainTerm (level 0) or term and, recursively, its subterms.
  absl::Status Term(const pugi::xml_node& node, const std::string& parent_key,
                    const std::string& parent_path, int level, Concepts* out) {
    if (level >= kMaxDepth) {
      return Error(node.offset_debug(), absl::StrCat("terms nested more than ", kMaxDepth, " deep"));
    }
    std::string nemod;
    std::string title = TitleText(node.child("title"), &nemod);
    if (title.empty() && nemod.empty()) {
      return Error(node.offset_debug(), "a term without a title");
    }
    if (title.empty()) title = nemod;  // a title that is all nonessential modifier
    std::string step = absl::AsciiStrToUpper(title);
    std::string key = parent_key.empty() ? absl::StrCat(table_->prefix, ":", step)
                                         : absl::StrCat(parent_key, ">", step);
    // Two sibling terms of one title (the files have a few) are told apart by their order.
    for (int n = 2; !keys_.insert(key).second; ++n) {
      key = absl::StrCat(parent_key.empty() ? absl::StrCat(table_->prefix, ":", step)
                                            : absl::StrCat(parent_key, ">", step),
                         " #", n);
    }
    if (key.size() > kMaxKeyBytes) {
      return Error(node.offset_debug(), absl::StrCat("a term path longer than ", kMaxKeyBytes,
                                                     " bytes"));
    }
    std::string path = parent_path.empty() ? title : absl::StrCat(parent_path, ", ", title);
    size_t index = out->size();
    Concept& c = out->emplace_back();
    c.set_code(key);
    c.set_display(path);
    c.set_parent(parent_key);
    c.set_kind(v1::CONCEPT_KIND_CODE);
    c.set_status(v1::CONCEPT_STATUS_ACTIVE);
    auto& props = *c.mutable_properties();
    props["table"] = table_->name;
    props["title"] = title;
    if (!nemod.empty()) {
      auto* d = c.add_designations();
      d->set_use("nemod");
      d->set_value(nemod);
    }
    if (level > 0) ++counts_->elements["term"];
    for (pugi::xml_node child : node.children()) {
      absl::string_view name = child.name();
      if (name == "code" || name == "see" || name == "seeAlso" || name == "seecat" ||
          name == "subcat" || name == "manif" || name == "warning") {
        std::string value = TitleText(child);
        if (value.empty()) continue;
        ++counts_->elements[std::string(name)];
        if (name == "code") {  // the others are text in places ("manif": a site's words)
          if (!IsCodeReference(value)) {
            return Error(child.offset_debug(),
                         absl::StrCat("<", name, "> '", value, "' is not an ICD-10-CM code"));
          }
        }
        std::string& p = (*out)[index].mutable_properties()->operator[](std::string(name));
        p = p.empty() ? value : absl::StrCat(p, "\n", value);
      } else if (name == "cell") {
        ++counts_->elements["cell"];
        std::string value = TitleText(child);
        auto col = columns_.find(child.attribute("col").value());
        if (col == columns_.end()) {
          return Error(child.offset_debug(), absl::StrCat("a cell of column '",
                                                          child.attribute("col").value(),
                                                          "', which the table's heading lacks"));
        }
        if (value.empty() || value == "-" || value == "--") continue;  // no code
        if (!IsCodeReference(value)) {
          return Error(child.offset_debug(),
                       absl::StrCat("cell '", value, "' is not an ICD-10-CM code"));
        }
        ++counts_->elements["cell code"];
        (*(*out)[index].mutable_properties())[col->second] = value;
      }
    }
    bool leaf = true;
    for (pugi::xml_node sub : node.children("term")) {
      leaf = false;
      if (absl::Status s = Term(sub, key, path, level + 1, out); !s.ok()) return s;
    }
    if (!leaf) (*out)[index].set_kind(v1::CONCEPT_KIND_HEADER);
    return absl::OkStatus();
  }

  // A code as the index writes one: "J18.9", a partial code "S52.50-" or "T51.3X1", a category
  // "I43". The shape of code_systems.cc, with the dot and a trailing "-" allowed.
  static bool IsCodeReference(absl::string_view v) {
    v = absl::StripSuffix(v, "-");
    v = absl::StripSuffix(v, ".");
    std::string c(v);
    if (c.size() > 4 && c[3] == '.') c.erase(3, 1);
    if (c.size() < 3 || c.size() > 7 || !absl::ascii_isupper(static_cast<unsigned char>(c[0]))) {
      return false;
    }
    return std::all_of(c.begin(), c.end(), [](char x) {
      return absl::ascii_isdigit(static_cast<unsigned char>(x)) ||
             absl::ascii_isupper(static_cast<unsigned char>(x));
    });
  }

  // "see" names another term of the same file as a comma-separated path ("Infarct, myocardium",
  // "Pneumonia, in (due to)"). Its main term is the one whose title is the first part, or starts
  // with it and a comma ("Infarct, infarction"); each later part (or several parts together,
  // for titles that hold a comma) names a subterm, compared without case and, failing that,
  // with its nonessential modifier. The target's key goes in "see.term" and its code, if it
  // has one, in "see.code"; a reference that names no term is counted, not refused (the
  // publisher's own cross-references are prose in places: "condition", "specific condition").
  // A title or a reference part as compared: lower case, parenthesized words and a final
  // "NEC" or "NOS" left out ("Conjunctivitis NOS" is "conjunctivitis"), trailing punctuation
  // dropped ("coronary (artery)," is "coronary").
  static std::string Comparable(absl::string_view text) {
    std::string out;
    int depth = 0;
    for (char c : text) {
      if (c == '(' || c == '[') ++depth;
      if (depth == 0) out.push_back(c);
      if ((c == ')' || c == ']') && depth > 0) --depth;
    }
    out = Folded(CollapseSpaces(out));
    if (absl::EndsWith(out, " nec") || absl::EndsWith(out, " nos")) out.resize(out.size() - 4);
    while (!out.empty() && (out.back() == ',' || out.back() == '.' || out.back() == ' ')) {
      out.pop_back();
    }
    return out;
  }

  // "see" names another term of the same file as a comma-separated path ("Infarct, myocardium",
  // "Abortion (complete) (spontaneous)", "Diabetes, retinopathy"). Its main term is the one
  // whose title, or one of its comma-separated forms ("Infarct, infarction"), is the longest
  // run of parts; each later part (or run of parts) names a subterm: one whose title or a
  // comma-separated form of it is that part, compared without case, parenthesized words and
  // "NEC", looked for among the subterms and, failing that, their subterms (the index leaves
  // out a "with" level in its references); "by site" and the like are not subterms but an
// instruction, and are passed over. The target's key goes in "see.term" and its code,
  // if it has one, in "see.code". References to the other tables ("Neoplasm, skin, malignant",
  // "Neoplasm, by site", "Table of Drugs and Chemicals") are counted as such; the rest that name
  // no term (misspelt or prose) are counted, not refused.
  void ResolveSees(size_t first, Concepts* out) {
    struct Node {
      std::vector<std::string> forms;  // the whole title and each comma-separated form
      std::vector<size_t> subterms;
    };
    std::vector<Node> nodes(out->size() - first);
    std::map<std::string, size_t> index_of;
    std::map<std::string, std::vector<size_t>> mains;  // a form of a main term -> indexes
    for (size_t i = first; i < out->size(); ++i) {
      const Concept& c = (*out)[i];
      Node& n = nodes[i - first];
      const std::string& title = c.properties().at("title");
      n.forms.push_back(Comparable(title));
      for (absl::string_view form : absl::StrSplit(title, ", ")) {
        std::string f = Comparable(form);
        if (f != n.forms[0]) n.forms.push_back(f);
      }
      index_of[c.code()] = i;
      if (c.parent().empty()) {
        for (const std::string& f : n.forms) mains[f].push_back(i);
      } else {
        nodes[index_of.at(c.parent()) - first].subterms.push_back(i);
      }
    }
    auto matches = [&](size_t i, const std::string& want) {
      const auto& forms = nodes[i - first].forms;
      return std::find(forms.begin(), forms.end(), want) != forms.end();
    };
    for (size_t i = first; i < out->size(); ++i) {
      auto see = (*out)[i].properties().find("see");
      if (see == (*out)[i].properties().end()) continue;
      const std::string text = see->second.substr(0, see->second.find('\n'));
      std::vector<std::string> parts;
      for (absl::string_view p : absl::StrSplit(text, ", ")) parts.push_back(Comparable(p));
      // "by site", "by type", "by region": choose by what the record says; not a subterm.
      parts.erase(std::remove_if(parts.begin(), parts.end(),
                                 [](const std::string& p) {
                                   return p.empty() || absl::StartsWith(p, "by ");
                                 }),
                  parts.end());
      if (parts.empty()) {
        ++counts_->see_unresolved;
        continue;
      }
      if ((table_ != &kNeoplasm && parts[0] == "neoplasm") ||
          absl::StartsWith(parts[0], "table of drugs")) {
        ++counts_->see_other_table;
        continue;
      }
      // The main term: the longest run of parts that is a form of a main term's title.
      long target = -1;
      size_t used = 0;
      for (size_t take = parts.size(); take >= 1 && target < 0; --take) {
        auto m = mains.find(absl::StrJoin(parts.begin(), parts.begin() + take, ", "));
        if (m != mains.end()) {
          target = static_cast<long>(m->second.front());
          used = take;
        }
      }
      // Its subterms, level by level (a level the reference skips looked through).
      while (target >= 0 && used < parts.size()) {
        long next = -1;
        for (size_t take = parts.size() - used; take >= 1 && next < 0; --take) {
          std::string want = absl::StrJoin(parts.begin() + used, parts.begin() + used + take, ", ");
          for (int depth = 0; depth < 2 && next < 0; ++depth) {
            for (size_t sub : nodes[target - first].subterms) {
              if (depth == 0 && matches(sub, want)) next = static_cast<long>(sub);
              for (size_t deeper : depth == 1 ? nodes[sub - first].subterms
                                              : std::vector<size_t>{}) {
                if (next < 0 && matches(deeper, want)) next = static_cast<long>(deeper);
              }
              if (next >= 0) break;
            }
          }
          if (next >= 0) used += take;
        }
        if (next < 0) break;
        target = next;
      }
      if (target < 0 || used < parts.size()) {
        if (counts_->see_unresolved++ < 400) {
          counts_->unresolved.push_back(absl::StrCat((*out)[i].display(), " -> see ", text));
        }
        continue;
      }
      ++counts_->see_resolved;
      auto& props = *(*out)[i].mutable_properties();
      props["see.term"] = (*out)[target].code();
      auto code = (*out)[target].properties().find("code");
      if (code != (*out)[target].properties().end()) props["see.code"] = code->second;
    }
  }

  const XmlFile& file_;
  IndexCounts* counts_;
  const Table* table_ = &kIndex;
  std::map<std::string, std::string> columns_;  // col -> heading, lower case
  std::set<std::string> keys_;
};

// The index files of a folder, by the publisher's names (icd10cm_index_YYYY.xml and its
// eindex, drug and neoplasm companions, plain or .gz), sorted by name.
std::vector<std::string> IndexFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    for (const char* kind : {"index", "eindex", "drug", "neoplasm"}) {
      std::string prefix = absl::StrCat("icd10cm_", kind, "_");
      if (absl::StartsWith(name, prefix) &&
          (absl::EndsWith(name, ".xml") || absl::EndsWith(name, ".xml.gz"))) {
        files.push_back(f.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

absl::StatusOr<Concepts> ParseIcd10CmIndex(const std::string& path,
                                           std::vector<IndexCounts>* counts) {
  std::error_code ec;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path, ec)) {
    files = IndexFilesIn(path);
    if (files.empty()) {
      return absl::NotFoundError(absl::StrCat(
          path, ": no icd10cm_index_*, _eindex_, _drug_ or _neoplasm_ XML file in the folder"));
    }
  } else {
    files.push_back(path);
  }
  Concepts out;
  std::vector<IndexCounts> local;
  std::set<std::string> tables;
  for (const std::string& file : files) {
    absl::StatusOr<std::unique_ptr<XmlFile>> xml = XmlFile::Open(file, "ICD10CM.index");
    if (!xml.ok()) return xml.status();
    IndexCounts& c = local.emplace_back();
    c.file = file;
    if (absl::Status s = IndexParser(**xml, &c).Parse(&out); !s.ok()) return s;
    if (!tables.insert(c.table).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": a second ", c.table, " table in one release"));
    }
  }
  if (counts != nullptr) *counts = std::move(local);
  return out;
}

}  // namespace codebook::importers
