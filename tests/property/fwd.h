/* An independent forward camera model for the property test: world point -> pixel.
 *
 * It shares no code with lib/src. The world model is the contract's (docs/DESIGN.md, "Frames
 * and conventions"): flat ground `height` metres below the camera; a ground point at geodesic
 * distance s and azimuth az from the camera (PROJ's geod_inverse on WGS84) sits at
 * (east, north) = (s sin az, s cos az) in the camera's local azimuthal-equidistant frame, i.e.
 * at NED (north, east, +height) from the camera. NED is rotated into the camera body frame
 * (aerospace Z-Y-X yaw, pitch, roll; optical axis = body x, image right = body y, image down =
 * body z), divided by depth, distorted (Brown, OpenCV convention) and scaled to pixels.
 */
#ifndef KEEPOUT_PROPERTY_FWD_H
#define KEEPOUT_PROPERTY_FWD_H

#include <geodesic.h>

/** The camera and pose of one case, in the test's own terms. */
typedef struct fwd_cam {
    double lat, lon, height; /* degrees, metres above the flat ground */
    double yaw, pitch, roll; /* degrees */
    double focal_mm, sensor_w_mm, sensor_h_mm;
    double width, height_px;   /* image size in pixels */
    double cx, cy;             /* principal point, pixels */
    double k1, k2, k3, p1, p2; /* Brown distortion */
    /* derived by fwd_cam_prepare() */
    double fx, fy;
    double r_b2n[3][3]; /* body -> NED */
    double r2_mono;     /* squared undistorted radius where the radial map stops rising */
} fwd_cam;

/** What the camera makes of one ground point. */
typedef struct fwd_obs {
    int front;       /* in front of the camera and on the lens's monotonic branch */
    double u, v;     /* pixel coordinates (valid when front) */
    double ground_m; /* ground distance s from the camera */
    double slant_m;  /* straight-line distance */
    double gsd_m;    /* slant / largest singular value of d(u,v)/d(ray angles) */
    double frame_px; /* signed distance to the frame: min(u, W-u, v, H-v); -inf if !front */
} fwd_obs;

/** Fills the derived fields (focal in pixels, rotation, monotonic radius). */
void fwd_cam_prepare(fwd_cam *c);

/** Local frame (metres east, north) of a WGS84 point seen from the camera. */
void fwd_local(const struct geod_geodesic *g, const fwd_cam *c, double lat, double lon,
               double *east, double *north);

/** WGS84 point at local (east, north) metres from the camera (geod_direct). */
void fwd_wgs84(const struct geod_geodesic *g, const fwd_cam *c, double east, double north,
               double *lat, double *lon);

/** Projects a point given in the local frame (on the ground). Returns o->front. */
int fwd_observe_local(const fwd_cam *c, double east, double north, fwd_obs *o);

/** Projects a direction in the body frame to pixels (no front test). Returns 0 if behind. */
int fwd_project_body(const fwd_cam *c, const double d[3], double *u, double *v);

/** Radial distortion factor derivative test: 1 if the radial map r -> r*(1+k1 r^2+...) rises
 * on [0, r]. */
int fwd_monotonic_to(const fwd_cam *c, double r);

/** Distorted radius of undistorted radius r (radial terms only). */
double fwd_radial(const fwd_cam *c, double r);

#endif
