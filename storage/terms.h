// The words the search index holds for a concept. Part of the on-disk format: the terms column
// family is built with exactly this extraction, so changing it needs a schema version bump and
// a reindex (Store::Open migrates).
//
// A term is a maximal run of ASCII letters and digits (and any non-ASCII byte, so UTF-8 letters
// stay inside their word), lowercased. "Type 2 diabetes mellitus w/o complications" gives
// "type", "2", "diabetes", "mellitus", "w", "o", "complications". Query-side matching
// (abbreviations, word prefixes, typo tolerance) is the domain layer's business.
#ifndef CODEBOOK_STORAGE_TERMS_H_
#define CODEBOOK_STORAGE_TERMS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "storage/records.h"

namespace codebook::storage {

// Appends the words of `text` to *words, in order, duplicates kept.
void Tokenize(absl::string_view text, std::vector<std::string>* words);
// The index terms of a concept: the words of its display and of every designation; sorted,
// unique. Clears *terms first.
void IndexTerms(const ConceptRecord& r, std::vector<std::string>* terms);

// IndexTerms without a string per word: the terms of one concept at a time, as views into a
// buffer that the next Set reuses (the publish merge extracts them for every code it writes).
class TermList {
 public:
  // Replaces the list with the index terms of `r`; views from an earlier Set are invalid.
  void Set(const ConceptRecord& r);
  void Clear() { terms_.clear(); }
  // Sorted, unique: exactly IndexTerms' terms.
  const std::vector<absl::string_view>& terms() const { return terms_; }

 private:
  void Add(absl::string_view text);
  std::string lower_;                                  // the texts lowercased, one after another
  std::vector<std::pair<uint32_t, uint32_t>> spans_;   // each word's offset and size in lower_
  std::vector<absl::string_view> terms_;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_TERMS_H_
