/* Private: camera models (intrinsics, distortion, the image boundary) and the camera table. */
#ifndef KEEPOUT_CAMERA_CAMERA_H
#define KEEPOUT_CAMERA_CAMERA_H

#include "keepout/keepout.h"

/* The camera model shared by footprints, redaction and routes. */
/* Pixel-space intrinsics derived from a ko_camera. When the image size is unknown a virtual
 * image with 1 µm pixels is used: the footprint only depends on the field of view. */
typedef struct koi_intrinsics {
    double width, height; /* image size, pixels */
    double fx, fy;        /* focal length, pixels */
    double cx, cy;        /* principal point, pixels */
    double pixel_rad;     /* angular size of one pixel at the centre; NaN if size unknown */
} koi_intrinsics;

void koi_intrinsics_from(const ko_camera *cam, koi_intrinsics *k);

/* Plausibility of a camera model's pixel geometry, one rule for every source (a photo's
 * calibration, the camera table, a telemetry CSV row; DESIGN.md, "Plausibility"). Lenses are
 * centred on their sensor: a principal point more than KOI_PP_OFF_CENTRE of the frame's width
 * or height from its centre is a calibration of another frame, or an offset from the centre
 * (DJI's DewarpData, Metashape) taken for pixels from the corner (adversaries adv21c, adv27).
 * Drone cameras' pixels are square, or nearly (droneModels.json: 5.8 % apart at most): pitches
 * more than KOI_PIXELS_SQUARE apart are a sensor's sides swapped, or mixed up. */
#define KOI_PP_OFF_CENTRE 0.15
#define KOI_PIXELS_SQUARE 0.10
/* 1 if pixels of pitch_x x pitch_y (any unit) are square within KOI_PIXELS_SQUARE. */
int koi_pitches_square(double pitch_x, double pitch_y);
/* 1 if c's principal point (if any) lies within KOI_PP_OFF_CENTRE of its frame's centre (a
 * principal point without a frame size is refused: nothing to place it on) and, with a frame
 * size and a sensor, its pixels are square; else 0 with why ("<from> puts ...: what to do"). */
int koi_camera_plausible(const ko_camera *c, const char *from, char *why, size_t why_size);

/* Brown model, OpenCV convention, on normalized coordinates. */
void koi_distort(const ko_camera *cam, double x, double y, double *xd, double *yd);

/* Inverts koi_distort by Newton iteration. Returns 0 if it does not converge (the distortion
 * polynomial folds back before that radius). */
int koi_undistort(const ko_camera *cam, double xd, double yd, double *x, double *y);

/* Body-to-NED rotation of the aerospace Z-Y-X angles (yaw, pitch, roll), row-major. */
typedef struct koi_rot {
    double m[3][3];
} koi_rot;

void koi_rotation(double yaw_deg, double pitch_deg, double roll_deg, koi_rot *rot);

/* The aerospace angles of a body-to-NED rotation (the inverse of koi_rotation): pitch in
 * [-90, 90], yaw in [0, 360), roll in (-180, 180]; at pitch +-90 (where only yaw + roll or
 * yaw - roll is defined) roll is 0. */
void koi_rotation_angles(const koi_rot *rot, double *yaw_deg, double *pitch_deg, double *roll_deg);

/* A rig band's attitude from its rig's (yaw, pitch, roll, in place) and its boresight rel_deg
 * (MicaSense/Pix4D Camera:RigRelatives: R = Rx(rel[0]) Ry(rel[1]) Rz(rel[2]) in OpenCV camera
 * axes, taking the band's rays into the reference band's, as MicaSense's imageprocessing
 * Image.get_homography() uses it). */
/* Pix4D's Camera:Yaw/Pitch/Roll (degrees; the camera looks straight down at Pitch 0 and
 * forward at 90, Roll turns it about the flight direction, positive right wing down as an
 * aircraft's: R = Rz(yaw) Ry(pitch) Rx(roll) on the airframe's forward/right/down axes, the
 * image's top forward) as keepout's yaw/pitch/roll of the view. */
void koi_pix4d_pose(double yaw_p, double pitch_p, double roll_p, double *yaw_deg, double *pitch_deg,
                    double *roll_deg);
void koi_rig_boresight(const double rel_deg[3], double *yaw_deg, double *pitch_deg,
                       double *roll_deg);

/* Direction in NED of the ray through pixel (u, v), distortion included. Returns 0 if the
 * distortion model cannot be inverted there. */
int koi_pixel_ray(const ko_camera *cam, const koi_intrinsics *k, const koi_rot *rot, double u,
                  double v, double ned[3]);

/* The finest angular size (radians) of one pixel at the undistorted normalized image point
 * (x, y): 1 / the largest singular value of d(pixel) / d(ray angle), the lens's Brown model
 * included (pincushion resolves finer off axis than a pinhole, barrel coarser). NaN where the
 * model folds. */
double koi_pixel_angle(const ko_camera *cam, const koi_intrinsics *k, double x, double y);

/* The GSD (metres) at which the camera of fp sees the finest point of a ground part whose
 * nearest point lies dist_m (horizontally) from the camera and whose local east/north box is
 * box (min e, min n, max e, max n; NULL: anywhere in view): the smallest slant distance times
 * the finest angular pixel of the image region the box projects into. A lower bound of the
 * part's finest GSD (never coarser). NaN if the pixel size is unknown. */
double koi_footprint_gsd_part(const ko_footprint *fp, double dist_m, const double *box);
/* The camera's height above the ground its GSD is taken against (the highest terrain in view
 * with a DEM), metres. */
double koi_footprint_clearance(const ko_footprint *fp);
/* The farthest the footprint's ring lies from the camera (horizontally), metres. */
double koi_footprint_reach(const ko_footprint *fp);
/* A footprint that holds a pole has no ring in longitude/latitude (its longitudes wrap all the
 * way round): until the query tests such footprints in the local frame they are unknown (fail
 * closed), never clear. Nearer the pole than that, the lon/lat ring is split where its chords
 * sag (ring.c) and holds the ground as anywhere else. Non-zero if the pole is inside the local
 * ring or within margin_m + 1 m of it. */
int koi_footprint_holds_pole(ko_context *ctx, const ko_footprint *fp, double margin_m);
/* The finest GSD at a point dist_m away horizontally from a camera that may come sweep_m
 * nearer and climb_m lower: its finest pixel anywhere at the least slant distance. */
double koi_footprint_gsd_moving(const ko_footprint *fp, double dist_m, double sweep_m,
                                double climb_m);

/* ko_camera_lookup() for a recorded frame of w x h pixels (0: any): cameras that write one
 * EXIF Model for several sensors (DJI's XT2 writes "XT2" for its 640 x 512 thermal and its
 * 4000 x 3000 visible frames) are told apart by the frame, over both tables (droneModels.json
 * and the bundled list): the entry whose frame the photo's is best (koi_frame_rank); where
 * sensors of different frames are equally good, KO_ERR_NOT_FOUND naming them (no guess). */
ko_status koi_camera_lookup_frame(ko_context *ctx, const char *make, const char *model, uint32_t w,
                                  uint32_t h, ko_camera *out);

/* ko_camera_lookup() where the frame is not known (a route's --camera MAKE/MODEL without size=,
 * a telemetry CSV's camera column without width_px/height_px): the Make/Model's sensor when
 * all its entries are one sensor; KO_ERR_NOT_FOUND naming them when it has several (DJI's XT2:
 * the first entry, the visible camera, was taken for a thermal plan: adversary adv26). */
ko_status koi_camera_lookup_sole(ko_context *ctx, const char *make, const char *model,
                                 ko_camera *out);

/* As koi_camera_frame_only() for the entry koi_camera_lookup_frame() gives, in either table:
 * 1 if it records its sensor's frame only (a bundled frame_only entry, or one droneModels.json
 * marks isThermal); 0 otherwise or if the lookup fails. */
int koi_camera_frame_only_exif(ko_context *ctx, const char *make, const char *model, uint32_t w,
                               uint32_t h);

/* How well a recorded w x h frame can come from a sensor of full_w x full_h, best first: 0 the
 * sensor's own frame (or either size 0: not known), 1 a crop of its full width at its own
 * pixels, 2 a scaled copy (the same aspect), 3 a scaled crop (16:9 or 3:2 narrower than the
 * sensor); -1 cannot (koi_frame_fits). */
int koi_frame_rank(uint32_t w, uint32_t h, uint32_t full_w, uint32_t full_h);

/* Whether a recorded frame of w x h pixels can come from a sensor of full_w x full_h: the
 * same aspect (a scaled copy), or a crop of its full width (16:9 from 4:3). 1 if either size
 * is 0 (not known). */
int koi_frame_fits(uint32_t w, uint32_t h, uint32_t full_w, uint32_t full_h);

/* The nth (0, 1, ...) entry of the bundled table of named cameras (named_cameras.c) for an EXIF
 * Make/Model: fills the sensor and frame (focal_mm NaN: the file's is used) and whether it
 * records its sensor's frame only, and returns 1; 0 past the last. */
int koi_named_camera_exif(const char *make, const char *model, size_t nth, ko_camera *out,
                          int *frame_only);

/* A lens whose maker publishes a field of view wider than its pinhole, behind a camera whose
 * lens varies (the 9 mm lens of the FLIR Tau 2 640 core: 69 x 56 deg, its pinhole 62.3 x
 * 51.6): a camera of that sensor and focal length (within 1 % and 3 %) without a distortion or
 * principal point of its own gets the barrel distortion that reaches the published figures
 * (named_cameras.c). Called where a camera's focal length becomes known (a photo's, a CSV
 * row's, a spec's). */
void koi_camera_published_lens(ko_camera *cam);

/* Adapts a camera-table entry (full sensor) to a recorded frame of w x h pixels: the same
 * width with fewer rows is a crop (16:9 from 4:3), a narrower frame a downscale. */
void koi_camera_fit_frame(ko_camera *cam, uint32_t w, uint32_t h);

/* A photo's frame that is not its sensor's shape is a crop: the camera's own 16:9 or 3:2 mode,
 * centred (koi_camera_fit_frame), or an editor's crop of that shape, anywhere, which cannot be
 * told apart. A camera that records its sensor's frame only (thermal cores, multispectral
 * bands: koi_camera_frame_only) has no such mode, so the frame is an editor's crop and the
 * camera becomes the sensor's whole view, which holds every place the crop can have
 * (adversary adv21b: the top 640 x 360 of a 640 x 512 thermal frame, placed as the centred
 * band, missed a site it shows); ko_redact_mask() blanks what a site covers at any of those
 * places. koi_camera_fit_whole() takes a table entry (the full sensor) to the pixel scale of a
 * recorded w x h frame: its width (or height, when columns are cut) at the sensor's aspect. */
void koi_camera_fit_whole(ko_camera *cam, uint32_t w, uint32_t h);

/* As koi_camera_fit_whole() for a camera model built on the recorded frame's pixels (a
 * calibration, a focal plane resolution): the frame is extended to the aspect of a full_w x
 * full_h sensor at its own pixel pitch, the principal point kept at its place on the sensor's
 * centre line. */
void koi_camera_whole_sensor(ko_camera *cam, uint32_t full_w, uint32_t full_h);

/* 1 if the bundled camera a user's name gives (name non-NULL), or the one an EXIF Make and
 * Model with a w x h frame give, records its sensor's frame only (no 16:9 or 3:2 mode). The
 * bundled list only: koi_camera_frame_only_exif() answers for droneModels.json too. */
int koi_camera_frame_only(const char *name, const char *make, const char *model, uint32_t w,
                          uint32_t h);

/* A nadir camera whose heading is not known: any yaw is possible, so the camera becomes one
 * whose both fields of view span twice the frame's farthest reach from its principal point
 * (the diagonal, for a centred one), centred on the axis: its square footprint holds the
 * footprint at every yaw; the frame size in pixels and the principal point are dropped. */
void koi_camera_yaw_free(ko_camera *cam);

/* The camera altitudes (on the DEM's vertical datum) a terrain footprint was cast from: 1, or
 * 2 when it is the union of an absolute and a relative altitude's casts; 0 without a DEM.
 * Redaction places ground points with the same altitudes (footprint.c). */
int koi_footprint_camera_alts(const ko_footprint *fp, double alts[2]);

#endif
