/* SHA-256 against the FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepout/keepout.h"
#include "core/core.h"
#include "check_runner.h"

static void hex_of(const char *msg, size_t repeat, char out[65]) {
    koi_sha256 s;
    koi_sha256_init(&s);
    for (size_t i = 0; i < repeat; i++)
        koi_sha256_update(&s, msg, strlen(msg));
    unsigned char d[32];
    koi_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(test_sha256_nist_vectors) {
    char h[65];
    hex_of("abc", 1, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of("", 1, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hex_of("a", 1000000, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_sha256_file_via_vsi) {
    ko_context *ctx;
    ck_assert_int_eq(ko_context_create(&ctx), KO_OK);
    char h[65];
    ck_assert_int_eq(ko_file_sha256(ctx, "/nonexistent/file", h), KO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(ctx), "/nonexistent/file"));
    ko_context_destroy(ctx);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_sha256_nist_vectors, test_sha256_file_via_vsi};
    return unit_run(&(unit_suite){.name = "sha256", .timeout_s = 30}, tests, UNIT_COUNT(tests));
}
