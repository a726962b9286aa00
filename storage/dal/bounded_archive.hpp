// BoundedBinaryInputArchive: a cereal input archive for bytes from a peer.
//
// It reads cereal's portable binary format (what PortableBinaryOutputArchive
// writes: an endianness byte, then little-endian values) from memory, like
// PortableBinaryInputArchive, with one difference: a container or string
// whose announced size is larger than the bytes left is refused before
// anything is allocated. cereal resizes a container to the size it reads
// and only then reads the elements, so one forged size prefix in an outbox
// entry (found by a mutation test) made PortableBinaryInputArchive allocate
// and zero gigabytes. Every element of every type ezone encodes takes at
// least one byte, so no real message has a size over the bytes left.
//
// For the .cpp files that decode; include after the cereal type headers.
#pragma once

#include <cereal/cereal.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace ezone::dal {

class BoundedBinaryInputArchive
    : public cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedBinaryInputArchive(std::string_view bytes)
      : InputArchive(this), next_(bytes.data()), end_(bytes.data() + bytes.size()) {
    uint8_t stream_little_endian = 0;
    (*this)(stream_little_endian);
    const uint16_t probe = 1;
    const bool little_endian = *reinterpret_cast<const uint8_t*>(&probe) == 1;
    swap_ = (stream_little_endian != 0) != little_endian;
  }

  size_t remaining() const { return static_cast<size_t>(end_ - next_); }

  // Throws unless size elements can still be in the input.
  void check_size(uint64_t size) const {
    if (size > remaining())
      throw cereal::Exception("a size of " + std::to_string(size) + " is more than the " +
                              std::to_string(remaining()) + " bytes left");
  }

  template <std::streamsize DataSize>
  void loadBinary(void* data, std::streamsize size) {
    if (size < 0 || static_cast<size_t>(size) > remaining())
      throw cereal::Exception("the input ends " + std::to_string(remaining()) + " bytes short of a " +
                              std::to_string(size) + "-byte value");
    std::memcpy(data, next_, static_cast<size_t>(size));
    next_ += size;
    if (!swap_) return;
    auto* p = static_cast<uint8_t*>(data);
    for (std::streamsize i = 0; i < size; i += DataSize)
      for (std::streamsize a = 0, b = DataSize - 1; a < b; ++a, --b) std::swap(p[i + a], p[i + b]);
  }

 private:
  const char* next_;
  const char* end_;
  bool swap_ = false;
};

}  // namespace ezone::dal

namespace cereal {

template <class T>
typename std::enable_if<std::is_arithmetic<T>::value, void>::type CEREAL_LOAD_FUNCTION_NAME(
    ezone::dal::BoundedBinaryInputArchive& ar, T& t) {
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(ezone::dal::BoundedBinaryInputArchive& ar, NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(ezone::dal::BoundedBinaryInputArchive& ar, SizeTag<T>& t) {
  ar(t.size);
  ar.check_size(static_cast<uint64_t>(t.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(ezone::dal::BoundedBinaryInputArchive& ar, BinaryData<T>& bd) {
  using Element = typename std::remove_pointer<T>::type;
  ar.template loadBinary<sizeof(Element)>(bd.data, static_cast<std::streamsize>(bd.size));
}

}  // namespace cereal
