// Finding places in JSON text (with the comments a config file may have): turning a byte
// offset into a line and column, and finding tokens the parser only reports as events.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confvisor {

// 1-based. The column counts bytes, not characters: a tab or a multi-byte character before
// the place moves it by its byte length (what `cut -b` and most compilers' columns do).
struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};

// Where byte `offset` of `text` is; an offset at the end names the place after the last byte.
[[nodiscard]] TextPosition position_of(std::string_view text, std::size_t offset) noexcept;

// "FILE:LINE:COL" for byte `offset` of `text`, the content of `file`: how an error names the
// place of a mistake in a file.
[[nodiscard]] std::string file_position(std::string_view file, std::string_view text,
                                        std::size_t offset);

// The offset of the first byte at or after `offset` that is not whitespace or inside a
// comment ("// ..." to the end of the line, "/* ... */"); text.size() if there is none.
[[nodiscard]] std::size_t skip_blank(std::string_view text, std::size_t offset) noexcept;

// The offsets of the opening quotes of the string tokens (keys and string values alike)
// numbered `indexes` (0-based, ascending) in document order, in one pass over `text`. The
// text must be lexically valid JSON up to the last of them. Needed because a parser
// reports a key as an event without its place.
[[nodiscard]] std::vector<std::size_t> string_token_offsets(std::string_view text,
                                                            std::span<const std::size_t> indexes);

// What a reader finds at `offset`, for a syntax error: "end of file", "'}'", "control
// character 0x0a", "'é'" (a whole UTF-8 character when the text is well-formed there).
[[nodiscard]] std::string describe_text_at(std::string_view text, std::size_t offset);

}  // namespace confvisor
