#include "service/tabular.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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

bool Covers(const v1::CodeRange& range, absl::string_view code) {
  if (range.qualified()) return false;
  auto stored = [](const std::string& printed) {
    std::string s = printed;
    s.erase(std::remove(s.begin(), s.end(), '.'), s.end());
    return s;
  };
  std::string first = stored(range.first()), last = stored(range.last());
  return code.substr(0, first.size()) >= first && code.substr(0, last.size()) <= last;
}

absl::Status ReadTabularContext(storage::Reader& reader, const storage::ReleaseRecord& base,
                                absl::string_view code, v1::TabularContext* out) {
  const CodeSystemInfo* tabular = SupplementOf(base.system, CodeFormat::kIcd10CmTabular);
  if (tabular == nullptr) return absl::OkStatus();
  const storage::ReleaseRecord* source = SupplementFor(reader.catalog(), *tabular, base);
  if (source == nullptr) return absl::OkStatus();
  // The code's own entry, or for a code the Tabular writes only through a 7th character
  // (S52.501A, T81.32XA), the nearest entry its code starts with.
  std::string key(code);
  storage::CodeState st;
  while (key.size() >= 3) {
    absl::Status s = reader.Read(tabular->id, key, source->sequence, &st);
    if (!s.ok()) return s;
    if (st.kind == storage::CodeState::Kind::kPresent) break;
    key.pop_back();
  }
  if (st.kind != storage::CodeState::Kind::kPresent) return absl::OkStatus();

  v1::TabularContext ctx;
  ToRef(*source, ctx.mutable_source());
  // The entry is the code itself, or the code is the entry with placeholder Xs (T81.32X).
  const bool exact = code.find_first_not_of('X', key.size()) == absl::string_view::npos;
  const bool leaf = st.record.kind == storage::ConceptKind::kCode;
  // Walk up: the entry, its parents, ... its block and chapter (parents never loop in an
  // imported Tabular; the bound stops a corrupt one).
  for (int depth = 0; depth < 16; ++depth) {
    const storage::ConceptRecord& r = st.record;
    const std::string from = PrintedCode(*tabular, key);
    if (absl::StartsWith(key, "CHAPTER-")) {
      ctx.mutable_chapter()->set_code(from);
      ctx.mutable_chapter()->set_display(r.display);
      ctx.mutable_chapter()->set_kind(v1::CONCEPT_KIND_GROUP);
    } else if (absl::StrContains(key, '-')) {
      ctx.mutable_block()->set_code(from);
      ctx.mutable_block()->set_display(r.display);
      ctx.mutable_block()->set_kind(v1::CONCEPT_KIND_GROUP);
    }
    auto add_note = [&](const std::string& kind, absl::string_view text) {
      v1::TabularNote* n = ctx.add_notes();
      n->set_kind(kind);
      n->set_text(std::string(text));
      n->set_from(from);
      for (v1::CodeRange& ref : ParseCodeReferences(text)) *n->add_references() = std::move(ref);
    };
    for (const auto& [use, text] : r.designations) add_note(use, text);
    bool defines_seventh = false;
    for (const auto& [name, value] : r.properties) {
      if (absl::StartsWith(name, "7th:")) {
        defines_seventh = true;
        continue;
      }
      if (name == "placeholder" || name == "chapter" || name == "block") continue;
      for (absl::string_view text : absl::StrSplit(value, '\n')) add_note(name, text);
    }
    if (defines_seventh && ctx.seventh_characters().empty()) {
      ctx.set_seventh_characters_from(from);
      for (const auto& [name, value] : r.properties) {
        if (!absl::StartsWith(name, "7th:")) continue;
        v1::SeventhCharacter* s = ctx.add_seventh_characters();
        s->set_character(name.substr(4));
        s->set_meaning(absl::StrReplaceAll(value, {{"\n", "; "}}));
      }
    }
    if (r.parent.empty()) break;
    key = r.parent;
    absl::Status s = reader.Read(tabular->id, key, source->sequence, &st);
    if (!s.ok()) return s;
    if (st.kind != storage::CodeState::Kind::kPresent) {
      return absl::DataLossError(absl::StrCat(Describe(*source), ": the parent ", key,
                                              " of an entry is missing"));
    }
  }
  if (!ctx.seventh_characters().empty() && exact && leaf && code.size() < 7) {
    ctx.set_needs_seventh_character(true);
    std::string stem(code);
    stem.resize(6, 'X');
    ctx.set_seventh_character_stem(PrintedCode(*tabular, stem));
  }
  *out = std::move(ctx);
  return absl::OkStatus();
}

}  // namespace codebook::service
