/* Helpers shared by the site-store tests: temporary stores and SQL counts. */
#ifndef KEEPOUT_TEST_UTIL_H
#define KEEPOUT_TEST_UTIL_H

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keepout/keepout.h"

/* data/ (shipped with keepout) and tests/data/ (test extracts): nothing outside the repository */
#define DATA KEEPOUT_TEST_DATA
#define FIXTURES KEEPOUT_TEST_FIXTURES

/* A fresh directory per test; path of a store file inside it. */
static inline void tmp_store(char *buf, size_t cap) {
    char dir[] = "/tmp/keepout_test_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(buf, cap, "%s/sites.sqlite", dir);
}

static inline void tmp_file(const char *store, const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%.*s/%s", (int)(strrchr(store, '/') - store), store, name);
}

static inline void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Integer result of a query on a store file (opened separately, plain SQLite). */
static inline long long sql_int(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        ck_abort_msg("SQL %s: %s", sql, sqlite3_errmsg(h));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

typedef struct fixture {
    ko_context *ctx;
    ko_sites *s;
    char db[256];
} fixture;

static inline void fixture_open(fixture *f) {
    ck_assert_int_eq(ko_context_create(&f->ctx), KO_OK);
    tmp_store(f->db, sizeof f->db);
    ck_assert_int_eq(ko_sites_open(f->ctx, f->db, KO_SITES_CREATE, &f->s), KO_OK);
}

static inline void fixture_close(fixture *f) {
    ko_sites_close(f->s);
    ko_context_destroy(f->ctx);
    f->s = NULL;
    f->ctx = NULL;
}

/* Imports path with opts (NULL: defaults); asserts success; returns the report. A source
 * that gives no site is allowed here (check_import tests that it fails by default). */
static inline ko_import_report import_ok(fixture *f, const char *path,
                                         const ko_import_options *opts) {
    ko_import_report r = {0};
    ko_import_options o;
    if (opts)
        o = *opts;
    else
        ko_import_options_init(&o);
    o.allow_empty = 1;
    ko_status st = ko_sites_import(f->s, path, &o, &r);
    if (st != KO_OK) ck_abort_msg("import %s: %s", path, ko_errmsg(f->ctx));
    ck_assert_uint_eq(r.read, r.imported + r.updated + r.rejected + r.skipped);
    return r;
}

/* A fresh store holding the real Bremen power extract (OSM preset). */
static inline void fixture_open_bremen(fixture *f) {
    fixture_open(f);
    ko_import_options o;
    ko_import_options_init(&o);
    o.preset_osm = 1;
    ko_import_report r = import_ok(f, DATA "/sites/bremen_power.osm", &o);
    ko_import_report_clear(&r);
}

#endif
