// check_worker: a worker with a config check of its own, as a service with `--check-config`
// (nginx -t, `api --check-config FILE`) has one.
//
//   check_worker                       reads CONFVISOR_SEGMENT and prints, for the current
//                                      generation and every new one, "generation N: port P";
//                                      exits 0 on SIGTERM
//   check_worker --check-config FILE   checks FILE as the worker would apply it: first prints
//                                      "check_worker: uid U gid G file FILE mode M", then
//                                      exits 0 if /app/port is a port (1 to 65535), else says
//                                      why on stderr and exits 1. /app/check may ask it to
//                                      misbehave: "hang" (never exit), "linger" (leave a
//                                      grandchild in a session of its own, its pid written to
//                                      /app/linger_pid_file, then exit 1).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "confvisor/worker.hpp"

namespace json = boost::json;

namespace {

// Returns once the grandchild has written its pid: the check ends only after that.
void leave_grandchild(const std::string& pid_file) {
  int written[2];
  if (::pipe(written) != 0) return;
  if (::fork() == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    std::ofstream(pid_file) << ::getpid() << '\n';
    char byte = 1;
    if (::write(written[1], &byte, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(written[1]);
  char byte = 0;
  if (::read(written[0], &byte, 1) != 1) std::cerr << "check_worker: no grandchild\n";
  ::close(written[0]);
}

int check(const std::string& path) {
  struct stat st {};
  const int stat_result = ::stat(path.c_str(), &st);
  std::printf("check_worker: uid %u gid %u file %s mode %04o\n", ::getuid(), ::getgid(),
              path.c_str(), stat_result == 0 ? st.st_mode & 07777 : 0);
  std::fflush(stdout);
  std::ifstream in(path);
  if (!in) {
    std::cerr << "check_worker: cannot read " << path << '\n';
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  json::error_code ec;
  const json::value doc = json::parse(text.str(), ec);
  if (ec) {
    std::cerr << "check_worker: " << path << " is no JSON: " << ec.message() << '\n';
    return 1;
  }
  const json::value* mode = doc.find_pointer("/app/check", ec);
  if (mode != nullptr && mode->is_string() && mode->get_string() == "hang") {
    for (;;) ::pause();
  }
  if (mode != nullptr && mode->is_string() && mode->get_string() == "linger") {
    const json::value* pid_file = doc.find_pointer("/app/linger_pid_file", ec);
    leave_grandchild(pid_file != nullptr && pid_file->is_string()
                         ? std::string(pid_file->get_string())
                         : std::string("/dev/null"));
    std::cerr << "check_worker: left a grandchild behind\n";
    return 1;
  }
  const json::value* port = doc.find_pointer("/app/port", ec);
  if (port == nullptr || !port->is_int64() || port->get_int64() < 1 || port->get_int64() > 65535) {
    std::cerr << "check_worker: /app/port: " << (port ? json::serialize(*port) : "missing")
              << " is not a port (1 to 65535)\n";
    return 1;
  }
  return 0;
}

int serve() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  confvisor::Reader reader = confvisor::Reader::from_env();
  confvisor::Reader::Subscription subscription =
      reader.on_change([](const confvisor::Snapshot& snap) {
        const json::value* port = snap.find("/app/port");
        std::cout << "generation " << snap.generation() << ": port "
                  << (port ? json::serialize(*port) : "missing") << std::endl;
      });
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--check-config") return check(argv[2]);
  if (argc != 1) {
    std::cerr << "usage: check_worker [--check-config FILE]\n";
    return 2;
  }
  try {
    return serve();
  } catch (const std::exception& e) {
    std::cerr << "check_worker: " << e.what() << '\n';
    return 1;
  }
}
