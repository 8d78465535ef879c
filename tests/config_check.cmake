# First contact: commands found in PATH, --check and reloads that refuse workers that can
# never start, supervisord's key names, config/example.json run through reloads, the schema
# validated as an editor's validator sees it (python3-jsonschema).
if(TARGET confvisord_core)
  confvisor_test(config_check_test)
  target_link_libraries(config_check_test PRIVATE confvisord_core)
  target_compile_definitions(config_check_test PRIVATE
    CONFVISOR_CONFIG_DIR="${PROJECT_SOURCE_DIR}/config")
  add_dependencies(config_check_test confvisord confvisorctl)
endif()
