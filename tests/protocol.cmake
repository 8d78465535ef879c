# The control protocol's command table, and the names the daemon's outcomes show in status and
# logs, checked as units (control_test drives the same through the real daemon).
if(TARGET confvisord_core)
  confvisor_test(protocol_test)
  target_link_libraries(protocol_test PRIVATE confvisord_core)
endif()
