#include "zones/geo/huge_page_allocator.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace ezone::geo {

namespace {
constexpr size_t kHugePageBytes = size_t{2} << 20;
}

void* huge_page_allocate(size_t bytes) {
  void* p = nullptr;
  if (bytes >= kHugePageBytes) {
    const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    if (posix_memalign(&p, kHugePageBytes, rounded) != 0) throw std::bad_alloc();
    // Advice only: without THP support the memory works as ordinary pages.
    madvise(p, rounded, MADV_HUGEPAGE);
    return p;
  }
  // Cache-line aligned, so index blocks laid out on lines stay on them.
  if (posix_memalign(&p, 64, bytes == 0 ? 64 : bytes) != 0) throw std::bad_alloc();
  return p;
}

void huge_page_free(void* p) noexcept { std::free(p); }

}  // namespace ezone::geo
