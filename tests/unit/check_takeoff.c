/* The take-off point readers give each shot (pose.takeoff_lat/lon): the first frame of its
 * flight. Expected positions are read from the files themselves (quoted in each test). */
#include <cpl_vsi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "check_runner.h"

#define DATA KEEPOUT_TEST_DATA

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

static const char *extra(const ko_shot *s, const char *key) {
    for (size_t i = 0; i < s->n_extra; i++)
        if (!strcmp(s->extra_keys[i], key)) return s->extra_values[i];
    return NULL;
}

static ko_reader *open_ok(const char *path, const ko_reader_options *o) {
    ko_reader *r = NULL;
    ck_assert_msg(ko_reader_open(ctx, path, o, &r) == KO_OK, "%s: %s", path, ko_errmsg(ctx));
    return r;
}

/* p4_rtk.SRT frame 1: "GPS (-58.851745, -34.237922, 15), HOME (-58.847509, -34.232707,
 * -57.98m), D 698.70m, H 85.80m": the recording began in the air, 699 m from home, so the
 * take-off is the HOME point (lon, lat like its GPS), not the first fix. */
START_TEST(test_takeoff_srt_is_the_home_point) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    o.every_n = 5; /* thinning drops frames, not the flight's start */
    ko_reader *r = open_ok(DATA "/srt/p4_rtk.SRT", &o);
    ko_shot s;
    long n = 0;
    while (ko_reader_next(r, &s) == KO_OK) {
        n++;
        ck_assert_double_eq_tol(s.pose.takeoff_lat, -34.232707, 1e-9);
        ck_assert_double_eq_tol(s.pose.takeoff_lon, -58.847509, 1e-9);
        const char *from = extra(&s, "takeoff_from");
        ck_assert_msg(from && !strcmp(from, "HOME point of the SRT (frame 1)"), "%s",
                      from ? from : "(none)");
    }
    ck_assert_int_eq(n, 11); /* 55 frames, every 5th */
    ko_reader_close(r);
    /* CallMarcus_samples_avata2_clip.SRT: "GPS(39.906217,116.391305,69.800) BAROMETER(91.2)
     * HOME(39.906206,116.391400)": lat, lon order, as its GPS */
    r = open_ok(DATA "/srt/CallMarcus_samples_avata2_clip.SRT", &o);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_double_eq_tol(s.pose.takeoff_lat, 39.906206, 1e-9);
    ck_assert_double_eq_tol(s.pose.takeoff_lon, 116.391400, 1e-9);
    ko_reader_close(r);
    /* mavic_air.SRT has no GPS at all: no take-off */
    r = open_ok(DATA "/srt/mavic_air.SRT", &o);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert(isnan(s.pose.takeoff_lat) && isnan(s.pose.takeoff_lon));
    ck_assert_ptr_null(extra(&s, "takeoff_from"));
    ko_reader_close(r);
}
END_TEST

/* A HOME of (0, 0) (no fix yet) or 5,000 km from the aircraft is not believed: the first GPS
 * fix stands in, and the record says so. */
START_TEST(test_takeoff_srt_ignores_implausible_home) {
    const char *srt =
        "1\n00:00:00,000 --> 00:00:01,000\n"
        "GPS (8.2090, 47.4692, 18), HOME (0.0, 0.0, 0m), D 0.00m, H 0.00m\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\n"
        "GPS (8.2095, 47.4699, 18), HOME (-58.8475, -34.2327, 0m), D 80.00m, H 45.60m\n\n";
    VSILFILE *fp = VSIFileFromMemBuffer("/vsimem/home.SRT", (GByte *)srt, strlen(srt), FALSE);
    VSIFCloseL(fp);
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    ko_reader *r = open_ok("/vsimem/home.SRT", &o);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_double_eq_tol(s.pose.takeoff_lat, 47.4692, 1e-9);
    ck_assert_double_eq_tol(s.pose.takeoff_lon, 8.2090, 1e-9);
    ck_assert_str_eq(extra(&s, "takeoff_from"),
                     "first GPS fix of the SRT: frame 1, 0.0 m above take-off");
    ko_reader_close(r);
    VSIUnlink("/vsimem/home.SRT");
}
END_TEST

/* Frames before the first fix get no take-off of their own; the first fix is the take-off even
 * when thinning skips it. */
START_TEST(test_takeoff_srt_skips_frames_without_a_fix) {
    const char *srt =
        "1\n00:00:00,000 --> 00:00:01,000\n"
        "F/3.2, SS 160, ISO 100, EV 0, GPS (0.0, 0.0, 0), D 0.00m, H 0.00m\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\n"
        "F/3.2, SS 160, ISO 100, EV 0, GPS (8.2090, 47.4692, 18), D 0.00m, H 0.10m\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\n"
        "F/3.2, SS 160, ISO 100, EV 0, GPS (8.2095, 47.4699, 18), D 80.00m, H 45.60m\n\n";
    VSILFILE *fp = VSIFileFromMemBuffer("/vsimem/fix.SRT", (GByte *)srt, strlen(srt), FALSE);
    VSIFCloseL(fp);
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    o.every_n = 2; /* frames 1 and 3 */
    ko_reader *r = open_ok("/vsimem/fix.SRT", &o);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_nonnull(s.reason); /* (0, 0): no fix */
    ck_assert(isnan(s.pose.takeoff_lat));
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_str_eq(s.id, "fix.SRT#3");
    ck_assert_double_eq_tol(s.pose.takeoff_lat, 47.4692, 1e-9);
    ck_assert_double_eq_tol(s.pose.takeoff_lon, 8.2090, 1e-9);
    ck_assert_str_eq(extra(&s, "takeoff_from"),
                     "first GPS fix of the SRT: frame 2, 0.1 m above take-off");
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
    VSIUnlink("/vsimem/fix.SRT");
}
END_TEST

/* brighton_beach.csv row 1: "DJI_0018.JPG,...,46.8426070833333,-91.9945598888889,39.80,...":
 * every row of the file takes off there. */
START_TEST(test_takeoff_csv_first_valid_row) {
    ko_reader *r = open_ok(DATA "/telemetry/brighton_beach.csv", NULL);
    ko_shot s;
    int n = 0;
    while (ko_reader_next(r, &s) == KO_OK) {
        n++;
        ck_assert_double_eq_tol(s.pose.takeoff_lat, 46.8426070833333, 1e-12);
        ck_assert_double_eq_tol(s.pose.takeoff_lon, -91.9945598888889, 1e-12);
        ck_assert_str_eq(extra(&s, "takeoff_from"), "first valid row of the CSV: row 1");
    }
    ck_assert_int_eq(n, 6);
    ko_reader_close(r);
}
END_TEST

/* A first row without a position is not the take-off; rows with takeoff columns use theirs,
 * and half of a take-off point is the row's reason. */
START_TEST(test_takeoff_csv_columns_and_invalid_first_row) {
    const char *csv =
        "id,lat,lon,height,yaw,pitch,roll,focal35_mm,takeoff_lat,takeoff_lon\n"
        "a,,8.2,80,0,-90,0,24,,\n"
        "b,47.1,8.2,80,0,-90,0,24,,\n"
        "c,47.2,8.3,80,0,-90,0,24,,\n"
        "d,47.2,8.3,80,0,-90,0,24,47.0,8.1\n"
        "e,47.2,8.3,80,0,-90,0,24,47.0,\n";
    VSILFILE *fp = VSIFileFromMemBuffer("/vsimem/tk.csv", (GByte *)csv, strlen(csv), FALSE);
    VSIFCloseL(fp);
    ko_reader *r = open_ok("/vsimem/tk.csv", NULL);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK); /* a: no lat */
    ck_assert_ptr_nonnull(s.reason);
    ck_assert(isnan(s.pose.takeoff_lat));
    for (int i = 0; i < 2; i++) { /* b, c: b is the first valid row */
        ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
        ck_assert_ptr_null(s.reason);
        ck_assert_double_eq(s.pose.takeoff_lat, 47.1);
        ck_assert_double_eq(s.pose.takeoff_lon, 8.2);
        ck_assert_str_eq(extra(&s, "takeoff_from"), "first valid row of the CSV: row 2");
    }
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK); /* d: its own columns */
    ck_assert_ptr_null(s.reason);
    ck_assert_double_eq(s.pose.takeoff_lat, 47.0);
    ck_assert_double_eq(s.pose.takeoff_lon, 8.1);
    ck_assert_str_eq(extra(&s, "takeoff_from"), "takeoff_lat/takeoff_lon columns");
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK); /* e: half a point */
    ck_assert_msg(s.reason && strstr(s.reason, "row 5") && strstr(s.reason, "takeoff_lat"), "%s",
                  s.reason ? s.reason : "(none)");
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
    VSIUnlink("/vsimem/tk.csv");
}
END_TEST

/* exiftool -n: DJI_0018 (16:31:59), DJI_0021 (16:32:20), DJI_0023 (16:32:34), all DJI FC300S:
 * gaps of 21 s and 14 s, one flight whose first photo is DJI_0018 at 46.8426070833333 N,
 * -91.9945598888889 E. A photo opened on its own has no flight. */
START_TEST(test_takeoff_directory_of_one_flight) {
    ko_reader *r = open_ok(DATA "/images", NULL);
    ko_shot s;
    int n = 0;
    while (ko_reader_next(r, &s) == KO_OK) {
        n++;
        ck_assert_double_eq_tol(s.pose.takeoff_lat, 46.8426070833333, 1e-9);
        ck_assert_double_eq_tol(s.pose.takeoff_lon, -91.9945598888889, 1e-9);
        ck_assert_str_eq(extra(&s, "takeoff_from"), "first photo of the flight: DJI_0018.JPG");
        ck_assert_ptr_nonnull(extra(&s, "camera_source")); /* the photo's own pairs are kept */
    }
    ck_assert_int_eq(n, 3);
    ko_reader_close(r);
    r = open_ok(DATA "/images/DJI_0021.JPG", NULL);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_null(s.reason);
    ck_assert(isnan(s.pose.takeoff_lat) && isnan(s.pose.takeoff_lon));
    ko_reader_close(r);
}
END_TEST

/* Copies a photo into /vsimem/, replacing its EXIF date-times (DateTime, DateTimeOriginal,
 * DateTimeDigitized: same length) from `from` to `to` (from NULL: a plain copy). */
static void copy_photo(const char *src, const char *dst, const char *from, const char *to) {
    VSILFILE *in = VSIFOpenL(src, "rb");
    ck_assert_ptr_nonnull(in);
    VSIFSeekL(in, 0, SEEK_END);
    size_t n = (size_t)VSIFTellL(in);
    VSIFSeekL(in, 0, SEEK_SET);
    char *buf = VSIMalloc(n); /* the /vsimem/ file takes it and frees it with VSIFree */
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(VSIFReadL(buf, 1, n, in), n);
    VSIFCloseL(in);
    if (from) {
        size_t m = strlen(from), hits = 0;
        ck_assert_uint_eq(strlen(to), m);
        for (size_t i = 0; i + m <= n; i++)
            if (!memcmp(buf + i, from, m)) memcpy(buf + i, to, m), hits++;
        ck_assert_uint_eq(hits, 3);
    }
    VSILFILE *out = VSIFileFromMemBuffer(dst, (GByte *)buf, n, TRUE);
    VSIFCloseL(out);
}

/* DJI_0021 moved 10 minutes later starts a flight of its own; DJI_0023, back at 16:32:34, is
 * earlier than it and starts another: each is its own take-off. */
START_TEST(test_takeoff_directory_splits_flights_by_time) {
    VSIMkdir("/vsimem/flights", 0755);
    copy_photo(DATA "/images/DJI_0018.JPG", "/vsimem/flights/a.jpg", NULL, NULL);
    copy_photo(DATA "/images/DJI_0021.JPG", "/vsimem/flights/b.jpg", "2016:06:23 16:32:20",
               "2016:06:23 16:42:20");
    copy_photo(DATA "/images/DJI_0023.JPG", "/vsimem/flights/c.jpg", NULL, NULL);
    /* exiftool -n GPSLatitude GPSLongitude of DJI_0018, DJI_0021, DJI_0023 */
    const double want[3][2] = {{46.8426070833333, -91.9945598888889},
                               {46.8428651388889, -91.9941766388889},
                               {46.8430380555556, -91.9939230555556}};
    ko_reader *r = open_ok("/vsimem/flights", NULL);
    ko_shot s;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
        ck_assert_double_eq_tol(s.pose.lat, want[i][0], 1e-9);
        ck_assert_double_eq_tol(s.pose.takeoff_lat, want[i][0], 1e-9);
        ck_assert_double_eq_tol(s.pose.takeoff_lon, want[i][1], 1e-9);
    }
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
    VSIRmdirRecursive("/vsimem/flights");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_takeoff_srt_is_the_home_point,
                            test_takeoff_srt_ignores_implausible_home,
                            test_takeoff_srt_skips_frames_without_a_fix,
                            test_takeoff_csv_first_valid_row,
                            test_takeoff_csv_columns_and_invalid_first_row,
                            test_takeoff_directory_of_one_flight,
                            test_takeoff_directory_splits_flights_by_time};
    return unit_run(&(unit_suite){.name = "takeoff", .setup = setup, .teardown = teardown}, tests,
                    UNIT_COUNT(tests));
}
