#include "common/json/text.hpp"

#include <algorithm>
#include <cstdio>

namespace confvisor {
namespace {

bool is_json_whitespace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// If a comment starts at `offset`, the offset just past it (an unterminated block comment
// runs to the end); otherwise `offset` itself.
std::size_t skip_comment(std::string_view text, std::size_t offset) noexcept {
  if (text.substr(offset, 2) == "//") {
    const std::size_t end = text.find('\n', offset + 2);
    return end == std::string_view::npos ? text.size() : end + 1;
  }
  if (text.substr(offset, 2) == "/*") {
    const std::size_t end = text.find("*/", offset + 2);
    return end == std::string_view::npos ? text.size() : end + 2;
  }
  return offset;
}

// The offset just past the string token whose opening quote is at `offset`.
std::size_t skip_string(std::string_view text, std::size_t offset) noexcept {
  std::size_t at = offset + 1;
  while (at < text.size() && text[at] != '"') at += text[at] == '\\' ? 2 : 1;
  return at < text.size() ? at + 1 : text.size();
}

std::size_t utf8_length(unsigned char lead) noexcept {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

}  // namespace

TextPosition position_of(std::string_view text, std::size_t offset) noexcept {
  TextPosition position;
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  for (char c : before) {
    if (c == '\n') ++position.line;
  }
  const std::size_t line_start = before.rfind('\n');
  position.column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return position;
}

std::string file_position(std::string_view file, std::string_view text, std::size_t offset) {
  const TextPosition position = position_of(text, offset);
  return std::string(file) + ":" + std::to_string(position.line) + ":" +
         std::to_string(position.column);
}

std::size_t skip_blank(std::string_view text, std::size_t offset) noexcept {
  while (offset < text.size()) {
    if (is_json_whitespace(text[offset])) {
      ++offset;
      continue;
    }
    const std::size_t after = skip_comment(text, offset);
    if (after == offset) return offset;
    offset = after;
  }
  return text.size();
}

std::vector<std::size_t> string_token_offsets(std::string_view text,
                                              std::span<const std::size_t> indexes) {
  // Outside strings and comments, JSON has no '"' and no '/', so counting quotes that are not
  // inside either one counts string tokens.
  std::vector<std::size_t> offsets;
  offsets.reserve(indexes.size());
  std::size_t token = 0;
  std::size_t at = 0;
  while (at < text.size() && offsets.size() < indexes.size()) {
    if (text[at] == '"') {
      if (token == indexes[offsets.size()]) offsets.push_back(at);
      ++token;
      at = skip_string(text, at);
    } else if (const std::size_t after = skip_comment(text, at); after != at) {
      at = after;
    } else {
      ++at;
    }
  }
  return offsets;
}

std::string describe_text_at(std::string_view text, std::size_t offset) {
  if (offset >= text.size()) return "end of file";
  const auto byte = static_cast<unsigned char>(text[offset]);
  if (byte < 0x20 || byte == 0x7F) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", byte);
    return std::string("control character ") + hex;
  }
  return "'" + std::string(text.substr(offset, utf8_length(byte))) + "'";
}

}  // namespace confvisor
