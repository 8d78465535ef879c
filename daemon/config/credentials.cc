#include "daemon/config/credentials.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "common/base/error.hpp"
#include "common/base/log.hpp"
#include "common/json/describe.hpp"
#include "common/json/units.hpp"
#include "common/os/regular_file.hpp"

namespace confvisor::config {

namespace {

constexpr std::size_t kMaxCredentialFile = 1u << 20;

RegularFile credential_file(const std::string& path) {
  RegularFile file = read_regular_file(path, kMaxCredentialFile);
  switch (file.refusal) {
    case FileRefusal::none:
      break;
    case FileRefusal::unreadable:
      throw Error(quote_text(path) + ": unable to read: " + std::strerror(file.error));
    case FileRefusal::not_regular:
      throw Error(quote_text(path) + ": not a regular file (" +
                  std::string(file_type_name(file.status.st_mode)) + ")");
    case FileRefusal::too_large:
      throw Error(quote_text(path) + ": larger than " + human_size(kMaxCredentialFile));
  }
  return file;
}

}  // namespace

void check_credential_file(const std::string& path) {
  (void)credential_file(path);
}

std::string read_password_file(const std::string& path) {
  const RegularFile file = credential_file(path);
  std::string password = file.text.substr(0, file.text.find('\n'));
  if (password.ends_with('\r')) password.pop_back();
  if (password.empty()) throw Error(quote_text(path) + ": the password file's first line is empty");
  if (password.find('\0') != std::string::npos) {
    throw Error(quote_text(path) + ": the password holds a NUL byte");
  }
  if ((file.status.st_mode & S_IROTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(file.status.st_mode & 07777));
    log_warning("etcd password file " + path + " is readable by every user (mode " + mode +
                "): chmod o-r it");
  }
  return password;
}

}  // namespace confvisor::config
