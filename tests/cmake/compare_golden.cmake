# ctest helper: run a scenario and compare its report.json with a golden file, byte for byte.
execute_process(COMMAND ${VFIOSIM} run ${SCENARIO} -q -o ${OUT}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "vfiosim run exited ${rc}: ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/report.json ${GOLDEN} RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  execute_process(COMMAND diff -u ${GOLDEN} ${OUT}/report.json OUTPUT_VARIABLE d)
  message(FATAL_ERROR "report.json differs from ${GOLDEN} (update with scripts/update-golden.sh if intended):\n${d}")
endif()
