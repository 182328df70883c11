/* The command line's inputs: paths as given, and '-' expanded to the list of paths read from
 * standard input (one per line). Directories are walked by the library's reader. */
#ifndef KEEPOUT_CLI_INPUTS_H
#define KEEPOUT_CLI_INPUTS_H

#include <stddef.h>

#include <cpl_vsi.h>

typedef struct input_list {
    char **paths;
    size_t n, cap;
} input_list;

/* Returns 0 (after a message on stderr) if the list cannot be built: out of memory or an
 * unreadable standard input. */
int inputs_collect(int argc, char **argv, input_list *out);
void inputs_free(input_list *l);

/* VSIStatL() that first makes sure the stat cannot block: a FIFO (device, socket) beneath a
 * /vsizip/ or other virtual path, which GDAL would open to stat inside it, fails (returns -1)
 * like a missing file (ko_path_check()). */
int safe_stat(const char *path, VSIStatBufL *st);

/* Growable NULL-terminated list of strings (for --include/--exclude). 0 if out of memory. */
int strlist_add(char ***list, size_t *n, const char *s);
void strlist_free(char **list);

#endif
