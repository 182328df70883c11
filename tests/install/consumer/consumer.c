/* A third party's program, built against an installed keepout only (tests/install): prints the
 * library's version, the sample store it finds by itself and its site count. */
#include <keepout/keepout.h>
#include <stdint.h>
#include <stdio.h>

int main(void) {
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx)) return 2;
    const char *path = ko_sites_default(1);
    ko_sites *sites = NULL;
    int64_t n = -1;
    ko_status st = ko_sites_open(ctx, path, KO_SITES_READONLY, &sites);
    if (!st) st = ko_sites_count(sites, &n);
    if (st) fprintf(stderr, "consumer: %s\n", ko_errmsg(ctx));
    printf("%s %s %lld\n", ko_version(), path, (long long)n);
    ko_sites_close(sites);
    ko_context_destroy(ctx);
    return st ? 1 : 0;
}
