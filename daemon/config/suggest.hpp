// "Did you mean ...?" for misspelt keys, and for keys named as supervisord names them.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace confvisor::config {

// Levenshtein distance: the fewest single-byte insertions, deletions and substitutions that
// turn `a` into `b`.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be what was meant: at most
// max(2, word.size() / 3) edits away and fewer edits than `word` has characters (so "x" is
// not taken for "env"). The first of equally close candidates wins.
[[nodiscard]] std::optional<std::string_view> nearest_word(
    std::string_view word, std::span<const std::string_view> candidates);

// What confvisor calls supervisord's program key `key`, for an object whose keys are
// `known` (a worker: it has "command"), or nullopt when `key` is none of supervisord's or
// `known` is not a worker's. The text follows "unknown key \"numprocs\" ":
//   (supervisord's name): confvisor calls it "instances"
//   (supervisord's name): confvisor has none: every worker starts with the daemon ...
[[nodiscard]] std::optional<std::string> supervisord_key_hint(
    std::string_view key, std::span<const std::string_view> known);

}  // namespace confvisor::config
