// daemon/core/rollout_verify in process, on a real io_context with real timers: each failure
// signal fails the watched generation once, with the last good document handed to the
// rollback; a rejection of another generation, a failure outside a window and one after a
// rollback change nothing; a reload inside the window supersedes it; the content of a failed
// generation is refused until it changes. A worker's rejection reaches the daemon through
// on_rejected, which this suite drives directly.
#define BOOST_TEST_MODULE rollout_verify
#include "daemon/core/rollout_verify.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/base/error.hpp"

using namespace confvisor;
using namespace confvisor::daemon;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct Failed {
  VerifyRecord record;
  std::string good_text;
  std::string good_source;
};

// A RolloutVerify whose hooks record what they are told, with `unready` as the instances
// still waiting for READY=1 when a window ends.
struct Fixture {
  boost::asio::io_context io;
  std::vector<Failed> failed;
  std::vector<std::uint64_t> passed;
  std::vector<std::uint64_t> promoted;
  std::vector<supervise::RunFailure> unready;
  RolloutVerify verify{
      io, RolloutVerify::Hooks{.not_ready = [this] { return unready; },
                               .failed =
                                   [this](const VerifyRecord& r, const std::string& text,
                                          const std::string& source) {
                                     failed.push_back(Failed{r, text, source});
                                   },
                               .passed = [this](std::uint64_t g) { passed.push_back(g); },
                               .promote = [this](std::uint64_t g) { promoted.push_back(g); }}};

  Fixture() { verify.accept(1, R"({"v":1})", "/etc/app.json", false); }

  static config::RolloutSettings settings(config::RolloutAction action,
                                          std::chrono::milliseconds window = 5s) {
    return config::RolloutSettings{.verify = window, .on_failure = action, .canary = std::nullopt};
  }
  void watch(std::uint64_t generation, const std::string& text,
             config::RolloutAction action = config::RolloutAction::rollback,
             std::chrono::milliseconds window = 5s) {
    verify.verify(generation, text, "source of generation " + std::to_string(generation),
                  settings(action, window));
  }
  // Runs the loop until the open window has ended (the timers are real).
  void run_out_the_window() {
    io.restart();
    io.run_for(5s);
  }
};

supervise::RunFailure crash(const std::string& worker, unsigned instance) {
  return supervise::RunFailure{worker, instance, supervise::FailureKind::crashed, "exit code 3"};
}

const config::CanarySettings kCanary{.worker = "api", .instances = 2};

}  // namespace

BOOST_AUTO_TEST_CASE(a_rejection_of_the_watched_generation_rolls_back_to_the_good_document) {
  Fixture f;
  f.watch(2, R"({"v":2})");
  BOOST_TEST_REQUIRE(f.verify.verifying() != nullptr);
  f.verify.on_rejected("api", 1, 2, "/app/port: 70000 is not a port");
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  const Failed& got = f.failed.front();
  BOOST_TEST(got.record.generation == 2u);
  BOOST_TEST(got.record.good_generation == 1u);
  BOOST_TEST(got.good_text == R"({"v":1})");
  BOOST_TEST(got.good_source == "/etc/app.json");
  BOOST_TEST_REQUIRE(got.record.failure.has_value());
  BOOST_TEST(got.record.failure->worker == "api");
  BOOST_TEST(got.record.failure->instance == 1u);
  BOOST_TEST((got.record.failure->signal == FailureSignal::rejected));
  BOOST_TEST(got.record.failure->describe() ==
             "worker api[1] rejected it: /app/port: 70000 is not a port");
  BOOST_TEST(f.verify.verifying() == nullptr);

  // The daemon publishes the good document again as generation 3, a rollback.
  f.verify.accept(3, R"({"v":1})", "rollback of generation 2", false);
  f.verify.rolled_back(2, 3);
  const std::optional<VerifyRecord> r = f.verify.record(2);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST((r->verdict == Verdict::failed));
  BOOST_TEST((r->rolled_back_as == std::optional<std::uint64_t>(3)));
  const json::value h = f.verify.history_json(2);
  BOOST_TEST(h.at("verdict") == "failed");
  BOOST_TEST(h.at("rolled_back_as") == 3);
  BOOST_TEST(h.at("failure").at("worker") == "api");
  BOOST_TEST(f.verify.history_json(3).is_null());  // a rollback is not verified
  BOOST_TEST(f.verify.summary() ==
             "generation 2 failed its verify window (worker api[1] rejected it: /app/port: "
             "70000 is not a port), rolled back as generation 3");

  // Its content is refused, naming the generation and the cause; other content is not.
  const std::optional<std::string> why = f.verify.refusal(R"({"v":2})");
  BOOST_TEST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("generation 2") != std::string::npos, *why);
  BOOST_TEST(why->find("worker api[1] rejected it") != std::string::npos, *why);
  BOOST_TEST(!f.verify.refusal(R"({"v":2,"fixed":true})").has_value());
  BOOST_TEST(!f.verify.refusal(R"({"v":1})").has_value());

  // A failure after the rollback is no second rollback: nothing watches generation 3.
  f.verify.on_run_failed(crash("api", 0));
  f.verify.on_rejected("api", 1, 3, "still unhappy");
  BOOST_TEST(f.failed.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_rejection_of_another_generation_or_after_the_window_changes_nothing) {
  Fixture f;
  f.watch(2, R"({"v":2})", config::RolloutAction::rollback, 50ms);
  f.verify.on_rejected("api", 0, 1, "a late report of the generation before");
  BOOST_TEST(f.failed.empty());
  BOOST_TEST(f.verify.verifying() != nullptr);
  BOOST_TEST(f.passed.empty());
  f.run_out_the_window();
  BOOST_TEST(f.verify.verifying() == nullptr);
  BOOST_TEST((f.verify.record(2)->verdict == Verdict::passed));
  BOOST_TEST(f.passed == std::vector<std::uint64_t>{2});
  f.verify.on_rejected("api", 0, 2, "too late");
  f.verify.on_run_failed(crash("api", 0));
  BOOST_TEST(f.failed.empty());
  BOOST_TEST((f.verify.record(2)->verdict == Verdict::passed));
  BOOST_TEST(!f.verify.refusal(R"({"v":2})").has_value());

  // The generation that passed is the good document of the next window.
  f.watch(3, R"({"v":3})");
  f.verify.on_run_failed(crash("api", 0));
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST(f.failed[0].record.good_generation == 2u);
  BOOST_TEST(f.failed[0].good_text == R"({"v":2})");
  BOOST_TEST(f.failed[0].good_source == "source of generation 2");
  BOOST_TEST(f.passed == std::vector<std::uint64_t>{2});
}

BOOST_AUTO_TEST_CASE(every_signal_of_supervision_fails_the_window_once) {
  for (const auto& [kind, signal, text] :
       {std::tuple{supervise::FailureKind::crashed, FailureSignal::crashed,
                   "worker api[0] crashed (why)"},
        std::tuple{supervise::FailureKind::start_failed, FailureSignal::start_failed,
                   "worker api[0] failed to start (why)"},
        std::tuple{supervise::FailureKind::watchdog, FailureSignal::watchdog,
                   "worker api[0] missed its watchdog (why)"}}) {
    Fixture f;
    f.watch(2, R"({"v":2})");
    f.verify.on_run_failed(supervise::RunFailure{"api", 0, kind, "why"});
    f.verify.on_run_failed(supervise::RunFailure{"api", 1, kind, "why"});
    BOOST_TEST_REQUIRE(f.failed.size() == 1u);
    BOOST_TEST((f.failed[0].record.failure->signal == signal));
    BOOST_TEST(f.failed[0].record.failure->describe() == text);
  }
}

BOOST_AUTO_TEST_CASE(an_instance_not_ready_when_the_window_ends_fails_it) {
  Fixture f;
  f.unready = {{"api", 0, supervise::FailureKind::not_ready, "no READY=1 from pid 10"},
               {"api", 1, supervise::FailureKind::not_ready, "no READY=1 from pid 11"}};
  f.watch(2, R"({"v":2})", config::RolloutAction::rollback, 50ms);
  f.run_out_the_window();
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST(f.failed[0].record.failure->describe() ==
             "worker api[0] was not ready (no READY=1 from pid 10, and 1 more)");
  BOOST_TEST(f.verify.refusal(R"({"v":2})").has_value());
}

BOOST_AUTO_TEST_CASE(a_reload_inside_the_window_supersedes_it_and_keeps_the_good_document) {
  Fixture f;
  f.watch(2, R"({"v":2})");
  f.watch(3, R"({"v":3})");
  const std::optional<VerifyRecord> superseded = f.verify.record(2);
  BOOST_TEST((superseded->verdict == Verdict::superseded));
  BOOST_TEST((superseded->superseded_by == std::optional<std::uint64_t>(3)));
  BOOST_TEST(f.verify.verifying()->generation == 3u);
  f.verify.on_rejected("api", 0, 2, "a report of the superseded generation");
  BOOST_TEST(f.failed.empty());
  f.verify.on_run_failed(crash("web", 2));
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  // Back to the last document that was good, not to the generation that was never verified.
  BOOST_TEST(f.failed[0].record.generation == 3u);
  BOOST_TEST(f.failed[0].record.good_generation == 1u);
  BOOST_TEST(f.failed[0].good_text == R"({"v":1})");
  BOOST_TEST(!f.verify.refusal(R"({"v":2})").has_value());
  BOOST_TEST(f.verify.refusal(R"({"v":3})").has_value());
}

BOOST_AUTO_TEST_CASE(a_generation_published_without_a_window_supersedes_one_and_is_good) {
  Fixture f;
  f.watch(2, R"({"v":2})");
  f.verify.accept(3, R"({"v":3})", "/etc/app.json", true);  // "rollout" removed by the reload
  BOOST_TEST((f.verify.record(2)->verdict == Verdict::superseded));
  f.verify.on_run_failed(crash("api", 0));
  BOOST_TEST(f.failed.empty());
  f.watch(4, R"({"v":4})");
  f.verify.on_run_failed(crash("api", 0));
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST(f.failed[0].good_text == R"({"v":3})");
}

BOOST_AUTO_TEST_CASE(on_failure_keep_reports_and_marks_nothing) {
  Fixture f;
  f.watch(2, R"({"v":2})", config::RolloutAction::keep);
  f.verify.on_run_failed(crash("api", 0));
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST((f.failed[0].record.settings.on_failure == config::RolloutAction::keep));
  BOOST_TEST(!f.verify.refusal(R"({"v":2})").has_value());
  BOOST_TEST(f.verify.summary() ==
             "generation 2 failed its verify window (worker api[0] crashed (exit code 3)), kept "
             "(on_failure keep)");
  const json::value status = f.verify.status_json();
  BOOST_TEST(status.at("last_failure").at("generation") == 2);
  BOOST_TEST(status.at("last_failure").at("action") == "keep");
  BOOST_TEST(status.at("bad").as_array().empty());
  // A later reload ends what the summary says; status keeps the last failure.
  f.verify.accept(3, R"({"v":3})", "/etc/app.json", true);
  BOOST_TEST(f.verify.summary().empty());
  BOOST_TEST(f.verify.status_json().at("last_failure").at("generation") == 2);
}

BOOST_AUTO_TEST_CASE(status_shows_the_open_window) {
  Fixture f;
  BOOST_TEST(f.verify.status_json().at("verifying").is_null());
  f.watch(2, R"({"v":2})", config::RolloutAction::rollback, 5s);
  const json::value status = f.verify.status_json();
  BOOST_TEST(status.at("verifying").at("generation") == 2);
  BOOST_TEST(status.at("verifying").at("good_generation") == 1);
  BOOST_TEST(status.at("verifying").at("remaining_ms").to_number<std::int64_t>() > 0);
  BOOST_TEST(status.at("verifying").at("remaining_ms").to_number<std::int64_t>() <= 5000);
  BOOST_TEST(f.verify.history_json(2).at("verdict") == "verifying");
}

BOOST_AUTO_TEST_CASE(a_canary_window_counts_only_the_canary_instances_then_promotes) {
  Fixture f;
  f.verify.verify(2, R"({"v":2})", "app.json",
                  Fixture::settings(config::RolloutAction::rollback, 300ms), kCanary);
  BOOST_TEST_REQUIRE(f.verify.verifying() != nullptr);
  BOOST_TEST((f.verify.verifying()->stage == Stage::canary));
  // Not canaries: api[2] and another worker. Their failures are supervision's, not the trial's.
  f.verify.on_run_failed(crash("api", 2));
  f.verify.on_run_failed(crash("db", 0));
  f.verify.on_rejected("api", 2, 2, "too new");
  f.unready = {supervise::RunFailure{"db", 0, supervise::FailureKind::not_ready, "no READY=1"}};
  f.run_out_the_window();
  BOOST_TEST(f.failed.empty());
  BOOST_TEST(f.passed.empty());  // not good yet: every instance has not read it
  BOOST_TEST((f.promoted == std::vector<std::uint64_t>{2}));
  BOOST_TEST_REQUIRE(f.verify.verifying() != nullptr);
  BOOST_TEST((f.verify.verifying()->stage == Stage::promoting));

  // Published to all under the same number: the second window watches every instance.
  f.unready.clear();
  f.verify.verify(2, R"({"v":2})", "app.json", Fixture::settings(config::RolloutAction::rollback));
  BOOST_TEST((f.verify.verifying()->stage == Stage::all));
  f.verify.on_run_failed(crash("db", 0));
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST((f.failed.front().record.stage == Stage::all));
  BOOST_TEST(f.failed.front().record.failure->worker == "db");
  BOOST_TEST(f.failed.front().good_text == R"({"v":1})");
}

BOOST_AUTO_TEST_CASE(a_canary_failure_is_final_at_its_stage_and_marks_the_content) {
  Fixture f;
  f.verify.verify(2, R"({"v":2})", "app.json", Fixture::settings(config::RolloutAction::rollback),
                  kCanary);
  f.verify.on_rejected("api", 1, 2, "port out of range");
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST((f.failed.front().record.stage == Stage::canary));
  BOOST_TEST(f.promoted.empty());
  BOOST_TEST(f.verify.refusal(R"({"v":2})").has_value());
  BOOST_TEST(f.verify.summary() ==
             "generation 2 failed its verify window on the canary (worker api[1] rejected it: "
             "port out of range)");
}

BOOST_AUTO_TEST_CASE(a_promotion_that_cannot_publish_fails_without_marking_the_content) {
  Fixture f;
  f.verify.verify(2, R"({"v":2})", "app.json",
                  Fixture::settings(config::RolloutAction::rollback, 100ms), kCanary);
  f.run_out_the_window();
  BOOST_TEST_REQUIRE((f.promoted == std::vector<std::uint64_t>{2}));
  f.verify.promotion_failed(2, "no room in /dev/shm");
  BOOST_TEST_REQUIRE(f.failed.size() == 1u);
  BOOST_TEST((f.failed.front().record.failure->signal == FailureSignal::not_promoted));
  BOOST_TEST(f.failed.front().record.failure->describe() ==
             "it passed on the canary, but publishing it to every instance failed: no room in "
             "/dev/shm");
  BOOST_TEST(!f.verify.refusal(R"({"v":2})").has_value());
  BOOST_TEST(f.verify.verifying() == nullptr);
}

BOOST_AUTO_TEST_CASE(a_reload_while_a_generation_promotes_supersedes_it) {
  Fixture f;
  f.verify.verify(2, R"({"v":2})", "app.json",
                  Fixture::settings(config::RolloutAction::rollback, 100ms), kCanary);
  f.run_out_the_window();
  BOOST_TEST_REQUIRE((f.promoted == std::vector<std::uint64_t>{2}));
  f.verify.verify(3, R"({"v":3})", "app.json", Fixture::settings(config::RolloutAction::rollback),
                  kCanary);
  const std::optional<VerifyRecord> two = f.verify.record(2);
  BOOST_TEST_REQUIRE(two.has_value());
  BOOST_TEST((two->verdict == Verdict::superseded));
  BOOST_TEST((two->superseded_by == std::optional<std::uint64_t>{3}));
  BOOST_TEST(f.verify.verifying()->generation == 3u);
}

BOOST_AUTO_TEST_CASE(the_marks_round_trip_through_their_json_and_bad_json_takes_none) {
  Fixture f;
  f.watch(2, R"({"v":2})");
  f.verify.on_run_failed(crash("api", 0));
  const json::value marks = f.verify.marks_json();
  BOOST_TEST_REQUIRE(marks.as_array().size() == 1u);
  BOOST_TEST(marks.at(0).at("sha256").as_string().size() == 64u);

  Fixture next;  // a restarted daemon
  BOOST_TEST(!next.verify.refusal(R"({"v":2})").has_value());
  next.verify.restore_marks(json::parse(json::serialize(marks)));
  BOOST_TEST(next.verify.refusal(R"({"v":2})").value_or("") ==
             f.verify.refusal(R"({"v":2})").value_or("?"));
  BOOST_TEST(!next.verify.refusal(R"({"v":3})").has_value());

  Fixture other;
  for (const char* bad : {R"({})", R"([{"sha256": "ab", "generation": 2, "cause": "x"}])",
                          R"([{"sha256": ")"
                          "0000000000000000000000000000000000000000000000000000000000000000"
                          R"(", "generation": -1, "cause": "x"}])"}) {
    BOOST_CHECK_THROW(other.verify.restore_marks(json::parse(bad)), Error);
  }
  BOOST_TEST(other.verify.marks_json().as_array().empty());
}
