#!/usr/bin/env bash
# Installs what is missing, builds confvisor into build/, and shows a live reload: a worker
# reading segment "demo" sees generation 2 of the config the moment it is published,
# without restarting.
#
# CONFVISOR_BUILD_DIR overrides the build directory (default: build).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

build_dir=${CONFVISOR_BUILD_DIR:-build}
segment=demo
ctl=$build_dir/bin/confvisorctl
worker=$build_dir/bin/confvisor-example-worker
worker_pid=

remove_segment() {
  # The segment itself, plus the side objects a move to a larger segment can leave
  # (confvisor.demo.prev, confvisor.demo.new.PID).
  rm -f "/dev/shm/confvisor.$segment" /dev/shm/confvisor."$segment".*
}

cleanup() {
  local status=$?
  if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
    echo "== stopping the worker (SIGTERM) =="
    kill -TERM "$worker_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$worker_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$worker_pid" 2>/dev/null; then
      echo "demo: worker did not stop within 5 s, killing it" >&2
      kill -KILL "$worker_pid" 2>/dev/null || true
    fi
    local worker_status=0
    wait "$worker_pid" 2>/dev/null || worker_status=$?
    echo "worker exited with status $worker_status"
  fi
  remove_segment
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/setup-deps.sh

echo "== building confvisorctl and confvisor-example-worker in $build_dir =="
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONFVISOR_WERROR=ON
cmake --build "$build_dir" -j "$(nproc)" --target confvisorctl confvisor-example-worker

remove_segment  # start from generation 1 even if an earlier run was killed

echo "== publishing config/demo.json into /dev/shm/confvisor.$segment =="
"$ctl" publish config/demo.json --segment "$segment"

echo "== starting a worker that watches /database and /features =="
"$worker" --segment "$segment" /database /features &
worker_pid=$!
sleep 1
if ! kill -0 "$worker_pid" 2>/dev/null; then
  echo "demo: the worker exited early" >&2
  exit 1
fi

echo "== editing the config and publishing generation 2 =="
"$ctl" publish config/demo-v2.json --segment "$segment"
sleep 1

echo "== confvisorctl show --segment $segment =="
"$ctl" show --segment "$segment"
echo "== confvisorctl get /database/port --segment $segment =="
"$ctl" get /database/port --segment "$segment"
