# The Python package's pytest suites (tests/python), one ctest per file, run with the
# interpreter the package was built for and the package from the build tree. Without the
# package (CONFVISOR_PYTHON=OFF, no python3-dev) or without pytest they are reported as
# skipped, not left out: scripts/setup-deps.sh installs both.
file(GLOB _python_suites ${CMAKE_CURRENT_SOURCE_DIR}/python/test_*.py)

set(_python_skip_reason "")
if(NOT TARGET confvisor_python)
  set(_python_skip_reason "the Python package is not built (CONFVISOR_PYTHON=OFF or no python3-dev)")
else()
  execute_process(COMMAND ${CONFVISOR_PYTHON_EXECUTABLE} -c "import pytest"
                  RESULT_VARIABLE _pytest_missing OUTPUT_QUIET ERROR_QUIET)
  if(_pytest_missing)
    set(_python_skip_reason "${CONFVISOR_PYTHON_EXECUTABLE} has no pytest (python3-pytest)")
  endif()
endif()

foreach(_suite IN LISTS _python_suites)
  get_filename_component(_name ${_suite} NAME_WE)
  string(REGEX REPLACE "^test_" "python_" _name ${_name})
  if(_python_skip_reason)
    add_test(NAME ${_name} COMMAND sh -c "echo 'SKIPPED: ${_python_skip_reason}'; exit 77")
    set_tests_properties(${_name} PROPERTIES SKIP_RETURN_CODE 77)
    continue()
  endif()
  add_test(NAME ${_name}
           COMMAND ${CONFVISOR_PYTHON_EXECUTABLE} -m pytest -v -p no:cacheprovider
                   --basetemp=${CMAKE_CURRENT_BINARY_DIR}/pytest-${_name} ${_suite}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/python)
  set_tests_properties(${_name} PROPERTIES
    ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python;CONFVISOR_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
    TIMEOUT 300)
endforeach()
if(TEST python_pip_install)
  # It compiles the extension and libconfvisor's sources again, with setuptools.
  set_tests_properties(python_pip_install PROPERTIES TIMEOUT 900)
endif()

# Keeps bench/python_bench.py working (every figure produced); asserts nothing about speed.
if(NOT _python_skip_reason)
  add_test(NAME python_bench_smoke
           COMMAND ${CONFVISOR_PYTHON_EXECUTABLE} ${PROJECT_SOURCE_DIR}/bench/python_bench.py --quick)
  set_tests_properties(python_bench_smoke PROPERTIES
    ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python;CONFVISOR_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
    TIMEOUT 120)
endif()
