/* Record writers shared by the subcommands: GeoJSON FeatureCollection, JSON lines, CSV. */
#ifndef KEEPOUT_CLI_OUTPUT_H
#define KEEPOUT_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stdio.h>

#include "keepout/keepout.h"

typedef enum out_format { OUT_GEOJSON, OUT_JSONL, OUT_CSV, OUT_TABLE, OUT_OGR } out_format;

typedef struct out_writer {
    FILE *fp;
    out_format format;
    size_t count;
    const char *const *csv_columns; /* property names, in order, for CSV and table output */
    /* OUT_OGR: the dataset and its one layer (made at the first record, whose values give the
     * fields' types), GDALDatasetH / OGRLayerH */
    void *ds, *layer;
    json_object *pending; /* records held until every field's type is known (a JSON array) */
    const char *layer_name, *path;
    int failed; /* a write failed: the message was printed */
} out_writer;

/* Parses "geojson", "jsonl", "csv", "table"; returns 0 if the name is unknown. */
int out_parse_format(const char *name, out_format *fmt);

void out_begin(out_writer *w, FILE *fp, out_format fmt, const char *const *csv_columns);

/* Writes one record. props: a JSON object (borrowed). fp: its footprint (the geometry: GeoJSON
 * from ko_footprint_ring(), WKT from ko_footprint_wkt() in CSV), or NULL for none. Returns 0
 * on a write error or when memory runs out. */
int out_record(out_writer *w, json_object *props, const ko_footprint *fp);

/* Writes one record with any geometry: geometry is a GeoJSON geometry object (ownership
 * passes to the writer; NULL for none) and wkt the same geometry for CSV (NULL for none). */
int out_feature(out_writer *w, json_object *props, json_object *geometry, const char *wkt);

/* The OGR driver an output path's extension names when it is not one of the text formats
 * (GeoPackage, FlatGeobuf, Shapefile, KML, ...: ko_ogr_driver_for), else NULL. */
const char *out_ogr_driver(const char *path);

/* The output -o path names: out_ogr_driver(path) in *drv; without --format (fmt_set 0) a
 * .geojson/.json, .jsonl/.geojsonl/.geojsons or .csv path sets *fmt to that text format, as
 * ogr2ogr picks formats. 0 (the message printed for cmd): path names an OGR file and --format
 * asked for text as well, or without --format its extension names no format. path NULL: 1,
 * nothing changed. */
int out_ogr_target(const char *cmd, const char *path, int fmt_set, out_format *fmt,
                   const char **drv);

/* A footprint's ring as a GeoJSON Polygon (the caller owns it), or NULL for none. */
json_object *out_footprint_geometry(const ko_footprint *fp);

/* Begins OGR output into a new path (an existing file there is replaced) through driver, one
 * layer named layer_name with the fields csv_columns. Returns 0 with a message printed (for
 * cmd) if the file cannot be made. */
int out_begin_ogr(out_writer *w, const char *cmd, const char *path, const char *driver,
                  const char *layer_name, const char *const *csv_columns);

/* Closes the collection. Returns 0 on a write error. */
int out_end(out_writer *w);

/* Text from outside (site names, file names, reasons) for a terminal, a table or CSV, as the
 * library cleans it for every face (ko_text_clean). The caller frees it with ko_free(); NULL if
 * out of memory. */
char *out_clean(const char *s);

/* Writes s cleaned (out_clean); width >= 0 cuts or pads it to that many characters. */
void out_text(FILE *fp, const char *s, int width);

/* "keepout WHO: " and the printf-formatted message, cleaned (out_clean: file and site names,
 * GDAL's and the library's messages may carry control characters), and a newline, on stderr. */
void out_say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define tag_say(...) out_say("tag", __VA_ARGS__)

/* Writes JSON text with each byte that is not UTF-8 (only inside strings: json-c copies them
 * as they are) as the text \xHH, the form table and CSV output use: valid UTF-8 JSON. */
int out_json_write(FILE *fp, const char *json);

#endif
