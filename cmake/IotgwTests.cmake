# How the test suite is built: GoogleTest binaries registered with ctest, each test labelled with
# what it needs, so that a label can be run on its own (`ctest --preset release -L <label>`):
#   unit         in-process only: no child process, no socket (fast; also run under ASan/UBSan)
#   broker       starts a real mosquitto on a loopback port (tests/broker/, plugins' BROKER files)
#   process      starts processes: the iotgw or localcore binary, scripts/dev-pki (openssl), readelf
#   e2e          the gateway end to end against TLS brokers or localcore
#   integration  the real `iotgw` binary on the shipped configs, the out-of-tree SDK build
#   <plugin>     every test of plugins/<plugin>/ (iotgw_add_plugin_tests below)
# The ASan/UBSan preset runs unit, broker and process; scripts/test --quick runs unit only.
#
# Included by the top-level CMakeLists.txt before any folder that defines tests: GoogleTest is
# found here, at the top, so that plugins/, localcore/ and tests/ all see its imported targets.
# Nothing is defined unless IOTGW_BUILD_TESTS and BUILD_TESTING are both on.

if(IOTGW_BUILD_TESTS AND BUILD_TESTING)
  set(IOTGW_TESTS_ENABLED ON)
  find_package(GTest REQUIRED)
  include(GoogleTest)
else()
  set(IOTGW_TESTS_ENABLED OFF)
endif()

# IOTGW_TEST_LABELS: build only the test binaries of these labels (empty: all). The ASan preset
# runs unit, broker and process only, so it skips compiling the end-to-end binaries.
set(IOTGW_TEST_LABELS "" CACHE STRING "Build only the test binaries with these labels (empty: all)")

# Sets <out> to whether test binaries labelled <label> are built.
function(iotgw_test_label_enabled label out)
  if(NOT IOTGW_TESTS_ENABLED)
    set(${out} OFF PARENT_SCOPE)
  elseif(IOTGW_TEST_LABELS STREQUAL "" OR label IN_LIST IOTGW_TEST_LABELS)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

# iotgw_test_code: what every test source is compiled with. In the optimised configurations test
# code is built with -Og and line tables only (-g1): a failing test's backtrace still has file and
# line, and a test measures nothing that -O2 would speed up. At -O2 -g the GoogleTest bodies took
# about twice as long to compile, and CI compiles the tests twice (release, Debian 13). To step
# through a test with its locals, use the debug preset (-O0 -g, untouched here). The code under test
# keeps the configuration's flags: it is built in the product's own targets.
# (Precompiled GoogleTest headers, one per test target, were tried and made the build slower:
# 49 headers to build, and loading one costs most of what it saves.)
if(IOTGW_TESTS_ENABLED)
  add_library(iotgw_test_code INTERFACE)
  target_compile_options(iotgw_test_code INTERFACE $<$<NOT:$<CONFIG:Debug>>:-Og> $<$<NOT:$<CONFIG:Debug>>:-g1>)
endif()

# Where tests/fixtures/plugins writes its plugin libraries (one directory per case).
set(IOTGW_FIXTURE_PLUGIN_DIR ${PROJECT_BINARY_DIR}/tests/fixtures/plugins/out)

# Paths the tests and the test support (tests/support/test_support.cpp) are compiled with.
set(IOTGW_TEST_DEFINITIONS
  IOTGW_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
  IOTGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  IOTGW_FIXTURE_PLUGIN_DIR="${IOTGW_FIXTURE_PLUGIN_DIR}"
  IOTGW_BUILD_PLUGIN_DIR="${IOTGW_PLUGIN_OUTPUT_DIRECTORY}"
  IOTGW_BINARY="$<TARGET_FILE:iotgw>"
  IOTGW_DEV_PKI="${PROJECT_SOURCE_DIR}/scripts/dev-pki"
  # The version the gateway under test reports (core/src/runtime/version.cpp).
  IOTGW_VERSION="${IOTGW_VERSION_STRING}")

# iotgw_add_test_binary(<name> LABEL <label> SOURCES <file>... [LIBRARIES <lib>...]): one
# GoogleTest binary linked with the test support (tests/support/, target iotgw_test_support);
# ctest runs each of its tests on its own, labelled <label>. It is built after the gateway, the
# in-tree plugins and the fixture plugins, which its tests load or start.
function(iotgw_add_test_binary name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LABEL" "SOURCES;LIBRARIES")
  iotgw_test_label_enabled(${arg_LABEL} enabled)
  if(NOT enabled)
    return()
  endif()
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE iotgw_core iotgw_test_support GTest::gmock_main iotgw_warnings
                                        iotgw_test_code ${arg_LIBRARIES})
  target_compile_definitions(${name} PRIVATE ${IOTGW_TEST_DEFINITIONS})
  add_dependencies(${name} iotgw_fixture_plugins iotgw_plugins iotgw)
  gtest_discover_tests(${name} PROPERTIES LABELS ${arg_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()

# iotgw_add_plugin_tests(<plugin> [BROKER <file>...] [PROCESS <file>...] [LIBRARIES <lib>...])
# Call it at the end of plugins/<plugin>/CMakeLists.txt. Every test defined there carries the
# label <plugin> (`ctest -L mqtt`). Files are relative to the plugin folder:
#   tests/*.cpp            <plugin>_plugin_tests, label unit, except the files listed under
#                          BROKER (<plugin>_plugin_broker_tests, label broker: a real mosquitto)
#                          and PROCESS (<plugin>_plugin_process_tests, label process)
#   tests/localcore/*.cpp  <plugin>_plugin_localcore_tests, label e2e: the gateway against
#                          localcore (linked with localcore's test fixture, so only when
#                          localcore is built: IOTGW_BUILD_LOCALCORE)
# The plugin folder is on the include path, so a test includes the plugin's own headers by name
# ("offline_queue.hpp"). LIBRARIES are linked into every binary, e.g. the shared plugin code
# whose headers the tests include.
function(iotgw_add_plugin_tests plugin)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "BROKER;PROCESS;LIBRARIES")
  if(NOT IOTGW_TESTS_ENABLED)
    return()
  endif()
  set_property(DIRECTORY APPEND PROPERTY LABELS ${plugin})

  list(TRANSFORM arg_BROKER PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  list(TRANSFORM arg_PROCESS PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  file(GLOB unit_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*.cpp)
  if(arg_BROKER OR arg_PROCESS)
    list(REMOVE_ITEM unit_sources ${arg_BROKER} ${arg_PROCESS})
  endif()
  file(GLOB localcore_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/localcore/*.cpp)

  set(binaries)
  if(unit_sources)
    iotgw_add_test_binary(${plugin}_plugin_tests LABEL unit SOURCES ${unit_sources})
    list(APPEND binaries ${plugin}_plugin_tests)
  endif()
  if(arg_BROKER)
    iotgw_add_test_binary(${plugin}_plugin_broker_tests LABEL broker SOURCES ${arg_BROKER})
    list(APPEND binaries ${plugin}_plugin_broker_tests)
  endif()
  if(arg_PROCESS)
    iotgw_add_test_binary(${plugin}_plugin_process_tests LABEL process SOURCES ${arg_PROCESS})
    list(APPEND binaries ${plugin}_plugin_process_tests)
  endif()
  # localcore/ is added before plugins/ (top-level CMakeLists.txt), so its fixture exists here
  # whenever localcore and its tests are built.
  if(localcore_sources)
    if(TARGET localcore_test_fixture)
      iotgw_add_test_binary(${plugin}_plugin_localcore_tests LABEL e2e SOURCES ${localcore_sources}
                            LIBRARIES localcore_test_fixture)
      list(APPEND binaries ${plugin}_plugin_localcore_tests)
    else()
      message(STATUS "plugin ${plugin}: tests/localcore/ not built (needs localcore, "
                     "IOTGW_BUILD_LOCALCORE, and the e2e label in IOTGW_TEST_LABELS)")
    endif()
  endif()

  foreach(binary ${binaries})
    if(NOT TARGET ${binary})
      continue() # its label is not built (IOTGW_TEST_LABELS)
    endif()
    target_include_directories(${binary} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${binary} PRIVATE ${arg_LIBRARIES})
  endforeach()
endfunction()
