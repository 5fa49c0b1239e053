# iotgw_sdk_add_plugin(<target> SOURCES <files>... [LIBRARIES <libs>...])
# Builds a gateway plugin: a MODULE library named libiotgw-<target>.so that links the SDK,
# exports only the entry symbol and leaves no symbol for the gateway to resolve.

# Exporting nothing but the entry point keeps weak template instantiations of the plugin's
# standard library out of the global symbol scope, where they could be bound to another
# plugin's copy built by a different compiler.
function(iotgw_sdk_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "iotgw_sdk_add_plugin(${target}): SOURCES is required")
  endif()
  set(version_script ${CMAKE_BINARY_DIR}/iotgw-plugin-exports.map)
  if(NOT EXISTS ${version_script})
    file(WRITE ${version_script} "{\n  global: iotgw_plugin_entry;\n  local: *;\n};\n")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE iotgw::sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "libiotgw-"
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${version_script})
  target_link_options(${target} PRIVATE -Wl,--no-undefined
    -Wl,--version-script=${version_script})
endfunction()
