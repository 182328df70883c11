/* keepout sites query: one footprint against the site store, the hits as JSON lines. Shared
 * by the full CLI and the query-only launcher (cli/launcher/), so both answer alike. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands.h"
#include "keepout/keepout.h"

/* "lon lat, lon lat, ..." into a closed ring. */
static double *parse_ring(const char *txt, size_t *n) {
    size_t cap = 16, k = 0;
    double *r = malloc(cap * 2 * sizeof *r);
    const char *p = txt;
    while (r && *p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p) break;
        p = end;
        double y = strtod(p, &end);
        if (end == p) break;
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
        if (k == cap) {
            cap *= 2;
            double *q = realloc(r, cap * 2 * sizeof *r);
            if (!q) break;
            r = q;
        }
        r[2 * k] = x, r[2 * k + 1] = y;
        k++;
    }
    if (!r || *p || k < 3) {
        free(r);
        return NULL;
    }
    if (r[0] != r[2 * (k - 1)] || r[1] != r[2 * (k - 1) + 1]) {
        if (k == cap) {
            double *q = realloc(r, (cap + 1) * 2 * sizeof *r);
            if (!q) {
                free(r);
                return NULL;
            }
            r = q;
        }
        r[2 * k] = r[0], r[2 * k + 1] = r[1];
        k++;
    }
    *n = k;
    return r;
}

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int query(ko_sites *s, ko_context *ctx, const double *ring, size_t n, double cx, double cy,
                 int packed, int quiet, double open_ms) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ko_hits *h = NULL;
    ko_status st = packed ? ko_sites_load_index(s) : KO_OK;
    if (!st) st = ko_sites_query(s, ring, n, cx, cy, &h);
    double query_ms = ms_since(&t0);
    if (st) {
        fprintf(stderr, "keepout sites query: %s\n", ko_errmsg(ctx));
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < ko_hits_count(h); i++) {
        const ko_site_hit *x = ko_hits_get(h, i);
        printf(
            "{\"site_id\":%lld,\"name\":\"%s\",\"category\":\"%s\",\"source\":\"%s\","
            "\"source_id\":\"%s\",\"distance_m\":%.2f,\"nearest\":[%.8f,%.8f],"
            "\"overlap\":%.4f,\"min_gsd_m\":%g}\n",
            (long long)x->site_id, x->name, x->category, x->source, x->source_id, x->distance_m,
            x->nearest_lon, x->nearest_lat, x->overlap, x->min_gsd_m);
    }
    if (!quiet)
        fprintf(stderr, "keepout sites query: store opened in %.3f ms, %zu hit(s) in %.3f ms\n",
                open_ms, ko_hits_count(h), query_ms);
    int rc = ko_hits_count(h) ? EXIT_FLAGGED : EXIT_CLEAR;
    ko_hits_destroy(h);
    return rc;
}

int sites_query_run(const char *db, const char *ring_txt, const char *camera, int packed,
                    int quiet) {
    size_t n = 0;
    double *ring = ring_txt ? parse_ring(ring_txt, &n) : NULL;
    double cx, cy;
    char extra;
    if (!ring || !camera || sscanf(camera, "%lf,%lf%c", &cx, &cy, &extra) != 2) {
        fprintf(stderr, "keepout sites query: needs --ring 'lon lat,...' and --camera lon,lat\n");
        free(ring);
        return EXIT_USAGE;
    }
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx) != KO_OK) {
        fprintf(stderr, "keepout sites query: cannot create a context (out of memory?)\n");
        free(ring);
        return EXIT_USAGE;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ko_sites *s = NULL;
    int rc = EXIT_USAGE;
    if (ko_sites_open(ctx, db, KO_SITES_READONLY, &s) != KO_OK)
        fprintf(stderr, "keepout sites: %s\n", ko_errmsg(ctx));
    else
        rc = query(s, ctx, ring, n, cx, cy, packed, quiet, ms_since(&t0));
    ko_sites_close(s);
    ko_context_destroy(ctx);
    free(ring);
    return rc;
}
