// libFuzzer target: the record decoders of storage/encoding.h (concept entries and bodies,
// term entries, events, links, releases, registry entries). Any bytes must decode or be refused with a status,
// never crash, and a record that decodes must survive encode -> decode unchanged.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "storage/encoding.h"

using namespace codebook::storage;

namespace {

void CheckConcept(absl::string_view in) {
  ConceptRecord r;
  if (!DecodeConceptRecord(in, &r).ok()) return;
  std::string again;
  EncodeConceptRecord(r, &again);
  ConceptRecord r2;
  if (!DecodeConceptRecord(again, &r2).ok() || r2 != r) abort();

  bool deleted = false;
  ConceptRecord r3;
  if (DecodeConceptEntry(in, &deleted, &r3).ok() && !deleted) {
    ConceptRecord r4;
    if (!DecodeConceptEntry(EncodePresentEntry(r3), &deleted, &r4).ok() || deleted || r4 != r3) {
      abort();
    }
  }
}

void CheckEntry(absl::string_view in) {
  bool deleted = false;
  ConceptRecord r;
  if (!DecodeConceptEntry(in, &deleted, &r).ok()) return;
  std::string again = deleted ? EncodeDeletedEntry() : EncodePresentEntry(r);
  bool deleted2 = false;
  ConceptRecord r2;
  if (!DecodeConceptEntry(again, &deleted2, &r2).ok() || deleted2 != deleted) abort();
  if (!deleted && r2 != r) abort();
  if (!DecodeConceptEntry(in, &deleted2, nullptr).ok()) abort();  // the header-only read agrees
}

void CheckTerms(absl::string_view in) {
  std::vector<std::pair<std::string, bool>> codes;
  if (!DecodeTermEntry(in, [&](absl::string_view code, bool gains) {
        codes.emplace_back(std::string(code), gains);
      }).ok()) {
    return;
  }
  std::vector<std::pair<absl::string_view, bool>> views;
  for (const auto& [code, gains] : codes) views.emplace_back(code, gains);
  std::string again;
  EncodeTermEntry(views, &again);
  std::vector<std::pair<std::string, bool>> codes2;
  if (!DecodeTermEntry(again, [&](absl::string_view code, bool gains) {
        codes2.emplace_back(std::string(code), gains);
      }).ok() ||
      codes2 != codes) {
    abort();
  }
}

void CheckEvent(absl::string_view in) {
  EventRecord e;
  if (!DecodeEvent(in, &e).ok()) return;
  EventRecord e2;
  if (!DecodeEvent(EncodeEvent(e), &e2).ok()) abort();
  if (e2.kind != e.kind || e2.version != e.version || e2.time_micros != e.time_micros) abort();
}

void CheckLink(absl::string_view in) {
  CodeLinkRecord l;
  if (!DecodeLink(in, &l).ok()) return;
  CodeLinkRecord l2;
  if (!DecodeLink(EncodeLink(l), &l2).ok()) abort();
  if (l2.effective != l.effective || l2.note != l.note) abort();
}

void CheckRelease(absl::string_view in) {
  ReleaseRecord r;
  if (!DecodeRelease(in, &r).ok()) return;
  ReleaseRecord r2;
  if (!DecodeRelease(EncodeRelease(r), &r2).ok()) abort();
  if (EncodeRelease(r2) != EncodeRelease(r)) abort();
}

void CheckSystem(absl::string_view in) {
  CodeSystemRecord r;
  if (!DecodeSystem(in, &r).ok()) return;
  CodeSystemRecord r2;
  if (!DecodeSystem(EncodeSystem(r), &r2).ok()) abort();
  if (!r2.SameDefinition(r) || r2.create_time_micros != r.create_time_micros) abort();
}

void CheckValueSet(absl::string_view in) {
  ValueSetRecord r;
  if (!DecodeValueSet(in, &r).ok()) return;
  ValueSetRecord r2;
  if (!DecodeValueSet(EncodeValueSet(r), &r2).ok()) abort();
  if (!r2.SameDefinition(r) || r2.create_time_micros != r.create_time_micros) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the decoder, so one corpus serves all and seeds keep their meaning.
  absl::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 8) {
    case 0: CheckConcept(in); break;
    case 1: CheckEntry(in); break;
    case 2: CheckTerms(in); break;
    case 3: CheckEvent(in); break;
    case 4: CheckLink(in); break;
    case 5: CheckRelease(in); break;
    case 6: CheckSystem(in); break;
    case 7: CheckValueSet(in); break;
  }
  return 0;
}
