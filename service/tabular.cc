#include "service/tabular.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "service/code_systems.h"
#include "service/conversions.h"
#include "service/supplements.h"

namespace codebook::service {
namespace {

bool Alnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }
bool Upper(char c) { return absl::ascii_isupper(static_cast<unsigned char>(c)); }
bool Digit(char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }

// A code starting at text[i]: letter, digit, letter-or-digit, then optionally "." and up to 4
// letters or digits. Sets *printed and *end (one past it); false if there is none.
bool CodeAt(absl::string_view text, size_t i, std::string* printed, size_t* end) {
  if (i + 3 > text.size() || !Upper(text[i]) || !Digit(text[i + 1]) || !Alnum(text[i + 2])) {
    return false;
  }
  if (i > 0 && Alnum(text[i - 1])) return false;
  size_t j = i + 3;
  *printed = std::string(text.substr(i, 3));
  if (j < text.size() && text[j] == '.') {
    size_t k = j + 1;
    while (k < text.size() && Alnum(text[k]) && k - j <= 4) ++k;
    if (k > j + 1) {
      absl::StrAppend(printed, text.substr(j, k - j));
      j = k;
    }
  }
  if (j < text.size() && Alnum(text[j])) return false;
  *end = j;
  return true;
}

}  // namespace

std::vector<v1::CodeRange> ParseCodeReferences(absl::string_view text) {
  std::vector<v1::CodeRange> out;
  int depth = 0;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    std::string first;
    size_t end = 0;
    if (!CodeAt(text, i, &first, &end)) {
      ++i;
      continue;
    }
    v1::CodeRange range;
    range.set_first(first);
    range.set_last(first);
    bool dotted = absl::StrContains(first, '.');
    size_t j = end;
    // ".-" or "-" after the code: it and every code below it; "-CODE": a range.
    if (j + 1 < text.size() && text[j] == '.' && text[j + 1] == '-') {
      range.set_with_subcodes(true);
      j += 2;
    } else if (j < text.size() && text[j] == '-') {
      std::string last;
      size_t last_end = 0;
      if (CodeAt(text, j + 1, &last, &last_end)) {
        range.set_last(last);
        j = last_end;
        if (j + 1 < text.size() && text[j] == '.' && text[j + 1] == '-') j += 2;
      } else {
        range.set_with_subcodes(true);
        j += 1;
      }
    }
    if (absl::StartsWith(text.substr(j), " with ")) range.set_qualified(true);
    bool ranged = range.with_subcodes() || range.last() != range.first();
    if (depth > 0 || dotted || ranged) out.push_back(std::move(range));
    i = j;
  }
  return out;
}

namespace {

// `code` (storage form) cut to the length of `printed` without its dots, compared with it as
// strings compare: negative, zero or positive. No copy: it runs for every note of a claim.
int ComparePrefix(absl::string_view code, absl::string_view printed) {
  size_t i = 0;
  for (char p : printed) {
    if (p == '.') continue;
    if (i == code.size()) return -1;  // code is shorter: it sorts first
    if (code[i] != p) return code[i] < p ? -1 : 1;
    ++i;
  }
  return 0;
}

}  // namespace

bool Covers(const v1::CodeRange& range, absl::string_view code) {
  return !range.qualified() && ComparePrefix(code, range.first()) >= 0 &&
         ComparePrefix(code, range.last()) <= 0;
}

absl::StatusOr<std::shared_ptr<const TabularRelease>> TabularRelease::Load(
    storage::Reader& reader, const storage::ReleaseRecord& release) {
  const CodeSystemInfo* tabular = *FindBuiltInSystem(release.system);
  auto out = std::make_shared<TabularRelease>();
  out->release_ = release;
  out->system_ = tabular;
  absl::Status s = reader.ForEachConcept(
      release.system, release.sequence,
      [&](absl::string_view key, const storage::ConceptRecord& r) {
        Entry& e = out->entries_[key];
        e.key = std::string(key);
        e.printed = PrintedCode(*tabular, key);
        e.parent = r.parent;
        e.display = r.display;
        e.leaf = r.kind == storage::ConceptKind::kCode;
        auto add = [&](const std::string& kind, absl::string_view text) {
          e.notes.push_back({kind, std::string(text), ParseCodeReferences(text)});
        };
        for (const auto& [use, text] : r.designations) add(use, text);
        for (const auto& [name, value] : r.properties) {
          if (absl::StartsWith(name, "7th:")) {
            e.seventh.emplace_back(name.substr(4), absl::StrReplaceAll(value, {{"\n", "; "}}));
          } else if (name != "placeholder" && name != "chapter" && name != "block") {
            for (absl::string_view text : absl::StrSplit(value, '\n')) add(name, text);
          }
        }
        return true;
      });
  if (!s.ok()) return s;
  for (const auto& [key, e] : out->entries_) {
    if (!e.parent.empty() && !out->entries_.contains(e.parent)) {
      return absl::DataLossError(absl::StrCat(Describe(release), ": the parent ", e.parent,
                                              " of ", key, " is missing"));
    }
    (absl::StrContains(key, '-') ? out->sections_ : out->codes_).push_back(&e);
    if (!e.parent.empty()) out->entries_.find(e.parent)->second.children.push_back(&e);
  }
  for (auto& [key, e] : out->entries_) {
    std::sort(e.children.begin(), e.children.end(),
              [](const Entry* a, const Entry* b) { return a->key < b->key; });
  }
  auto chapter_number = [](const Entry* e) {
    int n = 0;
    return absl::SimpleAtoi(absl::StripPrefix(e->key, "CHAPTER-"), &n) ? n : 1000;
  };
  std::sort(out->sections_.begin(), out->sections_.end(), [&](const Entry* a, const Entry* b) {
    bool ca = absl::StartsWith(a->key, "CHAPTER-"), cb = absl::StartsWith(b->key, "CHAPTER-");
    if (ca != cb) return ca;
    if (ca && chapter_number(a) != chapter_number(b)) return chapter_number(a) < chapter_number(b);
    return a->key < b->key;
  });
  std::sort(out->codes_.begin(), out->codes_.end(),
            [](const Entry* a, const Entry* b) { return a->key < b->key; });
  return std::shared_ptr<const TabularRelease>(std::move(out));
}

const TabularRelease::Entry* TabularRelease::Find(absl::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

TabularRelease::Chain TabularRelease::ChainOf(absl::string_view code) const {
  Chain chain;
  absl::string_view key = code;
  const Entry* e = nullptr;
  while (key.size() >= 3 && (e = Find(key)) == nullptr) key.remove_suffix(1);
  if (e == nullptr) return chain;
  chain.exact = code.find_first_not_of('X', key.size()) == absl::string_view::npos;
  // Parents never loop in an imported Tabular (Load checked they exist); the bound stops a
  // corrupt one.
  while (e != nullptr && chain.entries.size() < 16) {
    chain.entries.push_back(e);
    e = e->parent.empty() ? nullptr : Find(e->parent);
  }
  return chain;
}

const TabularRelease::Entry* TabularRelease::SeventhOf(const Chain& chain) {
  for (const Entry* e : chain.entries) {
    if (!e->seventh.empty()) return e;
  }
  return nullptr;
}

bool TabularRelease::NeedsSeventh(const Chain& chain, absl::string_view code) {
  return !chain.entries.empty() && chain.exact && chain.entries[0]->leaf && code.size() < 7 &&
         SeventhOf(chain) != nullptr;
}

std::string TabularRelease::SeventhStem(absl::string_view code) const {
  std::string stem(code);
  stem.resize(6, 'X');
  return PrintedCode(*system_, stem);
}

void TabularRelease::Context(absl::string_view code, v1::TabularContext* out) const {
  Chain chain = ChainOf(code);
  if (chain.entries.empty()) return;
  // Written straight into *out: a message built aside and moved in would be copied whole when
  // *out lives on the response's arena and it does not.
  v1::TabularContext& ctx = *out;
  ctx.Clear();
  ToRef(release_, ctx.mutable_source());
  for (const Entry* e : chain.entries) {
    if (absl::StartsWith(e->key, "CHAPTER-")) {
      ctx.mutable_chapter()->set_code(e->printed);
      ctx.mutable_chapter()->set_display(e->display);
      ctx.mutable_chapter()->set_kind(v1::CONCEPT_KIND_GROUP);
    } else if (absl::StrContains(e->key, '-')) {
      ctx.mutable_block()->set_code(e->printed);
      ctx.mutable_block()->set_display(e->display);
      ctx.mutable_block()->set_kind(v1::CONCEPT_KIND_GROUP);
    }
    for (const Note& n : e->notes) {
      v1::TabularNote* note = ctx.add_notes();
      note->set_kind(n.kind);
      note->set_text(n.text);
      note->set_from(e->printed);
      for (const v1::CodeRange& r : n.references) *note->add_references() = r;
    }
  }
  if (const Entry* seventh = SeventhOf(chain)) {
    ctx.set_seventh_characters_from(seventh->printed);
    for (const auto& [ch, meaning] : seventh->seventh) {
      v1::SeventhCharacter* s = ctx.add_seventh_characters();
      s->set_character(ch);
      s->set_meaning(meaning);
    }
  }
  if (NeedsSeventh(chain, code)) {
    ctx.set_needs_seventh_character(true);
    ctx.set_seventh_character_stem(SeventhStem(code));
  }
}

absl::StatusOr<std::shared_ptr<const TabularRelease>> TabularCache::For(
    storage::Reader& reader, const storage::ReleaseRecord& base) {
  const CodeSystemInfo* tabular = SupplementOf(base.system, CodeFormat::kIcd10CmTabular);
  if (tabular == nullptr) return nullptr;
  const storage::ReleaseRecord* source = SupplementFor(reader.catalog(), *tabular, base);
  if (source == nullptr) return nullptr;
  // One reader builds a release while the others wait for it: a Tabular is read once.
  return releases_.Get(std::make_pair(source->system, source->sequence),
                       [&] { return TabularRelease::Load(reader, *source); });
}

}  // namespace codebook::service
