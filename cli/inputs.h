/* The command line's inputs: paths as given, and '-' expanded to the list of paths read from
 * standard input (one per line). Directories are walked by the library's reader. */
#ifndef KEEPOUT_CLI_INPUTS_H
#define KEEPOUT_CLI_INPUTS_H

#include <stddef.h>

typedef struct input_list {
    char **paths;
    size_t n, cap;
    int many; /* directories, telemetry or video files, or >= 100 paths: use the batch index */
} input_list;

/* Returns 0 (after a message on stderr) if the list cannot be built: out of memory or an
 * unreadable standard input. */
int inputs_collect(int argc, char **argv, input_list *out);
void inputs_free(input_list *l);

/* Growable NULL-terminated list of strings (for --include/--exclude). 0 if out of memory. */
int strlist_add(char ***list, size_t *n, const char *s);
void strlist_free(char **list);

#endif
