/* Remedies for a conflicting leg: the smallest change of gimbal pitch or height that keeps
 * the leg but shows no site, found by re-checking the leg's exposures with the change. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define KOI_REMEDY_MIN_HEIGHT 10.0  /* lower is rarely flown on purpose */
#define KOI_REMEDY_MAX_HEIGHT 120.0 /* the EU open category and FAA Part 107 ceiling */

typedef struct leg_set {
    ko_shot *shots;
    size_t n;
} leg_set;

/* Copies of the leg's shots that the search may change. */
static ko_status collect_leg(ko_context *ctx, const ko_exposures *ex, size_t leg, leg_set *out) {
    size_t n = 0, total = ko_exposures_count(ex);
    for (size_t i = 0; i < total; i++)
        n += ko_exposures_get(ex, i)->leg == leg;
    out->n = 0;
    out->shots = n ? koi_calloc(n, sizeof *out->shots) : NULL;
    if (n && !out->shots) return koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
    for (size_t i = 0; i < total; i++) {
        const ko_exposure *e = ko_exposures_get(ex, i);
        if (e->leg == leg) out->shots[out->n++] = e->shot;
    }
    return KO_OK;
}

/* 1 if no shot of the set discloses a site, 0 if one does, -1 on a store error. */
static int leg_clear(ko_context *ctx, ko_sites *sites, const leg_set *set,
                     const ko_check_options *opts) {
    for (size_t i = 0; i < set->n; i++) {
        ko_result *r = NULL;
        if (ko_check_shot(ctx, sites, &set->shots[i], opts, &r) != KO_OK) return -1;
        ko_verdict v = ko_result_verdict(r);
        ko_result_destroy(r);
        if (v != KO_CLEAR) return 0;
    }
    return 1;
}

static int unreliable(const leg_set *set) {
    for (size_t i = 0; i < set->n; i++)
        if (set->shots[i].reason) return 1;
    return set->n == 0;
}

/* Tries pitches at 1-degree steps outward from the plan's, nearest first. */
static ko_status search_pitch(ko_context *ctx, ko_sites *sites, leg_set *set,
                              const ko_check_options *opts, double *found) {
    double base = set->shots[0].pose.pitch_deg;
    double *orig = koi_calloc(set->n, sizeof *orig);
    if (!orig) return koi_error(ctx, KO_ERR_NOMEM, "route: out of memory");
    for (size_t i = 0; i < set->n; i++)
        orig[i] = set->shots[i].pose.pitch_deg;
    ko_status st = KO_OK;
    for (int d = 1; d <= 90 && isnan(*found) && !st; d++) {
        for (int sign = -1; sign <= 1 && isnan(*found); sign += 2) {
            double p = round(base) + sign * d;
            if (p < -90 || p > 0) continue;
            for (size_t i = 0; i < set->n; i++)
                set->shots[i].pose.pitch_deg = p;
            int c = leg_clear(ctx, sites, set, opts);
            if (c < 0) st = KO_ERR_DB;
            if (c > 0) *found = p;
        }
    }
    for (size_t i = 0; i < set->n; i++)
        set->shots[i].pose.pitch_deg = orig[i];
    free(orig);
    return st;
}

static void shift_height(leg_set *set, double dh) {
    for (size_t i = 0; i < set->n; i++) {
        ko_pose *p = &set->shots[i].pose;
        p->height_m += dh;
        if (!isnan(p->alt_msl_m)) p->alt_msl_m += dh;
        if (!isnan(p->alt_ellps_m)) p->alt_ellps_m += dh;
    }
}

/* Tries height changes at 5 m steps, nearest first, within the flyable band. */
static ko_status search_height(ko_context *ctx, ko_sites *sites, leg_set *set,
                               const ko_check_options *opts, double *found) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < set->n; i++) {
        lo = fmin(lo, set->shots[i].pose.height_m);
        hi = fmax(hi, set->shots[i].pose.height_m);
    }
    for (int k = 1; k <= 24 && isnan(*found); k++) {
        for (int sign = -1; sign <= 1 && isnan(*found); sign += 2) {
            double dh = sign * 5.0 * k;
            if (lo + dh < KOI_REMEDY_MIN_HEIGHT || hi + dh > KOI_REMEDY_MAX_HEIGHT) continue;
            shift_height(set, dh);
            int c = leg_clear(ctx, sites, set, opts);
            shift_height(set, -dh);
            if (c < 0) return KO_ERR_DB;
            if (c > 0) *found = dh;
        }
    }
    return KO_OK;
}

/* Puts the shots that show a site now first: a candidate change that leaves one of them
 * flagged is rejected after one check instead of a pass over the whole leg. */
static ko_status flagged_first(ko_context *ctx, ko_sites *sites, leg_set *set,
                               const ko_check_options *opts) {
    size_t front = 0;
    for (size_t i = 0; i < set->n; i++) {
        ko_result *r = NULL;
        if (ko_check_shot(ctx, sites, &set->shots[i], opts, &r) != KO_OK) return KO_ERR_DB;
        ko_verdict v = ko_result_verdict(r);
        ko_result_destroy(r);
        if (v == KO_CLEAR) continue;
        ko_shot t = set->shots[front];
        set->shots[front++] = set->shots[i];
        set->shots[i] = t;
    }
    return KO_OK;
}

ko_status ko_route_remedy(ko_context *ctx, ko_sites *sites, const ko_exposures *ex, size_t leg,
                          const ko_check_options *opts, ko_remedy *out) {
    if (!ctx || !sites || !ex || !out) return koi_error(ctx, KO_ERR_ARG, "remedy: NULL argument");
    out->pitch_deg = out->height_m = NAN;
    ko_status st = opts ? KOI_CHECK_OPTIONS(ctx, ko_check_options, opts) : KO_OK;
    if (!st && opts && opts->footprint)
        st = KOI_CHECK_OPTIONS(ctx, ko_footprint_options, opts->footprint);
    if (st) return st;
    leg_set set;
    if ((st = collect_leg(ctx, ex, leg, &set))) return st;
    if (!unreliable(&set)) {
        st = flagged_first(ctx, sites, &set, opts);
        if (!st) st = search_pitch(ctx, sites, &set, opts, &out->pitch_deg);
        if (!st) st = search_height(ctx, sites, &set, opts, &out->height_m);
    }
    free(set.shots);
    return st; /* a store error keeps the message ko_check_shot() left */
}
