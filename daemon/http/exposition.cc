#include "daemon/http/exposition.hpp"

#include <charconv>
#include <cmath>

namespace confvisor::http {

namespace {

// HELP text escapes backslash and newline only.
std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  text_.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
  text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Exposition::begin_sample(std::string_view name, const Labels& labels) {
  text_.append(name);
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_.append(labels[i].first).append("=\"").append(escape_label_value(labels[i].second));
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
}

void Exposition::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  begin_sample(name, labels);
  text_.append(std::to_string(value)).append("\n");
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  begin_sample(name, labels);
  if (std::isnan(value)) {
    text_.append("NaN\n");
    return;
  }
  if (std::isinf(value)) {
    text_.append(value > 0 ? "+Inf\n" : "-Inf\n");
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  text_.append(buffer, result.ptr).append("\n");
}

}  // namespace confvisor::http
