# Process tracking on cgroup v2 (daemon/supervise/process_tracking.hpp), on the real daemon: a daemon
# SIGKILLed under a tree of workers, and the next one of the segment; limits; both modes.
confvisor_test(cgroup_test)
target_link_libraries(cgroup_test PRIVATE confvisord_core)
add_dependencies(cgroup_test confvisord confvisorctl)

# The whole supervision suite again in the fallback mode, whatever this machine offers.
add_test(NAME supervisor_test_subreaper
         COMMAND supervisor_test --log_level=test_suite --report_level=short)
set_tests_properties(supervisor_test_subreaper PROPERTIES
  TIMEOUT 300 ENVIRONMENT "CONFVISOR_TRACKING=subreaper")

# The shipped units delegate their cgroup and have systemd kill what is left in it.
add_test(NAME systemd_delegation
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/systemd_delegation_test.sh
                 ${PROJECT_SOURCE_DIR}/systemd)
