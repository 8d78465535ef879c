#!/usr/bin/env bash
# A user's view of the installed package: `cmake --install` into a scratch prefix (the manual
# pages and the bash completion where man and bash-completion find them), then
#   - tests/consumer (find_package(confvisor), confvisor::worker and confvisor::worker_static)
#     built against it with CMake,
#   - tests/consumer/consumer.c built with pkg-config, against libconfvisor.so and (with
#     `pkg-config --static`, as a fully static program) against libconfvisor.a,
#   - libconfvisor.so loaded with dlopen (Python ctypes), as a binding would,
# all run on a live segment published by the installed confvisorctl from the installed
# example config; the shared C++ consumer also waits for the next generation and sees it.
# In a sanitizer build the library is instrumented, so the consumers get SANITIZER_FLAGS too;
# the fully static link and the dlopen from an uninstrumented Python are then skipped.
#   usage: install_consumer_test.sh CMAKE BUILD_DIR CONSUMER_DIR C_COMPILER CXX_COMPILER [SANITIZER_FLAGS]
set -euo pipefail
cmake=$1
build=$(readlink -f "$2")
consumer_src=$(readlink -f "$3")
cc=$4
cxx=$5
sanitizer_flags=${6:-}

work=$(mktemp -d /tmp/confvisor-consumer.XXXXXX)
segment=t-consumer-$$
waiter=
cleanup() {
  if [[ -n "$waiter" ]]; then
    kill "$waiter" 2>/dev/null || true
    wait "$waiter" 2>/dev/null || true
  fi
  rm -f "/dev/shm/confvisor.$segment" "/dev/shm/confvisor.$segment".*
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# run_quiet LOG COMMAND...: runs it; on failure shows its output and stops the test.
run_quiet() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "FAIL: $*" >&2
    exit 1
  fi
}
# expect_output WHAT WANTED COMMAND...: the command succeeds and prints exactly WANTED.
expect_output() {
  local what=$1 wanted=$2 got
  shift 2
  if ! got=$("$@" 2>&1); then
    fail "$what failed: $got"
  elif [[ "$got" != "$wanted" ]]; then
    fail "$what printed '$got', expected '$wanted'"
  else
    echo "$what: $got"
  fi
}

# --- install -------------------------------------------------------------------------------
prefix=$work/prefix
run_quiet "$work/install.log" "$cmake" --install "$build" --prefix "$prefix"
pc_file=$(find "$prefix" -name confvisor.pc)
libdir=$(dirname "$(dirname "$pc_file")")
# The units name the binaries of this prefix.
grep -q "^ExecStart=$prefix/bin/confvisord " "$prefix/lib/systemd/system/confvisord.service" ||
  fail "the installed unit does not run $prefix/bin/confvisord"
# The manual pages and the completion are where man and bash-completion look under a prefix.
for page in man8/confvisord.8 man8/confvisorctl.8 man5/confvisor.json.5; do
  if [[ ! -f "$prefix/share/man/$page.gz" ]]; then
    fail "cmake --install put no share/man/$page.gz"
  elif ! zcat "$prefix/share/man/$page.gz" | grep -q '^\.TH '; then
    fail "share/man/$page.gz is not a manual page"
  fi
done
if command -v man >/dev/null; then
  out=$(MANPATH=$prefix/share/man man -w confvisorctl 2>&1) || fail "man -w confvisorctl with MANPATH=$prefix/share/man: $out"
fi
[[ -f "$prefix/share/bash-completion/completions/confvisorctl" ]] ||
  fail "cmake --install put no share/bash-completion/completions/confvisorctl"

# --- C++ with CMake ------------------------------------------------------------------------
cmake_args=(-S "$consumer_src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx")
if [[ -n "$sanitizer_flags" ]]; then
  cmake_args+=(-DCMAKE_CXX_FLAGS="$sanitizer_flags" -DCMAKE_EXE_LINKER_FLAGS="$sanitizer_flags")
fi
run_quiet "$work/configure.log" "$cmake" "${cmake_args[@]}"
found=$(sed -n 's/^confvisor_DIR:PATH=//p' "$work/build/CMakeCache.txt")
[[ "$found" == "$prefix"/* ]] || fail "find_package(confvisor) found '$found', not the one in $prefix"
run_quiet "$work/build.log" "$cmake" --build "$work/build" -j 2

# --- C with pkg-config ---------------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
read -ra c_flags <<<"$sanitizer_flags"
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
run_quiet "$work/c.log" "$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror "${c_flags[@]}" \
  "$consumer_src/consumer.c" -o "$work/c_consumer" $(pkg-config --cflags --libs confvisor)
static_libs=$(pkg-config --static --libs confvisor)
for lib in -lconfvisor -lboost_json -lstdc++ -lpthread; do
  [[ " $static_libs " == *" $lib "* ]] || fail "pkg-config --static --libs lacks $lib: $static_libs"
done
if [[ -z "$sanitizer_flags" ]]; then
  # shellcheck disable=SC2046
  run_quiet "$work/c_static.log" "$cc" -static "$consumer_src/consumer.c" -o "$work/c_consumer_static" \
    $(pkg-config --static --cflags --libs confvisor)
fi

# Which program uses which library.
needs() { readelf -d "$1" | grep -q "NEEDED.*\[libconfvisor\.so\."; }
needs "$work/build/consumer" || fail "consumer does not use libconfvisor.so"
needs "$work/c_consumer" || fail "c_consumer does not use libconfvisor.so"
if needs "$work/build/consumer_static"; then fail "consumer_static uses libconfvisor.so"; fi

# --- run on a live segment -----------------------------------------------------------------
run_quiet "$work/publish.log" "$prefix/bin/confvisorctl" publish "$prefix/share/confvisor/example.json" \
  --segment "$segment"
host=$("$prefix/bin/confvisorctl" get /database/host --segment "$segment")
port=$("$prefix/bin/confvisorctl" get /database/port --segment "$segment")
want="generation 1: ${host//\"/}:$port"
export CONFVISOR_SEGMENT=$segment

expect_output "consumer (libconfvisor.so)" "$want" "$work/build/consumer"
expect_output "consumer_static (libconfvisor.a)" "$want" "$work/build/consumer_static"
expect_output "c_consumer (libconfvisor.so)" "$want" env LD_LIBRARY_PATH="$libdir" "$work/c_consumer"
if [[ -z "$sanitizer_flags" ]]; then
  expect_output "c_consumer_static (-static)" "$want" "$work/c_consumer_static"
  if command -v python3 >/dev/null; then
    # The hot path's thread_local is initial-exec (worker/reader.cc): dlopen must still work.
    expect_output "python3 ctypes (dlopen)" "generation 1" python3 -c '
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.confvisor_open.restype = ctypes.c_void_p
lib.confvisor_generation.restype = ctypes.c_uint64
lib.confvisor_generation.argtypes = [ctypes.c_void_p]
lib.confvisor_close.argtypes = [ctypes.c_void_p]
r = lib.confvisor_open(None)
print("generation", lib.confvisor_generation(r))
lib.confvisor_close(r)' "$libdir/libconfvisor.so"
  fi
else
  echo "sanitizer build: the -static C consumer and the dlopen from python3 are skipped"
fi

# A new generation reaches a waiting consumer (futex wake through the installed library).
"$work/build/consumer" 1 >"$work/live.out" 2>&1 &
waiter=$!
for _ in $(seq 200); do
  [[ -s "$work/live.out" ]] && break
  sleep 0.05
done
printf '{"database": {"host": "db2.internal", "port": 6432}}\n' >"$work/v2.json"
run_quiet "$work/publish2.log" "$prefix/bin/confvisorctl" publish "$work/v2.json" --segment "$segment"
status=0
wait "$waiter" || status=$?
waiter=
got=$(cat "$work/live.out")
if ((status != 0)) || [[ "$got" != "$want"$'\n'"generation 2: db2.internal:6432" ]]; then
  fail "the waiting consumer (exit $status) printed: $got"
else
  echo "waiting consumer: saw generation 2"
fi

if ((failures)); then
  echo "install consumer: $failures check(s) failed" >&2
  exit 1
fi
echo "install consumer: ok"
