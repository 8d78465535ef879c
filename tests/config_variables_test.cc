// ${VAR} and ${VAR:-default} in a worker's command, env values and cwd, expanded from the
// daemon's environment at load (so --check sees them) with errors at their pointer, and
// pass_env, which copies variables of the daemon's environment into a worker's.
#define BOOST_TEST_MODULE config_variables
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <string>

#include "common/base/error.hpp"
#include "daemon/config/model.hpp"
#include "daemon/config/variables.hpp"
#include "tests/support/config_documents.hpp"

using namespace confvisor;
using namespace confvisor::config;
using namespace confvisor::test;

namespace {

// The variables the cases read, set for the whole suite (names of their own, so nothing
// else in the environment decides).
struct Environment {
  Environment() {
    ::setenv("CVT_PORT", "8080", 1);
    ::setenv("CVT_EMPTY", "", 1);
    ::setenv("CVT_DIR", "/tmp", 1);
    ::setenv("CVT_TZ", "Europe/Paris", 1);
    ::unsetenv("CVT_UNSET");
  }
};
BOOST_TEST_GLOBAL_FIXTURE(Environment);

// A worker {"name": "w", BODY} (BODY has its command).
std::string worker_doc(std::string_view body) {
  return section(R"("workers": [{"name": "w", )" + std::string(body) + "}]");
}

WorkerSpec spec_of(std::string_view body) {
  const Settings settings = settings_of(worker_doc(body));
  BOOST_TEST_REQUIRE(settings.workers.size() == 1u);
  return settings.workers[0];
}

std::string expansion_error(std::string_view text) {
  try {
    (void)expand_variables(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(expanded)";
}

}  // namespace

BOOST_AUTO_TEST_CASE(references_expand_and_everything_else_stays) {
  BOOST_TEST(expand_variables("--port=${CVT_PORT}") == "--port=8080");
  BOOST_TEST(expand_variables("${CVT_UNSET:-80}/${CVT_EMPTY:-x}/${CVT_PORT:-1}") == "80/x/8080");
  BOOST_TEST(expand_variables("${CVT_EMPTY}") == "");
  BOOST_TEST(expand_variables("${CVT_UNSET:-}") == "");
  BOOST_TEST(expand_variables("$$ $${CVT_PORT} $$$$") == "$ ${CVT_PORT} $$");
  // A '$' not followed by '{' or '$' is left for the program (a shell script's "$HOME").
  BOOST_TEST(expand_variables("echo $HOME $1 a$ $") == "echo $HOME $1 a$ $");
  BOOST_TEST(expand_variables("") == "");
}

BOOST_AUTO_TEST_CASE(unset_and_malformed_references_are_errors) {
  BOOST_TEST(expansion_error("${CVT_UNSET}") ==
             "${CVT_UNSET} is not set (give it a default: ${CVT_UNSET:-VALUE})");
  const std::string forms = " (write ${NAME} or ${NAME:-DEFAULT}, and $$ for a literal $)";
  BOOST_TEST(expansion_error("a${") ==
             "\"${\" is not a variable reference: unterminated, no '}' follows" + forms);
  BOOST_TEST(expansion_error("${CVT_PORT") ==
             "\"${CVT_PORT\" is not a variable reference: unterminated, no '}' follows" + forms);
  for (const char* text : {"${1X}", "${}", "${-x}"}) {
    BOOST_TEST(expansion_error(text) ==
                   "\"" + std::string(text) +
                       "\" is not a variable reference: a variable name is letters, digits and "
                       "_, and does not start with a digit" +
                       forms,
               text);
  }
  BOOST_TEST(expansion_error("${A-b}") ==
             "\"${A-b}\" is not a variable reference: after the name comes '}' or \":-\" and a "
             "default" +
                 forms);
  BOOST_TEST(expansion_error("${A:-${B}}") ==
             "\"${A:-${B}\" is not a variable reference: a default cannot hold another "
             "reference" +
                 forms);
}

BOOST_AUTO_TEST_CASE(command_env_and_cwd_expand_at_load) {
  const WorkerSpec w = spec_of(R"("command": ["/bin/echo", "--port", "${CVT_PORT}", "$HOME", "$$1"],
      "env": {"PORT": "${CVT_PORT}", "URL": "http://localhost:${CVT_UNSET:-9000}/"},
      "cwd": "${CVT_DIR}")");
  BOOST_TEST(w.command == (Lines{"/bin/echo", "--port", "8080", "$HOME", "$1"}),
             boost::test_tools::per_element());
  BOOST_TEST(w.env.at("PORT") == "8080");
  BOOST_TEST(w.env.at("URL") == "http://localhost:9000/");
  BOOST_TEST(w.cwd.value_or("") == "/tmp");
}

// Workers see the document as written: the daemon's environment is its own to expand.
BOOST_AUTO_TEST_CASE(the_document_keeps_the_references_as_written) {
  const LoadResult result = load(worker_doc(R"("command": ["/bin/echo", "${CVT_PORT}"])"));
  BOOST_TEST_REQUIRE(result.errors.empty(), joined(result.errors));
  BOOST_TEST(result.config->document.at_pointer("/confvisor/workers/0/command/1").as_string() ==
             "${CVT_PORT}");
}

BOOST_AUTO_TEST_CASE(errors_name_the_pointer_of_the_string) {
  BOOST_TEST(errors_of(worker_doc(R"("command": ["/bin/echo", "a", "${CVT_UNSET}", "${1X}"],
      "env": {"A": "${CVT_UNSET}"}, "cwd": "${CVT_UNSET:-relative}")")) ==
                 (Lines{"t.json: /confvisor/workers/0/command/2: ${CVT_UNSET} is not set (give it "
                        "a default: ${CVT_UNSET:-VALUE})",
                        "t.json: /confvisor/workers/0/command/3: \"${1X}\" is not a variable "
                        "reference: a variable name is letters, digits and _, and does not start "
                        "with a digit (write ${NAME} or ${NAME:-DEFAULT}, and $$ for a literal $)",
                        "t.json: /confvisor/workers/0/env/A: ${CVT_UNSET} is not set (give it a "
                        "default: ${CVT_UNSET:-VALUE})",
                        "t.json: /confvisor/workers/0/cwd: \"${CVT_UNSET:-relative}\" expands to "
                        "\"relative\", not an absolute path"}),
             boost::test_tools::per_element());
  BOOST_TEST(error_of(worker_doc(R"("command": ["/bin/echo", "${CVT_EMPTY}"])")) ==
             "t.json: /confvisor/workers/0/command/1: \"${CVT_EMPTY}\" expands to an empty string");
}

BOOST_AUTO_TEST_CASE(references_outside_those_strings_are_data) {
  // Names, env keys, the app's own section: not expanded, not checked.
  const LoadResult result = load(R"({"confvisor": {"segment": "t", "workers": [
      {"name": "w", "command": ["/bin/true"], "env": {"${X}": "1"}}]}, "app": "${CVT_UNSET}"})");
  BOOST_TEST_REQUIRE(result.errors.empty(), joined(result.errors));
  BOOST_TEST(result.config->settings.workers[0].env.count("${X}") == 1u);
}

BOOST_AUTO_TEST_CASE(pass_env_copies_the_daemons_variables_and_env_wins) {
  const WorkerSpec w = spec_of(R"("command": ["/bin/true"],
      "pass_env": ["CVT_TZ", "CVT_PORT", "CVT_UNSET", "CVT_EMPTY"], "env": {"CVT_PORT": "1"})");
  BOOST_TEST(w.pass_env == (Lines{"CVT_TZ", "CVT_PORT", "CVT_UNSET", "CVT_EMPTY"}),
             boost::test_tools::per_element());
  // An unset variable is skipped, as systemd's PassEnvironment= does; an empty one is passed.
  const std::map<std::string, std::string> expected{
      {"CVT_TZ", "Europe/Paris"}, {"CVT_PORT", "1"}, {"CVT_EMPTY", ""}};
  BOOST_TEST((w.env == expected));
}

BOOST_AUTO_TEST_CASE(pass_env_names_are_checked) {
  BOOST_TEST(errors_of(worker_doc(R"("command": ["/bin/true"],
      "pass_env": ["A=B", "CONFVISOR_WORKER", 3, ""])")) ==
                 (Lines{"t.json: /confvisor/workers/0/pass_env/0: invalid variable name \"A=B\": "
                        "expected a non-empty name without '=' or NUL",
                        "t.json: /confvisor/workers/0/pass_env/1: \"CONFVISOR_WORKER\" is set by "
                        "confvisord for every worker",
                        "t.json: /confvisor/workers/0/pass_env/2: expected a string, got number 3",
                        "t.json: /confvisor/workers/0/pass_env/3: invalid variable name \"\": "
                        "expected a non-empty name without '=' or NUL"}),
             boost::test_tools::per_element());
  BOOST_TEST(error_of(worker_doc(R"("command": ["/bin/true"], "pass_env": "TZ")")) ==
             "t.json: /confvisor/workers/0/pass_env: expected an array, got \"TZ\"");
}
