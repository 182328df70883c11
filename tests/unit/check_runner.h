/* The one runner of every unit test (tests/unit/check_*.c): a suite of one test case, each test
 * in a child process (CTest sets CK_FORK=yes), exit status 1 if any test failed. A runner's
 * main() lists its tests and says how to run them:
 *
 *     int main(void) {
 *         const TTest *tests[] = {test_a, test_b};
 *         return unit_run(&(unit_suite){.name = "camera", .timeout_s = 30}, tests,
 *                         UNIT_COUNT(tests));
 *     }
 */
#ifndef KEEPOUT_CHECK_RUNNER_H
#define KEEPOUT_CHECK_RUNNER_H

#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#include "keepout/keepout.h"

#define UNIT_COUNT(a) (sizeof(a) / sizeof *(a))

typedef struct unit_suite {
    const char *name;       /* the suite: the module under test */
    const char *tcase;      /* the test case's name; NULL: "core" */
    double timeout_s;       /* per test; 0: Check's default (4 s, or $CK_DEFAULT_TIMEOUT) */
    void (*setup)(void);    /* a checked fixture run around each test, or NULL */
    void (*teardown)(void); /* its counterpart, or NULL */
    int global_init;        /* non-zero: ko_global_init() once in the runner, before any test */
} unit_suite;

/* Runs tests[0..n) as u says; EXIT_SUCCESS if all passed. */
static inline int unit_run(const unit_suite *u, const TTest *const *tests, size_t n) {
    if (u->global_init && ko_global_init() != KO_OK) return EXIT_FAILURE;
    Suite *s = suite_create(u->name);
    TCase *tc = tcase_create(u->tcase ? u->tcase : "core");
    if (u->setup || u->teardown) tcase_add_checked_fixture(tc, u->setup, u->teardown);
    if (u->timeout_s > 0) tcase_set_timeout(tc, u->timeout_s);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
