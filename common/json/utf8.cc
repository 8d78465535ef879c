#include "common/json/utf8.hpp"

namespace confvisor {
namespace {

struct ByteRange {
  unsigned char low;
  unsigned char high;
};

// The ranges a well-formed sequence may take after its lead byte, straight from Unicode
// table 3-7. The narrowed second-byte ranges are what exclude overlongs (E0, F0), surrogates
// (ED) and code points past U+10FFFF (F4).
struct SequenceShape {
  std::size_t length = 0;  // 0: not a valid lead byte
  ByteRange second{0x80, 0xBF};
};

constexpr ByteRange kContinuation{0x80, 0xBF};

SequenceShape shape_of(unsigned char lead) noexcept {
  if (lead >= 0xC2 && lead <= 0xDF) return {2, kContinuation};
  if (lead == 0xE0) return {3, {0xA0, 0xBF}};
  if (lead == 0xED) return {3, {0x80, 0x9F}};
  if (lead >= 0xE1 && lead <= 0xEF) return {3, kContinuation};
  if (lead == 0xF0) return {4, {0x90, 0xBF}};
  if (lead == 0xF4) return {4, {0x80, 0x8F}};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, kContinuation};
  return {};  // 80..C1 (continuations, overlong 2-byte leads) and F5..FF
}

bool in(unsigned char byte, ByteRange range) noexcept {
  return byte >= range.low && byte <= range.high;
}

// Whether the multi-byte sequence starting at `at` is well-formed.
bool valid_sequence(std::string_view text, std::size_t at, const SequenceShape& shape) noexcept {
  if (shape.length == 0 || text.size() - at < shape.length) return false;
  if (!in(static_cast<unsigned char>(text[at + 1]), shape.second)) return false;
  for (std::size_t i = 2; i < shape.length; ++i) {
    if (!in(static_cast<unsigned char>(text[at + i]), kContinuation)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    if (lead < 0x80) {
      ++at;
      continue;
    }
    const SequenceShape shape = shape_of(lead);
    if (!valid_sequence(text, at, shape)) return at;
    at += shape.length;
  }
  return std::nullopt;
}

}  // namespace confvisor
