#!/usr/bin/env bash
# The bash completion for confvisorctl (scripts/completion/confvisorctl.bash), sourced in a
# plain bash as bash-completion would load it, against a real confvisord: commands and
# options (every one confvisorctl --help lists), worker names and NAME:INSTANCE from the
# running daemon through --socket and through --config, the kept generations for rollback,
# segment names for --segment; and when the daemon is gone or stopped (SIGSTOP), nothing
# offered within a bound instead of a hung shell.
#   usage: install_completion_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$(readlink -f "$1")
source_dir=$(readlink -f "$2")
completion=$source_dir/scripts/completion/confvisorctl.bash

work=$(mktemp -d /tmp/confvisor-completion.XXXXXX)
segment=t-completion-$$
daemon=
cleanup() {
  if [[ -n "$daemon" ]]; then
    kill -CONT "$daemon" 2>/dev/null || true
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  exec 3<&- 2>/dev/null || true
  rm -f "/dev/shm/confvisor.$segment" "/dev/shm/confvisor.$segment".*
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# completions LINE: what the completion offers at the end of LINE, sorted, one a line.
completions() {
  PATH=$bin:$PATH bash --norc --noprofile -c '
    source "$1" || exit 1
    COMP_LINE=$2 COMP_POINT=${#2}
    read -ra COMP_WORDS <<<"$2"
    [[ "$2" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _confvisorctl
    printf "%s\n" "${COMPREPLY[@]}"' completion "$completion" "$1" | { grep -v '^$' || true; } | sort
}
# expect_completions LINE WANTED...: exactly these are offered.
expect_completions() {
  local line=$1 got wanted
  shift
  got=$(completions "$line" | xargs)
  wanted=$(printf '%s\n' "$@" | sort | xargs)
  if [[ "$got" != "$wanted" ]]; then
    fail "'$line<TAB>' offers '$got', expected '$wanted'"
  else
    echo "'$line<TAB>': ${got:-(nothing)}"
  fi
}

# --- registration, commands, options -------------------------------------------------------
registered=$(bash --norc --noprofile -c 'source "$1" && complete -p confvisorctl' _ "$completion")
[[ "$registered" == "complete -F _confvisorctl confvisorctl" ]] || fail "the file registers '$registered'"

help=$("$bin/confvisorctl" --help)
commands=$(awk '/^commands/ { in_list = 1; next } /^[^ ]/ { in_list = 0 } in_list && /^  [a-z]/ { print $1 }' <<<"$help" |
  tr '|' '\n' | sort -u)
offered=$(completions "confvisorctl ")
for command in $commands; do
  grep -qxF "$command" <<<"$offered" || fail "'confvisorctl <TAB>' does not offer $command (from --help): $(xargs <<<"$offered")"
done
echo "'confvisorctl <TAB>': $(xargs <<<"$offered")"
expect_completions "confvisorctl st" start status stop
expect_completions "confvisorctl --socket /x --json rel" reload
long_options=$(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
for option in $long_options; do
  completions "confvisorctl --" | grep -qxF -- "$option" || fail "'confvisorctl --<TAB>' does not offer $option"
done
expect_completions "confvisorctl --ti" --timeout
expect_completions "confvisorctl status "  # a command takes no second command

# --- a running daemon ----------------------------------------------------------------------
socket=$work/control.sock
cat >"$work/config.json" <<EOF
{
  "confvisor": {
    "segment": "$segment",
    "socket": "$socket",
    "workers": [
      { "name": "api", "command": ["/bin/sleep", "600"], "instances": 2, "stop_timeout": "2s" },
      { "name": "report.nightly-1", "command": ["/bin/sleep", "600"], "stop_timeout": "2s" }
    ]
  },
  "app": { "version": 1 }
}
EOF
# The daemon's log goes through a FIFO: the test reads it up to the ready line (no polling),
# then a background cat drains the rest so the daemon never blocks on stderr.
mkfifo "$work/log.fifo"
"$bin/confvisord" --config "$work/config.json" 2>"$work/log.fifo" &
daemon=$!
exec 3<"$work/log.fifo"
ready=
while IFS= read -r -t 30 -u 3 line; do
  echo "$line" >>"$work/daemon.log"
  if [[ "$line" == *"ready: generation 1"* ]]; then
    ready=1
    break
  fi
done
cat <&3 >>"$work/daemon.log" &
if [[ -z "$ready" ]]; then
  cat "$work/daemon.log" >&2
  echo "FAIL: confvisord did not get ready within 30 s" >&2
  exit 1
fi

expect_completions "confvisorctl --socket $socket stop " api report.nightly-1
expect_completions "confvisorctl --socket $socket restart re" report.nightly-1
expect_completions "confvisorctl --config $work/config.json start " api report.nightly-1
expect_completions "confvisorctl -c $work/config.json --json start a" api
# Bash replaces the part after the ':' (a word break), so that is what is offered.
expect_completions "confvisorctl --socket $socket stop api:" 0 1
expect_completions "confvisorctl --socket $socket stop api:1 "  # one worker per command
expect_completions "confvisorctl --segment t-completion-$$" "$segment"

# rollback: the kept generations that are not live.
sed -i 's/"version": 1/"version": 2/' "$work/config.json"
"$bin/confvisorctl" --socket "$socket" reload >"$work/reload.log" 2>&1 || {
  cat "$work/reload.log" >&2
  fail "confvisorctl reload failed"
}
expect_completions "confvisorctl --socket $socket rollback " 1

# --- a daemon that cannot answer -----------------------------------------------------------
# bounded LINE: completing LINE ends within 5 s (the completion asks with --timeout 1s) and
# offers nothing.
bounded() {
  local start=$SECONDS got
  got=$(timeout 10 bash -c "$(declare -f completions); completion='$completion' bin='$bin'; completions \"\$1\"" _ "$1" | xargs) ||
    fail "'$1<TAB>' failed or hung past 10 s"
  (((SECONDS - start) <= 5)) || fail "'$1<TAB>' took $((SECONDS - start)) s"
  [[ -z "$got" ]] || fail "'$1<TAB>' offers '$got' from a daemon that cannot answer"
}
kill -STOP "$daemon"
bounded "confvisorctl --socket $socket stop "
kill -CONT "$daemon"
expect_completions "confvisorctl --socket $socket stop " api report.nightly-1
kill -TERM "$daemon"
wait "$daemon" || fail "confvisord exited $? on SIGTERM"
daemon=
bounded "confvisorctl --socket $socket stop "
bounded "confvisorctl --socket $work/none.sock rollback "

if ((failures)); then
  echo "bash completion: $failures check(s) failed" >&2
  exit 1
fi
echo "bash completion: ok"
