// MemoryReleaser: gives the heap memory that bulk work freed back to the system.
//
// An import allocates and frees hundreds of megabytes (upload buffers, the publish merge, release
// views built and replaced) on many threads; glibc's malloc keeps what they free in its arenas,
// so without this a server that has just loaded its data holds several times the memory of the
// same server after a restart (issue 10 measured 436 MB against 117 MB). The releaser watches a
// generation counter that the store bumps on every write and view build (work_generation);
// once the counter has changed and then
// stayed still for one period (the work is over and its buffers are gone), it calls
// malloc_trim(0) once. Idle servers and read-only traffic never trigger it.
//
// Thread-safe; owns one thread, stopped by the destructor.
#ifndef CODEBOOK_SERVICE_MEMORY_RELEASER_H_
#define CODEBOOK_SERVICE_MEMORY_RELEASER_H_

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace codebook::service {

// Sets malloc's policy for a server process; call first thing in main. Allocations of 1 MiB
// and more (upload batches, write batches, the tables of release views) are mapped on their
// own and go back to the system when freed. glibc's default threshold starts at 128 KiB but
// rises to the size of the largest block freed, after which such blocks come from the arenas
// and stay there.
void SetServerMallocPolicy();

class MemoryReleaser {
 public:
  // `generation` is called from the releaser's thread; it must be cheap and thread-safe.
  MemoryReleaser(std::function<uint64_t()> generation, absl::Duration period);
  ~MemoryReleaser();
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

  // Times malloc_trim has run (for tests and metrics).
  uint64_t trims() const;

 private:
  void Loop();

  std::function<uint64_t()> generation_;
  absl::Duration period_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t trims_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace codebook::service

#endif  // CODEBOOK_SERVICE_MEMORY_RELEASER_H_
