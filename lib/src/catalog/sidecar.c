/* XMP sidecars: IMAGE.xmp beside each file, or under a sidecar directory mirroring its
 * absolute path; written whole or not at all, never over a file keepout did not write. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>

#include "catalog/catalog.h"

static char *xml_escape(const char *s) {
    return CPLEscapeString(s ? s : "", -1, CPLES_XML);
}

/* The namespace keepout writes its sidecars in. A sidecar is ours, and may be replaced, only if
 * it is small, carries this namespace and no other vocabulary than the packet's own: a user's
 * XMP (Lightroom, exiftool), even one that copied keepout's properties in, survives. */
#define SIDECAR_NS "xmlns:keepout=\"urn:keepout:xmp:1.0/\""
#define SIDECAR_MAX 8192

static int sidecar_is_ours(const char *text) {
    size_t n_ns = 0;
    for (const char *p = text; (p = strstr(p, "xmlns:")); p += 6)
        n_ns++;
    return strstr(text, SIDECAR_NS) && strstr(text, "keepout:Version=") && n_ns == 3;
}

static char *sidecar_text(const koi_cat_file *f, const char *when, int64_t version) {
    char *sites = xml_escape(f->site_names);
    char *t =
        CPLStrdup(CPLSPrintf(
            "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
            " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
            "  <rdf:Description rdf:about=\"\" " SIDECAR_NS "\n"
            "   keepout:Verdict=\"%s\"\n"
            "   keepout:Sites=\"%s\"\n"
            "   keepout:Shots=\"%zu\"\n"
            "   keepout:CheckedAt=\"%s\"\n"
            "   keepout:StoreVersion=\"%lld\"\n"
            "   keepout:Version=\"%s\"/>\n"
            " </rdf:RDF>\n"
            "</x:xmpmeta>\n"
            "<?xpacket end=\"w\"?>\n",
            ko_verdict_str(f->verdict), sites, f->n_shots, when, (long long)version, ko_version()));
    CPLFree(sites);
    return t;
}

/* The components of the path a sidecar mirrors under a sidecar directory: the file's absolute
 * path (a relative one joined to the working directory), "." dropped, ".." resolved lexically.
 * NULL (with why) if a ".." climbs above the root. Free with CSLDestroy. */
static char **mirror_parts(const char *path, char *why, size_t n_why) {
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        snprintf(why, n_why, "the working directory is unknown: %s", strerror(errno));
        return NULL;
    }
    char **in = CSLTokenizeString2(CPLSPrintf("%s/%s", cwd, path), "/", 0);
    char **out = NULL;
    int n = 0;
    for (char **c = in; c && *c; c++) {
        if (!strcmp(*c, ".")) continue;
        if (!strcmp(*c, "..")) {
            if (n == 0) {
                snprintf(why, n_why, "'..' in %s leads out of the sidecar directory", path);
                CSLDestroy(in), CSLDestroy(out);
                return NULL;
            }
            CPLFree(out[--n]);
            out[n] = NULL;
            continue;
        }
        out = CSLAddString(out, *c);
        n++;
    }
    CSLDestroy(in);
    if (!n) snprintf(why, n_why, "%s names no file", path);
    return n ? out : NULL;
}

/* The sidecar directory the user named, made where missing (its own path may hold links). */
static void mkdir_p(const char *dir) {
    char *d = CPLStrdup(dir);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(d, 0755);
            *p = '/';
        }
    mkdir(d, 0755);
    CPLFree(d);
}

/* Opens (making it where missing) directory `name` inside dirfd without following a link:
 * a symbolic link planted in the sidecar tree cannot lead the sidecar elsewhere. */
static int open_subdir(int dirfd, const char *name, char *why, size_t n_why) {
    if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST) {
        snprintf(why, n_why, "cannot make directory %s: %s", name, strerror(errno));
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        snprintf(why, n_why, "%s %s", name,
                 errno == ELOOP || errno == ENOTDIR
                     ? "is a symbolic link or not a directory: not followed"
                     : strerror(errno));
    return fd;
}

/* Whether the sidecar `leaf` in dirfd may be written: absent (*exists = 0) or a regular file
 * that keepout wrote (*exists = 1). Anything else is refused with why. */
static int sidecar_replaceable(int dirfd, const char *leaf, int *exists, char *why, size_t n_why) {
    struct stat st;
    *exists = 0;
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return 1;
        snprintf(why, n_why, "%s", strerror(errno));
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, n_why, "it is a symbolic link (neither followed nor replaced)");
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, n_why, "it exists and is not a regular file");
        return 0;
    }
    char buf[SIDECAR_MAX + 1];
    ssize_t n = -1;
    int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= SIDECAR_MAX)
        n = read(fd, buf, SIDECAR_MAX);
    if (fd >= 0) close(fd);
    if (n < 0 || (buf[n] = '\0', !sidecar_is_ours(buf))) {
        snprintf(why, n_why, "it exists and was not written by keepout (no keepout namespace)");
        return 0;
    }
    *exists = 1;
    return 1;
}

static int write_all_fd(int fd, const char *text) {
    size_t n = strlen(text);
    while (n) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        text += w, n -= (size_t)w;
    }
    return 1;
}

/* Makes the renames into the directory durable: before the rows of its sidecars are committed
 * and before another directory takes its place. 0 with why if the fsync failed. */
int koi_sidecar_dir_sync(koi_sidecar_dir *d, char *why, size_t n_why) {
    if (d->fd < 0 || !d->dirty) return 1;
    if (fsync(d->fd) != 0) {
        snprintf(why, n_why, "syncing the sidecar directory %s failed: %s", d->key ? d->key : "?",
                 strerror(errno));
        return 0;
    }
    d->dirty = 0;
    return 1;
}

void koi_sidecar_dir_close(koi_sidecar_dir *d) {
    if (d->fd >= 0) close(d->fd);
    CPLFree(d->key);
    d->key = NULL, d->fd = -1, d->dirty = 0;
}

/* IMAGE.xmp beside the image, or under the sidecar directory mirroring its absolute path.
 * Written to a temporary file in the same directory, fsync'ed and renamed into place, so a
 * sidecar is whole or absent (never a 0-byte file on a full disk or after a power cut); never
 * through a symbolic link, never over a file keepout did not write, never inside an archive,
 * never outside the sidecar directory. Returns 1 if the sidecar is in place (its directory is
 * synced by koi_sidecar_dir_sync() before the file's row is committed), 0 with why if it is
 * not, -1 with why if the directory of earlier sidecars, whose rows are written but not
 * committed, could not be synced (the batch must not be committed). */
int koi_sidecar_write(const char *dir, const koi_cat_file *f, const char *when, int64_t version,
                      koi_sidecar_dir *cache, char *why, size_t n_why) {
    int dirfd = -1, ok = 0;
    char *leaf = NULL, *tmp = NULL, *text = NULL, *key = NULL;
    if (!dir && STARTS_WITH(f->path, "/vsi")) {
        snprintf(why, n_why,
                 "the file is inside an archive or GDAL virtual file system: sidecars for it "
                 "go only into a sidecar directory");
        return 0;
    }
    char **parts = NULL;
    int n = 0;
    if (dir) {
        if (!(parts = mirror_parts(f->path, why, n_why))) return 0;
        n = CSLCount(parts);
        key = CPLStrdup("");
        for (int i = 0; i < n - 1; i++) {
            char *k = CPLStrdup(CPLSPrintf("%s/%s", key, parts[i]));
            CPLFree(key);
            key = k;
        }
        leaf = CPLStrdup(CPLSPrintf("%s.xmp", parts[n - 1]));
    } else {
        key = CPLStrdup(CPLGetPath(f->path)[0] ? CPLGetPath(f->path) : ".");
        leaf = CPLStrdup(CPLSPrintf("%s.xmp", CPLGetFilename(f->path)));
    }
    if (cache->key && !strcmp(cache->key, key)) {
        dirfd = cache->fd;
    } else {
        if (!koi_sidecar_dir_sync(cache, why, n_why)) {
            CSLDestroy(parts);
            CPLFree(key), CPLFree(leaf);
            return -1;
        }
        koi_sidecar_dir_close(cache);
        if (dir) {
            mkdir_p(dir);
            dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) snprintf(why, n_why, "sidecar directory %s: %s", dir, strerror(errno));
            for (int i = 0; dirfd >= 0 && i < n - 1; i++) {
                int sub = open_subdir(dirfd, parts[i], why, n_why);
                close(dirfd);
                dirfd = sub;
            }
        } else {
            dirfd = open(key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) snprintf(why, n_why, "%s", strerror(errno));
        }
        if (dirfd >= 0) cache->key = key, cache->fd = dirfd, key = NULL;
    }
    CSLDestroy(parts);
    CPLFree(key);
    int exists = 0;
    if (dirfd < 0 || !sidecar_replaceable(dirfd, leaf, &exists, why, n_why)) goto out;
    tmp = CPLStrdup(CPLSPrintf(".%s.%ld.keepout-tmp", leaf, (long)getpid()));
    text = sidecar_text(f, when, version);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) { /* a leftover of a killed run of the same pid */
        unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        snprintf(why, n_why, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    int written = write_all_fd(fd, text);
    int err = errno;
    if (written && fsync(fd) != 0) written = 0, err = errno; /* whole before it is renamed */
    if (close(fd) != 0 && written) written = 0, err = errno;
    if (!written) {
        snprintf(why, n_why, "writing it failed: %s", strerror(err));
        unlinkat(dirfd, tmp, 0);
        goto out;
    }
    /* absent: a file that appeared meanwhile is not replaced */
    int r = exists ? renameat(dirfd, tmp, dirfd, leaf)
                   : renameat2(dirfd, tmp, dirfd, leaf, RENAME_NOREPLACE);
    if (r != 0 && !exists && (errno == EINVAL || errno == ENOSYS)) { /* no NOREPLACE here */
        r = linkat(dirfd, tmp, dirfd, leaf, 0);
        if (r == 0) unlinkat(dirfd, tmp, 0);
    }
    if (r != 0) {
        snprintf(why, n_why, "%s",
                 errno == EEXIST ? "a file of that name appeared meanwhile" : strerror(errno));
        unlinkat(dirfd, tmp, 0);
        goto out;
    }
    cache->dirty = 1;
    ok = 1;
out:
    if (!ok && leaf) {
        char *w = CPLStrdup(why);
        snprintf(why, n_why, "sidecar %s: %s", leaf, w);
        CPLFree(w);
    }
    CPLFree(leaf), CPLFree(tmp), CPLFree(text);
    return ok;
}
