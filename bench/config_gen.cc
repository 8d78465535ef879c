#include "bench/config_gen.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

namespace confvisor::bench {

namespace json = boost::json;

namespace {

constexpr std::size_t kSerialDigits = 12;
constexpr std::string_view kSerialKey = "\"serial\":\"";

// splitmix64: a fixed, tiny generator, so the configs do not depend on the standard
// library's distributions (which differ between implementations).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  template <std::size_t N>
  const char* pick(const char* const (&items)[N]) {
    return items[next() % N];
  }

 private:
  std::uint64_t state_;
};

constexpr const char* kRegions[] = {"eu-west-1", "eu-central-1", "us-east-1", "us-west-2",
                                    "ap-south-1"};
constexpr const char* kLevels[] = {"debug", "info", "warn", "error"};
constexpr const char* kMethods[] = {"GET", "POST", "PUT", "DELETE"};
constexpr const char* kResources[] = {"items",    "orders",   "users",
                                      "sessions", "invoices", "reports"};
constexpr const char* kStrategies[] = {"rolling", "blue-green", "canary"};

std::string padded(std::uint64_t n, std::size_t width) {
  std::string s = std::to_string(n);
  return std::string(s.size() < width ? width - s.size() : 0, '0') + s;
}

json::object default_daemon_section() {
  json::object worker{{"name", "api"},
                      {"command", json::array{"/usr/bin/api", "--port", "8080"}},
                      {"instances", 2},
                      {"restart", "on-failure"},
                      {"on_reload", "signal"}};
  return json::object{{"segment", "bench"},
                      {"segment_size", "4MiB"},
                      {"history", 8},
                      {"workers", json::array{worker}}};
}

json::object service(std::size_t index) {
  Rng rng(0x5eed0000u + index);
  const std::string name = "svc-" + padded(index, 4);
  const std::int64_t team = rng.between(1, 12);
  json::array tags{"tier-" + std::to_string(rng.between(1, 3)), "team-" + std::to_string(team),
                   rng.pick(kRegions)};
  json::array endpoints;
  for (std::int64_t e = 0, n = rng.between(1, 3); e < n; ++e) {
    endpoints.push_back(json::object{{"path", "/api/v" + std::to_string(rng.between(1, 3)) + "/" +
                                                  name + "/" + rng.pick(kResources)},
                                     {"method", rng.pick(kMethods)},
                                     {"timeout_ms", rng.between(50, 5000)},
                                     {"retries", rng.between(0, 5)}});
  }
  const std::int64_t cpu = rng.between(1, 16) * 125;
  const std::int64_t memory = rng.between(1, 32) * 64;
  json::object limits{{"cpu_millis", cpu * 2}, {"memory_mb", memory * 2}};
  json::object requests{{"cpu_millis", cpu}, {"memory_mb", memory}};
  return json::object{
      {"name", name},
      {"image", "registry.example.com/team-" + std::to_string(team) + "/" + name + ":1." +
                    std::to_string(rng.between(0, 30)) + "." + std::to_string(rng.between(0, 99))},
      {"replicas", rng.between(1, 12)},
      {"port", 8000 + static_cast<std::int64_t>(index % 1000)},
      {"weight", static_cast<double>(rng.between(1, 1000)) / 1000.0},
      {"enabled", rng.between(0, 9) != 0},
      {"tags", std::move(tags)},
      {"env", json::object{{"LOG_LEVEL", rng.pick(kLevels)},
                           {"REGION", rng.pick(kRegions)},
                           {"MAX_BODY_BYTES", std::to_string(rng.between(1, 64) << 16)}}},
      {"endpoints", std::move(endpoints)},
      {"deploy", json::object{{"strategy", rng.pick(kStrategies)},
                              {"resources", json::object{{"limits", std::move(limits)},
                                                         {"requests", std::move(requests)}}}}},
      {"description", ""}};
}

}  // namespace

GeneratedConfig generate_config(std::size_t target_bytes) {
  return generate_config(target_bytes, default_daemon_section());
}

GeneratedConfig generate_config(std::size_t target_bytes, json::object section) {
  json::object root{{"confvisor", std::move(section)},
                    {"serial", std::string(kSerialDigits, '0')},
                    {"database", json::object{{"host", "db1.internal"},
                                              {"port", 5432},
                                              {"pool", json::object{{"min", 2}, {"max", 32}}}}},
                    {"services", json::array{}}};
  // Sizes add up: minified, each element costs its own text plus one comma. Serialising
  // the whole document once per added service would be quadratic at 1 MiB.
  std::size_t size = json::serialize(root).size();
  json::array& services = root["services"].as_array();
  for (std::size_t i = 0;; ++i) {
    json::object next = service(i);
    const std::size_t cost = json::serialize(next).size() + (i == 0 ? 0 : 1);
    if (size + cost > target_bytes) break;
    size += cost;
    services.push_back(std::move(next));
  }
  if (services.empty()) {
    throw std::runtime_error("config target of " + std::to_string(target_bytes) +
                             " bytes is too small for one service");
  }
  // Fill the rest with plain ASCII text (no escapes, so each character costs one byte).
  json::object& last = services.back().as_object();
  std::string filler;
  static constexpr std::string_view kWords = "handles requests for the shop frontend; ";
  while (filler.size() < target_bytes - size) filler += kWords;
  filler.resize(target_bytes - size);
  last["description"] = filler;

  GeneratedConfig out;
  out.text = json::serialize(root);
  if (out.text.size() != target_bytes) {
    throw std::runtime_error("internal error: generated " + std::to_string(out.text.size()) +
                             " bytes, wanted " + std::to_string(target_bytes));
  }
  out.services = services.size();
  out.deep_pointer =
      "/services/" + std::to_string(services.size() - 1) + "/deploy/resources/limits/memory_mb";
  out.deep_value = last.at("deploy").at("resources").at("limits").at("memory_mb").as_int64();
  out.serial_offset = out.text.find(kSerialKey) + kSerialKey.size();
  return out;
}

void set_serial(GeneratedConfig& config, std::uint64_t serial) {
  std::string digits = padded(serial, kSerialDigits);
  config.text.replace(config.serial_offset, kSerialDigits, digits);
}

std::string size_label(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes) + "B";
}

}  // namespace confvisor::bench
