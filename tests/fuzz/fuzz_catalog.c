/* libFuzzer target: the tag catalogue read back for a recheck (lib/src/catalog/): open, the files
 * table, every stored footprint's pose and camera checked again against a one-site store, the
 * files' verdicts recomputed. The first byte picks how the rest makes the catalogue, written to a
 * temporary file: 0: the bytes are the GeoPackage itself; 1: SQL statements (one per ";\n") run by
 * GDAL on an empty catalogue, so that mutations reach the values of the rows rather than SQLite's
 * page format. Oracle: after a recheck that succeeds, no file is `clear` while one of its
 * footprints is not. The corpus (corpus/catalog/) holds a real catalogue of `keepout tag` on
 * data/images and its rows as SQL (see its README). */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "keepout/keepout.h"

#ifndef KEEPOUT_SOURCE_DIR
#define KEEPOUT_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cat_path[96], store_path[96];
static GByte *empty_cat; /* an empty catalogue's bytes, made once */
static vsi_l_offset empty_len;

static void cleanup(void) {
    unlink(store_path);
    unlink(cat_path);
    VSIFree(empty_cat);
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void remove_catalog(void) {
    const char *suffix[] = {"", "-journal", "-wal", "-shm"};
    for (int i = 0; i < 4; i++)
        unlink(CPLSPrintf("%s%s", cat_path, suffix[i]));
}

/* Runs each ";\n"-separated statement of sql on the catalogue through GDAL (whose SQLite
 * functions the GeoPackage's triggers call). */
static void run_sql(const char *sql) {
    GDALDatasetH ds = GDALOpenEx(cat_path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
    if (!ds) return;
    char *copy = CPLStrdup(sql);
    for (char *s = copy, *next; s && *s; s = next) {
        next = strstr(s, ";\n");
        if (next) *next = '\0', next += 2;
        OGRLayerH r = GDALDatasetExecuteSQL(ds, s, NULL, NULL);
        if (r) GDALDatasetReleaseResultSet(ds, r);
    }
    CPLFree(copy);
    GDALClose(ds);
}

/* 1 if some file is `clear` although one of its footprints is not. */
static int clear_over_unclear(koi_cat *c) {
    OGRLayerH r = GDALDatasetExecuteSQL(
        c->ds,
        "SELECT count(*) FROM files f WHERE f.verdict = 'clear' AND EXISTS (SELECT 1 FROM "
        "footprints p WHERE p.path = f.path AND (p.verdict IS NULL OR p.verdict <> 'clear'))",
        NULL, NULL);
    if (!r) return 0;
    OGRFeatureH f = OGR_L_GetNextFeature(r);
    int bad = f && OGR_F_GetFieldAsInteger64(f, 0) > 0;
    if (f) OGR_F_Destroy(f);
    GDALDatasetReleaseResultSet(c->ds, r);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ko_context *ctx = NULL;
    static ko_sites *sites = NULL;
    if (!ctx) {
        snprintf(store_path, sizeof store_path, "/tmp/keepout_fuzz_catalog_%ld.sqlite",
                 (long)getpid());
        snprintf(cat_path, sizeof cat_path, "/tmp/keepout_fuzz_catalog_%ld.gpkg", (long)getpid());
        unlink(store_path);
        remove_catalog();
        ko_import_report rep = {0};
        if (ko_context_create(&ctx) != KO_OK ||
            ko_sites_open(ctx, store_path, KO_SITES_CREATE, &sites) != KO_OK ||
            ko_sites_import(sites, KEEPOUT_SOURCE_DIR "/data/sites/brighton_beach_demo.geojson",
                            NULL, &rep) != KO_OK)
            abort();
        ko_import_report_clear(&rep);
        koi_cat c;
        if (koi_cat_open(ctx, &c, cat_path) != KO_OK) abort();
        koi_cat_close(&c);
        if (!VSIIngestFile(NULL, cat_path, &empty_cat, &empty_len, -1)) abort();
        atexit(cleanup);
        CPLSetErrorHandler(CPLQuietErrorHandler);
    }
    if (size < 1) return 0;
    remove_catalog();
    if (data[0] == 0) {
        if (!write_file(cat_path, data + 1, size - 1)) return 0;
    } else {
        if (!write_file(cat_path, empty_cat, (size_t)empty_len)) return 0;
        char *sql = malloc(size);
        if (!sql) return 0;
        memcpy(sql, data + 1, size - 1);
        sql[size - 1] = '\0';
        run_sql(sql);
        free(sql);
    }
    koi_cat c;
    if (koi_cat_open(ctx, &c, cat_path) == KO_OK) {
        koi_cat_done *done = NULL;
        size_t n = 0;
        if (koi_cat_done_list(&c, &done, &n) || done) {
            for (size_t i = 0; i < n; i++)
                free(done[i].path);
            free(done);
        }
        ko_check_options o;
        ko_check_options_init(&o);
        ko_footprint_options fo;
        ko_footprint_options_init(&fo);
        o.footprint = &fo;
        ko_sites_gsd_limit(sites, &fo.gsd_limit_m);
        size_t changed = 0, total = 0;
        if (koi_cat_recheck(&c, ctx, sites, &o, "2026-01-01T00:00:00Z", 1, &changed, &total) &&
            clear_over_unclear(&c))
            __builtin_trap(); /* a file is released as clear over a shot that is not */
        koi_cat_counts counts;
        koi_cat_counts_read(&c, &counts);
        koi_cat_close(&c);
    }
    return 0;
}
