#include "daemon/supervise/candidate_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

CandidateFiles::CandidateFiles() {
  std::error_code ec;
  std::string base = std::filesystem::temp_directory_path(ec).string();
  if (ec || base.empty()) base = "/tmp";
  std::string templ = base + "/confvisor-check.XXXXXX";
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) throw_sys("create a directory in " + base);
  dir_ = name.data();
  // mkdtemp makes it 0700; a check that runs as another user must reach its file.
  if (::chmod(dir_.c_str(), 0711) != 0) {
    const int saved = errno;
    ::rmdir(dir_.c_str());
    errno = saved;
    throw_sys("chmod 0711 " + dir_);
  }
}

CandidateFiles::~CandidateFiles() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) log_warning("unable to remove " + dir_ + ": " + ec.message());
}

std::string CandidateFiles::write(const std::string& worker, std::string_view text,
                                  std::optional<std::pair<uid_t, gid_t>> owner) {
  const std::string path = dir_ + "/" + worker + ".json";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_sys("create " + path);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write " + path);
    done += static_cast<std::size_t>(n);
  }
  if (owner && (owner->first != ::geteuid() || owner->second != ::getegid())) {
    if (::fchown(fd.get(), owner->first, owner->second) != 0) throw_sys("chown " + path);
    if (::fchmod(fd.get(), 0400) != 0) throw_sys("chmod 0400 " + path);
  }
  return path;
}

}  // namespace confvisor::supervise
