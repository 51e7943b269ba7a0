# ctest helper: run a scenario and require an exact exit code (no signal), and optionally that
# the output (stdout and stderr together) matches a regular expression.
execute_process(COMMAND ${VFIOSIM} run ${SCENARIO} -o ${OUT} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "vfiosim run exited '${rc}', expected ${EXPECT_RC}:\n${out}\n${err}")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUTPUT}':\n${out}\n${err}")
endif()
