# bash completion for confvisorctl: commands, options, and from the running daemon the worker
# names (start, stop, restart, logs NAME or NAME:INSTANCE) and the kept generations (rollback).
# Installed as share/bash-completion/completions/confvisorctl, which bash-completion loads
# on first use; it needs none of bash-completion's helpers, so `source` works as well.
#
# The daemon is asked through the same --socket or --config as the line being typed, with a
# short --timeout, so a missing or stuck daemon never holds up the shell.

# Runs the program being completed, with the line's --socket or --config (the caller's
# locals _confvisorctl_program and _confvisorctl_daemon_args).
_confvisorctl_query() {
  "$_confvisorctl_program" "${_confvisorctl_daemon_args[@]}" --timeout 1s --json "$1" 2>/dev/null
}

# Names, or NAME:INSTANCE when the word already holds a colon, from `status --json`; its
# exit code may say a worker is down, the output is still good. The daemon writes each
# instance as {"name":"...","instance":N,...}.
_confvisorctl_workers() {
  local cur=$1 status pairs
  status=$(_confvisorctl_query status) || [[ -n "$status" ]] || return 0
  pairs=$(grep -oE '"name":"[A-Za-z0-9_.-]+","instance":[0-9]+' <<<"$status" |
    sed -E 's/^"name":"([^"]+)","instance":([0-9]+)$/\1:\2/')
  if [[ "$cur" == *:* ]]; then
    compgen -W "$pairs" -- "$cur"
  else
    compgen -W "$(sed 's/:[0-9]*$//' <<<"$pairs" | sort -u)" -- "$cur"
  fi
}

# The kept generations that are not live, from `history --json`.
_confvisorctl_generations() {
  local cur=$1 history
  history=$(_confvisorctl_query history) || [[ -n "$history" ]] || return 0
  compgen -W "$(grep -oE '\{"generation":[0-9]+[^}]*"live":false' <<<"$history" |
    sed -E 's/^\{"generation":([0-9]+).*/\1/')" -- "$cur"
}

# Segment names: /dev/shm/confvisor.NAME, without the private names a segment move uses.
_confvisorctl_segments() {
  local cur=$1 path names=()
  for path in /dev/shm/confvisor.*; do
    [[ -e "$path" ]] || continue
    path=${path#/dev/shm/confvisor.}
    [[ "$path" =~ ^[A-Za-z0-9_-]+$ ]] && names+=("$path")
  done
  compgen -W "${names[*]}" -- "$cur"
}

_confvisorctl() {
  local commands="status reload start stop restart logs history rollback get show publish remove push"
  local options="--socket --config --segment --json --timeout --wait --history --mode --force --lines --follow
                 --etcd --key --if-revision --cacert --cert --key-file --user --password-file
                 --help --version"
  # Words split at blanks only: COMP_WORDS also splits at ':' and '=' (COMP_WORDBREAKS),
  # which would cut NAME:INSTANCE in two.
  local line=${COMP_LINE:0:COMP_POINT} words=() cur=""
  read -ra words <<<"$line"
  [[ "$line" =~ [[:space:]]$ ]] || { cur=${words[-1]}; unset 'words[-1]'; }
  local prev=${words[-1]:-}

  # The program as typed (build/bin/confvisorctl, say), unless bash-completion's sudo or
  # similar handed us another first word.
  local _confvisorctl_program=confvisorctl _confvisorctl_daemon_args=()
  [[ "${words[0]}" == *confvisorctl ]] && _confvisorctl_program=${words[0]}
  local command="" arguments=0 i word
  for ((i = 1; i < ${#words[@]}; i++)); do
    word=${words[i]}
    case "$word" in
      --socket | --config | -c)
        _confvisorctl_daemon_args+=("$word" "${words[i + 1]:-}")
        ((i += 1))
        ;;
      --segment | -s | --timeout | --history | --mode | --lines | -n | --etcd | --key | \
        --if-revision | --cacert | --cert | --key-file | --user | --password-file) ((i += 1)) ;;
      --socket=* | --config=*) _confvisorctl_daemon_args+=("$word") ;;
      -*) ;;
      *) if [[ -z "$command" ]]; then command=$word; else ((arguments += 1)); fi ;;
    esac
  done

  local replies=()
  case "$prev" in
    --socket | --config | -c | --cacert | --cert | --key-file | --password-file)
      compopt -o filenames 2>/dev/null
      mapfile -t replies < <(compgen -f -- "$cur")
      ;;
    --segment | -s) mapfile -t replies < <(_confvisorctl_segments "$cur") ;;
    --timeout | --history | --mode | --etcd | --key | --if-revision | --user) ;;
    --lines | -n) mapfile -t replies < <(compgen -W "10 100 1000 all" -- "$cur") ;;
    *)
      if [[ "$cur" == -* ]]; then
        mapfile -t replies < <(compgen -W "$options -c -s -h -n -f" -- "$cur")
      elif [[ -z "$command" ]]; then
        mapfile -t replies < <(compgen -W "$commands" -- "$cur")
      elif ((arguments == 0)); then
        case "$command" in
          start | stop | restart | logs) mapfile -t replies < <(_confvisorctl_workers "$cur") ;;
          rollback) mapfile -t replies < <(_confvisorctl_generations "$cur") ;;
          publish | push)
            compopt -o filenames 2>/dev/null
            mapfile -t replies < <(compgen -f -- "$cur")
            ;;
        esac
      fi
      ;;
  esac
  # Bash replaces only the part of the word after its last ':' (a word break): drop what
  # precedes it from each reply, as bash-completion's __ltrim_colon_completions does.
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    local colon_prefix=${cur%"${cur##*:}"}
    replies=("${replies[@]#"$colon_prefix"}")
  fi
  COMPREPLY=("${replies[@]}")
}

complete -F _confvisorctl confvisorctl
