#!/usr/bin/env bash
# Builds the Debian packages confvisor, libconfvisor0.1 and libconfvisor-dev from a Release
# tree of their own, without the tests and the benchmark, on every core:
#
#   scripts/package.sh [BUILD_DIR]     (default: build-package, relative to the repository root)
#
# The tree is configured for prefix /usr, so the libraries go to /usr/lib/<multiarch triplet>
# as on any Debian package. Extra CMake arguments come from CONFVISOR_CMAKE_ARGS, for example
#   CONFVISOR_CMAKE_ARGS="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache" scripts/package.sh
# The .deb files end up in BUILD_DIR; install them with
#   apt install ./BUILD_DIR/confvisor_*.deb ./BUILD_DIR/libconfvisor*.deb
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

build_dir=${1:-build-package}
jobs=$(nproc)
# Word-split on purpose: several arguments in one variable.
read -r -a extra_args <<<"${CONFVISOR_CMAKE_ARGS:-}"

scripts/setup-deps.sh

start=$SECONDS
echo "== configuring $build_dir (Release, prefix /usr, no tests, no benchmark) =="
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCONFVISOR_TESTS=OFF -DCONFVISOR_BENCH=OFF "${extra_args[@]}"
echo "== building $build_dir with $jobs jobs =="
cmake --build "$build_dir" -j "$jobs"
echo "== packaging =="
# Packages of an earlier run would be listed with the new ones.
rm -f "$build_dir"/*.deb
(cd "$build_dir" && cpack --config CPackConfig.cmake)
echo "== packages, in $((SECONDS - start)) s =="
for deb in "$build_dir"/*.deb; do
  printf '%-40s %s\n' "$deb" "$(dpkg-deb -f "$deb" Depends)"
done
