/* Private: the context's innards, shared by the library's modules. */
#ifndef KEEPOUT_CONTEXT_H
#define KEEPOUT_CONTEXT_H

#include <geodesic.h>
#include <math.h>
#include <geos_c.h>
#include <proj.h>

#include "keepout/keepout.h"

#define KOI_ERRMSG_MAX 1024

struct ko_context {
    GEOSContextHandle_t geos;
    PJ_CONTEXT *proj;
    struct geod_geodesic wgs84; /* PROJ's geodesic solver on the WGS84 ellipsoid */
    char errmsg[KOI_ERRMSG_MAX];
    char geos_msg[KOI_ERRMSG_MAX];    /* last message of the GEOS error handler */
    struct koi_camera_table *cameras; /* parsed on first lookup (camera_table.c) */
    struct koi_boundary *boundary;    /* the last camera's undistorted image boundary */
    unsigned char *scratch;           /* koi_scratch(): reused between files */
    size_t scratch_cap;
    void *xmp_parser;       /* expat, kept between packets (xmp.c) */
    unsigned long xmp_salt; /* its hash salt, random per context */
};

/* What the context holds beyond GEOS (context_stack.c): GDAL registered, PROJ, the readers'
 * caches. The query-only launcher links stubs instead (lib/query_only/). */
ko_status koi_context_init_stack(ko_context *ctx);
void koi_context_free_stack(ko_context *ctx);

void koi_boundary_free(struct koi_boundary *b);

void koi_camera_table_free(struct koi_camera_table *t);

/* Records a formatted message in ctx (when ctx is not NULL) and returns status, so that
 * callers can write `return koi_error(ctx, KO_ERR_IO, "%s: cannot open", path);`. */
ko_status koi_error(ko_context *ctx, ko_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The local azimuthal-equidistant frame centred on (lat0, lon0): east/north metres <-> WGS84
 * degrees. The ellipsoidal aeqd is exactly PROJ's geodesic direct/inverse problem from the
 * centre, so these call geod_direct/geod_inverse instead of building a PJ for every centre. */
void koi_local_to_wgs84(const ko_context *ctx, double lat0, double lon0, double east, double north,
                        double *lat, double *lon);

/* The same frame set up once for many points (a footprint's ring). Within KOI_AEQD_SERIES_M of
 * the centre and at |lat0| <= 70 deg a second-order series is used: its worst error against
 * geod_direct is 0.54 mm at 2 km and 70 deg (3 um at 1 km, 45 deg; check_context measures it);
 * beyond, the exact geodesic. */
#define KOI_AEQD_SERIES_M 2000.0
typedef struct koi_aeqd {
    const ko_context *ctx;
    double lat0, lon0;
    int series;                             /* the centre allows the series */
    double inv_m, inv_nc, t_mn, q_n2, c_en; /* series coefficients at the centre */
} koi_aeqd;
void koi_aeqd_init(koi_aeqd *f, const ko_context *ctx, double lat0, double lon0);

/* WGS84: the radii of curvature at latitude lat_deg, metres: *m_rad along the meridian, *n_rad
 * in the prime vertical (a parallel's radius is n_rad cos(lat)). The one place the library
 * turns degrees into metres locally (queries, GSD, the local frame's series). */
static inline void koi_wgs84_radii(double lat_deg, double *m_rad, double *n_rad) {
    const double a = 6378137.0, e2 = 0.0066943799901413165;
    double s = sin(lat_deg * (3.14159265358979323846 / 180.0)), w2 = 1 - e2 * s * s;
    double w = sqrt(w2);
    *n_rad = a / w;
    *m_rad = a * (1 - e2) / (w2 * w);
}
void koi_aeqd_to_wgs84(const koi_aeqd *f, double east, double north, double *lat, double *lon);
/* How far (east, north metres) the frame's true midpoint of the straight local edge
 * (e0, n0)-(e1, n1) lies from the midpoint of the straight lon/lat chord between its ends.
 * Within the series it is exact for the series (which is quadratic: -1/4 of its quadratic
 * part on the edge's run); beyond, from three points. Returns the degrees of longitude the
 * edge runs through (near a pole far more than between its ends: it may go round). */
double koi_aeqd_sag(const koi_aeqd *f, double e0, double n0, double e1, double n1, double *de,
                    double *dn);
void koi_wgs84_to_local(const ko_context *ctx, double lat0, double lon0, double lat, double lon,
                        double *east, double *north);

/* A buffer of at least `size` bytes owned by ctx, kept for the next call (the JPEG header
 * window): one module at a time uses it, never across a call into another module. NULL when
 * out of memory. */
void *koi_scratch(ko_context *ctx, size_t size);

/* Clears the message of the last failure. */
void koi_clear_error(ko_context *ctx);

/* Options structs (DESIGN.md, "C API stability"): their leading size field must be one the
 * library knows, between min (the struct's size in the first version that had it) and max
 * (its size now); else KO_ERR_ARG with a message naming the struct and its init function,
 * so a caller built against another keepout.h, or that never called the init function, is
 * refused rather than read wrong. ctx may be NULL (no message). */
ko_status koi_check_size(ko_context *ctx, const char *type, size_t size, size_t min, size_t max);
/* The check for the struct as this library defines it. No version has grown one yet; when a
 * field is appended, min becomes the struct's first size and every reader of the struct
 * copies only p->size bytes over its defaults (never *p whole). */
#define KOI_CHECK_OPTIONS(ctx, type, p) \
    koi_check_size((ctx), #type, (p)->size, sizeof(type), sizeof(type))

/* Checked allocation: every allocation in the library goes through these. They return NULL
 * on failure (or on overflow of n * size) and never abort. */

/* Allocation failure on demand, for tests only (tests/fault/): a program that defines this
 * function has it called before every koi_malloc, koi_calloc and koi_realloc_array (and so
 * koi_strdup and koi_scratch), and a non-zero return fails that allocation. Everywhere else it
 * is an undefined weak symbol, which the linker resolves to NULL: the library keeps no state
 * for it, and an allocation pays one compare with a link-time constant. */
int koi_fault_alloc(void) __attribute__((weak));

void *koi_malloc(size_t size);
void *koi_calloc(size_t n, size_t size);
void *koi_realloc_array(void *ptr, size_t n, size_t size);
char *koi_strdup(const char *s);

#endif
