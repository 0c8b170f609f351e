#include "storage/terms.h"

#include <algorithm>
#include <string>
#include <utility>

namespace codebook::storage {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Calls `word(w)` for each word of `text` (a maximal run of word bytes), in order.
template <typename Fn>
void ForEachWord(absl::string_view text, Fn word) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) word(text.substr(start, i - start));
  }
}

}  // namespace

void Tokenize(absl::string_view text, std::vector<std::string>* words) {
  ForEachWord(text, [words](absl::string_view w) {
    std::string& out = words->emplace_back(w);
    for (char& c : out) c = Lower(c);
  });
}

void IndexTerms(const ConceptRecord& r, std::vector<std::string>* terms) {
  TermList list;
  list.Set(r);
  terms->clear();
  for (absl::string_view t : list.terms()) terms->emplace_back(t);
}

void TermList::Add(absl::string_view text) {
  ForEachWord(text, [this](absl::string_view w) {
    spans_.emplace_back(static_cast<uint32_t>(lower_.size()), static_cast<uint32_t>(w.size()));
    for (char c : w) lower_.push_back(Lower(c));
  });
}

void TermList::Set(const ConceptRecord& r) {
  lower_.clear();
  spans_.clear();
  terms_.clear();
  Add(r.display);
  for (const auto& [use, text] : r.designations) Add(text);
  // Views only now: lower_ no longer moves.
  for (auto [offset, size] : spans_) terms_.emplace_back(lower_.data() + offset, size);
  std::sort(terms_.begin(), terms_.end());
  terms_.erase(std::unique(terms_.begin(), terms_.end()), terms_.end());
}

}  // namespace codebook::storage
