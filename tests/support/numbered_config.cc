#include "tests/support/numbered_config.hpp"

namespace confvisor::test {

std::string Numbered::payload(std::int64_t k) const {
  std::size_t len = base + static_cast<std::size_t>(k * 7919) % spread;
  std::string p(len, 'a');
  for (std::size_t i = 0; i < len; ++i)
    p[i] = static_cast<char>('a' + (k + static_cast<std::int64_t>(i)) % 26);
  return p;
}

std::string Numbered::config(std::int64_t k, const std::string& extra) const {
  return R"({"k":)" + std::to_string(k) + R"(,"payload":")" + payload(k) +
         R"(","nested":{"k_again":)" + std::to_string(k) + "}" + extra + "}";
}

bool Numbered::whole(const Snapshot& s, const std::string& root) const {
  auto k = s.get<std::int64_t>(root + "/k");
  return s.get<std::int64_t>(root + "/nested/k_again") == k &&
         s.get<std::string>(root + "/payload") == payload(k);
}

}  // namespace confvisor::test
