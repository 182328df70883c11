/* The site store: one SpatiaLite file with sites, categories and meta tables. Reading and
 * exporting it; opening and the schema are in store_open.c. */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <json-c/json.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "sites/sites.h"

ko_status koi_sites_category(ko_sites *s, const char *category, double *buffer_m,
                             double *min_gsd_m) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT buffer_m, min_gsd_m FROM categories WHERE name=?", -1, &q,
                           NULL) != SQLITE_OK)
        return koi_sites_db_error(s, "reading categories");
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
        return koi_sites_db_error(s, "reading categories");
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
        return koi_sites_db_error(s, "summarising");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        json_object_object_add(obj, k ? k : "", json_object_new_int64(sqlite3_column_int64(q, 1)));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? KO_OK : koi_sites_db_error(s, "summarising");
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
    if ((st = koi_sites_meta_int(s, "store_version", &sv)) ||
        (st = koi_sites_meta_int(s, "schema_version", &schema)))
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
        st = koi_sites_db_error(s, "summarising");
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
        st = koi_sites_db_error(s, "reading categories");
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
    char *ipath = NULL;
    const char *istate = koi_sites_index_state(s, &ipath);
    json_object *index = json_object_new_object();
    if (index) {
        json_object_object_add(index, "file", ipath ? json_object_new_string(ipath) : NULL);
        json_object_object_add(index, "state", json_object_new_string(istate));
        json_object_object_add(root, "index", index);
    }
    free(ipath);
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
        return koi_sites_db_error(s, "listing sites");
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
    return rc == SQLITE_DONE ? KO_OK : koi_sites_db_error(s, "listing sites");
}

const char *ko_ogr_driver_for(const char *path) {
    static const struct {
        const char *ext, *driver;
    } map[] = {{"gpkg", "GPKG"},
               {"fgb", "FlatGeobuf"},
               {"shp", "ESRI Shapefile"},
               {"geojson", "GeoJSON"},
               {"json", "GeoJSON"},
               {"geojsonl", "GeoJSONSeq"},
               {"geojsons", "GeoJSONSeq"},
               {"jsonl", "GeoJSONSeq"},
               {"csv", "CSV"},
               {"kml", "KML"},
               {"gml", "GML"},
               {"sqlite", "SQLite"}};
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/')) return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (EQUAL(dot + 1, map[i].ext)) return map[i].driver;
    return NULL;
}

ko_status ko_sites_export(ko_sites *s, const char *path, const char *driver, const char *category,
                          int buffered) {
    if (!s || !path) return KO_ERR_ARG;
    ko_status sst = koi_sites_spatialite(s);
    if (sst) return sst;
    if (!driver && !(driver = ko_ogr_driver_for(path)))
        return koi_error(s->ctx, KO_ERR_ARG,
                         "%s: its extension names no vector format (.geojson, .gpkg, .fgb, .shp, "
                         ".csv, .kml, ...): name the OGR driver",
                         path);
    ko_global_init(); /* GDAL's drivers */
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
    /* GeoJSON: RFC 7946 (counterclockwise shells, no crs member), 9 decimals (0.1 mm) as every
     * keepout GeoJSON: 7 would move a site's vertices by up to 5.6 mm */
    const char *rfc[] = {"RFC7946=YES", "COORDINATE_PRECISION=9", NULL};
    OGRLayerH lyr = GDALDatasetCreateLayer(ds, "sites", srs, wkbUnknown,
                                           EQUAL(driver, "GeoJSON") ? (char **)rfc : NULL);
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
        st = koi_sites_db_error(s, "exporting");
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
    if (!st && rc != SQLITE_DONE) st = koi_sites_db_error(s, "exporting");
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
    ko_status st = koi_sites_meta_int(s, "store_version", &v);
    if (!st) *version = v;
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
