/* Where a release run writes: OUT and HOLD checked against each other, the inputs and the
 * manifest before anything is made, and every write kept inside them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>

#include "release/release.h"

char *koi_rel_join(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = koi_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

char *koi_rel_of(const char *input, const char *path) {
    size_t n = strlen(input);
    while (n > 1 && input[n - 1] == '/')
        n--;
    if (strncmp(path, input, n) == 0 && path[n] == '/') {
        const char *r = path + n;
        while (*r == '/')
            r++;
        if (*r) return koi_strdup(r);
    }
    return koi_strdup(CPLGetFilename(path));
}

/* A real path with the directory made first. */
static char *make_real(const char *dir) {
    char *p = koi_strdup(dir);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
    free(p);
    return realpath(dir, NULL);
}

/* The real path dir will have once made: its deepest existing ancestor's real path, then the
 * rest as given. NULL (errno EINVAL) if the rest has a "." or ".." to resolve, or on error
 * (errno ENOMEM when memory ran out). */
static char *future_real(const char *dir) {
    char *head = koi_strdup(dir), *rest = koi_strdup("");
    char *out = NULL;
    if (!head || !rest) errno = ENOMEM;
    while (head && rest) {
        size_t n = strlen(head);
        while (n > 1 && head[n - 1] == '/')
            head[--n] = '\0';
        char *real = realpath(*head ? head : ".", NULL);
        if (real) {
            if (*rest && (out = koi_malloc(strlen(real) + strlen(rest) + 2)))
                sprintf(out, "%s%s", strcmp(real, "/") ? real : "", rest);
            else if (!*rest)
                out = real, real = NULL;
            else
                errno = ENOMEM;
            free(real);
            break;
        }
        if (errno != ENOENT || !*head) break;
        char *slash = strrchr(head, '/');
        const char *name = slash ? slash + 1 : head;
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            errno = EINVAL;
            break;
        }
        char *r2 = koi_malloc(strlen(name) + strlen(rest) + 2);
        if (!r2) {
            errno = ENOMEM;
            break;
        }
        sprintf(r2, "/%s%s", name, rest);
        free(rest);
        rest = r2;
        if (slash)
            *(slash == head ? slash + 1 : slash) = '\0';
        else
            head[0] = '\0';
    }
    free(head);
    free(rest);
    return out;
}

static int inside(const char *a, const char *b) { /* a is b or below it */
    size_t n = strlen(b);
    return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0' || (n == 1 && b[0] == '/'));
}

/* The manifest may not be, or lie in, an input (a manifest naming a photo truncated it and
 * wrote the journal over it), nor in OUT (it names the sites: it is not for publishing). */
static ko_status check_manifest(koi_release *r, const char *const *inputs, size_t n,
                                const char *o) {
    if (!r->o->manifest) return KO_OK;  /* HOLD's, checked with HOLD */
    char *m = future_real(r->manifest); /* a link to an input resolves to it */
    if (!m && errno == ENOMEM) return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    if (!m) return KO_OK; /* it cannot be resolved: opening it says why */
    ko_status st = KO_OK;
    if (inside(m, o))
        st = koi_error(r->ctx, KO_ERR_ARG, "the manifest %s lies in OUT %s, which is published",
                       r->manifest, r->o->out);
    for (size_t i = 0; !st && i < n; i++) {
        char *p = realpath(inputs[i], NULL);
        if (p && inside(m, p))
            st = koi_error(r->ctx, KO_ERR_ARG,
                           "the manifest %s is or lies in the input %s: sources are never "
                           "written; give it a path outside the inputs",
                           r->manifest, inputs[i]);
        free(p);
    }
    free(m);
    return st;
}

int koi_stays_in(const char *root, const char *path) {
    char *d = koi_strdup(path);
    if (!d) return -1;
    int ok = 0;
    for (char *slash; d && (slash = strrchr(d, '/'));) {
        *slash = '\0';
        char *real = realpath(*d ? d : "/", NULL);
        if (real) {
            ok = inside(real, root);
            free(real);
            break;
        }
        if (errno != ENOENT) break;
    }
    free(d);
    return ok;
}

/* Neither OUT nor HOLD may lie in an input nor hold one, nor each other. */
static ko_status check_dirs(koi_release *r, const char *const *inputs, size_t n, const char *o,
                            const char *h) {
    const ko_release_run_options *x = r->o;
    if (inside(o, h) || inside(h, o))
        return koi_error(r->ctx, KO_ERR_ARG, "OUT %s and HOLD %s must be two separate directories",
                         x->out, x->hold);
    for (size_t i = 0; i < n; i++) {
        char *p = realpath(inputs[i], NULL);
        if (!p) continue; /* not a local path: the walk says what it is */
        int bad = inside(o, p) || inside(h, p) || inside(p, o) || inside(p, h);
        free(p);
        if (bad)
            return koi_error(r->ctx, KO_ERR_ARG,
                             "%s: OUT and HOLD must lie outside the inputs (a re-run would "
                             "release the outputs as inputs, and sources are never written)",
                             inputs[i]);
    }
    return check_manifest(r, inputs, n, o);
}

/* dir (made) opened into *fd and locked for this run: a second run, whatever its manifest,
 * fails at once instead of writing the same files (each manifest lock guarded only itself).
 * Where the file system cannot lock a directory (NFS without flock) the run goes on, guarded
 * by its manifest's lock alone. */
static ko_status lock_dir(koi_release *r, const char *dir, const char *given, int *fd) {
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return koi_error(r->ctx, KO_ERR_IO, "cannot open %s: %s", given, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) return KO_OK;
    return koi_error(r->ctx, KO_ERR_IO,
                     "%s: another keepout release is writing there (one run at a time into an "
                     "OUT or HOLD directory, whatever its manifest): wait for it to end",
                     given);
}

/* OUT and HOLD are made only when they pass (a refused OUT was left, empty, inside the input),
 * and resolved again once made: what was checked is what is used. */
ko_status koi_release_dirs(koi_release *r, const char *const *inputs, size_t n) {
    const ko_release_run_options *x = r->o;
    r->out_real = future_real(x->out);
    r->hold_real = r->out_real ? future_real(x->hold) : NULL;
    int e = errno; /* (of the one that failed: the second is not tried after the first) */
    if (!r->out_real || !r->hold_real)
        return e == ENOMEM ? koi_error(r->ctx, KO_ERR_NOMEM, "out of memory")
                           : koi_error(r->ctx, KO_ERR_IO, "cannot resolve %s: %s",
                                       !r->out_real ? x->out : x->hold, strerror(e));
    ko_status st = check_dirs(r, inputs, n, r->out_real, r->hold_real);
    if (st) return st;
    char *mo = make_real(x->out), *mh = mo ? make_real(x->hold) : NULL;
    e = errno;
    int ok = mo && mh && !strcmp(mo, r->out_real) && !strcmp(mh, r->hold_real);
    if (!ok && (!mo || !mh) && e == ENOMEM)
        st = koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    else if (!ok)
        st = koi_error(r->ctx, KO_ERR_IO, "cannot make %s: %s", !mo ? x->out : x->hold,
                       mo && mh ? "it resolved elsewhere once made" : strerror(e));
    free(mo);
    free(mh);
    if (!st) st = lock_dir(r, r->out_real, x->out, &r->out_fd);
    if (!st) st = lock_dir(r, r->hold_real, x->hold, &r->hold_fd);
    return st;
}

/* FILE.reason.txt, or, where that name would be longer than a file name may be, the name's
 * first 200 bytes, `~`, 16 hex digits of its FNV-1a hash and `.reason.txt` (a 250-byte name
 * stopped the run). */
char *koi_reason_path(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dn = (size_t)(base - path), bn = strlen(base);
    char *t = koi_malloc(dn + bn + 64);
    if (!t) return NULL;
    if (bn + sizeof ".reason.txt" <= 255) {
        sprintf(t, "%s.reason.txt", path);
    } else {
        uint64_t h = 14695981039346656037ull;
        for (size_t i = 0; i < bn; i++)
            h = (h ^ (unsigned char)base[i]) * 1099511628211ull;
        sprintf(t, "%.*s%.200s~%016llx.reason.txt", (int)dn, path, base, (unsigned long long)h);
    }
    return t;
}
