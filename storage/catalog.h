// Catalog: an immutable picture of the registry of code systems, of every release of every
// system, and of each system's newest event. Shared by readers; never modified: a write makes
// the next one (With, WithSystem) and the store swaps it in whole.
#ifndef CODEBOOK_STORAGE_CATALOG_H_
#define CODEBOOK_STORAGE_CATALOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "storage/records.h"

namespace codebook::storage {

class Catalog {
 public:
  // Made from the stored records (Store::LoadCatalog): releases in any order, events' sequences.
  class Builder {
   public:
    Builder() : catalog_(new Catalog()) {}
    void Add(ReleaseRecord r);
    // The system's newest event: the highest sequence given for it.
    void SeeEvent(absl::string_view system, uint64_t sequence);
    void AddSystem(CodeSystemRecord r);
    void AddValueSet(ValueSetRecord r);
    std::shared_ptr<const Catalog> Finish();

   private:
    std::shared_ptr<Catalog> catalog_;
    std::map<std::string, CodeSystemRecord, std::less<>> registry_;
    std::map<std::string, std::vector<ValueSetRecord>, std::less<>> value_sets_;
  };

  // Releases of one system: published and retracted ones by ascending sequence, then staged
  // ones by creation time. Empty if the system has none.
  const std::vector<ReleaseRecord>& Releases(absl::string_view system) const;
  // The systems with at least one release, sorted.
  std::vector<std::string> Systems() const;
  // nullptr if absent.
  const ReleaseRecord* Find(absl::string_view system, absl::string_view version) const;
  // The release with this sequence number; nullptr if absent.
  const ReleaseRecord* FindBySequence(absl::string_view system, uint64_t sequence) const;
  // The published release with the highest sequence; nullptr if none.
  const ReleaseRecord* LatestPublished(absl::string_view system) const;
  // The registry: every registered code system and supplement, by id.
  using Registry = std::map<std::string, CodeSystemRecord, std::less<>>;
  const Registry& RegisteredSystems() const { return *registry_; }
  // nullptr if no system has this id (or URI).
  const CodeSystemRecord* FindRegistered(absl::string_view id) const;
  const CodeSystemRecord* FindRegisteredByUri(absl::string_view uri) const;
  // Value sets: every version of each, by canonical URL, versions in creation order.
  using ValueSets = std::map<std::string, std::vector<ValueSetRecord>, std::less<>>;
  const ValueSets& value_sets() const { return *value_sets_; }
  // The version `version` of the value set `url`, or its newest version when `version` is "";
  // nullptr if there is none.
  const ValueSetRecord* FindValueSet(absl::string_view url, absl::string_view version) const;
  // Sequence of the system's newest event (0 if none).
  uint64_t LastEvent(absl::string_view system) const {
    auto it = last_event_.find(system);
    return it == last_event_.end() ? 0 : it->second;
  }

  // The next catalog: this one with `r` in place of the release of its system and version
  // (added if there was none; removed with `erase`), and `last_event`, when not 0, as its
  // system's newest event.
  std::shared_ptr<const Catalog> With(const ReleaseRecord& r, bool erase,
                                      uint64_t last_event = 0) const;
  // The next catalog: this one with `r` in the registry, in place of the system of its id.
  std::shared_ptr<const Catalog> WithSystem(const CodeSystemRecord& r) const;
  // The next catalog: this one with the value-set version `r` added (after its other versions).
  std::shared_ptr<const Catalog> WithValueSet(const ValueSetRecord& r) const;

 private:
  Catalog() = default;
  static void Sort(std::vector<ReleaseRecord>* list);

  std::map<std::string, std::vector<ReleaseRecord>, std::less<>> releases_;
  std::map<std::string, uint64_t, std::less<>> last_event_;
  // Shared between successive catalogs until the registry changes.
  std::shared_ptr<const Registry> registry_ = std::make_shared<Registry>();
  std::shared_ptr<const ValueSets> value_sets_ = std::make_shared<ValueSets>();
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_CATALOG_H_
