// The command table is the one list of commands: what parse_request accepts, with which
// fields, is read from it, and so is what the daemon dispatches. The names of the outcomes
// are a contract too: status JSON, replies and log lines carry them.
#define BOOST_TEST_MODULE protocol
#include "daemon/control/protocol.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

#include "daemon/core/change.hpp"
#include "daemon/supervise/check_run.hpp"

using namespace confvisor;
namespace json = boost::json;
using control::Command;
using control::Effect;

namespace {

// A request line for `spec` that gives every field it takes.
std::string request_line(const control::CommandSpec& spec) {
  json::object request = control::make_request(spec.name);
  for (const std::string_view field : spec.fields) {
    if (field == "generation" || field == "instance" || field == "lines") request[field] = 1;
    if (field == "worker" || field == "pointer") request[field] = "/x";
    if (field == "follow") request[field] = true;
  }
  return json::serialize(request);
}

// The Failure parse_request throws for `line`, as code and message.
std::pair<std::string, std::string> refusal_of(const std::string& line) {
  try {
    (void)control::parse_request(line);
  } catch (const control::Failure& f) {
    return {f.code, f.what()};
  }
  BOOST_FAIL("accepted: " << line);
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_command_of_the_table_is_accepted_with_its_fields_and_points_at_its_row) {
  std::set<std::string_view> names;
  for (const control::CommandSpec& spec : control::kCommands) {
    BOOST_TEST_INFO(spec.name);
    const control::Request request = control::parse_request(request_line(spec));
    BOOST_TEST(request.command == spec.name);
    BOOST_TEST_REQUIRE(request.spec == &spec);
    BOOST_TEST(&control::command_spec(spec.command) == &spec);
    BOOST_TEST(names.insert(spec.name).second, "two rows named " << spec.name);
  }
}

BOOST_AUTO_TEST_CASE(every_command_has_one_row) {
  std::set<Command> commands;
  for (const control::CommandSpec& spec : control::kCommands) commands.insert(spec.command);
  BOOST_TEST(commands.size() == control::kCommands.size());
  for (const Command c :
       {Command::status, Command::reload, Command::history, Command::get, Command::rollback,
        Command::start, Command::stop, Command::restart, Command::logs}) {
    BOOST_TEST(commands.count(c) == 1u);
  }
}

// What scripts and operators have read until now, word for word.
BOOST_AUTO_TEST_CASE(an_unknown_command_is_a_bad_request_listing_the_table_in_order) {
  const auto [code, message] = refusal_of(R"({"version": 1, "command": "frobnicate"})");
  BOOST_TEST(code == "bad-request");
  BOOST_TEST(message ==
             "unknown command \"frobnicate\" (commands: status, reload, history, get, rollback, "
             "start, stop, restart, logs)");
}

BOOST_AUTO_TEST_CASE(a_field_the_row_does_not_list_is_refused_naming_the_fields_it_does) {
  const auto [code, message] =
      refusal_of(R"({"version": 1, "command": "restart", "worker": "a", "instanse": 0})");
  BOOST_TEST(code == "bad-request");
  BOOST_TEST(message == "restart: unknown field \"instanse\" (it takes \"worker\", \"instance\")");
  BOOST_TEST(refusal_of(R"({"version": 1, "command": "status", "worker": "a"})").second ==
             "status: unknown field \"worker\" (it takes none)");
}

// logs reads: it is answered while the daemon stops, and its fields are typed.
BOOST_AUTO_TEST_CASE(logs_takes_a_worker_an_instance_a_line_count_and_follow) {
  const control::Request request = control::parse_request(
      R"({"version": 1, "command": "logs", "worker": "api", "instance": 2, "lines": 50,
          "follow": true})");
  BOOST_TEST((request.spec->command == Command::logs));
  BOOST_TEST((request.spec->effect == Effect::reads));
  BOOST_TEST(request.string_field("worker") == "api");
  BOOST_TEST(request.optional_count("instance").value() == 2u);
  BOOST_TEST(request.optional_count("lines").value() == 50u);
  BOOST_TEST(request.optional_bool("follow").value() == true);
  const control::Request bare =
      control::parse_request(R"({"version": 1, "command": "logs", "worker": "api"})");
  BOOST_TEST(!bare.optional_count("lines").has_value());
  BOOST_TEST(!bare.optional_bool("follow").has_value());
  const control::Request mistyped = control::parse_request(
      R"({"version": 1, "command": "logs", "worker": "api", "follow": "yes"})");
  try {
    (void)mistyped.optional_bool("follow");
    BOOST_FAIL("a string taken for follow");
  } catch (const control::Failure& f) {
    BOOST_TEST(f.code == "bad-request");
    BOOST_TEST(std::string(f.what()) == "logs: \"follow\" must be true or false");
  }
  BOOST_TEST(refusal_of(R"({"version": 1, "command": "logs", "worker": "a", "tail": 5})").second ==
             "logs: unknown field \"tail\" (it takes \"worker\", \"instance\", \"lines\", "
             "\"follow\")");
}

// A stream's lines are replies with "more": true; a drop notice says how many went missing.
BOOST_AUTO_TEST_CASE(stream_replies_say_more_and_drop_notices_count_what_is_missing) {
  const json::value item =
      json::parse(control::stream_reply(json::object{{"lines", json::array{}}}));
  BOOST_TEST(item.at("version") == 1);
  BOOST_TEST(item.at("ok") == true);
  BOOST_TEST(item.at("more") == true);
  BOOST_TEST(item.at("result").at("lines").as_array().empty());
  const std::string notice = control::dropped_notice(1200);
  BOOST_TEST(notice.back() == '\n');
  const json::value dropped = json::parse(notice);
  BOOST_TEST(dropped.at("more") == true);
  BOOST_TEST(dropped.at("dropped") == 1200);
  BOOST_TEST(!dropped.as_object().contains("result"));
}

// Only the commands that change what the daemon serves or runs are refused while it stops.
BOOST_AUTO_TEST_CASE(the_commands_that_change_something_are_the_ones_refused_while_stopping) {
  std::set<std::string_view> changing;
  for (const control::CommandSpec& spec : control::kCommands) {
    if (spec.effect == Effect::changes) changing.insert(spec.name);
  }
  BOOST_TEST(
      (changing == std::set<std::string_view>{"reload", "rollback", "start", "stop", "restart"}));
}

BOOST_AUTO_TEST_CASE(every_outcome_and_kind_of_change_has_its_own_name) {
  using daemon::ChangeKind;
  using daemon::Outcome;
  std::set<std::string> outcomes;
  for (const Outcome o : {Outcome::none, Outcome::ok, Outcome::unchanged, Outcome::failed,
                          Outcome::waiting, Outcome::checking}) {
    outcomes.insert(daemon::outcome_name(o));
  }
  BOOST_TEST((outcomes ==
              std::set<std::string>{"none", "ok", "unchanged", "failed", "waiting", "checking"}));
  std::set<std::string> kinds;
  for (const ChangeKind k :
       {ChangeKind::start, ChangeKind::reload, ChangeKind::rollback, ChangeKind::etcd}) {
    kinds.insert(daemon::change_kind_name(k));
  }
  BOOST_TEST((kinds == std::set<std::string>{"start", "reload", "rollback", "etcd"}));
  using supervise::CheckOutcome;
  BOOST_TEST(std::string(supervise::check_outcome_name(CheckOutcome::passed)) == "passed");
  BOOST_TEST(std::string(supervise::check_outcome_name(CheckOutcome::refused)) == "refused");
}
