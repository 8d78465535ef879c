// Where control sockets live unless /confvisor/socket says otherwise. Root's daemons use
// /run/confvisor; anyone else may not create that, so their daemons use the runtime directory
// systemd gives each logged-in user ($XDG_RUNTIME_DIR/confvisor). The daemon binds in the
// first of socket_dirs() and confvisorctl looks in all of them, so a user's client finds both
// the user's own daemons and root's (whose group may admit the user).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace confvisor {

inline constexpr std::string_view kSystemSocketDir = "/run/confvisor";

// $XDG_RUNTIME_DIR/confvisor when the effective user is not root and XDG_RUNTIME_DIR is an
// absolute path; otherwise none.
[[nodiscard]] std::optional<std::string> user_socket_dir();

// Where this process's daemon binds by default: user_socket_dir(), else kSystemSocketDir.
[[nodiscard]] std::string default_socket_dir();

// Where confvisorctl looks for daemons, in order: user_socket_dir() if any, then
// kSystemSocketDir.
[[nodiscard]] std::vector<std::string> socket_dirs();

// Where segment NAME's daemon binds by default: NAME.sock in default_socket_dir().
[[nodiscard]] std::string default_socket_path(std::string_view segment);

// The default socket of segment NAME in each of socket_dirs(), in the same order.
[[nodiscard]] std::vector<std::string> default_socket_candidates(std::string_view segment);

}  // namespace confvisor
