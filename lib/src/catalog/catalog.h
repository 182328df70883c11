/* Private: the tag catalogue and the tagging engine. An OGR data source (GeoPackage by default,
 * PostGIS with PG:...) holding `footprints` (one row per shot, the pose and camera kept for a
 * recheck), `hits` (shot -> site) and `files` (one row per file, written last in the file's
 * transaction: a file is done exactly when its `files` row exists).
 *
 * schema.c: the layers, their columns and indexes, opening and creating a catalogue;
 * writer.c: rows, transactions, the files already done, the verdict counts;
 * record.c: what the catalogue keeps of a checked shot; sidecar.c: the XMP sidecars;
 * tag.c: the run (listing, workers, the writer loop); recheck.c: checking stored rows again;
 * catalog.c: the public handle, its options, stats and decision. */
#ifndef KEEPOUT_CATALOG_CATALOG_H
#define KEEPOUT_CATALOG_CATALOG_H

#include <gdal.h>
#include <ogr_api.h>
#include <stdint.h>

#include "core/core.h"
#include "keepout/keepout.h"

typedef struct koi_cat_hit {
    int64_t site_id;
    char *name, *category;
    double distance_m, fraction, gsd_m;
} koi_cat_hit;

typedef struct koi_cat_shot {
    char *id, *time, *camera, *reason, *site_ids, *categories;
    ko_verdict verdict;
    int checked; /* read and checked (ko_result_checked); 0: its input could not be read */
    ko_pose pose;
    ko_camera cam;
    double *ring; /* (lon, lat) pairs, or NULL */
    size_t n_ring;
    koi_cat_hit *hits;
    size_t n_hits;
} koi_cat_shot;

typedef struct koi_cat_file {
    char *path;
    int64_t size, mtime;
    char sha256[65];
    ko_verdict verdict; /* worst of its shots */
    koi_cat_shot *shots;
    size_t n_shots, cap;
    char *site_names; /* for the sidecar */
} koi_cat_file;

void koi_cat_file_free(koi_cat_file *f);
void koi_cat_shot_free(koi_cat_shot *s);

/* Copies what the catalogue keeps of a checked shot. 0 if out of memory. */
int koi_cat_shot_fill(koi_cat_shot *s, const ko_shot *shot, const ko_result *res);

/* Column positions in the layers' column lists (schema.c); koi_cat_open() maps them to the
 * layer's own field indices (an older catalogue may order or lack them). */
enum {
    KOI_F_PATH,
    KOI_F_SHOT_ID,
    KOI_F_TIME,
    KOI_F_CAMERA,
    KOI_F_VERDICT,
    KOI_F_REASON,
    KOI_F_HIT_COUNT,
    KOI_F_SITE_IDS,
    KOI_F_CATEGORIES,
    KOI_F_LAT,
    KOI_F_LON,
    KOI_F_HEIGHT,
    KOI_F_YAW,
    KOI_F_PITCH,
    KOI_F_ROLL,
    KOI_F_FOCAL_MM,
    KOI_F_SENSOR_W_MM,
    KOI_F_SENSOR_H_MM,
    KOI_F_WIDTH_PX,
    KOI_F_HEIGHT_PX,
    KOI_F_CX_PX,
    KOI_F_CY_PX,
    KOI_F_K1,
    KOI_F_K2,
    KOI_F_K3,
    KOI_F_P1,
    KOI_F_P2,
    KOI_F_ALT_MSL,
    KOI_F_ALT_ELLIPSOID,
    KOI_F_TAKEOFF_LAT,
    KOI_F_TAKEOFF_LON,
    KOI_F_CHECKED_AT,
    KOI_F_STORE_VERSION,
    KOI_F_CHECKED,
    KOI_F_COUNT
};
enum {
    KOI_H_PATH,
    KOI_H_SHOT_ID,
    KOI_H_SITE_ID,
    KOI_H_NAME,
    KOI_H_CATEGORY,
    KOI_H_DISTANCE_M,
    KOI_H_FRACTION,
    KOI_H_GSD_M,
    KOI_H_COUNT
};
enum {
    KOI_L_PATH,
    KOI_L_SIZE,
    KOI_L_MTIME,
    KOI_L_SHA256,
    KOI_L_SHOTS,
    KOI_L_VERDICT,
    KOI_L_CHECKED_AT,
    KOI_L_STORE_VERSION,
    KOI_L_COUNT
};

/* The open data source. */
typedef struct koi_cat {
    GDALDatasetH ds;
    OGRLayerH fp, hits, files;
    int fp_ix[KOI_F_COUNT], hit_ix[KOI_H_COUNT], file_ix[KOI_L_COUNT]; /* field indices */
    OGRFeatureH fp_row, hit_row, file_row; /* reused for every row written */
    int pg;                                /* PostgreSQL (else GeoPackage) */
    int in_tx;
    int failed;      /* a write or commit failed: nothing more is written */
    char error[512]; /* GDAL's message for that failure */
} koi_cat;

/* A file already in the catalogue. */
typedef struct koi_cat_done {
    char *path;
    int64_t size, mtime;
    char sha256[65];
} koi_cat_done;

/* schema.c: opens or creates the catalogue name; on failure the message (naming it) in ctx. */
ko_status koi_cat_open(ko_context *ctx, koi_cat *c, const char *name);
void koi_cat_close(koi_cat *c);

/* writer.c */

/* Reads the files table, sorted by path. 0 if out of memory. */
int koi_cat_done_list(koi_cat *c, koi_cat_done **out, size_t *n);
const koi_cat_done *koi_cat_find(const koi_cat_done *done, size_t n, const char *path);

/* Writes one file's rows (replacing older rows of that path if replace != 0). */
int koi_cat_write(koi_cat *c, const koi_cat_file *f, int replace, const char *checked_at,
                  int64_t store_version);
/* The hits rows of one shot. */
int koi_cat_write_hits(koi_cat *c, const char *path, const koi_cat_shot *s);

/* Row features are reused (one per layer): a value absent from this row is unset. */
void koi_cat_set_str(OGRFeatureH f, int i, const char *v);

/* A time of the catalogue in UTC. */
typedef struct koi_cat_time {
    int year, month, day, hour, minute;
    double second; /* with its fraction, below 60 */
} koi_cat_time;
/* Reads ISO 8601 text, YYYY-MM-DD[T ]HH:MM[:SS[.fff]] with Z, +HH[:MM], -HH[:MM] or no zone,
 * into UTC: an offset is converted, a time without one is taken as UTC (EXIF and SRT times are
 * the camera's clock, zone unknown). 0 if text is NULL or not such a time (not a date of the
 * calendar, a field out of range, anything after it). */
int koi_cat_time_utc(const char *text, koi_cat_time *t);
/* Sets a time column of a row: a timestamp column (OFTDateTime) in UTC, unset if text is not a
 * time; the TEXT column of a GeoPackage written before issue 19 gets text as it is. */
void koi_cat_set_time(OGRFeatureH f, int i, const char *text);

/* A statement whose failure matters: 0 if it failed, the statement and the cause (the
 * server's message) kept in c->error unless an earlier cause is there. */
int koi_cat_sql_ok(koi_cat *c, const char *q);
/* The QGIS style of footprints (colour by verdict) in the catalogue's layer_styles table, as its
 * default, unless a style for footprints is there already (catalog/style.c). 0 (the cause in
 * c->error) on failure. */
int koi_cat_style(koi_cat *c);
/* The single integer a query gives; -1 (statement and cause in c->error) if it failed. */
int64_t koi_cat_sql_count(koi_cat *c, const char *q);
/* Whether the cause in c->error is a PostgreSQL deadlock or serialization failure (SQLSTATE
 * 40P01, 40001) or a unique row written meanwhile by another process (23505): the
 * transaction is then rolled back and may be done again. */
int koi_cat_retryable(const koi_cat *c);

/* Runs a query and hands each row of its result to each (which returns 0 to stop: out of
 * memory). 0 if the statement or a row failed (statement and cause in c->error) or each
 * stopped. */
int koi_cat_sql_each(koi_cat *c, const char *q, int (*each)(OGRFeatureH row, void *user),
                     void *user);
/* A batch failing with a cause koi_cat_retryable() accepts is written again whole, up to this
 * many times, after koi_cat_retry_pause(try): 2^try x 1..10 ms by process, so that shards that
 * collided pause apart and the other transaction goes first. */
#define KOI_CAT_RETRIES 8
void koi_cat_retry_pause(int try);

/* The PostgreSQL advisory lock under which a catalogue's tables and indexes are made ("ko" in
 * the high bytes). */
#define KOI_CAT_LOCK "7041723"

/* The catalogue's shots by what the release policy weighs (the decision covers the whole
 * catalogue): flagged, unknown ones that were checked, and those that were not; clear is 1 if
 * there is a clear shot, else 0. 0 if the catalogue cannot be read. */
typedef struct koi_cat_counts {
    size_t clear, flagged, unknown, not_checked;
} koi_cat_counts;
int koi_cat_counts_read(koi_cat *c, koi_cat_counts *n);

int koi_cat_begin(koi_cat *c);
/* 0 if the commit failed: the transaction's rows are then not in the catalogue (SQLite rolled
 * them back) and GDAL is made to forget the counts and R-tree entries it kept of them. */
int koi_cat_commit(koi_cat *c);
/* Drops the open transaction after a failed write; nothing more is written. */
void koi_cat_rollback(koi_cat *c);
/* Writes what GDAL defers to the close (a new layer's R-tree, feature counts, extent) into the
 * open transaction: the last commit's disk syncs instead of several more commits at the close
 * (~25 ms of every tag run). */
int koi_cat_flush(koi_cat *c);

/* recheck.c: every stored footprint checked again against sites, KOI_CAT_RECHECK_BATCH rows
 * at a time by fid, each batch one transaction (its rows, their hits and their files'
 * verdicts). 0 (the cause in c->error) on failure: the batch that failed is rolled back, the
 * ones before it stay committed; *n_total and *n_changed count the committed rows. */
#define KOI_CAT_RECHECK_BATCH 1000
int koi_cat_recheck(koi_cat *c, ko_context *ctx, ko_sites *sites, const ko_check_options *o,
                    const char *checked_at, int64_t store_version, size_t *n_changed,
                    size_t *n_total);

/* sidecar.c: the directory of the last sidecar, kept open (files come in path order, so most
 * sidecars go into the directory of the one before). dirty: a sidecar was renamed into it
 * since its last fsync. Start as {NULL, -1, 0}. */
typedef struct koi_sidecar_dir {
    char *key;
    int fd, dirty;
} koi_sidecar_dir;

/* IMAGE.xmp beside the image, or under dir mirroring its absolute path; 1 if it is in place,
 * 0 with why if it is not (the file is left out), -1 with why if the directory of earlier
 * sidecars could not be synced (the batch must not be committed). */
int koi_sidecar_write(const char *dir, const koi_cat_file *f, const char *when, int64_t version,
                      koi_sidecar_dir *cache, char *why, size_t n_why);
/* Makes the renames into the directory durable. 0 with why if the fsync failed. */
int koi_sidecar_dir_sync(koi_sidecar_dir *d, char *why, size_t n_why);
void koi_sidecar_dir_close(koi_sidecar_dir *d);

/* catalog.c: the public handle. */
struct ko_catalog {
    ko_context *ctx;
    char *name;
    ko_catalog_options opts; /* what it points to is the caller's */
    koi_cat w;
};

/* The current UTC time as ISO 8601 ("2026-12-05T14:00:00Z"). */
void koi_cat_utc_now(char *buf, size_t n);

/* Says text through the options' note callback, if any. */
void koi_cat_note(const ko_catalog *cat, ko_note_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The catalogue counts into stats. 0 (message in cat's context) if they cannot be read. */
int koi_cat_stats_counts(ko_catalog *cat, ko_catalog_stats *stats);

#endif
