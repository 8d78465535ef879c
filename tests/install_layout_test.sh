#!/usr/bin/env bash
# The .deb files that cpack makes from this build tree, as a Debian admin expects them:
#   confvisor         the programs (stripped, and they run), the units (running
#                     /usr/bin/confvisord), the manual pages (gzip -9n), the bash completion,
#                     the example config and the schema
#   libconfvisor0.1   libconfvisor.so.0.1 -> .so.0.1.0 only, with its shlibs entry and ldconfig
#   libconfvisor-dev  the headers, libconfvisor.a (the segment code inside), the link name
#                     libconfvisor.so, the CMake package and the pkg-config file (prefix /usr);
#                     Depends on libconfvisor0.1 of this very version and on Boost.JSON's -dev
#   python3-confvisor the Python package (where the build made it), for Debian's python3 3.11
# For each: its control data (name, version, section, a summary of its own, the libraries
# dpkg-shlibdeps found), its exact file list, /usr/share/doc/PACKAGE/copyright (DEP-5) and
# changelog.gz (its version the project's), and
# what lintian checks first: files owned by root, sane modes, nothing outside /usr, no file
# in two packages. Like `make package`, cpack first brings the build up to date (its
# preinstall step): a no-op after a build.
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

daemon_pkg=confvisor
lib_pkg=libconfvisor$soversion
dev_pkg=libconfvisor-dev
py_pkg=python3-confvisor
packages=("$daemon_pkg" "$lib_pkg" "$dev_pkg")
# The Python package is a package of its own where the build made it (CONFVISOR_PYTHON).
if [[ -d "$build/python/confvisor" ]]; then packages+=("$py_pkg"); fi

# --- build the packages --------------------------------------------------------------------
if ! (cd "$build" && "$cpack" --config CPackConfig.cmake -B "$work/pkg") >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  echo "FAIL: cpack failed" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
declare -A deb
for p in "${packages[@]}"; do
  deb[$p]=$work/pkg/${p}_${version}_${arch}.deb
  if [[ ! -f "${deb[$p]}" ]]; then
    ls -l "$work/pkg" >&2
    echo "FAIL: cpack made no $(basename "${deb[$p]}")" >&2
    exit 1
  fi
  echo "package: $(basename "${deb[$p]}"), $(stat -c %s "${deb[$p]}") bytes"
done
made=$(find "$work/pkg" -maxdepth 1 -name '*.deb' | wc -l)
expect "number of .deb files" "$made" "${#packages[@]}"

# --- control data --------------------------------------------------------------------------
field() { dpkg-deb -f "${deb[$1]}" "$2"; }
# depends_names PACKAGE: the package names its Depends lists, one a line.
depends_names() { field "$1" Depends | tr ',' '\n' | awk '{ print $1 }'; }
declare -A section=([$daemon_pkg]=admin [$lib_pkg]=libs [$dev_pkg]=libdevel [$py_pkg]=python)
summaries=""
for p in "${packages[@]}"; do
  expect "$p: Package" "$(field "$p" Package)" "$p"
  expect "$p: Version" "$(field "$p" Version)" "$version"
  expect "$p: Architecture" "$(field "$p" Architecture)" "$arch"
  expect "$p: Section" "$(field "$p" Section)" "${section[$p]}"
  expect "$p: Priority" "$(field "$p" Priority)" optional
  [[ -n "$(field "$p" Maintainer)" ]] || fail "$p: no Maintainer"
  [[ "$(field "$p" Installed-Size)" =~ ^[0-9]+$ ]] || fail "$p: no Installed-Size"
  # Debian's rules for a description: a summary line under 80 characters that does not start
  # with the package's name, then an extended description.
  description=$(field "$p" Description)
  summary=$(head -1 <<<"$description")
  ((${#summary} > 0 && ${#summary} < 80)) || fail "$p: summary '$summary' is empty or 80 characters or more"
  [[ "${summary,,}" != "$p"* ]] || fail "$p: the summary starts with the package name"
  (($(wc -l <<<"$description") > 1)) || fail "$p: no extended description"
  long=$(awk 'length > 80' <<<"$description")
  [[ -z "$long" ]] || fail "$p: description lines over 80 characters: $long"
  summaries+="$summary"$'\n'
done
expect "distinct summaries" "$(sort -u <<<"$summaries" | grep -c .)" "${#packages[@]}"

# What dpkg-shlibdeps finds in the binaries and in the library (built with it).
for dep in libc6 libstdc++6 libboost-json1.81.0 libboost-program-options1.81.0 libsystemd0; do
  depends_names "$daemon_pkg" | grep -qxF "$dep" ||
    fail "$daemon_pkg: Depends lacks $dep (dpkg-shlibdeps, from dpkg-dev, finds it)"
done
# The programs link libconfvisor statically.
if depends_names "$daemon_pkg" | grep -qxF "$lib_pkg"; then fail "$daemon_pkg depends on $lib_pkg"; fi
for dep in libc6 libstdc++6 libboost-json1.81.0; do
  depends_names "$lib_pkg" | grep -qxF "$dep" || fail "$lib_pkg: Depends lacks $dep"
done
for dep in libsystemd0 libboost-program-options1.81.0; do
  if depends_names "$lib_pkg" | grep -qxF "$dep"; then fail "$lib_pkg depends on $dep, which only the daemon needs"; fi
done
# The link name and the CMake targets belong to this exact build of the library; the
# headers, the CMake package and a static link need Boost.JSON's development package.
dev_depends=$(field "$dev_pkg" Depends | tr ',' '\n' | sed 's/^ *//')
grep -qxF "$lib_pkg (= $version)" <<<"$dev_depends" ||
  fail "$dev_pkg: Depends '$(field "$dev_pkg" Depends)' lacks '$lib_pkg (= $version)'"
grep -qE '^libboost-json1\.81-dev( |$)' <<<"$dev_depends" ||
  fail "$dev_pkg: Depends '$(field "$dev_pkg" Depends)' lacks libboost-json1.81-dev"

mkdir -p "$work/control"
for p in "${packages[@]}"; do dpkg-deb -e "${deb[$p]}" "$work/control/$p"; done
expect "$lib_pkg shlibs" "$(cat "$work/control/$lib_pkg/shlibs" 2>/dev/null)" \
  "libconfvisor $soversion $lib_pkg (>= $version)"
for p in "$daemon_pkg" "$dev_pkg"; do
  [[ ! -e "$work/control/$p/shlibs" ]] || fail "$p has a shlibs file: $(cat "$work/control/$p/shlibs")"
done
grep -qx 'activate-noawait ldconfig' "$work/control/$lib_pkg/triggers" ||
  fail "$lib_pkg has no ldconfig trigger"
if ls "$work/control/$daemon_pkg/conffiles" >/dev/null 2>&1; then fail "$daemon_pkg has conffiles: nothing goes to /etc"; fi

# --- files ---------------------------------------------------------------------------------
root=$work/root
mkdir -p "$root"
mkdir -p "$root/all"
for p in "${packages[@]}"; do
  dpkg-deb -x "${deb[$p]}" "$root/$p"
  dpkg-deb -x "${deb[$p]}" "$root/all"
done
usr=$root/all/usr
so=$(find "$usr" -name "libconfvisor.so.$version" -type f)
[[ -n "$so" ]] || { dpkg-deb -c "${deb[$lib_pkg]}" >&2; echo "FAIL: no libconfvisor.so.$version" >&2; exit 1; }
libdir=$(dirname "${so#"$usr"/}")  # lib, or lib/<triplet> when configured for /usr

# Exactly these, nothing else (no tests, no benchmark, no internal libraries, nothing in /etc).
cat >"$work/expected-$daemon_pkg" <<EOF
usr/bin/confvisor-example-worker
usr/bin/confvisorctl
usr/bin/confvisord
usr/lib/systemd/system/confvisord.service
usr/lib/systemd/system/confvisord@.service
usr/share/bash-completion/completions/confvisorctl
usr/share/confvisor/confvisor.schema.json
usr/share/confvisor/example.json
usr/share/doc/$daemon_pkg/changelog.gz
usr/share/doc/$daemon_pkg/copyright
usr/share/man/man5/confvisor.json.5.gz
usr/share/man/man8/confvisorctl.8.gz
usr/share/man/man8/confvisord.8.gz
EOF
cat >"$work/expected-$lib_pkg" <<EOF
usr/$libdir/libconfvisor.so.$soversion
usr/$libdir/libconfvisor.so.$version
usr/share/doc/$lib_pkg/changelog.gz
usr/share/doc/$lib_pkg/copyright
EOF
cat >"$work/expected-$dev_pkg" <<EOF
usr/include/confvisor/error.hpp
usr/include/confvisor/worker.h
usr/include/confvisor/worker.hpp
usr/$libdir/cmake/confvisor/confvisorConfig.cmake
usr/$libdir/cmake/confvisor/confvisorConfigVersion.cmake
usr/$libdir/cmake/confvisor/confvisorTargets-@CONFIG@.cmake
usr/$libdir/cmake/confvisor/confvisorTargets.cmake
usr/$libdir/libconfvisor.a
usr/$libdir/libconfvisor.so
usr/$libdir/pkgconfig/confvisor.pc
usr/share/doc/$dev_pkg/changelog.gz
usr/share/doc/$dev_pkg/copyright
EOF
# The Python package, where the build made it: Debian's python3 3.11, and it must import
# from the package.
if [[ " ${packages[*]} " == *" $py_pkg "* ]]; then
  for f in __init__.py $(cd "$build/python/confvisor" && ls _native.*.so) _native.pyi py.typed; do
    echo "usr/lib/python3/dist-packages/confvisor/$f" >>"$work/expected-$py_pkg"
  done
  printf '%s\n' "usr/share/doc/$py_pkg/changelog.gz" "usr/share/doc/$py_pkg/copyright" >>"$work/expected-$py_pkg"
  py_depends=$(field "$py_pkg" Depends | tr ',' '\n' | sed 's/^ *//')
  for dep in 'python3 (>= 3.11)' 'python3 (<< 3.12)'; do
    grep -qxF "$dep" <<<"$py_depends" || fail "$py_pkg: Depends '$(field "$py_pkg" Depends)' lacks '$dep'"
  done
  if depends_names "$py_pkg" | grep -qxF "$lib_pkg"; then fail "$py_pkg depends on $lib_pkg (it links it statically)"; fi
  PYTHONPATH=$root/$py_pkg/usr/lib/python3/dist-packages /usr/bin/python3 -c \
    'import confvisor, sys; sys.exit(not confvisor.__file__.startswith(sys.argv[1]))' "$root/$py_pkg" ||
    fail "the packaged confvisor Python package does not import from the package"
fi
# The per-configuration targets file is named after the build type.
config_file=$(cd "$root/all" && find "usr/$libdir/cmake/confvisor" -name 'confvisorTargets-*.cmake' -printf '%f\n')
sed -i "s|confvisorTargets-@CONFIG@.cmake|${config_file:-confvisorTargets-MISSING.cmake}|" "$work/expected-$dev_pkg"
total=0
for p in "${packages[@]}"; do
  sort -o "$work/expected-$p" "$work/expected-$p"
  (cd "$root/$p" && find . ! -type d | sed 's|^\./||' | sort) >"$work/actual-$p"
  if ! diff -u "$work/expected-$p" "$work/actual-$p" >"$work/diff"; then
    fail "$p: its files differ from the expected list (- missing, + extra):"
    cat "$work/diff" >&2
  fi
  total=$((total + $(wc -l <"$work/actual-$p")))
done
# The packages install side by side: dpkg refuses a file that another package owns.
shared=$(cat "$work"/actual-* | sort | uniq -d)
[[ -z "$shared" ]] || fail "files in more than one package: $shared"

# What lintian checks first, from the archives' own listing: root owns everything, nothing
# outside /usr, directories 0755, files 0644 except the programs (0755), no setuid.
for p in "${packages[@]}"; do
  while read -r mode owner _ _ _ path rest; do
    path=${path#./}
    case "$path" in "" | usr/*) ;; *) fail "$p: $path is outside /usr" ;; esac
    expect "$p: owner of ${path:-/}" "$owner" root/root
    case "$mode" in
      d*) expect "$p: mode of directory ${path:-/}" "$mode" drwxr-xr-x ;;
      l*) ;;
      -*)
        if [[ "$path" == usr/bin/* ]]; then
          expect "$p: mode of $path" "$mode" -rwxr-xr-x
        else
          expect "$p: mode of $path" "$mode" -rw-r--r--
        fi
        ;;
      *) fail "$p: $path is neither a file, a directory nor a symlink ($mode)" ;;
    esac
  done < <(dpkg-deb -c "${deb[$p]}")
done

# Every package carries the project's copyright file, as is: DEP-5, not compressed.
for p in "${packages[@]}"; do
  copyright=$root/$p/usr/share/doc/$p/copyright
  cmp -s "$source_dir/cmake/debian/copyright" "$copyright" ||
    fail "$p: usr/share/doc/$p/copyright is not cmake/debian/copyright"
done
# And its changelog, gzip -9n, whose latest entry is this version (dpkg-parsechangelog).
for p in "${packages[@]}"; do
  cmp -s <(gzip -9n <"$source_dir/cmake/debian/changelog") "$root/$p/usr/share/doc/$p/changelog.gz" ||
    fail "$p: usr/share/doc/$p/changelog.gz is not gzip -9n of cmake/debian/changelog"
done
expect "cmake/debian/changelog: version" \
  "$(dpkg-parsechangelog -l "$source_dir/cmake/debian/changelog" -S Version)" "$version"
copyright=$source_dir/cmake/debian/copyright
expect "copyright: first line" "$(head -1 "$copyright")" \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
# Each Files paragraph names its copyright and its licence, and each licence has its text.
awk -v RS='' '/^Files:/ && !(/\nCopyright:/ && /\nLicense:/) { bad = 1 } END { exit bad }' "$copyright" ||
  fail "copyright: a Files paragraph lacks Copyright or License"
awk -v RS='' '/^Files:/ { if (!match($0, /\nLicense: [^\n]*\n /)) bad = 1 } END { exit bad }' "$copyright" ||
  fail "copyright: a licence without its text"

# Programs: executable, stripped, and they run.
for exe in confvisord confvisorctl confvisor-example-worker; do
  f=$usr/bin/$exe
  [[ -f "$f" && -x "$f" ]] || { fail "$exe is not an executable file"; continue; }
  if readelf -S "$f" | grep -q '\.debug_info'; then fail "$exe is not stripped"; fi
  # Test seams do not ship (common/publish/crash_point.hpp): nothing in a packaged program reads them.
  if grep -qa 'CONFVISOR_TEST_' "$f"; then fail "$exe contains a test seam (CONFVISOR_TEST_*)"; fi
done
out=$("$usr/bin/confvisord" --version 2>&1) || fail "the packaged confvisord --version failed: $out"
[[ "$out" == *"$version"* ]] || fail "confvisord --version says '$out', not $version"
out=$("$usr/bin/confvisorctl" --help 2>&1) || fail "the packaged confvisorctl --help failed: $out"

# The shared library: symlink chain (the link name in -dev, the rest in the library's
# package), SONAME, only the API exported, no debug info.
expect "libconfvisor.so ->" "$(readlink "$usr/$libdir/libconfvisor.so")" "libconfvisor.so.$soversion"
expect "libconfvisor.so.$soversion ->" "$(readlink "$usr/$libdir/libconfvisor.so.$soversion")" \
  "libconfvisor.so.$version"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
expect "SONAME" "$soname" "libconfvisor.so.$soversion"
exports=$(nm -D --defined-only -C "$so" | cut -d' ' -f3-)
for sym in confvisor_open confvisor_get_int confvisor_report_applied confvisor_report_rejected \
  'confvisor::Reader::current()' 'typeinfo for confvisor::Error'; do
  grep -qxF "$sym" <<<"$exports" || fail "libconfvisor.so does not export $sym"
done
internals=$(grep -vE '^(confvisor_[a-z_]+|confvisor::(Reader|Snapshot)::.*|confvisor::report_result_name\(confvisor::ReportResult\)|(typeinfo|typeinfo name|vtable) for confvisor::Error)$' <<<"$exports" || true)
[[ -z "$internals" ]] || fail "libconfvisor.so exports more than the API: $(head -3 <<<"$internals")"
if readelf -S "$so" | grep -q '\.debug_info'; then fail "libconfvisor.so is not stripped"; fi

# The static library stands alone: it defines the reader, the C API, snapshots and the
# segment code they read through. Checked by symbol, since a unity build names the archive's
# members after its batches, not after the sources.
defined=$(nm -C --defined-only "$usr/$libdir/libconfvisor.a" | awk '$2 == "T" {$1 = $2 = ""; print}')
for symbol in 'confvisor::Reader::current(' 'confvisor_open' 'confvisor::Snapshot::json(' \
  'confvisor::SegmentView::read_current(' 'confvisor::Errors::joined' \
  'confvisor::ShmMapping::open_read_only(' 'confvisor::Record::text('; do
  grep -qF " $symbol" <<<"$defined" || fail "libconfvisor.a does not define $symbol"
done

# The CMake package names its targets; the pkg-config file names /usr and works in a sysroot.
targets=$usr/$libdir/cmake/confvisor/confvisorTargets.cmake
grep -q 'add_library(confvisor::worker SHARED IMPORTED)' "$targets" || fail "no confvisor::worker in $targets"
grep -q 'add_library(confvisor::worker_static STATIC IMPORTED)' "$targets" ||
  fail "no confvisor::worker_static in $targets"
grep -q 'find_dependency(Boost 1.81 CONFIG COMPONENTS json)' "$usr/$libdir/cmake/confvisor/confvisorConfig.cmake" ||
  fail "confvisorConfig.cmake does not find Boost.JSON"
pc() { PKG_CONFIG_PATH='' PKG_CONFIG_LIBDIR=$usr/$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root/all pkg-config "$@" confvisor; }
expect "pkg-config --modversion" "$(pc --modversion)" "$version"
grep -qx 'prefix=/usr' "$usr/$libdir/pkgconfig/confvisor.pc" || fail "confvisor.pc does not say prefix=/usr"
expect "pkg-config --cflags" "$(pc --cflags | xargs)" "-I$usr/include"
expect "pkg-config --libs" "$(pc --libs | xargs)" "-L$usr/$libdir -lconfvisor"
[[ "$(pc --static --libs)" == *-lboost_json* ]] || fail "pkg-config --static --libs lacks -lboost_json"

# Units and data: the sources as they are (the units already name /usr/bin).
for unit in confvisord.service confvisord@.service; do
  cmp -s "$source_dir/systemd/$unit" "$usr/lib/systemd/system/$unit" || fail "$unit differs from systemd/$unit"
  grep -q '^ExecStart=/usr/bin/confvisord ' "$usr/lib/systemd/system/$unit" || fail "$unit does not run /usr/bin/confvisord"
done
for data in example.json confvisor.schema.json; do
  cmp -s "$source_dir/config/$data" "$usr/share/confvisor/$data" || fail "share/confvisor/$data differs from config/$data"
done
# Manual pages as Debian ships them: gzip -9n of the sources (no name, no time stamp).
for page in man8/confvisord.8 man8/confvisorctl.8 man5/confvisor.json.5; do
  cmp -s <(gzip -9n <"$source_dir/docs/man/${page#*/}") "$usr/share/man/$page.gz" ||
    fail "share/man/$page.gz is not gzip -9n of docs/man/${page#*/}"
done
cmp -s "$source_dir/scripts/completion/confvisorctl.bash" "$usr/share/bash-completion/completions/confvisorctl" ||
  fail "share/bash-completion/completions/confvisorctl differs from scripts/completion/confvisorctl.bash"

if ((failures)); then
  echo "install layout: $failures check(s) failed" >&2
  exit 1
fi
echo "install layout: ok (${#packages[@]} packages, $total files)"
