#include "service/memory_releaser.h"

#include <malloc.h>

#include <utility>

namespace codebook::service {

void SetServerMallocPolicy() {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);  // also stops the threshold from moving
}

MemoryReleaser::MemoryReleaser(std::function<uint64_t()> generation, absl::Duration period)
    : generation_(std::move(generation)), period_(period), thread_([this] { Loop(); }) {}

MemoryReleaser::~MemoryReleaser() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

uint64_t MemoryReleaser::trims() const {
  absl::MutexLock l(&mu_);
  return trims_;
}

void MemoryReleaser::Loop() {
  uint64_t trimmed_at = generation_();  // what the last trim (or the start) saw
  uint64_t last = trimmed_at;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), period_)) return;
    }
    uint64_t now = generation_();
    if (now == last && now != trimmed_at) {
      malloc_trim(0);
      trimmed_at = now;
      absl::MutexLock l(&mu_);
      ++trims_;
    }
    last = now;
  }
}

}  // namespace codebook::service
