# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P EmbedFile.cmake
# Writes a C source holding the bytes of IN (NUL-terminated) as `const char NAME[]`, so the
# library needs no data path at run time (the GDAL plugin is installed far from data/).
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/EmbedFile.cmake. Do not edit. */\n"
    "#include <stddef.h>\n"
    "extern const unsigned char ${NAME}[];\nextern const size_t ${NAME}_len;\n"
    "const unsigned char ${NAME}[] = {${bytes}0x00};\n"
    "const size_t ${NAME}_len = sizeof ${NAME} - 1;\n")
