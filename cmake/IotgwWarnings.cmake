# Warnings every target of ours compiles with; applied per target so that third-party plugin
# authors who include our CMake package do not inherit them.
add_library(iotgw_warnings INTERFACE)
target_compile_options(iotgw_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
  $<$<BOOL:${IOTGW_WERROR}>:-Werror>)
