#include "daemon/http/status_page.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>

#include "common/base/error.hpp"

namespace confvisor::http {

namespace {

constexpr std::string_view kPlaceholder = "@NONCE@";

// 128 random bits in hex (hex digits are base64 characters, as a CSP nonce must be).
std::string fresh_nonce() {
  std::array<std::uint8_t, 16> bits{};
  if (::getrandom(bits.data(), bits.size(), 0) != static_cast<ssize_t>(bits.size()))
    throw_sys("read random bytes for the status page's nonce");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (std::uint8_t b : bits) {
    nonce += kHex[b >> 4];
    nonce += kHex[b & 0xf];
  }
  return nonce;
}

std::string with_nonce(std::string_view page, const std::string& nonce) {
  std::string out;
  out.reserve(page.size() + 64);
  for (std::size_t at = 0;;) {
    const std::size_t next = page.find(kPlaceholder, at);
    out.append(page.substr(at, next - at));
    if (next == std::string_view::npos) return out;
    out.append(nonce);
    at = next + kPlaceholder.size();
  }
}

}  // namespace

Response status_page() {
  const std::string nonce = fresh_nonce();
  const std::string policy = "default-src 'none'; script-src 'nonce-" + nonce +
                             "'; style-src 'nonce-" + nonce +
                             "'; connect-src 'self'; img-src 'none'; base-uri 'none'; "
                             "form-action 'none'; frame-ancestors 'none'";
  return Response{.status = 200,
                  .content_type = "text/html; charset=utf-8",
                  .body = with_nonce(kStatusPageHtml, nonce),
                  .headers = {{"Content-Security-Policy", policy},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"}}};
}

}  // namespace confvisor::http
