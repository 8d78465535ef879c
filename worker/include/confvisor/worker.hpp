// libconfvisor: read the live config that confvisord publishes, from a worker process.
//
//   confvisor::Reader reader = confvisor::Reader::from_env();   // CONFVISOR_SEGMENT
//   const confvisor::Snapshot& cfg = reader.current();          // a few ns when unchanged
//   auto port = cfg.get<std::int64_t>("/database/port");
//   auto level = cfg.get<std::string>("/log/level", "info");    // default when missing
//   reader.wait_for_change(std::chrono::seconds(5));            // futex wait, no polling
//   reader.report_applied(cfg);                                 // tell confvisord ("acks")
//
// A reader maps the segment read-only: it cannot corrupt it, and a corrupt or foreign
// segment gives an Error, never a crash. Readers keep serving their last good generation
// while the publisher restarts, recovers or moves the segment.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "confvisor/error.hpp"

namespace confvisor {

// One published generation: immutable, cheap to copy (a shared pointer), safe to keep and to
// use from any thread after the Reader is gone.
class Snapshot {
 public:
  Snapshot() = default;  // empty: generation() == 0

  [[nodiscard]] explicit operator bool() const noexcept { return data_ != nullptr; }
  [[nodiscard]] std::uint64_t generation() const noexcept;
  // Null when empty. The document lives in one memory arena of the snapshot's: a plain
  // copy of a part of it (`boost::json::value v = snapshot.json().at("db")`) shares that
  // arena and keeps all of it alive; `boost::json::value v(part, {})` makes a standalone copy.
  [[nodiscard]] const boost::json::value& json() const noexcept;
  [[nodiscard]] std::string_view text() const noexcept;    // minified JSON
  [[nodiscard]] std::string_view source() const noexcept;  // file it was loaded from
  [[nodiscard]] std::chrono::system_clock::time_point published_at() const noexcept;
  [[nodiscard]] pid_t publisher_pid() const noexcept;

  // The value at a JSON pointer (RFC 6901, "" is the whole document), or nullptr.
  [[nodiscard]] const boost::json::value* find(std::string_view pointer) const noexcept;

  // Typed lookup. T is one of bool, std::int64_t, std::uint64_t, int, double, std::string,
  // boost::json::value, boost::json::object, boost::json::array. Integers must be JSON
  // integers that fit T; double accepts any number. Throws Error naming the pointer and the
  // type found ("/db/port: expected integer, found string \"x\"").
  template <class T>
  [[nodiscard]] T get(std::string_view pointer) const {
    T out{};
    convert(require(pointer), pointer, out);
    return out;
  }
  // As above, but `fallback` when the pointer does not resolve. A value of the wrong type is
  // still an Error: a typo in the config must not silently become the default.
  template <class T, class U>
  [[nodiscard]] T get(std::string_view pointer, U&& fallback) const {
    const boost::json::value* v = find(pointer);
    if (v == nullptr) return T(std::forward<U>(fallback));
    T out{};
    convert(*v, pointer, out);
    return out;
  }

  struct Data;
  explicit Snapshot(std::shared_ptr<const Data> data) noexcept : data_(std::move(data)) {}

 private:
  const boost::json::value& require(std::string_view pointer) const;
  static void convert(const boost::json::value& v, std::string_view p, bool& out);
  static void convert(const boost::json::value& v, std::string_view p, std::int64_t& out);
  static void convert(const boost::json::value& v, std::string_view p, std::uint64_t& out);
  static void convert(const boost::json::value& v, std::string_view p, int& out);
  static void convert(const boost::json::value& v, std::string_view p, double& out);
  static void convert(const boost::json::value& v, std::string_view p, std::string& out);
  static void convert(const boost::json::value& v, std::string_view p, boost::json::value& out);
  static void convert(const boost::json::value& v, std::string_view p, boost::json::object& out);
  static void convert(const boost::json::value& v, std::string_view p, boost::json::array& out);

  std::shared_ptr<const Data> data_;
};

// What became of a report to confvisord (Reader::report_applied, report_rejected).
enum class ReportResult {
  sent,          // the daemon has it
  unsupervised,  // not run by confvisord (no CONFVISOR_ACK_SOCKET): nothing to tell, no error
  dropped,       // the daemon could not take it at once (its queue is full, or it is gone)
};
[[nodiscard]] const char* report_result_name(ReportResult result) noexcept;  // "sent", ...

class Reader {
 public:
  // Maps /dev/shm/confvisor.SEGMENT read-only. Throws Error if it is missing, not readable
  // by this user, truncated, corrupt or of another layout version.
  explicit Reader(std::string_view segment);
  // The segment named by CONFVISOR_SEGMENT, which confvisord sets for its workers.
  [[nodiscard]] static Reader from_env();

  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  // The current generation. When nothing changed this is an atomic load and two compares,
  // from any number of threads without contention. The reference is to this thread's cache
  // slot for this reader: copy the Snapshot to pin a generation. If a new generation cannot
  // be read (corrupt segment), the last good one is returned and last_error() says why.
  // Throws Error only if no generation could ever be read.
  const Snapshot& current();

  // Blocks until a generation other than the one this thread last got from current() is
  // published, or `timeout` passes (negative: forever). Returns whether it changed. Sleeps
  // on a futex in the segment: no polling, no wakeups while nothing changes.
  bool wait_for_change(std::chrono::nanoseconds timeout);

  // Runs `callback` on a background thread with every new generation (and once at start
  // with the current one, if any). Stops when the returned handle is destroyed; exceptions
  // from the callback are caught and reported through last_error().
  class Subscription {
   public:
    Subscription() = default;
    ~Subscription();
    Subscription(Subscription&&) noexcept;
    Subscription& operator=(Subscription&&) noexcept;
    void stop();
    struct State;

   private:
    friend class Reader;
    std::shared_ptr<State> state_;
  };
  [[nodiscard]] Subscription on_change(std::function<void(const Snapshot&)> callback);

  // Tells confvisord that this process applied the generation of `snapshot`, or rejected it
  // and why (one line, cut to 512 bytes), for a worker whose config says "acks": true:
  // `confvisorctl status` shows it and `confvisorctl reload --wait` waits for it. The daemon
  // knows the sender by its pid, so any process of the instance may report. Never blocks: a
  // report the daemon cannot take at once is dropped, and the result says so. Throws Error
  // for an empty snapshot only.
  ReportResult report_applied(const Snapshot& snapshot) const;
  ReportResult report_rejected(const Snapshot& snapshot, std::string_view reason) const;

  [[nodiscard]] const std::string& segment() const noexcept;
  // Why the last attempt to read a new generation failed; empty when all is well.
  [[nodiscard]] std::string last_error() const;

  struct State;
  struct CacheSlot;

 private:
  explicit Reader(std::shared_ptr<State> state) noexcept;
  const Snapshot& refresh(CacheSlot& slot);
  bool wait_until_changed(std::chrono::nanoseconds timeout, const std::atomic<bool>* cancel);
  std::shared_ptr<State> state_;
};

}  // namespace confvisor
