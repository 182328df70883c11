/* ko_context: creation, messages, status strings. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"

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

int main(void) {
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_context_create_destroy);
    tcase_add_test(tc, test_context_create_rejects_null);
    tcase_add_test(tc, test_context_status_str_covers_every_code);
    tcase_add_test(tc, test_context_errmsg_names_field);
    tcase_add_test(tc, test_context_version);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
