# The daemon's event loop never blocks: a FIFO as the config, a publisher stopped holding the
# writer lock, a publish beside the daemon; and the shipped programs ignore the test seams.
confvisor_test(event_loop_test)
add_dependencies(event_loop_test confvisord confvisorctl confvisorctl-seams)
