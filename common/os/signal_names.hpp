// Signal names as configs and logs write them: "SIGTERM" (or "TERM") and 15.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace confvisor {

// The number of a standard Linux signal named "SIGTERM" or "TERM" (upper case; aliases
// SIGIOT, SIGCLD, SIGPOLL too); nullopt for any other text.
[[nodiscard]] std::optional<int> signal_number(std::string_view name);

// "SIGTERM" for 15; "SIGRTMIN+3"-style names are not used: other numbers give "signal 40".
[[nodiscard]] std::string signal_name(int number);

// The highest signal number Linux has (SIGRTMAX on x86-64 and arm64).
inline constexpr int kMaxSignal = 64;

}  // namespace confvisor
