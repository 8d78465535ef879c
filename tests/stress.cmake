# confvisor-stress: the bounded fault storm CI runs (tests/stress/stress.cc says what it does);
# `build/tests/confvisor-stress --full` is the full-size run.
add_executable(confvisor-stress stress/stress.cc)
target_link_libraries(confvisor-stress PRIVATE confvisor confvisor_common confvisor_test_support)
set_target_properties(confvisor-stress PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_dependencies(confvisor-stress confvisord)
add_test(NAME stress COMMAND confvisor-stress)
set_tests_properties(stress PROPERTIES TIMEOUT 300)
