// What the config suites share: small documents built around one setting or one worker, the
// result of loading them (as the file "t.json"), and the worker that takes every default.
// Helpers that return one value fail the test case when the document does not give it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/model.hpp"

namespace confvisor::test {

using Lines = std::vector<std::string>;

// Loads `text` as the content of a file named "t.json".
[[nodiscard]] config::LoadResult load(std::string_view text);
// The errors of load(text), in order.
[[nodiscard]] Lines errors_of(std::string_view text);
// The one error `text` gives (the test case fails if it gives none or several).
[[nodiscard]] std::string error_of(std::string_view text);
// `lines` one per line, indented, for a failure message.
[[nodiscard]] std::string joined(const Lines& lines);

// A document whose section is {"segment": "t", BODY}.
[[nodiscard]] std::string section(std::string_view body);
// A document with one worker {"name": "w", "command": ["/bin/true"], BODY}.
[[nodiscard]] std::string one_worker(std::string_view body);

// The settings `text` loads to (the test case fails on any error).
[[nodiscard]] config::Settings settings_of(std::string_view text);
// The worker that one_worker(body) loads to (the test case fails on any error).
[[nodiscard]] config::WorkerSpec worker_of(std::string_view body);
// The worker "w" running /bin/true with every other key at its default.
[[nodiscard]] config::WorkerSpec default_worker();

// The regular files of `dir` whose name ends in `extension` (".json"), sorted.
[[nodiscard]] std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir,
                                                          std::string_view extension);

}  // namespace confvisor::test
