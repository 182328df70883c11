/* The release policy (ko_release_decide*): an input that could not be read is never released,
 * whatever unknown_is says; unknown_is applies only to checked images, in strict mode only. */
#include <stdlib.h>

#include "keepout/keepout.h"
#include "test_util.h"
#include "check_runner.h"

/* The result of checking a shot that carries only a reason (no pose), unreadable or not. */
static ko_result *checked_unknown(fixture *f, int unreadable) {
    ko_shot shot = {0};
    ko_pose_init(&shot.pose);
    ko_camera_init(&shot.camera);
    shot.source = shot.id = "x.jpg";
    shot.reason = unreadable ? "x.jpg: not a JPEG file (no SOI marker)" : "x.jpg: no GPS position";
    shot.unreadable = unreadable;
    ko_result *r = NULL;
    ck_assert_int_eq(ko_check_shot(f->ctx, f->s, &shot, NULL, &r), KO_OK);
    ck_assert_int_eq(ko_result_verdict(r), KO_UNKNOWN);
    return r;
}

START_TEST(test_policy_unreadable_input_is_never_released) {
    fixture f;
    fixture_open(&f);
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.unknown_is = KO_CLEAR;
    const ko_release_mode modes[] = {KO_MODE_STRICT, KO_MODE_REDACT};
    ko_result *bad = checked_unknown(&f, 1), *no_gps = checked_unknown(&f, 0);
    ck_assert_int_eq(ko_result_checked(bad), 0);
    ck_assert_int_eq(ko_result_checked(no_gps), 1);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        p.mode = modes[i];
        const char *why = NULL;
        ck_assert_int_eq(ko_release_decide(&p, bad, &why), KO_REFUSE);
        ck_assert_ptr_nonnull(strstr(why, "not checked"));
    }
    /* the caller's choice for a readable photo without a position */
    p.mode = KO_MODE_STRICT;
    ck_assert_int_eq(ko_release_decide(&p, no_gps, NULL), KO_RELEASE);
    ck_assert_int_eq(ko_result_checked(NULL), 0);
    ck_assert_int_eq(ko_release_decide(&p, NULL, NULL), KO_REFUSE);
    ko_result_destroy(bad);
    ko_result_destroy(no_gps);
    fixture_close(&f);
}
END_TEST

START_TEST(test_policy_batch) {
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.unknown_is = KO_CLEAR;
    ck_assert_int_eq(ko_release_decide_batch(&p, 3, 0, 2, 0, NULL), KO_RELEASE);
    ck_assert_int_eq(ko_release_decide_batch(&p, 3, 0, 2, 1, NULL), KO_REFUSE);
    ck_assert_int_eq(ko_release_decide_batch(&p, 3, 1, 0, 0, NULL), KO_REFUSE);
    ck_assert_int_eq(ko_release_decide_batch(&p, 0, 0, 0, 0, NULL), KO_REFUSE);
    p.unknown_is = KO_UNKNOWN;
    ck_assert_int_eq(ko_release_decide_batch(&p, 3, 0, 2, 0, NULL), KO_REFUSE);
    ck_assert_int_eq(ko_release_decide_batch(&p, 3, 0, 0, 0, NULL), KO_RELEASE);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_policy_unreadable_input_is_never_released, test_policy_batch};
    return unit_run(&(unit_suite){.name = "policy", .timeout_s = 30}, tests, UNIT_COUNT(tests));
}
