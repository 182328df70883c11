/* keepout route --map: a self-contained SVG of the plans (no tiles, no network): swept and
 * exposure footprints, sites near the route, the route with its waypoints, conflicting legs
 * and conflicts highlighted, a scale bar, a north arrow and a legend. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "route_cli.h"

#define MAP_W 1000.0 /* drawing area, px */
#define MAP_MAX_H 800.0
#define MAP_MARGIN 40.0
#define LEGEND_W 260.0
#define MAX_FOOTPRINTS 2000 /* beyond this only the swept legs are drawn: a readable map */
#define EARTH_R 6371008.8

#define C_CONFLICT "#d7191c"
#define C_SITE "#7b3294"
#define C_SWEPT "#2b83ba"
#define C_ROUTE "#1a1a1a"

/* Equirectangular view of the extent: metres from the centre, then pixels (y down). */
typedef struct view {
    double lon0, lat0, coslat, scale, cx, cy;
    double minx, miny, maxx, maxy; /* extent, degrees */
    double w, h;
} view;

static void to_px(const view *v, double lon, double lat, double *x, double *y) {
    double mx = (lon - v->lon0) * M_PI / 180.0 * EARTH_R * v->coslat;
    double my = (lat - v->lat0) * M_PI / 180.0 * EARTH_R;
    *x = v->cx + mx * v->scale;
    *y = v->cy - my * v->scale;
}

static void grow(view *v, double lon, double lat) {
    if (!isfinite(lon) || !isfinite(lat)) return;
    v->minx = fmin(v->minx, lon);
    v->maxx = fmax(v->maxx, lon);
    v->miny = fmin(v->miny, lat);
    v->maxy = fmax(v->maxy, lat);
}

static void grow_geom(view *v, OGRGeometryH g) {
    if (!g) return;
    OGREnvelope e;
    OGR_G_GetEnvelope(g, &e);
    grow(v, e.MinX, e.MinY);
    grow(v, e.MaxX, e.MaxY);
}

static void fit(view *v) {
    v->lon0 = (v->minx + v->maxx) / 2;
    v->lat0 = (v->miny + v->maxy) / 2;
    v->coslat = cos(v->lat0 * M_PI / 180.0);
    double wm = fmax((v->maxx - v->minx) * M_PI / 180.0 * EARTH_R * v->coslat, 20.0);
    double hm = fmax((v->maxy - v->miny) * M_PI / 180.0 * EARTH_R, 20.0);
    v->scale = fmin((MAP_W - 2 * MAP_MARGIN) / wm, (MAP_MAX_H - 2 * MAP_MARGIN) / hm);
    v->w = MAP_W + LEGEND_W;
    v->h = fmax(hm * v->scale + 2 * MAP_MARGIN, 360.0);
    v->cx = MAP_W / 2;
    v->cy = v->h / 2;
}

/* Writes an SVG path's d attribute for any OGR geometry (points as small squares). */
static void path_d(FILE *fp, const view *v, OGRGeometryH g) {
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int parts = OGR_G_GetGeometryCount(g);
    if (t == wkbPoint) {
        double x, y;
        to_px(v, OGR_G_GetX(g, 0), OGR_G_GetY(g, 0), &x, &y);
        fprintf(fp, "M%.1f %.1fh6v6h-6z", x - 3, y - 3);
        return;
    }
    if (parts > 0) {
        for (int i = 0; i < parts; i++)
            path_d(fp, v, OGR_G_GetGeometryRef(g, i));
        return;
    }
    int n = OGR_G_GetPointCount(g);
    for (int i = 0; i < n; i++) {
        double x, y;
        to_px(v, OGR_G_GetX(g, i), OGR_G_GetY(g, i), &x, &y);
        fprintf(fp, "%c%.1f %.1f", i ? 'L' : 'M', x, y);
    }
    if (t == wkbLinearRing || (n > 2 && OGR_G_GetX(g, 0) == OGR_G_GetX(g, n - 1) &&
                               OGR_G_GetY(g, 0) == OGR_G_GetY(g, n - 1)))
        fputc('z', fp);
}

static void draw(FILE *fp, const view *v, OGRGeometryH g, const char *style) {
    if (!g) return;
    fputs("<path d=\"", fp);
    path_d(fp, v, g);
    fprintf(fp, "\" %s/>\n", style);
}

/* Sites to draw: every site the store has inside the map's extent, and whether any exposure
 * discloses it. */
typedef struct site_set {
    int64_t *ids;
    int *conflict;
    char **names;    /* owned; NULL where the site has none */
    double (*at)[2]; /* where each site's label goes (px), NaN until drawn */
    size_t n, cap;
} site_set;

static void site_set_free(site_set *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->ids);
    free(s->conflict);
    free(s->names);
    free(s->at);
}

static int site_add(site_set *s, int64_t id, const char *name, int conflict) {
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == id) {
            s->conflict[i] |= conflict;
            return 1;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        int64_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids) return 0;
        s->ids = ids;
        int *c = realloc(s->conflict, cap * sizeof *c);
        if (!c) return 0;
        s->conflict = c;
        char **nm = realloc(s->names, cap * sizeof *nm);
        if (!nm) return 0;
        s->names = nm;
        double(*at)[2] = realloc(s->at, cap * sizeof *at);
        if (!at) return 0;
        s->at = at;
        s->cap = cap;
    }
    s->names[s->n] = name && *name ? strdup(name) : NULL;
    if (name && *name && !s->names[s->n]) return 0;
    s->at[s->n][0] = s->at[s->n][1] = NAN;
    s->ids[s->n] = id;
    s->conflict[s->n++] = conflict;
    return 1;
}

static int collect_sites(ko_sites *sites, const view *v, const plan_eval *plans, size_t n,
                         site_set *out) {
    for (size_t p = 0; p < n; p++)
        for (size_t i = 0; i < ko_exposures_count(plans[p].ex); i++)
            for (size_t k = 0; k < ko_result_count(plans[p].res[i]); k++) {
                const ko_finding *f = ko_result_finding(plans[p].res[i], k);
                if (!site_add(out, f->site->site_id, f->site->name, f->disclosed)) return 0;
            }
    double box[10] = {v->minx, v->miny, v->maxx, v->miny, v->maxx,
                      v->maxy, v->minx, v->maxy, v->minx, v->miny};
    ko_hits *hits = NULL;
    if (ko_sites_query(sites, box, 5, v->lon0, v->lat0, &hits) != KO_OK) return 1; /* optional */
    int ok = 1;
    for (size_t i = 0; ok && i < ko_hits_count(hits) && out->n < 5000; i++)
        ok = site_add(out, ko_hits_get(hits, i)->site_id, ko_hits_get(hits, i)->name, 0);
    ko_hits_destroy(hits);
    return ok;
}

static void draw_site(FILE *fp, const view *v, ko_sites *sites, int64_t id, int conflict,
                      double at[2]) {
    for (int buffered = 1; buffered >= 0; buffered--) {
        char *wkt = NULL;
        if (ko_sites_site_wkt(sites, id, buffered, &wkt) != KO_OK) continue;
        OGRGeometryH g = NULL;
        char *cursor = wkt;
        OGR_G_CreateFromWkt(&cursor, NULL, &g);
        ko_free(wkt);
        const char *col = conflict ? C_CONFLICT : C_SITE;
        char style[160];
        if (buffered)
            snprintf(style, sizeof style,
                     "fill=\"none\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"4 3\"",
                     col);
        else
            snprintf(style, sizeof style,
                     "fill=\"%s\" fill-opacity=\"0.55\" stroke=\"%s\" stroke-width=\"1.5\"", col,
                     col);
        draw(fp, v, g, style);
        if (g && !buffered) { /* the label: right of the site's box */
            OGREnvelope e;
            OGR_G_GetEnvelope(g, &e);
            double x0, y0, x1, y1;
            to_px(v, e.MinX, e.MinY, &x0, &y0);
            to_px(v, e.MaxX, e.MaxY, &x1, &y1);
            at[0] = x1 + 4, at[1] = (y0 + y1) / 2 + 4;
        }
        if (g) OGR_G_DestroyGeometry(g);
    }
}

/* Text for the SVG: cleaned as every face shows outside text (ko_text_clean), then XML's five
 * characters escaped: a site name like "A&B <sub>" must neither break nor script the map. */
static void svg_text(FILE *fp, const char *raw) {
    char *t = out_clean(raw);
    for (const char *c = t ? t : "?"; *c; c++)
        switch (*c) {
            case '&':
                fputs("&amp;", fp);
                break;
            case '<':
                fputs("&lt;", fp);
                break;
            case '>':
                fputs("&gt;", fp);
                break;
            case '"':
                fputs("&quot;", fp);
                break;
            case '\'':
                fputs("&apos;", fp);
                break;
            default:
                fputc(*c, fp);
        }
    ko_free(t);
}

#define MAX_SITE_LABELS 100 /* beyond this only the sites a plan captures are named */

/* Labels last, over the dots, with a white halo: waypoint numbers and site names. */
static void draw_labels(FILE *fp, const view *v, const plan_eval *plans, size_t n,
                        const site_set *ss) {
    fputs(
        "<g class=\"labels\" font-size=\"11\" stroke=\"white\" stroke-width=\"3\" "
        "paint-order=\"stroke\">\n",
        fp);
    for (size_t p = 0; p < n; p++) {
        size_t nw = ko_route_waypoint_count(plans[p].rt);
        for (size_t i = 0; nw <= 60 && i < nw; i++) {
            const ko_waypoint *w = ko_route_waypoint(plans[p].rt, i);
            double x, y;
            to_px(v, w->lon, w->lat, &x, &y);
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">%d</text>\n", x + 6, y - 6, w->number);
        }
    }
    for (size_t i = 0; i < ss->n; i++) {
        if (!ss->names[i] || isnan(ss->at[i][0])) continue;
        if (!ss->conflict[i] && ss->n > MAX_SITE_LABELS) continue;
        fprintf(fp, "<text class=\"site\" x=\"%.1f\" y=\"%.1f\" fill=\"%s\">", ss->at[i][0],
                ss->at[i][1], ss->conflict[i] ? C_CONFLICT : C_SITE);
        svg_text(fp, ss->names[i]);
        fputs("</text>\n", fp);
    }
    fputs("</g>\n", fp);
}

static OGRGeometryH footprint_geom(const ko_footprint *fp) {
    size_t n = 0;
    const double *ring = ko_footprint_ring(fp, &n);
    OGRGeometryH lr = OGR_G_CreateGeometry(wkbLinearRing);
    for (size_t i = 0; i < n; i++)
        OGR_G_AddPoint_2D(lr, ring[2 * i], ring[2 * i + 1]);
    return lr;
}

static void draw_plan(FILE *fp, const view *v, const plan_eval *p, int footprints) {
    for (size_t l = 0; l < p->n_legs; l++)
        draw(fp, v, p->swept[l],
             p->leg_verdict[l] == KO_FLAGGED
                 ? "fill=\"" C_CONFLICT "\" fill-opacity=\"0.12\" stroke=\"none\""
                 : "fill=\"" C_SWEPT "\" fill-opacity=\"0.15\" stroke=\"none\"");
    for (size_t i = 0; footprints && i < ko_exposures_count(p->ex); i++) {
        const ko_footprint *f = ko_result_footprint(p->res[i]);
        if (!f) continue;
        OGRGeometryH g = footprint_geom(f);
        draw(fp, v, g,
             ko_result_verdict(p->res[i]) == KO_FLAGGED
                 ? "fill=\"none\" stroke=\"" C_CONFLICT "\" stroke-width=\"1\""
                 : "fill=\"none\" stroke=\"" C_SWEPT
                   "\" stroke-width=\"0.6\" stroke-opacity=\"0.7\"");
        OGR_G_DestroyGeometry(g);
    }
}

static void draw_route(FILE *fp, const view *v, const plan_eval *p) {
    size_t n = ko_route_waypoint_count(p->rt);
    for (size_t l = 0; l + 1 < n; l++) {
        const ko_waypoint *a = ko_route_waypoint(p->rt, l), *b = ko_route_waypoint(p->rt, l + 1);
        double x1, y1, x2, y2;
        to_px(v, a->lon, a->lat, &x1, &y1);
        to_px(v, b->lon, b->lat, &x2, &y2);
        int bad = p->leg_verdict[l] == KO_FLAGGED;
        fprintf(fp,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"%s\"/>\n",
                x1, y1, x2, y2, bad ? C_CONFLICT : C_ROUTE, bad ? "5" : "2");
    }
    for (size_t i = 0; i < n; i++) {
        const ko_waypoint *w = ko_route_waypoint(p->rt, i);
        double x, y;
        to_px(v, w->lon, w->lat, &x, &y);
        fprintf(fp,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"white\" stroke=\"%s\" "
                "stroke-width=\"1.5\"/>\n",
                x, y, C_ROUTE);
    }
}

static void draw_conflicts(FILE *fp, const view *v, const plan_eval *p) {
    for (size_t i = 0; i < ko_exposures_count(p->ex); i++)
        for (size_t k = 0; k < ko_result_count(p->res[i]); k++) {
            const ko_finding *f = ko_result_finding(p->res[i], k);
            if (!f->disclosed) continue;
            double x, y;
            to_px(v, f->site->nearest_lon, f->site->nearest_lat, &x, &y);
            fprintf(fp,
                    "<circle class=\"conflict\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"%s\" "
                    "stroke=\"white\" stroke-width=\"1.5\"/>\n",
                    x, y, C_CONFLICT);
        }
}

/* A scale bar of a round length near a fifth of the map, and a north arrow. */
static void draw_furniture(FILE *fp, const view *v) {
    double target = (MAP_W - 2 * MAP_MARGIN) / 5 / v->scale, len = 1;
    while (len * 10 <= target)
        len *= 10;
    if (len * 5 <= target)
        len *= 5;
    else if (len * 2 <= target)
        len *= 2;
    double px = len * v->scale, y = v->h - 18;
    fprintf(fp,
            "<g font-size=\"12\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"6\" "
            "fill=\"black\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"6\" "
            "fill=\"white\" stroke=\"black\"/><text x=\"%.1f\" y=\"%.1f\">%g %s</text></g>\n",
            MAP_MARGIN, y, px / 2, MAP_MARGIN + px / 2, y, px / 2, MAP_MARGIN + px + 6, y + 7,
            len >= 1000 ? len / 1000 : len, len >= 1000 ? "km" : "m");
    fprintf(fp,
            "<g transform=\"translate(%.1f,40)\"><path d=\"M0 -22L8 6L0 0L-8 6z\" fill=\"black\"/>"
            "<text x=\"-5\" y=\"22\" font-size=\"14\" font-weight=\"bold\">N</text></g>\n",
            MAP_W - MAP_MARGIN);
}

static void legend_item(FILE *fp, double y, const char *swatch, const char *label) {
    fprintf(fp, "<g transform=\"translate(%.1f,%.1f)\">%s<text x=\"34\" y=\"5\">%s</text></g>\n",
            MAP_W + 10, y, swatch, label);
}

static void draw_legend(FILE *fp, const plan_eval *plans, size_t n) {
    size_t flagged = 0, unknown = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        flagged += plans[i].flagged;
        unknown += plans[i].unknown;
        total += ko_exposures_count(plans[i].ex);
    }
    fprintf(fp,
            "<g font-size=\"12\"><rect x=\"%.1f\" y=\"10\" width=\"%.1f\" height=\"250\" "
            "fill=\"white\" stroke=\"#999\"/>\n<text x=\"%.1f\" y=\"32\" font-size=\"14\" "
            "font-weight=\"bold\">keepout route</text>\n<text x=\"%.1f\" y=\"50\">%zu exposures: "
            "%zu flagged, %zu unknown</text>\n",
            MAP_W, LEGEND_W - 10, MAP_W + 10, MAP_W + 10, total, flagged, unknown);
    legend_item(fp, 75,
                "<line x1=\"0\" y1=\"0\" x2=\"26\" y2=\"0\" stroke=\"" C_ROUTE
                "\" stroke-width=\"2\"/>",
                "route, waypoints");
    legend_item(fp, 97,
                "<line x1=\"0\" y1=\"0\" x2=\"26\" y2=\"0\" stroke=\"" C_CONFLICT
                "\" stroke-width=\"5\"/>",
                "leg that captures a site");
    legend_item(fp, 119,
                "<rect x=\"0\" y=\"-6\" width=\"26\" height=\"12\" fill=\"" C_SWEPT
                "\" fill-opacity=\"0.3\"/>",
                "ground the camera sweeps");
    legend_item(fp, 141,
                "<rect x=\"0\" y=\"-6\" width=\"26\" height=\"12\" fill=\"none\" "
                "stroke=\"" C_SWEPT "\"/>",
                "photo footprint");
    legend_item(fp, 163,
                "<rect x=\"0\" y=\"-6\" width=\"26\" height=\"12\" fill=\"" C_SITE
                "\" fill-opacity=\"0.55\"/>",
                "protected site (dashed: buffer)");
    legend_item(fp, 185,
                "<rect x=\"0\" y=\"-6\" width=\"26\" height=\"12\" fill=\"" C_CONFLICT
                "\" fill-opacity=\"0.55\"/>",
                "site the plan captures");
    legend_item(fp, 207, "<circle cx=\"13\" cy=\"0\" r=\"6\" fill=\"" C_CONFLICT "\"/>",
                "conflict (nearest point seen)");
    fputs(
        "<text x=\"1010\" y=\"232\" fill=\"#555\">no basemap: nothing leaves</text>"
        "<text x=\"1010\" y=\"248\" fill=\"#555\">this machine</text></g>\n",
        fp);
}

int map_write(const char *path, ko_sites *sites, const plan_eval *plans, size_t n) {
    view v = {.minx = INFINITY, .miny = INFINITY, .maxx = -INFINITY, .maxy = -INFINITY};
    size_t footprints = 0;
    for (size_t p = 0; p < n; p++) {
        for (size_t i = 0; i < ko_route_waypoint_count(plans[p].rt); i++) {
            const ko_waypoint *w = ko_route_waypoint(plans[p].rt, i);
            grow(&v, w->lon, w->lat);
        }
        for (size_t l = 0; l < plans[p].n_legs; l++)
            grow_geom(&v, plans[p].swept[l]);
        footprints += ko_exposures_count(plans[p].ex);
    }
    fit(&v);
    site_set ss = {0};
    int ok = collect_sites(sites, &v, plans, n, &ss);
    FILE *fp = ok ? fopen(path, "w") : NULL;
    if (!fp) {
        fprintf(stderr, "keepout route: cannot write the map %s\n", path);
        site_set_free(&ss);
        return 0;
    }
    fprintf(fp,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "viewBox=\"0 0 %.0f %.0f\" preserveAspectRatio=\"xMidYMin meet\" "
            "font-family=\"sans-serif\">\n<rect width=\"%.0f\" height=\"%.0f\" "
            "fill=\"#f7f7f2\"/>\n",
            v.w, v.h, v.w, v.h);
    /* no width or height: the map and its legend scale to the window (1,260 px fixed cut the
     * legend off in a 1,200 px window) */
    for (size_t i = 0; i < ss.n; i++)
        draw_site(fp, &v, sites, ss.ids[i], ss.conflict[i], ss.at[i]);
    for (size_t p = 0; p < n; p++)
        draw_plan(fp, &v, &plans[p], footprints <= MAX_FOOTPRINTS);
    for (size_t p = 0; p < n; p++)
        draw_route(fp, &v, &plans[p]);
    for (size_t p = 0; p < n; p++)
        draw_conflicts(fp, &v, &plans[p]);
    draw_labels(fp, &v, plans, n, &ss);
    draw_furniture(fp, &v);
    draw_legend(fp, plans, n);
    fputs("</svg>\n", fp);
    ok = !ferror(fp);
    if (fclose(fp) != 0) ok = 0;
    if (!ok) fprintf(stderr, "keepout route: write error on the map %s\n", path);
    site_set_free(&ss);
    return ok;
}
