// The read-only status page served at /: daemon/http/status_page.html, compiled in (the
// build turns it into status_page_html.cc), with a Content-Security-Policy that lets only its
// own inline script and style run and lets it fetch only from the daemon.
#pragma once

#include <string_view>

#include "daemon/http/exchange.hpp"

namespace confvisor::http {

// The page as the build embedded it, with the placeholder @NONCE@ where each response puts
// its nonce.
extern const std::string_view kStatusPageHtml;

// The page with a fresh nonce, and the headers that go with it.
[[nodiscard]] Response status_page();

}  // namespace confvisor::http
