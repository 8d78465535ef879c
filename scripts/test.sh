#!/usr/bin/env bash
# Installs what is missing, builds confvisor and runs the whole test suite.
#
#   scripts/test.sh [BUILD_DIR]     (default: build, relative to the repository root)
#
# Extra CMake arguments come from CONFVISOR_CMAKE_ARGS and extra ctest arguments from
# CONFVISOR_CTEST_ARGS, for example
#   CONFVISOR_CMAKE_ARGS="-DCONFVISOR_SANITIZE=ON" CONFVISOR_CTEST_ARGS="-LE packaging" \
#     scripts/test.sh build-asan
# Exits with ctest's status.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

build_dir=${1:-build}
jobs=$(nproc)
# Word-split on purpose: several arguments in one variable.
read -r -a extra_args <<<"${CONFVISOR_CMAKE_ARGS:-}"
read -r -a ctest_args <<<"${CONFVISOR_CTEST_ARGS:-}"

scripts/setup-deps.sh

echo "== configuring $build_dir =="
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONFVISOR_WERROR=ON "${extra_args[@]}"
echo "== building $build_dir with $jobs jobs =="
cmake --build "$build_dir" -j "$jobs"
echo "== running the tests in $build_dir =="
status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "${ctest_args[@]}" || status=$?
exit "$status"
