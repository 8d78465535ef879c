#!/usr/bin/env bash
# The shipped units pass `systemd-analyze verify` with no complaint at all. The units name
# /usr/bin/confvisord and /usr/bin/confvisorctl; verify checks that the binaries exist, so a
# copy names the ones just built.
#   usage: systemd_units_test.sh BUILT_CONFVISORD UNIT_DIR BUILT_CONFVISORCTL
set -euo pipefail
confvisord=$(readlink -f "$1")
unit_dir=$2
confvisorctl=$(readlink -f "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$unit_dir"/*.service; do
  sed -e "s|/usr/bin/confvisord|$confvisord|g" -e "s|/usr/bin/confvisorctl|$confvisorctl|g" \
    "$unit" >"$work/$(basename "$unit")"
done
# A template is verified through an instance of it.
cp "$work/confvisord@.service" "$work/confvisord@demo.service"
cd "$work"
output=$(systemd-analyze verify ./confvisord.service ./confvisord@demo.service 2>&1) || {
  echo "$output"
  echo "systemd-analyze verify failed"
  exit 1
}
if [[ -n "$output" ]]; then
  echo "$output"
  echo "systemd-analyze verify complained"
  exit 1
fi
echo "systemd units: ok"
