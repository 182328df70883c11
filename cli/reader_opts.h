/* Options of the inputs (video thinning, nadir assumption, SRT camera), shared by the commands
 * that read photos and video telemetry. */
#ifndef KEEPOUT_CLI_READER_OPTS_H
#define KEEPOUT_CLI_READER_OPTS_H

#include <getopt.h>

#include "keepout/keepout.h"

enum {
    RO_ASSUME_NADIR = 1000,
    RO_EVERY,
    RO_INTERVAL,
    RO_FOCAL35,
    RO_INCLUDE,
    RO_EXCLUDE,
    RO_CAMERA
};

#define READER_LONGOPTS                                     \
    {"assume-nadir", no_argument, NULL, RO_ASSUME_NADIR},   \
        {"every", required_argument, NULL, RO_EVERY},       \
        {"interval", required_argument, NULL, RO_INTERVAL}, \
        {"focal35", required_argument, NULL, RO_FOCAL35},   \
        {"camera", required_argument, NULL, RO_CAMERA},     \
        {"include", required_argument, NULL, RO_INCLUDE}, { \
        "exclude", required_argument, NULL, RO_EXCLUDE      \
    }

#define READER_HELP                                                                                \
    "  --assume-nadir    frames without gimbal attitude looked straight down (with no\n"           \
    "                    heading known, a footprint that holds every heading is used)\n"           \
    "  --every N         only every N-th video frame\n"                                            \
    "  --interval S      at most one video frame per S seconds\n"                                  \
    "  --focal35 MM      35 mm-equivalent focal length of the video camera, where the .SRT\n"      \
    "                    does not say (most do not) and for GoPro GPMF telemetry\n"                \
    "  --camera NAME     the camera of photos whose files do not describe it, by name\n"           \
    "                    (\"DJI FC6310R\", \"Mavic 3E\", \"Zenmuse H20T wide\"; docs/DESIGN.md)\n" \
    "  --include GLOB    in directories, read only files matching GLOB (repeatable; default:\n"    \
    "                    *.jpg *.jpeg *.tif *.tiff *.srt, GoPro videos and .raw streams with\n"    \
    "                    GPMF telemetry, and the imagery keepout must refuse)\n"                   \
    "  --exclude GLOB    in directories, skip files matching GLOB (repeatable)\n"

/* Handles option c of READER_LONGOPTS: 1 done, -1 bad value (message printed), 0 not ours.
 * --include/--exclude grow o->include/o->exclude, NULL-terminated arrays owned by o whose
 * strings are arg (borrowed: argv lives as long as the process). */
int reader_option(int c, const char *arg, ko_reader_options *o, const char *cmd);

/* Frees what reader_option() allocated in o. */
void reader_options_free(ko_reader_options *o);

#endif
