#!/usr/bin/env bash
# The .deb that cpack makes from this build tree: its control data (name, version, the
# libraries dpkg-shlibdeps found, the shlibs entry) and its exact file list, each file where
# it belongs under /usr: the three programs (stripped, and they run), libconfvisor.so with
# its symlink chain to the SONAME, libconfvisor.a with the segment code inside, the headers,
# the CMake package, the pkg-config file (prefix /usr), the units (running
# /usr/bin/confvisord), the example config and the schema. Like `make package`, cpack first
# brings the build up to date (its preinstall step): a no-op after a build.
#   usage: install_layout_test.sh CPACK BUILD_DIR SOURCE_DIR VERSION SOVERSION
set -euo pipefail
cpack=$1
build=$(readlink -f "$2")
source_dir=$(readlink -f "$3")
version=$4
soversion=$5

work=$(mktemp -d /tmp/confvisor-layout.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# expect WHAT GOT WANTED
expect() {
  if [[ "$2" != "$3" ]]; then fail "$1: got '$2', expected '$3'"; fi
}

# --- build the package ---------------------------------------------------------------------
if ! (cd "$build" && "$cpack" --config CPackConfig.cmake -B "$work/pkg") >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  echo "FAIL: cpack failed" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
deb=$work/pkg/confvisor_${version}_${arch}.deb
if [[ ! -f "$deb" ]]; then
  ls -l "$work/pkg" >&2
  echo "FAIL: cpack made no $(basename "$deb")" >&2
  exit 1
fi
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# --- control data --------------------------------------------------------------------------
expect "Package" "$(dpkg-deb -f "$deb" Package)" confvisor
expect "Version" "$(dpkg-deb -f "$deb" Version)" "$version"
expect "Architecture" "$(dpkg-deb -f "$deb" Architecture)" "$arch"
for field in Maintainer Description Section; do
  [[ -n "$(dpkg-deb -f "$deb" "$field")" ]] || fail "no $field in the control file"
done
depends=$(dpkg-deb -f "$deb" Depends)
# What dpkg-shlibdeps finds in the binaries and the library (the .deb was built with it).
depends_names=$(tr ',' '\n' <<<"$depends" | awk '{ print $1 }')
for dep in libc6 libstdc++6 libboost-json1.81.0 libboost-program-options1.81.0 libsystemd0; do
  grep -qxF "$dep" <<<"$depends_names" || fail "Depends lacks $dep (dpkg-shlibdeps, from dpkg-dev, finds it)"
done
dpkg-deb -e "$deb" "$work/control"
expect "shlibs" "$(cat "$work/control/shlibs" 2>/dev/null)" \
  "libconfvisor $soversion confvisor (>= $version)"

# --- files ---------------------------------------------------------------------------------
root=$work/root
dpkg-deb -x "$deb" "$root"
usr=$root/usr
so=$(find "$usr" -name "libconfvisor.so.$version" -type f)
[[ -n "$so" ]] || { dpkg-deb -c "$deb" >&2; echo "FAIL: no libconfvisor.so.$version" >&2; exit 1; }
libdir=$(dirname "${so#"$usr"/}")  # lib, or lib/<triplet> when configured for /usr

# Exactly these, nothing else (no tests, no benchmark, no internal libraries, nothing in /etc).
cat >"$work/expected" <<EOF
usr/bin/confvisor-example-worker
usr/bin/confvisorctl
usr/bin/confvisord
usr/include/confvisor/error.hpp
usr/include/confvisor/worker.h
usr/include/confvisor/worker.hpp
usr/$libdir/cmake/confvisor/confvisorConfig.cmake
usr/$libdir/cmake/confvisor/confvisorConfigVersion.cmake
usr/$libdir/cmake/confvisor/confvisorTargets-@CONFIG@.cmake
usr/$libdir/cmake/confvisor/confvisorTargets.cmake
usr/$libdir/libconfvisor.a
usr/$libdir/libconfvisor.so
usr/$libdir/libconfvisor.so.$soversion
usr/$libdir/libconfvisor.so.$version
usr/$libdir/pkgconfig/confvisor.pc
usr/lib/systemd/system/confvisord.service
usr/lib/systemd/system/confvisord@.service
usr/share/confvisor/confvisor.schema.json
usr/share/confvisor/example.json
EOF
# The per-configuration targets file is named after the build type.
config_file=$(cd "$root" && find "usr/$libdir/cmake/confvisor" -name 'confvisorTargets-*.cmake' -printf '%f\n')
sed -i "s|confvisorTargets-@CONFIG@.cmake|${config_file:-confvisorTargets-MISSING.cmake}|" "$work/expected"
(cd "$root" && find . ! -type d | sed 's|^\./||' | sort) >"$work/actual"
sort -o "$work/expected" "$work/expected"
if ! diff -u "$work/expected" "$work/actual" >"$work/diff"; then
  fail "the package's files differ from the expected list (- missing, + extra):"
  cat "$work/diff" >&2
fi

# Programs: executable, stripped, and they run.
for exe in confvisord confvisorctl confvisor-example-worker; do
  f=$usr/bin/$exe
  [[ -f "$f" && -x "$f" ]] || { fail "$exe is not an executable file"; continue; }
  if readelf -S "$f" | grep -q '\.debug_info'; then fail "$exe is not stripped"; fi
  # Test seams do not ship (common/crash_point.hpp): nothing in a packaged program reads them.
  if grep -qa 'CONFVISOR_TEST_' "$f"; then fail "$exe contains a test seam (CONFVISOR_TEST_*)"; fi
done
out=$("$usr/bin/confvisord" --version 2>&1) || fail "the packaged confvisord --version failed: $out"
[[ "$out" == *"$version"* ]] || fail "confvisord --version says '$out', not $version"
out=$("$usr/bin/confvisorctl" --help 2>&1) || fail "the packaged confvisorctl --help failed: $out"

# The shared library: symlink chain, SONAME, only the API exported, no debug info.
expect "libconfvisor.so ->" "$(readlink "$usr/$libdir/libconfvisor.so")" "libconfvisor.so.$soversion"
expect "libconfvisor.so.$soversion ->" "$(readlink "$usr/$libdir/libconfvisor.so.$soversion")" \
  "libconfvisor.so.$version"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
expect "SONAME" "$soname" "libconfvisor.so.$soversion"
exports=$(nm -D --defined-only -C "$so" | cut -d' ' -f3-)
for sym in confvisor_open confvisor_get_int 'confvisor::Reader::current()' 'typeinfo for confvisor::Error'; do
  grep -qxF "$sym" <<<"$exports" || fail "libconfvisor.so does not export $sym"
done
internals=$(grep -vE '^(confvisor_[a-z_]+|confvisor::(Reader|Snapshot)::.*|(typeinfo|typeinfo name|vtable) for confvisor::Error)$' <<<"$exports" || true)
[[ -z "$internals" ]] || fail "libconfvisor.so exports more than the API: $(head -3 <<<"$internals")"
if readelf -S "$so" | grep -q '\.debug_info'; then fail "libconfvisor.so is not stripped"; fi

# The static library stands alone: the reader's part of the segment code is inside it.
members=$(ar t "$usr/$libdir/libconfvisor.a")
for member in reader.cc.o c_api.cc.o snapshot.cc.o segment_view.cc.o shm_mapping.cc.o record.cc.o; do
  grep -qx "$member" <<<"$members" || fail "libconfvisor.a lacks $member"
done

# The CMake package names its targets; the pkg-config file names /usr and works in a sysroot.
targets=$usr/$libdir/cmake/confvisor/confvisorTargets.cmake
grep -q 'add_library(confvisor::worker SHARED IMPORTED)' "$targets" || fail "no confvisor::worker in $targets"
grep -q 'add_library(confvisor::worker_static STATIC IMPORTED)' "$targets" ||
  fail "no confvisor::worker_static in $targets"
grep -q 'find_dependency(Boost 1.81 CONFIG COMPONENTS json)' "$usr/$libdir/cmake/confvisor/confvisorConfig.cmake" ||
  fail "confvisorConfig.cmake does not find Boost.JSON"
pc() { PKG_CONFIG_PATH='' PKG_CONFIG_LIBDIR=$usr/$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@" confvisor; }
expect "pkg-config --modversion" "$(pc --modversion)" "$version"
grep -qx 'prefix=/usr' "$usr/$libdir/pkgconfig/confvisor.pc" || fail "confvisor.pc does not say prefix=/usr"
expect "pkg-config --cflags" "$(pc --cflags | xargs)" "-I$usr/include"
expect "pkg-config --libs" "$(pc --libs | xargs)" "-L$usr/$libdir -lconfvisor"
[[ "$(pc --static --libs)" == *-lboost_json* ]] || fail "pkg-config --static --libs lacks -lboost_json"

# Units and data: the sources as they are (the units already name /usr/bin/confvisord).
for unit in confvisord.service confvisord@.service; do
  cmp -s "$source_dir/systemd/$unit" "$usr/lib/systemd/system/$unit" || fail "$unit differs from systemd/$unit"
  grep -q '^ExecStart=/usr/bin/confvisord ' "$usr/lib/systemd/system/$unit" || fail "$unit does not run /usr/bin/confvisord"
done
for data in example.json confvisor.schema.json; do
  cmp -s "$source_dir/config/$data" "$usr/share/confvisor/$data" || fail "share/confvisor/$data differs from config/$data"
done

if ((failures)); then
  echo "install layout: $failures check(s) failed" >&2
  exit 1
fi
echo "install layout: ok ($(wc -l <"$work/actual") files)"
