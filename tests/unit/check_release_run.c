/* ko_release_run(), the release gate over whole inputs, through the C API: the arguments it
 * refuses before anything is made, a clear photo copied byte for byte and recorded, a re-run
 * that skips it, and a run stopped by its progress callback. The far-reaching cases (redaction,
 * kill -9 and resume, clashes, ownership) are tests/cli/test_release.py's. */
#include <sys/stat.h>

#include "check_runner.h"
#include "test_util.h"

/* The Bremen power extract: nowhere near the sample photo (Wisconsin), which is clear. */
static fixture f;
static char dir[256], in[300], out[300], hold[300], photo[360];

static int copy(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int ok = a && b;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
        ok = fwrite(buf, 1, n, b) == n;
    if (a) fclose(a);
    if (b && fclose(b) != 0) ok = 0;
    return ok ? 0 : -1;
}

static void setup(void) {
    fixture_open_bremen(&f);
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(f.db, '/') - f.db), f.db);
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/OUT", dir);
    snprintf(hold, sizeof hold, "%s/HOLD", dir);
    snprintf(photo, sizeof photo, "%s/DJI_0018.JPG", in);
    ck_assert_int_eq(mkdir(in, 0777), 0);
    ck_assert_int_eq(copy(DATA "/images/DJI_0018.JPG", photo), 0);
}

static void teardown(void) {
    fixture_close(&f);
}

static ko_release_run_options opts(void) {
    ko_release_run_options o;
    ko_release_run_options_init(&o);
    o.out = out;
    o.hold = hold;
    return o;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

START_TEST(test_arguments_refused_before_anything_is_made) {
    const char *inputs[] = {in};
    ko_release_run_options o = opts();
    o.size = 8; /* never initialised */
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_ERR_ARG);
    o = opts();
    o.hold = NULL;
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_ERR_ARG);
    o = opts();
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 0, &o, NULL), KO_ERR_ARG);
    o.hold = out; /* one directory for both */
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_ERR_ARG);
    ck_assert_msg(strstr(ko_errmsg(f.ctx), "two separate directories"), "%s", ko_errmsg(f.ctx));
    char inside[400];
    snprintf(inside, sizeof inside, "%s/OUT", in); /* OUT inside the input */
    o = opts();
    o.out = inside;
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_ERR_ARG);
    ck_assert_msg(!exists(inside) && !exists(out) && !exists(hold), "a directory was made");
}
END_TEST

static int lines;
static void count_line(ko_note_level level, const char *text, void *user) {
    (void)user;
    ck_assert_int_eq(level, KO_NOTE_INFO);
    ck_assert_msg(text[0] == '{' && strstr(text, "\"decision\":\"release\""), "%s", text);
    lines++;
}

START_TEST(test_clear_photo_copied_then_skipped) {
    const char *inputs[] = {in};
    ko_release_run_options o = opts();
    o.record = count_line;
    ko_release_stats st;
    ko_release_stats_init(&st);
    lines = 0;
    ko_status s = ko_release_run(f.ctx, f.s, inputs, 1, &o, &st);
    ck_assert_msg(s == KO_OK, "%s", ko_errmsg(f.ctx));
    ck_assert_uint_eq(st.released, 1);
    ck_assert_uint_eq(st.redacted + st.held + st.skipped, 0);
    ck_assert_int_eq(st.worst, KO_RELEASE);
    ck_assert_int_eq(lines, 1);
    char copy[400], a[65], b[65];
    snprintf(copy, sizeof copy, "%s/DJI_0018.JPG", out);
    ck_assert_int_eq(ko_file_sha256(f.ctx, photo, a), KO_OK);
    ck_assert_int_eq(ko_file_sha256(f.ctx, copy, b), KO_OK);
    ck_assert_str_eq(a, b);
    char manifest[400];
    snprintf(manifest, sizeof manifest, "%s/%s", hold, KO_RELEASE_MANIFEST_NAME);
    ck_assert(exists(manifest));
    ko_release_stats_init(&st);
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, &st), KO_OK);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.released, 1);
    ck_assert_int_eq(lines, 2);
}
END_TEST

static int stop_at_first(double complete, const char *message, void *user) {
    (void)message;
    (void)user;
    return complete <= 0;
}

START_TEST(test_progress_callback_stops_the_run) {
    const char *inputs[] = {in};
    ko_release_run_options o = opts();
    o.progress = stop_at_first;
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_ERR_CANCELLED);
}
END_TEST

/* Two runs into one OUT, each with its own manifest: the second, started while the first is
 * at its first file (from the first's progress callback, in another context of this process),
 * fails at once naming OUT and writes nothing; the first then completes. (Two manifests each
 * guarded only themselves: 1 run in 8 of two such processes let both write the same file.) */
static ko_status second;
static char second_msg[512];
static int run_second(double complete, const char *message, void *user) {
    (void)message;
    if (complete > 0) return 1;
    fixture *g = user;
    const char *inputs[] = {in};
    char m2[400];
    snprintf(m2, sizeof m2, "%s/m2.jsonl", dir);
    ko_release_run_options o = opts();
    o.manifest = m2;
    second = ko_release_run(g->ctx, g->s, inputs, 1, &o, NULL);
    snprintf(second_msg, sizeof second_msg, "%s", ko_errmsg(g->ctx));
    ck_assert_msg(!exists(m2), "the second run made its manifest");
    return 1;
}

START_TEST(test_one_run_at_a_time_per_out) {
    fixture g;
    fixture_open_bremen(&g);
    const char *inputs[] = {in};
    ko_release_run_options o = opts();
    o.progress = run_second;
    o.progress_user = &g;
    second = KO_OK;
    ck_assert_int_eq(ko_release_run(f.ctx, f.s, inputs, 1, &o, NULL), KO_OK);
    ck_assert_int_eq(second, KO_ERR_IO);
    ck_assert_msg(strstr(second_msg, out) && strstr(second_msg, "another keepout release"), "%s",
                  second_msg);
    /* once the first has ended, OUT is free again */
    char m2[400];
    snprintf(m2, sizeof m2, "%s/m2.jsonl", dir);
    o = opts();
    o.manifest = m2;
    ck_assert_int_eq(ko_release_run(g.ctx, g.s, inputs, 1, &o, NULL), KO_OK);
    fixture_close(&g);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_arguments_refused_before_anything_is_made,
                            test_clear_photo_copied_then_skipped,
                            test_progress_callback_stops_the_run, test_one_run_at_a_time_per_out};
    return unit_run(
        &(unit_suite){.name = "release_run", .timeout_s = 60, .setup = setup, .teardown = teardown},
        tests, UNIT_COUNT(tests));
}
