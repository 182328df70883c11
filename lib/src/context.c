/* The context: GEOS and PROJ handles plus the message of the last failure. */
#include "context.h"
#include "image_meta.h"

#include <gdal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <threads.h>

#ifndef KEEPOUT_VERSION_STRING
#define KEEPOUT_VERSION_STRING "unknown"
#endif

static once_flag global_once = ONCE_FLAG_INIT;

static void global_init_once(void) {
    /* Inside a GDAL program (the KEEPOUT plugin) the host has registered its drivers already:
     * registering again would rescan the plugin directory on every first open. */
    if (GDALGetDriverCount() == 0) GDALAllRegister();
}

ko_status ko_global_init(void) {
    call_once(&global_once, global_init_once);
    return KO_OK;
}

/* GEOS reports problems through a handler; keep its last words in the owning context. */
static void geos_message(const char *msg, void *userdata) {
    ko_context *ctx = userdata;
    snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", msg);
}

ko_status ko_context_create(ko_context **out) {
    if (!out) return KO_ERR_ARG;
    ko_global_init();
    ko_context *ctx = koi_calloc(1, sizeof *ctx);
    if (!ctx) return KO_ERR_NOMEM;
    ctx->geos = GEOS_init_r();
    ctx->proj = proj_context_create();
    if (!ctx->geos || !ctx->proj) {
        ko_context_destroy(ctx);
        return KO_ERR_NOMEM;
    }
    GEOSContext_setErrorMessageHandler_r(ctx->geos, geos_message, ctx);
    geod_init(&ctx->wgs84, 6378137.0, 1.0 / 298.257223563);
    /* keepout never touches the network: the site store and the flight paths are sensitive. */
    proj_context_set_enable_network(ctx->proj, 0);
    *out = ctx;
    return KO_OK;
}

void ko_context_destroy(ko_context *ctx) {
    if (!ctx) return;
    if (ctx->geos) GEOS_finish_r(ctx->geos);
    if (ctx->proj) proj_context_destroy(ctx->proj);
    koi_camera_table_free(ctx->cameras);
    koi_boundary_free(ctx->boundary);
    free(ctx->scratch);
    koi_xmp_free(ctx->xmp_parser);
    free(ctx);
}

const char *ko_errmsg(const ko_context *ctx) {
    return ctx ? ctx->errmsg : "no context";
}

const char *ko_version(void) {
    return KEEPOUT_VERSION_STRING;
}

const char *ko_status_str(ko_status status) {
    switch (status) {
        case KO_OK:
            return "success";
        case KO_DONE:
            return "no more items";
        case KO_ERR_NOMEM:
            return "out of memory";
        case KO_ERR_ARG:
            return "invalid argument";
        case KO_ERR_IO:
            return "input/output error";
        case KO_ERR_FORMAT:
            return "malformed input";
        case KO_ERR_UNSUPPORTED:
            return "unsupported input or option";
        case KO_ERR_PROJ:
            return "coordinate transformation failed";
        case KO_ERR_GEOS:
            return "geometry operation failed";
        case KO_ERR_DB:
            return "site store error";
        case KO_ERR_LIMIT:
            return "size limit exceeded";
        case KO_ERR_NOT_FOUND:
            return "not found";
        case KO_ERR_INTERNAL:
            return "internal error";
        case KO_ERR_CANCELLED:
            return "cancelled";
    }
    return "unknown status";
}

ko_status koi_error(ko_context *ctx, ko_status status, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void koi_clear_error(ko_context *ctx) {
    if (ctx) ctx->errmsg[0] = '\0';
}

void ko_free(void *ptr) {
    free(ptr);
}

void *koi_malloc(size_t size) {
    return malloc(size ? size : 1);
}

void *koi_calloc(size_t n, size_t size) {
    return calloc(n ? n : 1, size ? size : 1);
}

void *koi_realloc_array(void *ptr, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return realloc(ptr, bytes ? bytes : 1);
}

char *koi_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = koi_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void koi_local_to_wgs84(const ko_context *ctx, double lat0, double lon0, double east, double north,
                        double *lat, double *lon) {
    double az = atan2(east, north) * (180.0 / 3.14159265358979323846);
    geod_direct(&ctx->wgs84, lat0, lon0, az, hypot(east, north), lat, lon, NULL);
}

void koi_aeqd_init(koi_aeqd *f, const ko_context *ctx, double lat0, double lon0) {
    const double a = 6378137.0, e2 = 0.0066943799901413165, d2r = 3.14159265358979323846 / 180;
    f->ctx = ctx;
    f->lat0 = lat0, f->lon0 = lon0;
    f->series = fabs(lat0) <= 70.0;
    double s = sin(lat0 * d2r), c = cos(lat0 * d2r), t = s / c;
    double w2 = 1 - e2 * s * s, w = sqrt(w2);
    double n_rad = a / w, m_rad = a * (1 - e2) / (w2 * w);
    /* Second-order expansion of the direct geodesic problem in (north, east): the meridian
     * arc with M's variation, the convergence of meridians, and 1/(N cos) varying north. */
    f->inv_m = 1 / m_rad;                                  /* dlat/dn */
    f->inv_nc = 1 / (n_rad * c);                           /* dlon/de */
    f->t_mn = t / (2 * m_rad * n_rad);                     /* -dlat per e^2 */
    f->q_n2 = 1.5 * e2 * s * c / w2;                       /* -dlat per (n/M)^2 */
    f->c_en = (t - e2 * s * c / w2) / (m_rad * n_rad * c); /* dlon per e*n */
}

void koi_aeqd_to_wgs84(const koi_aeqd *f, double east, double north, double *lat, double *lon) {
    const double r2d = 180.0 / 3.14159265358979323846;
    if (!f->series || east * east + north * north > KOI_AEQD_SERIES_M * KOI_AEQD_SERIES_M) {
        koi_local_to_wgs84(f->ctx, f->lat0, f->lon0, east, north, lat, lon);
        return;
    }
    double dn = north * f->inv_m;
    *lat = f->lat0 + (dn - east * east * f->t_mn - f->q_n2 * dn * dn) * r2d;
    *lon = f->lon0 + (east * f->inv_nc + east * north * f->c_en) * r2d;
}

void koi_wgs84_to_local(const ko_context *ctx, double lat0, double lon0, double lat, double lon,
                        double *east, double *north) {
    double s, az;
    geod_inverse(&ctx->wgs84, lat0, lon0, lat, lon, &s, &az, NULL);
    az *= 3.14159265358979323846 / 180.0;
    *east = s * sin(az);
    *north = s * cos(az);
}

void *koi_scratch(ko_context *ctx, size_t size) {
    if (size > ctx->scratch_cap) {
        unsigned char *p = koi_malloc(size);
        if (!p) return NULL;
        free(ctx->scratch);
        ctx->scratch = p;
        ctx->scratch_cap = size;
    }
    return ctx->scratch;
}
