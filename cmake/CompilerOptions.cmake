# Project-wide warning, sanitizer and include settings, applied through an interface target.
add_library(vfiosim_options INTERFACE)
target_compile_options(vfiosim_options INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(VFIOSIM_WERROR)
  target_compile_options(vfiosim_options INTERFACE -Werror)
endif()
target_include_directories(vfiosim_options INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_definitions(vfiosim_options INTERFACE SC_INCLUDE_DYNAMIC_PROCESSES)
if(VFIOSIM_SANITIZE)
  target_compile_options(vfiosim_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(vfiosim_options INTERFACE -fsanitize=address,undefined)
endif()

# Helper: a library of this project with the common options.
function(vfiosim_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC vfiosim_options ${ARG_DEPS})
endfunction()
