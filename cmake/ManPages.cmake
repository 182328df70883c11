# cmake -DKEEPOUT=<keepout> -DOUT=<dir> -P ManPages.cmake
# Writes keepout.1 and keepout-<command>.1 for every command `keepout --help` lists, from the
# programs' own --help, so that the pages cannot say other than the programs do. The text is
# kept as laid out (.nf); roff's escape character and control characters at a line start are
# escaped.
execute_process(COMMAND ${KEEPOUT} --version OUTPUT_VARIABLE version
    OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${KEEPOUT} --version failed")
endif()
execute_process(COMMAND ${KEEPOUT} --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${KEEPOUT} --help failed")
endif()

# roff-safe lines of text, without the usage line
function(ko_roff text out)
    string(REPLACE "\\" "\\e" text "${text}")
    string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(ko_page name summary help)
    string(TOUPPER "${name}" title)
    string(REGEX MATCH "^usage: ([^\n]*)" _ "${help}")
    set(usage "${CMAKE_MATCH_1}")
    string(REGEX REPLACE "^usage: [^\n]*\n\n?" "" body "${help}")
    ko_roff("${body}" body)
    ko_roff("${usage}" usage)
    ko_roff("${summary}" summary)
    set(see "")
    if(NOT name STREQUAL "keepout")
        set(see ".SH SEE ALSO\n.BR keepout (1)\n")
    endif()
    file(WRITE ${OUT}/${name}.1
        ".TH ${title} 1 \"\" \"${version}\" \"keepout manual\"\n"
        ".SH NAME\n${name} \\- ${summary}\n"
        ".SH SYNOPSIS\n.nf\n${usage}\n.fi\n"
        ".SH DESCRIPTION\n.nf\n${body}.fi\n${see}")
endfunction()

file(MAKE_DIRECTORY ${OUT})
ko_page(keepout "flags drone imagery that shows protected sites" "${top}")
string(REGEX MATCH "\ncommands:\n(([ ]+[^\n]*\n)+)" _ "${top}")
string(REGEX MATCHALL "  [a-z]+  +[^\n]*" lines "${CMAKE_MATCH_1}")
foreach(line ${lines})
    string(REGEX MATCH "^  ([a-z]+)  +(.*)$" _ "${line}")
    set(cmd ${CMAKE_MATCH_1})
    set(summary "${CMAKE_MATCH_2}")
    execute_process(COMMAND ${KEEPOUT} ${cmd} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${KEEPOUT} ${cmd} --help failed")
    endif()
    ko_page(keepout-${cmd} "${summary}" "${help}")
endforeach()
