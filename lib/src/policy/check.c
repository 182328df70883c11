/* The verdict of one shot: its footprint against the site store, resolution-aware.
 * A site is disclosed only if it is in the footprint and the GSD at its finest visible point
 * is at or finer than its category's min_gsd_m. Anything that prevents a reliable footprint
 * is `unknown`, never `clear`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/camera.h"
#include "core/core.h"
#include "geo/geo.h"
#include "sites/sites.h"

#define RULE_MAX 160

struct ko_result {
    ko_verdict verdict;
    int unreadable; /* the shot's input could not be read: not checked */
    char reason[KOI_ERRMSG_MAX];
    ko_footprint *fp;
    ko_hits *hits;
    size_t n;
    ko_finding *findings;
    char (*rules)[RULE_MAX];
};

const char *ko_verdict_str(ko_verdict v) {
    switch (v) {
        case KO_CLEAR:
            return "clear";
        case KO_FLAGGED:
            return "flagged";
        case KO_UNKNOWN:
            return "unknown";
    }
    return "unknown";
}

ko_verdict ko_verdict_worst(ko_verdict a, ko_verdict b) {
    /* unknown outranks flagged: it says the input could not be judged at all */
    if (a == KO_UNKNOWN || b == KO_UNKNOWN) return KO_UNKNOWN;
    return a == KO_FLAGGED || b == KO_FLAGGED ? KO_FLAGGED : KO_CLEAR;
}

void ko_check_options_init(ko_check_options *o) {
    o->size = sizeof *o;
    o->footprint = NULL;
    o->margin_m = 0.0;
}

/* wide cut to the disc of radius cap_m round the camera (a polygon round the circle, never
 * inside it); a cut in pieces becomes their convex hull (only adds ground). NULL on failure.
 * Takes wide. */
static GEOSGeometry *within_reach(GEOSContextHandle_t h, GEOSGeometry *wide, double cap_m) {
    const int quad = 32; /* 128 sides: circumscribed at cap / cos(pi / 128) */
    GEOSGeometry *centre = wide ? GEOSGeom_createPointFromXY_r(h, 0, 0) : NULL;
    GEOSGeometry *disc =
        centre ? GEOSBuffer_r(h, centre, cap_m / cos(M_PI / (4 * quad)), quad) : NULL;
    GEOSGeometry *cut = koi_geos_one_polygon(h, disc ? GEOSIntersection_r(h, wide, disc) : NULL);
    GEOSGeometry *all[] = {wide, centre, disc};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]) GEOSGeom_destroy_r(h, all[i]);
    return cut;
}

/* The footprint widened by margin_m, no farther than cap_m from the camera: buffered in the
 * local metric frame around the camera (GEOS, round joins), its outer ring taken to WGS84 as
 * the footprint's own is (chords split and pushed where they sag in lon/lat: near a pole
 * straight lon/lat edges would cut more off the view than the margin adds). *out is owned by
 * the caller. */
static ko_status widen(ko_context *ctx, const ko_footprint *fp, const ko_pose *pose,
                       double margin_m, double cap_m, double **out, size_t *n_out) {
    GEOSContextHandle_t h = ctx->geos;
    size_t n = 0, m = 0;
    const double *local = ko_footprint_ring_local(fp, &n);
    GEOSGeometry *poly = koi_geos_polygon(h, local, n);
    GEOSGeometry *wide = poly ? within_reach(h, GEOSBuffer_r(h, poly, margin_m, 8), cap_m) : NULL;
    double *xy = NULL;
    ko_status st = koi_geos_shell(h, wide, &xy, &m);
    if (st == KO_ERR_NOMEM) st = koi_error(ctx, st, "check: out of memory");
    if (st && st != KO_ERR_NOMEM) st = koi_error(ctx, st, "check: cannot widen the footprint");
    if (!st) {
        if (koi_ring_signed_area(xy, m) < 0) koi_ring_reverse(xy, m); /* counterclockwise */
        /* the footprint's own cap: half its ring tolerance is at least a millimetre */
        st = koi_ring_to_wgs84(ctx, pose->lat, pose->lon, xy, m, 1e-3, out, n_out);
    }
    free(xy);
    if (wide) GEOSGeom_destroy_r(h, wide);
    if (poly) GEOSGeom_destroy_r(h, poly); /* (GEOS owns the ring and sequence once handed) */
    return st;
}

void ko_result_destroy(ko_result *r) {
    if (!r) return;
    ko_footprint_destroy(r->fp);
    ko_hits_destroy(r->hits);
    free(r->findings);
    free(r->rules);
    free(r);
}

ko_verdict ko_result_verdict(const ko_result *r) {
    return r->verdict;
}

int ko_result_checked(const ko_result *r) {
    return r && !r->unreadable;
}

const char *ko_result_reason(const ko_result *r) {
    return r->reason;
}

const ko_footprint *ko_result_footprint(const ko_result *r) {
    return r->fp;
}

size_t ko_result_count(const ko_result *r) {
    return r->n;
}

const ko_finding *ko_result_finding(const ko_result *r, size_t i) {
    return i < r->n ? &r->findings[i] : NULL;
}

/* r, made unknown with the reason printf-formatted from fmt. */
static ko_result *unknown(ko_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ko_result *unknown(ko_result *r, const char *fmt, ...) {
    r->verdict = KO_UNKNOWN;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return r;
}

/* Decides one site in view. NaN GSD (image size unknown) cannot prove the site unresolved,
 * so it counts as disclosed. */
static int judge(ko_finding *f, char *rule) {
    const ko_site_hit *h = f->site;
    if (isnan(f->gsd_m)) {
        snprintf(rule, RULE_MAX, "in view; GSD unknown (no image size), treated as resolved");
        return 1;
    }
    if (f->gsd_m <= h->min_gsd_m) {
        snprintf(rule, RULE_MAX, "in view at %.3g m/px <= %.3g m/px (%s): disclosed", f->gsd_m,
                 h->min_gsd_m, h->category);
        return 1;
    }
    snprintf(rule, RULE_MAX, "in view at %.3g m/px > %.3g m/px (%s): too coarse to disclose",
             f->gsd_m, h->min_gsd_m, h->category);
    return 0;
}

static int moving(const ko_shot *shot) {
    return shot->sweep_m > 0 || shot->climb_m > 0 || shot->yaw_turn_deg > 0 ||
           shot->pitch_turn_deg > 0;
}

/* How far the ground a moving frame's camera sees can lie outside the frame's own footprint
 * (ko_shot.sweep_m etc.), metres; NaN if the camera is too near the ground to bound it. A
 * ground point at horizontal distance r seen from height h moves with the camera (sweep),
 * by r/h per metre of climb (r = h cot(depression)), by r per radian of turn about the
 * vertical (the rays turn round the nadir), and by at most L (h + r) / h per radian of tilt
 * (L = hypot(h, r), the slant range: a ray tilted by a small angle moves L times it across,
 * and its grazing meets the ground (h + r) / h times further). r is the farthest the
 * footprint reaches; a tenth more covers the terms this first-order bound leaves out. */
static double motion_margin(const ko_footprint *fp, const ko_shot *shot) {
    double r = koi_footprint_reach(fp), h = koi_footprint_clearance(fp);
    double spread = 0;
    if (shot->climb_m > 0 || shot->pitch_turn_deg > 0) {
        if (!(h >= 0.5)) return NAN;
        spread =
            shot->climb_m * r / h + hypot(h, r) * (h + r) / h * shot->pitch_turn_deg * M_PI / 180;
    }
    spread += r * fmax(shot->yaw_turn_deg, 0.0) * M_PI / 180;
    return 1.1 * (fmax(shot->sweep_m, 0.0) + spread) + 0.01;
}

/* The farthest a frame's views reach from its camera: every ray is cut at the range limit of
 * the camera it is seen from, which a moving frame's moves by its sweep (the ring's arcs bulge
 * out by up to 1e-4). Turn and climb margins beyond this only reach ground nobody saw. */
static double motion_reach(const ko_footprint *fp, const ko_shot *shot, double margin_m) {
    double r = fmax(ko_footprint_range_limit_m(fp), koi_footprint_reach(fp)) * (1 + 1e-4);
    return r + fmax(margin_m, 0.0) + (moving(shot) ? 1.1 * fmax(shot->sweep_m, 0.0) + 0.01 : 0);
}

static ko_status collect(ko_context *ctx, ko_result *r, const ko_shot *shot) {
    r->n = ko_hits_count(r->hits);
    if (!r->n) return KO_OK;
    r->findings = koi_calloc(r->n, sizeof *r->findings);
    r->rules = koi_calloc(r->n, sizeof *r->rules);
    if (!r->findings || !r->rules) return koi_error(ctx, KO_ERR_NOMEM, "check: out of memory");
    for (size_t i = 0; i < r->n; i++) {
        ko_finding *f = &r->findings[i];
        f->site = ko_hits_get(r->hits, i);
        /* the finest GSD over the part in view: its nearest point's slant distance times the
         * finest pixel of the image region it projects into */
        f->gsd_m =
            koi_footprint_gsd_part(r->fp, f->site->distance_m, koi_hits_part_box(r->hits, i));
        /* a moving frame: the finest the camera comes to it while the frame stands */
        if (moving(shot))
            f->gsd_m = fmin(f->gsd_m, koi_footprint_gsd_moving(r->fp, f->site->distance_m,
                                                               shot->sweep_m, shot->climb_m));
        f->disclosed = judge(f, r->rules[i]);
        f->rule = r->rules[i];
    }
    return KO_OK;
}

static void summarise(ko_result *r) {
    size_t disclosed = 0;
    for (size_t i = 0; i < r->n; i++)
        disclosed += r->findings[i].disclosed != 0;
    r->verdict = disclosed ? KO_FLAGGED : KO_CLEAR;
    if (disclosed)
        snprintf(r->reason, sizeof r->reason, "%zu site(s) in view and resolved", disclosed);
    else if (r->n)
        snprintf(r->reason, sizeof r->reason,
                 "%zu site(s) in view, none resolved finely enough to disclose", r->n);
    else
        snprintf(r->reason, sizeof r->reason, "no protected site in view");
    /* With a DEM the verdict rests on an altitude assumption: the record says which. */
    const char *note = ko_footprint_altitude_note(r->fp);
    size_t len = strlen(r->reason);
    if (*note) snprintf(r->reason + len, sizeof r->reason - len, "; %s", note);
}

ko_status ko_check_shot(ko_context *ctx, ko_sites *sites, const ko_shot *shot,
                        const ko_check_options *opts, ko_result **out) {
    if (!ctx || !sites || !shot || !out) return koi_error(ctx, KO_ERR_ARG, "check: NULL argument");
    ko_check_options defaults;
    if (!opts) {
        ko_check_options_init(&defaults);
        opts = &defaults;
    }
    /* options the library cannot read are the caller's error, not an unknown verdict */
    ko_status bad = KOI_CHECK_OPTIONS(ctx, ko_check_options, opts);
    if (bad ||
        (opts->footprint && (bad = KOI_CHECK_OPTIONS(ctx, ko_footprint_options, opts->footprint))))
        return bad;
    ko_result *r = koi_calloc(1, sizeof *r);
    if (!r) return koi_error(ctx, KO_ERR_NOMEM, "check: out of memory");
    if (shot->reason || shot->unreadable) {
        r->unreadable = shot->unreadable != 0;
        *out = unknown(r, "%s", shot->reason ? shot->reason : "the input could not be read");
        return KO_OK;
    }
    if (ko_footprint_compute(ctx, &shot->camera, &shot->pose, opts->footprint, &r->fp)) {
        *out = unknown(r, "%s", ko_errmsg(ctx));
        return KO_OK;
    }
    size_t n;
    const double *ring = ko_footprint_ring(r->fp, &n);
    if (n < 4) { /* a view collapsed to a point or a line (a telephoto 1 cm above ground) */
        *out = unknown(r,
                       "footprint: degenerate ring of %zu point(s): the view on the ground is too "
                       "small to be a polygon",
                       n);
        return KO_OK;
    }
    double margin = opts->margin_m;
    if (moving(shot)) {
        double m = motion_margin(r->fp, shot);
        if (isnan(m)) {
            *out = unknown(r,
                           "video: the camera turns or climbs %.2f m above the ground, too low "
                           "to bound the ground it sweeps",
                           koi_footprint_clearance(r->fp));
            return KO_OK;
        }
        margin = fmax(margin, 0.0) + m;
    }
    if (koi_footprint_holds_pole(ctx, r->fp, margin)) { /* (the margin takes it there) */
        *out = unknown(r,
                       "footprint: the view from latitude %.6f holds the %s pole, where it has no "
                       "ring in longitude/latitude to test against the sites",
                       shot->pose.lat, shot->pose.lat > 0 ? "north" : "south");
        return KO_OK;
    }
    double *wide = NULL;
    ko_status st = KO_OK;
    if (margin > 0 && (st = widen(ctx, r->fp, &shot->pose, margin,
                                  motion_reach(r->fp, shot, opts->margin_m), &wide, &n))) {
        ko_result_destroy(r);
        return st;
    }
    st = ko_sites_query(sites, wide ? wide : ring, n, shot->pose.lon, shot->pose.lat, &r->hits);
    free(wide);
    if (st == KO_ERR_GEOS) {
        /* One row's geometry failed (a site GEOS cannot read or measure against this
         * footprint): that row cannot be judged, the run goes on. */
        *out = unknown(r, "geometry failure: %s", ko_errmsg(ctx));
        return KO_OK;
    }
    if (!st) st = collect(ctx, r, shot);
    if (st) { /* the store failed: not a verdict but an error the caller must surface */
        ko_result_destroy(r);
        return st;
    }
    summarise(r);
    *out = r;
    return KO_OK;
}
