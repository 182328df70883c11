/* The store's index file, STORE.koidx: the packed index (packed.c) written beside the store
 * when its sites change (an import, ko_sites_write_index) and mapped read-only at open, so
 * that no face builds the index at load. It carries the store's change token (sites.h,
 * koi_index_id): an index built at another token is never used (docs/DESIGN.md, "The index
 * file"). */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "sites/sites.h"

/* Every row of sites inserted, updated or deleted draws a new change token, whoever writes it
 * (keepout, ogr2ogr, QGIS, the sqlite3 shell): an index built before no longer matches. */
static const char *const track_sql =
    "INSERT OR IGNORE INTO meta VALUES('sites_change', lower(hex(randomblob(16))));"
    "CREATE TRIGGER IF NOT EXISTS ko_sites_change_insert AFTER INSERT ON sites BEGIN"
    " UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'sites_change'; END;"
    "CREATE TRIGGER IF NOT EXISTS ko_sites_change_update AFTER UPDATE ON sites BEGIN"
    " UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'sites_change'; END;"
    "CREATE TRIGGER IF NOT EXISTS ko_sites_change_delete AFTER DELETE ON sites BEGIN"
    " UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'sites_change'; END;";

ko_status koi_sites_bulk_write(ko_sites *s, int begin) {
    if (begin)
        return koi_sites_exec(s,
                              "DROP TRIGGER IF EXISTS ko_sites_change_insert;"
                              "DROP TRIGGER IF EXISTS ko_sites_change_update;"
                              "DROP TRIGGER IF EXISTS ko_sites_change_delete");
    ko_status st = koi_sites_exec(s, track_sql);
    return st ? st
              : koi_sites_exec(s,
                               "UPDATE meta SET value = lower(hex(randomblob(16)))"
                               " WHERE key = 'sites_change'");
}

ko_status koi_sites_track_changes(ko_sites *s) {
    koi_index_id id;
    if (koi_sites_index_id(s, &id) == KO_OK) return KO_OK;
    ko_status st = koi_sites_exec(s, "BEGIN IMMEDIATE");
    if (st) return st;
    /* The sites may have changed while no trigger watched them (dropped, or an older
     * keepout's store): a token kept from before would make an index of before current
     * again, so a new one is drawn with the triggers. */
    if ((st = koi_sites_exec(s, track_sql)) ||
        (st = koi_sites_exec(s,
                             "UPDATE meta SET value = lower(hex(randomblob(16)))"
                             " WHERE key = 'sites_change'")) ||
        (st = koi_sites_exec(s, "COMMIT"))) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    return KO_OK;
}

char *koi_sites_index_path(ko_sites *s) {
    size_t n = strlen(s->path);
    char *p = koi_malloc(n + 7);
    if (p) {
        memcpy(p, s->path, n);
        memcpy(p + n, ".koidx", 7);
    }
    return p;
}

ko_status koi_sites_index_id(ko_sites *s, koi_index_id *id) {
    sqlite3_stmt *q = NULL;
    memset(id, 0, sizeof *id);
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT (SELECT value FROM meta WHERE key = 'sites_change'),"
            " (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'store_version'),"
            " (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sites'"
            "  AND name IN ('ko_sites_change_insert', 'ko_sites_change_update',"
            "  'ko_sites_change_delete') AND instr(sql, 'sites_change') > 0)",
            -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        ko_status st = koi_sites_db_error(s, "reading its change token");
        sqlite3_finalize(q);
        return st;
    }
    const char *t = (const char *)sqlite3_column_text(q, 0);
    int ok = t && strlen(t) == 32 && sqlite3_column_int(q, 2) == 3;
    if (ok) {
        memcpy(id->token, t, 33);
        id->version = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return ok ? KO_OK
              : koi_error(s->ctx, KO_ERR_NOT_FOUND,
                          "%s: does not track changes to its sites (made by an older keepout?)",
                          s->path);
}

/* The store's file (k 0) or its -wal (k 1) as stat() sees it: inode, size, modification and
 * change times in ns; all -1 if it does not exist. The -wal is the one SQLite uses, beside the
 * file a symlinked path leads to (sqlite3_filename_wal), not beside the link. */
static void file_stamp(const ko_sites *s, int k, long long *out) {
    struct stat sb;
    const char *path = s->path;
    if (!path) { /* a store without a file (in memory): nothing to stamp */
        out[0] = out[1] = out[2] = out[3] = -1;
        return;
    }
    if (k) {
        const char *db = s->db ? sqlite3_db_filename(s->db, "main") : NULL;
        path = db && *db ? sqlite3_filename_wal(db) : NULL;
        if (!path || !*path) {
            out[0] = out[1] = out[2] = out[3] = -2; /* never equal to a later read: re-check */
            return;
        }
    }
    if (stat(path, &sb) != 0) {
        out[0] = out[1] = out[2] = out[3] = -1;
        return;
    }
    out[0] = (long long)sb.st_ino;
    out[1] = (long long)sb.st_size;
    out[2] = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    out[3] = (long long)sb.st_ctim.tv_sec * 1000000000LL + sb.st_ctim.tv_nsec;
}

void koi_sites_stamp(ko_sites *s) {
    file_stamp(s, 0, s->stamp[0]);
    file_stamp(s, 1, s->stamp[1]);
    s->stamped = s->stamp[0][0] != -1 && s->stamp[1][0] != -2;
}

ko_status koi_sites_confirm_index(ko_sites *s) {
    if (!s->path) return KO_OK;
    long long now[2][4];
    file_stamp(s, 0, now[0]);
    /* The connection reads the file it opened: one renamed over the path (a deployment's
     * temp + rename, rsync) or removed is no longer the store at the path, and its token,
     * read through the connection, would confirm the old index. */
    if (s->file_ino && now[0][0] != s->file_ino)
        return koi_error(s->ctx, KO_ERR_DB,
                         "%s: the store file was replaced or removed since it was opened (this "
                         "handle still reads the old one); open the store again",
                         s->path);
    if (!s->packed) return KO_OK; /* the on-disk R-tree is read as it is */
    file_stamp(s, 1, now[1]);
    /* File times advance by the kernel's clock tick (milliseconds), so two writes within one
     * tick can leave the same stamp: files written in the last two seconds are not trusted
     * to the stamp, the token is read. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long recent = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - 2000000000LL;
    if (s->stamped && memcmp(now, s->stamp, sizeof now) == 0 && now[0][2] < recent &&
        now[0][3] < recent && now[1][2] < recent && now[1][3] < recent)
        return KO_OK;
    /* Written since (by any process; or never stamped, or just now): the token tells whether
     * the sites changed. The stamp is taken before the token is read, so a write in between
     * is seen by the next query. */
    koi_index_id id;
    if (koi_sites_index_id(s, &id) == KO_OK &&
        strcmp(id.token, koi_packed_identity(s->packed)->token) == 0) {
        memcpy(s->stamp, now, sizeof now);
        s->stamped = now[0][0] != -1 && now[1][0] != -2;
        return KO_OK;
    }
    koi_packed_free(s->ctx, s->packed);
    s->packed = NULL;
    return koi_sites_attach_index(s, 1);
}

ko_status koi_sites_attach_index(ko_sites *s, int refuse_damaged) {
    /* the files as they were before the token was read: a write after it shows at the next
     * query */
    long long before[2][4];
    file_stamp(s, 0, before[0]);
    file_stamp(s, 1, before[1]);
    koi_index_id id;
    if (koi_sites_index_id(s, &id) != KO_OK) return KO_OK; /* served from the store itself */
    char *path = koi_sites_index_path(s);
    if (!path) return koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
    koi_packed *p = NULL;
    int state = koi_packed_open(s->ctx, path, &id, &p);
    ko_status st = KO_OK;
    if (state == KOI_INDEX_CURRENT) {
        koi_packed_free(s->ctx, s->packed);
        s->packed = p;
        memcpy(s->stamp, before, sizeof before);
        s->stamped = before[0][0] != -1 && before[1][0] != -2;
    } else if (state == KOI_INDEX_NOMEM) {
        st = KO_ERR_NOMEM; /* (recorded) */
    } else if (state == KOI_INDEX_DAMAGED && refuse_damaged) {
        char why[KOI_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ko_errmsg(s->ctx));
        st = koi_error(s->ctx, KO_ERR_DB,
                       "%s; build it again from the store (keepout sites index %s), or delete "
                       "it to query the store without it",
                       why, s->path);
    }
    /* Stale or missing: the store answers from its own R-tree (or an index built in memory),
     * and the next import or ko_sites_write_index() writes the file. A writable store, or one
     * opened to be described, ignores a damaged file as well (writing the index replaces it). */
    free(path);
    return st;
}

/* The index file's temporary as the build's sink: its blocks reserved first (a full disk is
 * an error before anything is written), then written in order: past the page cache (O_DIRECT)
 * where the file system allows it and the stream's page-aligned blocks allow it (every write
 * but the last), through it otherwise. The file's pages are dropped after the build anyway,
 * and at 10^7 sites (4.4 GB) copying them into the cache was a third of writing the image and
 * evicted the store being scanned. */
typedef struct file_image {
    koi_image_out out;
    ko_context *ctx;
    int fd, err, direct;
    off_t written, synced; /* bytes written; bytes whose write-back has been started */
} file_image;

static ko_status file_begin(void *sink, size_t len) {
    file_image *f = sink;
    int e = posix_fallocate(f->fd, 0, (off_t)len);
    if (e && e != EOPNOTSUPP && e != EINVAL) f->err = e;
#ifdef O_DIRECT
    int fl = fcntl(f->fd, F_GETFL);
    f->direct = !f->err && fl != -1 && fcntl(f->fd, F_SETFL, fl | O_DIRECT) == 0;
#endif
    return f->err ? KO_ERR_IO : KO_OK;
}

/* Back to writes through the page cache (a block O_DIRECT cannot take). */
static void file_buffered(file_image *f) {
#ifdef O_DIRECT
    int fl = fcntl(f->fd, F_GETFL);
    if (fl != -1) fcntl(f->fd, F_SETFL, fl & ~O_DIRECT);
#endif
    f->direct = 0;
}

static ko_status file_write(void *sink, const void *p, size_t n) {
    file_image *f = sink;
    const size_t block = 4096; /* (a multiple of any logical block size O_DIRECT asks for) */
    if (f->direct && ((uintptr_t)p % block || n % block || (size_t)f->written % block))
        file_buffered(f);
    for (size_t off = 0; !f->err && off < n;) {
        ssize_t w =
            write(f->fd, (const char *)p + off, n - off > (1u << 30) ? (1u << 30) : n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EINVAL && f->direct) { /* refused after all: buffered */
            file_buffered(f);
            continue;
        }
        if (w <= 0)
            f->err = w < 0 ? errno : EIO;
        else
            off += (size_t)w, f->written += w;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* The disk writes what is written while the rest is built, not all at the fsync: at 10^7
     * sites 4.4 GB waited for at the end otherwise. Started only, never waited for here. */
    const off_t step = (off_t)64 << 20;
    if (!f->err && !f->direct && f->written - f->synced >= step) {
        sync_file_range(f->fd, f->synced, f->written - f->synced, SYNC_FILE_RANGE_WRITE);
        f->synced = f->written;
    }
#endif
    return f->err ? KO_ERR_IO : KO_OK;
}

/* The index file's temporary beside it: unnamed (O_TMPFILE) where the file system has it, so
 * that a build killed half-way (kill -9, a crash, a full memory) leaves no file of up to
 * 4.4 GB beside the store; it is named tmp only when whole, just before the rename. Elsewhere
 * a named temporary (mkstemp's), which a killed build leaves behind. *named: tmp exists. */
static int open_temp(const char *dir, char *tmp, int *named) {
    *named = 0;
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
#else
    (void)dir;
#endif
    *named = 1;
    return mkstemp(tmp);
}

/* Names the unnamed temporary fd: tmp's pattern with a name not taken (tmp ends in XXXXXX,
 * which is overwritten). 0 or an errno. */
static int name_temp(int fd, char *tmp) {
    char proc[64];
    size_t n = strlen(tmp) - 6;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (unsigned k = 0; k < 1000; k++) {
        snprintf(tmp + n, 7, "%06x", ((unsigned)getpid() * 7919u + k) & 0xffffffu);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) return 0;
        if (errno == EEXIST) continue;
#ifdef AT_EMPTY_PATH
        if (linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH) == 0) return 0; /* no /proc */
        if (errno == EEXIST) continue;
#endif
        return errno;
    }
    return EEXIST;
}

/* Builds the index of s (in its read transaction) into path atomically: streamed in order
 * into a temporary file beside it (mode as the store's, which holds the same sites), fsync,
 * rename, fsync of the folder. Not built through a shared mapping of the file: writing each
 * site at its leaf all over a mapping made the kernel write pages back half filled and again
 * each time they were written to (25 GB written for a 4.4 GB file at 10^7 sites, 8 minutes);
 * nor whole in the heap first (4.4 GB zeroed, then copied again by write()). */
static ko_status write_index_file(ko_sites *s, const koi_index_id *id, const char *path) {
    ko_context *ctx = s->ctx;
    size_t n = strlen(path), len = 0;
    char *tmp = koi_malloc(n + 8), *dir = koi_strdup(path);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    int named = 0;
    file_image f = {{file_begin, file_write, NULL}, ctx, open_temp(dir, tmp, &named), 0, 0, 0, 0};
    f.out.sink = &f;
    f.err = f.fd < 0 ? errno : 0;
    struct stat sb;
    if (f.fd >= 0 && stat(s->path, &sb) == 0 && fchmod(f.fd, sb.st_mode & 0666) != 0) f.err = errno;
    ko_status st = f.err ? KO_OK : koi_packed_build_into(s, id, &f.out, &len);
    if (f.fd >= 0 && !st && !f.err && fsync(f.fd) != 0) f.err = errno;
    /* The written pages leave the page cache (they are on disk now): the first query reads
     * the tree back through its mapping in 2 MiB pages (packed.c, map_tree_huge), which the
     * kernel does only for pages it does not hold yet. */
    if (f.fd >= 0 && !st && !f.err) posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED);
    if (f.fd >= 0 && !st && !f.err && !named) {
        if (!(f.err = name_temp(f.fd, tmp))) named = 1;
    }
    if (f.fd >= 0 && close(f.fd) != 0 && !f.err) f.err = errno;
    if (!st && !f.err && rename(tmp, path) != 0) f.err = errno;
    if (st || f.err) {
        if (f.fd >= 0 && named) unlink(tmp);
        if (f.err)
            st = koi_error(ctx, KO_ERR_IO, "%s: cannot write the site index: %s", path,
                           strerror(f.err));
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            st = koi_error(ctx, KO_ERR_IO, "%s: cannot sync the folder: %s", dir, strerror(errno));
        if (dfd >= 0) close(dfd);
    }
    free(tmp);
    free(dir);
    return st;
}

ko_status koi_sites_rewrite_index(ko_sites *s) {
    ko_context *ctx = s->ctx;
    koi_index_id id;
    ko_status st = koi_sites_index_id(s, &id);
    if (st) return st;
    char *path = koi_sites_index_path(s);
    if (!path) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    long long before[2][4];
    file_stamp(s, 0, before[0]);
    file_stamp(s, 1, before[1]);
    /* One read transaction: the sites the index holds are those of the token it carries. */
    if (!(st = koi_sites_exec(s, "BEGIN"))) {
        if (!(st = koi_sites_index_id(s, &id))) st = write_index_file(s, &id, path);
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
    if (!st) {
        koi_packed *p = NULL;
        int state = koi_packed_open(ctx, path, &id, &p);
        if (state == KOI_INDEX_CURRENT) {
            koi_packed_free(ctx, s->packed);
            s->packed = p;
            memcpy(s->stamp, before, sizeof before);
            s->stamped = before[0][0] != -1 && before[1][0] != -2;
        } else if (state == KOI_INDEX_NOMEM) {
            st = KO_ERR_NOMEM;
        } else if (state != KOI_INDEX_STALE) { /* stale: another writer changed the sites since */
            char why[KOI_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", ko_errmsg(ctx));
            st = koi_error(ctx, KO_ERR_IO, "the site index just written cannot be read back: %s",
                           why);
        }
    }
    free(path);
    return st;
}

ko_status ko_sites_write_index(ko_sites *s) {
    if (!s) return KO_ERR_ARG;
    if (!s->writable)
        return koi_error(s->ctx, KO_ERR_ARG,
                         "%s: opened read-only: its index is written through a store opened for "
                         "writing",
                         s->path);
    ko_status st = koi_sites_track_changes(s);
    return st ? st : koi_sites_rewrite_index(s);
}

const char *koi_sites_index_state(ko_sites *s, char **path) {
    koi_index_id id;
    *path = koi_sites_index_path(s);
    if (!*path) return "unknown";
    if (koi_sites_index_id(s, &id) != KO_OK) return "untracked";
    koi_packed *p = NULL;
    int state = koi_packed_open(s->ctx, *path, &id, &p);
    koi_packed_free(s->ctx, p);
    return state == KOI_INDEX_NOMEM     ? "unknown"
           : state == KOI_INDEX_CURRENT ? "current"
           : state == KOI_INDEX_MISSING ? "missing"
           : state == KOI_INDEX_STALE   ? "stale"
                                        : "damaged";
}
