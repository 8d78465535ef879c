# The state machines of daemon/supervise in process: a worker instance through its table of
# state x event and a rolling restart through its diagram, with real short-lived processes
# on a real loop.
confvisor_test(worker_state_test)
target_link_libraries(worker_state_test PRIVATE confvisord_core)
