// BuildOnce: values built on first use and shared by every request after, by key. Used for what
// is derived from published releases (which never change), so an entry never needs
// invalidating: the Tabular read into memory, the clinical terms, their concepts in a release.
#ifndef CODEBOOK_SERVICE_BUILD_ONCE_H_
#define CODEBOOK_SERVICE_BUILD_ONCE_H_

#include <map>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace codebook::service {

template <typename Key, typename Value>
class BuildOnce {
 public:
  // The value of `key`, built by `build()` (a StatusOr<shared_ptr<const Value>>) on first use.
  // One caller builds while the others asking for any key wait, so a value is built once; a
  // build that fails is not kept (the next caller tries again). Thread-safe.
  template <typename Build>
  absl::StatusOr<std::shared_ptr<const Value>> Get(const Key& key, Build build) {
    {
      absl::ReaderMutexLock lock(&mu_);  // the common case: built long ago
      auto it = values_.find(key);
      if (it != values_.end()) return it->second;
    }
    absl::MutexLock lock(&mu_);
    auto it = values_.find(key);
    if (it != values_.end()) return it->second;
    absl::StatusOr<std::shared_ptr<const Value>> built = build();
    if (!built.ok()) return built.status();
    values_.emplace(key, *built);
    return *built;
  }

 private:
  absl::Mutex mu_;
  std::map<Key, std::shared_ptr<const Value>> values_ ABSL_GUARDED_BY(mu_);
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_BUILD_ONCE_H_
