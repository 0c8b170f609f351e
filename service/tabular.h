// The ICD-10-CM Tabular List in answers: a code's chapter, block, notes (its own and those it
// inherits) and 7th characters, read from the ICD10CM-TABULAR supplement (supplements.h).
//
// Conventions applied (ICD-10-CM Official Guidelines, section I.A): notes under a chapter, block
// or category apply to every code below it, so a code's notes are its own, then each level's
// above it; a 7th-character definition applies to every code below the level that defines it,
// and a code shorter than 6 characters takes the placeholder X before its 7th character.
//
// A Tabular release is read once into memory (TabularRelease, its notes' code references
// parsed) and shared by every request after: a published release never changes, so the copy
// never needs invalidating. TabularCache holds them.
#ifndef CODEBOOK_SERVICE_TABULAR_H_
#define CODEBOOK_SERVICE_TABULAR_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/types.pb.h"
#include "service/build_once.h"
#include "service/code_systems.h"
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

// One published ICD10CM-TABULAR release in memory. Immutable once built; thread-safe to read.
class TabularRelease {
 public:
  struct Note {
    std::string kind;  // the Tabular's element name ("excludes1", ...)
    std::string text;
    std::vector<v1::CodeRange> references;
  };
  struct Entry {
    std::string key;      // storage form ("I10", "I10-I16", "CHAPTER-9")
    std::string printed;  // printed form ("S52.501")
    std::string parent;   // storage form; empty at the top
    std::string display;
    bool leaf = false;
    std::vector<Note> notes;  // designations first, then properties by name, as stored
    std::vector<std::pair<std::string, std::string>> seventh;  // (character, meaning)
    std::vector<const Entry*> children;  // the entries under it, by key
  };
  // The entries that apply to a code, and how it relates to the first.
  struct Chain {
    std::vector<const Entry*> entries;  // its own (or nearest) entry, then each one above
    bool exact = false;  // the first entry is the code itself, but for placeholder Xs
  };

  // Reads every entry of `release` (a published ICD10CM-TABULAR release) through `reader`.
  // DATA_LOSS on a corrupt record or an entry whose parent is missing.
  static absl::StatusOr<std::shared_ptr<const TabularRelease>> Load(
      storage::Reader& reader, const storage::ReleaseRecord& release);

  const storage::ReleaseRecord& release() const { return release_; }
  // nullptr when absent.
  const Entry* Find(absl::string_view key) const;
  // The chapters by number, then the blocks by range.
  const std::vector<const Entry*>& Sections() const { return sections_; }
  // The categories and codes (every entry but chapters and blocks), by key.
  const std::vector<const Entry*>& Codes() const { return codes_; }
  // For ICD-10-CM `code` (storage form): its own entry or the nearest entry its code starts
  // with (S52.501A and T81.32XA are written in the Tabular through their 7th character), then
  // the entries above it; empty when none.
  Chain ChainOf(absl::string_view code) const;
  // The 7th characters that apply to a chain (the nearest definition) and where they stand;
  // nullptr when none.
  static const Entry* SeventhOf(const Chain& chain);
  // True when the chain's code is complete only with a 7th character.
  static bool NeedsSeventh(const Chain& chain, absl::string_view code);
  // `code` padded with the placeholder X to 6 characters, printed ("T81.32X" for T8132).
  std::string SeventhStem(absl::string_view code) const;
  // The answer of Lookup for `code`: chapter, block, notes, 7th characters. Leaves *out
  // untouched when the chain is empty.
  void Context(absl::string_view code, v1::TabularContext* out) const;

 private:
  storage::ReleaseRecord release_;
  const CodeSystemInfo* system_ = nullptr;  // ICD10CM-TABULAR: how its keys print
  absl::flat_hash_map<std::string, Entry> entries_;
  std::vector<const Entry*> sections_;
  std::vector<const Entry*> codes_;
};

// The Tabular releases read so far, by (system, sequence). Thread-safe.
class TabularCache {
 public:
  // The Tabular release that serves `base` (SupplementFor), read through `reader` on first use;
  // nullptr when the server holds none for it. Errors as TabularRelease::Load.
  absl::StatusOr<std::shared_ptr<const TabularRelease>> For(storage::Reader& reader,
                                                            const storage::ReleaseRecord& base);

 private:
  BuildOnce<std::pair<std::string, uint64_t>, TabularRelease> releases_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_TABULAR_H_
