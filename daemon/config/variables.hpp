// Variable references in the strings of a worker's definition (its command's elements, its
// env values and its cwd), expanded from the daemon's environment when the config is loaded,
// as docker-compose interpolates its files:
//   ${NAME}            the value of NAME; an error if NAME is not set
//   ${NAME:-DEFAULT}   the value of NAME, or DEFAULT if NAME is unset or empty
//   $$                 one literal '$'
// Any other '$' stays as it is, so "$HOME" in a "/bin/sh -c" script still reaches the shell;
// "$${HOME}" hands the shell "${HOME}" itself. NAME is letters, digits and '_', not starting
// with a digit. DEFAULT is taken literally up to the first '}' and holds no reference.
#pragma once

#include <string>
#include <string_view>

namespace confvisor::config {

// `text` with every reference replaced. Throws Error naming the first reference that cannot
// be expanded: "${WEB_PORT} is not set (give it a default: ${WEB_PORT:-VALUE})", or a
// malformed one ("${1X}: a variable name ...", "unterminated \"${PORT\": ...").
[[nodiscard]] std::string expand_variables(std::string_view text);

}  // namespace confvisor::config
