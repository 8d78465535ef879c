# The config file: loading, validation, the schema and examples in config/, and a fuzz target.

if(TARGET confvisord_core)
  confvisor_test(config_test)
  target_link_libraries(config_test PRIVATE confvisord_core)
  target_compile_definitions(config_test PRIVATE
    CONFVISOR_CONFIG_DIR="${PROJECT_SOURCE_DIR}/config"
    CONFVISOR_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
endif()

# libFuzzer target for the config loader (text -> errors or a Config). Needs clang, and only
# the target itself is meant to be built in such a tree:
#   cmake -S . -B build-fuzz -DCONFVISOR_FUZZ=ON -DCONFVISOR_BENCH=OFF \
#         -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
#   cmake --build build-fuzz --target config_fuzz
# See tests/fuzz/README.md for how to run it.
option(CONFVISOR_FUZZ "Build the libFuzzer target config_fuzz (clang only)" OFF)
if(CONFVISOR_FUZZ AND TARGET confvisord_core)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CONFVISOR_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  set(_fuzz_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  # The code under test needs libFuzzer's coverage instrumentation, not just the entry point.
  foreach(_lib confvisor_common confvisord_core)
    target_compile_options(${_lib} PRIVATE -fsanitize=fuzzer-no-link ${_fuzz_sanitizers})
  endforeach()
  add_executable(config_fuzz fuzz/config_fuzz.cc)
  target_link_libraries(config_fuzz PRIVATE confvisord_core)
  target_compile_options(config_fuzz PRIVATE -fsanitize=fuzzer ${_fuzz_sanitizers})
  target_link_options(config_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(config_fuzz PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endif()
