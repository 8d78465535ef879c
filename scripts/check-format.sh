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

unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" 2>/dev/null || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "check-format: ${#unformatted[@]} file(s) not formatted as .clang-format says:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "check-format: run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
