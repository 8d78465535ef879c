// The tools as a user runs them: confvisorctl, confvisor-example-worker and a plain-C consumer,
// executed as real processes against real segments.
#define BOOST_TEST_MODULE tools
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/publish/publisher.hpp"
#include "confvisor/worker.hpp"
#include "tests/support/process_wait.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using confvisor::test::bin;
using confvisor::test::Child;
using confvisor::test::contains;
using confvisor::test::exit_code;
using confvisor::test::run;
using confvisor::test::SegmentGuard;
namespace fs = std::filesystem;

namespace {

constexpr const char* kConfig =
    R"({"database":{"host":"db1","port":5432},"list":[1,"two",3.5],"on":true,"name":"demo"})";

std::string ctl() {
  return bin("confvisorctl");
}
std::string worker() {
  return bin("confvisor-example-worker");
}

// A file in a fresh temporary directory, removed with the directory.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content)
      : dir_(fs::temp_directory_path() / confvisor::test::unique_segment("tools")),
        path_(dir_ / name) {
    fs::create_directories(dir_);
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
  fs::path path_;
};

// A segment with kConfig published as generation 1 by this process.
struct Published {
  SegmentGuard seg{"tools"};
  Publisher pub{{.segment = seg.name()}};
  std::uint64_t generation = pub.publish(kConfig, "/etc/confvisor/demo.json");
};

// Independent of confvisorctl's formatting: put_time plus the milliseconds.
std::string iso8601(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
      << ms % 1000 << 'Z';
  return out.str();
}

// The read end of a pipe whose write end a child gets as stdout; lines read with a deadline.
class OutputPipe {
 public:
  OutputPipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~OutputPipe() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  OutputPipe(const OutputPipe&) = delete;
  OutputPipe& operator=(const OutputPipe&) = delete;

  // Starts argv[0] with its stdout on the pipe (stderr stays the test's, for diagnostics).
  Child spawn(const std::vector<std::string>& argv) {
    Child child([&] {
      ::dup2(fds_[1], STDOUT_FILENO);
      std::vector<char*> cargv;
      for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      return 127;
    });
    ::close(fds_[1]);  // so that the child's exit is our end of file
    fds_[1] = -1;
    return child;
  }

  // The next line without its newline; "" at end of file or when `timeout` passes.
  std::string line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string out = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return out;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n == 0) return "";
      if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fds_[2] = {-1, -1};
  std::string buffer_;
};

}  // namespace

// ---- confvisorctl get ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(get_prints_objects_arrays_scalars_and_the_document_as_compact_json) {
  Published p;
  auto get = [&](const std::string& pointer) {
    return run({ctl(), "get", pointer, "--segment", p.seg.name()});
  };
  auto object = get("/database");
  BOOST_TEST(object.exit_code() == 0);
  BOOST_TEST(object.output == "{\"host\":\"db1\",\"port\":5432}\n");
  auto array = get("/list");
  BOOST_TEST(array.exit_code() == 0);
  BOOST_TEST(array.output == "[1,\"two\",3.5E0]\n");
  BOOST_TEST(get("/database/port").output == "5432\n");
  BOOST_TEST(get("/database/host").output == "\"db1\"\n");
  BOOST_TEST(get("/list/1").output == "\"two\"\n");
  BOOST_TEST(get("/on").output == "true\n");
  auto whole = get("");
  BOOST_TEST(whole.exit_code() == 0);
  BOOST_TEST(boost::json::parse(whole.output) == boost::json::parse(kConfig));
  BOOST_TEST(whole.output == std::string(Reader(p.seg.name()).current().text()) + "\n");
}

BOOST_AUTO_TEST_CASE(get_takes_the_segment_from_CONFVISOR_SEGMENT) {
  Published p;
  auto r = run({ctl(), "get", "/database/port"}, {"CONFVISOR_SEGMENT=" + p.seg.name()});
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.output == "5432\n");
}

BOOST_AUTO_TEST_CASE(get_of_a_missing_pointer_exits_1_naming_the_pointer) {
  Published p;
  auto r = run({ctl(), "get", "/database/user", "--segment", p.seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(r.output, "/database/user"));
  BOOST_TEST(contains(r.output, "not found"));
  BOOST_TEST(std::count(r.output.begin(), r.output.end(), '\n') == 1);  // one line
}

BOOST_AUTO_TEST_CASE(get_of_an_invalid_pointer_exits_1_saying_it_is_invalid) {
  Published p;
  auto r = run({ctl(), "get", "database", "--segment", p.seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with("confvisorctl: invalid JSON pointer \"database\""));
}

BOOST_AUTO_TEST_CASE(get_on_a_missing_segment_exits_1) {
  const std::string name = confvisor::test::unique_segment("absent");
  auto r = run({ctl(), "get", "/a", "--segment", name});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(r.output, name));
  BOOST_TEST(contains(r.output, "does not exist"));
}

BOOST_AUTO_TEST_CASE(get_before_anything_is_published_exits_1) {
  SegmentGuard seg("empty");
  Publisher pub({.segment = seg.name()});
  auto r = run({ctl(), "get", "", "--segment", seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(r.output, "no published generation"));
}

// ---- confvisorctl show ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(show_prints_an_aligned_table_of_the_current_generation) {
  Published p;
  p.pub.publish(kConfig, "/etc/confvisor/second.json");
  const Snapshot snap = Reader(p.seg.name()).current();
  auto r = run({ctl(), "show", "--segment", p.seg.name()});
  BOOST_TEST_REQUIRE(r.exit_code() == 0);

  std::vector<std::string> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  BOOST_TEST_REQUIRE(lines.size() == 5u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"generation", "2"},
      {"size", std::to_string(snap.text().size()) + " bytes"},
      {"published at", iso8601(snap.published_at())},
      {"publisher pid", std::to_string(::getpid())},
      {"source", "/etc/confvisor/second.json"}};
  const std::size_t column = lines[0].find('2');  // where the values start
  for (std::size_t i = 0; i < lines.size(); ++i) {
    BOOST_TEST_CONTEXT("line " << lines[i]) {
      BOOST_TEST(lines[i].starts_with(expected[i].first + " "));
      BOOST_TEST(lines[i].substr(column) == expected[i].second);  // aligned
      BOOST_TEST(lines[i].find_first_not_of(' ', expected[i].first.size()) == column);
    }
  }
}

BOOST_AUTO_TEST_CASE(show_json_prints_exactly_the_five_keys) {
  Published p;
  const Snapshot snap = Reader(p.seg.name()).current();
  auto r = run({ctl(), "show", "--segment", p.seg.name(), "--json"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0);
  BOOST_TEST(r.output.ends_with("}\n"));
  const boost::json::value parsed = boost::json::parse(r.output);
  BOOST_TEST_REQUIRE(parsed.is_object());
  const boost::json::object& o = parsed.get_object();
  BOOST_TEST(o.size() == 5u);
  BOOST_TEST(o.at("generation").to_number<std::uint64_t>() == 1u);
  BOOST_TEST(o.at("size").to_number<std::uint64_t>() == snap.text().size());
  BOOST_TEST(o.at("published_at").as_string() == iso8601(snap.published_at()));
  BOOST_TEST(o.at("publisher_pid").to_number<std::int64_t>() == ::getpid());
  BOOST_TEST(o.at("source").as_string() == "/etc/confvisor/demo.json");
  // The ISO string is UTC with milliseconds: 2026-11-23T16:41:57.123Z
  const std::string iso(o.at("published_at").as_string());
  BOOST_TEST(iso.size() == 24u);
  BOOST_TEST(iso[10] == 'T');
  BOOST_TEST(iso[19] == '.');
  BOOST_TEST(iso.back() == 'Z');
}

BOOST_AUTO_TEST_CASE(show_on_a_missing_or_empty_segment_exits_1) {
  auto missing = run({ctl(), "show", "--segment", confvisor::test::unique_segment("absent")});
  BOOST_TEST(missing.exit_code() == 1);
  BOOST_TEST(missing.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(missing.output, "does not exist"));

  SegmentGuard seg("empty");
  Publisher pub({.segment = seg.name()});
  auto empty = run({ctl(), "show", "--json", "--segment", seg.name()});
  BOOST_TEST(empty.exit_code() == 1);
  BOOST_TEST(empty.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(empty.output, "no published generation"));
}

// ---- confvisorctl publish ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(publish_accepts_comments_and_trailing_commas) {
  SegmentGuard seg("publish");
  TempFile file("demo.json", R"({
  // the database this service uses
  "database": {"host": "db1", "port": 5432,},
  /* several */ "list": [1, 2, 3,],
})");
  auto r = run({ctl(), "publish", file.path(), "--segment", seg.name()});
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.output == "published generation 1 from " + file.path() + "\n");

  Reader reader(seg.name());
  const Snapshot& snap = reader.current();
  BOOST_TEST(snap.generation() == 1u);
  BOOST_TEST(snap.text() == R"({"database":{"host":"db1","port":5432},"list":[1,2,3]})");
  BOOST_TEST(snap.source() == file.path());

  auto again = run({ctl(), "publish", file.path(), "--segment", seg.name()});
  BOOST_TEST(again.output == "published generation 2 from " + file.path() + "\n");
  BOOST_TEST(reader.current().generation() == 2u);
}

BOOST_AUTO_TEST_CASE(publish_records_the_absolute_path_of_a_relative_file) {
  SegmentGuard seg("relative");
  TempFile file("rel.json", R"({"a": 1})");
  auto r = run({"/bin/sh", "-c",
                "cd '" + file.dir() + "' && exec '" + ctl() + "' publish ./rel.json --segment " +
                    seg.name()});
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.output == "published generation 1 from " + file.path() + "\n");
  BOOST_TEST(Reader(seg.name()).current().source() == file.path());
}

BOOST_AUTO_TEST_CASE(publish_creates_the_segment_with_the_given_mode) {
  SegmentGuard seg("mode");
  TempFile file("m.json", "[]");
  auto r = run(
      {ctl(), "publish", file.path(), "--segment", seg.name(), "--mode", "0600", "--history", "2"});
  BOOST_TEST_REQUIRE(r.exit_code() == 0);
  const auto perms = fs::status("/dev/shm/confvisor." + seg.name()).permissions();
  BOOST_TEST(static_cast<unsigned>(perms & fs::perms::all) == 0600u);

  auto bad_history =
      run({ctl(), "publish", file.path(), "--segment", seg.name(), "--history", "0"});
  BOOST_TEST(bad_history.exit_code() == 1);
  BOOST_TEST(contains(bad_history.output, "history"));
}

BOOST_AUTO_TEST_CASE(publish_of_a_broken_file_reports_file_line_col_and_publishes_nothing) {
  SegmentGuard seg("broken");
  // Line 3, column 8 is the ']'.
  TempFile file("broken.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
  auto r = run({ctl(), "publish", file.path(), "--segment", seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with(file.path() + ":3:8: "));
  BOOST_TEST(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  BOOST_TEST(!fs::exists("/dev/shm/confvisor." + seg.name()));  // not even created

  // A document cut short fails at the end of the file.
  TempFile cut("cut.json", "{\n  \"a\": [1,\n");
  auto r2 = run({ctl(), "publish", cut.path(), "--segment", seg.name()});
  BOOST_TEST(r2.exit_code() == 1);
  BOOST_TEST(r2.output.starts_with(cut.path() + ":3:1: "));

  // Anything after the document is an error where it starts.
  TempFile extra("extra.json", "{\"a\": 1}\n  x\n");
  auto r3 = run({ctl(), "publish", extra.path(), "--segment", seg.name()});
  BOOST_TEST(r3.exit_code() == 1);
  BOOST_TEST(r3.output.starts_with(extra.path() + ":2:3: "));
}

BOOST_AUTO_TEST_CASE(publish_of_a_broken_file_keeps_the_current_generation) {
  Published p;
  TempFile file("broken.json", "{\"a\": tru}");
  auto r = run({ctl(), "publish", file.path(), "--segment", p.seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(contains(r.output, file.path() + ":1:"));
  BOOST_TEST(Reader(p.seg.name()).current().generation() == 1u);
}

BOOST_AUTO_TEST_CASE(publish_of_a_missing_file_exits_1) {
  SegmentGuard seg("nofile");
  auto r = run({ctl(), "publish", "/nonexistent/confvisor.json", "--segment", seg.name()});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.output.starts_with("confvisorctl: "));
  BOOST_TEST(contains(r.output, "/nonexistent/confvisor.json"));
}

// ---- confvisorctl usage --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_and_help_exits_0) {
  ::unsetenv("CONFVISOR_SEGMENT");  // the children inherit our environment
  const std::string s = confvisor::test::unique_segment("usage");
  const std::vector<std::vector<std::string>> cases = {
      {ctl()},                                                        // no command
      {ctl(), "frobnicate", "--segment", s},                          // unknown command
      {ctl(), "get", "--segment", s},                                 // missing POINTER
      {ctl(), "get", "/a", "/b", "--segment", s},                     // one too many
      {ctl(), "publish", "--segment", s},                             // missing FILE
      {ctl(), "show", "--segment", s, "--bogus"},                     // unknown option
      {ctl(), "show", "--segment"},                                   // option without its value
      {ctl(), "show"},                                                // no segment at all
      {ctl(), "get", "/a", "--json", "--segment", s},                 // option of another command
      {ctl(), "publish", "f", "--mode", "9", "--segment", s},         // not octal
      {ctl(), "restart", "api:x"},                                    // instance not a number
      {ctl(), "restart", ":1"},                                       // no worker name
      {ctl(), "rollback", "seven", "--socket", "/nonexistent.sock"},  // not a generation
      {ctl(), "status", "--socket", "a.sock", "--config", "b.json"},  // two ways to one daemon
      {ctl(), "status", "--segment", s},       // status asks the daemon, not a segment
      {ctl(), "status", "--timeout", "soon"},  // not a duration
  };
  for (const auto& argv : cases) {
    auto r = run(argv);
    BOOST_TEST_CONTEXT("argv[1..] size " << argv.size() << ": " << r.output) {
      BOOST_TEST(r.exit_code() == 2);
      BOOST_TEST(r.output.starts_with("confvisorctl: "));
      // One line and where the help is, not the whole help.
      BOOST_TEST(r.output.ends_with(" (see confvisorctl --help)\n"));
      BOOST_TEST(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    }
  }
  auto version = run({ctl(), "--version"});
  BOOST_TEST(version.exit_code() == 0);
  BOOST_TEST(version.output.starts_with("confvisorctl "), version.output);
  BOOST_TEST(contains(version.output, "."), version.output);
  auto help = run({ctl(), "--help"});
  BOOST_TEST(help.exit_code() == 0);
  for (const char* command : {"status", "reload", "start|stop|restart NAME[:INSTANCE]", "history",
                              "rollback GENERATION", "get POINTER", "show --segment NAME",
                              "publish FILE", "remove --segment NAME", "--version"}) {
    BOOST_TEST(contains(help.output, command), command);
  }
  BOOST_TEST(contains(help.output, "--segment"));
}

// ---- the C consumer ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(c_consumer_reads_the_live_segment_through_the_c_api) {
  Published p;
  auto r = run({CONFVISOR_C_CONSUMER, p.seg.name()});
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.output == "generation=1 port=5432\n");

  p.pub.publish(R"({"database":{"port":6543}})", "b");
  BOOST_TEST(run({CONFVISOR_C_CONSUMER, p.seg.name()}).output == "generation=2 port=6543\n");

  p.pub.publish(R"({"database":{}})", "c");
  auto missing = run({CONFVISOR_C_CONSUMER, p.seg.name()});
  BOOST_TEST(missing.exit_code() == 1);
  BOOST_TEST(contains(missing.output, "/database/port"));
}

BOOST_AUTO_TEST_CASE(c_consumer_on_a_missing_segment_exits_1_with_the_error) {
  const std::string name = confvisor::test::unique_segment("absent");
  auto r = run({CONFVISOR_C_CONSUMER, name});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(contains(r.output, name));
  BOOST_TEST(contains(r.output, "does not exist"));
}

// ---- the example worker --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(example_worker_prints_the_current_generation_then_each_new_one) {
  Published p;
  OutputPipe out;
  Child child = out.spawn({worker(), "--segment", p.seg.name(), "--exit-after", "1",
                           "/database/port", "/database/user", "/list"});
  BOOST_TEST(out.line() == "generation 1: /database/port = 5432");
  BOOST_TEST(out.line() == "generation 1: /database/user missing");
  BOOST_TEST(out.line() == "generation 1: /list = [1,\"two\",3.5E0]");

  // The worker printed, so it is subscribed: this publish is a change it must see.
  p.pub.publish(R"({"database":{"port":6543,"user":"app"}})", "b");
  BOOST_TEST(out.line() == "generation 2: /database/port = 6543");
  BOOST_TEST(out.line() == "generation 2: /database/user = \"app\"");
  BOOST_TEST(out.line() == "generation 2: /list missing");
  BOOST_TEST(exit_code(child.wait_for(std::chrono::seconds(10))) == 0);  // after 1 change
  BOOST_TEST(out.line(std::chrono::milliseconds(100)) == "");            // and nothing else
}

BOOST_AUTO_TEST_CASE(example_worker_prints_the_whole_document_by_default) {
  Published p;
  auto r = run({worker(), "--once"}, {"CONFVISOR_SEGMENT=" + p.seg.name()});
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.output ==
             "generation 1:  = " + std::string(Reader(p.seg.name()).current().text()) + "\n");
}

BOOST_AUTO_TEST_CASE(example_worker_exits_0_on_sigterm_and_sigint) {
  Published p;
  for (int sig : {SIGTERM, SIGINT}) {
    OutputPipe out;
    Child child = out.spawn({worker(), "--segment", p.seg.name(), "/name"});
    BOOST_TEST_REQUIRE(out.line() == "generation 1: /name = \"demo\"");
    // Child has no signal method; this is the test's own child, reaped by wait_for.
    ::kill(child.pid(), sig);
    BOOST_TEST(exit_code(child.wait_for(std::chrono::seconds(10))) == 0);
  }
}

BOOST_AUTO_TEST_CASE(example_worker_on_a_missing_segment_exits_1) {
  auto r = run({worker(), "--segment", confvisor::test::unique_segment("absent"), "--once"});
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(contains(r.output, "does not exist"));
}
