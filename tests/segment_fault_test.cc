// Faults the segment must survive: a publisher SIGKILLed at every step of a publish and of
// a move, corrupt, truncated and foreign segments, readers that try to write, and users
// outside the segment's group.
#define BOOST_TEST_MODULE segment_faults
#include <fcntl.h>
#include <grp.h>
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

#include "confvisor/worker.hpp"
#include "publisher.hpp"
#include "segment_layout.hpp"
#include "segment_view.hpp"
#include "test_seams.hpp"
#include "test_support.hpp"

using namespace confvisor;
using namespace std::chrono_literals;
using confvisor::test::arm_crash_point;
using confvisor::test::Child;
using confvisor::test::SegmentGuard;
namespace fs = std::filesystem;

namespace {

std::string config_for(int k, std::size_t padding = 100) {
  return R"({"k":)" + std::to_string(k) + R"(,"pad":")" + std::string(padding, 'p') + R"("})";
}

std::string shm_path(const std::string& segment) { return "/dev/shm/confvisor." + segment; }

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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const char* const kPublishPoints[] = {
    "publish:locked", "publish:allocated", "publish:half-filled", "publish:filled",
    "publish:slot-written", "publish:flipped", "publish:woken", "publish:pruned"};
const char* const kMovePoints[] = {"grow:before-build", "grow:built", "move:linked",
                                   "move:renamed", "move:marked"};

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
  Publisher next({.segment = seg.name(), .on_event = [&](const std::string& e) { events.push_back(e); }});
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
  BOOST_TEST(contains(error_of([&] { Publisher p({.segment = seg.name()}); }), "is not a confvisor segment"));

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
      {1ull << 62, 64},                          // far outside
      {raw.active().record_offset.load(), 1ull << 63},  // size overflows the mapping
      {~std::uint64_t{0} - 7, 16},               // offset + size wraps around
      {8, 64},                                   // inside the header, not the heap
      {raw.active().record_offset.load() + 4, 64}};  // misaligned
  for (auto [offset, size] : bad) {
    raw.active().record_offset.store(offset);
    raw.active().record_size.store(size);
    raw.touch();
    BOOST_TEST(reader.current().generation() == 1u);  // last good, still served
    BOOST_TEST(contains(reader.last_error(), "points outside the segment"));
    BOOST_TEST(contains(error_of([&] { Reader(seg.name()).current(); }), "points outside the segment"));
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
bool running_as_root() { return ::geteuid() == 0; }

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
