# ctest helper: `vfiosim run` (or -DVERB=validate) of a scenario must end with an exact exit code
# (no signal), and optionally its output (stdout and stderr together) must match a regular
# expression.
if(NOT DEFINED VERB)
  set(VERB run)
endif()
if(VERB STREQUAL "run")
  set(where -o ${OUT})
endif()
execute_process(COMMAND ${VFIOSIM} ${VERB} ${SCENARIO} ${where} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "vfiosim run exited '${rc}', expected ${EXPECT_RC}:\n${out}\n${err}")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUTPUT}':\n${out}\n${err}")
endif()
