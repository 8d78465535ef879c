# libFuzzer targets (tests/fuzz/README.md): the config loader (text -> errors or a Config),
# the control protocol's request parser, and a reader's validation of a corrupted segment.
# They need clang, and only these targets are meant to be built in such a tree:
#   cmake -S . -B build-fuzz -DCONFVISOR_FUZZ=ON -DCONFVISOR_BENCH=OFF \
#         -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
#   cmake --build build-fuzz --target config_fuzz control_fuzz segment_fuzz
option(CONFVISOR_FUZZ "Build the libFuzzer targets config_fuzz, control_fuzz, segment_fuzz (clang only)" OFF)
if(CONFVISOR_FUZZ AND TARGET confvisord_core)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CONFVISOR_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  set(_fuzz_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  # The code under test needs libFuzzer's coverage instrumentation, not just the entry point.
  foreach(_lib confvisor_common confvisor_control confvisord_config confvisord_supervise
                confvisord_core)
    target_compile_options(${_lib} PRIVATE -fsanitize=fuzzer-no-link ${_fuzz_sanitizers})
  endforeach()
  function(confvisor_fuzz_target name)
    add_executable(${name} fuzz/${name}.cc)
    target_link_libraries(${name} PRIVATE ${ARGN})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${_fuzz_sanitizers})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  endfunction()
  confvisor_fuzz_target(config_fuzz confvisord_core)
  confvisor_fuzz_target(control_fuzz confvisor_control)
  confvisor_fuzz_target(segment_fuzz confvisor_common)
endif()
