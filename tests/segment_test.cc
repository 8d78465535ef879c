// The segment protocol in one process: publish, read back, history, growth, errors.
#define BOOST_TEST_MODULE segment
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <optional>
#include <thread>

#include "common/publish/publisher.hpp"
#include "common/segment/checksum.hpp"
#include "common/segment/name.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/test_support.hpp"

using namespace confvisor;
using confvisor::test::SegmentGuard;

namespace {
std::string config_of_size(std::size_t bytes, int tag) {
  std::string filler(bytes > 40 ? bytes - 40 : 1, 'x');
  return R"({"tag":)" + std::to_string(tag) + R"(,"filler":")" + filler + R"("})";
}
}  // namespace

BOOST_AUTO_TEST_CASE(publish_then_read) {
  SegmentGuard seg("basic");
  Publisher pub({.segment = seg.name()});
  BOOST_TEST(pub.current_generation() == 0u);
  BOOST_TEST(std::filesystem::exists("/dev/shm/confvisor." + seg.name()));
  auto perms = std::filesystem::status("/dev/shm/confvisor." + seg.name()).permissions();
  BOOST_TEST(static_cast<unsigned>(perms & std::filesystem::perms::all) == 0640u);

  Reader reader(seg.name());
  BOOST_CHECK_THROW(reader.current(), Error);  // nothing published yet

  auto g1 = pub.publish(R"( {"db": {"host": "db1", "port": 5432}, "on": true, "r": 0.5} )",
                        "/etc/a.json");
  BOOST_TEST(g1 == 1u);
  const Snapshot& s = reader.current();
  BOOST_TEST(s.generation() == 1u);
  BOOST_TEST(s.text() == R"({"db":{"host":"db1","port":5432},"on":true,"r":5E-1})");
  BOOST_TEST(s.source() == "/etc/a.json");
  BOOST_TEST(s.publisher_pid() == ::getpid());
  BOOST_TEST(s.get<std::int64_t>("/db/port") == 5432);
  BOOST_TEST(s.get<std::string>("/db/host") == "db1");
  BOOST_TEST(s.get<bool>("/on"));
  BOOST_TEST(s.get<double>("/r") == 0.5);
  BOOST_TEST(s.get<std::int64_t>("/db/missing", 7) == 7);

  Snapshot pinned = s;
  auto g2 = pub.publish(R"({"db": {"host": "db2", "port": 1}})", "/etc/a.json");
  BOOST_TEST(g2 == 2u);
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(pinned.generation() == 1u);  // a copied snapshot stays what it was
  BOOST_TEST(pinned.get<std::string>("/db/host") == "db1");
}

// A snapshot's document lives in an arena of its own: a part copied out of it must outlive
// the snapshot, the reader and later generations (ASan would see a use after free).
BOOST_AUTO_TEST_CASE(a_copy_of_part_of_a_snapshot_outlives_it) {
  SegmentGuard seg("arena");
  Publisher pub({.segment = seg.name()});
  pub.publish(R"({"db": {"host": "db1", "hosts": ["a", "b"], "pool": {"max": 16}}})", "t");
  // Copy construction shares the source's storage (assignment would keep the target's).
  std::optional<boost::json::value> copied, standalone;
  {
    Reader reader(seg.name());
    copied.emplace(reader.current().json().at("db"));
    standalone.emplace(reader.current().json().at("db"), boost::json::storage_ptr());
    for (int i = 0; i < 5; ++i) pub.publish(R"({"db": {"host": "db2"}})", "t");
    BOOST_TEST(reader.current().json().at("db").at("host").as_string() == "db2");
  }
  boost::json::value& shared = *copied;
  BOOST_TEST(boost::json::serialize(shared) ==
             R"({"host":"db1","hosts":["a","b"],"pool":{"max":16}})");
  BOOST_TEST(*standalone == shared);
  BOOST_TEST(standalone->storage().get() != shared.storage().get());
  shared.as_object()["added"] = "after the snapshot is gone";
  BOOST_TEST(shared.at("added").as_string() == "after the snapshot is gone");
}

BOOST_AUTO_TEST_CASE(typed_get_errors_name_pointer_and_type) {
  SegmentGuard seg("types");
  Publisher pub({.segment = seg.name()});
  pub.publish(R"({"db": {"port": "x5432"}, "big": 18446744073709551615})", "t");
  Reader reader(seg.name());
  const Snapshot& s = reader.current();
  try {
    (void)s.get<std::int64_t>("/db/port");
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) ==
               R"(/db/port: expected integer (int64), found string "x5432")");
  }
  // A default never hides a value of the wrong type.
  BOOST_CHECK_THROW((void)s.get<std::int64_t>("/db/port", 1), Error);
  BOOST_CHECK_THROW((void)s.get<std::int64_t>("/big"), Error);
  BOOST_TEST(s.get<std::uint64_t>("/big") == 18446744073709551615ull);
  try {
    (void)s.get<bool>("/nope/deeper");
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) == "/nope/deeper: not found in generation 1");
  }
  BOOST_CHECK_THROW((void)s.get<bool>("no-slash"), Error);
}

BOOST_AUTO_TEST_CASE(history_keeps_the_window_and_reads_back) {
  SegmentGuard seg("history");
  Publisher pub({.segment = seg.name(), .history = 3});
  for (int i = 1; i <= 5; ++i)
    pub.publish(R"({"i":)" + std::to_string(i) + "}", "src" + std::to_string(i));
  auto h = pub.history();
  BOOST_TEST_REQUIRE(h.size() == 3u);
  BOOST_TEST(h[0].generation == 3u);
  BOOST_TEST(h[2].generation == 5u);
  BOOST_TEST(h[1].source == "src4");
  BOOST_TEST(pub.read(4).text == R"({"i":4})");
  BOOST_CHECK_THROW((void)pub.read(2), Error);
}

BOOST_AUTO_TEST_CASE(reopening_continues_generations) {
  SegmentGuard seg("reopen");
  {
    Publisher pub({.segment = seg.name()});
    pub.publish("{}", "a");
    pub.publish("[]", "a");
  }
  Publisher again({.segment = seg.name()});
  BOOST_TEST(again.current_generation() == 2u);
  BOOST_TEST(again.publish("1", "b") == 3u);
}

// A daemon that publishes into its main and its canary segment keeps one number per document:
// a publish may ask for a number past the segment's own, never for one it has handed out.
BOOST_AUTO_TEST_CASE(a_publish_may_skip_ahead_but_never_back) {
  SegmentGuard seg("skip");
  Publisher pub({.segment = seg.name()});
  BOOST_TEST(pub.publish_serialized("1", "a", 5) == 5u);
  BOOST_TEST(pub.publish_serialized("2", "a", 3) == 6u);
  BOOST_TEST(pub.publish_serialized("3", "a") == 7u);
  Reader reader(seg.name());
  BOOST_TEST(reader.current().generation() == 7u);
  BOOST_TEST(pub.read(5).text == "1");
}

// NAME.canary is a segment name (the canary segment of NAME's daemon); no other dot is.
BOOST_AUTO_TEST_CASE(a_canary_segment_name_is_valid_and_no_other_dotted_one) {
  BOOST_CHECK_NO_THROW(validate_segment_name("shop.canary"));
  BOOST_CHECK_THROW(validate_segment_name("shop.prev"), Error);
  BOOST_CHECK_THROW(validate_segment_name(".canary"), Error);
  BOOST_CHECK_THROW(validate_segment_name("shop.canary.canary"), Error);
  BOOST_TEST(canary_segment("shop") == "shop.canary");
}

BOOST_AUTO_TEST_CASE(growth_moves_readers_to_a_larger_segment) {
  SegmentGuard seg("grow");
  Publisher pub({.segment = seg.name(), .initial_size = 64 * 1024, .history = 2});
  pub.publish(config_of_size(1000, 1), "small");
  Reader reader(seg.name());
  BOOST_TEST(reader.current().generation() == 1u);
  const std::size_t before = pub.segment_size();
  auto g = pub.publish(config_of_size(300 * 1024, 2), "big");
  BOOST_TEST(pub.segment_size() > before);
  BOOST_TEST(reader.current().generation() == g);
  BOOST_TEST(reader.current().get<std::int64_t>("/tag") == 2);
  BOOST_TEST(pub.read(1).info.source == "small");  // history survives the move
  BOOST_TEST(!std::filesystem::exists("/dev/shm/confvisor." + seg.name() + ".prev"));
  // A new reader opens the grown segment by the same name.
  Reader fresh(seg.name());
  BOOST_TEST(fresh.current().generation() == g);
}

BOOST_AUTO_TEST_CASE(invalid_json_is_refused_and_changes_nothing) {
  SegmentGuard seg("invalid");
  Publisher pub({.segment = seg.name()});
  pub.publish(R"({"ok":1})", "a");
  BOOST_CHECK_THROW(pub.publish(R"({"ok":)", "b"), Error);
  BOOST_TEST(pub.current_generation() == 1u);
  Reader reader(seg.name());
  BOOST_TEST(reader.current().text() == R"({"ok":1})");
}

BOOST_AUTO_TEST_CASE(missing_segment_is_a_clear_error) {
  try {
    Reader reader(confvisor::test::unique_segment("missing"));
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("does not exist") != std::string::npos);
  }
  BOOST_CHECK_THROW(Reader("bad/name"), Error);
}

BOOST_AUTO_TEST_CASE(crc32c_hardware_matches_portable) {
  std::string data = "123456789";
  BOOST_TEST(crc32c_portable(data.data(), data.size()) == 0xE3069283u);  // the CRC-32C check value
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 1000u, 4099u}) {
    std::string s(n, 'q');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
    BOOST_TEST(crc32c(s.data(), n) == crc32c_portable(s.data(), n));
  }
}

BOOST_AUTO_TEST_CASE(current_from_many_threads_while_publishing_is_consistent) {
  SegmentGuard seg("threads");
  Publisher pub({.segment = seg.name(), .history = 1});
  pub.publish(R"({"k":1,"twice":2})", "t");
  Reader reader(seg.name());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::uint64_t prev = 0;
      while (!done.load()) {
        const Snapshot& s = reader.current();
        auto k = s.get<std::int64_t>("/k");
        if (s.generation() < prev || static_cast<std::uint64_t>(k) != s.generation() ||
            s.get<std::int64_t>("/twice") != 2 * k) {
          ++bad;
        }
        prev = s.generation();
      }
    });
  }
  for (int k = 2; k <= 2000; ++k) {
    pub.publish(R"({"k":)" + std::to_string(k) + R"(,"twice":)" + std::to_string(2 * k) + "}", "t");
  }
  done = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(reader.current().generation() == 2000u);
  BOOST_TEST(reader.last_error() == "");
}

BOOST_AUTO_TEST_CASE(a_publisher_without_history_keeps_the_segments_window) {
  SegmentGuard seg("keep-history");
  {
    Publisher daemon_like({.segment = seg.name(), .history = 20});
    for (int i = 0; i < 20; ++i) daemon_like.publish(std::to_string(i), "d");
  }
  Publisher tool({.segment = seg.name()});  // e.g. confvisorctl publish
  tool.publish("99", "tool");
  BOOST_TEST(tool.history().size() == 20u);
  SegmentGuard fresh("default-history");
  Publisher first({.segment = fresh.name()});
  for (int i = 0; i < 10; ++i) first.publish(std::to_string(i), "d");
  BOOST_TEST(first.history().size() == 8u);
}

BOOST_AUTO_TEST_CASE(one_thread_alternating_between_more_readers_than_cache_slots) {
  // Each thread caches a few readers' snapshots; a sixth reader evicts one. Every call must
  // still answer for its own segment and its newest generation.
  constexpr int kReaders = 6;
  std::vector<std::unique_ptr<SegmentGuard>> segs;
  std::vector<Publisher> pubs;
  std::vector<Reader> readers;
  for (int i = 0; i < kReaders; ++i) {
    segs.push_back(std::make_unique<SegmentGuard>("slots"));
    pubs.emplace_back(PublisherOptions{.segment = segs.back()->name()});
    pubs.back().publish(R"({"who":)" + std::to_string(i) + R"(,"round":0})", "s");
    readers.emplace_back(segs.back()->name());
  }
  for (int round = 1; round <= 20; ++round) {
    for (int i = 0; i < kReaders; ++i) {
      BOOST_TEST(readers[i].current().get<std::int64_t>("/who") == i);
      BOOST_TEST(readers[i].current().get<std::int64_t>("/round") == round - 1);
    }
    for (int i = round % 2; i < kReaders; i += 2) {  // half of them change each round...
      pubs[i].publish(
          R"({"who":)" + std::to_string(i) + R"(,"round":)" + std::to_string(round) + "}", "s");
    }
    for (int i = (round + 1) % 2; i < kReaders; i += 2) {  // ...then the other half
      pubs[i].publish(
          R"({"who":)" + std::to_string(i) + R"(,"round":)" + std::to_string(round) + "}", "s");
    }
  }
}
