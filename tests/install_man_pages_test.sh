#!/usr/bin/env bash
# The manual pages in docs/man: each renders without a warning (groff -ww, and man-db's own
# check), confvisord(8) and confvisorctl(8) name every option and command the programs' --help
# lists, and confvisor.json(5) names every key of the config schema. So a new flag, command
# or config key without its page fails here.
#   usage: install_man_pages_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$(readlink -f "$1")
source_dir=$(readlink -f "$2")
pages=$source_dir/docs/man

work=$(mktemp -d /tmp/confvisor-man.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

export LC_ALL=C.UTF-8 MANWIDTH=80

# --- rendering -----------------------------------------------------------------------------
for page in confvisord.8 confvisorctl.8 confvisor.json.5; do
  [[ -f "$pages/$page" ]] || { fail "docs/man/$page is missing"; continue; }
  if ! groff -man -ww -z "$pages/$page" >"$work/groff.log" 2>&1 || [[ -s "$work/groff.log" ]]; then
    fail "$page: groff -man -ww warns: $(head -5 "$work/groff.log")"
  fi
  if command -v man >/dev/null; then
    if ! man --warnings -l "$pages/$page" >/dev/null 2>"$work/man.log" || [[ -s "$work/man.log" ]]; then
      fail "$page: man --warnings -l warns: $(head -5 "$work/man.log")"
    fi
  else
    echo "man (man-db) is not installed: only groff checked $page"
  fi
  # Plain text on one very long line per paragraph: nothing is hyphenated or wrapped, so a
  # token such as --log-level is found whole.
  groff -man -Tascii -P-cbou -rLL=5000n -rHY=0 "$pages/$page" >"$work/$page.txt"
  (($(wc -w <"$work/$page.txt") > 100)) || fail "$page renders to almost nothing"
done

# mentions PAGE TOKEN: the rendered page has TOKEN as a word of its own.
mentions() {
  grep -qE -- "(^|[^A-Za-z0-9_-])$(sed 's/[.[\*^$|+?(){}]/\\&/g' <<<"$2")([^A-Za-z0-9_-]|$)" "$work/$1.txt"
}
# options_of HELP_TEXT: every -x and --long-name in a --help text, one a line.
options_of() { grep -oE -- '(^|[][ |,])(--[a-z][a-z-]*|-[a-zA-Z])\b' <<<"$1" | sed -E 's/^[][ |,]//' | sort -u; }

# --- confvisord(8): every option of --help -------------------------------------------------
help=$("$bin/confvisord" --help)
count=0
while read -r option; do
  count=$((count + 1))
  mentions confvisord.8 "$option" || fail "confvisord.8 does not document $option (from confvisord --help)"
done < <(options_of "$help")
((count >= 5)) || fail "found only $count options in confvisord --help"

# --- confvisorctl(8): every option and command of --help ------------------------------------
help=$("$bin/confvisorctl" --help)
count=0
while read -r option; do
  count=$((count + 1))
  mentions confvisorctl.8 "$option" || fail "confvisorctl.8 does not document $option (from confvisorctl --help)"
done < <(options_of "$help")
((count >= 8)) || fail "found only $count options in confvisorctl --help"
# Commands are the first word of the indented lines under "commands ...:" headings.
commands=$(awk '/^commands/ { in_list = 1; next } /^[^ ]/ { in_list = 0 } in_list && /^  [a-z]/ { print $1 }' <<<"$help" |
  tr '|' '\n' | sort -u)
(($(wc -l <<<"$commands") >= 10)) || fail "found only these commands in confvisorctl --help: $commands"
for command in $commands; do
  mentions confvisorctl.8 "$command" || fail "confvisorctl.8 does not document the command $command"
done
# Each exit code --help names has its entry under EXIT STATUS.
codes=$(sed -n '/^Exit codes/,/^$/p' <<<"$help" | grep -oE '(^|[ ,])[0-9] [a-z(]' | grep -oE '[0-9]')
(($(wc -w <<<"$codes") >= 5)) || fail "found only these exit codes in confvisorctl --help: $codes"
awk '/^EXIT STATUS/ { in_list = 1; next } /^[^ ]/ { in_list = 0 } in_list' "$work/confvisorctl.8.txt" >"$work/exit.txt"
for code in $codes; do
  grep -qE "^ +$code( |\$)" "$work/exit.txt" || fail "confvisorctl.8 has no EXIT STATUS entry for $code"
done

# --- confvisor.json(5): every key of the schema --------------------------------------------
if command -v python3 >/dev/null; then
  keys=$(python3 - "$source_dir/config/confvisor.schema.json" <<'EOF'
import json, sys
schema = json.load(open(sys.argv[1]))
seen = set()
def walk(node):
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            seen.add(key)
            walk(value)
        for value in node.values():
            if isinstance(value, (dict, list)):
                walk(value)
    elif isinstance(node, list):
        for value in node:
            walk(value)
walk(schema["$defs"])
print("\n".join(sorted(seen)))
EOF
  )
  (($(wc -l <<<"$keys") >= 30)) || fail "found only $(wc -l <<<"$keys") keys in the schema"
  for key in $keys; do
    mentions confvisor.json.5 "$key" || fail "confvisor.json.5 does not document the key $key (in config/confvisor.schema.json)"
  done
else
  echo "SKIP: python3 is not installed, so confvisor.json.5 was not checked against the schema's keys"
fi

if ((failures)); then
  echo "man pages: $failures check(s) failed" >&2
  exit 1
fi
echo "man pages: ok"
