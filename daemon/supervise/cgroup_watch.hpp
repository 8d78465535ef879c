// Tells the event loop when a cgroup's cgroup.events changes (inotify, IN_MODIFY): the
// kernel modifies that file when the cgroup becomes populated or empty, so "has this
// instance ended" needs no polling.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/os/unique_fd.hpp"

namespace confvisor::supervise {

class CgroupWatch {
 public:
  explicit CgroupWatch(boost::asio::io_context& io);
  ~CgroupWatch();
  CgroupWatch(const CgroupWatch&) = delete;
  CgroupWatch& operator=(const CgroupWatch&) = delete;

  // One cgroup watched; dropping it stops the calls. Drop it before removing the cgroup.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    ~Watch() { reset(); }
    void reset();

   private:
    friend class CgroupWatch;
    Watch(CgroupWatch* owner, int wd) : owner_(owner), wd_(wd) {}
    CgroupWatch* owner_ = nullptr;
    int wd_ = -1;
  };

  // Calls `changed` from the loop after each change of `cgroup`/cgroup.events; it reads the
  // file itself. Throws Error.
  [[nodiscard]] Watch watch(const std::string& cgroup, std::function<void()> changed);

 private:
  void wait();
  void on_readable();

  UniqueFd fd_;
  boost::asio::posix::stream_descriptor stream_;
  std::map<int, std::function<void()>> callbacks_;  // by watch descriptor
};

}  // namespace confvisor::supervise
