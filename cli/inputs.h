/* Expands the command line's inputs (files, directories, '-' for a list on stdin) into the
 * files to check, with include/exclude globs for directory walks. */
#ifndef KEEPOUT_CLI_INPUTS_H
#define KEEPOUT_CLI_INPUTS_H

#include <stddef.h>

typedef struct input_filter {
    char **include, **exclude;
    size_t n_include, n_exclude;
} input_filter;

typedef struct input_file {
    char *path;
    const char *refuse; /* non-NULL: imagery keepout cannot read; report unknown with this */
} input_file;

typedef struct input_list {
    input_file *files;
    size_t n, cap;
    size_t n_skipped;    /* files in walked directories that are neither imagery nor telemetry */
    size_t n_shots_hint; /* rough count of shots, to pick the batch index */
} input_list;

int input_filter_add(input_filter *f, int include, const char *glob);
void input_filter_free(input_filter *f);

/* Returns 0 (after a message on stderr) if the list cannot be built: out of memory or an
 * unreadable standard input. */
int inputs_collect(int argc, char **argv, const input_filter *f, int quiet, input_list *out);
void inputs_free(input_list *l);

#endif
