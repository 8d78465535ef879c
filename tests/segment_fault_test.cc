// Faults the segment must survive: a publisher SIGKILLed at every step of a publish and of
// a move, corrupt, truncated and foreign segments, readers that try to write, and users
// outside the segment's group.
#define BOOST_TEST_MODULE segment_faults
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/publish/publisher.hpp"
#include "common/segment/layout.hpp"
#include "common/segment/view.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/test_seams.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace std::chrono_literals;
using confvisor::test::arm_crash_point;
using confvisor::test::Child;
using confvisor::test::contains;
using confvisor::test::SegmentGuard;
namespace fs = std::filesystem;

namespace {

std::string config_for(int k, std::size_t padding = 100) {
  return R"({"k":)" + std::to_string(k) + R"(,"pad":")" + std::string(padding, 'p') + R"("})";
}

std::string shm_path(const std::string& segment) {
  return "/dev/shm/confvisor." + segment;
}

// A writable mapping of a segment's object: the test plays a hostile or broken publisher.
class RawSegment {
 public:
  explicit RawSegment(const std::string& segment) {
    fd_ = ::open(shm_path(segment).c_str(), O_RDWR);
    BOOST_TEST_REQUIRE(fd_ >= 0);
    size_ = static_cast<std::size_t>(fs::file_size(shm_path(segment)));
    base_ = static_cast<char*>(::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
    BOOST_TEST_REQUIRE(base_ != MAP_FAILED);
  }
  ~RawSegment() {
    ::munmap(base_, size_);
    ::close(fd_);
  }
  SegmentHeader& header() { return *reinterpret_cast<SegmentHeader*>(base_); }
  Slot& active() { return header().slots[header().version.load() & 1]; }
  char* at(std::uint64_t offset) { return base_ + offset; }
  // Makes readers look again (version + 2 keeps the same active slot).
  void touch() { header().version.fetch_add(2); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
  char* base_ = nullptr;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const char* const kPublishPoints[] = {
    "publish:locked",       "publish:allocated", "publish:half-filled", "publish:filled",
    "publish:slot-written", "publish:flipped",   "publish:woken",       "publish:pruned"};
const char* const kMovePoints[] = {"grow:before-build", "grow:built", "move:linked", "move:renamed",
                                   "move:marked"};

// Publishes generations 1 and 2, lets a child die by SIGKILL at `point` while publishing
// generation 3 (`big` makes that publish outgrow the segment), then checks what readers
// and the next publisher see.
void crash_and_recover(const char* point, bool big) {
  SegmentGuard seg("crash");
  const PublisherOptions options{.segment = seg.name(), .initial_size = 64 * 1024, .history = 3};
  {
    Publisher pub(options);
    pub.publish(config_for(1), "good");
    pub.publish(config_for(2), "good");
  }
  Reader early(seg.name());
  BOOST_TEST_REQUIRE(early.current().generation() == 2u);

  Child crasher([&] {
    arm_crash_point(point);
    Publisher pub(options);
    pub.publish(config_for(3, big ? 200'000 : 100), "crash");
    return 0;  // the point was never reached
  });
  const int status = crasher.wait_for(30s);
  BOOST_TEST_REQUIRE(WIFSIGNALED(status));
  BOOST_TEST_REQUIRE(WTERMSIG(status) == SIGKILL);

  // Meanwhile, old and new readers see a whole generation: the last good one, or the new
  // one if the crash came after it was made visible.
  std::uint64_t seen = 0;
  for (Reader* r : {&early, new Reader(seg.name())}) {
    const Snapshot& s = r->current();
    BOOST_TEST((s.generation() == 2u || s.generation() == 3u));
    BOOST_TEST(s.get<std::int64_t>("/k") == static_cast<std::int64_t>(s.generation()));
    BOOST_TEST(r->last_error() == "");
    seen = std::max(seen, s.generation());
    if (r != &early) delete r;
  }

  // The next publisher recovers and carries on; generations stay monotonic.
  std::vector<std::string> events;
  PublisherOptions next_options = options;
  next_options.on_event = [&](const std::string& line) { events.push_back(line); };
  Publisher next(next_options);
  const std::uint64_t g = next.publish(config_for(4), "after");
  BOOST_TEST(g > seen);
  BOOST_TEST(early.wait_for_change(10s));
  BOOST_TEST(early.current().generation() == g);
  BOOST_TEST(early.current().get<std::int64_t>("/k") == 4);
  BOOST_TEST(Reader(seg.name()).current().generation() == g);
  // Kept history still reads back, and nothing of the crash is left in /dev/shm.
  BOOST_TEST(next.history().back().generation == g);
  BOOST_TEST(next.read(2).text == config_for(2));
  BOOST_TEST(!fs::exists(shm_path(seg.name()) + ".prev"));
  BOOST_TEST(!fs::exists(shm_path(seg.name()) + ".new." + std::to_string(crasher.pid())));
  for (const auto& e : events) BOOST_TEST_MESSAGE(point << ": " << e);
}

}  // namespace

BOOST_DATA_TEST_CASE(publisher_killed_mid_publish_leaves_readers_whole_and_next_publisher_recovers,
                     boost::unit_test::data::make(kPublishPoints), point) {
  crash_and_recover(point, false);
}

BOOST_DATA_TEST_CASE(publisher_killed_mid_growth_leaves_readers_whole_and_next_publisher_recovers,
                     boost::unit_test::data::make(kMovePoints), point) {
  crash_and_recover(point, true);
}

BOOST_AUTO_TEST_CASE(recovery_after_a_dead_writer_is_logged) {
  SegmentGuard seg("recovery-log");
  { Publisher(PublisherOptions{.segment = seg.name()}).publish(config_for(1), "a"); }
  Child crasher([&] {
    arm_crash_point("publish:slot-written");
    Publisher(PublisherOptions{.segment = seg.name()}).publish(config_for(2), "b");
    return 0;
  });
  BOOST_TEST_REQUIRE(WIFSIGNALED(crasher.wait_for(30s)));
  std::vector<std::string> events;
  Publisher next(
      {.segment = seg.name(), .on_event = [&](const std::string& e) { events.push_back(e); }});
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(contains(events[0], "recovered segment " + shm_path(seg.name())));
  BOOST_TEST(contains(events[0], "current generation 1"));
}

BOOST_AUTO_TEST_CASE(foreign_empty_and_truncated_objects_are_refused_by_name) {
  SegmentGuard seg("foreign");
  {
    std::ofstream f(shm_path(seg.name()), std::ios::binary);
    std::string junk(8192, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 17);
    f << junk;
  }
  BOOST_TEST(contains(error_of([&] { Reader r(seg.name()); }), "is not a confvisor segment"));
  // The publisher refuses it too, rather than clobbering someone else's object.
  BOOST_TEST(contains(error_of([&] { Publisher p({.segment = seg.name()}); }),
                      "is not a confvisor segment"));

  fs::resize_file(shm_path(seg.name()), 0);
  BOOST_TEST(contains(error_of([&] { Reader r(seg.name()); }), "is truncated"));

  fs::remove(shm_path(seg.name()));
  { Publisher(PublisherOptions{.segment = seg.name()}).publish(config_for(1), "a"); }
  fs::resize_file(shm_path(seg.name()), 6000);
  BOOST_TEST(contains(error_of([&] { Reader r(seg.name()); }), "is corrupt or truncated"));
}

BOOST_AUTO_TEST_CASE(another_layout_version_is_refused_with_an_actionable_message) {
  SegmentGuard seg("version");
  { Publisher(PublisherOptions{.segment = seg.name()}).publish(config_for(1), "a"); }
  RawSegment(seg.name()).header().layout_version = 99;
  auto msg = error_of([&] { Reader r(seg.name()); });
  BOOST_TEST(contains(msg, "has layout version 99"));
  BOOST_TEST(contains(msg, "this build reads version " + std::to_string(kLayoutVersion)));
}

BOOST_AUTO_TEST_CASE(hostile_offsets_and_sizes_give_errors_and_keep_the_last_good_generation) {
  SegmentGuard seg("hostile");
  Publisher pub({.segment = seg.name()});
  pub.publish(config_for(1), "a");
  Reader reader(seg.name());
  BOOST_TEST_REQUIRE(reader.current().generation() == 1u);
  RawSegment raw(seg.name());
  const std::pair<std::uint64_t, std::uint64_t> bad[] = {
      {1ull << 62, 64},                                 // far outside
      {raw.active().record_offset.load(), 1ull << 63},  // size overflows the mapping
      {~std::uint64_t{0} - 7, 16},                      // offset + size wraps around
      {8, 64},                                          // inside the header, not the heap
      {raw.active().record_offset.load() + 4, 64}};     // misaligned
  for (auto [offset, size] : bad) {
    raw.active().record_offset.store(offset);
    raw.active().record_size.store(size);
    raw.touch();
    BOOST_TEST(reader.current().generation() == 1u);  // last good, still served
    BOOST_TEST(contains(reader.last_error(), "points outside the segment"));
    BOOST_TEST(
        contains(error_of([&] { Reader(seg.name()).current(); }), "points outside the segment"));
  }
}

BOOST_AUTO_TEST_CASE(a_corrupted_record_fails_its_checksum) {
  SegmentGuard seg("checksum");
  Publisher pub({.segment = seg.name()});
  pub.publish(config_for(1), "a");
  Reader reader(seg.name());
  BOOST_TEST_REQUIRE(reader.current().generation() == 1u);
  RawSegment raw(seg.name());
  char* record = raw.at(raw.active().record_offset.load());
  record[raw.active().record_size.load() - 20] ^= 0x01;  // one bit of the JSON text
  raw.touch();
  BOOST_TEST(reader.current().get<std::int64_t>("/k") == 1);
  BOOST_TEST(contains(reader.last_error(), "checksum mismatch"));
  BOOST_TEST(contains(error_of([&] { Reader(seg.name()).current(); }), "checksum mismatch"));
}

BOOST_AUTO_TEST_CASE(a_segment_truncated_under_a_live_reader_is_an_error_not_sigbus) {
  SegmentGuard seg("truncate-live");
  Publisher pub({.segment = seg.name()});
  pub.publish(config_for(1), "a");
  Reader reader(seg.name());
  BOOST_TEST_REQUIRE(reader.current().generation() == 1u);
  RawSegment raw(seg.name());
  BOOST_TEST_REQUIRE(::ftruncate(raw.fd(), kHeaderReserve) == 0);
  raw.touch();  // the header page is still backed
  BOOST_TEST(reader.current().generation() == 1u);
  BOOST_TEST(contains(reader.last_error(), "was truncated while mapped"));
}

BOOST_AUTO_TEST_CASE(a_reader_maps_the_segment_read_only_and_a_write_is_sigsegv) {
  SegmentGuard seg("readonly");
  Publisher pub({.segment = seg.name()});
  pub.publish(config_for(1), "a");
  // The mapping a Reader adds to its process has no write permission (the fork also
  // inherits this process' read-write publisher mapping, hence the before/after).
  Child looker([&] {
    auto mappings = [&] {
      std::ifstream maps("/proc/self/maps");
      std::set<std::string> lines;
      for (std::string line; std::getline(maps, line);) {
        if (contains(line, shm_path(seg.name()))) lines.insert(line);
      }
      return lines;
    };
    const auto before = mappings();
    Reader reader(seg.name());
    reader.current();
    std::vector<std::string> added;
    for (const auto& line : mappings()) {
      if (!before.count(line)) added.push_back(line.substr(line.find(' ') + 1, 4));
    }
    return added == std::vector<std::string>{"r--s"} ? 0 : 1;
  });
  BOOST_TEST(looker.wait_for(10s) == 0);
  Child writer([&] {
    SegmentView view{SegmentNames(seg.name())};
    // What a buggy or hostile worker might try: it must fault, not corrupt the segment.
    const_cast<SegmentHeader&>(view.header()).version.store(0);
    return 0;
  });
  const int status = writer.wait_for(10s);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGSEGV);
  BOOST_TEST(Reader(seg.name()).current().generation() == 1u);
}

namespace {
bool running_as_root() {
  return ::geteuid() == 0;
}

// Runs `body` in a child that has dropped to uid nobody with only group `gid`.
int as_nobody_in_group(gid_t gid, const std::function<int()>& body) {
  Child child([&] {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(65534) != 0) return 90;
    return body();
  });
  int status = child.wait_for(10s);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

BOOST_AUTO_TEST_CASE(only_the_segments_group_can_read_it,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return running_as_root();
                     })) {
  SegmentGuard seg("perms");
  constexpr gid_t kGroup = 1;  // "daemon" on Debian; any group nobody is not in
  Publisher pub({.segment = seg.name(), .mode = 0640, .group = kGroup});
  pub.publish(config_for(1), "a");
  BOOST_TEST(static_cast<unsigned>(fs::status(shm_path(seg.name())).permissions()) == 0640u);
  BOOST_TEST(fs::exists(shm_path(seg.name())));

  // In the group: reads, but cannot publish.
  BOOST_TEST(as_nobody_in_group(kGroup, [&] {
               if (Reader(seg.name()).current().generation() != 1u) return 1;
               auto msg = error_of([&] { Publisher p({.segment = seg.name()}); });
               return contains(msg, "Permission denied") ? 0 : 2;
             }) == 0);
  // Outside it: cannot even open, and says why.
  BOOST_TEST(as_nobody_in_group(65534, [&] {
               auto msg = error_of([&] { Reader r(seg.name()); });
               return contains(msg, "unable to open segment " + shm_path(seg.name()) +
                                        ": Permission denied")
                          ? 0
                          : 1;
             }) == 0);
}

namespace {

// One byte each way between the test and a child, so each side waits for the other's step.
class Handshake {
 public:
  Handshake() {
    BOOST_TEST_REQUIRE(::pipe(to_child_) == 0);
    BOOST_TEST_REQUIRE(::pipe(to_parent_) == 0);
  }
  ~Handshake() {
    for (int fd : {to_child_[0], to_child_[1], to_parent_[0], to_parent_[1]}) ::close(fd);
  }
  bool child_says() { return step(to_parent_[0]); }
  void tell_child() { (void)!::write(to_child_[1], "x", 1); }
  bool parent_says() { return step(to_child_[0]); }
  void tell_parent() { (void)!::write(to_parent_[1], "x", 1); }

 private:
  // Both ends stay open on both sides, so a dead peer is seen by the timeout.
  static bool step(int fd) {
    pollfd p{fd, POLLIN, 0};
    char c;
    return ::poll(&p, 1, 20'000) == 1 && ::read(fd, &c, 1) == 1;
  }
  int to_child_[2];
  int to_parent_[2];
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_segment_truncated_to_nothing_under_busy_readers_keeps_their_generation) {
  SegmentGuard seg("truncate-zero");
  std::vector<std::string> events;
  Publisher pub(
      {.segment = seg.name(), .on_event = [&](const std::string& e) { events.push_back(e); }});
  pub.publish(config_for(1), "a");
  Handshake hs;
  // The reader process: four threads call current() without pause while the object is
  // truncated to 0 bytes (the header page too), then the main one waits for the
  // replacement. Exit codes say what went wrong; SIGBUS would end it by signal.
  Child reader([&] {
    Reader r(seg.name());
    if (r.current().generation() != 1u) return 2;
    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (!stop.load()) {
          if (r.current().get<std::int64_t>("/k") != 1) ++wrong;
        }
      });
    }
    hs.tell_parent();  // threads running: truncate now
    if (!hs.parent_says()) return 3;
    for (int i = 0; i < 100'000; ++i) {
      if (r.current().generation() != 1u) return 4;
    }
    const bool named = contains(r.last_error(), "was truncated while mapped");
    stop = true;
    for (auto& t : threads) t.join();
    if (wrong.load() != 0) return 5;
    if (!named) return 6;
    hs.tell_parent();  // the publisher may replace it now
    if (!r.wait_for_change(10s)) return 7;
    if (r.current().get<std::int64_t>("/k") != 2) return 8;
    return r.last_error().empty() ? 0 : 9;
  });
  if (!hs.child_says()) BOOST_FAIL("the reader did not start: wait status " << reader.wait_for(1s));
  BOOST_TEST_REQUIRE(::truncate(shm_path(seg.name()).c_str(), 0) == 0);
  hs.tell_child();
  if (!hs.child_says()) BOOST_FAIL("the reader failed: wait status " << reader.wait_for(1s));
  // The publisher checks before it writes: it replaces the truncated object, and says so.
  BOOST_TEST(pub.publish(config_for(2), "b") == 2u);
  const int status = reader.wait_for(20s);
  BOOST_TEST(!WIFSIGNALED(status), "reader died of signal " << WTERMSIG(status));
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(Reader(seg.name()).current().get<std::int64_t>("/k") == 2);
  BOOST_TEST_REQUIRE(!events.empty());
  BOOST_TEST(contains(events.back(), "replaced damaged segment " + shm_path(seg.name()) +
                                         ": it was truncated to 0 bytes"));
  BOOST_TEST(contains(events.back(), "current generation 1"));
}

BOOST_AUTO_TEST_CASE(a_sigbus_outside_every_segment_goes_to_the_previous_handler_or_kills) {
  SegmentGuard seg("foreign-sigbus");
  { Publisher(PublisherOptions{.segment = seg.name()}).publish(config_for(1), "a"); }
  // A truncated file of the program's own: its SIGBUS is not ours to swallow.
  auto fault_on_own_file = [] {
    const std::string path = "/dev/shm/confvisor-test-own-" + std::to_string(::getpid());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ::unlink(path.c_str());
    if (fd < 0 || ::ftruncate(fd, 8192) != 0) return 80;
    auto* p = static_cast<volatile char*>(::mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED || ::ftruncate(fd, 0) != 0) return 81;
    return static_cast<int>(p[4096]);  // SIGBUS
  };
  Child with_handler([&] {
    struct sigaction action {};
    action.sa_handler = [](int) { ::_exit(42); };
    ::sigaction(SIGBUS, &action, nullptr);
    Reader reader(seg.name());  // installs ours on top
    if (reader.current().generation() != 1u) return 2;
    return fault_on_own_file();
  });
  BOOST_TEST(WIFEXITED(with_handler.wait_for(10s)));
  Child without([&] {
    Reader reader(seg.name());
    if (reader.current().generation() != 1u) return 2;
    return fault_on_own_file();
  });
  const int status = without.wait_for(10s);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGBUS);
}
