#include "reader_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int number(const char *cmd, const char *opt, const char *s, double lo, double hi,
                  double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || end == s || *end || !(*v >= lo && *v <= hi)) {
        fprintf(stderr, "keepout %s: %s needs a number in [%g, %g], not '%s'\n", cmd, opt, lo, hi,
                s);
        return 0;
    }
    return 1;
}

static int add_glob(const char *const **list, const char *glob, const char *cmd) {
    size_t n = 0;
    while (*list && (*list)[n])
        n++;
    const char **grown = realloc((void *)*list, (n + 2) * sizeof *grown);
    if (!grown) {
        fprintf(stderr, "keepout %s: out of memory\n", cmd);
        return 0;
    }
    grown[n] = glob;
    grown[n + 1] = NULL;
    *list = grown;
    return 1;
}

void reader_options_free(ko_reader_options *o) {
    free((void *)o->include);
    free((void *)o->exclude);
    o->include = o->exclude = NULL;
}

int reader_option(int c, const char *arg, ko_reader_options *o, const char *cmd) {
    double v;
    switch (c) {
        case RO_ASSUME_NADIR:
            o->assume_nadir = 1;
            return 1;
        case RO_EVERY:
            if (!number(cmd, "--every", arg, 1, 1e9, &v) || v != floor(v)) return -1;
            o->every_n = (uint32_t)v;
            return 1;
        case RO_INTERVAL:
            if (!number(cmd, "--interval", arg, 0, 1e9, &v)) return -1;
            o->interval_s = v;
            return 1;
        case RO_FOCAL35:
            if (!number(cmd, "--focal35", arg, 1, 2000, &v)) return -1;
            o->focal35_mm = v;
            return 1;
        case RO_CAMERA:
            o->camera = arg;
            return 1;
        case RO_INCLUDE:
            return add_glob(&o->include, arg, cmd) ? 1 : -1;
        case RO_EXCLUDE:
            return add_glob(&o->exclude, arg, cmd) ? 1 : -1;
        default:
            return 0;
    }
}
