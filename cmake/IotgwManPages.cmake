# Man pages: iotgw(1) and iotgw.toml(5) from the scdoc sources in packaging/man/.
# The PLUGINS section of iotgw.toml(5) is generated at build time from `iotgw plugins` over the
# plugins just built: the same schema data that `iotgw check` enforces, so the page cannot list
# an option the plugins do not accept. A cross build runs `iotgw plugins` through
# CMAKE_CROSSCOMPILING_EMULATOR (qemu-user), or leaves the pages out without one.
find_program(SCDOC_EXECUTABLE scdoc)
set(IOTGW_MANPAGES_DEFAULT OFF)
if(SCDOC_EXECUTABLE AND (NOT CMAKE_CROSSCOMPILING OR CMAKE_CROSSCOMPILING_EMULATOR))
  set(IOTGW_MANPAGES_DEFAULT ON)
endif()
option(IOTGW_BUILD_MANPAGES "Build and install the man pages (needs scdoc)" ${IOTGW_MANPAGES_DEFAULT})

if(IOTGW_BUILD_MANPAGES)
  if(NOT SCDOC_EXECUTABLE)
    message(FATAL_ERROR "IOTGW_BUILD_MANPAGES is ON but scdoc was not found: apt-get install scdoc")
  endif()
  set(IOTGW_MAN_SOURCE_DIR ${PROJECT_SOURCE_DIR}/packaging/man)
  set(IOTGW_MAN_BINARY_DIR ${PROJECT_BINARY_DIR}/man)
  set(IOTGW_MAN_SCRIPT ${IOTGW_MAN_SOURCE_DIR}/render-man.cmake)
  # A list (emulator plus its arguments) passed through the script as one ';'-free argument.
  string(REPLACE ";" "|" IOTGW_MAN_EMULATOR "${CMAKE_CROSSCOMPILING_EMULATOR}")
  # The plugin libraries themselves, so a changed schema regenerates the page.
  get_property(IOTGW_MAN_PLUGIN_TARGETS TARGET iotgw_plugins PROPERTY MANUALLY_ADDED_DEPENDENCIES)
  set(IOTGW_MAN_PLUGIN_FILES)
  foreach(plugin ${IOTGW_MAN_PLUGIN_TARGETS})
    # A plugin left out of this build (e.g. tpm without libtss2-dev) is an empty custom target.
    get_target_property(plugin_type ${plugin} TYPE)
    if(plugin_type MATCHES "LIBRARY$")
      list(APPEND IOTGW_MAN_PLUGIN_FILES $<TARGET_FILE:${plugin}>)
    endif()
  endforeach()
  set(IOTGW_MAN_PAGES)
  foreach(page iotgw.1 iotgw.toml.5)
    set(out ${IOTGW_MAN_BINARY_DIR}/${page})
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND}
              -DSCDOC=${SCDOC_EXECUTABLE}
              -DINPUT=${IOTGW_MAN_SOURCE_DIR}/${page}.scd
              -DOUTPUT=${out}
              -DIOTGW=$<TARGET_FILE:iotgw>
              -DEMULATOR=${IOTGW_MAN_EMULATOR}
              -DPLUGIN_BUILD_DIR=${IOTGW_PLUGIN_OUTPUT_DIRECTORY}
              -DPLUGIN_INSTALL_DIR=${IOTGW_PLUGIN_INSTALL_DIR}
              -DVERSION=${IOTGW_VERSION_STRING}
              -P ${IOTGW_MAN_SCRIPT}
      DEPENDS ${IOTGW_MAN_SOURCE_DIR}/${page}.scd ${IOTGW_MAN_SCRIPT} iotgw ${IOTGW_MAN_PLUGIN_FILES}
      COMMENT "Generating man page ${page}"
      VERBATIM)
    list(APPEND IOTGW_MAN_PAGES ${out})
    string(REGEX MATCH "[0-9]$" section ${page})
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(iotgw_manpages ALL DEPENDS ${IOTGW_MAN_PAGES})
endif()
