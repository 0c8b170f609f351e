#include "storage/view_cache.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "storage/encoding.h"

namespace codebook::storage {
namespace {

// Heap bytes of a string beyond the object itself (none while it fits in place).
size_t HeapBytes(const std::string& s) {
  return s.capacity() > sizeof(std::string) - 1 ? s.capacity() + 1 : 0;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ReleaseView>> ReleaseView::Build(absl::string_view system,
                                                                 Entries entries) {
  std::shared_ptr<ReleaseView> view(new ReleaseView());
  view->entries_ = std::move(entries);
  view->sorted_codes_.reserve(view->entries_.size());
  for (const auto& [code, entry] : view->entries_) view->sorted_codes_.emplace_back(code);
  std::sort(view->sorted_codes_.begin(), view->sorted_codes_.end());
  WordTable::Builder words;
  ConceptRecord record;
  for (absl::string_view code : view->sorted_codes_) {
    absl::Status s = DecodeConceptRecord(view->entries_.find(code)->second.body, &record);
    if (!s.ok()) return absl::DataLossError(absl::StrCat(s.message(), ": ", system, " ", code));
    words.Add(record);
  }
  view->words_ = words.Finish();
  // The map's slots (one control byte each), the strings they own, the sorted codes, the words.
  size_t bytes = view->entries_.capacity() * (sizeof(Entries::value_type) + 1);
  for (const auto& [code, entry] : view->entries_) bytes += HeapBytes(code) + HeapBytes(entry.body);
  bytes += view->sorted_codes_.capacity() * sizeof(absl::string_view);
  bytes += view->words_->MemoryBytes();
  view->memory_bytes_ = bytes;
  return view;
}

ViewCache::ViewCache(size_t budget_bytes, Loader load, std::function<void()> on_build,
                     std::string name)
    : budget_bytes_(budget_bytes),
      load_(std::move(load)),
      on_build_(std::move(on_build)),
      name_(std::move(name)) {
  if (enabled()) builder_ = std::thread([this] { BuilderLoop(); });
}

ViewCache::~ViewCache() {
  if (!builder_.joinable()) return;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  builder_.join();
}

std::shared_ptr<const ReleaseView> ViewCache::Get(const Key& key) {
  if (!enabled()) return nullptr;
  absl::MutexLock l(&mu_);
  auto it = views_.find(key);
  if (it != views_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    it->second.read = true;
    return it->second.view;
  }
  if (std::find(queue_.begin(), queue_.end(), key) == queue_.end() && !failed_.contains(key)) {
    queue_.push_back(key);
  }
  return nullptr;
}

void ViewCache::Insert(const Key& key, std::shared_ptr<const ReleaseView> view) {
  if (!enabled()) return;
  absl::MutexLock l(&mu_);
  InsertLocked(key, std::move(view));
}

void ViewCache::InsertLocked(const Key& key, std::shared_ptr<const ReleaseView> view) {
  if (views_.contains(key)) return;
  if (view->MemoryBytes() > budget_bytes_) {
    failed_.insert(key);
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr,
                 "codebook store %s: the in-memory view of %s release %llu takes %zu bytes, "
                 "more than the whole view cache (%zu): its reads go to the database\n",
                 name_.c_str(), key.first.c_str(), static_cast<unsigned long long>(key.second),
                 view->MemoryBytes(), budget_bytes_);
    return;
  }
  lru_.push_front(key);
  bytes_ += view->MemoryBytes();
  views_[key] = Slot{std::move(view), lru_.begin()};
  while (bytes_ > budget_bytes_) {
    auto last = views_.find(lru_.back());
    bytes_ -= last->second.view->MemoryBytes();
    views_.erase(last);
    lru_.pop_back();
  }
}

void ViewCache::DropUnread(const Key& key) {
  absl::MutexLock l(&mu_);
  queue_.erase(std::remove(queue_.begin(), queue_.end(), key), queue_.end());
  auto it = views_.find(key);
  if (it == views_.end() || it->second.read) return;
  bytes_ -= it->second.view->MemoryBytes();
  lru_.erase(it->second.lru);
  views_.erase(it);
}

std::pair<size_t, size_t> ViewCache::Counts() const {
  absl::MutexLock l(&mu_);
  return {views_.size(), queue_.size()};
}

size_t ViewCache::bytes() const {
  absl::MutexLock l(&mu_);
  return bytes_;
}

void ViewCache::Log(const Key& key, const absl::Status& why) const {
  std::fprintf(stderr, "codebook store %s: the in-memory view of %s release %llu could not be "
               "built: %s\n", name_.c_str(), key.first.c_str(),
               static_cast<unsigned long long>(key.second), why.ToString().c_str());
}

void ViewCache::BuilderLoop() {
  while (true) {
    Key key;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](ViewCache* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->stopping_ || !c->queue_.empty();
          },
          this));
      if (stopping_) return;
      key = queue_.front();
    }
    absl::StatusOr<std::shared_ptr<ReleaseView>> view = load_(key);
    // A release discarded or retracted meanwhile is no failure; anything else is counted and
    // said (the reads of that release go to the database, which reports the same error).
    const bool failed =
        !view.ok() && view.status().code() != absl::StatusCode::kFailedPrecondition;
    {
      absl::MutexLock l(&mu_);
      // Still queued unless DropUnread cancelled it while it was being built.
      bool wanted = std::find(queue_.begin(), queue_.end(), key) != queue_.end();
      queue_.erase(std::remove(queue_.begin(), queue_.end(), key), queue_.end());
      if (wanted && view.ok()) InsertLocked(key, *std::move(view));
      if (failed) {
        failed_.insert(key);
        failures_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (failed) Log(key, view.status());
    view = nullptr;  // a cancelled view goes here, outside the lock
    if (on_build_) on_build_();
  }
}

}  // namespace codebook::storage
