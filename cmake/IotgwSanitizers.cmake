# AddressSanitizer + UndefinedBehaviorSanitizer for the whole build (the `asan` preset).
# Every library and plugin gets the flags too: a plugin built without ASan inside an ASan
# gateway hides the very bugs we look for at the boundary.
if(IOTGW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
