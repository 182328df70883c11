/* The site store: one SpatiaLite file with sites, categories and meta tables. */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <json-c/json.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "context.h"
#include "sites.h"

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

static ko_status db_error(ko_sites *s, const char *what) {
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

static ko_status create_schema(ko_sites *s) {
    ko_status st = koi_sites_exec(s, "BEGIN");
    if (st) return st;
    /* WGS84-only spatial metadata: a few rows instead of PROJ's whole EPSG table. */
    if ((st = koi_sites_exec(s, "SELECT InitSpatialMetadata(0, 'WGS84')")) ||
        (st = koi_sites_exec(s, schema_sql)))
        goto fail;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO categories(name, buffer_m, min_gsd_m, description) "
                           "VALUES(?, ?, ?, ?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        st = db_error(s, "seeding categories");
        goto fail;
    }
    for (size_t i = 0; i < N_CATEGORY_DEFAULTS; i++) {
        sqlite3_bind_text(ins, 1, category_defaults[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 2, category_defaults[i].buffer_m);
        sqlite3_bind_double(ins, 3, category_defaults[i].min_gsd_m);
        sqlite3_bind_text(ins, 4, category_defaults[i].description, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            st = db_error(s, "seeding categories");
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

static ko_status meta_int(ko_sites *s, const char *key, long long *v) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key=?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(s, "reading meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    ko_status rc = KO_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else
        rc = koi_error(s->ctx, KO_ERR_DB, "site store: meta has no %s", key);
    sqlite3_finalize(st);
    return rc;
}

ko_status koi_sites_spatialite(ko_sites *s) {
    if (s->splite) return KO_OK;
    s->splite = spatialite_alloc_connection();
    if (!s->splite)
        return koi_error(s->ctx, KO_ERR_NOMEM, "SpatiaLite: cannot allocate a connection");
    spatialite_init_ex(s->db, s->splite, 0);
    return KO_OK;
}

ko_status ko_sites_open(ko_context *ctx, const char *path, int flags, ko_sites **out) {
    if (!ctx || !path || !out || (flags != KO_SITES_READONLY && flags != KO_SITES_CREATE))
        return koi_error(ctx, KO_ERR_ARG, "ko_sites_open: invalid argument");
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (!exists && flags == KO_SITES_READONLY)
        return koi_error(ctx, KO_ERR_IO, "%s: no such site store", path);
    ko_sites *s = koi_calloc(1, sizeof *s);
    if (!s) return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    s->writable = flags == KO_SITES_CREATE;
    int oflags = s->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    ko_status st;
    if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        st = koi_error(ctx, KO_ERR_IO, "%s: cannot open: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* A reader needs SpatiaLite only for WKT and exports (queries read its blobs themselves,
     * splite_blob.c): its initialisation costs 7-18 ms, most of a one-query process. */
    if (s->writable && (st = koi_sites_spatialite(s))) goto fail;
    sqlite3_busy_timeout(s->db, 5000);
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
    if ((st = meta_int(s, "schema_version", &schema))) goto fail;
    if (schema != KOI_SCHEMA_VERSION) {
        st = koi_error(ctx, KO_ERR_DB, "%s: schema version %lld, this keepout reads %d", path,
                       schema, KOI_SCHEMA_VERSION);
        goto fail;
    }
    if (sqlite3_prepare_v3(s->db,
                           "SELECT s.id, s.name, s.category, s.source, s.source_id, s.min_gsd_m,"
                           " s.buffer_m, s.geom_buffered, NULL, r.xmin, r.ymin, r.xmax, r.ymax"
                           " FROM idx_sites_geom_buffered r JOIN sites s ON s.id = r.pkid"
                           " WHERE r.xmin <= ?2 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?3",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->q_rtree, NULL) != SQLITE_OK) {
        st = db_error(s, "preparing the R-tree query");
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
    if (s->splite) spatialite_cleanup_ex(s->splite);
    free(s);
}

ko_status koi_sites_category(ko_sites *s, const char *category, double *buffer_m,
                             double *min_gsd_m) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT buffer_m, min_gsd_m FROM categories WHERE name=?", -1, &q,
                           NULL) != SQLITE_OK)
        return db_error(s, "reading categories");
    sqlite3_bind_text(q, 1, category, -1, SQLITE_STATIC);
    ko_status st = KO_OK;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *buffer_m = sqlite3_column_double(q, 0);
        *min_gsd_m = sqlite3_column_double(q, 1);
    } else {
        st = koi_error(s->ctx, KO_ERR_NOT_FOUND,
                       "category '%s' is not in the store's categories table", category);
    }
    sqlite3_finalize(q);
    return st;
}

ko_status ko_sites_gsd_limit(ko_sites *s, double *gsd_limit_m) {
    if (!s || !gsd_limit_m) return KO_ERR_ARG;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT max(min_gsd_m) FROM categories", -1, &q, NULL) !=
        SQLITE_OK)
        return db_error(s, "reading categories");
    ko_status st = KO_OK;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        *gsd_limit_m = sqlite3_column_double(q, 0);
    else
        st = koi_error(s->ctx, KO_ERR_DB, "site store: the categories table is empty");
    sqlite3_finalize(q);
    return st;
}

/* Adds {key: count} rows of a two-column query to obj. */
static ko_status add_counts(ko_sites *s, json_object *obj, const char *sql) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_error(s, "summarising");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        json_object_object_add(obj, k ? k : "", json_object_new_int64(sqlite3_column_int64(q, 1)));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? KO_OK : db_error(s, "summarising");
}

ko_status ko_sites_info_json(ko_sites *s, char **json) {
    if (!s || !json) return KO_ERR_ARG;
    json_object *root = json_object_new_object();
    json_object *bycat = json_object_new_object();
    json_object *bysrc = json_object_new_object();
    json_object *cats = json_object_new_array();
    if (!root || !bycat || !bysrc || !cats) {
        json_object_put(root);
        json_object_put(bycat);
        json_object_put(bysrc);
        json_object_put(cats);
        return koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
    }
    json_object_object_add(root, "by_category", bycat);
    json_object_object_add(root, "by_source", bysrc);
    json_object_object_add(root, "categories", cats);
    ko_status st;
    long long sv = 0, schema = 0, total = 0;
    if ((st = meta_int(s, "store_version", &sv)) || (st = meta_int(s, "schema_version", &schema)))
        goto done;
    if ((st = add_counts(s, bycat, "SELECT category, count(*) FROM sites GROUP BY 1 ORDER BY 1")) ||
        (st = add_counts(s, bysrc, "SELECT source, count(*) FROM sites GROUP BY 1 ORDER BY 1")))
        goto done;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*), min(xmin), min(ymin), max(xmax), max(ymax)"
                           " FROM idx_sites_geom_buffered",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        st = db_error(s, "summarising");
        goto done;
    }
    total = sqlite3_column_int64(q, 0);
    if (total > 0) {
        json_object *ext = json_object_new_array();
        for (int i = 1; i <= 4; i++)
            json_object_array_add(ext, json_object_new_double(sqlite3_column_double(q, i)));
        json_object_object_add(root, "extent", ext);
    } else {
        json_object_object_add(root, "extent", NULL);
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, buffer_m, min_gsd_m, description FROM categories"
                           " ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK) {
        st = db_error(s, "reading categories");
        goto done;
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name",
                               json_object_new_string((const char *)sqlite3_column_text(q, 0)));
        json_object_object_add(c, "buffer_m", json_object_new_double(sqlite3_column_double(q, 1)));
        json_object_object_add(c, "min_gsd_m", json_object_new_double(sqlite3_column_double(q, 2)));
        const char *d = (const char *)sqlite3_column_text(q, 3);
        json_object_object_add(c, "description", d ? json_object_new_string(d) : NULL);
        json_object_array_add(cats, c);
    }
    sqlite3_finalize(q);
    json_object_object_add(root, "sites", json_object_new_int64(total));
    json_object_object_add(root, "store_version", json_object_new_int64(sv));
    json_object_object_add(root, "schema_version", json_object_new_int64(schema));
    const char *txt = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    *json = txt ? koi_strdup(txt) : NULL;
    st = *json ? KO_OK : koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
done:
    json_object_put(root);
    return st;
}

ko_status ko_sites_foreach(ko_sites *s, const char *category, int with_wkt,
                           int (*fn)(const ko_site_record *site, void *user), void *user) {
    if (!s || !fn) return KO_ERR_ARG;
    ko_status sst = koi_sites_spatialite(s); /* AsText() is in the statement either way */
    if (sst) return sst;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, source, source_id, name, category, buffer_m, min_gsd_m,"
                           " attributes, CASE WHEN ?1 THEN AsText(geom) END FROM sites"
                           " WHERE ?2 IS NULL OR category = ?2 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_error(s, "listing sites");
    sqlite3_bind_int(q, 1, with_wkt != 0);
    if (category)
        sqlite3_bind_text(q, 2, category, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 2);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        ko_site_record r = {
            .id = sqlite3_column_int64(q, 0),
            .source = (const char *)sqlite3_column_text(q, 1),
            .source_id = (const char *)sqlite3_column_text(q, 2),
            .name = (const char *)sqlite3_column_text(q, 3),
            .category = (const char *)sqlite3_column_text(q, 4),
            .buffer_m = sqlite3_column_double(q, 5),
            .min_gsd_m = sqlite3_column_double(q, 6),
            .attributes_json = (const char *)sqlite3_column_text(q, 7),
            .wkt = (const char *)sqlite3_column_text(q, 8),
        };
        if (!r.attributes_json) r.attributes_json = "{}";
        if (!fn(&r, user)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? KO_OK : db_error(s, "listing sites");
}

ko_status ko_sites_export(ko_sites *s, const char *path, const char *driver, const char *category,
                          int buffered) {
    if (!s || !path) return KO_ERR_ARG;
    ko_status sst = koi_sites_spatialite(s);
    if (sst) return sst;
    if (!driver) driver = "GeoJSON";
    GDALDriverH drv = GDALGetDriverByName(driver);
    if (!drv || !GDALGetMetadataItem(drv, GDAL_DCAP_VECTOR, NULL) ||
        !GDALGetMetadataItem(drv, GDAL_DCAP_CREATE, NULL))
        return koi_error(s->ctx, KO_ERR_UNSUPPORTED, "%s: no OGR vector driver that can create",
                         driver);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL);
    ko_status st = KO_OK;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    sqlite3_stmt *q = NULL;
    if (!ds) {
        st = koi_error(s->ctx, KO_ERR_IO, "%s: cannot create (%s)", path, CPLGetLastErrorMsg());
        goto done;
    }
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayerH lyr = GDALDatasetCreateLayer(ds, "sites", srs, wkbUnknown, NULL);
    if (!lyr) {
        st = koi_error(s->ctx, KO_ERR_IO, "%s: cannot create layer (%s)", path,
                       CPLGetLastErrorMsg());
        goto done;
    }
    static const struct {
        const char *name;
        OGRFieldType type;
    } fields[] = {{"id", OFTInteger64},   {"source", OFTString},    {"source_id", OFTString},
                  {"name", OFTString},    {"category", OFTString},  {"buffer_m", OFTReal},
                  {"min_gsd_m", OFTReal}, {"attributes", OFTString}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].type);
        OGRErr e = OGR_L_CreateField(lyr, fd, 1);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE) {
            st = koi_error(s->ctx, KO_ERR_IO, "%s: cannot create field %s", path, fields[i].name);
            goto done;
        }
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, source, source_id, name, category, buffer_m, min_gsd_m,"
                           " attributes, AsBinary(CASE WHEN ?1 THEN geom_buffered ELSE geom END)"
                           " FROM sites WHERE ?2 IS NULL OR category = ?2 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        st = db_error(s, "exporting");
        goto done;
    }
    sqlite3_bind_int(q, 1, buffered != 0);
    if (category)
        sqlite3_bind_text(q, 2, category, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 2);
    int tx = GDALDatasetStartTransaction(ds, 0) == OGRERR_NONE;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(lyr);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        OGRFeatureH f = OGR_F_Create(defn);
        if (!f) {
            st = koi_error(s->ctx, KO_ERR_NOMEM, "out of memory");
            break;
        }
        OGR_F_SetFieldInteger64(f, 0, sqlite3_column_int64(q, 0));
        for (int c = 1; c <= 4; c++) {
            const char *t = (const char *)sqlite3_column_text(q, c);
            if (t) OGR_F_SetFieldString(f, c, t);
        }
        OGR_F_SetFieldDouble(f, 5, sqlite3_column_double(q, 5));
        OGR_F_SetFieldDouble(f, 6, sqlite3_column_double(q, 6));
        const char *a = (const char *)sqlite3_column_text(q, 7);
        if (a) OGR_F_SetFieldString(f, 7, a);
        OGRGeometryH g = NULL;
        const void *wkb = sqlite3_column_blob(q, 8);
        int nb = sqlite3_column_bytes(q, 8);
        if (wkb && OGR_G_CreateFromWkb(wkb, NULL, &g, nb) == OGRERR_NONE)
            OGR_F_SetGeometryDirectly(f, g);
        OGRErr e = OGR_L_CreateFeature(lyr, f);
        OGR_F_Destroy(f);
        if (e != OGRERR_NONE) {
            st = koi_error(s->ctx, KO_ERR_IO, "%s: cannot write site %lld (%s)", path,
                           (long long)sqlite3_column_int64(q, 0), CPLGetLastErrorMsg());
            break;
        }
    }
    if (tx && GDALDatasetCommitTransaction(ds) != OGRERR_NONE && !st)
        st = koi_error(s->ctx, KO_ERR_IO, "%s: cannot commit (%s)", path, CPLGetLastErrorMsg());
    if (!st && rc != SQLITE_DONE) st = db_error(s, "exporting");
done:
    sqlite3_finalize(q);
    OSRDestroySpatialReference(srs);
    if (ds) GDALClose(ds);
    CPLPopErrorHandler();
    return st;
}

ko_status ko_sites_version(ko_sites *s, int64_t *version) {
    if (!s || !version) return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "sites_version: NULL");
    long long v = 0;
    ko_status st = meta_int(s, "store_version", &v);
    if (!st) *version = v;
    return st;
}

ko_status ko_sites_count(ko_sites *s, int64_t *n) {
    if (!s || !n) return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "sites_count: NULL argument");
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

ko_status ko_sites_site_wkt(ko_sites *s, int64_t id, int buffered, char **wkt) {
    if (!s || !wkt) return koi_error(s ? s->ctx : NULL, KO_ERR_ARG, "site_wkt: NULL argument");
    ko_status sst = koi_sites_spatialite(s);
    if (sst) return sst;
    const char *sql = buffered ? "SELECT AsText(geom_buffered) FROM sites WHERE id = ?"
                               : "SELECT AsText(geom) FROM sites WHERE id = ?";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return koi_error(s->ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_int64(st, 1, id);
    ko_status rc = KO_OK;
    int step = sqlite3_step(st);
    const unsigned char *text = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (step == SQLITE_ROW && text) {
        if (!(*wkt = koi_strdup((const char *)text)))
            rc = koi_error(s->ctx, KO_ERR_NOMEM, "site store: out of memory");
    } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
        rc = koi_error(s->ctx, KO_ERR_NOT_FOUND, "site store: no site %lld", (long long)id);
    } else {
        rc = koi_error(s->ctx, KO_ERR_DB, "site store: %s", sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return rc;
}
