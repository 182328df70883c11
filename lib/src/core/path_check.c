/* Only regular files are opened, also beneath GDAL's virtual file systems: to read
 * /vsizip/x.zip/a.jpg GDAL opens x.zip, and a FIFO there blocks it forever (a device feeds it
 * forever). The local file beneath the prefixes is found by the path's syntax alone and looked
 * at with stat(), which never blocks. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"

/* Prefixes whose rest names a local file (an archive, a compressed or sparse file), possibly
 * followed by a path inside it, possibly quoted as {file}. */
static const char *const wrappers[] = {"/vsizip/", "/vsitar/",    "/vsigzip/", "/vsi7z/",
                                       "/vsirar/", "/vsisparse/", NULL};

#define MAX_NESTING 16

/* Only regular files are opened: a FIFO named like a photo would block the reader, a device
 * would feed it forever. Static text (a refusal). */
const char *koi_not_regular(unsigned mode) {
    if (S_ISREG(mode) || S_ISDIR(mode)) return NULL;
#ifdef S_ISFIFO
    if (S_ISFIFO(mode)) return "not a regular file (a FIFO): only regular files are read";
#endif
#if defined(S_ISCHR) && defined(S_ISBLK)
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "not a regular file (a device): only regular files are read";
#endif
    return "not a regular file (a socket or other special file): only regular files are read";
}

static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The local path beneath path's virtual file system prefixes, in buf (which may hold more: a
 * path inside the archive). 0 if path is not a local file's (/vsimem/, network, standard
 * input) or is malformed (GDAL then says so). */
static int local_beneath(const char *path, char *buf, size_t cap) {
    size_t n = strlen(path);
    if (n >= cap) return 0;
    memcpy(buf, path, n + 1);
    for (int depth = 0; depth < MAX_NESTING; depth++) {
        char *p = buf;
        if (!starts(p, "/vsi")) return 1;
        if (starts(p, "/vsisubfile/")) { /* /vsisubfile/offset[_size],file */
            char *c = strchr(p + strlen("/vsisubfile/"), ',');
            if (!c) return 0;
            p = c + 1;
        } else if (starts(p, "/vsicrypt/")) { /* /vsicrypt/key=...,file=file */
            char *f = strstr(p, "file=");
            if (!f) return 0;
            p = f + 5;
        } else {
            size_t k = 0;
            for (int i = 0; wrappers[i] && !k; i++)
                if (starts(p, wrappers[i])) k = strlen(wrappers[i]);
            if (!k) return 0;
            p += k;
            if (*p == '{') { /* {file}/inner: the file is what the braces hold */
                int level = 0;
                char *e = p;
                for (; *e; e++) {
                    if (*e == '{') level++;
                    if (*e == '}' && --level == 0) break;
                }
                if (!*e) return 0;
                *e = '\0';
                p++;
            }
        }
        memmove(buf, p, strlen(p) + 1);
    }
    return 0;
}

/* The first component of local (a path, perhaps continuing inside an archive) that is not a
 * directory: stat'ed into *st, its path left in local. 0 if some prefix does not exist or
 * every component is a directory. */
static int first_file(char *local, struct stat *st) {
    size_t n = strlen(local);
    for (size_t i = 1; i <= n; i++) {
        if (local[i] != '/' && local[i] != '\0') continue;
        char c = local[i];
        local[i] = '\0';
        int ok = stat(local, st) == 0;
        if (ok && !S_ISDIR(st->st_mode)) return 1;
        local[i] = c;
        if (!ok) return 0;
    }
    return 0;
}

ko_status ko_path_check(ko_context *ctx, const char *path) {
    if (!path) return koi_error(ctx, KO_ERR_ARG, "path check: NULL path");
    struct stat st;
    if (!starts(path, "/vsi")) {
        const char *why = stat(path, &st) == 0 ? koi_not_regular((unsigned)st.st_mode) : NULL;
        return why ? koi_error(ctx, KO_ERR_IO, "%s: %s", path, why) : KO_OK;
    }
    size_t cap = strlen(path) + 1;
    char *local = koi_malloc(cap);
    if (!local) return koi_error(ctx, KO_ERR_NOMEM, "%s: out of memory", path);
    const char *why = NULL;
    if (local_beneath(path, local, cap) && local[0] && first_file(local, &st))
        why = koi_not_regular((unsigned)st.st_mode);
    ko_status rc =
        why ? koi_error(ctx, KO_ERR_IO, "%s: the file beneath it, %s, is %s", path, local, why)
            : KO_OK;
    free(local);
    return rc;
}
