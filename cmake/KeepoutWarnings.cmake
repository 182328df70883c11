# Warning set of STYLE.md, applied per target so third-party code is untouched.
function(keepout_warnings target)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
            -Wmissing-prototypes -Wformat=2 -Wvla>
        $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wformat=2>)
    if(KEEPOUT_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
