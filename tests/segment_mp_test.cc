// The segment protocol across real processes: many readers under a publish storm, growth
// while readers run, concurrent publishers, and the futex wait.
#define BOOST_TEST_MODULE segment_multiprocess
#include <sys/wait.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/publish/publisher.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/numbered_config.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"

using namespace confvisor;
using namespace std::chrono_literals;
using confvisor::test::Child;
using confvisor::test::exit_code;
using confvisor::test::Numbered;
using confvisor::test::SegmentGuard;

namespace {

// A reader process: follows generations until it sees `last`, checking every one it sees is
// whole and that generations never go back. Exit code says what went wrong.
int follow_until(const std::string& segment, std::uint64_t last, const Numbered& numbered) {
  Reader reader(segment);
  std::uint64_t prev = 0;
  while (prev < last) {
    if (!reader.wait_for_change(20s)) return 3;
    for (int burst = 0; burst < 3; ++burst) {
      const Snapshot& s = reader.current();
      // Any failed read counts, even if a later one succeeded: a torn copy must be retried
      // silently by the protocol, never surface as "corrupt".
      if (!reader.last_error().empty()) return 7;
      if (s.generation() < prev) return 4;
      if (s.generation() != static_cast<std::uint64_t>(s.get<std::int64_t>("/k"))) return 5;
      if (!numbered.whole(s)) return 6;
      prev = s.generation();
    }
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sixteen_readers_see_only_whole_monotonic_generations_over_10000_publishes) {
  SegmentGuard seg("storm");
  // history 1 and records up to 16 KiB: each record is freed by the next publish and its
  // memory reused soon after, the worst case for a reader still copying it.
  const Numbered numbered{.base = 50, .spread = 16'000};
  Publisher pub({.segment = seg.name(), .history = 1});
  pub.publish(numbered.config(1), "storm");
  constexpr std::uint64_t kPublishes = 10'000;
  std::vector<Child> readers;
  for (int i = 0; i < 16; ++i) {
    readers.emplace_back([&] { return follow_until(seg.name(), kPublishes, numbered); });
  }
  for (std::uint64_t k = 2; k <= kPublishes; ++k) {
    BOOST_REQUIRE_EQUAL(pub.publish(numbered.config(static_cast<std::int64_t>(k)), "storm"), k);
  }
  for (auto& r : readers) BOOST_TEST(exit_code(r.wait_for(120s)) == 0);
}

BOOST_AUTO_TEST_CASE(readers_follow_growth_past_the_initial_size_without_restart) {
  SegmentGuard seg("growth");
  const Numbered small{.base = 1000, .spread = 1}, large{.base = 1000, .spread = 1'500'000};
  Publisher pub({.segment = seg.name(), .initial_size = 64 * 1024, .history = 3});
  pub.publish(small.config(1), "growth");
  const std::size_t initial = pub.segment_size();
  constexpr std::uint64_t kPublishes = 120;
  std::vector<Child> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      Reader reader(seg.name());
      std::uint64_t prev = 0;
      while (prev < kPublishes) {
        if (!reader.wait_for_change(20s)) return 3;
        const Snapshot& s = reader.current();
        auto k = s.get<std::int64_t>("/k");
        if (s.generation() < prev || s.generation() != static_cast<std::uint64_t>(k)) return 4;
        if (!(k == 1 ? small : large).whole(s)) return 6;
        prev = s.generation();
      }
      return 0;
    });
  }
  for (std::uint64_t k = 2; k <= kPublishes; ++k) {
    pub.publish(large.config(static_cast<std::int64_t>(k)), "growth");
  }
  BOOST_TEST(pub.segment_size() > 16 * initial);
  for (auto& r : readers) BOOST_TEST(exit_code(r.wait_for(120s)) == 0);
  // A reader opened now sees the grown segment under the same name.
  Reader late(seg.name());
  BOOST_TEST(late.current().generation() == kPublishes);
}

BOOST_AUTO_TEST_CASE(concurrent_publishers_are_serialised_and_generations_unique) {
  SegmentGuard seg("writers");
  Publisher pub({.segment = seg.name(), .initial_size = 64 * 1024});
  pub.publish(Numbered{}.config(0), "parent");
  constexpr int kEach = 300;
  std::vector<Child> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&] {
      Publisher mine({.segment = seg.name(), .initial_size = 64 * 1024});
      std::uint64_t prev = 0;
      for (int i = 0; i < kEach; ++i) {
        // Large enough that the writers force several moves between them.
        std::uint64_t g = mine.publish(Numbered{.base = 100, .spread = 20000}.config(i), "child");
        if (g <= prev) return 2;
        prev = g;
      }
      return 0;
    });
  }
  for (auto& w : writers) BOOST_TEST(exit_code(w.wait_for(120s)) == 0);
  BOOST_TEST(pub.current_generation() == 1u + 2 * kEach);
  auto h = pub.history();
  for (std::size_t i = 1; i < h.size(); ++i) BOOST_TEST(h[i].generation == h[i - 1].generation + 1);
}

BOOST_AUTO_TEST_CASE(wait_for_change_sleeps_until_a_publish_in_another_process) {
  SegmentGuard seg("wait");
  Publisher pub({.segment = seg.name()});
  pub.publish(Numbered{}.config(1), "w");
  Reader reader(seg.name());
  BOOST_TEST(reader.current().generation() == 1u);
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(!reader.wait_for_change(50ms));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 50ms));

  Child writer([&] {
    std::this_thread::sleep_for(100ms);
    Publisher other({.segment = seg.name()});
    other.publish(Numbered{}.config(2), "w");
    return 0;
  });
  t0 = std::chrono::steady_clock::now();
  BOOST_TEST(reader.wait_for_change(10s));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
  BOOST_TEST(reader.current().generation() == 2u);
  BOOST_TEST(exit_code(writer.wait()) == 0);
}

BOOST_AUTO_TEST_CASE(on_change_delivers_every_generation_on_a_background_thread) {
  SegmentGuard seg("onchange");
  Publisher pub({.segment = seg.name()});
  pub.publish(Numbered{}.config(1), "c");
  Reader reader(seg.name());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::uint64_t> seen;
  std::thread::id callback_thread;
  {
    auto sub = reader.on_change([&](const Snapshot& s) {
      std::lock_guard lock(mu);
      seen.push_back(s.generation());
      callback_thread = std::this_thread::get_id();
      cv.notify_all();
    });
    auto wait_for_count = [&](std::size_t n) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, 10s, [&] { return seen.size() >= n; });
    };
    BOOST_TEST(wait_for_count(1));
    Child writer([&] {
      Publisher other({.segment = seg.name()});
      other.publish(Numbered{}.config(2), "c");
      return 0;
    });
    BOOST_TEST(exit_code(writer.wait()) == 0);
    BOOST_TEST(wait_for_count(2));
  }  // the subscription stops here, promptly, although nothing more is published
  std::lock_guard lock(mu);
  BOOST_TEST(seen == (std::vector<std::uint64_t>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(callback_thread != std::this_thread::get_id());
}

namespace {

// Open descriptors of this process and its read-only confvisor segment mappings (a forked
// reader also holds its parent's read-write publisher mapping).
std::pair<std::size_t, std::size_t> fds_and_segment_mappings() {
  std::size_t fds = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++fds;
  std::ifstream maps("/proc/self/maps");
  std::size_t mappings = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(" r--s ") != std::string::npos &&
        line.find("/dev/shm/confvisor.") != std::string::npos) {
      ++mappings;
    }
  }
  return {fds, mappings};
}

}  // namespace

BOOST_AUTO_TEST_CASE(twenty_moves_under_a_long_lived_reader_leave_its_fds_and_mappings_constant) {
  SegmentGuard seg("moves");
  Publisher pub({.segment = seg.name()});
  pub.publish(R"({"k":1})", "moves");
  constexpr int kMoves = 20;
  // The reader runs in a process of its own, so the publisher's mappings are not counted.
  // Each line it writes back: generation, fds, mappings, after reading that generation.
  int pipe_fds[2];
  BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0);
  Child reader([&] {
    ::close(pipe_fds[0]);
    Reader r(seg.name());
    std::uint64_t seen = 0;
    while (seen < kMoves + 1) {
      if (r.current().generation() == seen && !r.wait_for_change(20s)) return 3;
      seen = r.current().generation();
      auto [fds, mappings] = fds_and_segment_mappings();
      const std::string line =
          std::to_string(seen) + " " + std::to_string(fds) + " " + std::to_string(mappings) + "\n";
      if (::write(pipe_fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return 4;
    }
    return 0;
  });
  ::close(pipe_fds[1]);
  FILE* from_reader = ::fdopen(pipe_fds[0], "r");
  BOOST_TEST_REQUIRE(from_reader != nullptr);
  auto next_line = [&] {
    unsigned long long gen = 0, fds = 0, mappings = 0;
    BOOST_TEST_REQUIRE(std::fscanf(from_reader, "%llu %llu %llu", &gen, &fds, &mappings) == 3);
    return std::array<unsigned long long, 3>{gen, fds, mappings};
  };
  const auto first = next_line();
  BOOST_TEST(first[0] == 1u);
  BOOST_TEST(first[2] == 1u);  // the reader's one mapping of the segment
  for (int move = 1; move <= kMoves; ++move) {
    // Removing the name makes the next publish replace the segment: a move, as growth or
    // recovery makes one, without doubling the size each time.
    BOOST_TEST_REQUIRE(::unlink(("/dev/shm/confvisor." + seg.name()).c_str()) == 0);
    const std::uint64_t g = pub.publish(R"({"k":)" + std::to_string(move + 1) + "}", "moves");
    BOOST_TEST_REQUIRE(g == static_cast<std::uint64_t>(move + 1));
    const auto now = next_line();
    BOOST_TEST(now[0] == g);
    BOOST_TEST(now[1] == first[1],
               "fds after move " << move << ": " << now[1] << ", at first " << first[1]);
    BOOST_TEST(now[2] == first[2], "segment mappings after move " << move << ": " << now[2]);
  }
  std::fclose(from_reader);
  BOOST_TEST(exit_code(reader.wait_for(20s)) == 0);
}
