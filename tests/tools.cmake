# The tools (confvisorctl, the example worker) run for real, and the C API.

# A consumer written in plain C: compiled as strict C11, so the public C header must be C.
add_executable(c_consumer c_consumer.c)
set_source_files_properties(c_consumer.c PROPERTIES LANGUAGE C)
set_target_properties(c_consumer PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_compile_options(c_consumer PRIVATE -pedantic-errors -Wstrict-prototypes)
target_link_libraries(c_consumer PRIVATE confvisor)

confvisor_test(tools_test)
target_compile_definitions(tools_test PRIVATE CONFVISOR_C_CONSUMER="$<TARGET_FILE:c_consumer>")
# Building the suite builds what it runs.
foreach(_tool c_consumer confvisorctl confvisor-example-worker)
  if(TARGET ${_tool})
    add_dependencies(tools_test ${_tool})
  endif()
endforeach()

confvisor_test(c_api_test)
