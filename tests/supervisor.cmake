# Supervision on the real daemon: real worker processes, real signals, checked through /proc.
# notify_worker is an sd_notify-aware service built on libsystemd's own sd_notify.
add_executable(notify_worker support/notify_worker.cc)
target_link_libraries(notify_worker PRIVATE PkgConfig::systemd)

confvisor_test(supervisor_test)
target_compile_definitions(supervisor_test PRIVATE
  CONFVISOR_NOTIFY_WORKER="$<TARGET_FILE:notify_worker>")
add_dependencies(supervisor_test confvisord notify_worker)

# The subreaper's /proc scan, in process, against children that come and go.
confvisor_test(leftovers_test)
target_link_libraries(leftovers_test PRIVATE confvisord_core)
