/* The site store's file: opening (and creating) it, its schema, closing, SpatiaLite on its
 * connection, and the default store's resolution. */
#include <cpl_conv.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spatialite.h> /* after sqlite3.h */

#include "core/core.h"
#include "sites/sites.h"

/* Category defaults. data/categories.csv holds the same rows (a test keeps them in sync);
 * the reasoning behind the numbers is in data/README.md. */
static const struct category_default {
    const char *name;
    double buffer_m;
    double min_gsd_m;
    const char *description;
} category_defaults[] = {
    {"power_plant", 100.0, 2.0, "power station: layout, fuel stores, cooling, switchyard"},
    {"substation", 50.0, 0.5, "electrical substation: transformers, busbars, breakers"},
    {"generator", 30.0, 0.5, "single generating unit: turbine, solar block, engine"},
    {"bridge", 30.0, 1.0, "bridge: piers, bearings, deck structure"},
    {"dam", 100.0, 2.0, "dam or weir: crest, spillway, outlet works"},
    {"pipeline", 20.0, 0.5, "pipeline, valve station or pumping station"},
    {"nuclear", 500.0, 5.0, "nuclear installation: sensitive at any useful resolution"},
    {"user_defined", 50.0, 2.0, "site added by the user or from a UAS zone"},
};
#define N_CATEGORY_DEFAULTS (sizeof category_defaults / sizeof category_defaults[0])

size_t ko_category_default_count(void) {
    return N_CATEGORY_DEFAULTS;
}

ko_status ko_category_default(size_t i, const char **name, double *buffer_m, double *min_gsd_m,
                              const char **description) {
    if (i >= N_CATEGORY_DEFAULTS) return KO_ERR_ARG;
    if (name) *name = category_defaults[i].name;
    if (buffer_m) *buffer_m = category_defaults[i].buffer_m;
    if (min_gsd_m) *min_gsd_m = category_defaults[i].min_gsd_m;
    if (description) *description = category_defaults[i].description;
    return KO_OK;
}

ko_status koi_sites_exec(ko_sites *s, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        ko_status st = koi_error(s->ctx, KO_ERR_DB, "site store: %s (in: %.80s)",
                                 err ? err : sqlite3_errmsg(s->db), sql);
        sqlite3_free(err);
        return st;
    }
    return KO_OK;
}

ko_status koi_sites_db_error(ko_sites *s, const char *what) {
    return koi_error(s->ctx, KO_ERR_DB, "site store: %s: %s", what, sqlite3_errmsg(s->db));
}

static const char *const schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE categories(name TEXT PRIMARY KEY, buffer_m REAL NOT NULL CHECK(buffer_m >= 0),"
    " min_gsd_m REAL NOT NULL CHECK(min_gsd_m > 0), description TEXT);"
    "CREATE TABLE sites(id INTEGER PRIMARY KEY, source TEXT NOT NULL, source_id TEXT NOT NULL,"
    " name TEXT, category TEXT NOT NULL, buffer_m REAL NOT NULL, min_gsd_m REAL NOT NULL,"
    " attributes TEXT NOT NULL DEFAULT '{}',"
    " store_version INTEGER NOT NULL DEFAULT 0, UNIQUE(source, source_id));"
    "CREATE INDEX sites_category ON sites(category);"
    "SELECT AddGeometryColumn('sites', 'geom', 4326, 'GEOMETRY', 'XY', 1);"
    "SELECT AddGeometryColumn('sites', 'geom_buffered', 4326, 'GEOMETRY', 'XY', 1);"
    "SELECT CreateSpatialIndex('sites', 'geom_buffered');";

/* Returns 1 if the database has table name. */
static int has_table(ko_sites *s, const char *name) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

static ko_status create_schema(ko_sites *s) {
    /* Immediate, and looked at again inside: two processes creating the same new store both
     * found it empty; the second now waits for the first and finds its schema (adversary
     * adv26i: "table meta already exists"). */
    ko_status st = koi_sites_exec(s, "BEGIN IMMEDIATE");
    if (st) return st;
    if (has_table(s, "sites")) return koi_sites_exec(s, "COMMIT");
    /* WGS84-only spatial metadata: a few rows instead of PROJ's whole EPSG table. */
    if ((st = koi_sites_exec(s, "SELECT InitSpatialMetadata(0, 'WGS84')")) ||
        (st = koi_sites_exec(s, schema_sql)))
        goto fail;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO categories(name, buffer_m, min_gsd_m, description) "
                           "VALUES(?, ?, ?, ?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        st = koi_sites_db_error(s, "seeding categories");
        goto fail;
    }
    for (size_t i = 0; i < N_CATEGORY_DEFAULTS; i++) {
        sqlite3_bind_text(ins, 1, category_defaults[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 2, category_defaults[i].buffer_m);
        sqlite3_bind_double(ins, 3, category_defaults[i].min_gsd_m);
        sqlite3_bind_text(ins, 4, category_defaults[i].description, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            st = koi_sites_db_error(s, "seeding categories");
            sqlite3_finalize(ins);
            goto fail;
        }
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO meta VALUES('schema_version', '%d'), ('store_version', '0'),"
             " ('generator', 'keepout %s')",
             KOI_SCHEMA_VERSION, ko_version());
    if ((st = koi_sites_exec(s, sql))) goto fail;
    return koi_sites_exec(s, "COMMIT");
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

ko_status koi_sites_meta_int(ko_sites *s, const char *key, long long *v) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key=?", -1, &st,
                           NULL) != SQLITE_OK)
        return koi_sites_db_error(s, "reading meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    ko_status rc = KO_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else
        rc = koi_error(s->ctx, KO_ERR_DB, "site store: meta has no %s", key);
    sqlite3_finalize(st);
    return rc;
}

/* Reads the first page: the first statement that touches the file, where SQLite reports a
 * lock held by a writer (after the busy timeout) or a hot journal it cannot roll back. */
static int probe(sqlite3 *db) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(q);
    return rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(db);
}

/* A writer killed mid-transaction left a hot journal, which a read-only connection cannot
 * roll back: roll it back through a read-write connection (any read does) when the file and
 * its directory may be written. Returns 1 if it did. */
static int roll_back_journal(const char *path) {
    size_t n = strlen(path);
    char *dir = koi_malloc(n + 3);
    if (!dir) return 0;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    int writable = access(path, W_OK) == 0 && access(dir, W_OK) == 0;
    free(dir);
    if (!writable) return 0;
    sqlite3 *db = NULL;
    int ok =
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_busy_timeout(db, 5000);
        ok = probe(db) == SQLITE_OK;
    }
    sqlite3_close(db);
    return ok;
}

/* The failure of the first read as a message naming the store and what to do. */
static ko_status first_read_error(ko_context *ctx, const char *path, int rc, sqlite3 *db) {
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return koi_error(ctx, KO_ERR_DB,
                         "%s: locked by another process writing to it (an import?); try again "
                         "when it has finished",
                         path);
    if (rc == SQLITE_READONLY_ROLLBACK)
        return koi_error(ctx, KO_ERR_DB,
                         "%s: a write to it was interrupted and left %s-journal, which must be "
                         "rolled back before the store can be read; open the store once with "
                         "write access to the file and its folder (that rolls it back), or "
                         "restore the store from a copy",
                         path, path);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return koi_error(ctx, KO_ERR_DB, "%s: not a keepout site store (not an SQLite file)", path);
    return koi_error(ctx, KO_ERR_IO, "%s: cannot read: %s", path, sqlite3_errmsg(db));
}

/* Creates path with mode 0600 (less if the umask says so) before SQLite does, which would
 * use 0644: a list of critical sites is sensitive. An existing file is left as it is. */
static ko_status create_private(ko_context *ctx, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST)
        return koi_error(ctx, KO_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return KO_OK;
}

/* The store proves itself: the R-tree holds one entry per site (a site missing from it would
 * never be found, and its images would be clear), and a store opened for checking holds sites
 * at all. Two counts: 2 ms at 10^5 sites. A writable open rebuilds a damaged
 * index from the sites' geometries instead. */
static ko_status verify(ko_sites *s, const char *path, int allow_empty) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT count(*) FROM sites),"
                           " (SELECT count(*) FROM idx_sites_geom_buffered_rowid)",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        ko_status st = koi_error(s->ctx, KO_ERR_DB,
                                 "%s: damaged: its sites or spatial index cannot be counted (%s); "
                                 "build the store again from its sources",
                                 path, sqlite3_errmsg(s->db));
        sqlite3_finalize(q);
        return st;
    }
    long long sites = sqlite3_column_int64(q, 0), indexed = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    if (indexed != sites && s->writable) {
        ko_status st = koi_sites_exec(s, "BEGIN");
        if (!st &&
            !(st = koi_sites_exec(s,
                                  "DELETE FROM idx_sites_geom_buffered;"
                                  "INSERT INTO idx_sites_geom_buffered(pkid, xmin, xmax, ymin,"
                                  " ymax) SELECT id, MbrMinX(geom_buffered),"
                                  " MbrMaxX(geom_buffered), MbrMinY(geom_buffered),"
                                  " MbrMaxY(geom_buffered) FROM sites"
                                  " WHERE geom_buffered IS NOT NULL")))
            st = koi_sites_exec(s, "COMMIT");
        if (st) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return koi_error(s->ctx, KO_ERR_DB,
                             "%s: its spatial index holds %lld entries for %lld sites and "
                             "cannot be rebuilt (%s); build the store again from its sources",
                             path, indexed, sites, sqlite3_errmsg(s->db));
        }
        return verify(s, path, allow_empty);
    }
    if (indexed != sites)
        return koi_error(s->ctx, KO_ERR_DB,
                         "%s: damaged: its spatial index holds %lld entries for %lld sites, so "
                         "sites could be missed; rebuild the index by opening the store for "
                         "writing once (an import into it does), or build the store again from "
                         "its sources",
                         path, indexed, sites);
    if (sites == 0 && !allow_empty)
        return koi_error(s->ctx, KO_ERR_DB,
                         "%s: holds no sites, so every image would be clear; import sites into "
                         "it first",
                         path);
    return KO_OK;
}

const char *ko_sites_default(int sample) {
    const char *s = CPLGetConfigOption("KEEPOUT_SITES", NULL);
    if (s && *s) return s;
    return sample ? koi_sample_sites() : NULL;
}

ko_status ko_sites_open(ko_context *ctx, const char *path, int flags, ko_sites **out) {
    const int allow_empty = (flags & KO_SITES_ALLOW_EMPTY) != 0;
    const int mode = flags & ~KO_SITES_ALLOW_EMPTY;
    if (!ctx || !path || !out || (mode != KO_SITES_READONLY && mode != KO_SITES_CREATE))
        return koi_error(ctx, KO_ERR_ARG, "ko_sites_open: invalid argument");
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (!exists && mode == KO_SITES_READONLY)
        return koi_error(ctx, KO_ERR_IO, "%s: no such site store", path);
    /* SQLite would block opening a FIFO and read a device */
    if (exists && !S_ISREG(sb.st_mode))
        return koi_error(ctx, KO_ERR_IO, "%s: not a regular file, so not a site store", path);
    if (!exists) {
        ko_status cst = create_private(ctx, path);
        if (cst) return cst;
    }
    ko_sites *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    if (!(s->path = koi_strdup(path))) {
        free(s);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    s->writable = mode == KO_SITES_CREATE;
    int oflags = s->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    ko_status st;
    for (int attempt = 0;; attempt++) {
        if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            st = koi_error(ctx, KO_ERR_IO, "%s: cannot open: %s", path,
                           s->db ? sqlite3_errmsg(s->db) : "out of memory");
            goto fail;
        }
        sqlite3_busy_timeout(s->db, 5000);
        int rc = probe(s->db);
        if (rc == SQLITE_OK) break;
        if (rc == SQLITE_READONLY_ROLLBACK && attempt == 0 && roll_back_journal(path)) {
            sqlite3_close(s->db);
            s->db = NULL;
            continue;
        }
        st = first_read_error(ctx, path, rc, s->db);
        goto fail;
    }
    /* The file the connection now reads (queries make sure the path still names it). */
    struct stat now_sb;
    if (stat(path, &now_sb) == 0 && (!exists || now_sb.st_ino == sb.st_ino))
        s->file_ino = (long long)now_sb.st_ino;
    /* A reader needs SpatiaLite only for WKT and exports (queries read its blobs themselves,
     * splite_blob.c): its initialisation costs 7-18 ms, most of a one-query process. */
    if (s->writable && (st = koi_sites_spatialite(s))) goto fail;
    if (!has_table(s, "sites")) {
        if (has_table(s, "meta") || has_table(s, "geometry_columns") || exists) {
            /* An existing file that is not an (empty) new database. */
            sqlite3_stmt *q = NULL;
            int n = 0;
            if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL) ==
                    SQLITE_OK &&
                sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int(q, 0);
            else if (q == NULL)
                n = -1;
            sqlite3_finalize(q);
            if (n != 0) {
                st = koi_error(ctx, KO_ERR_DB, "%s: not a keepout site store", path);
                goto fail;
            }
        }
        if (!s->writable) {
            st = koi_error(ctx, KO_ERR_DB, "%s: not a keepout site store", path);
            goto fail;
        }
        if ((st = create_schema(s))) goto fail;
    }
    long long schema = 0;
    if ((st = koi_sites_meta_int(s, "schema_version", &schema))) goto fail;
    if (schema != KOI_SCHEMA_VERSION) {
        st = koi_error(ctx, KO_ERR_DB, "%s: schema version %lld, this keepout reads %d", path,
                       schema, KOI_SCHEMA_VERSION);
        goto fail;
    }
    /* The index file, when current, answers every query: the store's own R-tree is not read
     * and need not prove itself. */
    if (s->writable && (st = koi_sites_track_changes(s))) goto fail;
    if ((st = koi_sites_attach_index(s, !s->writable && !allow_empty))) goto fail;
    if (s->packed && koi_packed_count(s->packed) == 0 && !allow_empty && !s->writable) {
        st = koi_error(s->ctx, KO_ERR_DB,
                       "%s: holds no sites, so every image would be clear; import sites into "
                       "it first",
                       path);
        goto fail;
    }
    if ((!s->packed || s->writable) && (st = verify(s, path, allow_empty || s->writable)))
        goto fail;
    if (sqlite3_prepare_v3(s->db,
                           "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m,"
                           " s.buffer_m, s.geom_buffered, NULL, r.xmin, r.ymin, r.xmax, r.ymax"
                           " FROM idx_sites_geom_buffered r JOIN sites s ON s.id = r.pkid"
                           " WHERE r.xmin <= ?2 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?3",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->q_rtree, NULL) != SQLITE_OK) {
        st = koi_sites_db_error(s, "preparing the R-tree query");
        goto fail;
    }
    s->wkbr = GEOSWKBReader_create_r(ctx->geos);
    if (!s->wkbr) {
        st = koi_error(ctx, KO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = s;
    return KO_OK;
fail:
    ko_sites_close(s);
    return st;
}

void ko_sites_close(ko_sites *s) {
    if (!s) return;
    koi_packed_free(s->ctx, s->packed);
    if (s->wkbr) GEOSWKBReader_destroy_r(s->ctx->geos, s->wkbr);
    sqlite3_finalize(s->q_rtree);
    if (s->db) sqlite3_close(s->db);
    koi_sites_spatialite_free(s);
    free(s->path);
    free(s);
}

ko_status ko_sites_count(ko_sites *s, int64_t *n) {
    if (!s || !n) return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "sites_count: NULL argument");
    if (s->packed && koi_packed_file(s->packed)) { /* the index file holds the same sites */
        *n = (int64_t)koi_packed_count(s->packed);
        return KO_OK;
    }
    sqlite3_stmt *q = NULL;
    ko_status st = KO_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sites", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        st = koi_error(s->ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return st;
}

/* SpatiaLite on the store's connection, initialised on demand: a reader needs it only for WKT
 * and exports (queries read its blobs themselves, splite_blob.c), and its initialisation costs
 * 7-18 ms, most of a one-query process. */
ko_status koi_sites_spatialite(ko_sites *s) {
    if (s->splite) return KO_OK;
    s->splite = spatialite_alloc_connection();
    if (!s->splite)
        return koi_error(s->ctx, KO_ERR_NOMEM, "SpatiaLite: cannot allocate a connection");
    spatialite_init_ex(s->db, s->splite, 0);
    return KO_OK;
}

void koi_sites_spatialite_free(ko_sites *s) {
    if (s->splite) spatialite_cleanup_ex(s->splite);
    s->splite = NULL;
}
