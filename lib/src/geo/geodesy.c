/* The local azimuthal-equidistant frame under a camera: east/north metres <-> WGS84 degrees,
 * through PROJ's geodesic solver (geod_direct/geod_inverse) and a second-order series near
 * the centre. */
#include <math.h>

#include "core/core.h"
#include "geo/geo.h"

void koi_local_to_wgs84(const ko_context *ctx, double lat0, double lon0, double east, double north,
                        double *lat, double *lon) {
    double az = atan2(east, north) * (180.0 / 3.14159265358979323846);
    geod_direct(koi_ctx_geod(ctx), lat0, lon0, az, hypot(east, north), lat, lon, NULL);
}

void koi_aeqd_init(koi_aeqd *f, const ko_context *ctx, double lat0, double lon0) {
    const double e2 = 0.0066943799901413165, d2r = 3.14159265358979323846 / 180;
    f->ctx = ctx;
    f->lat0 = lat0, f->lon0 = lon0;
    f->series = fabs(lat0) <= 70.0;
    double s = sin(lat0 * d2r), c = cos(lat0 * d2r), t = s / c;
    double w2 = 1 - e2 * s * s, n_rad, m_rad;
    koi_wgs84_radii(lat0, &m_rad, &n_rad);
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

double koi_aeqd_sag(const koi_aeqd *f, double e0, double n0, double e1, double n1, double *de,
                    double *dn) {
    const double r = KOI_AEQD_SERIES_M * KOI_AEQD_SERIES_M, d2r = 3.14159265358979323846 / 180;
    if (f->series && e0 * e0 + n0 * n0 <= r && e1 * e1 + n1 * n1 <= r) {
        double we = e1 - e0, wn = n1 - n0;
        *dn = (f->t_mn * we * we + f->q_n2 * f->inv_m * f->inv_m * wn * wn) / (4 * f->inv_m);
        *de = -f->c_en * we * wn / (4 * f->inv_nc);
        return fabs(we) * f->inv_nc / d2r;
    }
    double la0, lo0, la1, lo1, lam, lom, ce, cn;
    koi_aeqd_to_wgs84(f, e0, n0, &la0, &lo0);
    koi_aeqd_to_wgs84(f, e1, n1, &la1, &lo1);
    koi_aeqd_to_wgs84(f, 0.5 * (e0 + e1), 0.5 * (n0 + n1), &lam, &lom);
    /* The chord's midpoint (the short way round, as the ring goes) taken back into the frame:
     * exact, and in the frame's own axes (near a pole a point's north turns with its
     * longitude). */
    double clon = lo0 + 0.5 * remainder(lo1 - lo0, 360.0), clat = 0.5 * (la0 + la1);
    koi_wgs84_to_local(f->ctx, f->lat0, f->lon0, clat, clon, &ce, &cn);
    *de = 0.5 * (e0 + e1) - ce;
    *dn = 0.5 * (n0 + n1) - cn;
    /* the longitude the edge runs through: its halves' (the chord between the ends may go the
     * other way round a pole) */
    return fabs(remainder(lom - lo0, 360.0)) + fabs(remainder(lo1 - lom, 360.0));
}

void koi_wgs84_to_local(const ko_context *ctx, double lat0, double lon0, double lat, double lon,
                        double *east, double *north) {
    double s, az;
    geod_inverse(koi_ctx_geod(ctx), lat0, lon0, lat, lon, &s, &az, NULL);
    az *= 3.14159265358979323846 / 180.0;
    *east = s * sin(az);
    *north = s * cos(az);
}
