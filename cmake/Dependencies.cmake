# Third-party dependencies, all from Debian 12 packages (see scripts/deps.sh).

# SystemC: prefer an upstream CMake install; Debian's libsystemc-dev only ships pkg-config.
find_package(SystemCLanguage CONFIG QUIET)
if(NOT TARGET SystemC::systemc)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SystemC REQUIRED IMPORTED_TARGET systemc)
  pkg_check_modules(TLM REQUIRED IMPORTED_TARGET tlm)
  add_library(SystemC::systemc INTERFACE IMPORTED)
  target_link_libraries(SystemC::systemc INTERFACE PkgConfig::SystemC PkgConfig::TLM)
  if(CMAKE_CXX_STANDARD GREATER 17)  # the Debian library exports sc_api_version_..._cxx201703L
    target_compile_definitions(SystemC::systemc INTERFACE SC_CPLUSPLUS=201703L)
  endif()
endif()

find_package(nlohmann_json 3.10 REQUIRED CONFIG)
find_package(CLI11 CONFIG REQUIRED)
find_package(Threads REQUIRED)

if(VFIOSIM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(valijson CONFIG QUIET)
  if(NOT TARGET valijson)
    find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp REQUIRED)
    add_library(valijson INTERFACE IMPORTED)
    target_include_directories(valijson INTERFACE ${VALIJSON_INCLUDE_DIR})
  endif()
endif()
if(VFIOSIM_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
