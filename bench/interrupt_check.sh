#!/bin/sh
# An interrupted confvisor-bench leaves nothing behind. SIGINT reaches it while the real
# confvisord runs under it; then neither the run's directory, nor its segment or lock file,
# nor its daemon may remain, and the bench ends by the signal (exit status 130).
#
#   interrupt_check.sh BENCH
set -u
bench=$1

"$bench" --only daemon --quick >/dev/null 2>&1 &
pid=$!

# The run is under way once its daemon has published (bounded: 60 s).
tries=0
until ls /dev/shm/confvisor.bench-daemon-*-"$pid"-* >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "interrupt_check: the bench (pid $pid) never had its daemon publish" >&2
    kill -KILL "$pid" 2>/dev/null
    exit 1
  fi
  sleep 0.1
done
daemon=$(pgrep -P "$pid" -x confvisord)
if [ -z "$daemon" ]; then
  echo "interrupt_check: no confvisord child of the bench (pid $pid)" >&2
  kill -KILL "$pid" 2>/dev/null
  exit 1
fi

kill -INT "$pid"
wait "$pid"
status=$?

failed=0
if [ "$status" -ne 130 ]; then
  echo "interrupt_check: the bench exited with status $status, not 130 (SIGINT)" >&2
  failed=1
fi
for left in /tmp/confvisor-bench-"$pid"-* /dev/shm/confvisor.bench-*-"$pid"-*; do
  if [ -e "$left" ]; then
    echo "interrupt_check: left behind: $left" >&2
    rm -rf "$left"
    failed=1
  fi
done
if kill -0 "$daemon" 2>/dev/null; then
  echo "interrupt_check: the bench's confvisord (pid $daemon) outlived it" >&2
  kill -KILL "$daemon"
  failed=1
fi
exit "$failed"
