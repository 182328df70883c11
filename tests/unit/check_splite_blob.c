/* SpatiaLite blobs read without SpatiaLite: koi_blob_wkb must give, byte for byte, what
 * SpatiaLite's own AsBinary() gives, on every site of the real stores and on every 2D class;
 * decline what it does not read; and never read past a damaged blob. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sites/sites.h"
#include "test_util.h"
#include "check_runner.h"

/* Every row of sql (blob, AsBinary(blob)): the two must agree; returns the rows seen. */
static size_t agree(fixture *f, const char *sql) {
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(f->s->db, sql, -1, &st, NULL), SQLITE_OK);
    size_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *b = sqlite3_column_blob(st, 0);
        size_t nb = (size_t)sqlite3_column_bytes(st, 0);
        const unsigned char *w = sqlite3_column_blob(st, 1);
        size_t nw = (size_t)sqlite3_column_bytes(st, 1);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_nonnull(w);
        unsigned char *out = malloc(nb);
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_eq(koi_blob_wkb(b, nb, out), nw);
        ck_assert_int_eq(memcmp(out, w, nw), 0);
        double box[4];
        ck_assert_int_eq(koi_blob_mbr(b, nb, box), 1);
        ck_assert_double_eq(box[0], sqlite3_column_double(st, 2));
        ck_assert_double_eq(box[1], sqlite3_column_double(st, 3));
        ck_assert_double_eq(box[2], sqlite3_column_double(st, 4));
        ck_assert_double_eq(box[3], sqlite3_column_double(st, 5));
        free(out);
        rows++;
    }
    sqlite3_finalize(st);
    return rows;
}

START_TEST(test_blob_real_sites_match_asbinary) {
    fixture f;
    fixture_open_bremen(&f);
    ko_import_report r = import_ok(&f, DATA "/zones/swiss_ed318_substations_nuclear.json", NULL);
    ko_import_report_clear(&r);
    r = import_ok(&f, DATA "/sites/wri_switzerland.csv", NULL);
    ko_import_report_clear(&r);
    r = import_ok(&f, DATA "/zones/cis_source_sample_ed269.json", NULL);
    ko_import_report_clear(&r);
    size_t n = agree(&f,
                     "SELECT geom, AsBinary(geom), MbrMinX(geom), MbrMinY(geom),"
                     " MbrMaxX(geom), MbrMaxY(geom) FROM sites");
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_eq(agree(&f,
                            "SELECT geom_buffered, AsBinary(geom_buffered),"
                            " MbrMinX(geom_buffered), MbrMinY(geom_buffered),"
                            " MbrMaxX(geom_buffered), MbrMaxY(geom_buffered) FROM sites"),
                      n);
    fixture_close(&f);
}
END_TEST

static const char *const shapes[] = {
    "POINT(8.8 53.1)",
    "LINESTRING(8.8 53.1, 8.9 53.2, 9 53.1)",
    "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))",
    "MULTIPOINT(1 2, 3 4, 5 6)",
    "MULTILINESTRING((0 0, 1 1), (2 2, 3 3, 4 2))",
    "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5), (5.2 5.1, 5.8 5.1, 5.8 5.7,"
    " 5.2 5.1)))",
    "GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 2 2), POLYGON((0 0, 1 0, 1 1, 0 0)))",
};

START_TEST(test_blob_every_2d_class_matches_asbinary) {
    fixture f;
    fixture_open(&f);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "SELECT g, AsBinary(g), MbrMinX(g), MbrMinY(g), MbrMaxX(g), MbrMaxY(g) FROM"
                 " (SELECT GeomFromText('%s', 4326) AS g)",
                 shapes[i]);
        ck_assert_uint_eq(agree(&f, sql), 1);
    }
    fixture_close(&f);
}
END_TEST

/* The blob of one SQL expression, copied; *n its size. */
static unsigned char *blob_of(fixture *f, const char *expr, size_t *n) {
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s", expr);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(f->s->db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    *n = (size_t)sqlite3_column_bytes(st, 0);
    unsigned char *b = malloc(*n ? *n : 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, sqlite3_column_blob(st, 0), *n);
    sqlite3_finalize(st);
    return b;
}

START_TEST(test_blob_declines_other_encodings) {
    fixture f;
    fixture_open(&f);
    const char *exprs[] = {
        "CompressGeometry(GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))', 4326))",
        "GeomFromText('POINT Z(1 2 3)', 4326)",
        "GeomFromText('LINESTRING M(0 0 1, 1 1 2)', 4326)",
        "CastToXYZ(GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))', 4326))",
        "x'0102'",
    };
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        size_t n = 0;
        unsigned char *b = blob_of(&f, exprs[i], &n);
        unsigned char *out = malloc(n + 64);
        ck_assert_ptr_nonnull(out);
        ck_assert_msg(koi_blob_wkb(b, n, out) == 0, "%s was read", exprs[i]);
        free(out);
        free(b);
    }
    fixture_close(&f);
}
END_TEST

/* koi_blob_wkb on an exact-size copy of n bytes of b (so that AddressSanitizer sees any read
 * past them), checked against SpatiaLite's own reading: what it reads must be what AsBinary()
 * gives. It may decline what SpatiaLite's laxer parser reads (a count larger than the items, a
 * MULTIPOINT of polygons, a box with min > max): a site is then an error, never a wrong shape.
 * 1 if read. */
static int read_or_decline(sqlite3_stmt *asbin, const unsigned char *b, size_t n) {
    unsigned char *c = malloc(n ? n : 1), *out = malloc(n > 39 ? n - 39 : 1);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(out);
    memcpy(c, b, n);
    size_t len = koi_blob_wkb(c, n, out);
    if (len) { /* (only then: on some damaged blobs SpatiaLite's own reading never ends) */
        sqlite3_reset(asbin);
        sqlite3_bind_blob(asbin, 1, c, (int)n, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(asbin), SQLITE_ROW);
        const unsigned char *w = sqlite3_column_blob(asbin, 0);
        size_t nw = (size_t)sqlite3_column_bytes(asbin, 0);
        ck_assert_ptr_nonnull(w);
        ck_assert_uint_eq(len, nw);
        ck_assert_int_eq(memcmp(out, w, nw), 0);
    }
    sqlite3_reset(asbin);
    free(out);
    free(c);
    return len != 0;
}

/* Every cut of a collection's blob is declined; every single-bit change is declined or read
 * as SpatiaLite reads it. */
START_TEST(test_blob_damaged_blobs_are_declined_or_sound) {
    fixture f;
    fixture_open(&f);
    size_t n = 0;
    unsigned char *b = blob_of(&f,
                               "GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)),"
                               " ((5 5, 6 5, 6 6, 5 5)))', 4326)",
                               &n);
    sqlite3_stmt *asbin = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(f.s->db, "SELECT AsBinary(?)", -1, &asbin, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(read_or_decline(asbin, b, n), 1);
    for (size_t cut = 0; cut < n; cut++)
        ck_assert_int_eq(read_or_decline(asbin, b, cut), 0);
    size_t read = 0, declined = 0;
    for (size_t at = 0; at < n; at++)
        for (int bit = 0; bit < 8; bit++) {
            b[at] ^= (unsigned char)(1u << bit);
            if (read_or_decline(asbin, b, n))
                read++;
            else
                declined++;
            b[at] ^= (unsigned char)(1u << bit);
        }
    ck_assert_uint_gt(read, 8 * 8 * 8);  /* coordinate bits: still a geometry */
    ck_assert_uint_gt(declined, 8 * 20); /* header, counts, markers, classes */
    sqlite3_finalize(asbin);
    free(b);
    fixture_close(&f);
}
END_TEST

/* The single-ring polygon blob b (n bytes) in the other byte order: every number reversed. */
static void swap_polygon_blob(unsigned char *b, size_t n) {
    size_t at[] = {2, 39, 43, 47}; /* srid, class, rings, points: 4 bytes */
    for (size_t k = 0; k < 4; k++)
        for (int j = 0; j < 2; j++) {
            unsigned char t = b[at[k] + (size_t)j];
            b[at[k] + (size_t)j] = b[at[k] + 3 - (size_t)j], b[at[k] + 3 - (size_t)j] = t;
        }
    for (size_t o = 6; o + 8 <= n - 1; o += 8) {
        if (o == 38) o = 51; /* past the header's box to the coordinates */
        for (int j = 0; j < 4; j++) {
            unsigned char t = b[o + (size_t)j];
            b[o + (size_t)j] = b[o + 7 - (size_t)j], b[o + 7 - (size_t)j] = t;
        }
    }
    b[1] ^= 1;
}

/* A coordinate that is not finite (NaN, either infinity) anywhere in a polygon or a point, in
 * either byte order, makes the blob unreadable: ring tests would read a NaN edge as no
 * crossing and box checks would pass over it (adversary adv25), so the site is damage. */
START_TEST(test_blob_declines_every_non_finite_coordinate) {
    fixture f;
    fixture_open(&f);
    const char *exprs[] = {"GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))', 4326)",
                           "GeomFromText('POINT(1 2)', 4326)"};
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t e = 0; e < 2; e++)
        for (int order = 0; order < (e == 0 ? 2 : 1); order++) { /* (a polygon swapped) */
            size_t n = 0;
            unsigned char *b = blob_of(&f, exprs[e], &n), *out = malloc(n);
            ck_assert_ptr_nonnull(out);
            ck_assert_int_eq(b[1], 1); /* SpatiaLite writes the host's order */
            if (order) swap_polygon_blob(b, n);
            size_t first = e == 0 ? 51 : 43, values = (n - 1 - first) / 8;
            ck_assert_uint_eq(values, e == 0 ? 10 : 2);
            ck_assert_uint_gt(koi_blob_wkb(b, n, out), 0);
            for (size_t v = 0; v < values; v++)
                for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                    unsigned char keep[8], *at = b + first + 8 * v;
                    uint64_t u;
                    memcpy(keep, at, 8);
                    memcpy(&u, &bad[k], 8);
                    for (int j = 0; j < 8; j++) /* written in the blob's order */
                        at[j] = (unsigned char)(u >> 8 * (b[1] == 1 ? j : 7 - j));
                    ck_assert_msg(koi_blob_wkb(b, n, out) == 0, "%s, order %d: value %zu = %g read",
                                  exprs[e], order, v, bad[k]);
                    memcpy(at, keep, 8);
                }
            ck_assert_uint_gt(koi_blob_wkb(b, n, out), 0);
            free(out);
            free(b);
        }
    fixture_close(&f);
}
END_TEST

int main(void) {
    const TTest *tests[] = {
        test_blob_real_sites_match_asbinary, test_blob_every_2d_class_matches_asbinary,
        test_blob_declines_other_encodings, test_blob_damaged_blobs_are_declined_or_sound,
        test_blob_declines_every_non_finite_coordinate};
    return unit_run(&(unit_suite){.name = "splite_blob", .timeout_s = 120, .global_init = 1}, tests,
                    UNIT_COUNT(tests));
}
