/* The tag catalogue: an OGR data source (GeoPackage by default, PostGIS with PG:...) holding
 * `footprints` (one row per shot, the pose and camera kept for --recheck), `hits` (shot ->
 * site) and `files` (one row per file, written last in the file's transaction: a file is done
 * exactly when its `files` row exists). */
#ifndef KEEPOUT_CLI_CATALOG_H
#define KEEPOUT_CLI_CATALOG_H

#include <gdal.h>
#include <ogr_api.h>
#include <stdint.h>

#include "keepout/keepout.h"

typedef struct cat_hit {
    int64_t site_id;
    char *name, *category;
    double distance_m, fraction, gsd_m;
} cat_hit;

typedef struct cat_shot {
    char *id, *time, *camera, *reason, *site_ids, *categories;
    ko_verdict verdict;
    int checked; /* read and checked (ko_result_checked); 0: its input could not be read */
    ko_pose pose;
    ko_camera cam;
    double *ring; /* (lon, lat) pairs, or NULL */
    size_t n_ring;
    cat_hit *hits;
    size_t n_hits;
} cat_shot;

typedef struct cat_file {
    char *path;
    int64_t size, mtime;
    char sha256[65];
    ko_verdict verdict; /* worst of its shots */
    cat_shot *shots;
    size_t n_shots, cap;
    char *site_names; /* for the sidecar */
} cat_file;

void cat_file_free(cat_file *f);
void cat_shot_free(cat_shot *s);

/* Copies what the catalogue keeps of a checked shot. 0 if out of memory. */
int cat_shot_fill(cat_shot *s, const ko_shot *shot, const ko_result *res);

typedef struct catalog {
    GDALDatasetH ds;
    OGRLayerH fp, hits, files;
    int fp_ix[40], hit_ix[16], file_ix[16]; /* the layers' field indices, in column-list order */
    OGRFeatureH fp_row, hit_row, file_row;  /* reused for every row written */
    int in_tx;
    int failed;      /* a write or commit failed: nothing more is written */
    char error[512]; /* GDAL's message for that failure */
} catalog;

/* A file already in the catalogue. */
typedef struct cat_done {
    char *path;
    int64_t size, mtime;
    char sha256[65];
} cat_done;

/* Opens or creates the catalogue. 0 after a message on stderr. */
int catalog_open(catalog *c, const char *name);
void catalog_close(catalog *c);

/* Reads the files table, sorted by path. */
int catalog_done(catalog *c, cat_done **out, size_t *n);
const cat_done *catalog_find(const cat_done *done, size_t n, const char *path);

/* Writes one file's rows (replacing older rows of that path if replace != 0). */
int catalog_write(catalog *c, const cat_file *f, int replace, const char *checked_at,
                  int64_t store_version);

/* The catalogue's shots by what the release policy weighs (the exit status covers the whole
 * catalogue): flagged, unknown ones that were checked, and those that were not (their input
 * could not be read, a row of an older keepout that did not record it, or a verdict keepout
 * does not give); clear is 1 if there is a clear shot, else 0 (not counted: it costs a scan).
 * 0 if the catalogue cannot be read. */
typedef struct cat_counts {
    size_t clear, flagged, unknown, not_checked;
} cat_counts;
int catalog_counts(catalog *c, cat_counts *n);

int catalog_begin(catalog *c);
/* 0 if the commit failed: the transaction's rows are then not in the catalogue (SQLite rolled
 * them back) and GDAL is made to forget the counts and R-tree entries it kept of them. */
int catalog_commit(catalog *c);
/* Drops the open transaction after a failed write; nothing more is written. */
void catalog_rollback(catalog *c);
/* Writes what GDAL defers to the close (a new layer's R-tree, feature counts, extent) into the
 * open transaction: the last commit's disk syncs instead of several more commits at the close
 * (~25 ms of every tag run). */
int catalog_flush(catalog *c);

/* --recheck: every stored footprint checked again against sites. */
int catalog_recheck(catalog *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                    const char *checked_at, int64_t store_version, size_t *n_changed,
                    size_t *n_total);

#endif
