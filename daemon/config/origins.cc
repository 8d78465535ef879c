#include "daemon/config/origins.hpp"

#include "common/json/pointer.hpp"
#include "common/json/scan.hpp"
#include "common/json/text.hpp"
#include "daemon/config/model.hpp"

namespace confvisor::config {

Origins::Origins(std::string main_file) {
  files_.push_back(std::move(main_file));
}

std::size_t Origins::add_file(std::string path) {
  files_.push_back(std::move(path));
  return files_.size() - 1;
}

void Origins::record(const std::string& merged, std::size_t file, std::string pointer) {
  const std::string below = merged + "/";
  for (auto it = records_.lower_bound(below);
       it != records_.end() && std::string_view(it->first).starts_with(below);) {
    it = records_.erase(it);
  }
  records_.insert_or_assign(merged, std::pair{file, std::move(pointer)});
}

// The longest recorded pointer that `merged` is or is below decides; what follows it in
// `merged` is the same in the file it names (an object's keys, the index in an array that
// file wrote whole).
Origins::Place Origins::locate(std::string_view merged) const {
  for (std::string_view prefix = merged;;) {
    if (const auto it = records_.find(prefix); it != records_.end()) {
      return {&files_[it->second.first],
              it->second.second + std::string(merged.substr(prefix.size()))};
    }
    const std::size_t slash = prefix.rfind('/');
    if (slash == std::string_view::npos) break;
    prefix = prefix.substr(0, slash);
  }
  return {&files_.front(), std::string(merged)};
}

std::optional<std::string> Origins::position(std::string_view merged) const {
  const Place place = locate(merged);
  const auto file = static_cast<std::size_t>(place.file - files_.data());
  if (texts_ == nullptr || file >= texts_->size()) return std::nullopt;
  const std::string& text = (*texts_)[file];
  const std::optional<std::size_t> offset =
      find_string_value(text, config_parse_options(), place.pointer);
  if (!offset) return std::nullopt;
  return file_position(*place.file, text, *offset);
}

std::string Origins::where(std::string_view merged) const {
  const Place place = locate(merged);
  return *place.file + ": " + printable_pointer(place.pointer);
}

}  // namespace confvisor::config
