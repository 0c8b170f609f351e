// Search queries as people type them into a search box, drawn from a release's descriptions:
// for the benchmark's autocomplete figures and for the tests that hold search to its reference.
#ifndef CODEBOOK_TESTS_TYPED_QUERIES_H_
#define CODEBOOK_TESTS_TYPED_QUERIES_H_

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "importers/importers.h"

namespace codebook::testing {

// `n` queries, each 1 to 3 consecutive words of a description of `concepts` (lowercased), the
// last cut to a prefix of at least 3 letters; the same for the same `seed`.
inline std::vector<std::string> TypedQueries(const importers::Concepts& concepts, int n,
                                             unsigned seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<std::string> out;
  while (static_cast<int>(out.size()) < n && !concepts.empty()) {
    const v1::Concept& c = concepts[uniform(0, static_cast<int>(concepts.size()) - 1)];
    std::vector<std::string> words;
    std::string w;
    for (char ch : c.display() + " ") {
      if (std::isalnum(static_cast<unsigned char>(ch))) {
        w.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      } else if (!w.empty()) {
        words.push_back(w);
        w.clear();
      }
    }
    if (words.empty()) continue;
    int count = uniform(1, std::min<int>(3, static_cast<int>(words.size())));
    int start = uniform(0, static_cast<int>(words.size()) - count);
    std::string last = words[start + count - 1];
    if (last.size() < 3) continue;
    std::string q;
    for (int k = start; k < start + count - 1; ++k) q += words[k] + " ";
    out.push_back(q + last.substr(0, uniform(3, static_cast<int>(last.size()))));
  }
  return out;
}

}  // namespace codebook::testing

#endif  // CODEBOOK_TESTS_TYPED_QUERIES_H_
