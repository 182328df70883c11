/* keepout sites query (run by cmd_sites.c): one footprint against the site store, the hits as
 * JSON lines, their strings escaped by json-c (bytes that are not UTF-8 as the text \xHH). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands.h"
#include "keepout/keepout.h"
#include "output.h"

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

/* Adds val (owned; NULL when out of memory) to the object or array o: 0 on failure, val freed. */
static int add(json_object *o, const char *key, json_object *val) {
    int ok =
        o && val && !(key ? json_object_object_add(o, key, val) : json_object_array_add(o, val));
    if (!ok) json_object_put(val);
    return ok;
}

/* A number written with that many decimals (%g when < 0), the digits it always had. */
static json_object *num(double v, int decimals) {
    char text[64];
    if (decimals < 0)
        snprintf(text, sizeof text, "%g", v);
    else
        snprintf(text, sizeof text, "%.*f", decimals, v);
    return json_object_new_double_s(v, text);
}

/* One hit as one JSON line. Its strings come from the store (site names from OSM and other
 * sources) and may hold quotes, backslashes, control characters and bytes that are not UTF-8:
 * json-c escapes the first three, out_json_write() writes the last as the text \xHH. 0 when
 * out of memory or the write fails. */
static int print_hit(const ko_site_hit *x) {
    json_object *o = json_object_new_object(), *nearest = json_object_new_array();
    int ok =
        add(o, "site_id", json_object_new_int64(x->site_id)) &&
        add(o, "name", json_object_new_string(x->name ? x->name : "")) &&
        add(o, "category", json_object_new_string(x->category ? x->category : "")) &&
        add(o, "source", json_object_new_string(x->source ? x->source : "")) &&
        add(o, "source_id", json_object_new_string(x->source_id ? x->source_id : "")) &&
        add(o, "distance_m", num(x->distance_m, 2)) && add(nearest, NULL, num(x->nearest_lon, 8)) &&
        add(nearest, NULL, num(x->nearest_lat, 8)) && add(o, "nearest", json_object_get(nearest)) &&
        add(o, "overlap", num(x->overlap, 4)) && add(o, "min_gsd_m", num(x->min_gsd_m, -1));
    const char *text = ok ? json_object_to_json_string_ext(
                                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
    ok = text && out_json_write(stdout, text) && putchar('\n') != EOF;
    json_object_put(nearest);
    json_object_put(o);
    return ok;
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
    int rc = ko_hits_count(h) ? EXIT_FLAGGED : EXIT_CLEAR;
    for (size_t i = 0; i < ko_hits_count(h) && rc != EXIT_USAGE; i++)
        if (!print_hit(ko_hits_get(h, i))) {
            fprintf(stderr, "keepout sites query: cannot write the hits (out of memory?)\n");
            rc = EXIT_USAGE;
        }
    if (!quiet)
        fprintf(stderr, "keepout sites query: store opened in %.3f ms, %zu hit(s) in %.3f ms\n",
                open_ms, ko_hits_count(h), query_ms);
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
