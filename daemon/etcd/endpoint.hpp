// An etcd client URL as an operator writes it in the config: "http://10.0.0.1:2379" or
// "https://etcd1.example:2379". The scheme decides plain TCP or TLS; the port defaults to 2379.
#pragma once

#include <string>
#include <string_view>

namespace confvisor::etcd {

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
  std::string port;    // digits

  // "http://10.0.0.1:2379", "https://[::1]:2379": the form logs, status and sources show.
  [[nodiscard]] std::string text() const;
  [[nodiscard]] bool tls() const { return scheme == "https"; }
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Parses SCHEME://HOST[:PORT][/]; throws Error naming the URL and what is wrong with it (an
// unknown scheme, an empty host, a port that is not a number in 1..65535, a path, user info).
[[nodiscard]] Endpoint parse_endpoint(std::string_view url);

}  // namespace confvisor::etcd
