/* ko_context: creation, messages, status strings. */
#include <stdlib.h>
#include <string.h>

#include <geodesic.h>
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "geo/geo.h"
#include "keepout/keepout.h"
#include "check_runner.h"

START_TEST(test_context_create_destroy) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_str_eq(ko_errmsg(ctx), "");
    ko_context_destroy(ctx);
    ko_context_destroy(NULL); /* harmless */
}
END_TEST

START_TEST(test_context_create_rejects_null) {
    ck_assert_int_eq(ko_context_create(NULL), KO_ERR_ARG);
}
END_TEST

START_TEST(test_context_status_str_covers_every_code) {
    for (int s = KO_OK; s <= KO_ERR_INTERNAL; s++) {
        const char *t = ko_status_str((ko_status)s);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_ne(t, "unknown status");
    }
    ck_assert_str_eq(ko_status_str((ko_status)999), "unknown status");
}
END_TEST

START_TEST(test_context_errmsg_names_field) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    ko_camera cam;
    ko_pose pose;
    ko_camera_init(&cam);
    ko_pose_init(&pose);
    ck_assert_int_eq(ko_pose_validate(ctx, &cam, &pose), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "lat"));
    ko_context_destroy(ctx);
}
END_TEST

START_TEST(test_context_version) {
    ck_assert_ptr_nonnull(ko_version());
    ck_assert_int_gt((int)strlen(ko_version()), 0);
}
END_TEST

/* The series for the local frame against PROJ's geodesic (geod_direct, the exact solution):
 * within 2 km and 70 deg of latitude, under 0.6 mm anywhere; beyond, the geodesic itself. */
START_TEST(test_context_aeqd_series_matches_the_geodesic) {
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    struct geod_geodesic g;
    geod_init(&g, 6378137.0, 1 / 298.257223563);
    const double d2r = 3.14159265358979323846 / 180.0;
    double worst = 0, worst_1km_45 = 0;
    for (int la = -70; la <= 70; la += 5)
        for (int r = 50; r <= 2000; r += 50)
            for (int az = 0; az < 360; az += 7) {
                koi_aeqd f;
                koi_aeqd_init(&f, ctx, la + 0.25, 8.5);
                double e = r * sin(az * d2r), n = r * cos(az * d2r), lat, lon, glat, glon;
                koi_aeqd_to_wgs84(&f, e, n, &lat, &lon);
                geod_direct(&g, la + 0.25, 8.5, az, r, &glat, &glon, NULL);
                double err = hypot((lon - glon) * d2r * 6378137.0 * cos(glat * d2r),
                                   (lat - glat) * d2r * 6378137.0);
                worst = fmax(worst, err);
                if (r <= 1000 && abs(la) <= 45) worst_1km_45 = fmax(worst_1km_45, err);
            }
    ck_assert_msg(worst < 0.6e-3, "worst %.3g m", worst);
    ck_assert_msg(worst_1km_45 < 20e-6, "worst within 1 km, 45 deg: %.3g m", worst_1km_45);
    /* outside the series' domain: exactly the geodesic */
    const double far[][3] = {{47.0, 2500.0, 30.0}, {80.0, 100.0, 200.0}, {-75.0, 10.0, 10.0}};
    for (int i = 0; i < 3; i++) {
        koi_aeqd f;
        koi_aeqd_init(&f, ctx, far[i][0], 8.5);
        double lat, lon, glat, glon;
        koi_aeqd_to_wgs84(&f, far[i][1], far[i][2], &lat, &lon);
        koi_local_to_wgs84(ctx, far[i][0], 8.5, far[i][1], far[i][2], &glat, &glon);
        ck_assert(lat == glat && lon == glon);
    }
    ko_context_destroy(ctx);
}
END_TEST

/* koi_big_grow keeps every byte written as a block grows from nothing through the sizes an
 * index build takes (past 2 MiB pages, by doubling, and by odd sizes that are no multiple of a
 * page), and back down; each size's bytes are written to the end, so a block shorter than asked
 * faults under any build. */
START_TEST(test_context_big_blocks_keep_their_bytes_as_they_grow) {
    const size_t sizes[] = {0,    1, 4095, 4097, 1 << 20, (3 << 20) + 5, 64 << 20, (100 << 20) + 1,
                            12345};
    unsigned char *p = NULL;
    size_t had = 0, filled = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *q = koi_big_grow(p, had, n);
        ck_assert_ptr_nonnull(q);
        size_t keep = filled < n ? filled : n;
        for (size_t i = 0; i < keep; i += 4093) /* a prime stride: every page, odd offsets */
            ck_assert_uint_eq(q[i], (unsigned char)(i * 7 + i / 251));
        if (keep)
            ck_assert_uint_eq(q[keep - 1], (unsigned char)((keep - 1) * 7 + (keep - 1) / 251));
        for (size_t i = keep; i < n; i++)
            q[i] = (unsigned char)(i * 7 + i / 251);
        p = q, had = n, filled = n;
    }
    koi_big_free(p, had);
    koi_big_free(NULL, 0);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_context_create_destroy,
                            test_context_create_rejects_null,
                            test_context_status_str_covers_every_code,
                            test_context_errmsg_names_field,
                            test_context_version,
                            test_context_aeqd_series_matches_the_geodesic,
                            test_context_big_blocks_keep_their_bytes_as_they_grow};
    return unit_run(&(unit_suite){.name = "context"}, tests, UNIT_COUNT(tests));
}
