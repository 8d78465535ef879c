#include "daemon/supervise/cgroup_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/base/error.hpp"

namespace confvisor::supervise {

namespace {
UniqueFd make_inotify() {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) throw_sys("create an inotify descriptor for cgroup events");
  return fd;
}
}  // namespace

CgroupWatch::CgroupWatch(boost::asio::io_context& io)
    : fd_(make_inotify()), stream_(io, fd_.get()) {
  wait();
}

CgroupWatch::~CgroupWatch() {
  // The descriptor belongs to fd_; the stream must not close it as well.
  stream_.release();
}

CgroupWatch::Watch::Watch(Watch&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), wd_(std::exchange(other.wd_, -1)) {}

CgroupWatch::Watch& CgroupWatch::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, nullptr);
    wd_ = std::exchange(other.wd_, -1);
  }
  return *this;
}

void CgroupWatch::Watch::reset() {
  if (owner_ == nullptr) return;
  // EINVAL when the kernel dropped the watch already (the cgroup was removed): fine.
  ::inotify_rm_watch(owner_->fd_.get(), wd_);
  owner_->callbacks_.erase(wd_);
  owner_ = nullptr;
  wd_ = -1;
}

CgroupWatch::Watch CgroupWatch::watch(const std::string& cgroup, std::function<void()> changed) {
  const std::string events = cgroup + "/cgroup.events";
  const int wd = ::inotify_add_watch(fd_.get(), events.c_str(), IN_MODIFY);
  if (wd < 0) throw_sys("watch " + events);
  callbacks_[wd] = std::move(changed);
  return Watch(this, wd);
}

void CgroupWatch::wait() {
  stream_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;
                       on_readable();
                       wait();
                     });
}

// Reads every queued event first, then calls back: a callback may drop watches (its own
// or another's), so each wd is looked up again at its turn.
void CgroupWatch::on_readable() {
  std::vector<int> changed;
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      if ((event->mask & IN_MODIFY) != 0) changed.push_back(event->wd);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  for (int wd : changed) {
    auto it = callbacks_.find(wd);
    if (it == callbacks_.end()) continue;
    const std::function<void()> callback = it->second;  // it may erase itself
    callback();
  }
}

}  // namespace confvisor::supervise
