// Search: text and code search over one release, on the store's versioned search index.
//
// A query is read as words (storage/terms.h splits them the way the index does; "w/o" and "w/"
// are read as "without" and "with" first). Each word matches a concept when it starts a word
// of the concept's display or of one of its designations, directly or through a known
// abbreviation (QueryWord::alternatives). A word that matches nothing in the release is
// retried without its last letters, down to 4, so "diabetis" finds "diabetes". A one-token
// query shaped like a code of the system also matches codes: the code itself first, then codes
// that start with it. See codebook.v1.Terminology.Search for the ranking.
//
// Cost: with the release's view built, its SearchTable (search_table.h, derived once per view)
// gives each query word's matches as bit sets, and from them the candidates, their count, and
// per candidate (and per block of 64) the most it can score; only the candidates whose bound
// can still reach the page asked for are scored, best bound first, and no record is decoded but
// the page's. The Index and Tabular terms are searched the same way over their own table.
// SearchOptions::exhaustive scores every candidate instead: the reference the tests hold the
// pruned search to. Without a view, one scan of the stored index under the word likely rarest
// (its longest form), one record read per candidate, and a table built over just them, every
// candidate scored.
#ifndef CODEBOOK_SERVICE_SEARCH_H_
#define CODEBOOK_SERVICE_SEARCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codebook/v1/terminology.pb.h"
#include "service/clinical.h"
#include "service/code_systems.h"
#include "service/search_table.h"
#include "storage/store.h"

namespace codebook::service {

// Limits (documented in terminology.proto).
inline constexpr int kMaxQueryLength = 200;
inline constexpr int kDefaultSearchPageSize = 20;
inline constexpr int kMaxSearchPageSize = 200;

// True when a query (trimmed) is shaped like (the start of) a code of the system, or is a
// two-character modifier: such queries search codes, not text.
bool IsCodeQuery(CodeFormat format, absl::string_view query);

// The words of a query with their abbreviation alternatives (no index access).
std::vector<QueryWord> ParseQuery(absl::string_view query);

struct SearchOptions {
  // Score every candidate, not only those whose bound can reach the page: the reference that
  // the pruned search must equal (tests compare them).
  bool exhaustive = false;
};

// Answers `req` (already checked: system known, query length, page size) from `release`, with
// the Index and Tabular terms of `clinical` (those serving `release`; may be null) searched
// beside its texts. `offset` is where the page starts in the full ranked list;
// resp->next_page_token is left for the caller to fill from resp->total_hits.
absl::Status SearchRelease(storage::Reader* reader, const CodeSystemInfo& system,
                           const storage::ReleaseRecord& release, const ClinicalTerms* clinical,
                           const v1::SearchRequest& req, int offset, int page_size,
                           v1::SearchResponse* resp, const SearchOptions& options = {});

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_SEARCH_H_
