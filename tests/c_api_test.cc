// The C API says what the C++ API says: same generations, same values, same errors, as
// statuses plus confvisor_last_error().
#define BOOST_TEST_MODULE c_api
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "common/os/unique_fd.hpp"
#include "common/publish/publisher.hpp"
#include "confvisor/worker.h"
#include "confvisor/worker.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using confvisor::test::Child;
using confvisor::test::contains;
using confvisor::test::SegmentGuard;

namespace {

constexpr const char* kConfig = R"({
  "database": {"host": "db1", "port": 5432, "replicas": [{"host": "db2"}]},
  "ratio": 0.25, "on": true, "off": false, "neg": -7,
  "big": 18446744073709551615, "name": "demo", "nothing": null
})";

// Owns a confvisor_reader.
struct CReader {
  explicit CReader(const char* segment) : r(confvisor_open(segment)) {}
  ~CReader() { confvisor_close(r); }
  CReader(const CReader&) = delete;
  CReader& operator=(const CReader&) = delete;
  confvisor_reader* r;
};

// Takes a malloc'ed string from the C API.
std::string take(char* s) {
  std::string out = s == nullptr ? "" : s;
  confvisor_free(s);
  return out;
}

// Sets or unsets CONFVISOR_SEGMENT for one test and restores it.
class EnvSegment {
 public:
  explicit EnvSegment(const char* value) {
    if (const char* old = std::getenv("CONFVISOR_SEGMENT")) old_ = old;
    if (value != nullptr) {
      ::setenv("CONFVISOR_SEGMENT", value, 1);
    } else {
      ::unsetenv("CONFVISOR_SEGMENT");
    }
  }
  ~EnvSegment() {
    if (old_) {
      ::setenv("CONFVISOR_SEGMENT", old_->c_str(), 1);
    } else {
      ::unsetenv("CONFVISOR_SEGMENT");
    }
  }

 private:
  std::optional<std::string> old_;
};

struct Published {
  SegmentGuard seg{"capi"};
  Publisher pub{{.segment = seg.name()}};
  std::uint64_t generation = pub.publish(kConfig, "/etc/capi.json");
  Reader reader{seg.name()};
  CReader c{seg.name().c_str()};
};

}  // namespace

BOOST_AUTO_TEST_CASE(generation_matches_the_cpp_reader_across_publishes) {
  Published p;
  BOOST_TEST_REQUIRE(p.c.r != nullptr);
  BOOST_TEST(confvisor_generation(p.c.r) == p.reader.current().generation());
  BOOST_TEST(confvisor_generation(p.c.r) == 1u);
  p.pub.publish("{}", "b");
  BOOST_TEST(confvisor_generation(p.c.r) == p.reader.current().generation());
  BOOST_TEST(confvisor_generation(p.c.r) == 2u);
}

BOOST_AUTO_TEST_CASE(typed_getters_return_what_snapshot_get_returns) {
  Published p;
  BOOST_TEST_REQUIRE(p.c.r != nullptr);
  const Snapshot& snap = p.reader.current();

  for (const char* ptr : {"/database/host", "/name", "/database/replicas/0/host"}) {
    char* s = nullptr;
    BOOST_TEST(confvisor_get_string(p.c.r, ptr, &s) == CONFVISOR_OK);
    BOOST_TEST(take(s) == snap.get<std::string>(ptr));
    BOOST_TEST(std::string(confvisor_last_error()).empty());
  }
  for (const char* ptr : {"/database/port", "/neg"}) {
    std::int64_t i = 0;
    BOOST_TEST(confvisor_get_int(p.c.r, ptr, &i) == CONFVISOR_OK);
    BOOST_TEST(i == snap.get<std::int64_t>(ptr));
  }
  for (const char* ptr : {"/ratio", "/database/port", "/neg"}) {  // any number is a double
    double d = 0;
    BOOST_TEST(confvisor_get_double(p.c.r, ptr, &d) == CONFVISOR_OK);
    BOOST_TEST(d == snap.get<double>(ptr));
  }
  for (const char* ptr : {"/on", "/off"}) {
    int b = -1;
    BOOST_TEST(confvisor_get_bool(p.c.r, ptr, &b) == CONFVISOR_OK);
    BOOST_TEST((b != 0) == snap.get<bool>(ptr));
  }
  for (const char* ptr : {"", "/database", "/database/replicas", "/database/port", "/ratio",
                          "/name", "/nothing", "/big"}) {
    char* s = nullptr;
    BOOST_TEST_CONTEXT("pointer \"" << ptr << "\"") {
      BOOST_TEST(confvisor_get_json(p.c.r, ptr, &s) == CONFVISOR_OK);
      BOOST_TEST(take(s) == boost::json::serialize(snap.get<boost::json::value>(ptr)));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_missing_pointer_is_not_found_and_the_error_names_it) {
  Published p;
  BOOST_TEST_REQUIRE(p.c.r != nullptr);
  const std::string ptr = "/database/user";
  char* s = nullptr;
  std::int64_t i = 0;
  double d = 0;
  int b = 0;
  BOOST_TEST(confvisor_get_string(p.c.r, ptr.c_str(), &s) == CONFVISOR_NOT_FOUND);
  BOOST_TEST(contains(confvisor_last_error(), ptr));
  BOOST_TEST(confvisor_get_int(p.c.r, ptr.c_str(), &i) == CONFVISOR_NOT_FOUND);
  BOOST_TEST(contains(confvisor_last_error(), ptr));
  BOOST_TEST(confvisor_get_double(p.c.r, ptr.c_str(), &d) == CONFVISOR_NOT_FOUND);
  BOOST_TEST(contains(confvisor_last_error(), ptr));
  BOOST_TEST(confvisor_get_bool(p.c.r, ptr.c_str(), &b) == CONFVISOR_NOT_FOUND);
  BOOST_TEST(contains(confvisor_last_error(), ptr));
  BOOST_TEST(confvisor_get_json(p.c.r, ptr.c_str(), &s) == CONFVISOR_NOT_FOUND);
  BOOST_TEST(contains(confvisor_last_error(), ptr));
  BOOST_TEST(s == nullptr);  // nothing allocated on failure

  // The same words as the C++ API's error for the same lookup.
  try {
    (void)p.reader.current().get<std::int64_t>(ptr);
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(confvisor_get_int(p.c.r, ptr.c_str(), &i) == CONFVISOR_NOT_FOUND);
    BOOST_TEST(std::string(confvisor_last_error()) == e.what());
  }
}

BOOST_AUTO_TEST_CASE(a_value_of_another_type_is_wrong_type_with_the_cpp_message) {
  Published p;
  BOOST_TEST_REQUIRE(p.c.r != nullptr);
  const Snapshot& snap = p.reader.current();
  auto cpp_error = [&](auto typed_get) -> std::string {
    try {
      typed_get();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  char* s = nullptr;
  std::int64_t i = 0;
  double d = 0;
  int b = 0;

  BOOST_TEST(confvisor_get_int(p.c.r, "/database/host", &i) == CONFVISOR_WRONG_TYPE);
  BOOST_TEST(std::string(confvisor_last_error()) ==
             cpp_error([&] { (void)snap.get<std::int64_t>("/database/host"); }));
  BOOST_TEST(contains(confvisor_last_error(), "/database/host"));

  BOOST_TEST(confvisor_get_int(p.c.r, "/big", &i) == CONFVISOR_WRONG_TYPE);  // > INT64_MAX
  BOOST_TEST(std::string(confvisor_last_error()) ==
             cpp_error([&] { (void)snap.get<std::int64_t>("/big"); }));

  BOOST_TEST(confvisor_get_int(p.c.r, "/ratio", &i) == CONFVISOR_WRONG_TYPE);
  BOOST_TEST(contains(confvisor_last_error(), "/ratio"));

  BOOST_TEST(confvisor_get_string(p.c.r, "/database/port", &s) == CONFVISOR_WRONG_TYPE);
  BOOST_TEST(std::string(confvisor_last_error()) ==
             cpp_error([&] { (void)snap.get<std::string>("/database/port"); }));
  BOOST_TEST(s == nullptr);

  BOOST_TEST(confvisor_get_double(p.c.r, "/name", &d) == CONFVISOR_WRONG_TYPE);
  BOOST_TEST(std::string(confvisor_last_error()) ==
             cpp_error([&] { (void)snap.get<double>("/name"); }));

  BOOST_TEST(confvisor_get_bool(p.c.r, "/database", &b) == CONFVISOR_WRONG_TYPE);
  BOOST_TEST(std::string(confvisor_last_error()) ==
             cpp_error([&] { (void)snap.get<bool>("/database"); }));

  // A success afterwards clears the message.
  BOOST_TEST(confvisor_get_int(p.c.r, "/database/port", &i) == CONFVISOR_OK);
  BOOST_TEST(std::string(confvisor_last_error()).empty());
}

BOOST_AUTO_TEST_CASE(null_arguments_are_errors_not_crashes) {
  Published p;
  std::int64_t i = 0;
  BOOST_TEST(confvisor_get_int(nullptr, "/a", &i) == CONFVISOR_ERROR);
  BOOST_TEST(confvisor_get_int(p.c.r, nullptr, &i) == CONFVISOR_ERROR);
  BOOST_TEST(confvisor_get_int(p.c.r, "/database/port", nullptr) == CONFVISOR_ERROR);
  BOOST_TEST(confvisor_generation(nullptr) == 0u);
  BOOST_TEST(confvisor_wait(nullptr, 0) == CONFVISOR_ERROR);
  confvisor_close(nullptr);
}

BOOST_AUTO_TEST_CASE(open_on_a_missing_segment_returns_null_with_a_message) {
  const std::string name = confvisor::test::unique_segment("absent");
  BOOST_TEST(confvisor_open(name.c_str()) == nullptr);
  BOOST_TEST(contains(confvisor_last_error(), name));
  BOOST_TEST(contains(confvisor_last_error(), "does not exist"));

  BOOST_TEST(confvisor_open("bad/name") == nullptr);
  BOOST_TEST(contains(confvisor_last_error(), "invalid segment name"));
}

BOOST_AUTO_TEST_CASE(open_null_uses_CONFVISOR_SEGMENT) {
  Published p;
  {
    EnvSegment env(p.seg.name().c_str());
    CReader from_env(nullptr);
    BOOST_TEST_REQUIRE(from_env.r != nullptr);
    BOOST_TEST(confvisor_generation(from_env.r) == 1u);
    std::int64_t port = 0;
    BOOST_TEST(confvisor_get_int(from_env.r, "/database/port", &port) == CONFVISOR_OK);
    BOOST_TEST(port == 5432);
  }
  EnvSegment unset(nullptr);
  BOOST_TEST(confvisor_open(nullptr) == nullptr);
  BOOST_TEST(contains(confvisor_last_error(), "CONFVISOR_SEGMENT"));
}

BOOST_AUTO_TEST_CASE(wait_times_out_with_nothing_published_and_wakes_on_a_publish) {
  SegmentGuard seg("capiwait");
  { Publisher create({.segment = seg.name()}); }  // the segment exists, with no generation
  CReader c(seg.name().c_str());
  BOOST_TEST_REQUIRE(c.r != nullptr);
  BOOST_TEST(confvisor_generation(c.r) == 0u);

  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(confvisor_wait(c.r, 50) == CONFVISOR_TIMEOUT);
  const auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() >= 45);

  // Another process publishes while we are asleep in confvisor_wait.
  Child publisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Publisher pub({.segment = seg.name()});
    pub.publish(R"({"database":{"port":1}})", "child");
    return 0;
  });
  BOOST_TEST(confvisor_wait(c.r, 20'000) == CONFVISOR_OK);
  BOOST_TEST(confvisor_generation(c.r) == 1u);
  std::int64_t port = 0;
  BOOST_TEST(confvisor_get_int(c.r, "/database/port", &port) == CONFVISOR_OK);
  BOOST_TEST(port == 1);
  const int status = publisher.wait_for(std::chrono::seconds(20));
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));

  // Generation 1 is now what this thread last read: nothing new to wait for.
  BOOST_TEST(confvisor_wait(c.r, 20) == CONFVISOR_TIMEOUT);
}

namespace {

// Sets or unsets CONFVISOR_ACK_SOCKET for one test case; unset again at its end.
struct EnvAckSocket {
  explicit EnvAckSocket(const std::string& value) {
    if (value.empty()) {
      ::unsetenv("CONFVISOR_ACK_SOCKET");
    } else {
      ::setenv("CONFVISOR_ACK_SOCKET", value.c_str(), 1);
    }
  }
  ~EnvAckSocket() { ::unsetenv("CONFVISOR_ACK_SOCKET"); }
};

// A daemon's ack socket that accepts no connection and reads nothing: a stopped daemon.
UniqueFd deaf_listener(const std::string& address) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, address.data() + 1, address.size() - 1);
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0);
  BOOST_TEST_REQUIRE(::listen(fd.get(), 8) == 0);
  return fd;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reports_outside_confvisord_are_no_ops_that_succeed) {
  Published p;
  const EnvAckSocket none("");
  const std::uint64_t g = confvisor_generation(p.c.r);
  BOOST_TEST(confvisor_report_applied(p.c.r, g) == 0);
  BOOST_TEST(confvisor_report_rejected(p.c.r, g, "no") == 0);
  BOOST_TEST(confvisor_report_rejected(p.c.r, g, nullptr) == 0);
  BOOST_TEST((p.reader.report_applied(p.reader.current()) == ReportResult::unsupervised));
  BOOST_TEST(confvisor_report_applied(nullptr, g) == -EINVAL);
  BOOST_TEST(confvisor_report_applied(p.c.r, 0) == -EINVAL);
  BOOST_TEST(contains(confvisor_last_error(), "generation 0 is never published"));
  BOOST_CHECK_THROW((void)p.reader.report_applied(Snapshot()), Error);
}

BOOST_AUTO_TEST_CASE(a_report_never_blocks_it_is_dropped_and_says_so) {
  Published p;
  const std::uint64_t g = confvisor_generation(p.c.r);
  {
    const EnvAckSocket gone("@confvisor/" + p.seg.name() + "/ack/gone");
    BOOST_TEST(confvisor_report_applied(p.c.r, g) == -ECONNREFUSED);
    BOOST_TEST(contains(confvisor_last_error(), "dropped"));
    BOOST_TEST((p.reader.report_applied(p.reader.current()) == ReportResult::dropped));
  }
  // A daemon that takes nothing: the connection's buffer fills, and from then on each
  // report comes back at once as dropped (EAGAIN) instead of waiting.
  const std::string address = "@confvisor/" + p.seg.name() + "/ack/deaf";
  const UniqueFd deaf = deaf_listener(address);
  const EnvAckSocket deaf_env(address);
  int status = 0, sent = 0;
  for (int n = 0; n < 100000 && status == 0; ++n) {
    status = confvisor_report_rejected(p.c.r, g, "a reason long enough to fill a buffer soon");
    sent += status == 0;
  }
  BOOST_TEST(sent > 0);
  BOOST_TEST(status == -EAGAIN);
  BOOST_TEST(contains(confvisor_last_error(), "the daemon's queue is full"));
  BOOST_TEST((p.reader.report_applied(p.reader.current()) == ReportResult::dropped));
}
