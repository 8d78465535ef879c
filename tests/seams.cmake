# Test-only twins of the programs that publish, with the fault-injection seams of
# common/publish/crash_point.hpp wired to CONFVISOR_TEST_CRASH_AT and CONFVISOR_TEST_STOP_AT:
# build/tests/confvisord-seams and build/tests/confvisorctl-seams. The programs in build/bin,
# which the tests run everywhere else and which `cmake --install` and cpack ship, have no
# seams (event_loop_test checks that they ignore both variables).

# NAME-seams: the sources, libraries and definitions of NAME, plus support/test_seams.cc.
function(confvisor_seams_twin name)
  get_target_property(_dir ${name} SOURCE_DIR)
  get_target_property(_sources ${name} SOURCES)
  list(TRANSFORM _sources PREPEND ${_dir}/)
  add_executable(${name}-seams ${_sources} ${CMAKE_CURRENT_SOURCE_DIR}/support/test_seams.cc)
  foreach(_property LINK_LIBRARIES COMPILE_DEFINITIONS INCLUDE_DIRECTORIES)
    get_target_property(_value ${name} ${_property})
    if(_value)
      set_property(TARGET ${name}-seams PROPERTY ${_property} ${_value})
    endif()
  endforeach()
  target_include_directories(${name}-seams PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support)
  set_target_properties(${name}-seams PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endfunction()

confvisor_seams_twin(confvisord)
confvisor_seams_twin(confvisorctl)

# In-process tests arm points with arm_crash_point (support/test_seams.hpp); tests of
# processes find the twins in CONFVISOR_SEAMS_BIN_DIR (support/CMakeLists.txt).
target_sources(confvisor_test_support PRIVATE support/test_seams.cc)
