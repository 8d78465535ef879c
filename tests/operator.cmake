# The operator's first contact: confvisorctl finding its daemon (broken or missing config
# file, stale sockets, no root), what status tells, the units' ExecReload line, remove.
confvisor_test(operator_test)
add_dependencies(operator_test confvisord confvisorctl)
target_compile_definitions(operator_test PRIVATE CONFVISOR_UNIT_DIR="${PROJECT_SOURCE_DIR}/systemd")
