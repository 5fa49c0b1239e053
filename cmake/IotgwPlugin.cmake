# iotgw_add_plugin(<target> SOURCES ... [LIBRARIES ...]): an in-tree plugin, built with the very
# function third parties use from the installed SDK package, plus our warnings, the build-tree
# plugin directory and installation.
function(iotgw_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  iotgw_sdk_add_plugin(${target} SOURCES ${ARG_SOURCES} LIBRARIES iotgw_warnings ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${IOTGW_PLUGIN_OUTPUT_DIRECTORY})
  install(TARGETS ${target} LIBRARY DESTINATION ${IOTGW_PLUGIN_SUBDIR})
endfunction()
