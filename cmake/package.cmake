# `cpack` in the build directory makes confvisor_VERSION_ARCH.deb: everything install.cmake
# installs, under /usr. tests/install_layout_test.sh builds it and checks it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME confvisor)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "confvisor maintainers <confvisor@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "config supervisor: live JSON config in shared memory for workers")
set(CPACK_PACKAGE_DESCRIPTION
    "confvisord loads one JSON config file, publishes it into shared memory and supervises \
the worker processes it lists; on SIGHUP it validates the edited file and publishes it as a \
new generation. Workers linked with libconfvisor (C++ and C) see the new config within \
microseconds without restarting; a bad edit is refused and the last good config stays live. \
The package holds the daemon, confvisorctl, an example worker, libconfvisor (shared and \
static) with its headers, CMake package and pkg-config file, systemd units, an example \
config and the config's JSON Schema.")
# Files are staged with DESTDIR and prefix /usr, so what install.cmake writes at install
# time (the .pc file, the units) names /usr, not the staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian ships stripped binaries (debug symbols belong in a -dbgsym package).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime dependencies from the binaries' and the library's NEEDED entries (dpkg-shlibdeps,
# from dpkg-dev); the headers and the CMake package also need Boost.JSON's development files.
find_program(CONFVISOR_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(CONFVISOR_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): the .deb will not list library dependencies")
endif()
# A shlibs file for libconfvisor.so.0.1, so that packages built against it depend on
# confvisor (>= this version), and ldconfig runs through a dpkg trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libboost-json1.81-dev, pkg-config")
include(CPack)
