// The ICD-10-CM Tabular List in answers: a code's chapter, block, notes (its own and those it
// inherits) and 7th characters, read from the ICD10CM-TABULAR supplement (supplements.h).
//
// Conventions applied (ICD-10-CM Official Guidelines, section I.A): notes under a chapter, block
// or category apply to every code below it, so a code's notes are its own, then each level's
// above it; a 7th-character definition applies to every code below the level that defines it,
// and a code shorter than 6 characters takes the placeholder X before its 7th character.
#ifndef CODEBOOK_SERVICE_TABULAR_H_
#define CODEBOOK_SERVICE_TABULAR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/types.pb.h"
#include "storage/store.h"

namespace codebook::service {

// The codes and ranges a note names: every code written in parentheses ("(J02.-)",
// "(O10-O11, O13-O16)"), and outside them every code written with a dot or a trailing "-" or
// as a range ("any condition in I50.- or I51.4-I51.7, I51.89"), since a bare word such as
// "B12" (vitamin B12) outside parentheses is seldom a code. Printed forms, in text order; a
// reference followed by " with " ("E08-E13 with .42") is marked qualified.
std::vector<v1::CodeRange> ParseCodeReferences(absl::string_view text);

// True when `code` (storage form, no dot) is covered by `range` (see v1::CodeRange); never for
// a qualified range.
bool Covers(const v1::CodeRange& range, absl::string_view code);

// Fills *out with the Tabular context of ICD-10-CM code `code` (storage form) as read through
// `reader` from the supplement release that serves `base` (SupplementFor). Leaves *out untouched
// and returns OK when there is no such release or the code is not in it (nor any code above it
// but its chapter). DATA_LOSS on a corrupt record.
absl::Status ReadTabularContext(storage::Reader& reader, const storage::ReleaseRecord& base,
                                absl::string_view code, v1::TabularContext* out);

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_TABULAR_H_
