// DerivedSlot: one value that a higher layer derives from an immutable object and keeps with it,
// so that it lives exactly as long as the object (a release view's search tables go when the
// view is dropped). The slot does not know the value's type; every caller must ask for the same
// one.
#ifndef CODEBOOK_STORAGE_DERIVED_SLOT_H_
#define CODEBOOK_STORAGE_DERIVED_SLOT_H_

#include <memory>

#include "absl/base/call_once.h"

namespace codebook::storage {

class DerivedSlot {
 public:
  // The value: built by `build()` (returning something a std::shared_ptr<const T> is made
  // from) on the first call, then the same for every caller. Thread-safe; callers wait while
  // the first one builds.
  template <typename T, typename Build>
  std::shared_ptr<const T> Get(Build build) const {
    absl::call_once(once_, [&] { value_ = std::shared_ptr<const T>(build()); });
    return std::static_pointer_cast<const T>(value_);
  }

 private:
  mutable absl::once_flag once_;
  mutable std::shared_ptr<const void> value_;  // set once, under once_
};

}  // namespace codebook::storage

#endif  // CODEBOOK_STORAGE_DERIVED_SLOT_H_
