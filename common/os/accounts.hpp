// Users and groups of this machine, looked up by name or number (as configs name them).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace confvisor {

// The uid of user `name_or_id` ("nobody", or "65534"); nullopt if the user database has no
// such user. A number is looked up too: a uid without an entry is most likely a mistake.
[[nodiscard]] std::optional<uid_t> find_user(const std::string& name_or_id);

// The gid of group `name_or_id`, the same way.
[[nodiscard]] std::optional<gid_t> find_group(const std::string& name_or_id);

}  // namespace confvisor
