#include "storage/terms.h"

#include <algorithm>

namespace codebook::storage {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

}  // namespace

void Tokenize(absl::string_view text, std::vector<std::string>* words) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) continue;
    std::string& w = words->emplace_back(text.substr(start, i - start));
    for (char& c : w) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  }
}

void IndexTerms(const ConceptRecord& r, std::vector<std::string>* terms) {
  terms->clear();
  Tokenize(r.display, terms);
  for (const auto& [use, text] : r.designations) Tokenize(text, terms);
  std::sort(terms->begin(), terms->end());
  terms->erase(std::unique(terms->begin(), terms->end()), terms->end());
}

}  // namespace codebook::storage
