// confvisor-stress: the faults an operator meets in production, many times over, against the
// real binaries, and a count of everything that went wrong.
//
//   confvisor-stress [--kills N] [--truncations N] [--fifos N] [--lock-holders N]
//                    [--readers N] [--seed S] [--overwrite] [--full]
//
// Each round is one fault, chosen by the options:
// - kill: a daemon that supervises five kinds of process tree (an sh wrapper, a double fork,
//   setsid, a fork tree, a child that wipes its environment) takes a burst of SIGHUPs and is
//   SIGKILLed at a random moment; the next daemon must be ready with nothing of the old trees
//   alive and exactly one copy of each worker;
// - truncation: the segment object is truncated or overwritten at a random moment around a
//   reload; readers must not die and the daemon must go on publishing;
// - fifo: the config path becomes a FIFO and the daemon is told to reload;
// - lock holder: a process takes the segment's writer lock and stops itself (as a Ctrl-Z'd
//   `confvisorctl publish` would) while the daemon is told to reload.
// Throughout, reader processes check every generation they see for tearing and order, and
// after every fault the daemon must answer a status request within a second.
//
// It prints one line per figure and exits 1 if any of them is not 0. The figures are a
// stress program's, not a benchmark's: they count failures, they do not time anything.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "common/segment/layout.hpp"
#include "common/segment/name.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/numbered_config.hpp"
#include "tests/support/proc_scan.hpp"
#include "tests/support/test_support.hpp"

using namespace confvisor;
using namespace confvisor::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Options {
  int kills = 100;
  int truncations = 20;
  int fifos = 5;
  int lock_holders = 3;
  int readers = 6;
  unsigned seed = 0;
  bool overwrite = false;
};

// What the reader processes count, in memory they share with this process.
struct ReaderCounters {
  std::atomic<std::uint64_t> reads;
  std::atomic<std::uint64_t> torn;
  std::atomic<std::uint64_t> backwards;
  std::atomic<std::uint64_t> errors;
  std::atomic<bool> stop;
};

struct Figures {
  std::uint64_t survivors = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t sigbus = 0;
  std::uint64_t reader_deaths = 0;  // readers that died of anything else
  std::uint64_t freezes = 0;
  std::uint64_t failed_recoveries = 0;  // a daemon that did not become ready
  std::uint64_t unpublished = 0;        // a valid reload that readers never saw
  std::uint64_t reloads = 0;
};

void say(const std::string& line) {
  std::cout << "stress: " << line << std::endl;
}

// ---------------------------------------------------------------------------------------
// Worker trees. Every process of a tree carries this run's marker in its command line, so
// it is found whatever it did to its environment or its session.

struct TreeProcess {
  pid_t pid;
  unsigned long long start_time;  // field 22 of /proc/PID/stat: tells a reused pid apart
  bool operator<(const TreeProcess& o) const {
    return pid < o.pid || (pid == o.pid && start_time < o.start_time);
  }
};

std::optional<unsigned long long> start_time(pid_t pid) {
  const std::string stat = proc_file(pid, "stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After ") " come fields 3, 4, ...; the start time is field 22.
  std::size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = stat.find(' ', pos);
    if (pos == std::string::npos) return std::nullopt;
    ++pos;
  }
  return std::strtoull(stat.c_str() + pos, nullptr, 10);
}

class Trees {
 public:
  explicit Trees(unsigned long marker) : marker_(std::to_string(marker)) {}

  // A sleep argument unique to this run and to one place in the trees.
  [[nodiscard]] std::string sleep_arg(int place) const {
    return marker_ + std::to_string(10 + place);
  }

  // The workers of the config: name, the sh script, and how many sleeps of each place one
  // instance runs once its tree is up.
  struct Worker {
    std::string name;
    std::string script;
    unsigned instances;
    std::map<std::string, unsigned> sleeps;
  };

  [[nodiscard]] std::vector<Worker> workers() const {
    const std::string s = "/bin/sleep ";
    std::string fork_tree = "for i in $(seq 20); do " + s + sleep_arg(6) + " & done; wait";
    return {
        {"wrap", s + sleep_arg(1) + "; :", 2, {{sleep_arg(1), 1}}},
        {"double",
         "sh -c '" + s + sleep_arg(2) + " &'; exec " + s + sleep_arg(3),
         1,
         {{sleep_arg(2), 1}, {sleep_arg(3), 1}}},
        {"session",
         "setsid " + s + sleep_arg(4) + " & exec " + s + sleep_arg(5),
         1,
         {{sleep_arg(4), 1}, {sleep_arg(5), 1}}},
        {"tree", fork_tree, 1, {{sleep_arg(6), 20}}},
        {"wiped",
         "env -i " + s + sleep_arg(7) + " & exec " + s + sleep_arg(8),
         1,
         {{sleep_arg(7), 1}, {sleep_arg(8), 1}}},
    };
  }

  [[nodiscard]] std::string workers_json() const {
    std::string out = "[";
    for (const Worker& w : workers()) {
      if (out.size() > 1) out += ",";
      out +=
          R"({"name":")" + w.name + R"(","command":["/bin/sh","-c",")" + w.script +
          R"("],"instances":)" + std::to_string(w.instances) +
          R"(,"start_window":"20ms","stop_timeout":"2s","backoff":{"initial":"0ms","max":"50ms"},"restart_limit":{"count":1000,"period":"1s"}})";
    }
    return out + "]";
  }

  // How many sleeps of each place should run once every tree is up.
  [[nodiscard]] std::map<std::string, unsigned> expected() const {
    std::map<std::string, unsigned> out;
    for (const Worker& w : workers()) {
      for (const auto& [arg, n] : w.sleeps) out[arg] += n * w.instances;
    }
    return out;
  }

  // Every live process of the trees, whatever its kind.
  [[nodiscard]] std::set<TreeProcess> live() const {
    std::set<TreeProcess> out;
    for (pid_t pid : all_pids()) {
      if (pid == ::getpid() || proc_cmdline(pid).find(marker_) == std::string::npos) continue;
      auto st = start_time(pid);
      if (st && alive(pid)) out.insert({pid, *st});
    }
    return out;
  }

  // Live sleeps by place.
  [[nodiscard]] std::map<std::string, unsigned> sleeps() const {
    std::map<std::string, unsigned> out;
    for (pid_t pid : all_pids()) {
      std::string cmd = proc_cmdline(pid);
      if (cmd.rfind("/bin/sleep " + marker_, 0) != 0 || !alive(pid)) continue;
      ++out[cmd.substr(std::strlen("/bin/sleep "))];
    }
    return out;
  }

  // The processes of `before` that are still alive.
  [[nodiscard]] static std::vector<pid_t> still_alive(const std::set<TreeProcess>& before) {
    std::vector<pid_t> out;
    for (const TreeProcess& p : before) {
      if (alive(p.pid) && start_time(p.pid) == p.start_time) out.push_back(p.pid);
    }
    return out;
  }

  void kill_all() const {
    for (const TreeProcess& p : live()) ::kill(p.pid, SIGKILL);
  }

 private:
  std::string marker_;
};

// ---------------------------------------------------------------------------------------
// Reader processes: each waits for every change and checks the whole generation.

class ReaderProcess {
 public:
  ReaderProcess(const std::string& segment, const Numbered& numbered, ReaderCounters& counters) {
    pid_ = ::fork();
    if (pid_ == 0) ::_exit(body(segment, numbered, counters));
  }
  ~ReaderProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ReaderProcess(const ReaderProcess&) = delete;
  ReaderProcess& operator=(const ReaderProcess&) = delete;

  // The wait status if the reader has exited (it is then reaped), else nullopt.
  std::optional<int> exited() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return status;
  }

  // Asks the reader to stop (through the counters' flag) and waits for it.
  std::optional<int> join() {
    int status = 0;
    if (pid_ <= 0) return std::nullopt;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

 private:
  static int body(const std::string& segment, const Numbered& numbered, ReaderCounters& c) {
    std::optional<Reader> reader;
    while (!reader && !c.stop.load()) {
      try {
        reader.emplace(segment);
      } catch (const Error&) {
        std::this_thread::sleep_for(5ms);
      }
    }
    std::int64_t last_k = 0;
    while (!c.stop.load()) {
      try {
        const Snapshot& snap = reader->current();
        c.reads.fetch_add(1);
        if (!numbered.whole(snap)) {
          c.torn.fetch_add(1);
        } else {
          const std::int64_t k = snap.get<std::int64_t>("/k");
          if (k < last_k) c.backwards.fetch_add(1);
          last_k = k;
        }
      } catch (const Error&) {
        c.errors.fetch_add(1);
      }
      reader->wait_for_change(100ms);
    }
    return 0;
  }

  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------
// The daemon's control socket, spoken directly: a status request must be answered within
// `bound`, or the daemon is frozen.

bool status_answers(const std::string& socket_path, std::chrono::milliseconds bound) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    return false;
  }
  const std::string request = "{\"version\":1,\"command\":\"status\"}\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + bound;
  std::string reply;
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  return reply.find("\"ok\":true") != std::string::npos;
}

// ---------------------------------------------------------------------------------------
// A stuck writer: a child that takes the segment's writer lock and stops itself, as an
// operator's Ctrl-Z'd `confvisorctl publish` would.

class LockHolder {
 public:
  explicit LockHolder(const std::string& segment) {
    const std::string path = SegmentNames(segment).path;
    pid_ = ::fork();
    if (pid_ == 0) ::_exit(hold(path));
    int status = 0;
    ::waitpid(pid_, &status, WUNTRACED);
    holding_ = WIFSTOPPED(status);
    if (!holding_) pid_ = -1;  // reaped: it could not take the lock
  }
  ~LockHolder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;
  [[nodiscard]] bool holding() const { return holding_; }

 private:
  static int hold(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return 1;
    void* p = ::mmap(nullptr, kHeaderReserve, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return 1;
    auto* header = static_cast<SegmentHeader*>(p);
    if (header->magic != kSegmentMagic) return 1;
    try {
      header->writer_mutex.lock();
    } catch (...) {
      return 1;
    }
    ::raise(SIGSTOP);
    return 0;
  }

  pid_t pid_ = -1;
  bool holding_ = false;
};

// ---------------------------------------------------------------------------------------

class Stress {
 public:
  explicit Stress(const Options& o)
      : options_(o),
        rng_(o.seed),
        trees_(static_cast<unsigned long>(::getpid()) * 100 + 7),
        counters_(static_cast<ReaderCounters*>(::mmap(nullptr, sizeof(ReaderCounters),
                                                      PROT_READ | PROT_WRITE,
                                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0))) {
    new (counters_) ReaderCounters{};
  }
  ~Stress() {
    counters_->stop.store(true);
    readers_.clear();
    daemon_.reset();
    trees_.kill_all();
    ::munmap(counters_, sizeof(ReaderCounters));
  }

  int run() {
    const auto began = std::chrono::steady_clock::now();
    write_config();
    start_daemon();
    for (int i = 0; i < options_.readers; ++i) readers_.push_back(start_reader());
    for (int i = 0; i < options_.kills; ++i) kill_round();
    for (int i = 0; i < options_.truncations; ++i) truncation_round(i);
    for (int i = 0; i < options_.fifos; ++i) fifo_round();
    for (int i = 0; i < options_.lock_holders; ++i) lock_holder_round();
    stop_daemon();
    stop_readers();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    return report(seconds);
  }

 private:
  // --- the config -------------------------------------------------------------------

  void write_config() {
    const std::string settings = R"(,"confvisor":{"segment":")" + seg_.name() + R"(","socket":")" +
                                 socket_path() + R"(","workers":)" + trees_.workers_json() + "}";
    dir_.write("app.json", numbered_.config(++k_, settings));
  }
  [[nodiscard]] std::string config_path() const { return dir_.path() + "/app.json"; }
  [[nodiscard]] std::string socket_path() const { return dir_.path() + "/ctl.sock"; }

  // Writes the next config and tells the daemon.
  void reload() {
    // A service manager always reads its socket, as here: the daemon drops notifications
    // that do not fit in a full queue.
    daemon_->drain_notifications();
    write_config();
    daemon_->signal(SIGHUP);
    ++figures_.reloads;
  }

  // Whether a fresh reader process sees generation content k_ within `bound`.
  bool published(std::chrono::milliseconds bound) {
    const std::int64_t want = k_;
    Child check([&] {
      const auto deadline = std::chrono::steady_clock::now() + bound;
      while (std::chrono::steady_clock::now() < deadline) {
        try {
          Reader reader(seg_.name());
          while (std::chrono::steady_clock::now() < deadline) {
            const Snapshot& snap = reader.current();
            if (numbered_.whole(snap) && snap.get<std::int64_t>("/k") == want) return 0;
            reader.wait_for_change(50ms);
          }
        } catch (const Error&) {
          std::this_thread::sleep_for(20ms);
        }
      }
      return 1;
    });
    const int status = check.wait_for(bound + 2s);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) ++figures_.sigbus;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  void expect_published(const std::string& after) {
    if (!published(10s)) {
      ++figures_.unpublished;
      say("after " + after + ": generation with k=" + std::to_string(k_) + " never became visible");
    }
  }

  void expect_answering(const std::string& during) {
    daemon_->drain_notifications();
    if (!status_answers(socket_path(), 1s)) {
      ++figures_.freezes;
      say("during " + during + ": status not answered within 1 s");
    }
  }

  // --- the daemon -------------------------------------------------------------------

  void start_daemon() {
    daemon_.emplace(dir_, config_path());
    if (daemon_->wait_notify("READY=1", 20s).empty()) {
      ++figures_.failed_recoveries;
      say("a daemon did not become ready; its log:\n" + daemon_->log());
    }
  }

  void stop_daemon() {
    daemon_->drain_notifications();
    daemon_->signal(SIGTERM);
    const auto began = std::chrono::steady_clock::now();
    const int status = daemon_->wait_exit(20s);
    if (std::chrono::steady_clock::now() - began > 15s || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      ++figures_.freezes;
      say("SIGTERM did not end the daemon cleanly (status " + std::to_string(status) + ")");
    }
    daemon_.reset();
  }

  // Waits until every tree is up; counts places with more sleeps than expected.
  void check_one_copy_each() {
    const auto want = trees_.expected();
    std::map<std::string, unsigned> have;
    for (int i = 0; i < 200; ++i) {
      have = trees_.sleeps();
      if (have == want) return;
      bool over = false;
      for (const auto& [arg, n] : have) over = over || n > want.at(arg);
      if (over) break;
      std::this_thread::sleep_for(10ms);
    }
    for (const auto& [arg, n] : have) {
      if (n > want.at(arg)) {
        figures_.duplicates += n - want.at(arg);
        say("sleep " + arg + ": " + std::to_string(n) + " copies, expected " +
            std::to_string(want.at(arg)));
      }
    }
  }

  void kill_round() {
    check_one_copy_each();
    const int burst = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < burst; ++i) reload();
    std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 3000));
    const std::set<TreeProcess> before = trees_.live();
    daemon_->signal(SIGKILL);
    daemon_->wait_exit();
    daemon_.reset();
    start_daemon();
    const std::vector<pid_t> left = Trees::still_alive(before);
    if (!left.empty()) {
      figures_.survivors += left.size();
      if (figures_.survivors == left.size())
        say("survivors of a killed daemon: " + describe_pids(left));
      for (pid_t pid : left) ::kill(pid, SIGKILL);  // so they do not pile up over the rounds
    }
    reap_readers();
  }

  // --- segment damage ---------------------------------------------------------------

  void damage_segment(int round) {
    const std::string path = SegmentNames(seg_.name()).path;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // Overwrites alternate with truncations only with --overwrite: 4 KiB of garbage at a
    // random offset can land in the segment allocator's own structures, which the daemon does
    // not check yet, and then it dies on its next publish (a known gap; see RESULTS.md).
    if (!options_.overwrite || round % 2 == 0) {
      const std::uint64_t sizes[] = {0, 4096, size / 2,
                                     size > 4096 ? 4096 + rng_() % (size - 4096) : 0};
      if (::ftruncate(fd.get(), static_cast<off_t>(sizes[rng_() % 4])) != 0) return;
    } else {
      // Garbage over the published records, past the header.
      std::vector<char> garbage(4096);
      for (char& c : garbage) c = static_cast<char>(rng_());
      const std::uint64_t at = size > 8192 ? 4096 + rng_() % (size - 8192) : 4096;
      if (::pwrite(fd.get(), garbage.data(), garbage.size(), static_cast<off_t>(at)) < 0) return;
    }
  }

  void truncation_round(int round) {
    reload();
    std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 2000));
    damage_segment(round);
    reload();
    expect_answering("segment damage");
    expect_published("segment damage");
    if (!alive(daemon_->pid())) {
      ++figures_.failed_recoveries;
      say("the daemon died after segment damage; its log:\n" + daemon_->log());
      start_daemon();
    }
    reap_readers();
  }

  // --- a FIFO as the config -----------------------------------------------------------

  void fifo_round() {
    const std::string kept = dir_.path() + "/app.json.kept";
    fs::rename(config_path(), kept);
    ::mkfifo(config_path().c_str(), 0600);
    daemon_->signal(SIGHUP);
    std::this_thread::sleep_for(20ms);
    expect_answering("a reload of a FIFO");
    // A daemon stuck in open() of the FIFO is released by a writer.
    int w = ::open(config_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) ::close(w);
    fs::remove(config_path());
    fs::rename(kept, config_path());
    reload();
    expect_published("a reload of a FIFO");
  }

  // --- a stuck writer ---------------------------------------------------------------

  void lock_holder_round() {
    {
      LockHolder holder(seg_.name());
      if (!holder.holding()) {
        say("could not take the writer lock for the stuck-writer round");
        return;
      }
      reload();
      std::this_thread::sleep_for(50ms);
      expect_answering("a stuck writer");
      // A worker killed meanwhile must be replaced.
      const auto before = trees_.sleeps();
      for (pid_t pid : all_pids()) {
        if (proc_cmdline(pid) == "/bin/sleep " + trees_.sleep_arg(5)) ::kill(pid, SIGKILL);
      }
      bool replaced = false;
      for (int i = 0; i < 100 && !replaced; ++i) {
        std::this_thread::sleep_for(20ms);
        replaced = trees_.sleeps() == before;
      }
      if (!replaced) {
        ++figures_.freezes;
        say("during a stuck writer: a killed worker was not restarted within 2 s");
      }
    }  // the holder dies here, still holding the lock
    expect_published("a stuck writer died");
  }

  // --- readers ----------------------------------------------------------------------

  std::unique_ptr<ReaderProcess> start_reader() {
    return std::make_unique<ReaderProcess>(seg_.name(), numbered_, *counters_);
  }

  void reap_readers() {
    for (auto& r : readers_) {
      auto status = r->exited();
      if (!status) continue;
      if (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGBUS) {
        ++figures_.sigbus;
      } else {
        ++figures_.reader_deaths;
      }
      r = start_reader();
    }
  }

  void stop_readers() {
    reap_readers();
    counters_->stop.store(true);
    for (auto& r : readers_) {
      auto status = r->join();
      if (status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGBUS) ++figures_.sigbus;
    }
    readers_.clear();
  }

  // --- the figures ------------------------------------------------------------------

  int report(double seconds) {
    std::cout << "stress: " << options_.kills << " daemon kills, " << figures_.reloads
              << " reloads, " << options_.truncations << " segment damages, " << options_.fifos
              << " FIFO reloads, " << options_.lock_holders << " stuck writers, "
              << options_.readers << " readers, " << counters_->reads.load() << " reads, seed "
              << options_.seed << ", " << static_cast<int>(seconds) << " s\n";
    const std::pair<const char*, std::uint64_t> lines[] = {
        {"torn reads", counters_->torn.load()},
        {"generations backwards", counters_->backwards.load()},
        {"survivors", figures_.survivors},
        {"duplicates", figures_.duplicates},
        {"SIGBUS", figures_.sigbus},
        {"reader deaths", figures_.reader_deaths},
        {"freezes", figures_.freezes},
        {"failed recoveries", figures_.failed_recoveries},
        {"reloads never visible", figures_.unpublished},
    };
    int failed = 0;
    for (const auto& [name, n] : lines) {
      std::cout << name << ": " << n << '\n';
      failed += n != 0 ? 1 : 0;
    }
    std::cout << (std::size(lines) - static_cast<std::size_t>(failed)) << " passed, " << failed
              << " failed" << std::endl;
    return failed == 0 ? 0 : 1;
  }

  Options options_;
  std::mt19937 rng_;
  SegmentGuard seg_{"stress"};
  TempDir dir_;
  Numbered numbered_{.base = 100, .spread = 20'000};
  std::int64_t k_ = 0;
  Trees trees_;
  ReaderCounters* counters_;
  std::vector<std::unique_ptr<ReaderProcess>> readers_;
  std::optional<DaemonProcess> daemon_;
  Figures figures_;
};

int parse_count(const char* flag, const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 0 || v > 1'000'000) {
    std::cerr << "confvisor-stress: " << flag << ": expected a count, got \"" << text << "\"\n";
    std::exit(2);
  }
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  o.seed = static_cast<unsigned>(std::random_device{}());
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--overwrite") {
      o.overwrite = true;
      continue;
    }
    if (flag == "--full") {
      o.kills = 1000;
      o.truncations = 100;
      o.fifos = 20;
      o.lock_holders = 20;
      o.readers = 8;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "confvisor-stress: unknown or incomplete option " << flag
                << "; see the comment in tests/stress/stress.cc\n";
      std::exit(2);
    }
    const char* value = argv[++i];
    if (flag == "--kills")
      o.kills = parse_count("--kills", value);
    else if (flag == "--truncations")
      o.truncations = parse_count("--truncations", value);
    else if (flag == "--fifos")
      o.fifos = parse_count("--fifos", value);
    else if (flag == "--lock-holders")
      o.lock_holders = parse_count("--lock-holders", value);
    else if (flag == "--readers")
      o.readers = parse_count("--readers", value);
    else if (flag == "--seed")
      o.seed = static_cast<unsigned>(parse_count("--seed", value));
    else {
      std::cerr << "confvisor-stress: unknown option " << flag << "\n";
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Stress(options).run();
  } catch (const std::exception& e) {
    std::cerr << "confvisor-stress: " << e.what() << '\n';
    return 1;
  }
}
