# The config file: loading, validation, the schema and examples in config/ (its fuzz target
# is in fuzz.cmake).

if(TARGET confvisord_core)
  confvisor_test(config_test)
  target_link_libraries(config_test PRIVATE confvisord_core)
  target_compile_definitions(config_test PRIVATE
    CONFVISOR_CONFIG_DIR="${PROJECT_SOURCE_DIR}/config"
    CONFVISOR_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
endif()
