#include "inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>

#include "keepout/keepout.h"

int strlist_add(char ***list, size_t *n, const char *s) {
    char **grown = realloc(*list, (*n + 2) * sizeof **list);
    if (!grown) return 0;
    *list = grown;
    if (!(grown[*n] = strdup(s))) return 0;
    grown[++*n] = NULL;
    return 1;
}

void strlist_free(char **list) {
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

int safe_stat(const char *path, VSIStatBufL *st) {
    if (ko_path_check(NULL, path) != KO_OK) return -1;
    return VSIStatL(path, st);
}

static int add(input_list *l, const char *path) {
    if (!strlist_add(&l->paths, &l->n, path)) {
        fprintf(stderr, "keepout: out of memory listing inputs\n");
        return 0;
    }
    return 1;
}

static int read_stdin_list(input_list *l) {
    char line[4096];
    size_t before = l->n;
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            fprintf(stderr, "keepout: a path on standard input is longer than %zu bytes\n",
                    sizeof line - 2);
            return 0;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n && !add(l, line)) return 0;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "keepout: cannot read the list of inputs from standard input\n");
        return 0;
    }
    if (l->n == before) { /* a failed find or an empty file must not pass as all clear */
        fprintf(stderr,
                "keepout: nothing to check: the list of inputs on standard input is empty\n");
        return 0;
    }
    return 1;
}

int inputs_collect(int argc, char **argv, input_list *out) {
    for (int i = 0; i < argc; i++)
        if (!(strcmp(argv[i], "-") ? add(out, argv[i]) : read_stdin_list(out))) return 0;
    return 1;
}

void inputs_free(input_list *l) {
    strlist_free(l->paths);
    l->paths = NULL;
    l->n = 0;
}
