#include "storage/catalog.h"

#include <algorithm>
#include <utility>

namespace codebook::storage {

void Catalog::Builder::Add(ReleaseRecord r) {
  catalog_->releases_[r.system].push_back(std::move(r));
}

void Catalog::Builder::SeeEvent(absl::string_view system, uint64_t sequence) {
  uint64_t& last = catalog_->last_event_[std::string(system)];
  last = std::max(last, sequence);
}

void Catalog::Builder::AddSystem(CodeSystemRecord r) {
  std::string id = r.id;
  registry_[id] = std::move(r);
}

void Catalog::Builder::AddValueSet(ValueSetRecord r) {
  std::string url = r.url;
  value_sets_[url].push_back(std::move(r));
}

std::shared_ptr<const Catalog> Catalog::Builder::Finish() {
  catalog_->registry_ = std::make_shared<Registry>(std::move(registry_));
  for (auto& [url, versions] : value_sets_) {
    std::stable_sort(versions.begin(), versions.end(),
                     [](const ValueSetRecord& a, const ValueSetRecord& b) {
                       return a.create_time_micros < b.create_time_micros;
                     });
  }
  catalog_->value_sets_ = std::make_shared<ValueSets>(std::move(value_sets_));
  for (auto& [system, list] : catalog_->releases_) catalog_->Sort(&list);
  return std::move(catalog_);
}

const std::vector<ReleaseRecord>& Catalog::Releases(absl::string_view system) const {
  static const std::vector<ReleaseRecord> kEmpty;
  auto it = releases_.find(system);
  return it == releases_.end() ? kEmpty : it->second;
}

std::vector<std::string> Catalog::Systems() const {
  std::vector<std::string> out;
  for (const auto& [system, list] : releases_) out.push_back(system);
  return out;
}

const ReleaseRecord* Catalog::Find(absl::string_view system, absl::string_view version) const {
  for (const ReleaseRecord& r : Releases(system)) {
    if (r.version == version) return &r;
  }
  return nullptr;
}

const ReleaseRecord* Catalog::FindBySequence(absl::string_view system, uint64_t sequence) const {
  for (const ReleaseRecord& r : Releases(system)) {
    if (r.sequence == sequence && sequence != 0) return &r;
  }
  return nullptr;
}

const ReleaseRecord* Catalog::LatestPublished(absl::string_view system) const {
  const ReleaseRecord* latest = nullptr;
  for (const ReleaseRecord& r : Releases(system)) {
    if (r.state == ReleaseState::kPublished) latest = &r;
  }
  return latest;
}

std::shared_ptr<const Catalog> Catalog::With(const ReleaseRecord& r, bool erase,
                                             uint64_t last_event) const {
  std::shared_ptr<Catalog> next(new Catalog(*this));
  if (last_event != 0) next->last_event_[r.system] = last_event;
  auto& list = next->releases_[r.system];
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const ReleaseRecord& x) { return x.version == r.version; }),
             list.end());
  if (!erase) list.push_back(r);
  if (list.empty()) {
    next->releases_.erase(r.system);
  } else {
    next->Sort(&list);
  }
  return next;
}

const CodeSystemRecord* Catalog::FindRegistered(absl::string_view id) const {
  auto it = registry_->find(id);
  return it == registry_->end() ? nullptr : &it->second;
}

const CodeSystemRecord* Catalog::FindRegisteredByUri(absl::string_view uri) const {
  for (const auto& [id, r] : *registry_) {
    if (r.uri == uri) return &r;
  }
  return nullptr;
}

std::shared_ptr<const Catalog> Catalog::WithSystem(const CodeSystemRecord& r) const {
  std::shared_ptr<Catalog> next(new Catalog(*this));
  auto registry = std::make_shared<Registry>(*registry_);
  (*registry)[r.id] = r;
  next->registry_ = std::move(registry);
  return next;
}

const ValueSetRecord* Catalog::FindValueSet(absl::string_view url,
                                            absl::string_view version) const {
  auto it = value_sets_->find(url);
  if (it == value_sets_->end() || it->second.empty()) return nullptr;
  if (version.empty()) return &it->second.back();
  for (const ValueSetRecord& r : it->second) {
    if (r.version == version) return &r;
  }
  return nullptr;
}

std::shared_ptr<const Catalog> Catalog::WithValueSet(const ValueSetRecord& r) const {
  std::shared_ptr<Catalog> next(new Catalog(*this));
  auto sets = std::make_shared<ValueSets>(*value_sets_);
  (*sets)[r.url].push_back(r);
  next->value_sets_ = std::move(sets);
  return next;
}

void Catalog::Sort(std::vector<ReleaseRecord>* list) {
  std::stable_sort(list->begin(), list->end(), [](const ReleaseRecord& a, const ReleaseRecord& b) {
    bool a_staged = a.sequence == 0, b_staged = b.sequence == 0;
    if (a_staged != b_staged) return !a_staged;
    if (!a_staged) return a.sequence < b.sequence;
    return a.create_time_micros < b.create_time_micros;
  });
}

}  // namespace codebook::storage
