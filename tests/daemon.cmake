confvisor_test(daemon_test)
target_compile_definitions(daemon_test PRIVATE
  CONFVISOR_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
add_dependencies(daemon_test confvisord confvisord-seams)
