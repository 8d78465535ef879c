# What `cmake --install` puts where (GNUInstallDirs; cpack packages the same with prefix /usr):
#   bin/                     confvisord, confvisorctl, confvisor-example-worker
#   lib/                     libconfvisor.so -> .so.0.1 -> .so.0.1.0, libconfvisor.a
#   lib/cmake/confvisor/     find_package(confvisor): confvisor::worker (shared),
#                            confvisor::worker_static
#   lib/pkgconfig/           confvisor.pc
#   include/confvisor/       worker.hpp, worker.h, error.hpp
#   lib/systemd/system/      confvisord.service, confvisord@.service
#   share/confvisor/         example.json, confvisor.schema.json
# (lib is lib/<multiarch triplet> when configured with CMAKE_INSTALL_PREFIX=/usr on Debian.)
include(CMakePackageConfigHelpers)

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
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(TARGETS confvisor_shared confvisor
        EXPORT confvisorTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# `cmake --install --strip` and cpack (CPACK_STRIP_FILES) strip executables and the .so;
# the archive loses its debug sections too, as Debian's -dev packages have it.
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND [[${CMAKE_STRIP}]] --strip-debug
                    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:confvisor>\"
                    COMMAND_ERROR_IS_FATAL ANY)
  endif()")
file(GLOB _confvisor_headers ${PROJECT_SOURCE_DIR}/worker/include/confvisor/*.hpp
                             ${PROJECT_SOURCE_DIR}/worker/include/confvisor/*.h)
install(FILES ${_confvisor_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/confvisor)

install(EXPORT confvisorTargets NAMESPACE confvisor:: DESTINATION ${CONFVISOR_CMAKEDIR})
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
        DESTINATION ${CONFVISOR_CMAKEDIR})

# Files whose text names installed paths (the .pc file's prefix, the units' ExecStart) are
# written at install time for the prefix the install really uses: `cmake --install --prefix
# DIR` gives units that run DIR/bin/confvisord, cpack gives /usr/bin/confvisord.
function(confvisor_install_generated mode source destination)
  install(CODE "
    set(_mode [[${mode}]])
    set(_source [[${source}]])
    set(_destination [[${destination}]])
    set(_version [[${PROJECT_VERSION}]])
    set(_bindir [[${CMAKE_INSTALL_BINDIR}]])
    set(_libdir [[${CMAKE_INSTALL_LIBDIR}]])
    set(_includedir [[${CMAKE_INSTALL_INCLUDEDIR}]])
    set(_work [[${PROJECT_BINARY_DIR}/CMakeFiles/confvisor-install-generated]])
    include([[${CMAKE_CURRENT_FUNCTION_LIST_DIR}/install_generated.cmake]])")
endfunction()

confvisor_install_generated(configure ${CMAKE_CURRENT_LIST_DIR}/confvisor.pc.in
                            ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
foreach(_unit confvisord.service confvisord@.service)
  confvisor_install_generated(unit ${PROJECT_SOURCE_DIR}/systemd/${_unit}
                              ${CONFVISOR_SYSTEMD_UNITDIR})
endforeach()

install(FILES ${PROJECT_SOURCE_DIR}/config/example.json
              ${PROJECT_SOURCE_DIR}/config/confvisor.schema.json
        DESTINATION ${CONFVISOR_DATADIR})
