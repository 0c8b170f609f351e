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

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_TERMS_H_
