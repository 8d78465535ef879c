# Install and packaging: the three .deb files that cpack makes (control data, exact layout), and
# an out-of-tree consumer built against `cmake --install` output and run on a live segment.
# Both install from this build tree, so they take turns.
add_test(NAME install_package_layout
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_layout_test.sh
                 ${CMAKE_CPACK_COMMAND} ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${PROJECT_VERSION} ${CONFVISOR_SOVERSION})

# An instrumented libconfvisor only loads into an instrumented program: the consumers get the
# flags this build was made with.
set(_consumer_sanitizer_flags "")
if(CONFVISOR_SANITIZE)
  set(_consumer_sanitizer_flags "-fsanitize=address,undefined -fno-omit-frame-pointer")
elseif(CONFVISOR_TSAN)
  set(_consumer_sanitizer_flags "-fsanitize=thread")
endif()
add_test(NAME install_consumer
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer_test.sh
                 ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/consumer
                 ${CMAKE_C_COMPILER} ${CMAKE_CXX_COMPILER} "${_consumer_sanitizer_flags}")

set_tests_properties(install_package_layout install_consumer PROPERTIES
  RESOURCE_LOCK confvisor_build_tree_install
  TIMEOUT 180)

# The manual pages render without warnings and document every option, command and config
# key; the bash completion completes commands, options and, from a running daemon, worker
# names and generations. Both read the sources, not an install, so they run in parallel.
add_test(NAME install_man_pages
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_man_pages_test.sh
                 ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} ${PROJECT_SOURCE_DIR})
add_test(NAME install_bash_completion
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_completion_test.sh
                 ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} ${PROJECT_SOURCE_DIR})
set_tests_properties(install_man_pages install_bash_completion PROPERTIES TIMEOUT 120)
