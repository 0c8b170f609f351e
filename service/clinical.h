// Clinical words for search: the terms of a system's Alphabetic Index and the inclusion terms
// and "includes" notes of its Tabular List, each an entry that names one code, searchable
// beside the release's own descriptions (search.h).
//
// Entries:
//  - every Index term (Index, External Cause Index) that gives a code, its own or, through a
//    resolved "see", its target's; text: the titles of its path ("Attack, attacks, heart"),
//    with its nonessential modifiers after them; depth 1 for a main term;
//  - every ICD-10-PCS Index term that gives a code, a partial code ("0DTJ") or a table ("0DT"),
//    its own or inside its "see" (the Definitions are not entries);
//  - every coded cell of the Drug and Neoplasm tables; text: the row's path and the column's
//    heading ("Acetaminophen, poisoning, accidental (unintentional)");
//  - every inclusion term and "includes" note of a Tabular code or category; its words in
//    parentheses (nonessential, as in the Index) after the others.
// An entry's code is written as the publisher wrote it and kept in storage form, without a
// trailing "-" ("S52.50-" names S5250); whether it exists is a question for each release
// searched, not for this table.
//
// Built once per pair of supplement releases (a published release never changes) and shared
// by every request after; immutable once built.
#ifndef CODEBOOK_SERVICE_CLINICAL_H_
#define CODEBOOK_SERVICE_CLINICAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "codebook/v1/terminology.pb.h"
#include "service/build_once.h"
#include "service/tabular.h"
#include "storage/derived_slot.h"
#include "storage/store.h"
#include "storage/word_table.h"

namespace codebook::service {

class ClinicalTerms {
 public:
  struct Entry {
    std::string code;    // base system, storage form
    std::string reason;  // for people: "index: Attack, attacks, heart -> see Infarct, myocardium"
    v1::SearchMatch match = v1::SEARCH_MATCH_INDEX;  // INDEX or NOTE
    int depth = 1;       // Index: 1 for a main term, 2 for its subterm, ...; notes: 1
    bool from_tabular = false;
    // What a match here adds to the score: the Index of diseases most (it is where a coder
    // starts), the Drug and Neoplasm tables and the Tabular's notes less, the External Cause
    // Index least (its codes are secondary codes, never what a condition's words ask for).
    double bonus = 0;
    // The Index wrote the code with a trailing "-", or the Tabular asks a 7th character of
    // it: more characters are needed, so a header is the answer it means, not a sign of a code
    // split since.
    bool incomplete = false;
    // `code` is the start of codes rather than one (ICD-10-PCS "0DTJ", a table "0DT"): it
    // stands for every code of the release under it.
    bool partial = false;
  };

  // Reads the entries of `index` (a published ICD10CM-INDEX release; may be null) through
  // `reader`, and takes those of `tabular` (may be null). DATA_LOSS on a corrupt record.
  static absl::StatusOr<std::shared_ptr<const ClinicalTerms>> Load(
      storage::Reader& reader, const storage::ReleaseRecord* index,
      std::shared_ptr<const TabularRelease> tabular);

  const std::vector<Entry>& entries() const { return entries_; }
  // Per entry, the number of its code in `view` (the release view of base release `sequence`
  // of `system`: its index in view.sorted_codes()), or -1 when the release lacks it (and for
  // partial codes). Worked out once per base release and kept; thread-safe.
  std::shared_ptr<const std::vector<int32_t>> ConceptsIn(absl::string_view system,
                                                         uint64_t sequence,
                                                         const storage::ReleaseView& view) const;
  // The entries' words, entry i being the table's concept i: its text, then its nonessential
  // modifiers, as display words; the first essential(i) of them are the text's.
  const storage::WordTable& words() const { return *words_; }
  size_t essential(uint32_t i) const { return essential_[i]; }
  // What search derives from these terms (its SearchTable): built by `build` (returning a
  // std::shared_ptr<const T>) on the first call, then the same value for every caller. One
  // value: every caller must ask for the same T. Thread-safe.
  template <typename T, typename Build>
  std::shared_ptr<const T> Derived(Build build) const {
    return derived_.Get<T>(build);
  }
  // The supplement releases the entries came from (unset = none).
  const storage::ReleaseRecord* index_release() const { return index_ ? &*index_ : nullptr; }
  const storage::ReleaseRecord* tabular_release() const {
    return tabular_ ? &tabular_->release() : nullptr;
  }

 private:
  std::vector<Entry> entries_;
  std::vector<uint16_t> essential_;
  std::unique_ptr<storage::WordTable> words_;
  storage::DerivedSlot derived_;
  std::optional<storage::ReleaseRecord> index_;
  std::shared_ptr<const TabularRelease> tabular_;
  mutable BuildOnce<std::pair<std::string, uint64_t>, std::vector<int32_t>> concepts_in_;
};

// The clinical terms that serve each base release, read once per pair of supplement releases.
// Thread-safe.
class ClinicalCache {
 public:
  explicit ClinicalCache(TabularCache* tabular) : tabular_(tabular) {}
  // The terms of the Index and Tabular releases that serve `base` (SupplementFor); nullptr
  // when the server holds neither for it.
  absl::StatusOr<std::shared_ptr<const ClinicalTerms>> For(storage::Reader& reader,
                                                           const storage::ReleaseRecord& base);

 private:
  TabularCache* tabular_;
  // By (index system, index sequence, tabular system, tabular sequence); "" and 0 for none.
  BuildOnce<std::tuple<std::string, uint64_t, std::string, uint64_t>, ClinicalTerms> terms_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_CLINICAL_H_
