#include "daemon/http/endpoints.hpp"

#include <boost/json/serialize.hpp>

#include "daemon/http/exposition.hpp"
#include "daemon/http/status_page.hpp"

namespace confvisor::http {

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kText = "text/plain; charset=utf-8";

Response text(unsigned status, std::string body) {
  return Response{.status = status, .content_type = std::string(kText), .body = std::move(body)};
}

Response json(const boost::json::value& value) {
  return Response{.status = 200,
                  .content_type = std::string(kJson),
                  .body = boost::json::serialize(value) + "\n"};
}

Response health(const DaemonView& view) {
  const std::vector<std::string> problems = view.health_problems();
  if (problems.empty()) return text(200, "ok\n");
  std::string body;
  for (const std::string& line : problems) body += line + "\n";
  return text(503, std::move(body));
}

}  // namespace

Handler endpoints(DaemonView view) {
  return [view = std::move(view)](const Request& request) -> Response {
    const std::string& path = request.path;
    if (path == "/metrics") {
      return Response{.status = 200,
                      .content_type = std::string(kExpositionContentType),
                      .body = render_metrics(view.metrics())};
    }
    if (path == "/healthz") return health(view);
    if (path == "/status") return json(view.status());
    if (path == "/history") return json(view.history());
    if (path == "/" || path == "/index.html") return status_page();
    return text(404, "not found: " + path.substr(0, 200) +
                         "\nconfvisord serves /metrics, /healthz, /status, /history and /\n");
  };
}

}  // namespace confvisor::http
