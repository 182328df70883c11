#include "output.h"

#include <string.h>

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

static void csv_cell(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
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

static json_object *geometry(const double *ring, size_t n) {
    if (!ring) return NULL;
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

static void write_wkt(FILE *fp, const double *ring, size_t n) {
    if (!ring) return;
    fputs("\"POLYGON ((", fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s%.9f %.9f", i ? ", " : "", ring[2 * i], ring[2 * i + 1]);
    fputs("))\"", fp);
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
        const char *t = props ? prop_text(props, w->csv_columns[i]) : w->csv_columns[i];
        if (!w->csv_columns[i + 1]) {
            fputs(t, w->fp);
            break;
        }
        int width = table_width(w->csv_columns[i]), len = (int)strlen(t);
        if (len > width)
            fprintf(w->fp, "%.*s~ ", width - 1, t);
        else
            fprintf(w->fp, "%-*s ", width, t);
    }
    fputc('\n', w->fp);
}

int out_feature(out_writer *w, json_object *props, json_object *geom, const char *wkt) {
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
        json_object *f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("Feature"));
        json_object_object_add(f, "properties", json_object_get(props));
        json_object_object_add(f, "geometry", geom);
        if (w->format == OUT_GEOJSON && w->count) fputs(",\n", w->fp);
        fputs(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN), w->fp);
        if (w->format == OUT_JSONL) fputc('\n', w->fp);
        json_object_put(f);
    }
    w->count++;
    return !ferror(w->fp);
}

int out_record(out_writer *w, json_object *props, const double *ring, size_t n) {
    if (w->format != OUT_CSV) return out_feature(w, props, geometry(ring, n), NULL);
    for (size_t i = 0; w->csv_columns[i]; i++) {
        if (i) fputc(',', w->fp);
        csv_cell(w->fp, prop_text(props, w->csv_columns[i]));
    }
    fputc(',', w->fp);
    write_wkt(w->fp, ring, n);
    fputc('\n', w->fp);
    w->count++;
    return !ferror(w->fp);
}

int out_end(out_writer *w) {
    if (w->format == OUT_GEOJSON) fputs("\n]}\n", w->fp);
    return fflush(w->fp) == 0 && !ferror(w->fp);
}
