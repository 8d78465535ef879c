# The control socket and confvisorctl against the real daemon.
confvisor_test(control_test)
add_dependencies(control_test confvisord confvisorctl)
