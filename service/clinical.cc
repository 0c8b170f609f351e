#include "service/clinical.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/code_systems.h"
#include "service/supplements.h"
#include "storage/terms.h"

namespace codebook::service {
namespace {

// An Index code as the base system stores it: no dot, no trailing "-", upper case.
std::string StorageCode(absl::string_view written) {
  std::string code;
  for (char c : written) {
    if (c != '.' && c != '-' && c != ' ') code.push_back(absl::ascii_toupper(c));
  }
  return code;
}

const std::string* Property(const storage::ConceptRecord& r, absl::string_view name) {
  auto it = std::lower_bound(r.properties.begin(), r.properties.end(), name,
                             [](const auto& p, absl::string_view n) { return p.first < n; });
  return it != r.properties.end() && it->first == name ? &it->second : nullptr;
}

// The properties of an Index record that are not a Drug or Neoplasm table column.
bool IsTermProperty(absl::string_view name) {
  return name == "table" || name == "title" || name == "code" || name == "see" ||
         name == "seeAlso" || name == "seecat" || name == "subcat" || name == "manif" ||
         name == "warning" || name == "see.term" || name == "see.code";
}

// How each Index table is named in a reason, by its key prefix, what a match in it adds, and
// whether its rows have coded columns (the Drug and Neoplasm tables).
struct Table {
  absl::string_view name;
  double bonus;
  bool columns;
};
Table TableOf(absl::string_view key) {
  if (absl::StartsWith(key, "EXTERNAL:")) return {"external cause index", 0, false};
  if (absl::StartsWith(key, "DRUG:")) return {"drug table", 5, true};
  if (absl::StartsWith(key, "NEOPLASM:")) return {"neoplasm table", 5, true};
  return {"index", 10, false};
}
constexpr double kNoteBonus = 5;

// A note's text split as the Tabular writes it: the words outside parentheses, and those
// inside (nonessential modifiers, "Sore throat (acute) NOS").
std::pair<std::string, std::string> SplitModifiers(absl::string_view text) {
  std::string essential, modifiers;
  int depth = 0;
  for (char c : text) {
    if (c == '(' || c == '[') ++depth;
    (depth > 0 ? modifiers : essential).push_back(depth > 0 && (c == '(' || c == ')') ? ' ' : c);
    if ((c == ')' || c == ']') && depth > 0) --depth;
  }
  return {essential, modifiers};
}

// The forms a subterm's title offers: both words of "atrial or auricular", else the title.
std::vector<absl::string_view> Forms(absl::string_view title) {
  std::vector<absl::string_view> parts = absl::StrSplit(title, " or ");
  if (parts.size() == 2 && !parts[0].empty() && !parts[1].empty() &&
      !absl::StrContains(parts[0], ' ') && !absl::StrContains(parts[1], ' ')) {
    return parts;
  }
  return {title};
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ClinicalTerms>> ClinicalTerms::Load(
    storage::Reader& reader, const storage::ReleaseRecord* index,
    std::shared_ptr<const TabularRelease> tabular) {
  auto out = std::make_shared<ClinicalTerms>();
  storage::WordTable::Builder builder;
  storage::ConceptRecord text;  // an entry's words, as the word table takes them
  std::vector<std::string> scratch;
  auto add = [&](const Entry& e, absl::string_view words, absl::string_view other) {
    if (e.code.empty()) return;
    out->entries_.push_back(e);
    scratch.clear();
    storage::Tokenize(words, &scratch);
    out->essential_.push_back(static_cast<uint16_t>(std::min<size_t>(scratch.size(), 65535)));
    text.display = absl::StrCat(words, " ", other);
    builder.Add(text);
  };
  if (index != nullptr) {
    out->index_ = *index;
    // Per term read so far: the texts of its path, one per form of its main term's title (a
    // term's parent comes before it in key order).
    absl::flat_hash_map<std::string, std::vector<std::string>> paths_of;
    // The entry of an Index term giving the code `written` ("S52.50-" names S5250): incomplete
    // when written so, or complete but for the 7th character the Tabular asks of it (T33.90).
    auto index_entry = [&](absl::string_view written, std::string reason, int depth,
                           const Table& table) {
      Entry e{StorageCode(written), std::move(reason), v1::SEARCH_MATCH_INDEX, depth, false,
              table.bonus};
      e.incomplete =
          absl::EndsWith(absl::StripTrailingAsciiWhitespace(written), "-") ||
          (tabular != nullptr && TabularRelease::NeedsSeventh(tabular->ChainOf(e.code), e.code));
      return e;
    };
    absl::Status s = reader.ForEachConcept(
        index->system, index->sequence,
        [&](absl::string_view key, const storage::ConceptRecord& r) {
          if (absl::StartsWith(key, "DEFINITIONS:")) return true;  // axis values, not codes
          const int depth = static_cast<int>(std::count(key.begin(), key.end(), '>')) + 1;
          // The path's words: a main term's title lists its forms ("Diabetes, diabetic"), and a
          // subterm's may offer two ("atrial or auricular"), each a path of its own, so that
          // one form typed covers the whole title.
          const std::string* own = Property(r, "title");
          std::vector<std::string>& paths = paths_of[std::string(key)];
          if (depth == 1 || own == nullptr) {
            for (absl::string_view form : absl::StrSplit(own ? *own : r.display, ", ")) {
              paths.emplace_back(form);
            }
          } else if (auto parent = paths_of.find(r.parent); parent != paths_of.end()) {
            for (const std::string& p : parent->second) {
              for (absl::string_view form : Forms(*own)) paths.push_back(absl::StrCat(p, ", ", form));
            }
          } else {
            paths.push_back(r.display);
          }
          std::string nemod;
          for (const auto& [use, t] : r.designations) {
            if (use == "nemod") absl::StrAppend(&nemod, nemod.empty() ? "" : " ", t);
          }
          const Table table = TableOf(key);
          auto add_paths = [&](const Entry& e, absl::string_view suffix) {
            for (const std::string& p : paths) add(e, absl::StrCat(p, suffix), nemod);
          };
          const std::string* code = Property(r, "code");
          const std::string* partial = Property(r, "codes");
          if (partial == nullptr) partial = Property(r, "tab");
          if (code != nullptr) {
            add_paths(index_entry(*code, absl::StrCat(table.name, ": ", r.display), depth, table),
                      "");
          } else if (partial != nullptr) {
            // ICD-10-PCS: the codes under a partial code.
            Entry e = index_entry(
                *partial, absl::StrCat(table.name, ": ", r.display, " -> ", *partial, "..."),
                depth, table);
            e.partial = true;
            add_paths(e, "");
          } else if (const std::string* target = Property(r, "see.code")) {
            add_paths(index_entry(*target,
                                  absl::StrCat(table.name, ": ", r.display, " -> see ",
                                               *Property(r, "see")),
                                  depth, table),
                      "");
          }
          if (table.columns) {
            for (const auto& [column, code] : r.properties) {
              if (IsTermProperty(column)) continue;
              add_paths(index_entry(code, absl::StrCat(table.name, ": ", r.display, ", ", column),
                                    depth + 1, table),
                        absl::StrCat(", ", column));
            }
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  if (tabular != nullptr) {
    for (const TabularRelease::Entry* e : tabular->Codes()) {
      for (const TabularRelease::Note& note : e->notes) {
        const bool inclusion = note.kind == "inclusionTerm";
        if (!inclusion && note.kind != "includes") continue;
        auto [essential, modifiers] = SplitModifiers(note.text);
        add({e->key, absl::StrCat(inclusion ? "inclusion term: " : "includes: ", note.text),
             v1::SEARCH_MATCH_NOTE, 1, true, kNoteBonus},
            essential, modifiers);
      }
    }
    out->tabular_ = std::move(tabular);
  }
  out->words_ = builder.Finish();
  return out;
}

std::shared_ptr<const std::vector<int32_t>> ClinicalTerms::ConceptsIn(
    absl::string_view system, uint64_t sequence, const storage::ReleaseView& view) const {
  absl::StatusOr<std::shared_ptr<const std::vector<int32_t>>> built = concepts_in_.Get(
      std::make_pair(std::string(system), sequence),
      [&]() -> absl::StatusOr<std::shared_ptr<const std::vector<int32_t>>> {
        auto out = std::make_shared<std::vector<int32_t>>(entries_.size(), -1);
        const auto& codes = view.sorted_codes();
        for (size_t i = 0; i < entries_.size(); ++i) {
          if (entries_[i].partial) continue;
          absl::string_view code = entries_[i].code;
          auto pos = std::lower_bound(codes.begin(), codes.end(), code);
          if (pos != codes.end() && *pos == code) (*out)[i] = static_cast<int32_t>(pos - codes.begin());
        }
        return out;
      });
  return *built;  // the build cannot fail
}

absl::StatusOr<std::shared_ptr<const ClinicalTerms>> ClinicalCache::For(
    storage::Reader& reader, const storage::ReleaseRecord& base) {
  const CodeSystemInfo* index_system = SupplementOf(base.system, CodeFormat::kTermIndex);
  const storage::ReleaseRecord* index =
      index_system ? SupplementFor(reader.catalog(), *index_system, base) : nullptr;
  absl::StatusOr<std::shared_ptr<const TabularRelease>> tabular = tabular_->For(reader, base);
  if (!tabular.ok()) return tabular.status();
  if (index == nullptr && *tabular == nullptr) return nullptr;
  // One request builds them while the others wait: the terms are read once.
  return terms_.Get(std::make_tuple(index ? index->system : "", index ? index->sequence : 0,
                                    *tabular ? (*tabular)->release().system : "",
                                    *tabular ? (*tabular)->release().sequence : 0),
                    [&] { return ClinicalTerms::Load(reader, index, *tabular); });
}

}  // namespace codebook::service
