#include "daemon/ctl/etcd_push.hpp"

#include <boost/json/serialize.hpp>
#include <iostream>

#include "common/base/error.hpp"
#include "common/os/regular_file.hpp"
#include "daemon/config/credentials.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/overlay.hpp"
#include "daemon/etcd/kv_client.hpp"

namespace confvisor::ctl {

namespace {

// What `daemon/config/overlay.hpp` refuses whatever the daemon's prefix is: the prefix ends
// in '/', so a key lands in /confvisor exactly when one of its segments after the prefix is
// "confvisor". Not knowing the prefix, any such segment is refused.
void check_key(const std::string& key) {
  if (key.empty()) throw UsageError{"push: --key is empty"};
  for (std::size_t begin = 0; begin <= key.size();) {
    const std::size_t slash = std::min(key.find('/', begin), key.size());
    if (key.compare(begin, slash - begin, "confvisor") == 0) {
      throw Error("push refused: key " + key +
                  " has a \"confvisor\" segment: under a prefix it would land in /confvisor, "
                  "and nothing from etcd may (it decides what runs, and as whom)");
    }
    begin = slash + 1;
  }
}

// FILE's document as the daemon reads a value: its rules for JSON text, and for the key
// equal to the prefix no "confvisor" member. The value is written compact: etcd holds plain
// JSON that every client reads.
std::string checked_value(const std::string& file) {
  const RegularFile read = read_regular_file(file, config::Settings{}.max_config_size);
  if (read.refusal != FileRefusal::none) {
    throw Error(file + ": " + config::file_refusal(read, config::Settings{}.max_config_size));
  }
  config::ParsedText parsed = config::parse_config_text(read.text, file);
  if (!parsed.errors.empty()) throw Error(parsed.errors.joined("\n"));
  if (parsed.value->is_object() && parsed.value->as_object().contains("confvisor")) {
    throw Error(file +
                ": /confvisor: refused: nothing from etcd may land in /confvisor (it "
                "decides what runs, and as whom)");
  }
  return boost::json::serialize(*parsed.value);
}

std::string checked_file(const std::string& path) {
  config::check_credential_file(path);
  return path;
}

etcd::SourceOptions where(const Command& cmd) {
  etcd::SourceOptions options;
  const std::string& list = *cmd.etcd;
  for (std::size_t begin = 0; begin <= list.size();) {
    const std::size_t comma = std::min(list.find(',', begin), list.size());
    try {
      options.endpoints.push_back(etcd::parse_endpoint(list.substr(begin, comma - begin)));
    } catch (const Error& e) {
      throw UsageError{std::string("--etcd: ") + e.what()};
    }
    begin = comma + 1;
  }
  if (cmd.timeout) options.request_timeout = *cmd.timeout;
  // The daemon's rules for /confvisor/source/etcd's tls and auth: files readable now, TLS for
  // https endpoints only, the password the file's first line.
  if (cmd.cacert || cmd.cert) {
    for (const etcd::Endpoint& e : options.endpoints) {
      if (!e.tls()) {
        throw UsageError{
            "--cacert, --cert and --key-file apply to https:// endpoints; --etcd "
            "names " +
            e.text()};
      }
    }
    etcd::Tls tls;
    if (cmd.cacert) tls.ca = checked_file(*cmd.cacert);
    if (cmd.cert) tls.cert = checked_file(*cmd.cert);
    if (cmd.key_file) tls.key = checked_file(*cmd.key_file);
    options.tls = std::move(tls);
  }
  if (cmd.user) {
    if (cmd.user->empty()) throw UsageError{"--user: expected a non-empty user name"};
    options.auth = etcd::Auth{*cmd.user, config::read_password_file(*cmd.password_file)};
  }
  return options;
}

}  // namespace

int etcd_push(const Command& cmd) {
  const std::string& file = cmd.args[0];
  const std::string& key = *cmd.key;
  check_key(key);
  const std::string value = checked_value(file);
  const etcd::SourceOptions options = where(cmd);
  std::int64_t expected = 0;
  if (cmd.if_revision) {
    expected = *cmd.if_revision;
  } else if (const auto current = etcd::get_key(options, key)) {
    expected = current->mod_revision;
  }
  const etcd::PutOutcome outcome = etcd::put_if_mod_revision(options, key, value, expected);
  if (!outcome.succeeded) {
    std::cerr << "confvisorctl: push refused: " << key
              << (outcome.current_mod_revision == 0
                      ? std::string(" does not exist")
                      : " was changed at revision " + std::to_string(outcome.current_mod_revision))
              << ", not at "
              << (expected == 0 ? std::string("none (absent)") : std::to_string(expected))
              << " as expected: read it again (etcdctl get " << key << "), or pass --if-revision "
              << outcome.current_mod_revision << '\n';
    return kExitFailed;
  }
  std::cout << "push ok: " << key << " at revision " << outcome.revision << " (" << value.size()
            << " bytes, was mod_revision " << expected << ")\n";
  return kExitOk;
}

}  // namespace confvisor::ctl
