// One request as the endpoint's handler sees it, and the response it gives. The handler runs
// on the daemon's loop and must not wait for anything.
#pragma once

// Boost 1.81's boost/core/detail/string_view.hpp, which verb.hpp includes, uses
// std::ostream without including it.
// clang-format off
#include <ostream>
#include <boost/beast/http/verb.hpp>
// clang-format on
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace confvisor::http {

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::get;  // GET or HEAD
  std::string path;  // the target without its query string
};

struct Response {
  unsigned status = 200;
  std::string content_type;
  std::string body;  // a HEAD request gets its Content-Length, not the body
  std::vector<std::pair<std::string, std::string>> headers{};  // further header fields
};

using Handler = std::function<Response(const Request&)>;

}  // namespace confvisor::http
