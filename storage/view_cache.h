// Release views and their cache.
//
// ReleaseView: the concepts present in one published release, held in memory (code -> entry
// sequence and record body, the codes sorted, and their words for search). Immutable once
// built, so it never needs invalidating: a published release never changes.
//
// ViewCache: the views a store holds, least recently used dropped first once their bytes
// (ReleaseView::MemoryBytes) pass a budget, as LevelDB's TableCache holds open tables. Views
// are built by the cache's own thread from a loader the store gives it, in the order asked for;
// Get never waits for a build. A build that fails is counted, logged and not tried again (a
// published release would fail the same way), and so is a view larger than the whole budget.
// Thread-safe.
#ifndef CODEBOOK_STORAGE_VIEW_CACHE_H_
#define CODEBOOK_STORAGE_VIEW_CACHE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "storage/derived_slot.h"
#include "storage/word_table.h"

namespace codebook::storage {

class ReleaseView {
 public:
  struct Entry {
    uint64_t sequence;  // of the release that wrote the entry
    std::string body;   // the record body (storage/encoding.h)
  };
  using Entries = absl::flat_hash_map<std::string, Entry>;

  // The view of `entries` (the present concepts of one release of `system`): sorts the codes
  // and builds their word table. DATA_LOSS naming the code when a body does not decode.
  static absl::StatusOr<std::shared_ptr<ReleaseView>> Build(absl::string_view system,
                                                            Entries entries);

  // nullptr if the code is not present in the release.
  const Entry* Find(absl::string_view code) const {
    auto it = entries_.find(code);
    return it == entries_.end() ? nullptr : &it->second;
  }
  size_t size() const { return entries_.size(); }
  // Every code of the release, sorted; views into the keys of entries_ (stable: the map is not
  // modified once built).
  const std::vector<absl::string_view>& sorted_codes() const { return sorted_codes_; }
  // The words of every concept, concept i being sorted_codes()[i]: search scores candidates
  // with it.
  const WordTable& words() const { return *words_; }
  // What a higher layer derives from this view (the service's search tables): built by
  // `build` (returning a std::shared_ptr<const T>) on the first call, then the same value for
  // every caller until the view is dropped, so it costs memory only while the view is held.
  // One value per view: every caller must ask for the same T. Thread-safe.
  template <typename T, typename Build>
  std::shared_ptr<const T> Derived(Build build) const {
    return derived_.Get<T>(build);
  }
  // About what the view takes in memory (entries, codes, words), measured when it is built;
  // what is derived from it later is not counted.
  size_t MemoryBytes() const { return memory_bytes_; }

 private:
  ReleaseView() = default;
  Entries entries_;
  std::vector<absl::string_view> sorted_codes_;
  std::unique_ptr<WordTable> words_;
  DerivedSlot derived_;
  size_t memory_bytes_ = 0;
};

class ViewCache {
 public:
  using Key = std::pair<std::string, uint64_t>;  // system, release sequence
  // Builds the view of a release; FAILED_PRECONDITION when the release is no longer one that
  // has a view (discarded meanwhile): not a failure.
  using Loader = std::function<absl::StatusOr<std::shared_ptr<ReleaseView>>(const Key&)>;

  // Holds views of at most `budget_bytes` in all; 0 holds none (Get always answers nullptr and
  // no thread is started). `on_build` is called after each build (views are bulk work: the
  // process may want to hand memory back); `name` prefixes the log lines.
  ViewCache(size_t budget_bytes, Loader load, std::function<void()> on_build, std::string name);
  ~ViewCache();  // stops the builder thread, after the build under way
  ViewCache(const ViewCache&) = delete;
  ViewCache& operator=(const ViewCache&) = delete;

  bool enabled() const { return budget_bytes_ > 0; }
  // The view if held (it becomes the most recently used, and read); else nullptr, and its build
  // is queued unless it is queued already or failed before.
  std::shared_ptr<const ReleaseView> Get(const Key& key);
  // Adds a view built elsewhere (Store::BuildView); the least recently used go past the budget.
  void Insert(const Key& key, std::shared_ptr<const ReleaseView> view);
  // Drops the view if no Get has returned it (a warm-up nobody read) and any queued build of it.
  void DropUnread(const Key& key);

  // The views held and the builds queued.
  std::pair<size_t, size_t> Counts() const;
  // The bytes of the views held (at most the budget).
  size_t bytes() const;
  // Builds that failed (other than FAILED_PRECONDITION), and views larger than the budget.
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  void BuilderLoop();
  void InsertLocked(const Key& key, std::shared_ptr<const ReleaseView> view)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Log(const Key& key, const absl::Status& why) const;

  const size_t budget_bytes_;
  const Loader load_;
  const std::function<void()> on_build_;
  const std::string name_;

  mutable absl::Mutex mu_;
  // A view held; `read` once Get has returned it (a view built only as a warm-up has not been).
  struct Slot {
    std::shared_ptr<const ReleaseView> view;
    std::list<Key>::iterator lru;
    bool read = false;
  };
  absl::flat_hash_map<Key, Slot> views_ ABSL_GUARDED_BY(mu_);
  std::list<Key> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Key> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Key> failed_ ABSL_GUARDED_BY(mu_);  // not queued again
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> failures_{0};
  std::thread builder_;
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_VIEW_CACHE_H_
