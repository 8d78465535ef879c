// Damage to the segment with the real daemon: truncation and corruption at random moments
// under reader processes, a daemon restarted over a damaged segment, and recovery after a
// dead writer when /dev/shm has little room left.
#define BOOST_TEST_MODULE segment_damage
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/publish/publisher.hpp"
#include "common/segment/layout.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/child_expect.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_seams.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace std::chrono_literals;
using confvisor::test::Child;
using confvisor::test::contains;
using confvisor::test::DaemonProcess;
using confvisor::test::exit_code;
using confvisor::test::SegmentGuard;
using confvisor::test::TempDir;

namespace {

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string shm_path(const std::string& segment) {
  return "/dev/shm/confvisor." + segment;
}

// The padding of version v: a reader checks it to tell a whole generation from a mixed one.
std::size_t pad_of(std::int64_t v) {
  return 100 + static_cast<std::size_t>(v * 37 % 3000);
}

std::string config_text(const std::string& segment, std::int64_t version,
                        const std::string& settings = "", const std::string& workers = "") {
  return R"({"confvisor": {"segment": ")" + segment + "\"" + settings + workers +
         R"(}, "app": {"version": )" + std::to_string(version) + R"(, "pad": ")" +
         std::string(pad_of(version), 'p') + "\"}}";
}

std::int64_t version_of(const Snapshot& s) {
  return s.get<std::int64_t>("/app/version");
}

bool whole(const Snapshot& s) {
  return s.get<std::string>("/app/pad").size() == pad_of(version_of(s));
}

// The version a fresh reader sees, or -1 while the segment cannot be read (damaged and not
// replaced yet).
std::int64_t fresh_version(const std::string& segment) {
  try {
    return version_of(Reader(segment).current());
  } catch (const Error&) {
    return -1;
  }
}

// Waits until a fresh reader sees `version`; false after `timeout`.
bool wait_for_version(const std::string& segment, std::int64_t version,
                      std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fresh_version(segment) != version) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// Byte offsets of header fields, for a test that writes them through the file.
struct HeaderOffsets {
  std::size_t magic, segment_size, slot_offset[2], history_count;
  HeaderOffsets() {
    auto h = std::make_unique<SegmentHeader>();
    auto at = [&](const void* field) {
      return static_cast<std::size_t>(static_cast<const char*>(field) -
                                      reinterpret_cast<const char*>(h.get()));
    };
    magic = at(&h->magic);
    segment_size = at(&h->segment_size);
    slot_offset[0] = at(&h->slots[0].record_offset);
    slot_offset[1] = at(&h->slots[1].record_offset);
    history_count = at(&h->history_count);
  }
};

void write_u64(int fd, std::size_t offset, std::uint64_t value) {
  BOOST_TEST_REQUIRE(::pwrite(fd, &value, sizeof value, static_cast<off_t>(offset)) == 8);
}

std::uint64_t read_u64(int fd, std::size_t offset) {
  std::uint64_t value = 0;
  if (::pread(fd, &value, sizeof value, static_cast<off_t>(offset)) != 8) return 0;
  return value;
}

// What an operator's mistake or a broken tool with the daemon's rights does to the object,
// always through the file (this process never maps it). Returns what was done.
std::string damage(const std::string& segment, int kind, std::mt19937& rng) {
  static const HeaderOffsets off;
  const std::string path = shm_path(segment);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "nothing (no object)";
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string what;
  switch (kind) {
    case 0:
      BOOST_TEST(::ftruncate(fd, 0) == 0);
      what = "truncated to 0";
      break;
    case 1: {
      const off_t to = static_cast<off_t>(rng() % std::max<std::uint64_t>(size, 1));
      BOOST_TEST(::ftruncate(fd, to) == 0);
      what = "truncated to " + std::to_string(to);
      break;
    }
    case 2:
      BOOST_TEST(::ftruncate(fd, kHeaderReserve) == 0);
      what = "truncated to its header";
      break;
    case 3:
      write_u64(fd, off.magic, 0x6b6b6b6b6b6b6b6bull);
      what = "magic overwritten";
      break;
    case 4:
      write_u64(fd, off.segment_size, size * 3);
      what = "segment size overwritten";
      break;
    case 5:
      write_u64(fd, off.slot_offset[0], 1ull << 60);
      write_u64(fd, off.slot_offset[1], 1ull << 60);
      what = "both slots pointed outside";
      break;
    case 6:
      write_u64(fd, off.history_count, 1000);
      what = "history count overwritten";
      break;
    default: {
      // One byte of the active record's JSON text: readers' checksums catch it.
      const std::uint64_t record = read_u64(fd, off.slot_offset[0]);
      const std::uint64_t target = record + sizeof(RecordHeader) + 8 + rng() % 64;
      char c = 0;
      if (record != 0 && target < size && ::pread(fd, &c, 1, static_cast<off_t>(target)) == 1) {
        c ^= 0x20;
        (void)!::pwrite(fd, &c, 1, static_cast<off_t>(target));
      }
      what = "a byte of a record flipped";
      break;
    }
  }
  ::close(fd);
  return what;
}

// A long-lived reader process: calls current() as fast as it can with short waits between
// bursts, checking every snapshot is whole, until the test sends the last version over
// `from_test`; then waits to see that version. It writes a byte to `ready` once it holds a
// generation. Exit code says what went wrong.
int read_until_told(const std::string& segment, int from_test, int ready) try {
  Reader reader(segment);
  if (!whole(reader.current()) || ::write(ready, "r", 1) != 1) return 4;
  for (;;) {
    for (int i = 0; i < 2000; ++i) {
      const Snapshot& s = reader.current();
      if (!whole(s)) return 5;
    }
    pollfd p{from_test, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) break;
    reader.wait_for_change(1ms);
  }
  std::int64_t last = 0;
  if (::read(from_test, &last, sizeof last) != sizeof last) return 6;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (version_of(reader.current()) != last) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "reader %d: still at version %lld, not %lld: %s\n", ::getpid(),
                   static_cast<long long>(version_of(reader.current())),
                   static_cast<long long>(last), reader.last_error().c_str());
      return 7;
    }
    reader.wait_for_change(100ms);
  }
  return whole(reader.current()) ? 0 : 8;
} catch (const std::exception& e) {
  std::fprintf(stderr, "reader %d: %s\n", ::getpid(), e.what());
  return 9;
}

}  // namespace

BOOST_AUTO_TEST_CASE(
    truncation_and_corruption_at_random_moments_never_sigbus_and_publishing_goes_on) {
  SegmentGuard seg("damage-storm");
  TempDir dir;
  std::int64_t version = 1;
  const std::string path = dir.write("app.json", config_text(seg.name(), version));
  DaemonProcess d(dir, path);
  BOOST_TEST_REQUIRE(!d.wait_notify("READY=1").empty(), d.log());

  constexpr int kReaders = 8;
  std::vector<std::array<int, 2>> pipes(kReaders);
  std::vector<Child> readers;
  int ready[2];
  BOOST_TEST_REQUIRE(::pipe(ready) == 0);
  for (auto& p : pipes) {
    BOOST_TEST_REQUIRE(::pipe(p.data()) == 0);
    readers.emplace_back([&] { return read_until_told(seg.name(), p[0], ready[1]); });
  }
  for (int i = 0; i < kReaders; ++i) {
    char c;
    BOOST_TEST_REQUIRE(::read(ready[0], &c, 1) == 1);  // every reader holds generation 1
  }
  ::close(ready[0]);
  ::close(ready[1]);
  std::mt19937 rng(std::random_device{}());
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    // A reload in flight, the damage at a random moment of it, then another reload that
    // starts after the damage: the daemon must verify, replace and publish it.
    dir.write("app.json", config_text(seg.name(), ++version));
    d.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    const std::string what = damage(seg.name(), static_cast<int>(rng() % 8), rng);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    dir.write("app.json", config_text(seg.name(), ++version));
    d.signal(SIGHUP);
    BOOST_TEST_INFO("round " << round << ": " << what);
    if (!wait_for_version(seg.name(), version)) {
      if (std::getenv("CONFVISOR_TEST_PAUSE")) {
        std::fprintf(stderr, "daemon pid %d\n", d.pid());
        std::this_thread::sleep_for(60s);
      }
      BOOST_FAIL("version " << version << " not published; daemon alive: " << alive(d.pid())
                            << "; its log:\n"
                            << d.log());
    }
    BOOST_TEST_REQUIRE(alive(d.pid()));
    d.drain_notifications();
    for (Child& r : readers) {
      if (!alive(r.pid())) BOOST_FAIL("a reader ended: exit " << exit_code(r.wait_for(1s)));
    }
  }
  for (auto& p : pipes) BOOST_TEST(::write(p[1], &version, sizeof version) == sizeof version);
  int sigbus = 0;
  for (Child& r : readers) {
    const int status = r.wait_for(30s);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) ++sigbus;
    BOOST_TEST(exit_code(status) == 0);
  }
  for (auto& p : pipes) {
    ::close(p[0]);
    ::close(p[1]);
  }
  BOOST_TEST(sigbus == 0);
  const std::string log = d.log();
  if (std::getenv("CONFVISOR_TEST_KEEP_LOG"))
    std::ofstream(std::getenv("CONFVISOR_TEST_KEEP_LOG")) << log;
  BOOST_TEST_MESSAGE("segments replaced: " << count_of(log, "replaced damaged segment"));
  BOOST_TEST(count_of(log, "replaced damaged segment") > 0u);
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit()) == 0);
}

namespace {
const int kRestartDamage[] = {0, 2, 4, 5, 6};
}

BOOST_DATA_TEST_CASE(a_restarted_daemon_replaces_a_damaged_segment_instead_of_refusing_it,
                     boost::unit_test::data::make(kRestartDamage), kind) {
  SegmentGuard seg("damage-restart");
  TempDir dir;
  const std::string path = dir.write("app.json", config_text(seg.name(), 1));
  {
    DaemonProcess d(dir, path);
    BOOST_TEST_REQUIRE(!d.wait_notify("READY=1").empty(), d.log());
    d.signal(SIGTERM);
    BOOST_TEST_REQUIRE(exit_code(d.wait_exit()) == 0);
  }
  Reader reader(seg.name());
  BOOST_TEST_REQUIRE(version_of(reader.current()) == 1);
  std::mt19937 rng(1);
  const std::string what = damage(seg.name(), kind, rng);
  BOOST_TEST_INFO(what);
  BOOST_TEST(version_of(reader.current()) == 1);  // the last good one, no SIGBUS

  dir.write("app.json", config_text(seg.name(), 2));
  DaemonProcess d(dir, path);
  BOOST_TEST_REQUIRE(!d.wait_notify("READY=1").empty(), d.log());
  BOOST_TEST(contains(d.log(), "replaced damaged segment " + shm_path(seg.name())), d.log());
  BOOST_TEST(wait_for_version(seg.name(), 2));
  // The long-lived reader follows to the replacement.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (version_of(reader.current()) != 2 && std::chrono::steady_clock::now() < deadline) {
    reader.wait_for_change(100ms);
  }
  BOOST_TEST(version_of(reader.current()) == 2);
  BOOST_TEST(reader.last_error() == "");
  d.signal(SIGTERM);
  BOOST_TEST(exit_code(d.wait_exit()) == 0);
}

namespace {

// Runs `body` in a child with a private mount namespace whose /dev/shm is a tmpfs of
// `size`: the test controls how much room is left, and everything in it is gone when the
// child and its descendants are. Exit code 77 if the namespace cannot be made.
int with_small_dev_shm(const std::string& size, const std::function<int()>& body) {
  Child child([&] {
    if (::unshare(CLONE_NEWNS) != 0) return 77;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
    const std::string options = "size=" + size + ",mode=1777";
    if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      return 77;
    }
    return body();
  });
  return exit_code(child.wait_for(120s));
}

bool can_mount_a_private_dev_shm(boost::unit_test::test_unit_id) {
  return with_small_dev_shm("1m", [] { return 0; }) == 0;
}

std::size_t shm_free() {
  struct statvfs st {};
  ::statvfs("/dev/shm", &st);
  return static_cast<std::size_t>(st.f_bavail) * st.f_frsize;
}

// Fills /dev/shm until `leave` bytes are free.
bool fill_dev_shm_leaving(std::size_t leave) {
  const int fd = ::open("/dev/shm/filler", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  struct stat st {};
  ::fstat(fd, &st);
  const std::size_t target = static_cast<std::size_t>(st.st_size) + shm_free() - leave;
  const bool ok =
      ::ftruncate(fd, 0) == 0 && ::posix_fallocate(fd, 0, static_cast<off_t>(target)) == 0;
  ::close(fd);
  return ok;
}

// Leaves a segment whose writer died holding its lock.
bool kill_a_writer_holding_the_lock(const std::string& segment) {
  Child crasher([&] {
    test::arm_crash_point("publish:locked");
    Publisher(PublisherOptions{.segment = segment}).publish(R"({"never":1})", "crasher");
    return 0;
  });
  const int status = crasher.wait_for(30s);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace

BOOST_AUTO_TEST_CASE(recovery_without_room_in_dev_shm_still_starts_and_supervises,
                     *boost::unit_test::precondition(can_mount_a_private_dev_shm)) {
  const int code = with_small_dev_shm("10m", [] {
    SegmentGuard seg("no-room");
    TempDir dir;
    const std::string settings = R"(, "segment_size": "4MiB")";
    const std::string workers =
        R"(, "workers": [{"name": "w", "command": ["/bin/sleep", "1000"]}])";
    auto write = [&](int v) {
      return dir.write("app.json", config_text(seg.name(), v, settings, workers));
    };
    const std::string path = write(1);
    {
      DaemonProcess d(dir, path);
      EXPECT(!d.wait_notify("READY=1").empty(), 10);
      d.signal(SIGTERM);
      EXPECT(exit_code(d.wait_exit()) == 0, 11);
    }
    Reader reader(seg.name());
    EXPECT(version_of(reader.current()) == 1, 12);

    // 2 MiB free for a 4 MiB segment: the rebuilt segment takes the least size that holds
    // its generations.
    EXPECT(kill_a_writer_holding_the_lock(seg.name()), 20);
    EXPECT(fill_dev_shm_leaving(2u << 20), 21);
    write(2);
    {
      DaemonProcess d(dir, path);
      EXPECT(!d.wait_notify("READY=1").empty(), 22);
      const std::string log = d.log();
      std::fprintf(stderr, "--- 2 MiB free:\n%s", log.c_str());
      EXPECT(contains(log, "bytes instead"), 23);
      EXPECT(contains(log, "recovered segment"), 24);
      EXPECT(contains(log, "publish ok"), 25);
      EXPECT(wait_for_version(seg.name(), 2), 26);
      d.signal(SIGTERM);
      EXPECT(exit_code(d.wait_exit()) == 0, 27);
    }

    // 16 KiB free: nothing can be built. The daemon starts, supervises its worker, says how
    // much room it needs, and readers keep generation 2's config.
    EXPECT(kill_a_writer_holding_the_lock(seg.name()), 30);
    EXPECT(fill_dev_shm_leaving(16u << 10), 31);
    write(3);
    DaemonProcess d(dir, path);
    EXPECT(!d.wait_notify("READY=1").empty(), 32);
    std::string log = d.log();
    std::fprintf(stderr, "--- 16 KiB free:\n%s", log.c_str());
    EXPECT(contains(log, "unable to recover segment " + shm_path(seg.name())), 33);
    EXPECT(contains(log, "bytes of /dev/shm/, "), 34);
    EXPECT(contains(log, "publish failed: generation"), 35);
    EXPECT(contains(log, "started"), 36);  // the worker runs
    EXPECT(version_of(reader.current()) == 2 && fresh_version(seg.name()) == 2, 37);

    // Room again: the next reload recovers and publishes.
    EXPECT(::unlink("/dev/shm/filler") == 0, 40);
    d.signal(SIGHUP);
    EXPECT(wait_for_version(seg.name(), 3), 41);
    log = d.log();
    EXPECT(contains(log, "recovered segment"), 42);
    EXPECT(version_of(reader.current()) == 3 || reader.wait_for_change(10s), 43);
    EXPECT(version_of(reader.current()) == 3, 44);
    d.signal(SIGTERM);
    EXPECT(exit_code(d.wait_exit()) == 0, 45);
    return 0;
  });
  BOOST_TEST(code == 0);
}
