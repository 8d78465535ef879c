# What `cmake --install` puts where (GNUInstallDirs), by install component; cpack makes one
# .deb per component with prefix /usr (package.cmake names them):
#   daemon       bin/                   confvisord, confvisorctl, confvisor-example-worker
#                lib/systemd/system/    confvisord.service, confvisord@.service
#                share/confvisor/       example.json, confvisor.schema.json
#                share/man/man5, man8/  confvisor.json.5.gz, confvisord.8.gz, confvisorctl.8.gz
#                share/bash-completion/completions/confvisorctl
#   library      lib/                   libconfvisor.so.0.1 -> .so.0.1.0
#   development  lib/                   libconfvisor.so -> .so.0.1, libconfvisor.a
#                lib/cmake/confvisor/   find_package(confvisor): confvisor::worker (shared),
#                                       confvisor::worker_static
#                lib/pkgconfig/         confvisor.pc
#                include/confvisor/     worker.hpp, worker.h, error.hpp
#   python       lib/python3/dist-packages/confvisor/  the Python package (CONFVISOR_PYTHON)
# and in the packages only, share/doc/PACKAGE/copyright and changelog.gz.
# (lib is lib/<multiarch triplet> when configured with CMAKE_INSTALL_PREFIX=/usr on Debian.)
include(CMakePackageConfigHelpers)

# The Debian package each install component becomes: the library's is named after its
# SONAME (libconfvisor.so.0.1), as Debian's policy has it, so that two ABIs can coexist.
set(CONFVISOR_PACKAGE_daemon confvisor)
set(CONFVISOR_PACKAGE_library libconfvisor${CONFVISOR_SOVERSION})
set(CONFVISOR_PACKAGE_development libconfvisor-dev)
set(CONFVISOR_PACKAGE_python python3-confvisor)
# The components this build installs: the Python package only where it is built.
set(CONFVISOR_COMPONENTS daemon library development)
if(TARGET confvisor_python)
  list(APPEND CONFVISOR_COMPONENTS python)
endif()

set(CONFVISOR_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/confvisor)
# Relative to the prefix: systemd reads units from /usr/lib/systemd/system (on merged-/usr
# Debian 12 also /lib/systemd/system, the same directory) and /usr/local/lib/systemd/system.
set(CONFVISOR_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units go, relative to the install prefix or absolute")
# The schema and the example are data (editors and validators point at the schema, an
# administrator copies the example to /etc/confvisor/), not documentation: Debian lets
# /usr/share/doc be dropped (minimal images, path-exclude), /usr/share/confvisor stays.
set(CONFVISOR_DATADIR ${CMAKE_INSTALL_DATADIR}/confvisor)

install(TARGETS confvisord confvisorctl confvisor-example-worker
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT daemon)

# The versioned names are the run-time library; the unversioned link name is for builds.
install(TARGETS confvisor_shared confvisor
        EXPORT confvisorTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library NAMELINK_COMPONENT development
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
# `cmake --install --strip` and cpack (CPACK_STRIP_FILES) strip executables and the .so;
# the archive loses its debug sections too, as Debian's -dev packages have it.
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND [[${CMAKE_STRIP}]] --strip-debug
                    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:confvisor>\"
                    COMMAND_ERROR_IS_FATAL ANY)
  endif()" COMPONENT development)
# The worker API and the public error type it throws, which all of confvisor shares.
file(GLOB _confvisor_headers ${PROJECT_SOURCE_DIR}/worker/include/confvisor/*.hpp
                             ${PROJECT_SOURCE_DIR}/worker/include/confvisor/*.h
                             ${PROJECT_SOURCE_DIR}/common/include/confvisor/*.hpp)
install(FILES ${_confvisor_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/confvisor
        COMPONENT development)

install(EXPORT confvisorTargets NAMESPACE confvisor:: DESTINATION ${CONFVISOR_CMAKEDIR}
        COMPONENT development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/confvisorConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/confvisorConfig.cmake
                              INSTALL_DESTINATION ${CONFVISOR_CMAKEDIR})
# A 0.x minor release may change the API (as the SONAME says); from 1.0 on, the major.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_compat SameMinorVersion)
else()
  set(_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/confvisorConfigVersion.cmake
                                 COMPATIBILITY ${_compat})
install(FILES ${PROJECT_BINARY_DIR}/confvisorConfig.cmake
              ${PROJECT_BINARY_DIR}/confvisorConfigVersion.cmake
        DESTINATION ${CONFVISOR_CMAKEDIR} COMPONENT development)

# Files whose text names installed paths (the .pc file's prefix, the units' ExecStart) are
# written at install time for the prefix the install really uses: `cmake --install --prefix
# DIR` gives units that run DIR/bin/confvisord, cpack gives /usr/bin/confvisord.
function(confvisor_install_generated component mode source destination)
  install(CODE "
    set(_mode [[${mode}]])
    set(_source [[${source}]])
    set(_destination [[${destination}]])
    set(_version [[${PROJECT_VERSION}]])
    set(_bindir [[${CMAKE_INSTALL_BINDIR}]])
    set(_libdir [[${CMAKE_INSTALL_LIBDIR}]])
    set(_includedir [[${CMAKE_INSTALL_INCLUDEDIR}]])
    set(_work [[${PROJECT_BINARY_DIR}/CMakeFiles/confvisor-install-generated]])
    include([[${CMAKE_CURRENT_FUNCTION_LIST_DIR}/install_generated.cmake]])"
    COMPONENT ${component})
endfunction()

confvisor_install_generated(development configure ${CMAKE_CURRENT_LIST_DIR}/confvisor.pc.in
                              ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
foreach(_unit confvisord.service confvisord@.service)
  confvisor_install_generated(daemon unit ${PROJECT_SOURCE_DIR}/systemd/${_unit}
                              ${CONFVISOR_SYSTEMD_UNITDIR})
endforeach()

install(FILES ${PROJECT_SOURCE_DIR}/config/example.json
              ${PROJECT_SOURCE_DIR}/config/confvisor.schema.json
        DESTINATION ${CONFVISOR_DATADIR} COMPONENT daemon)

# Manual pages, compressed as Debian ships them (gzip -9n: no name or time stamp inside, so
# the same source gives the same bytes); man reads them compressed from any prefix.
find_program(CONFVISOR_GZIP gzip REQUIRED)
set(_confvisor_man_gz "")
foreach(_page confvisord.8 confvisorctl.8 confvisor.json.5)
  set(_gz ${PROJECT_BINARY_DIR}/man/${_page}.gz)
  add_custom_command(OUTPUT ${_gz}
                     COMMAND sh -c "${CONFVISOR_GZIP} -9n <\"$1\" >\"$2\"" gzip
                             ${PROJECT_SOURCE_DIR}/docs/man/${_page} ${_gz}
                     DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/${_page}
                     COMMENT "Compressing the manual page ${_page}" VERBATIM)
  string(REGEX MATCH "[0-9]$" _section ${_page})
  install(FILES ${_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_section} COMPONENT daemon)
  list(APPEND _confvisor_man_gz ${_gz})
endforeach()
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/man)
add_custom_target(confvisor_man ALL DEPENDS ${_confvisor_man_gz})

# bash-completion loads completions/COMMAND on first use, from /usr/share (the package) and,
# for /usr/local, from $XDG_DATA_DIRS.
install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/confvisorctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME confvisorctl
        COMPONENT daemon)

# Debian wants /usr/share/doc/PACKAGE/copyright and, for a native package, changelog.gz in
# every package; a plain `cmake --install` leaves them out (EXCLUDE_FROM_ALL), cpack installs
# each component and so gets them. tests/install_layout_test.sh checks that the changelog's
# version is the project's.
set(_changelog_gz ${PROJECT_BINARY_DIR}/debian/changelog.gz)
add_custom_command(OUTPUT ${_changelog_gz}
                   COMMAND sh -c "${CONFVISOR_GZIP} -9n <\"$1\" >\"$2\"" gzip
                           ${CMAKE_CURRENT_LIST_DIR}/debian/changelog ${_changelog_gz}
                   DEPENDS ${CMAKE_CURRENT_LIST_DIR}/debian/changelog
                   COMMENT "Compressing the Debian changelog" VERBATIM)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/debian)
add_custom_target(confvisor_debian_changelog ALL DEPENDS ${_changelog_gz})
foreach(_component IN LISTS CONFVISOR_COMPONENTS)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/debian/copyright ${_changelog_gz}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CONFVISOR_PACKAGE_${_component}}
          COMPONENT ${_component} EXCLUDE_FROM_ALL)
endforeach()
