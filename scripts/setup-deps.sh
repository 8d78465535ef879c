#!/usr/bin/env bash
# Installs the Debian 12 packages confvisor needs to build and test, if any are missing.
# Does nothing (and says so) when they are all there.
set -euo pipefail

packages=(
  libboost1.81-dev
  libboost-json1.81-dev
  libboost-program-options1.81-dev
  libboost-test1.81-dev
  libsystemd-dev
  libssl-dev  # the etcd client's TLS (Boost.Asio's OpenSSL streams) and base64
  etcd-server  # etcd and etcdctl: the etcd tests run a real etcd on loopback ports
  etcd-client
  openssl  # the etcd tests make a CA and certificates for etcd's https endpoints
  pkg-config  # CMake finds libsystemd through it
  libbenchmark-dev
  systemd  # systemd-analyze, for the test that verifies the unit files
  dpkg-dev  # dpkg-shlibdeps: cpack's .deb files list the libraries they need
  python3-jsonschema  # config_check_test validates config/*.json against the schema
  libvalijson-dev  # header-only JSON Schema validator: the "schema" setting (document_schema.cc)
  json-schema-test-suite  # the official JSON Schema cases that schema_suite_test runs
  groff-base  # groff: the test that the manual pages render without warnings
  man-db  # man --warnings -l, the same check as man-db runs it
  cmake
  g++
  make
  python3-dev  # the confvisor Python package's extension module
  python3-pytest  # its tests (tests/CMakeLists.txt)
  python3-setuptools  # its build backend (pip install --no-build-isolation)
  python3-wheel
  python3-venv  # the test of installing it with pip into a virtualenv
  prometheus  # promtool: http_test checks /metrics with `promtool check metrics`
  chromium  # status_page_test loads the status page in headless chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != installed ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#packages[@]} build dependencies are installed, nothing to do"
  exit 0
fi

echo "setup-deps: missing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: must run as root to install them (try: sudo $0)" >&2
  exit 1
fi

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup-deps: installed ${missing[*]}"
