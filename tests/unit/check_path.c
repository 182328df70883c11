/* ko_path_check: a FIFO, itself or beneath GDAL's virtual file system prefixes, is refused
 * (without blocking: only stat() looks at it); regular files, directories, paths that do not
 * exist and virtual paths with no local file beneath pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keepout/keepout.h"
#include "check_runner.h"

START_TEST(test_path_check_fifo_beneath_vsi_prefixes) {
    char dir[] = "/tmp/keepout_path_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[128], reg[128], sub[128];
    snprintf(fifo, sizeof fifo, "%s/x.zip", dir);
    snprintf(reg, sizeof reg, "%s/r.zip", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    FILE *fp = fopen(reg, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("not really a zip", fp);
    fclose(fp);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ko_context *ctx = NULL;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    /* each case: prefix, the file, suffix */
    const char *refused[][2] = {{"", ""},
                                {"/vsizip/", "/a.jpg"},
                                {"/vsizip/{", "}/a.jpg"},
                                {"/vsitar/", ""},
                                {"/vsizip//vsigzip/", "/a.jpg"},
                                {"/vsisubfile/0_100,", ""},
                                {"/vsicrypt/key=abc,file=", ""},
                                {"/vsigzip/", ""}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", refused[i][0], fifo, refused[i][1]);
        ck_assert_msg(ko_path_check(ctx, path) == KO_ERR_IO, "%s passed", path);
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "FIFO"));
        ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), fifo));
    }
    const char *passed[][2] = {
        {"", ""}, {"/vsizip/", "/a.jpg"}, {"/vsizip/{", "}/in/a.jpg"}, {"/vsitar/", "/x"}};
    const char *bases[] = {reg, sub};
    for (size_t b = 0; b < 2; b++)
        for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
            char path[512];
            snprintf(path, sizeof path, "%s%s%s", passed[i][0], bases[b], passed[i][1]);
            ck_assert_msg(ko_path_check(ctx, path) == KO_OK, "%s: %s", path, ko_errmsg(ctx));
        }
    const char *other[] = {"/vsimem/a.jpg", "/vsicurl/http://example.invalid/x.zip",
                           "/nonexistent/x.zip", "/vsizip/{unclosed", "/vsisubfile/no-comma"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        ck_assert_msg(ko_path_check(ctx, other[i]) == KO_OK, "%s", other[i]);
    ck_assert_int_eq(ko_path_check(NULL, fifo), KO_ERR_IO);
    ko_context_destroy(ctx);
    unlink(fifo), unlink(reg), rmdir(sub), rmdir(dir);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_path_check_fifo_beneath_vsi_prefixes};
    return unit_run(&(unit_suite){.name = "path", .timeout_s = 30}, tests, UNIT_COUNT(tests));
}
