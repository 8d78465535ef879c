#include "daemon/etcd/endpoint.hpp"

#include <charconv>

#include "common/base/error.hpp"

namespace confvisor::etcd {
namespace {

[[noreturn]] void refuse(std::string_view url, std::string_view what) {
  throw Error("etcd endpoint \"" + std::string(url) + "\": " + std::string(what) +
              " (expected http://HOST:PORT or https://HOST:PORT)");
}

bool valid_port(std::string_view port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc{} && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

}  // namespace

std::string Endpoint::text() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
}

Endpoint parse_endpoint(std::string_view url) {
  Endpoint e;
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) refuse(url, "no scheme");
  e.scheme = std::string(url.substr(0, colon));
  if (e.scheme != "http" && e.scheme != "https") refuse(url, "unknown scheme \"" + e.scheme + "\"");
  std::string_view rest = url.substr(colon + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) refuse(url, "a path is not allowed");
  if (rest.find('@') != std::string_view::npos) refuse(url, "user info is not allowed (use auth)");
  std::string_view port = "2379";
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) refuse(url, "an IPv6 address without its closing ']'");
    e.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') refuse(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const std::size_t last = rest.rfind(':');
    if (last != std::string_view::npos) {
      port = rest.substr(last + 1);
      rest = rest.substr(0, last);
    }
    if (rest.find(':') != std::string_view::npos) refuse(url, "an IPv6 address needs brackets");
    e.host = std::string(rest);
  }
  if (e.host.empty()) refuse(url, "empty host");
  if (!valid_port(port))
    refuse(url, "port \"" + std::string(port) + "\" is not a number in 1..65535");
  e.port = std::string(port);
  return e;
}

}  // namespace confvisor::etcd
