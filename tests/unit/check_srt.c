/* DJI .SRT telemetry: every sample in data/srt, counted and decoded against its raw text.
 * Frame counts: `grep -c -- '-->' FILE` (mavic_2_style has no timing lines: its 468 blocks
 * were counted with `grep -c latitude`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "meta/meta.h"

#include <cpl_vsi.h>
#include "check_runner.h"

#define SRT_DIR KEEPOUT_TEST_DATA "/srt/"

static ko_context *ctx;

static void setup(void) {
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
}

static void teardown(void) {
    ko_context_destroy(ctx);
}

static const struct sample {
    const char *file;
    long frames;
    int footprint; /* with --assume-nadir --focal35 24 every frame gives a footprint */
} samples[] = {
    {"CallMarcus_examples_DJI_sample.SRT", 5, 1},
    {"CallMarcus_samples_Avata360_clip.SRT", 5, 1},
    {"CallMarcus_samples_Mini5PRO_clip.SRT", 5, 1},
    {"CallMarcus_samples_air3S_clip.SRT", 5, 0}, /* rel_alt 0.000: on the ground */
    {"CallMarcus_samples_air3_clip.SRT", 2, 1},
    {"CallMarcus_samples_avata2_clip.SRT", 2, 1},
    {"CallMarcus_samples_mini4pro_clip.SRT", 2, 1},
    {"CallMarcus_samples_neo2_clip.SRT", 5, 0}, /* rel_alt 0.000 */
    {"m2zoom_head60.SRT", 10, 0},               /* altitude only, no height above take-off */
    {"mavic_2_style.SRT", 468, 0},              /* no height at all */
    {"mavic_2pro_new_head60.SRT", 10, 0},       /* no height */
    {"mavic_air.SRT", 2, 0},                    /* no GPS */
    {"mavic_mini.SRT", 117, 1},
    {"mavic_pro.SRT", 468, 0}, /* starts on the ground (BAROMETER 0.x) */
    {"old_format.SRT", 468, 0},
    {"p4_rtk.SRT", 55, 1},
    {"p4p_sample.SRT", 5, 1},
    {"MAVIC3_head60.srt", 10, 0},       /* rel_alt -2.400: below take-off */
    {"air2s.srt", 17, 0},               /* altitude only */
    {"matrice_300.srt", 381, 0},        /* BAROMETER -0.1 .. 0.3 m at times */
    {"mavic_air2.srt", 25, 0},          /* altitude only */
    {"mix_p4rtk_mavic2pro.srt", 12, 0}, /* the Mavic 2 Pro part has no height */
};

typedef struct tally {
    long frames, ok, unknown;
} tally;

static tally run(const char *file, const ko_reader_options *o) {
    char path[512];
    snprintf(path, sizeof path, SRT_DIR "%s", file);
    ko_reader *r;
    ck_assert_msg(ko_reader_open(ctx, path, o, &r) == KO_OK, "%s: %s", file, ko_errmsg(ctx));
    tally t = {0, 0, 0};
    ko_shot s;
    ko_status st;
    while ((st = ko_reader_next(r, &s)) == KO_OK) {
        t.frames++;
        ko_footprint *fp = NULL;
        if (!s.reason && ko_footprint_compute(ctx, &s.camera, &s.pose, NULL, &fp) == KO_OK) {
            t.ok++;
        } else {
            ck_assert_msg(s.reason || ko_errmsg(ctx)[0], "%s: unknown without a reason", file);
            t.unknown++;
        }
        ko_footprint_destroy(fp);
    }
    ck_assert_int_eq(st, KO_DONE);
    ko_reader_close(r);
    return t;
}

START_TEST(test_srt_every_sample_one_record_per_frame) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        tally t = run(samples[i].file, &o);
        ck_assert_msg(t.frames == samples[i].frames, "%s: %ld frames, expected %ld",
                      samples[i].file, t.frames, samples[i].frames);
        if (samples[i].footprint)
            ck_assert_msg(t.ok == t.frames, "%s: %ld of %ld frames unknown", samples[i].file,
                          t.unknown, t.frames);
        else
            ck_assert_msg(t.unknown > 0, "%s: expected unknown frames", samples[i].file);
    }
}
END_TEST

START_TEST(test_srt_without_nadir_or_camera_is_unknown) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    tally t = run("p4p_sample.SRT", &o); /* no gimbal attitude, no focal_len */
    ck_assert_int_eq(t.ok, 0);
    ck_assert_int_eq(t.unknown, 5);
}
END_TEST

static koi_srt_frame first(const char *file) {
    char path[512];
    snprintf(path, sizeof path, SRT_DIR "%s", file);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t pos = 0, len;
    const char *b;
    koi_srt_frame fr;
    ck_assert(koi_srt_next_block(buf, n, &pos, &b, &len));
    ck_assert(koi_srt_parse_block(b, len, &fr));
    return fr;
}

/* Values of each family's first block, read off the raw text (see the head of each file). */
START_TEST(test_srt_families_decode_first_block) {
    koi_srt_frame f = first("p4p_sample.SRT"); /* GPS (8.2090, 47.4692, 18), H 45.60m */
    ck_assert_double_eq_tol(f.lat, 47.4692, 1e-9);
    ck_assert_double_eq_tol(f.lon, 8.2090, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 45.6, 1e-9);
    ck_assert_double_eq_tol(f.t_s, 0.0, 1e-9);
    f = first("p4_rtk.SRT"); /* GPS (-58.851745, -34.237922, 15), H 85.80m, G.PRY (-24.4, 0.0,
                                110.4), F.PRY (2.7, -7.0, 110.1) */
    ck_assert_double_eq_tol(f.lat, -34.237922, 1e-9);
    ck_assert_double_eq_tol(f.lon, -58.851745, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 85.8, 1e-9);
    ck_assert_double_eq_tol(f.g_pitch, -24.4, 1e-9);
    ck_assert_double_eq_tol(f.g_roll, 0.0, 1e-9);
    ck_assert_double_eq_tol(f.g_yaw, 110.4, 1e-9);
    ck_assert_double_eq_tol(f.f_yaw, 110.1, 1e-9);
    f = first("mavic_pro.SRT"); /* GPS(149.0251,-20.2533,16) BAROMETER:1.9 */
    ck_assert_double_eq_tol(f.lat, -20.2533, 1e-9);
    ck_assert_double_eq_tol(f.lon, 149.0251, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 1.9, 1e-9);
    ck_assert_str_eq(f.date, "2017-08-05T14:11:51");
    f = first("old_format.SRT"); /* GPS(149.0251,-20.2533,16) Hb:1.9 */
    ck_assert_double_eq_tol(f.lat, -20.2533, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 1.9, 1e-9);
    f = first("matrice_300.srt"); /* GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M, CRLF */
    ck_assert_double_eq_tol(f.lat, 36.6146, 1e-9);
    ck_assert_double_eq_tol(f.lon, -6.1120, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 0.3, 1e-9);
    ck_assert_str_eq(f.date, "2022-06-21T16:06:17");
    f = first("CallMarcus_samples_avata2_clip.SRT"); /* GPS(39.906217,116.391305,69.800)
                                                        BAROMETER(91.2) */
    ck_assert_double_eq_tol(f.lat, 39.906217, 1e-9);
    ck_assert_double_eq_tol(f.lon, 116.391305, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 91.2, 1e-9);
    f = first("CallMarcus_samples_Avata360_clip.SRT"); /* [gb_yaw: -162.8 gb_pitch: 0.0 ...] */
    ck_assert_double_eq_tol(f.lat, 53.365080, 1e-9);
    ck_assert_double_eq_tol(f.lon, 6.460739, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 5.4, 1e-9);
    ck_assert_double_eq_tol(f.abs_alt_m, -124.744, 1e-9);
    ck_assert_double_eq_tol(f.g_yaw, -162.8, 1e-9);
    ck_assert_double_eq_tol(f.g_pitch, 0.0, 1e-9);
    ck_assert_double_eq_tol(f.focal35_mm, 28.0, 1e-9);
    ck_assert_str_eq(f.date, "2026-05-27T13:10:00.015");
    f = first("m2zoom_head60.SRT"); /* [latitude : 31.452012] [longtitude : 74.398751]
                                       [focal_len : 240] [altitude: 213.983002] */
    ck_assert_double_eq_tol(f.lat, 31.452012, 1e-9);
    ck_assert_double_eq_tol(f.lon, 74.398751, 1e-9);
    ck_assert(isnan(f.height_m));
    ck_assert_double_eq_tol(f.abs_alt_m, 213.983002, 1e-9);
    ck_assert_double_eq_tol(f.focal35_mm, 24.0, 1e-9);
    f = first("mavic_mini.SRT"); /* GPS (-121.7458, 48.0771, 17), H 200.70m */
    ck_assert_double_eq_tol(f.lat, 48.0771, 1e-9);
    ck_assert_double_eq_tol(f.lon, -121.7458, 1e-9);
    ck_assert_double_eq_tol(f.height_m, 200.7, 1e-9);
    f = first("mix_p4rtk_mavic2pro.srt"); /* BOM, then 00:15:04,904 */
    ck_assert_int_eq(f.index, 1);
    ck_assert_double_eq_tol(f.t_s, 904.904, 1e-9);
}
END_TEST

START_TEST(test_srt_thinning) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    o.every_n = 10;
    ck_assert_int_eq(run("mavic_mini.SRT", &o).frames, 12); /* frames 1, 11, ..., 111 */
    ko_reader_options_init(&o);
    o.interval_s = 10; /* one block per second in this file */
    ck_assert_int_eq(run("mavic_mini.SRT", &o).frames, 12);
}
END_TEST

START_TEST(test_srt_garbage_is_an_error_or_reasons) {
    const char *path = "/vsimem/garbage.srt";
    const char junk[] = "this is not\na subtitle file\n";
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)junk, sizeof junk - 1, FALSE);
    VSIFCloseL(f);
    ko_reader *r;
    ck_assert_int_eq(ko_reader_open(ctx, path, NULL, &r), KO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "garbage.srt"));
    VSIUnlink(path);
    const char half[] = "1\n00:00:00,000 --> 00:00:01,000\nGPS (8.2090, 47.46";
    f = VSIFileFromMemBuffer(path, (GByte *)half, sizeof half - 1, FALSE);
    VSIFCloseL(f);
    ck_assert_int_eq(ko_reader_open(ctx, path, NULL, &r), KO_OK);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_nonnull(s.reason);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_DONE);
    ko_reader_close(r);
    VSIUnlink(path);
}
END_TEST

/* GPS(lon,lat,satellites) counts the satellites: the files' own counts are read (p4p_sample's
 * first block says 18, mavic_pro's 16), and a block counting fewer than 4 (no 3D fix) is a
 * shot with that reason, whatever its coordinates say. */
START_TEST(test_srt_satellite_count_is_the_fix) {
    ck_assert_double_eq(first("p4p_sample.SRT").satellites, 18);
    ck_assert_double_eq(first("mavic_pro.SRT").satellites, 16);
    ck_assert(isnan(first("CallMarcus_examples_DJI_sample.SRT").satellites)); /* not counted */
    const char *text =
        "1\n00:00:01,000 --> 00:00:02,000\nGPS(8.2090,47.4692,12) BAROMETER:40\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nGPS(8.2090,47.4692,3) BAROMETER:40\n\n";
    VSIFCloseL(VSIFileFromMemBuffer("/vsimem/sats.srt", (GByte *)text, strlen(text), FALSE));
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 24;
    ko_reader *r;
    ck_assert_int_eq(ko_reader_open(ctx, "/vsimem/sats.srt", &o, &r), KO_OK);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_msg(!s.reason, "%s", s.reason);
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    ck_assert_ptr_nonnull(s.reason);
    ck_assert_msg(strstr(s.reason, "3 satellite"), "%s", s.reason);
    ko_reader_close(r);
    VSIUnlink("/vsimem/sats.srt");
}
END_TEST

/* Numbers are decimal text (koi_decimal): a C hex float (0x1.4p5 is 40, 0x1p3 is 8), "inf" or
 * "nan", which CPLStrtod reads, are not numbers, so the value is not there (no height, no
 * position) and the shot unknown; before, "BAROMETER:0x1.4p5" was a height of 40 m. The
 * decimal block is read as p4p_sample's family is. */
START_TEST(test_srt_numbers_in_decimal_only) {
    static const struct {
        const char *block;
        int height, position; /* -1: not looked at (no GPS line: not this family) */
    } cases[] = {
        {"1\n00:00:01,000 --> 00:00:02,000\nGPS(8.2090,47.4692,12) BAROMETER:40\n", 1, 1},
        {"2\n00:00:02,000 --> 00:00:03,000\nGPS(8.2090,47.4692,12) BAROMETER:0x1.4p5\n", 0, 1},
        {"3\n00:00:03,000 --> 00:00:04,000\nGPS(0x1p3,47.4692,12) BAROMETER:40\n", -1, 0},
        {"4\n00:00:04,000 --> 00:00:05,000\nGPS(8.2090,inf,12) BAROMETER:nan\n", 0, 0},
        {"5\n00:00:05,000 --> 00:00:06,000\n[latitude: 47.4692] [longitude: 0x1p3] "
         "[rel_alt: 0x1.4p5 abs_alt: 400]\n",
         0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        koi_srt_frame f;
        ck_assert(koi_srt_parse_block(cases[i].block, strlen(cases[i].block), &f));
        ck_assert_msg(cases[i].height < 0 || isfinite(f.height_m) == cases[i].height,
                      "%zu: height %g", i, f.height_m);
        ck_assert_msg((isfinite(f.lat) && isfinite(f.lon)) == cases[i].position, "%zu: %g %g", i,
                      f.lat, f.lon);
        if (cases[i].height > 0) ck_assert_double_eq_tol(f.height_m, 40.0, 1e-12);
    }
}
END_TEST

/* --focal35 is for SRTs that do not say ("where the .SRT does not say", its help): the
 * Avata 360 clip's focal_len 28 stays 28 with --focal35 162 (given for another clip, it judged
 * this one through a lens 5.8 x narrower: adversary adv26); its first block without the
 * focal_len takes the option's 24. A 35 mm-equivalent focal f is f / 36 of the frame's width
 * where the frame's shape is not known (the 3:2 sensor's, the wider). */
static double focal35_of_first(const char *file, double option) {
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = option;
    char path[512];
    snprintf(path, sizeof path, "%s%s", file[0] == '/' ? "" : SRT_DIR, file);
    ko_reader *r;
    ck_assert_int_eq(ko_reader_open(ctx, path, &o, &r), KO_OK);
    ko_shot s;
    ck_assert_int_eq(ko_reader_next(r, &s), KO_OK);
    /* the frame's shape is not known: 36 mm-equivalent across (a 3:2 sensor's, adversary
     * adv27), so the focal length against that width */
    double f35 = s.camera.focal_mm / s.camera.sensor_w_mm * 36.0;
    ko_reader_close(r);
    return f35;
}

START_TEST(test_srt_focal_len_wins_over_the_option) {
    ck_assert_double_eq_tol(focal35_of_first("CallMarcus_samples_Avata360_clip.SRT", 162), 28.0,
                            1e-6);
    const char *text =
        "1\n00:00:00,000 --> 00:00:00,041\n"
        "[iso: 200] [latitude: 53.365080] [longitude: 6.460739] [rel_alt: 5.400 "
        "abs_alt: -124.744] [gb_yaw: -162.8 gb_pitch: 0.0 gb_roll: 0.0]\n\n";
    VSIFCloseL(VSIFileFromMemBuffer("/vsimem/nofocal.srt", (GByte *)text, strlen(text), FALSE));
    ck_assert_double_eq_tol(focal35_of_first("/vsimem/nofocal.srt", 24), 24.0, 1e-6);
    VSIUnlink("/vsimem/nofocal.srt");
}
END_TEST

int main(void) {
    const TTest *tests[] = {
        test_srt_every_sample_one_record_per_frame, test_srt_without_nadir_or_camera_is_unknown,
        test_srt_families_decode_first_block,       test_srt_thinning,
        test_srt_garbage_is_an_error_or_reasons,    test_srt_satellite_count_is_the_fix,
        test_srt_numbers_in_decimal_only,           test_srt_focal_len_wins_over_the_option};
    return unit_run(&(unit_suite){.name = "srt",
                                  .tcase = "samples",
                                  .timeout_s = 60,
                                  .setup = setup,
                                  .teardown = teardown},
                    tests, UNIT_COUNT(tests));
}
