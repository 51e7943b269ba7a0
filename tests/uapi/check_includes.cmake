# ctest helper: the UAPI module includes only the standard library, nlohmann_json, the system's
# <linux/...> headers and its own headers, never the simulator's (ARCHITECTURE.md, layering).
# Usage: cmake -DDIR=<vfio/uapi> -P check_includes.cmake
file(GLOB sources ${DIR}/*.h ${DIR}/*.cpp)
# The C++ standard headers the module may use (SystemC's <systemc>, <tlm> are not among them).
set(std "algorithm|array|cctype|cerrno|cinttypes|climits|cstddef|cstdint|cstdio|cstdlib|cstring|functional|iterator|limits|map|memory|optional|set|sstream|string|string_view|tuple|type_traits|unordered_map|utility|variant|vector")
set(bad "")
foreach(f IN LISTS sources)
  file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS lines)
    if(line MATCHES "\"vfio/uapi/[a-z_]+\\.h\"" OR line MATCHES "<nlohmann/json\\.hpp>" OR line MATCHES "<linux/[a-z_]+\\.h>"
       OR line MATCHES "<(${std})>")
      continue()
    endif()
    string(APPEND bad "\n  ${f}: ${line}")
  endforeach()
endforeach()
list(LENGTH sources n)
if(n EQUAL 0)
  message(FATAL_ERROR "no sources under ${DIR}")
endif()
if(NOT bad STREQUAL "")
  message(FATAL_ERROR "the UAPI module includes something of the simulator or a third party:${bad}")
endif()
