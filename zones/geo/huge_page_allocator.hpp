// HugePageAllocator: an allocator for the big read-mostly arrays of the
// fence index. Blocks of 2 MiB or more are 2 MiB-aligned and marked
// MADV_HUGEPAGE, so random lookups over tens of MB miss the TLB far less
// (on a virtual machine a TLB miss costs a two-level page walk, which
// measured as most of a near-border lookup). Smaller blocks and systems
// without transparent huge pages fall back to plain malloc behaviour.
#pragma once

#include <cstddef>
#include <new>

namespace ezone::geo {

void* huge_page_allocate(size_t bytes);
void huge_page_free(void* p) noexcept;

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(size_t n) { return static_cast<T*>(huge_page_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t) noexcept { huge_page_free(p); }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

}  // namespace ezone::geo
