// Loading the config from a file: errors name the file, a file that cannot be read or is not
// a regular file is refused without a read that could block, and the size limits
// (max_config_size) are applied before reading and to the file itself.
#define BOOST_TEST_MODULE config_files
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/os/unique_fd.hpp"
#include "daemon/config/model.hpp"
#include "tests/support/config_documents.hpp"
#include "tests/support/daemon_process.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;

BOOST_AUTO_TEST_CASE(a_file_loads) {
  TempDir dir;
  const std::string file = dir.write("c.json", R"({"confvisor": {"segment": "t"}})");
  const LoadResult result = load_config(file, 1 << 20);
  BOOST_TEST(result.errors.empty());
  BOOST_TEST(result.config->path == file);
}

BOOST_AUTO_TEST_CASE(errors_name_the_file) {
  TempDir dir;
  const std::string file = dir.write("c.json", "{\n  \"confvisor\": 5\n}");
  BOOST_TEST(load_config(file, 1 << 20).errors ==
                 Lines{file + ": /confvisor: expected an object, got number 5"},
             boost::test_tools::per_element());
  const std::string broken = dir.write("b.json", "{\n  \"confvisor\" 5\n}");
  BOOST_TEST(load_config(broken, 1 << 20).errors == Lines{broken + ":2:15: syntax error at '5'"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unreadable_files) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing.json";
  BOOST_TEST(load_config(missing, 1 << 20).errors ==
                 Lines{missing + ": unable to read: No such file or directory"},
             boost::test_tools::per_element());
}

// The daemon reads its config on its event loop: what is not a regular file is refused
// without a read that could wait (a FIFO without a writer blocked the open itself).
BOOST_AUTO_TEST_CASE(only_a_regular_file_is_read) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.json";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string socket = dir.path() + "/socket.json";
  const UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  BOOST_TEST_REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // A pipe with data: it was read once, and it has a writer that could hold it open.
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const UniqueFd read_end(fds[0]), write_end(fds[1]);
  BOOST_TEST_REQUIRE(::write(write_end.get(), "{}", 2) == 2);
  const std::string pipe = "/proc/self/fd/" + std::to_string(read_end.get());

  ::alarm(20);  // a read that blocks fails the test instead of hanging it
  for (const auto& [path, kind] :
       std::vector<std::pair<std::string, std::string>>{{fifo, "a FIFO"},
                                                        {pipe, "a FIFO"},
                                                        {dir.path(), "a directory"},
                                                        {socket, "a socket"},
                                                        {"/dev/null", "a character device"}}) {
    BOOST_TEST(
        load_config(path, 1 << 20).errors == Lines{path + ": not a regular file (" + kind + ")"},
        boost::test_tools::per_element());
  }
  ::alarm(0);
}

BOOST_AUTO_TEST_CASE(files_larger_than_the_limit_are_refused_before_reading) {
  TempDir dir;
  const std::string file =
      dir.write("big.json", R"({"confvisor": {"segment": "t"}, "pad": "xxxxxxxxxxx"})");
  BOOST_TEST(load_config(file, 10).errors ==
                 Lines{file + ": file is 53 bytes, larger than max_config_size 10"},
             boost::test_tools::per_element());
  BOOST_TEST(load_config(file, 53).errors.empty());
}

BOOST_AUTO_TEST_CASE(a_file_larger_than_its_own_max_config_size_is_refused) {
  const std::string text = section(R"("max_config_size": 16)");
  BOOST_TEST(error_of(text) ==
             "t.json: /confvisor/max_config_size: 16 bytes is less than the size of this file (" +
                 std::to_string(text.size()) + " bytes): the next reload would refuse it");
}
