#!/usr/bin/env bash
# Installs what is missing, builds confvisor into build/, and shows a live reload: confvisord
# publishes config/demo.json into segment "demo" and starts its workers (two copies of the
# example worker, which read the segment, and a legacy shell service); the config file is
# edited and the daemon sent SIGHUP: the readers see generation 2 the moment it is
# published, without restarting, and the legacy service gets its SIGHUP.
#
# CONFVISOR_BUILD_DIR overrides the build directory (default: build).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

build_dir=${CONFVISOR_BUILD_DIR:-build}
segment=demo
ctl=$build_dir/bin/confvisorctl
daemon=$build_dir/bin/confvisord
daemon_pid=
live_dir=

remove_segment() {
  # The segment itself, plus the side objects a move to a larger segment can leave
  # (confvisor.demo.prev, confvisor.demo.new.PID).
  rm -f "/dev/shm/confvisor.$segment" /dev/shm/confvisor."$segment".*
}

# Sends SIGTERM to process $2 (named $1), waits up to 5 s, then SIGKILL.
stop() {
  local name=$1 pid=$2
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  echo "== stopping the $name (SIGTERM) =="
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: the $name did not stop within 5 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local status=0
  wait "$pid" 2>/dev/null || status=$?
  echo "the $name exited with status $status"
}

cleanup() {
  local status=$?
  stop daemon "$daemon_pid"
  remove_segment
  [[ -n "$live_dir" ]] && rm -rf "$live_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/setup-deps.sh

echo "== building confvisord, confvisorctl and confvisor-example-worker in $build_dir =="
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONFVISOR_WERROR=ON
cmake --build "$build_dir" -j "$(nproc)" --target confvisord confvisorctl confvisor-example-worker

remove_segment  # start from generation 1 even if an earlier run was killed

# The daemon reads a live copy, so the demo can edit it without touching config/. The
# workers' commands are relative to this directory (the repository root).
live_dir=$(mktemp -d /tmp/confvisor-demo-XXXXXX)
live=$live_dir/app.json
cp config/demo.json "$live"
sed -i "s|build/bin/|$build_dir/bin/|" "$live"

echo "== confvisord --check --config $live =="
"$daemon" --check --config "$live"
echo "== starting confvisord: it publishes $live into /dev/shm/confvisor.$segment and starts the workers =="
"$daemon" --config "$live" &
daemon_pid=$!
sleep 2
sock=/run/confvisor/$segment.sock  # the default /confvisor/socket of segment demo
echo "== confvisorctl status: the daemon answers on $sock =="
"$ctl" --socket "$sock" status

echo "== editing the config (database moves to db2:6432, new_checkout on) and sending SIGHUP =="
cp config/demo-v2.json "$live"
sed -i "s|build/bin/|$build_dir/bin/|" "$live"
kill -HUP "$daemon_pid"
sleep 1.5

echo "== a broken edit, reloaded with confvisorctl: refused, and generation 2 stays published =="
echo '{ "confvisor": { "segment": "demo" }, "database": { "port": 5432, }, oops }' >"$live"
status=0
"$ctl" --socket "$sock" reload || status=$?
echo "(confvisorctl reload exited $status)"
echo "== confvisorctl history =="
"$ctl" --socket "$sock" history

echo "== confvisorctl show --segment $segment =="
"$ctl" show --segment "$segment"
echo "== confvisorctl get /database/port --segment $segment =="
"$ctl" get /database/port --segment "$segment"
