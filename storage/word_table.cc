#include "storage/word_table.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "storage/terms.h"

namespace codebook::storage {

uint32_t WordTable::Builder::Id(absl::string_view term) {
  auto [it, inserted] = ids_.try_emplace(term, static_cast<uint32_t>(terms_.size()));
  if (inserted) terms_.emplace_back(term);
  return it->second;
}

void WordTable::Builder::Add(const ConceptRecord& r) {
  WordTable& t = *table_;
  scratch_.clear();
  Tokenize(r.display, &scratch_);
  for (const std::string& w : scratch_) t.words_.push_back(Id(w));
  t.offsets_.push_back(static_cast<uint32_t>(t.words_.size()));
  scratch_.clear();
  for (const auto& [use, text] : r.designations) Tokenize(text, &scratch_);
  for (const std::string& w : scratch_) t.words_.push_back(Id(w));
  t.offsets_.push_back(static_cast<uint32_t>(t.words_.size()));
  t.flags_.push_back(static_cast<uint8_t>((r.billable ? 1 : 0) | (static_cast<uint8_t>(r.kind) << 1)));
}

std::unique_ptr<WordTable> WordTable::Builder::Finish() {
  WordTable& t = *table_;
  // Number the terms in sorted order.
  std::vector<uint32_t> order(terms_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return terms_[a] < terms_[b]; });
  std::vector<uint32_t> remap(terms_.size());
  t.terms_.reserve(terms_.size());
  for (uint32_t rank = 0; rank < order.size(); ++rank) {
    remap[order[rank]] = rank;
    t.terms_.push_back(std::move(terms_[order[rank]]));
  }
  for (uint32_t& w : t.words_) w = remap[w];
  // Postings: each concept once per distinct term.
  std::vector<uint32_t> count(t.terms_.size() + 1, 0);
  std::vector<uint32_t> distinct;
  auto distinct_terms = [&](uint32_t c) {
    distinct.assign(t.words_.begin() + t.offsets_[2 * c], t.words_.begin() + t.offsets_[2 * c + 2]);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  };
  for (uint32_t c = 0; c < t.concepts(); ++c) {
    distinct_terms(c);
    for (uint32_t w : distinct) ++count[w + 1];
  }
  for (size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
  t.posting_offsets_ = count;
  t.postings_.resize(count.back());
  for (uint32_t c = 0; c < t.concepts(); ++c) {
    distinct_terms(c);
    for (uint32_t w : distinct) t.postings_[count[w]++] = c;
  }
  ids_.clear();
  terms_.clear();
  return std::move(table_);
}

std::pair<uint32_t, uint32_t> WordTable::PrefixRange(absl::string_view prefix) const {
  auto less = [](const std::string& a, absl::string_view b) { return a < b; };
  auto lo = std::lower_bound(terms_.begin(), terms_.end(), prefix, less);
  // From lo on, the terms that start with the prefix come first.
  auto hi = std::partition_point(lo, terms_.end(), [&](const std::string& t) {
    return absl::StartsWith(t, prefix);
  });
  return {static_cast<uint32_t>(lo - terms_.begin()), static_cast<uint32_t>(hi - terms_.begin())};
}

uint32_t WordTable::Find(absl::string_view term) const {
  auto it = std::lower_bound(terms_.begin(), terms_.end(), term,
                             [](const std::string& a, absl::string_view b) { return a < b; });
  return it != terms_.end() && *it == term ? static_cast<uint32_t>(it - terms_.begin()) : kNoTerm;
}

size_t WordTable::MemoryBytes() const {
  size_t bytes = words_.size() * 4 + offsets_.size() * 4 + flags_.size() + postings_.size() * 4 +
                 posting_offsets_.size() * 4;
  for (const std::string& s : terms_) bytes += sizeof(std::string) + s.capacity();
  return bytes;
}

}  // namespace codebook::storage
