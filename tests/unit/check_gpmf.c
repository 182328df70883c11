/* GoPro GPMF telemetry through the telemetry reader (meta/gpmf.c). The Karma files are real
 * (tests/data/gopro, README there); the expected values are decoded by hand from their bytes
 * (`xxd karma.raw`, gpmf-parser's README for the KLV layout) and agree with ExifTool 12.57's
 * `exiftool -ee -n` GPSLatitude/GPSLongitude of the MP4. GPS5/GPS9 payloads are built here,
 * byte by byte, as the README lays them out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>

#include "check_runner.h"
#include "keepout/keepout.h"
#include "meta/meta.h"

#define GOPRO KEEPOUT_TEST_FIXTURES "/gopro/"

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

static ko_reader *open_path(const char *path, int nadir, double focal35) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = nadir;
    o.focal35_mm = focal35;
    ko_reader *r = NULL;
    ck_assert_msg(ko_reader_open(ctx, path, &o, &r) == KO_OK, "%s", ko_errmsg(ctx));
    return r;
}

/* karma.raw, the first GLPI record ("Position", TYPE LllllsssS, SCAL 1000, 1e7, 1e7, 1000,
 * 1000, 100, 100, 100, 100) at offset 0x14a0: 00023a97 13be87b8 ba10b334 00003d5f 000007d3 ...
 * time 146071 ms; lat 0x13be87b8 = 331253688 / 1e7 = 33.1253688; lon 0xba10b334 =
 * -1173310668 / 1e7 = -117.3310668; alt 0x3d5f = 15711 mm; relative_alt 0x7d3 = 2003 mm. */
START_TEST(test_gpmf_karma_raw_position_and_height) {
    ck_assert(ko_input_is_series(GOPRO "karma.raw"));
    ko_reader *r = open_path(GOPRO "karma.raw", 1, 24);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(!s.reason, "%s", s.reason);
    ck_assert_double_eq_tol(s.pose.lat, 33.1253688, 1e-9);
    ck_assert_double_eq_tol(s.pose.lon, -117.3310668, 1e-9);
    ck_assert_double_eq_tol(s.pose.height_m, 2.003, 1e-9);
    ck_assert_double_eq_tol(s.pose.alt_msl_m, 15.711, 1e-9);
    ck_assert_double_eq(s.pose.pitch_deg, -90.0);
    /* assumed nadir, headed along the airframe's yaw: the nearest ATTD record (146065 ms) has
     * yaw float 0xbefe2200 = -0.49635315 rad = -28.4389 deg = 331.5611 deg; the GLPI record's
     * own heading (its last field, 0x8184 = 33156 / 100) says 331.56 */
    ck_assert_double_eq_tol(s.pose.yaw_deg, 331.5610, 1e-3);
    ck_assert_double_ne(s.camera.sensor_w_mm, s.camera.sensor_h_mm);
    ck_assert_str_eq(s.id, "karma.raw#1");
    ck_assert_ptr_null(extra(&s, "video_time_s")); /* a raw stream has no video clock */
    ck_assert_ptr_nonnull(strstr(extra(&s, "telemetry"), "GLPI"));
    int n = 1;
    while (ko_reader_next(r, &s) == KO_OK)
        n++;
    ck_assert_int_eq(n, 4); /* GLPI '?' 28 4 */
    ko_reader_close(r);
}
END_TEST

/* The Karma's ATTD is the airframe's attitude: without assume_nadir no camera attitude; without
 * a focal length no camera. */
START_TEST(test_gpmf_karma_airframe_attitude_is_not_the_camera) {
    ko_reader *r = open_path(GOPRO "karma.raw", 0, 24);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_nonnull(s.reason);
    ck_assert_msg(strstr(s.reason, "airframe") && strstr(s.reason, "ATTD"), "%s", s.reason);
    ko_reader_close(r);
    r = open_path(GOPRO "karma.raw", 1, 0);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "no camera"), "%s", s.reason);
    ko_reader_close(r);
}
END_TEST

/* karma_gpmf.mp4: the 13 GPMF payloads of karma.mp4 (stts: 13 x 1001 at timescale 1000), GLPI
 * counts 4 4 3 4 4 4 4 4 4 4 4 4 0 = 47 samples (ExifTool: 47 GPS samples). The 6th sample is
 * the 2nd of payload 1: video time 1.001 + 1.001 / 4 = 1.25125 s; payload 1's first GLPI
 * (at 0x335c in the file: 13be8874 = 33.1253876, ba10b2bb, 0000076f = 1903 mm): lat 33.1253876, lon
 * -117.3310789, relative_alt 1.903. */
START_TEST(test_gpmf_karma_mp4_track_and_times) {
    ko_reader *r = open_path(GOPRO "karma_gpmf.mp4", 1, 24);
    ko_shot s;
    int n = 0;
    while (ko_reader_next(r, &s) == KO_OK) {
        n++;
        ck_assert_msg(!s.reason, "%d: %s", n, s.reason);
        if (n == 5) {
            ck_assert_double_eq_tol(s.pose.lat, 33.1253876, 1e-9);
            ck_assert_double_eq_tol(s.pose.lon, -117.3310789, 1e-9);
            ck_assert_double_eq_tol(s.pose.height_m, 1.903, 1e-9);
            ck_assert_str_eq(extra(&s, "video_time_s"), "1.001");
        }
        if (n == 6) ck_assert_str_eq(extra(&s, "video_time_s"), "1.251");
    }
    ck_assert_int_eq(n, 47);
    ko_reader_close(r);
}
END_TEST

/* Payload builder: KLV records, big-endian, values padded to 4 bytes. */
typedef struct buf {
    uint8_t b[1024];
    size_t n;
} buf;

static size_t put(buf *o, const char *key, char type, int ss, int rep, const void *v) {
    size_t at = o->n, len = (size_t)ss * (size_t)rep;
    memcpy(o->b + at, key, 4);
    o->b[at + 4] = (uint8_t)type;
    o->b[at + 5] = (uint8_t)ss;
    o->b[at + 6] = (uint8_t)(rep >> 8);
    o->b[at + 7] = (uint8_t)rep;
    if (v) memcpy(o->b + at + 8, v, len);
    if (v) memset(o->b + at + 8 + len, 0, ((len + 3) & ~(size_t)3) - len);
    o->n += 8 + (v ? (len + 3) & ~(size_t)3 : 0);
    return at;
}

/* Closes a nest opened at `at`: its length as 4-byte units x repeat. */
static void close_nest(buf *o, size_t at) {
    size_t len = o->n - at - 8;
    o->b[at + 5] = 4;
    o->b[at + 6] = (uint8_t)(len / 4 >> 8);
    o->b[at + 7] = (uint8_t)(len / 4);
}

static void be32(uint8_t *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24), p[1] = (uint8_t)(u >> 16), p[2] = (uint8_t)(u >> 8),
    p[3] = (uint8_t)u;
}

/* A HERO5-style camera payload: GPSF, GPSU, GPSP, SCAL, GPS5 with two samples
 * 47.1234567 N 8.7654321 E 412.345 m, then 47.1234600 N 8.7654300 E. */
static void gps5_payload(buf *o, uint32_t gpsf, uint16_t gpsp) {
    memset(o, 0, sizeof *o);
    size_t devc = put(o, "DEVC", 0, 4, 0, NULL);
    put(o, "DVNM", 'c', 1, 6, "Camera");
    size_t strm = put(o, "STRM", 0, 4, 0, NULL);
    uint8_t f[4], p[2] = {(uint8_t)(gpsp >> 8), (uint8_t)gpsp};
    be32(f, (int32_t)gpsf);
    put(o, "GPSF", 'L', 4, 1, f);
    put(o, "GPSU", 'U', 16, 1, "170424125935.250");
    put(o, "GPSP", 'S', 2, 1, p);
    uint8_t sc[20], g[40];
    const int32_t scal[5] = {10000000, 10000000, 1000, 1000, 100};
    const int32_t v[10] = {471234567, 87654321, 412345, 1500, 160,
                           471234600, 87654300, 412300, 1400, 150};
    for (int i = 0; i < 5; i++)
        be32(sc + 4 * i, scal[i]);
    for (int i = 0; i < 10; i++)
        be32(g + 4 * i, v[i]);
    put(o, "SCAL", 'l', 4, 5, sc);
    put(o, "GPS5", 'l', 20, 2, g);
    close_nest(o, strm);
    close_nest(o, devc);
}

static ko_reader *open_bytes(const buf *o, const char *name, int nadir) {
    char path[96];
    snprintf(path, sizeof path, "/vsimem/check_gpmf/%s", name);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)o->b, o->n, FALSE);
    ck_assert_ptr_nonnull(f);
    VSIFCloseL(f);
    return open_path(path, nadir, 24);
}

/* GPS5: position decoded with the SCAL divisors; GPSU 170424125935.250 the first sample's
 * time; no height above take-off (GPS5's altitude is above sea level): unknown, saying so. */
START_TEST(test_gpmf_gps5_position_without_height_is_unknown) {
    buf o;
    gps5_payload(&o, 3, 150);
    ko_reader *r = open_bytes(&o, "gps5.bin", 1);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_double_eq_tol(s.pose.lat, 47.1234567, 1e-9);
    ck_assert_double_eq_tol(s.pose.lon, 8.7654321, 1e-9);
    /* assumed nadir with no heading at all: the footprint of every heading (square camera) */
    ck_assert_double_eq_tol(s.camera.sensor_w_mm, s.camera.sensor_h_mm, 1e-12);
    ck_assert_double_eq_tol(s.pose.alt_msl_m, 412.345, 1e-9);
    ck_assert_str_eq(s.time, "2017-04-24T12:59:35.250Z");
    ck_assert_str_eq(extra(&s, "gps_dop"), "1.50");
    ck_assert_msg(s.reason && strstr(s.reason, "no height above take-off"), "%s", s.reason);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_double_eq_tol(s.pose.lat, 47.12346, 1e-9);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
}
END_TEST

/* GPSF 0 (no lock) and GPSP 900 (DOP 9: the README calls under 500 good) are not positions. */
START_TEST(test_gpmf_gps5_no_fix_or_poor_precision_is_unknown) {
    buf o;
    gps5_payload(&o, 0, 150);
    ko_reader *r = open_bytes(&o, "nofix.bin", 1);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "no fix"), "%s", s.reason);
    ko_reader_close(r);
    gps5_payload(&o, 3, 900);
    r = open_bytes(&o, "dop.bin", 1);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "precision too poor"), "%s", s.reason);
    ko_reader_close(r);
}
END_TEST

/* GPS9 (HERO11 on): TYPE "lllllllSS", SCAL 1e7 1e7 1000 1000 100 1 1000 100 1; days since
 * 2000 = 8500 and 45296500 ms = 2023-04-10T12:34:56.500 (Python: datetime(2000, 1, 1) +
 * timedelta(days=8500, seconds=45296.5)); DOP 125 / 100; fix 3. */
START_TEST(test_gpmf_gps9_time_dop_fix) {
    buf o;
    memset(&o, 0, sizeof o);
    size_t devc = put(&o, "DEVC", 0, 4, 0, NULL);
    size_t strm = put(&o, "STRM", 0, 4, 0, NULL);
    uint8_t sc[36], g[32];
    const int32_t scal[9] = {10000000, 10000000, 1000, 1000, 100, 1, 1000, 100, 1};
    for (int i = 0; i < 9; i++)
        be32(sc + 4 * i, scal[i]);
    const int32_t v[7] = {-335000000, 1512000000, 25000, 0, 0, 8500, 45296500};
    for (int i = 0; i < 7; i++)
        be32(g + 4 * i, v[i]);
    g[28] = 0, g[29] = 125, g[30] = 0, g[31] = 3;
    put(&o, "TYPE", 'c', 1, 9, "lllllllSS");
    put(&o, "SCAL", 'l', 4, 9, sc);
    put(&o, "GPS9", '?', 32, 1, g);
    close_nest(&o, strm);
    close_nest(&o, devc);
    ko_reader *r = open_bytes(&o, "gps9.bin", 1);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_double_eq_tol(s.pose.lat, -33.5, 1e-9);
    ck_assert_double_eq_tol(s.pose.lon, 151.2, 1e-9);
    ck_assert_str_eq(s.time, "2023-04-10T12:34:56.500Z");
    ck_assert_str_eq(extra(&s, "gps_dop"), "1.25");
    ck_assert_msg(s.reason && strstr(s.reason, "no height above take-off"), "%s", s.reason);
    ko_reader_close(r);
}
END_TEST

/* A struct whose TYPE does not add up to its size, a truncated record, and an MP4 without a
 * gpmd track: the first two give no position (one unknown shot saying so), the last is
 * refused. */
START_TEST(test_gpmf_damaged_inputs) {
    buf o;
    gps5_payload(&o, 3, 150);
    o.b[o.n - 48 + 5] = 24; /* GPS5 struct size 24, not 5 x 4 */
    ko_reader *r = open_bytes(&o, "bad_size.bin", 1);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "no GPS position"), "%s", s.reason);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
    gps5_payload(&o, 3, 150);
    o.n -= 20; /* cut inside GPS5 */
    r = open_bytes(&o, "cut.bin", 1);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "no GPS position"), "%s", s.reason);
    ko_reader_close(r);
    static const uint8_t mp4[] = {0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
                                  0, 0, 0, 0,  0,   0,   0,   8,   'm', 'o', 'o', 'v'};
    char path[] = "/vsimem/check_gpmf/empty.mp4";
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)mp4, sizeof mp4, FALSE);
    VSIFCloseL(f);
    ko_reader *rr = NULL;
    ck_assert_int_eq(ko_reader_open(ctx, path, NULL, &rr), KO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "GPMF"));
}
END_TEST

/* A camera stream with no position record (a GoPro with its GPS off writes no GPS5): one
 * unknown shot saying so, never no shot at all (which a batch would pass over). */
START_TEST(test_gpmf_without_positions_is_one_unknown_shot) {
    buf o;
    memset(&o, 0, sizeof o);
    size_t devc = put(&o, "DEVC", 0, 4, 0, NULL);
    put(&o, "DVNM", 'c', 1, 6, "Camera");
    size_t strm = put(&o, "STRM", 0, 4, 0, NULL);
    uint8_t acc[6] = {0x10, 0x96, 0xfe, 0x9c, 0xf9, 0xf5};
    put(&o, "ACCL", 's', 6, 1, acc);
    close_nest(&o, strm);
    close_nest(&o, devc);
    ko_reader *r = open_bytes(&o, "nogps.bin", 1);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(s.reason && strstr(s.reason, "no GPS position"), "%s", s.reason);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
}
END_TEST

/* karma.raw's GPRI ("GPS RAW", JlllSSSSBB, struct 30, 4 records; SCAL ... 100 for eph): each
 * record says fix type 3 and 20 satellites (bytes 28 and 29), eph 0x0019 = HDOP 0.25 (bytes
 * 20-21). Fewer than 4 satellites cannot make a fix (as an SRT block's or a flight record's
 * count): the GLPI positions are no position; an eph of 600 is HDOP 6, over the DOP 5 the
 * camera's GPS is held to; 65535 is MAVLink's "not known" and says nothing. */
static ko_shot *karma_with_gpri(unsigned satellites, unsigned eph, ko_reader **r) {
    FILE *fp = fopen(GOPRO "karma.raw", "rb");
    ck_assert_ptr_nonnull(fp);
    static uint8_t b[1 << 16];
    size_t n = fread(b, 1, sizeof b, fp);
    fclose(fp);
    ck_assert(n > 0 && n < sizeof b);
    uint8_t *g = NULL;
    for (size_t i = 0; i + 8 < n && !g; i++)
        if (!memcmp(b + i, "GPRI?", 5)) g = b + i;
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g[5], 30);
    for (unsigned k = 0; k < 4; k++) {
        uint8_t *rec = g + 8 + 30 * k;
        ck_assert_uint_eq(rec[28], 3);
        ck_assert_uint_eq(rec[29], 20);
        rec[29] = (uint8_t)satellites;
        ck_assert_uint_eq(rec[20] << 8 | rec[21], 25); /* eph 0x0019 */
        rec[20] = (uint8_t)(eph >> 8), rec[21] = (uint8_t)eph;
    }
    VSILFILE *f = VSIFileFromMemBuffer("/vsimem/check_gpmf/gpri.raw", b, n, FALSE);
    VSIFCloseL(f);
    *r = open_path("/vsimem/check_gpmf/gpri.raw", 1, 24);
    static ko_shot s;
    ck_assert_int_eq(ko_reader_next(*r, &s), KO_OK);
    return &s;
}

START_TEST(test_gpmf_karma_gpri_satellites_and_hdop) {
    /* satellites, eph (HDOP x 100), and the reason expected (NULL: a fix) */
    static const struct {
        unsigned sats, eph;
        const char *why;
    } cases[] = {{20, 25, NULL},
                 {3, 25, "fewer than 4 satellites"},
                 {4, 25, NULL},
                 {20, 600, "dilution of precision 6.00"},
                 {20, 65535, NULL}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ko_reader *r;
        ko_shot *s = karma_with_gpri(cases[k].sats, cases[k].eph, &r);
        if (cases[k].why)
            ck_assert_msg(s->reason && strstr(s->reason, cases[k].why), "%s",
                          s->reason ? s->reason : "(no reason)");
        else
            ck_assert_msg(!s->reason, "%s", s->reason);
        ko_reader_close(r);
    }
    VSIUnlink("/vsimem/check_gpmf/gpri.raw");
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_gpmf_karma_raw_position_and_height,
                            test_gpmf_karma_airframe_attitude_is_not_the_camera,
                            test_gpmf_karma_mp4_track_and_times,
                            test_gpmf_gps5_position_without_height_is_unknown,
                            test_gpmf_gps5_no_fix_or_poor_precision_is_unknown,
                            test_gpmf_gps9_time_dop_fix,
                            test_gpmf_damaged_inputs,
                            test_gpmf_without_positions_is_one_unknown_shot,
                            test_gpmf_karma_gpri_satellites_and_hdop};
    return unit_run(&(unit_suite){.name = "gpmf",
                                  .timeout_s = 30,
                                  .setup = setup,
                                  .teardown = teardown,
                                  .global_init = 1},
                    tests, UNIT_COUNT(tests));
}
