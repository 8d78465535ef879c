#!/usr/bin/env bash
# Checks that every C and C++ file in git is formatted as .clang-format says, as CI does.
#
#   scripts/check-format.sh          list the files clang-format would change; exit 1 if any
#   scripts/check-format.sh --fix    reformat them in place
#
# The version is Debian 12's clang-format (14): another version may format differently.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

if ! command -v clang-format >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang-format
fi

mapfile -t files < <(git ls-files -- '*.cc' '*.hpp' '*.h' '*.c' ':!tests/data/')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi

# One clang-format for every file (one process per file takes 40 s): each place it would
# change is a "FILE:LINE:COL: error:" line, and the files are those lines' first field.
report=$(clang-format --dry-run -Werror "${files[@]}" 2>&1 >/dev/null) && status=0 || status=$?
mapfile -t unformatted < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*/\1/p' <<<"$report" | sort -u)
if ((status != 0 && ${#unformatted[@]} == 0)); then
  echo "check-format: clang-format failed (exit $status):" >&2
  echo "$report" >&2
  exit 1
fi
if ((${#unformatted[@]})); then
  echo "check-format: ${#unformatted[@]} file(s) not formatted as .clang-format says:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "check-format: run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
