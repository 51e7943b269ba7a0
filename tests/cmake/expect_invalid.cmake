# ctest helper: `vfiosim validate FILE` must exit 2 and name WHERE (a JSON pointer, or
# line:column for a syntax error) right after the file name on stderr, without crashing.
# Usage: cmake -DVFIOSIM=... -DFILE=... -DWHERE=... -P expect_invalid.cmake
execute_process(COMMAND ${VFIOSIM} validate ${FILE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "expected exit code 2, got '${rc}'\nstdout: ${out}\nstderr: ${err}")
endif()
if(WHERE MATCHES "^[0-9]+:")
  set(needle "${FILE}:${WHERE}")
else()
  set(needle "${FILE}: ${WHERE}: ")
endif()
string(FIND "${err}" "${needle}" pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "stderr does not contain '${needle}'\nstderr: ${err}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "stdout must stay empty for an invalid file, got: ${out}")
endif()
