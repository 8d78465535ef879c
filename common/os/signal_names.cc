#include "common/os/signal_names.hpp"

#include <array>
#include <csignal>

namespace confvisor {
namespace {

struct NamedSignal {
  std::string_view name;  // without "SIG"
  int number;
};

// The standard signals of signal(7); the first entry for a number is its canonical name.
constexpr std::array kSignals{
    NamedSignal{"HUP", SIGHUP},       NamedSignal{"INT", SIGINT},
    NamedSignal{"QUIT", SIGQUIT},     NamedSignal{"ILL", SIGILL},
    NamedSignal{"TRAP", SIGTRAP},     NamedSignal{"ABRT", SIGABRT},
    NamedSignal{"IOT", SIGIOT},       NamedSignal{"BUS", SIGBUS},
    NamedSignal{"FPE", SIGFPE},       NamedSignal{"KILL", SIGKILL},
    NamedSignal{"USR1", SIGUSR1},     NamedSignal{"SEGV", SIGSEGV},
    NamedSignal{"USR2", SIGUSR2},     NamedSignal{"PIPE", SIGPIPE},
    NamedSignal{"ALRM", SIGALRM},     NamedSignal{"TERM", SIGTERM},
    NamedSignal{"STKFLT", SIGSTKFLT}, NamedSignal{"CHLD", SIGCHLD},
    NamedSignal{"CLD", SIGCHLD},      NamedSignal{"CONT", SIGCONT},
    NamedSignal{"STOP", SIGSTOP},     NamedSignal{"TSTP", SIGTSTP},
    NamedSignal{"TTIN", SIGTTIN},     NamedSignal{"TTOU", SIGTTOU},
    NamedSignal{"URG", SIGURG},       NamedSignal{"XCPU", SIGXCPU},
    NamedSignal{"XFSZ", SIGXFSZ},     NamedSignal{"VTALRM", SIGVTALRM},
    NamedSignal{"PROF", SIGPROF},     NamedSignal{"WINCH", SIGWINCH},
    NamedSignal{"IO", SIGIO},         NamedSignal{"POLL", SIGPOLL},
    NamedSignal{"PWR", SIGPWR},       NamedSignal{"SYS", SIGSYS},
};

}  // namespace

std::optional<int> signal_number(std::string_view name) {
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const NamedSignal& signal : kSignals) {
    if (signal.name == name) return signal.number;
  }
  return std::nullopt;
}

std::string signal_name(int number) {
  for (const NamedSignal& signal : kSignals) {
    if (signal.number == number) return "SIG" + std::string(signal.name);
  }
  return "signal " + std::to_string(number);
}

}  // namespace confvisor
