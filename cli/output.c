#include "output.h"

#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The code point of the UTF-8 sequence at s (its length in *len), or -1 if the byte at s does
 * not start a well-formed sequence (overlong forms, surrogates and values past U+10FFFF are
 * not UTF-8 either). */
static int32_t utf8_next(const unsigned char *s, int *len) {
    *len = 1;
    if (s[0] < 0x80) return s[0];
    int n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
            : s[0] >= 0xe0 && s[0] <= 0xef ? 3
            : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                           : 0;
    if (!n) return -1;
    int32_t c = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return -1;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && c < 0x10000) ||
        c > 0x10ffff)
        return -1;
    *len = n;
    return c;
}

char *out_clean(const char *s) {
    char *t = NULL;
    return ko_text_clean(NULL, s, &t) == KO_OK ? t : NULL;
}

/* Characters (code points) in valid UTF-8, and the bytes of its first n characters. */
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static size_t utf8_prefix(const char *s, size_t chars) {
    size_t i = 0;
    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && chars-- == 0) break;
    return i;
}

void out_text(FILE *fp, const char *s, int width) {
    char *t = out_clean(s);
    const char *c = t ? t : "?";
    if (width < 0) {
        fputs(c, fp);
    } else {
        size_t n = utf8_chars(c);
        fwrite(c, 1, utf8_prefix(c, (size_t)width), fp);
        for (size_t i = n; i < (size_t)width; i++)
            fputc(' ', fp);
    }
    ko_free(t);
}

int out_json_write(FILE *fp, const char *json) {
    const unsigned char *u = (const unsigned char *)json;
    while (*u) {
        const unsigned char *start = u;
        int len = 1;
        while (*u && utf8_next(u, &len) >= 0)
            u += len;
        fwrite(start, 1, (size_t)(u - start), fp);
        if (*u) { /* inside a string (JSON outside strings is ASCII): the text \xHH */
            fprintf(fp, "\\\\x%02x", *u);
            u++;
        }
    }
    return !ferror(fp);
}

int out_parse_format(const char *name, out_format *fmt) {
    static const struct {
        const char *name;
        out_format fmt;
    } names[] = {
        {"geojson", OUT_GEOJSON}, {"jsonl", OUT_JSONL}, {"csv", OUT_CSV}, {"table", OUT_TABLE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *fmt = names[i].fmt;
            return 1;
        }
    return 0;
}

/* A CSV cell: control characters and bytes that are not UTF-8 escaped (out_clean), then quoted
 * where it holds a comma or a quote. */
static void csv_cell(FILE *fp, const char *raw) {
    char *t = out_clean(raw);
    const char *s = t ? t : "?";
    if (!strpbrk(s, ",\"")) {
        fputs(s, fp);
    } else {
        fputc('"', fp);
        for (; *s; s++) {
            if (*s == '"') fputc('"', fp);
            fputc(*s, fp);
        }
        fputc('"', fp);
    }
    ko_free(t);
}

static const char *prop_text(json_object *props, const char *key) {
    json_object *v;
    if (!json_object_object_get_ex(props, key, &v) || json_object_is_type(v, json_type_null))
        return "";
    if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void table_row(out_writer *w, json_object *props);

void out_begin(out_writer *w, FILE *fp, out_format fmt, const char *const *csv_columns) {
    w->fp = fp;
    w->format = fmt;
    w->count = 0;
    w->csv_columns = csv_columns;
    /* Coordinates to 1e-9 degree (0.1 mm); json-c's default prints 17 noisy digits. */
    json_c_set_serialization_double_format("%.12g", JSON_C_OPTION_THREAD);
    if (fmt == OUT_GEOJSON) fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", fp);
    if (fmt == OUT_CSV) {
        for (size_t i = 0; csv_columns[i]; i++) {
            if (i) fputc(',', fp);
            csv_cell(fp, csv_columns[i]);
        }
        fputs(",wkt\n", fp);
    }
    if (fmt == OUT_TABLE) table_row(w, NULL);
}

json_object *out_footprint_geometry(const ko_footprint *fp) {
    if (!fp) return NULL;
    size_t n = 0;
    const double *ring = ko_footprint_ring(fp, &n);
    json_object *g = json_object_new_object(), *rings = json_object_new_array(),
                *pts = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *pt = json_object_new_array();
        json_object_array_add(pt, json_object_new_double(ring[2 * i]));
        json_object_array_add(pt, json_object_new_double(ring[2 * i + 1]));
        json_object_array_add(pts, pt);
    }
    json_object_array_add(rings, pts);
    json_object_object_add(g, "type", json_object_new_string("Polygon"));
    json_object_object_add(g, "coordinates", rings);
    return g;
}

/* Table cells are padded to a width per column (the last column takes the rest), and cut
 * with '~' where longer: a terminal table is for looking, the other formats are complete. */
static int table_width(const char *column) {
    static const struct {
        const char *name;
        int width;
    } widths[] = {{"verdict", 8},     {"id", 28},    {"hit_count", 9}, {"site_names", 32},
                  {"categories", 14}, {"status", 8}, {"area_m2", 10}};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        if (!strcmp(widths[i].name, column)) return widths[i].width;
    return 16;
}

static void table_row(out_writer *w, json_object *props) {
    for (size_t i = 0; w->csv_columns[i]; i++) {
        const char *raw = props ? prop_text(props, w->csv_columns[i]) : w->csv_columns[i];
        char *clean = out_clean(raw);
        const char *t = clean ? clean : "?";
        if (!w->csv_columns[i + 1]) {
            fputs(t, w->fp);
            ko_free(clean);
            break;
        }
        size_t width = (size_t)table_width(w->csv_columns[i]), len = utf8_chars(t);
        if (len > width) {
            fwrite(t, 1, utf8_prefix(t, width - 1), w->fp);
            fputs("~ ", w->fp);
        } else {
            fputs(t, w->fp);
            for (size_t k = len; k <= width; k++)
                fputc(' ', w->fp);
        }
        ko_free(clean);
    }
    fputc('\n', w->fp);
}

/* RFC 7946 for the GeoJSON writers: positions to 9 decimals (0.1 mm: json-c wrote 12
 * significant digits, 15 for small numbers; 7 decimals, RFC 7946's example, moves a vertex up
 * to 5.6 mm and shrank a footprint by 1.7e-5 of its area in tests/cli/test_footprint_independent,
 * where a footprint must never be smaller than the ground it shows), outer rings
 * counterclockwise and holes clockwise (GEOS's unions, e.g. the legs a route sweeps, come out
 * clockwise). */
static json_object *position_number(double v) {
    char text[32];
    snprintf(text, sizeof text, "%.9f", v);
    /* no trailing zeros: 12.5, not 12.5000000 */
    char *dot = strchr(text, '.');
    if (dot) {
        char *end = text + strlen(text) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot) *end = '\0';
    }
    if (!strcmp(text, "-0")) strcpy(text, "0");
    return json_object_new_double_s(v, text);
}

/* Twice the signed area of a ring of [lon, lat] positions, longitudes unwrapped from the first
 * (a ring across the antimeridian keeps its orientation). */
static double ring_area2(json_object *ring) {
    size_t n = json_object_array_length(ring);
    double a = 0, x0 = 0, px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *pt = json_object_array_get_idx(ring, i);
        double x = json_object_get_double(json_object_array_get_idx(pt, 0));
        double y = json_object_get_double(json_object_array_get_idx(pt, 1));
        if (i == 0) x0 = x;
        while (x - x0 > 180)
            x -= 360;
        while (x - x0 < -180)
            x += 360;
        if (i) a += px * y - x * py;
        px = x, py = y;
    }
    return a;
}

static void ring_fix(json_object *ring, int outer) {
    size_t n = json_object_array_length(ring);
    double a = ring_area2(ring);
    if ((outer && a < 0) || (!outer && a > 0))
        for (size_t i = 0, j = n - 1; i < j; i++, j--) {
            json_object *pi = json_object_get(json_object_array_get_idx(ring, i));
            json_object *pj = json_object_get(json_object_array_get_idx(ring, j));
            json_object_array_put_idx(ring, i, pj);
            json_object_array_put_idx(ring, j, pi);
        }
}

/* Every number of a coordinates array (nested to any depth) at 9 decimals. */
static void positions_fix(json_object *a) {
    for (size_t i = 0, n = json_object_array_length(a); i < n; i++) {
        json_object *v = json_object_array_get_idx(a, i);
        if (json_object_is_type(v, json_type_array))
            positions_fix(v);
        else if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
            json_object_array_put_idx(a, i, position_number(json_object_get_double(v)));
    }
}

static void rfc7946(json_object *g) {
    json_object *type, *coords;
    if (!g || !json_object_object_get_ex(g, "type", &type)) return;
    const char *t = json_object_get_string(type);
    if (!strcmp(t, "GeometryCollection")) {
        json_object *gs;
        if (json_object_object_get_ex(g, "geometries", &gs))
            for (size_t i = 0, n = json_object_array_length(gs); i < n; i++)
                rfc7946(json_object_array_get_idx(gs, i));
        return;
    }
    if (!json_object_object_get_ex(g, "coordinates", &coords)) return;
    if (!strcmp(t, "Polygon") || !strcmp(t, "MultiPolygon")) {
        int multi = t[0] == 'M';
        size_t np = multi ? json_object_array_length(coords) : 1;
        for (size_t k = 0; k < np; k++) {
            json_object *poly = multi ? json_object_array_get_idx(coords, k) : coords;
            for (size_t r = 0, nr = json_object_array_length(poly); r < nr; r++)
                ring_fix(json_object_array_get_idx(poly, r), r == 0);
        }
    }
    positions_fix(coords);
}

const char *out_ogr_driver(const char *path) {
    const char *d = path ? ko_ogr_driver_for(path) : NULL;
    /* the text formats keepout writes itself, streaming */
    if (!d || !strcmp(d, "GeoJSON") || !strcmp(d, "GeoJSONSeq") || !strcmp(d, "CSV")) return NULL;
    return d;
}

int out_ogr_target(const char *cmd, const char *path, int fmt_set, out_format *fmt,
                   const char **drv) {
    *drv = out_ogr_driver(path);
    if (!path) return 1;
    if (*drv && fmt_set) {
        out_say(cmd,
                "%s names a %s file, and --format writes text: drop --format, or name a "
                ".geojson, .jsonl or .csv file",
                path, *drv);
        return 0;
    }
    if (*drv || fmt_set) return 1;
    /* no --format: the extension says, as ogr2ogr's -o does */
    const char *d = ko_ogr_driver_for(path);
    if (d && !strcmp(d, "GeoJSON")) {
        *fmt = OUT_GEOJSON;
    } else if (d && !strcmp(d, "GeoJSONSeq")) {
        *fmt = OUT_JSONL;
    } else if (d && !strcmp(d, "CSV")) {
        *fmt = OUT_CSV;
    } else {
        out_say(cmd,
                "%s: its extension names no output format (.geojson, .jsonl, .csv, .gpkg, .fgb, "
                ".shp, ...): give --format geojson, jsonl or csv, or another name",
                path);
        return 0;
    }
    return 1;
}

int out_begin_ogr(out_writer *w, const char *cmd, const char *path, const char *driver,
                  const char *layer_name, const char *const *csv_columns) {
    memset(w, 0, sizeof *w);
    w->format = OUT_OGR;
    w->csv_columns = csv_columns;
    w->layer_name = layer_name;
    w->path = path;
    GDALAllRegister();
    GDALDriverH drv = GDALGetDriverByName(driver);
    VSIStatBufL st;
    if (drv && VSIStatL(path, &st) == 0) { /* replaced, as a text output is: with its sidecars */
        CPLPushErrorHandler(CPLQuietErrorHandler);
        if (GDALDeleteDataset(drv, path) != CE_None) VSIUnlink(path);
        CPLPopErrorHandler();
    }
    CPLErrorReset();
    w->ds = drv ? GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!w->ds) {
        out_say(cmd, "cannot write %s (%s): %s", path, driver,
                drv ? CPLGetLastErrorMsg() : "GDAL has no such driver");
        return 0;
    }
    GDALDatasetStartTransaction(w->ds, FALSE); /* one commit for GeoPackage, not one a row */
    return 1;
}

/* A field's type from a value: numbers as numbers, nested values as their JSON text; 0 for
 * null (not known yet). */
static OGRFieldType field_type(json_object *v, int *known) {
    *known = v && !json_object_is_type(v, json_type_null);
    return json_object_is_type(v, json_type_int)       ? OFTInteger64
           : json_object_is_type(v, json_type_double)  ? OFTReal
           : json_object_is_type(v, json_type_boolean) ? OFTInteger
                                                       : OFTString;
}

/* The first held record in which the column has a value, or NULL. */
static json_object *first_value(out_writer *w, const char *column) {
    for (size_t k = 0, n = w->pending ? json_object_array_length(w->pending) : 0; k < n; k++) {
        json_object *rec = json_object_array_get_idx(w->pending, k), *v;
        json_object *props = json_object_array_get_idx(rec, 0);
        if (json_object_object_get_ex(props, column, &v) && !json_object_is_type(v, json_type_null))
            return v;
    }
    return NULL;
}

/* The layer, each field typed by the first held record that has a value for it (a column
 * null in every held record is text). */
static int ogr_layer(out_writer *w) {
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    w->layer = GDALDatasetCreateLayer(w->ds, w->layer_name, srs, wkbUnknown, NULL);
    OSRRelease(srs);
    for (size_t i = 0; w->layer && w->csv_columns[i]; i++) {
        int known;
        OGRFieldType t = field_type(first_value(w, w->csv_columns[i]), &known);
        OGRFieldDefnH fd = OGR_Fld_Create(w->csv_columns[i], t);
        if (t == OFTInteger) OGR_Fld_SetSubType(fd, OFSTBoolean);
        OGRErr e = OGR_L_CreateField(w->layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE) return 0;
    }
    return w->layer != NULL;
}

static int ogr_write(out_writer *w, json_object *props, json_object *geom) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(w->layer);
    OGRFeatureH f = OGR_F_Create(defn);
    if (!f) return 0;
    for (int i = 0; w->csv_columns[i]; i++) {
        json_object *v;
        if (!json_object_object_get_ex(props, w->csv_columns[i], &v) ||
            json_object_is_type(v, json_type_null))
            continue;
        OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, i));
        if (t == OFTInteger64 || t == OFTInteger)
            OGR_F_SetFieldInteger64(f, i, json_object_get_int64(v));
        else if (t == OFTReal)
            OGR_F_SetFieldDouble(f, i, json_object_get_double(v));
        else
            OGR_F_SetFieldString(f, i, prop_text(props, w->csv_columns[i]));
    }
    OGRGeometryH g = geom ? OGR_G_CreateGeometryFromJson(
                                json_object_to_json_string_ext(geom, JSON_C_TO_STRING_PLAIN))
                          : NULL;
    if (g) OGR_F_SetGeometryDirectly(f, g);
    int ok = (!geom || g) && OGR_L_CreateFeature(w->layer, f) == OGRERR_NONE;
    OGR_F_Destroy(f);
    return ok;
}

/* Records are held (at most OGR_HOLD) until every column has had a value, so that a column
 * whose first value is null (min_gsd_m of a clear photo) still gets its type; then the layer
 * is made and the held records written. */
#define OGR_HOLD 1000

static int ogr_flush(out_writer *w) {
    if (!w->layer && !ogr_layer(w)) return 0;
    int ok = 1;
    for (size_t k = 0, n = w->pending ? json_object_array_length(w->pending) : 0; ok && k < n;
         k++) {
        json_object *rec = json_object_array_get_idx(w->pending, k);
        ok = ogr_write(w, json_object_array_get_idx(rec, 0), json_object_array_get_idx(rec, 1));
    }
    json_object_put(w->pending);
    w->pending = NULL;
    return ok;
}

static int ogr_feature(out_writer *w, json_object *props, json_object *geom) {
    if (w->layer) return ogr_write(w, props, geom);
    if (!w->pending && !(w->pending = json_object_new_array())) return 0;
    json_object *rec = json_object_new_array();
    if (!rec) return 0;
    json_object_array_add(rec, json_object_get(props));
    json_object_array_add(rec, json_object_get(geom));
    json_object_array_add(w->pending, rec);
    int all = 1;
    for (size_t i = 0; all && w->csv_columns[i]; i++)
        all = first_value(w, w->csv_columns[i]) != NULL;
    return all || json_object_array_length(w->pending) >= OGR_HOLD ? ogr_flush(w) : 1;
}

int out_feature(out_writer *w, json_object *props, json_object *geom, const char *wkt) {
    if (w->format == OUT_OGR) {
        rfc7946(geom); /* counterclockwise shells here too */
        int ok = !w->failed && ogr_feature(w, props, geom);
        json_object_put(geom);
        if (!ok && !w->failed) {
            out_say("output", "%s: cannot write a record: %s", w->path, CPLGetLastErrorMsg());
            w->failed = 1;
        }
        w->count++;
        return ok;
    }
    if (w->format == OUT_TABLE) {
        table_row(w, props);
        json_object_put(geom);
    } else if (w->format == OUT_CSV) {
        for (size_t i = 0; w->csv_columns[i]; i++) {
            if (i) fputc(',', w->fp);
            csv_cell(w->fp, prop_text(props, w->csv_columns[i]));
        }
        fputc(',', w->fp);
        if (wkt) csv_cell(w->fp, wkt);
        fputc('\n', w->fp);
        json_object_put(geom);
    } else {
        rfc7946(geom);
        json_object *f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("Feature"));
        json_object_object_add(f, "properties", json_object_get(props));
        json_object_object_add(f, "geometry", geom);
        if (w->format == OUT_GEOJSON && w->count) fputs(",\n", w->fp);
        out_json_write(w->fp, json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
        if (w->format == OUT_JSONL) fputc('\n', w->fp);
        json_object_put(f);
    }
    w->count++;
    return !ferror(w->fp);
}

int out_record(out_writer *w, json_object *props, const ko_footprint *fp) {
    if (w->format != OUT_CSV) return out_feature(w, props, out_footprint_geometry(fp), NULL);
    char *wkt = NULL;
    if (fp && ko_footprint_wkt(NULL, fp, &wkt) != KO_OK) return 0;
    int ok = out_feature(w, props, NULL, wkt);
    ko_free(wkt);
    return ok;
}

/* Whether the file written holds every record: a driver may drop some and say nothing
 * (GDAL 3.6's FlatGeobuf skips features without a geometry: every unknown record was left out
 * of -o x.fgb, adversary adv23d). If not, the file is deleted and the run fails. */
static int ogr_all_kept(out_writer *w) {
    GDALDatasetH ds = GDALOpenEx(w->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH l = ds ? GDALDatasetGetLayerByName(ds, w->layer_name) : NULL;
    if (!l && ds && GDALDatasetGetLayerCount(ds) == 1) l = GDALDatasetGetLayer(ds, 0);
    GIntBig kept = l ? OGR_L_GetFeatureCount(l, TRUE) : -1;
    GDALDriverH drv = ds ? GDALGetDatasetDriver(ds) : NULL;
    char name[64];
    snprintf(name, sizeof name, "%s", drv ? GDALGetDriverShortName(drv) : "?");
    if (ds) GDALClose(ds);
    if (kept == (GIntBig)w->count) return 1;
    out_say("output",
            "%s: the %s driver kept %lld of %zu records (FlatGeobuf leaves out those without a "
            "geometry: the unknown ones); it is deleted: write GeoPackage (.gpkg) or GeoJSON",
            w->path, name, (long long)kept, w->count);
    if (drv) GDALDeleteDataset(drv, w->path);
    return 0;
}

int out_end(out_writer *w) {
    if (w->format == OUT_OGR) {
        if (!w->ds) return 0;
        int ok = !w->failed && ogr_flush(w);
        ok = GDALDatasetCommitTransaction(w->ds) != OGRERR_FAILURE && ok;
        CPLErrorReset();
        GDALClose(w->ds);
        w->ds = NULL;
        ok = ok && CPLGetLastErrorType() < CE_Failure;
        if (!ok && !w->failed) out_say("output", "%s: %s", w->path, CPLGetLastErrorMsg());
        return ok && ogr_all_kept(w);
    }
    if (w->format == OUT_GEOJSON) fputs("\n]}\n", w->fp);
    return fflush(w->fp) == 0 && !ferror(w->fp);
}

void out_say(const char *who, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "keepout %s: ", who);
    out_text(stderr, buf, -1);
    fputc('\n', stderr);
}
