#include "inputs.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <cpl_vsi.h>

/* Imagery that must not be released unchecked but that keepout cannot read: it is reported
 * unknown rather than skipped. */
static const char *const refused_ext[] = {"png",  "tif",  "tiff", "dng", "raw", "heic",
                                          "heif", "webp", "arw",  "cr2", "cr3", "nef",
                                          "orf",  "rw2",  "insp", NULL};
static const char *const video_ext[] = {"mp4", "mov", "avi", "mkv", "insv", "lrv", NULL};
static const char *const read_ext[] = {"jpg", "jpeg", "srt", NULL};

#define MAX_DEPTH 64

int input_filter_add(input_filter *f, int include, const char *glob) {
    char ***v = include ? &f->include : &f->exclude;
    size_t *n = include ? &f->n_include : &f->n_exclude;
    char **grown = realloc(*v, (*n + 1) * sizeof **v);
    if (!grown || !(grown[*n] = strdup(glob))) {
        if (grown) *v = grown;
        fprintf(stderr, "keepout: out of memory\n");
        return 0;
    }
    *v = grown;
    (*n)++;
    return 1;
}

void input_filter_free(input_filter *f) {
    for (size_t i = 0; i < f->n_include; i++)
        free(f->include[i]);
    for (size_t i = 0; i < f->n_exclude; i++)
        free(f->exclude[i]);
    free(f->include);
    free(f->exclude);
}

static const char *ext_of(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int in_set(const char *ext, const char *const *set) {
    for (size_t i = 0; set[i]; i++)
        if (!strcasecmp(ext, set[i])) return 1;
    return 0;
}

static int add(input_list *l, const char *path, const char *refuse) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        input_file *f = realloc(l->files, cap * sizeof *f);
        if (!f) return 0;
        l->files = f;
        l->cap = cap;
    }
    char *p = strdup(path);
    if (!p) return 0;
    l->files[l->n++] = (input_file){p, refuse};
    const char *ext = ext_of(path);
    l->n_shots_hint += (!strcasecmp(ext, "srt") || !strcasecmp(ext, "csv")) ? 100 : 1;
    return 1;
}

static int matches(char *const *globs, size_t n, const char *rel, const char *base) {
    for (size_t i = 0; i < n; i++)
        if (!fnmatch(globs[i], rel, 0) || !fnmatch(globs[i], base, FNM_CASEFOLD)) return 1;
    return 0;
}

/* A video is covered by a DJI .SRT beside it with the same stem. */
static int has_srt_sibling(const char *path) {
    size_t n = strlen(path) - strlen(ext_of(path));
    char *p = malloc(n + 4);
    if (!p) return 0;
    int found = 0;
    const char *exts[] = {"SRT", "srt"};
    for (int i = 0; i < 2 && !found; i++) {
        memcpy(p, path, n);
        memcpy(p + n, exts[i], 4);
        VSIStatBufL st;
        found = VSIStatL(p, &st) == 0;
    }
    free(p);
    return found;
}

static int classify(input_list *l, const input_filter *f, const char *path, const char *rel) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (matches(f->exclude, f->n_exclude, rel, base)) return 1;
    const char *ext = ext_of(path);
    if (f->n_include) {
        if (!matches(f->include, f->n_include, rel, base)) return 1;
        return add(l, path, NULL);
    }
    if (in_set(ext, read_ext)) return add(l, path, NULL);
    if (in_set(ext, refused_ext))
        return add(l, path,
                   "imagery format not supported: keepout reads JPEG photos and DJI .SRT "
                   "telemetry; check a JPEG export of it");
    if (in_set(ext, video_ext)) {
        if (has_srt_sibling(path)) return 1; /* its .SRT is checked instead */
        return add(l, path,
                   "video without its DJI .SRT telemetry file beside it: record or export the "
                   ".SRT (same name) and check that");
    }
    l->n_skipped++;
    return 1;
}

/* The directories being walked, root first: a symbolic link back to one of them is a loop. */
typedef struct ancestry {
    unsigned long long dev[MAX_DEPTH + 1], ino[MAX_DEPTH + 1];
    int depth;
} ancestry;

static int is_ancestor(const ancestry *a, const VSIStatBufL *st) {
    if (!st->st_ino) return 0; /* virtual file systems have no inode numbers */
    for (int i = 0; i < a->depth; i++)
        if (a->dev[i] == (unsigned long long)st->st_dev &&
            a->ino[i] == (unsigned long long)st->st_ino)
            return 1;
    return 0;
}

static int walk(input_list *l, const input_filter *f, const char *dir, const char *rel,
                ancestry *anc, int quiet) {
    VSIStatBufL self;
    if (VSIStatL(dir, &self) != 0) return add(l, dir, "directory cannot be read");
    if (is_ancestor(anc, &self)) {
        if (!quiet) fprintf(stderr, "keepout: %s: symbolic link loop, not walked again\n", dir);
        return 1;
    }
    if (anc->depth > MAX_DEPTH)
        return add(l, dir, "directory nesting deeper than 64 levels: not checked");
    anc->dev[anc->depth] = (unsigned long long)self.st_dev;
    anc->ino[anc->depth] = (unsigned long long)self.st_ino;
    anc->depth++;
    char **names = VSIReadDir(dir);
    int n = CSLCount(names);
    if (names) qsort(names, (size_t)n, sizeof *names, (int (*)(const void *, const void *))strcmp);
    int ok = 1;
    for (int i = 0; ok && i < n; i++) {
        if (!strcmp(names[i], ".") || !strcmp(names[i], "..")) continue;
        char *path = CPLStrdup(CPLFormFilename(dir, names[i], NULL));
        char *sub = CPLStrdup(*rel ? CPLFormFilename(rel, names[i], NULL) : names[i]);
        VSIStatBufL st;
        if (VSIStatL(path, &st) != 0)
            ok = add(l, path, "cannot be read (broken link or no permission)");
        else if (VSI_ISDIR(st.st_mode))
            ok = walk(l, f, path, sub, anc, quiet);
        else
            ok = classify(l, f, path, sub);
        CPLFree(path);
        CPLFree(sub);
    }
    CSLDestroy(names);
    anc->depth--;
    return ok;
}

static int add_arg(input_list *l, const input_filter *f, const char *arg, int quiet) {
    VSIStatBufL st;
    if (VSIStatL(arg, &st) == 0 && VSI_ISDIR(st.st_mode)) {
        ancestry anc = {.depth = 0};
        return walk(l, f, arg, "", &anc, quiet);
    }
    return add(l, arg, NULL); /* a file named explicitly is always checked */
}

static int read_stdin_list(input_list *l, const input_filter *f, int quiet) {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            fprintf(stderr, "keepout: a path on standard input is longer than %zu bytes\n",
                    sizeof line - 2);
            return 0;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n && !add_arg(l, f, line, quiet)) return 0;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "keepout: cannot read the list of inputs from standard input\n");
        return 0;
    }
    return 1;
}

int inputs_collect(int argc, char **argv, const input_filter *f, int quiet, input_list *out) {
    for (int i = 0; i < argc; i++) {
        int ok = !strcmp(argv[i], "-") ? read_stdin_list(out, f, quiet)
                                       : add_arg(out, f, argv[i], quiet);
        if (!ok) {
            if (!ferror(stdin)) fprintf(stderr, "keepout: out of memory listing inputs\n");
            return 0;
        }
    }
    if (out->n_skipped && !quiet)
        fprintf(stderr,
                "keepout: skipped %zu file(s) in directories that are neither imagery nor "
                "telemetry (use --include to check them)\n",
                out->n_skipped);
    return 1;
}

void inputs_free(input_list *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->files[i].path);
    free(l->files);
}
