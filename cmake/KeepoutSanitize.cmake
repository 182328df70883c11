# KEEPOUT_SANITIZE=ON builds everything with AddressSanitizer + UndefinedBehaviorSanitizer.
if(KEEPOUT_SANITIZE)
    set(_ko_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_compile_options(${_ko_san})
    add_link_options(${_ko_san})
endif()
