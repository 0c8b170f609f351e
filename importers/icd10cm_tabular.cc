// ICD-10-CM Tabular List (CDC's icd10cm_tabular_YYYY.xml; schema icd10cm_tabular.xsd) -> the
// concepts of the ICD10CM-TABULAR supplement. See importers.h for the mapping.
#include <algorithm>
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
#include "importers/importers.h"
#include "importers/line_reader.h"
#include "importers/xml_file.h"

namespace codebook::importers {
namespace {

using codebook::v1::Concept;

// The note elements the schema allows on a chapter, section or diag, and where each goes:
// the other names of a concept (inclusion terms, "includes") are designations, so that search
// finds the concept by them; the instructions are properties, one per element name, their
// notes joined by newlines (no note holds a newline: whitespace is collapsed).
struct NoteElement {
  const char* name;
  bool designation;
};
constexpr NoteElement kNoteElements[] = {
    {"inclusionTerm", true},      {"includes", true},
    {"excludes1", false},         {"excludes2", false},
    {"codeFirst", false},         {"useAdditionalCode", false},
    {"codeAlso", false},          {"notes", false},
    {"sevenChrNote", false},
};

// Nesting limit of diags, far above the files' (7 deep), so that a hostile file cannot exhaust
// the stack.
constexpr int kMaxDepth = 32;

std::string Text(const pugi::xml_node& node) { return XmlFile::Text(node); }

class TabularParser {
 public:
  TabularParser(const XmlFile& file, TabularCounts* counts) : file_(file), counts_(counts) {}

  absl::StatusOr<Concepts> Parse() {
    pugi::xml_node root = file_.root();
    counts_->version = Text(root.child("version"));
    for (pugi::xml_node chapter : root.children("chapter")) {
      if (absl::Status s = Chapter(chapter); !s.ok()) return s;
    }
    if (counts_->elements["chapter"] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": no <chapter> found"));
    }
    return std::move(concepts_);
  }

 private:
  absl::Status Error(ptrdiff_t offset, absl::string_view what) const {
    return file_.Error(offset, what);
  }

  Concept* Add(std::string key, const pugi::xml_node& node, const std::string& parent,
               std::string display) {
    if (!keys_.insert(key).second) {
      duplicate_ = Error(node.offset_debug(), absl::StrCat("'", key, "' is defined twice"));
      return nullptr;
    }
    Concept& c = concepts_.emplace_back();
    c.set_code(std::move(key));
    c.set_display(std::move(display));
    c.set_parent(parent);
    c.set_kind(v1::CONCEPT_KIND_HEADER);
    c.set_status(v1::CONCEPT_STATUS_ACTIVE);
    return &c;
  }

  // The note elements and the 7th-character definitions directly under `node`.
  absl::Status Notes(const pugi::xml_node& node, size_t index) {
    std::map<std::string, std::vector<std::string>> properties;
    for (pugi::xml_node child : node.children()) {
      std::string_view name = child.name();
      if (name == "sevenChrDef") {
        ++counts_->elements["sevenChrDef"];
        std::string last;  // a <note> inside the definition adds a wording to the char before it
        for (pugi::xml_node e : child.children()) {
          std::string_view en = e.name();
          std::string text = Text(e);
          if (en == "extension") {
            std::string ch = absl::AsciiStrToUpper(e.attribute("char").value());
            if (ch.empty() || ch.size() > 2 || !std::all_of(ch.begin(), ch.end(), [](char c) {
                  return absl::ascii_isalnum(static_cast<unsigned char>(c));
                })) {
              return Error(e.offset_debug(), absl::StrCat("7th character '", ch,
                                                          "' is not 1 or 2 letters or digits"));
            }
            if (text.empty()) return Error(e.offset_debug(), "a 7th character without a meaning");
            last = absl::StrCat("7th:", ch);
            if (!properties.emplace(last, std::vector<std::string>{text}).second) {
              return Error(e.offset_debug(), absl::StrCat("7th character ", ch, " defined twice"));
            }
            ++counts_->elements["extension"];
          } else if (en == "note" && !text.empty()) {
            if (last.empty()) return Error(e.offset_debug(), "a note before any 7th character");
            properties[last].push_back(text);
          }
        }
        continue;
      }
      for (const NoteElement& kind : kNoteElements) {
        if (name != kind.name) continue;
        ++counts_->elements[kind.name];
        for (pugi::xml_node note : child.children("note")) {
          std::string text = Text(note);
          if (text.empty()) continue;
          ++counts_->notes[kind.name];
          if (kind.designation) {
            auto* d = concepts_[index].add_designations();
            d->set_use(kind.name);
            d->set_value(std::move(text));
          } else {
            properties[kind.name].push_back(std::move(text));
          }
        }
      }
    }
    auto& props = *concepts_[index].mutable_properties();
    for (auto& [name, texts] : properties) props[name] = absl::StrJoin(texts, "\n");
    return absl::OkStatus();
  }

  absl::Status Chapter(const pugi::xml_node& chapter) {
    std::string number = Text(chapter.child("name"));
    if (number.empty() || !std::all_of(number.begin(), number.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c));
        })) {
      return Error(chapter.offset_debug(),
                   absl::StrCat("chapter name '", number, "' is not letters or digits"));
    }
    std::string display = Text(chapter.child("desc"));
    if (display.empty()) return Error(chapter.offset_debug(), "a chapter without <desc>");
    std::string key = absl::StrCat("CHAPTER-", absl::AsciiStrToUpper(number));
    if (Add(key, chapter, "", display) == nullptr) return duplicate_;
    size_t index = concepts_.size() - 1;
    (*concepts_[index].mutable_properties())["chapter"] = number;
    ++counts_->elements["chapter"];
    if (absl::Status s = Notes(chapter, index); !s.ok()) return s;
    for (pugi::xml_node section : chapter.children("section")) {
      if (absl::Status s = Section(section, key); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Section(const pugi::xml_node& section, const std::string& chapter) {
    std::string id = absl::AsciiStrToUpper(section.attribute("id").value());
    std::vector<std::string> ends = absl::StrSplit(id, '-');
    if (ends.size() == 1) ends.push_back(ends[0]);
    if (ends.size() != 2 || !IsCategory(ends[0]) || !IsCategory(ends[1]) || ends[1] < ends[0]) {
      return Error(section.offset_debug(),
                   absl::StrCat("section id '", id, "' is not a category range such as A00-A09"));
    }
    // A block's key is always FIRST-LAST ("B10-B10" for the block of the one category B10), so
    // that it never equals a code.
    std::string key = absl::StrCat(ends[0], "-", ends[1]);
    std::string display = Text(section.child("desc"));
    if (display.empty()) return Error(section.offset_debug(), "a section without <desc>");
    if (Add(key, section, chapter, display) == nullptr) return duplicate_;
    size_t index = concepts_.size() - 1;
    (*concepts_[index].mutable_properties())["block"] = id;
    ++counts_->elements["section"];
    if (absl::Status s = Notes(section, index); !s.ok()) return s;
    for (pugi::xml_node diag : section.children("diag")) {
      if (absl::Status s = Diag(diag, key); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Diag(const pugi::xml_node& diag, const std::string& parent, int depth = 0) {
    if (depth >= kMaxDepth) {
      return Error(diag.offset_debug(), absl::StrCat("diags nested more than ", kMaxDepth, " deep"));
    }
    std::string name = absl::AsciiStrToUpper(Text(diag.child("name")));
    std::string code = name;
    if (code.size() > 3 && code[3] == '.') code.erase(3, 1);
    if (!IsCode(code)) {
      return Error(diag.offset_debug(), absl::StrCat("diag name '", name,
                                                     "' is not an ICD-10-CM code"));
    }
    std::string display = Text(diag.child("desc"));
    if (display.empty()) return Error(diag.offset_debug(), absl::StrCat(name, " has no <desc>"));
    if (Add(code, diag, parent, display) == nullptr) return duplicate_;
    size_t index = concepts_.size() - 1;
    ++counts_->elements["diag"];
    if (std::string_view(diag.attribute("placeholder").value()) == "true") {
      (*concepts_[index].mutable_properties())["placeholder"] = "true";
    }
    if (absl::Status s = Notes(diag, index); !s.ok()) return s;
    bool leaf = true;
    for (pugi::xml_node child : diag.children("diag")) {
      leaf = false;
      if (absl::Status s = Diag(child, code, depth + 1); !s.ok()) return s;
    }
    if (leaf) concepts_[index].set_kind(v1::CONCEPT_KIND_CODE);
    return absl::OkStatus();
  }

  // The layout's shapes (code_systems.cc): a letter, then 2 to 6 letters or digits.
  static bool IsCode(absl::string_view c) {
    if (c.size() < 3 || c.size() > 7 || !absl::ascii_isupper(static_cast<unsigned char>(c[0]))) {
      return false;
    }
    return std::all_of(c.begin(), c.end(), [](char x) {
      return absl::ascii_isdigit(static_cast<unsigned char>(x)) ||
             absl::ascii_isupper(static_cast<unsigned char>(x));
    });
  }
  static bool IsCategory(absl::string_view c) { return c.size() == 3 && IsCode(c); }

  const XmlFile& file_;
  TabularCounts* counts_;
  Concepts concepts_;
  std::set<std::string> keys_;
  absl::Status duplicate_;
};

}  // namespace

absl::StatusOr<Concepts> ParseIcd10CmTabular(const std::string& path, TabularCounts* counts) {
  absl::StatusOr<std::unique_ptr<XmlFile>> file = XmlFile::Open(path, "ICD10CM.tabular");
  if (!file.ok()) return file.status();
  TabularCounts local;
  return TabularParser(**file, counts != nullptr ? counts : &local).Parse();
}

}  // namespace codebook::importers
