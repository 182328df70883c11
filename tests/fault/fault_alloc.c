/* Allocation failure at every allocation of a check (the chaos allocator of tidwall/tg's
 * tests): a full check of real inputs against a real store -- context, store, optionally the
 * packed index, readers, footprints, queries, verdicts -- first with every allocation
 * succeeding (the reference), then once per allocation index k with the k-th allocation of
 * the library failing (and again with every allocation from the k-th on failing).
 *
 * Each run must either stop with KO_ERR_NOMEM or give every shot of the reference, in order,
 * with the reference's verdict or `unknown` with a reason (fail closed); never a shot fewer,
 * never `clear` for a shot the reference flags, never a crash, never a leak (ASan/LSan in the
 * sanitize build).
 *
 *   fault_alloc STORE INPUT...
 */
#include <cpl_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "keepout/keepout.h"

/* The hook (context.h): fails the fail_at-th allocation counted since arming, or every one from
 * it on when persist is set. Test state, in the test program only. */
static long counted, fail_at;
static int armed, persist;

int koi_fault_alloc(void) {
    if (!armed) return 0;
    counted++;
    return persist ? counted >= fail_at : counted == fail_at;
}

enum { MAX_SHOTS = 64 };

typedef struct outcome {
    ko_status st;      /* KO_OK, or the first failure, which ended the run */
    const char *where; /* the call that failed */
    size_t n;
    char id[MAX_SHOTS][96];
    ko_verdict v[MAX_SHOTS];
    int has_reason[MAX_SHOTS];
} outcome;

static int fail(outcome *o, ko_status st, const char *where) {
    o->st = st;
    o->where = where;
    return 0;
}

/* One full check of the inputs; 1 if it ran to the end. */
static int check_all(const char *store, char **inputs, int n_inputs, int packed, outcome *o) {
    memset(o, 0, sizeof *o);
    ko_context *ctx = NULL;
    ko_sites *sites = NULL;
    ko_status st = ko_context_create(&ctx);
    if (st) return fail(o, st, "ko_context_create");
    int ok = 0;
    if ((st = ko_sites_open(ctx, store, KO_SITES_READONLY, &sites))) {
        fail(o, st, "ko_sites_open");
        goto done;
    }
    if (packed && (st = ko_sites_load_index(sites))) {
        fail(o, st, "ko_sites_load_index");
        goto done;
    }
    ko_check_options opts;
    ko_check_options_init(&opts);
    ko_footprint_options fopts;
    ko_footprint_options_init(&fopts);
    opts.footprint = &fopts;
    if ((st = ko_sites_gsd_limit(sites, &fopts.gsd_limit_m))) {
        fail(o, st, "ko_sites_gsd_limit");
        goto done;
    }
    for (int i = 0; i < n_inputs; i++) {
        ko_reader_options ro;
        ko_reader_options_init(&ro);
        ko_reader *r = NULL;
        if ((st = ko_reader_open(ctx, inputs[i], &ro, &r))) {
            fail(o, st, "ko_reader_open");
            goto done;
        }
        ko_shot shot;
        while ((st = ko_reader_next(r, &shot)) == KO_OK) {
            ko_result *res = NULL;
            if ((st = ko_check_shot(ctx, sites, &shot, &opts, &res))) {
                fail(o, st, "ko_check_shot");
                break;
            }
            if (o->n < MAX_SHOTS) {
                snprintf(o->id[o->n], sizeof o->id[o->n], "%s", shot.id ? shot.id : "?");
                o->v[o->n] = ko_result_verdict(res);
                const char *why = ko_result_reason(res);
                o->has_reason[o->n] = why && *why;
            }
            o->n++;
            ko_result_destroy(res);
        }
        ko_reader_close(r);
        if (st != KO_DONE) {
            if (!o->where) fail(o, st, "ko_reader_next");
            goto done;
        }
    }
    ok = 1;
done:
    ko_sites_close(sites);
    ko_context_destroy(ctx);
    return ok;
}

/* Judges a run with allocation failure against the reference; prints and returns 0 if wrong. */
static int judge(const outcome *ref, const outcome *o, int ran, long k, int packed) {
    const char *mode = persist ? "from" : "at";
    if (!ran && o->st != KO_ERR_NOMEM) {
        printf("FAIL: allocation failing %s #%ld (index %s): %s returned %s, not out of memory\n",
               mode, k, packed ? "packed" : "on disk", o->where, ko_status_str(o->st));
        return 0;
    }
    if (ran && o->n != ref->n) {
        printf("FAIL: allocation failing %s #%ld: %zu shots instead of %zu, and no error\n", mode,
               k, o->n, ref->n);
        return 0;
    }
    for (size_t i = 0; i < o->n && i < MAX_SHOTS; i++) {
        if (i >= ref->n || strcmp(o->id[i], ref->id[i]) != 0) {
            printf("FAIL: allocation failing %s #%ld: shot %zu is %s, the reference's is %s\n",
                   mode, k, i, o->id[i], i < ref->n ? ref->id[i] : "(none)");
            return 0;
        }
        if (o->v[i] == ref->v[i]) continue;
        if (o->v[i] == KO_UNKNOWN && o->has_reason[i]) continue; /* fail closed */
        printf("FAIL: allocation failing %s #%ld: %s is %s, the reference says %s\n", mode, k,
               o->id[i], ko_verdict_str(o->v[i]), ko_verdict_str(ref->v[i]));
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: fault_alloc STORE INPUT...\n");
        return 2;
    }
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int bad = 0;
    for (int packed = 0; packed < 2; packed++) {
        outcome ref, o;
        armed = 1, persist = 0, fail_at = 0, counted = 0;
        if (!check_all(argv[1], argv + 2, argc - 2, packed, &ref)) {
            printf("FAIL: the reference check failed: %s: %s\n", ref.where, ko_status_str(ref.st));
            return 1;
        }
        long total = counted;
        size_t flagged = 0, unknown = 0;
        for (size_t i = 0; i < ref.n; i++)
            flagged += ref.v[i] == KO_FLAGGED, unknown += ref.v[i] == KO_UNKNOWN;
        printf("index %s: reference %zu shots (%zu flagged, %zu unknown), %ld allocations\n",
               packed ? "packed" : "on disk", ref.n, flagged, unknown, total);
        if (total == 0) {
            printf("FAIL: no allocation reached the koi_fault_alloc hook\n");
            return 1;
        }
        if (!flagged || ref.n < 2) {
            printf("FAIL: the inputs must give a flagged shot among several\n");
            return 1;
        }
        for (persist = 0; persist < 2; persist++) {
            size_t errors = 0, degraded = 0;
            for (long k = 1; k <= total; k++) {
                fail_at = k, counted = 0;
                int ran = check_all(argv[1], argv + 2, argc - 2, packed, &o);
                if (!judge(&ref, &o, ran, k, packed)) bad++;
                errors += !ran;
                for (size_t i = 0; ran && i < o.n && i < MAX_SHOTS; i++)
                    degraded += o.v[i] != ref.v[i];
            }
            printf(
                "  failing %s each of %ld: %zu runs stopped with out of memory, %zu shots "
                "became unknown\n",
                persist ? "every allocation from" : "the allocation", total, errors, degraded);
        }
        armed = 0;
    }
    CPLPopErrorHandler();
    printf(bad ? "%d wrong runs\n" : "all runs failed closed\n", bad);
    return bad != 0;
}
