#include "daemon/ctl/daemon_requests.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <iostream>

#include "common/base/error.hpp"
#include "common/json/units.hpp"
#include "daemon/control/client.hpp"
#include "daemon/control/protocol.hpp"
#include "daemon/ctl/discovery.hpp"
#include "daemon/ctl/table.hpp"

namespace confvisor::ctl {

namespace json = boost::json;
using control::ClientError;

namespace {

constexpr std::chrono::seconds kDefaultTimeout{30};
// start, stop and restart wait for workers: stop_timeout and start_window are theirs to set.
constexpr std::chrono::minutes kWorkerTimeout{2};
// --- Printing each command's result, for people (tables) or scripts (--json).

std::string text_of(const json::value& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

std::string instance_label(const json::object& i) {
  return text_of(i.at("name")) + ":" + text_of(i.at("instance"));
}

// The etcd source: where the daemon follows it, and how far.
void print_etcd(const json::object& s) {
  const json::value* etcd = s.if_contains("etcd");
  if (etcd == nullptr || etcd->is_null()) return;
  const json::object& e = etcd->as_object();
  std::cout << "etcd: " << text_of(e.at("connection")) << " to " << text_of(e.at("endpoint"));
  if (!e.at("connected_since").is_null())
    std::cout << " since " << text_of(e.at("connected_since"));
  std::cout << ", prefix " << text_of(e.at("prefix")) << ", revision "
            << text_of(e.at("applied_revision")) << " applied";
  if (e.at("from_last_good").as_bool()) {
    std::cout << " (serving the last good file " << text_of(e.at("last_good"))
              << " until etcd answers)";
  }
  std::cout << '\n';
  if (!e.at("last_error").is_null())
    std::cout << "  last error: " << text_of(e.at("last_error")) << '\n';
}

// "RUNNING", "WAITING for db, cache".
std::string state_text(const json::object& i) {
  std::string text = text_of(i.at("state"));
  if (const json::value* names = i.if_contains("waiting_for"); names && names->is_array()) {
    const json::array& list = names->get_array();
    for (std::size_t n = 0; n < list.size(); ++n)
      text += (n == 0 ? " for " : ", ") + text_of(list[n]);
  }
  return text;
}

// The APPLIED column: the generation an instance of a worker with "acks" last applied
// ("-" before its first report since it started), "rejected N" (its reason goes to
// `rejections`, printed under the table), or "not reporting".
std::string applied_text(const json::object& i, std::vector<std::string>& rejections) {
  const json::value* acks = i.if_contains("acks");
  if (acks == nullptr || acks->is_null()) return "not reporting";
  const json::object& a = acks->as_object();
  std::string text = text_of(a.at("applied"));
  if (const json::value& r = a.at("rejected"); !r.is_null()) {
    const std::string generation = text_of(r.at("generation"));
    text = (a.at("applied").is_null() ? "" : text + ", ") + "rejected " + generation;
    rejections.push_back(instance_label(i) + " rejected generation " + generation + ": " +
                         text_of(r.at("reason")));
  }
  return text;
}

// The generation whose failed verify window the live one rolled back, or "".
std::string rolled_back_from(const json::object& s) {
  const json::value* rollout = s.if_contains("rollout");
  if (rollout == nullptr || !rollout->is_object()) return "";
  const json::value& failure = rollout->get_object().at("last_failure");
  if (!failure.is_object() || failure.at("rolled_back_as") != s.at("generation")) return "";
  return text_of(failure.at("generation"));
}

// What an operator should know when the live config is not what the file holds now.
void print_file_state(const json::object& s) {
  if (s.at("live_matches_file").as_bool()) return;
  const std::string config = text_of(s.at("config"));
  const json::value* etcd = s.if_contains("etcd");
  if (etcd != nullptr && !etcd->is_null()) {
    // The live config is the file merged with etcd: only an edit of the file is news.
    const json::value* changed = s.if_contains("file_changed");
    if (changed != nullptr && changed->as_bool()) {
      std::cout << config << " has changed since it was loaded (`confvisorctl reload` merges it "
                << "with etcd and publishes it, if valid)\n";
    }
    return;
  }
  const json::value* changed = s.if_contains("file_changed");
  if (changed == nullptr || !changed->as_bool()) {
    if (const std::string failed = rolled_back_from(s); !failed.empty()) {
      std::cout << "the live config differs from " << config << " (generation " << failed
                << " failed its verify window and was rolled back; reloads refuse that content"
                << " until the file changes)\n";
      return;
    }
    std::cout << "the live config differs from " << config
              << " (rolled back; `confvisorctl reload` goes back to the file)\n";
    return;
  }
  std::cout << config << " has changed since it was loaded: the live config is not what it"
            << " holds (`confvisorctl reload` publishes it, if valid)\n";
  if (const json::value* error = s.if_contains("file_error"); error && !error->is_null())
    std::cout << "  " << text_of(*error) << '\n';
}

// The verified rollout: the open window, the last failure and the content refused for it.
void print_rollout(const json::object& s) {
  const json::value* rollout = s.if_contains("rollout");
  if (rollout == nullptr || !rollout->is_object()) return;
  const json::object& r = rollout->get_object();
  if (!r.at("verify").is_null()) {
    std::cout << "rollout: verify " << text_of(r.at("verify")) << ", on failure "
              << text_of(r.at("on_failure")) << "; good generation "
              << text_of(r.at("good_generation")) << '\n';
  }
  if (const json::value* c = r.if_contains("canary"); c && c->is_object()) {
    std::cout << "  canary: the first " << text_of(c->at("instances")) << " instance(s) of "
              << text_of(c->at("worker")) << " read /dev/shm/confvisor."
              << text_of(c->at("segment")) << ", generation " << text_of(c->at("generation"))
              << '\n';
  }
  if (const json::value& w = r.at("verifying"); w.is_object()) {
    const json::value* stage = w.as_object().if_contains("stage");
    const bool on_canary = stage != nullptr && *stage == "canary";
    std::cout << "  verifying generation " << text_of(w.at("generation"))
              << (on_canary ? " on the canary" : "") << ": "
              << format_uptime(
                     std::chrono::milliseconds(w.at("remaining_ms").to_number<long long>()))
              << " left\n";
  }
  if (const json::value& f = r.at("last_failure"); f.is_object()) {
    std::cout << "  generation " << text_of(f.at("generation")) << " failed at "
              << text_of(f.at("at")) << ": " << text_of(f.at("failure").at("text"));
    if (!f.at("rolled_back_as").is_null()) {
      std::cout << "; rolled back as generation " << text_of(f.at("rolled_back_as"))
                << " (the document of generation " << text_of(f.at("good_generation")) << ")";
    } else if (!f.at("rollback_error").is_null()) {
      std::cout << "; its rollback failed: " << text_of(f.at("rollback_error"));
    } else if (f.at("action") == "keep") {
      std::cout << "; kept (on_failure keep)";
    }
    std::cout << '\n';
  }
  for (const json::value& b : r.at("bad").as_array()) {
    std::cout << "  reloads refuse the content of generation " << text_of(b.at("generation"))
              << " until it changes\n";
  }
}

void print_status(const json::object& s) {
  std::cout << "confvisord pid " << text_of(s.at("pid")) << ", segment " << text_of(s.at("segment"))
            << ", config " << text_of(s.at("config"))
            << (s.at("stopping").as_bool() ? " (stopping)" : "") << '\n';
  std::cout << "generation " << text_of(s.at("generation")) << ", published "
            << text_of(s.at("published_at")) << ", from " << text_of(s.at("source")) << '\n';
  print_file_state(s);
  print_etcd(s);
  const json::object& last = s.at("last_reload").as_object();
  std::cout << "last reload: " << text_of(last.at("result"));
  if (!last.at("at").is_null())
    std::cout << " at " << text_of(last.at("at")) << " (" << text_of(last.at("trigger")) << ")";
  std::cout << '\n';
  if (!last.at("error").is_null()) std::cout << "  " << text_of(last.at("error")) << '\n';
  print_rollout(s);
  if (const json::value* tracking = s.if_contains("process_tracking"))
    std::cout << "process tracking: " << text_of(*tracking) << '\n';

  Table table({"WORKER", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "APPLIED", "STATUS",
               "MEMORY", "PROGRAM", "CGROUP"});
  std::vector<std::string> rejections;
  auto field = [](const json::object& i, std::string_view key) {
    const json::value* v = i.if_contains(key);
    if (v == nullptr || v->is_null()) return std::string("-");
    return v->is_number() ? human_size(v->to_number<std::size_t>()) : text_of(*v);
  };
  for (const json::value& v : s.at("workers").as_array()) {
    const json::object& i = v.as_object();
    const bool up = !i.at("pid").is_null();
    table.add(
        {instance_label(i), state_text(i), text_of(i.at("pid")),
         up ? format_uptime(std::chrono::milliseconds(i.at("uptime_ms").to_number<long long>()))
            : "-",
         text_of(i.at("restarts")), text_of(i.at("last_exit")), applied_text(i, rejections),
         text_of(i.at("status")), field(i, "memory_current"), field(i, "program"),
         field(i, "cgroup")});
  }
  if (!s.at("workers").as_array().empty()) table.print(std::cout);
  for (const std::string& line : rejections) std::cout << line << '\n';
}

// "passed", "ROLLED BACK as 6: worker api[0] crashed (exit code 3)", "-" if never verified.
std::string rollout_text(const json::object& g) {
  const json::value* r = g.if_contains("rollout");
  if (r == nullptr || !r->is_object()) return "-";
  const json::object& o = r->get_object();
  const std::string verdict = text_of(o.at("verdict"));
  if (verdict == "superseded") return "superseded by " + text_of(o.at("superseded_by"));
  if (verdict != "failed") return verdict;
  const std::string cause = text_of(o.at("failure").at("text"));
  if (!o.at("rolled_back_as").is_null())
    return "BAD, rolled back as " + text_of(o.at("rolled_back_as")) + ": " + cause;
  return (o.at("on_failure") == "keep" ? "failed, kept: " : "BAD, not rolled back: ") + cause;
}

void print_history(const json::array& h) {
  Table table({"GENERATION", "PUBLISHED AT", "SIZE", "ROLLOUT", "SOURCE"});
  for (const json::value& v : h) {
    const json::object& g = v.as_object();
    table.add({text_of(g.at("generation")) + (g.at("live").as_bool() ? " (live)" : ""),
               text_of(g.at("published_at")), human_size(g.at("size").to_number<std::size_t>()),
               rollout_text(g), text_of(g.at("source"))});
  }
  table.print(std::cout);
}

void print_change(const std::string& what, const json::object& c) {
  const std::string result = text_of(c.at("result"));
  if (result == "unchanged") {
    std::cout << what << " unchanged: generation " << text_of(c.at("generation"))
              << " already holds " << text_of(c.at("source")) << '\n';
  } else if (const json::value* canary = c.if_contains("canary"); canary && *canary == true) {
    std::cout << what << " ok: generation " << text_of(c.at("generation"))
              << " published to the canary from " << text_of(c.at("source"))
              << "; the other instances get it once the canary passes its verify window\n";
  } else {
    std::cout << what << " ok: generation " << text_of(c.at("generation")) << " published from "
              << text_of(c.at("source")) << '\n';
  }
  // The reply comes once the generation is live; changed workers are still restarting.
  std::string restarting;
  if (const json::value* names = c.if_contains("restarting"); names && names->is_array()) {
    for (const json::value& name : names->get_array())
      restarting += (restarting.empty() ? "" : ", ") + text_of(name);
  }
  if (!restarting.empty()) {
    std::cout << "restarting " << restarting
              << " one instance at a time: `confvisorctl status` shows how they come up\n";
  }
}

// An instance that failed and is not up again: what `status` exits kExitWorkerDown for.
bool worker_down(const json::object& status) {
  for (const json::value& v : status.at("workers").as_array()) {
    const json::value& state = v.at("state");
    if (state == "FATAL" || state == "BACKOFF") return true;
  }
  return false;
}

void print_instances(const json::object& r) {
  for (const json::value& v : r.at("instances").as_array()) {
    const json::object& i = v.as_object();
    std::cout << instance_label(i) << ": " << state_text(i);
    if (!i.at("pid").is_null()) std::cout << " (pid " << text_of(i.at("pid")) << ")";
    std::cout << '\n';
  }
}

// "2026-12-02T01:02:03.456Z api[0] stdout: TEXT", as in the worker's log file.
void print_log_lines(const Command& cmd, const json::value& result) {
  for (const json::value& v : result.at("lines").as_array()) {
    if (cmd.json) {
      std::cout << json::serialize(v) << '\n';
      continue;
    }
    const json::object& l = v.as_object();
    std::cout << text_of(l.at("time")) << ' ' << text_of(l.at("worker")) << '['
              << text_of(l.at("instance")) << "] " << text_of(l.at("stream")) << ": "
              << text_of(l.at("text"));
    if (const json::value* cut = l.if_contains("cut"); cut && *cut == true)
      std::cout << " [line cut at 4 KiB]";
    std::cout << '\n';
  }
  std::cout.flush();
}

void print_result(const Command& cmd, const json::value& result) {
  if (cmd.name == "logs") {
    print_log_lines(cmd, result);
  } else if (cmd.name == "get") {
    std::cout << json::serialize(result.at("value")) << '\n';
  } else if (cmd.json) {
    std::cout << json::serialize(result) << '\n';
  } else if (cmd.name == "status") {
    print_status(result.as_object());
  } else if (cmd.name == "history") {
    print_history(result.as_array());
  } else if (cmd.name == "reload" || cmd.name == "rollback") {
    print_change(cmd.name, result.as_object());
  } else {
    print_instances(result.as_object());
  }
}

json::object request_for(const Command& cmd) {
  json::object request = control::make_request(cmd.name);
  if (cmd.name == "get") request["pointer"] = cmd.args[0];
  if (cmd.name == "rollback") {
    std::uint64_t generation = 0;
    const std::string& text = cmd.args[0];
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), generation);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      throw UsageError{"rollback: expected a generation number, got \"" + text + "\""};
    }
    request["generation"] = generation;
  }
  if (cmd.name == "start" || cmd.name == "stop" || cmd.name == "restart" || cmd.name == "logs") {
    const Target target = parse_target(cmd.args[0]);
    request["worker"] = target.worker;
    if (target.instance) request["instance"] = *target.instance;
  }
  if (cmd.name == "logs") {
    if (cmd.lines) request["lines"] = *cmd.lines;
    if (cmd.follow) request["follow"] = true;
  }
  if (cmd.wait) {
    request["wait"] = true;
    request["timeout_ms"] = cmd.timeout.value_or(kDefaultTimeout).count();
  }
  return request;
}

int print_failure(const Command& cmd, const json::object& reply) {
  const std::string code = reply.contains("code") ? text_of(reply.at("code")) : "";
  const std::string error =
      reply.contains("error") ? text_of(reply.at("error")) : "no reason given";
  if (cmd.json) std::cout << json::serialize(reply) << '\n';
  std::cerr << "confvisorctl: " << cmd.name << " failed: " << error << '\n';
  return code == control::kDenied ? kExitDenied : kExitFailed;
}

bool ok(const json::object& reply) {
  const json::value* v = reply.if_contains("ok");
  return v != nullptr && v->is_bool() && v->get_bool();
}

// `logs -f` after its first reply: every line as it comes, until interrupted (or the daemon
// hangs up). Lines the daemon dropped because this client did not keep up are told where
// they are missing.
int follow_logs(const Command& cmd, control::Client& client) {
  for (;;) {
    json::object reply;
    try {
      reply = client.next_reply();
    } catch (const ClientError& e) {
      if (e.kind != ClientError::Kind::broken) throw;
      std::cout.flush();
      std::cerr << "confvisorctl: logs: confvisord ended the stream (it is stopping, or this "
                   "client read nothing for longer than its write timeout)\n";
      return kExitFailed;
    }
    if (!ok(reply)) return print_failure(cmd, reply);
    if (const json::value* dropped = reply.if_contains("dropped")) {
      if (cmd.json) {
        std::cout << json::serialize(json::object{{"dropped", *dropped}}) << '\n';
      } else {
        std::cout << "confvisorctl: " << text_of(*dropped)
                  << " lines dropped (this client did not keep up)\n";
      }
      std::cout.flush();
    }
    if (const json::value* result = reply.if_contains("result")) print_log_lines(cmd, *result);
    const json::value* more = reply.if_contains("more");
    if (more == nullptr || *more != true) return kExitOk;
  }
}

// The end of `reload --wait`: a line per reporting instance that did not apply the
// generation, and one if the generation failed its verify window, on stderr; exit 1 if there
// is one.
int print_wait(const Command& cmd, const json::object& result) {
  if (cmd.json) std::cout << json::serialize(result) << '\n';
  const json::object& wait = result.at("wait").as_object();
  const std::string generation = text_of(wait.at("generation"));
  std::size_t applied = 0, failed = 0;
  for (const json::value& v : wait.at("instances").as_array()) {
    const json::object& i = v.as_object();
    const std::string outcome = text_of(i.at("outcome"));
    if (outcome == "applied") {
      ++applied;
      continue;
    }
    ++failed;
    std::cerr << "confvisorctl: reload --wait: " << instance_label(i) << ' ';
    if (outcome == "rejected") {
      std::cerr << "rejected generation " << text_of(i.at("generation")) << ": "
                << text_of(i.at("detail"));
    } else if (outcome == "crashed") {
      std::cerr << "crashed: " << text_of(i.at("detail"));
    } else if (outcome == "held_back") {
      std::cerr << "never got generation " << generation << ": " << text_of(i.at("detail"));
    } else if (outcome == "interrupted") {
      std::cerr << "had not answered: " << text_of(i.at("detail"));
    } else {
      std::cerr << "did not answer in time: " << text_of(i.at("detail"));
    }
    std::cerr << '\n';
  }
  const json::value* rollout = wait.if_contains("rollout");
  const bool verify_failed = rollout != nullptr && rollout->is_object();
  if (verify_failed) {
    const json::object& r = rollout->as_object();
    std::cerr << "confvisorctl: reload --wait: generation " << generation
              << " failed its verify window: " << text_of(r.at("failure"));
    if (!r.at("rolled_back_as").is_null())
      std::cerr << "; rolled back as generation " << text_of(r.at("rolled_back_as"));
    else if (r.at("on_failure") == "keep")
      std::cerr << "; kept (on_failure keep)";
    else
      std::cerr << "; not rolled back yet (see confvisorctl status)";
    std::cerr << '\n';
  }
  if (!cmd.json) {
    std::cout << "generation " << generation << " applied by " << applied << " of "
              << applied + failed << " reporting instance(s)";
    std::string others;
    for (const json::value& name : wait.at("not_reporting").as_array())
      others += (others.empty() ? "" : ", ") + text_of(name);
    if (!others.empty()) std::cout << "; not reporting: " << others;
    std::cout << '\n';
  }
  return failed == 0 && !verify_failed && wait.at("applied").as_bool() ? kExitOk : kExitFailed;
}

// `reload --wait` after its first reply (the reload's): the wait's end, within its timeout
// and a margin for the daemon to answer.
int follow_wait(const Command& cmd, control::Client& client, std::chrono::milliseconds timeout) {
  json::object reply;
  try {
    reply = client.next_reply(timeout + kDefaultTimeout);
  } catch (const ClientError& e) {
    std::cerr << "confvisorctl: reload --wait: " << e.what() << '\n';
    return kExitFailed;
  }
  if (!ok(reply) || !reply.contains("result")) return print_failure(cmd, reply);
  return print_wait(cmd, reply.at("result").as_object());
}

}  // namespace

int daemon_command(const Command& cmd) {
  const json::object request = request_for(cmd);
  const auto timeout = cmd.timeout.value_or(
      cmd.name == "start" || cmd.name == "stop" || cmd.name == "restart"
          ? std::chrono::duration_cast<std::chrono::milliseconds>(kWorkerTimeout)
          : std::chrono::duration_cast<std::chrono::milliseconds>(kDefaultTimeout));
  control::Client client(find_socket(cmd));
  // With --wait the reload itself may take its checks' time: its reply comes within the
  // wait's timeout plus the usual one.
  const json::object reply = client.call(request, cmd.wait ? timeout + kDefaultTimeout : timeout);
  if (!ok(reply) || !reply.contains("result")) return print_failure(cmd, reply);
  print_result(cmd, reply.at("result"));
  if (cmd.name == "logs" && cmd.follow) return follow_logs(cmd, client);
  if (cmd.wait) {
    const json::value* more = reply.if_contains("more");
    if (more != nullptr && *more == true) return follow_wait(cmd, client, timeout);
    return kExitOk;  // nothing published (unchanged): nothing to wait for
  }
  if (cmd.name == "status" && worker_down(reply.at("result").as_object())) return kExitWorkerDown;
  return kExitOk;
}

}  // namespace confvisor::ctl
