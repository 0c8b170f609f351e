// libFuzzer target: the key decoders of storage/encoding.h. Any bytes must decode or be refused
// without a crash, and whatever decodes must encode back to the same key (the key layout is
// frozen and canonical).
#include <cstdlib>
#include <string>

#include "storage/encoding.h"

using namespace codebook::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view key(reinterpret_cast<const char*>(data), size);
  // The system is what comes before the first NUL, as in every key.
  size_t nul = key.find('\0');
  if (nul == absl::string_view::npos) return 0;
  absl::string_view system = key.substr(0, nul);
  const size_t prefix_len = SystemPrefix(system).size();

  absl::string_view code;
  uint64_t sequence = 0;
  if (DecodeConceptKey(key, prefix_len, &code, &sequence)) {
    if (ConceptKey(system, code, sequence) != key) abort();
  }
  absl::string_view term;
  if (DecodeTermKey(key, prefix_len, &term, &sequence)) {
    if (TermKey(system, term, sequence) != key) abort();
  }
  absl::string_view whole_system;
  if (SplitConceptKey(key, &whole_system, &code, &sequence)) {
    if (ConceptKey(whole_system, code, sequence) != key) abort();
  }
  if (DecodeEventKey(key, &whole_system, &sequence)) {
    if (EventKey(whole_system, sequence) != key) abort();
  }
  // PrefixEnd bounds every key that starts with the prefix.
  std::string end = PrefixEnd(std::string(key));
  if (!end.empty() && !(absl::string_view(end) > key)) abort();
  return 0;
}
