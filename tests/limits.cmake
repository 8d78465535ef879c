# Bounds of the config that keep the daemon responsive (max_instances), on the real binaries.
confvisor_test(limits_test)
add_dependencies(limits_test confvisord confvisorctl)
