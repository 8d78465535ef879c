# The config file, in process: loading, validation, the schema and examples in config/.
# Loading and validation in process, one suite per concern: the text and its FILE:LINE:COL
# errors (config_syntax_test), the daemon's settings and their JSON-pointer errors
# (config_settings_test), the keys of a worker (config_workers_test), the value parsers
# (config_values_test), reading the file (config_files_test), and the examples, schema and
# README that describe the config (config_schema_test). They read config/ and tests/data/
# and share support/config_documents; `ctest -L config` runs them all. The fuzz target of
# the loader is in fuzz.cmake.
if(TARGET confvisord_core)
  add_library(confvisor_config_test_support STATIC support/config_documents.cc)
  target_link_libraries(confvisor_config_test_support PUBLIC confvisord_config
                                                        Boost::unit_test_framework)
  target_compile_definitions(confvisor_config_test_support PUBLIC BOOST_TEST_DYN_LINK)
  foreach(_suite config_syntax_test config_settings_test config_workers_test config_values_test
                 config_files_test config_schema_test)
    confvisor_test(${_suite})
    target_link_libraries(${_suite} PRIVATE confvisord_core confvisor_config_test_support)
    target_compile_definitions(${_suite} PRIVATE
      CONFVISOR_CONFIG_DIR="${PROJECT_SOURCE_DIR}/config"
      CONFVISOR_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
    set_tests_properties(${_suite} PROPERTIES LABELS config)
  endforeach()
endif()
