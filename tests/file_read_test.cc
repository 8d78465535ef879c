// Reading whole files (common/os): the one read loop, the daemon's reader of files it was
// told to read (refusing what could make it wait), and the reader of /proc files.
#define BOOST_TEST_MODULE file_read
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "common/os/read_to_end.hpp"
#include "common/os/regular_file.hpp"
#include "common/os/small_file.hpp"
#include "common/os/unique_fd.hpp"
#include "tests/support/daemon_process.hpp"

using namespace confvisor;
using confvisor::test::TempDir;

namespace {

// Text of `size` bytes that differs from one read's worth to the next, so a lost or repeated
// chunk shows.
std::string patterned(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i / 1000) % 26);
  return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(read_to_end_reads_a_file_larger_than_one_read_whole) {
  TempDir dir;
  const std::string content = patterned(300'000);
  const UniqueFd fd(::open(dir.write("big", content).c_str(), O_RDONLY | O_CLOEXEC));
  BOOST_TEST_REQUIRE(fd.get() >= 0);
  std::string text = "kept:";  // what is there already stays, the file comes after it
  BOOST_TEST((read_to_end(fd.get(), text) == ReadEnd::end_of_file));
  BOOST_TEST((text == "kept:" + content));
}

BOOST_AUTO_TEST_CASE(read_to_end_stops_soon_after_the_limit) {
  TempDir dir;
  const UniqueFd fd(::open(dir.write("big", patterned(4'000'000)).c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  BOOST_TEST((read_to_end(fd.get(), text, 10) == ReadEnd::over_limit));
  BOOST_TEST(text.size() > 10u);
  BOOST_TEST(text.size() <= 10u + 64 * 1024);  // at most one read more than the limit
}

BOOST_AUTO_TEST_CASE(read_to_end_reports_a_failed_read) {
  TempDir dir;
  const UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string text;
  BOOST_TEST((read_to_end(fd.get(), text) == ReadEnd::failed));
  BOOST_TEST(errno == EISDIR);
}

BOOST_AUTO_TEST_CASE(a_regular_file_is_read_whole_up_to_the_limit) {
  TempDir dir;
  const std::string content = patterned(200'000);
  const std::string path = dir.write("config.json", content);
  const RegularFile file = read_regular_file(path, content.size());
  BOOST_TEST((file.refusal == FileRefusal::none));
  BOOST_TEST((file.text == content));
  BOOST_TEST(static_cast<std::size_t>(file.status.st_size) == content.size());

  const RegularFile over = read_regular_file(path, content.size() - 1);
  BOOST_TEST((over.refusal == FileRefusal::too_large));
  BOOST_TEST(over.text.empty());  // refused by its size, before reading
  BOOST_TEST(static_cast<std::size_t>(over.status.st_size) == content.size());
}

BOOST_AUTO_TEST_CASE(what_is_not_a_regular_file_is_refused_unread) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ::alarm(20);  // an open or read that waits fails the test instead of hanging it
  for (const std::string& path : {fifo, dir.path(), std::string("/dev/null")}) {
    const RegularFile file = read_regular_file(path, 1 << 20);     // a FIFO without a writer
    BOOST_TEST((file.refusal == FileRefusal::not_regular), path);  // must not block the open
    BOOST_TEST(!S_ISREG(file.status.st_mode), path);
  }
  BOOST_TEST(file_type_name(read_regular_file(fifo, 1).status.st_mode) == "a FIFO");
  BOOST_TEST(file_type_name(read_regular_file(dir.path(), 1).status.st_mode) == "a directory");
  BOOST_TEST(file_type_name(read_regular_file("/dev/null", 1).status.st_mode) ==
             "a character device");
  ::alarm(0);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_unreadable_with_its_errno) {
  TempDir dir;
  const RegularFile file = read_regular_file(dir.path() + "/missing.json", 1 << 20);
  BOOST_TEST((file.refusal == FileRefusal::unreadable));
  BOOST_TEST(file.error == ENOENT);
}

BOOST_AUTO_TEST_CASE(small_files_of_proc_are_read_whole_and_a_missing_one_is_no_answer) {
  const std::optional<std::string> status = read_small_file("/proc/self/status");
  BOOST_TEST_REQUIRE(status.has_value());
  BOOST_TEST(status->find("\nPid:\t") != std::string::npos);
  BOOST_TEST(status->ends_with('\n'));
  BOOST_TEST(!read_small_file("/proc/self/no-such-file").has_value());
}
