# The git revision of the source tree, for `vfiosim --version` (not written into reports, which
# must be byte-identical across commits for the same model behaviour).
find_package(Git QUIET)
set(VFIOSIM_GIT_REVISION "unknown")
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                  OUTPUT_VARIABLE VFIOSIM_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET)
  if(NOT VFIOSIM_GIT_REVISION)
    set(VFIOSIM_GIT_REVISION "unknown")
  endif()
endif()
