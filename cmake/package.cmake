# `cpack` in the build directory makes three .deb files, one per install component of
# install.cmake, each PACKAGE_VERSION_ARCH.deb with prefix /usr:
#   confvisor        the daemon, confvisorctl, the example worker, the units, the manual
#                    pages, the bash completion, the example config and the schema
#   libconfvisor0.1  the shared library (named after its SONAME)
#   libconfvisor-dev the headers, the static library, the CMake package and the .pc file
#   python3-confvisor the Python package, where the build has it (CONFVISOR_PYTHON)
# scripts/package.sh builds them from a Release tree of their own; tests/install_layout_test.sh
# builds them from the test tree and checks them.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME confvisor)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "confvisor maintainers <confvisor@example.org>")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put that one line on top of every
# component's description, and each package has a summary line of its own.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${CONFVISOR_COMPONENTS})
# Files are staged with DESTDIR and prefix /usr, so what install.cmake writes at install
# time (the .pc file, the units) names /usr, not the staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian ships stripped binaries (debug symbols belong in a -dbgsym package).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

foreach(_component IN LISTS CONFVISOR_COMPONENTS)
  string(TOUPPER ${_component} _upper)
  set(CPACK_DEBIAN_${_upper}_PACKAGE_NAME ${CONFVISOR_PACKAGE_${_component}})
endforeach()
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_LIBRARY_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)

# Lines of at most 80 characters (the first is the summary): dpkg shows them as they are.
set(_confvisor_about
    "confvisord loads one JSON config file, publishes it into shared memory and
supervises the worker processes it lists; on SIGHUP it validates the edited
file and publishes it as a new generation. Workers linked with libconfvisor
(C++ and C) see the new config within microseconds without restarting; a bad
edit is refused and the last good config stays live.")
set(CPACK_DEBIAN_DAEMON_DESCRIPTION
    "config supervisor: live JSON config in shared memory for workers
${_confvisor_about}
This package holds confvisord, confvisorctl with its bash completion, an
example worker, the systemd units, the manual pages, an example config and the
config's JSON Schema.")
set(CPACK_DEBIAN_LIBRARY_DESCRIPTION
    "read the config confvisord publishes in shared memory (library)
${_confvisor_about}
This package holds libconfvisor, the read-only C++ and C library workers load.")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
    "read the config confvisord publishes in shared memory (development files)
${_confvisor_about}
This package holds what a worker is built with: the headers, the static
library, the CMake package (find_package(confvisor)) and the pkg-config file.")
set(CPACK_DEBIAN_PYTHON_DESCRIPTION
    "read the config confvisord publishes in shared memory (Python 3)
${_confvisor_about}
This package holds the Python package confvisor, for Python workers.")

# Run-time dependencies come from the binaries' and the library's NEEDED entries
# (dpkg-shlibdeps, from dpkg-dev). The programs link libconfvisor statically, so confvisor
# does not need libconfvisor0.1.
find_program(CONFVISOR_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(CONFVISOR_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): the .deb files will not list library dependencies")
endif()
# A shlibs file for libconfvisor.so.0.1, so that packages built against it depend on
# libconfvisor0.1 (>= this version), and ldconfig runs when it is installed or removed.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# CPack's postinst and postrm call ldconfig; Debian's way is a dpkg trigger, which also
# runs it once for a whole apt transaction.
set(CPACK_DEBIAN_LIBRARY_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The headers include Boost.JSON's, the CMake package finds Boost.JSON (BoostConfig.cmake
# comes with them) and a static link needs libboost_json: libboost-json1.81-dev has all
# three. The link name and the CMake targets point at this exact build of the library.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "${CONFVISOR_PACKAGE_library} (= ${PROJECT_VERSION}), libboost-json1.81-dev")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SUGGESTS "pkg-config")
# The extension is built for Debian 12's python3 (3.11) and links libconfvisor statically;
# dpkg-shlibdeps adds the C and C++ libraries it needs.
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3 (>= 3.11), python3 (<< 3.12)")
include(CPack)
