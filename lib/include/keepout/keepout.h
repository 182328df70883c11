/**
 * @file keepout.h
 * @brief The public C API of libkeepout.
 *
 * keepout computes the ground footprint of drone photos, video frames and planned waypoints
 * and tests it against a store of protected sites.
 *
 * Conventions (see docs/DESIGN.md, "Frames and conventions"):
 *  - Every function that can fail returns a ::ko_status (KO_OK = 0) and writes its results
 *    through the last parameters, only on success.
 *  - A ::ko_context holds all mutable state; use one context per thread. The message of the
 *    last failure is ko_errmsg(ctx), owned by the context and valid until the next call on it.
 *  - Handles come in _create/_open and _destroy/_close pairs; passing NULL to a destroy
 *    function is a harmless no-op. Borrowed pointers say how long they live.
 *  - The library never prints, never exits and never calls setlocale().
 *  - Options structs (ko_*_options, ko_release_policy) start with `size_t size`: fill one with
 *    its ko_*_init() function, which sets size to the struct's size in this header and every
 *    field to its default, then change the fields you need. The library reads size to know
 *    which version of the struct it was given and refuses one whose size it does not know
 *    (zero: never initialised) with KO_ERR_ARG and a message naming the struct. Options are
 *    passed by pointer to const (NULL: the defaults) and hold other structs only by pointer.
 *    See docs/DESIGN.md, "C API stability".
 */
#ifndef KEEPOUT_KEEPOUT_H
#define KEEPOUT_KEEPOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/** @name Versions and ABI
 *
 * The header's version: the one this code was compiled against. The CMake build reads its
 * project version from these lines (top-level CMakeLists.txt), so the two cannot drift. The
 * library a program runs with says its own through ko_version(), ko_version_number() and
 * ko_check_version(); see docs/DESIGN.md, "C API stability", for what each number promises.
 */
#define KO_VERSION_MAJOR 0
#define KO_VERSION_MINOR 1
#define KO_VERSION_PATCH 0
/** "MAJOR.MINOR.PATCH" of the three above (checked by the build). */
#define KO_VERSION_STRING "0.1.0"
/** One comparable number, MAJOR * 1000000 + MINOR * 1000 + PATCH (0.1.0 = 1000). */
#define KO_VERSION_NUMBER (KO_VERSION_MAJOR * 1000000 + KO_VERSION_MINOR * 1000 + KO_VERSION_PATCH)

/* KO_API marks the library's functions. Windows: dllexport while building the library (its
 * CMake target defines KEEPOUT_BUILDING), dllimport for its users, nothing when the library
 * is linked statically (define KO_STATIC; the CMake target keepout::keepout_static does it).
 * GCC and Clang: default visibility (the library builds with hidden visibility). */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(KO_STATIC)
#define KO_API
#elif defined(KEEPOUT_BUILDING)
#define KO_API __declspec(dllexport)
#else
#define KO_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define KO_API __attribute__((visibility("default")))
#else
#define KO_API
#endif

/* ------------------------------------------------------------------------------------------ */
/** @name Status codes and the context */

/** Result of every fallible call. Values are only ever appended. */
typedef enum ko_status {
    KO_OK = 0,              /**< success */
    KO_DONE = 1,            /**< an iterator has no more items (not an error) */
    KO_ERR_NOMEM = 2,       /**< an allocation failed */
    KO_ERR_ARG = 3,         /**< an argument is invalid (NULL, out of range) */
    KO_ERR_IO = 4,          /**< a file cannot be opened, read or written */
    KO_ERR_FORMAT = 5,      /**< an input is malformed */
    KO_ERR_UNSUPPORTED = 6, /**< an input kind or option keepout does not handle */
    KO_ERR_PROJ = 7,        /**< PROJ failed to build or run a transformation */
    KO_ERR_GEOS = 8,        /**< a GEOS operation failed */
    KO_ERR_DB = 9,          /**< the site store (SQLite/SpatiaLite) failed */
    KO_ERR_LIMIT = 10,      /**< a size limit was exceeded */
    KO_ERR_NOT_FOUND = 11,  /**< a named item does not exist */
    KO_ERR_INTERNAL = 12,   /**< a bug: please report it */
    KO_ERR_CANCELLED = 13   /**< a progress callback asked to stop */
} ko_status;

/** Opaque state: GEOS and PROJ contexts, caches and the last error message. One per thread. */
typedef struct ko_context ko_context;

/** Once-per-process set-up (registers GDAL's drivers unless the host program has). Thread-safe
 * and idempotent. Optional: the library calls it itself before it first opens or creates a
 * file through a GDAL driver (DEMs, vector sources, CSV telemetry, exports), so that what
 * needs no driver (opening and querying a site store, reading photos' metadata) does not
 * pay for registering them. */
KO_API ko_status ko_global_init(void);

/** Creates a context. On success *out is owned by the caller: free it with
 * ko_context_destroy(). */
KO_API ko_status ko_context_create(ko_context **out);

/** Frees a context and everything it owns. NULL is a no-op. */
KO_API void ko_context_destroy(ko_context *ctx);

/** Static English text for a status code; never NULL. */
KO_API const char *ko_status_str(ko_status status);

/** Message of the last failure on ctx, naming the file and field at fault where there is one.
 * Owned by ctx; valid until the next call that takes ctx. Empty string if none. */
KO_API const char *ko_errmsg(const ko_context *ctx);

/** The running library's version, e.g. "0.1.0" (its KO_VERSION_STRING, which may differ
 * from the header a program was compiled with). Static. */
KO_API const char *ko_version(void);

/** The running library's KO_VERSION_NUMBER. */
KO_API int ko_version_number(void);

/** Whether the running library serves a program compiled against header version
 * major.minor: KO_OK if the major versions are equal and the library's minor is at least
 * minor (during 0.x, when a minor may change the ABI, if the minors are equal too);
 * KO_ERR_UNSUPPORTED otherwise. Call it as KO_CHECK_VERSION() once at start-up. */
KO_API ko_status ko_check_version(int major, int minor);

/** ko_check_version() with the version of the header being compiled. */
#define KO_CHECK_VERSION() ko_check_version(KO_VERSION_MAJOR, KO_VERSION_MINOR)

/* ------------------------------------------------------------------------------------------ */
/** @name Camera and pose
 *
 * Value types, passed by pointer to const. Unknown values are NaN (doubles) or 0 (sizes).
 */

/** Camera intrinsics: pinhole plus Brown distortion in OpenCV's convention (normalized image
 * coordinates, x right, y down). */
typedef struct ko_camera {
    double focal_mm;    /**< focal length in mm */
    double sensor_w_mm; /**< sensor width of the recorded frame, mm */
    double sensor_h_mm; /**< sensor height of the recorded frame, mm */
    uint32_t width_px;  /**< image width; 0 = unknown */
    uint32_t height_px; /**< image height; 0 = unknown */
    double cx_px;       /**< principal point x in pixels; NaN = image centre */
    double cy_px;       /**< principal point y in pixels; NaN = image centre */
    double k1, k2, k3;  /**< radial distortion */
    double p1, p2;      /**< tangential distortion */
} ko_camera;

/** Sets *cam to "nothing known": NaN doubles, zero sizes and zero distortion. */
KO_API void ko_camera_init(ko_camera *cam);

/** Camera position and attitude, DESIGN.md conventions: WGS84 degrees; height in metres above
 * the ground under the camera (AGL); aerospace Z-Y-X Euler angles of the camera in local NED:
 * yaw clockwise from true north, pitch 0 = horizon and -90 = nadir, roll positive = image
 * right side down. */
typedef struct ko_pose {
    double lat, lon;    /**< degrees */
    double height_m;    /**< above ground level; DJI's is above the take-off point, which is
                             the same on flat ground (see "Terrain" for a DEM) */
    double yaw_deg;     /**< clockwise from true north */
    double pitch_deg;   /**< 0 horizon, -90 nadir */
    double roll_deg;    /**< positive = image right side down */
    double alt_msl_m;   /**< orthometric altitude if known, else NaN */
    double alt_ellps_m; /**< ellipsoidal altitude if known, else NaN */
    /** Where the flight took off (the first frame of its flight), NaN if unknown: with a DEM
     * and no absolute altitude, the camera altitude is the DEM ground there + height_m. */
    double takeoff_lat, takeoff_lon;
} ko_pose;

/** Sets every field of *pose to NaN. */
KO_API void ko_pose_init(ko_pose *pose);

/** Fills the field of view of *cam from a 35 mm-equivalent focal length: focal_mm becomes
 * focal35_mm and the sensor is expressed in 35 mm-equivalent millimetres. The 35 mm frame's
 * 43.27 mm diagonal is matched to the native sensor's diagonal, a 4:3 or a 3:2 one (nothing
 * says which): a frame of unknown size (0 x 0) is the view holding both, 36 x 25.96 mm (the 3:2
 * frame's width, the 4:3 frame's height); frames of aspect >= 1.7 (16:9) are full-width crops
 * of the wider, 36 mm across; other frames are taken on their own diagonal. Distortion and
 * principal point are left as they are. */
KO_API ko_status ko_camera_from_focal35(double focal35_mm, uint32_t width_px, uint32_t height_px,
                                        ko_camera *cam);

/** Looks a camera up in the built-in camera table (data/cameras/droneModels.json, compiled in)
 * by EXIF Make and Model (e.g. "DJI", "FC300S"; case, spaces and dashes ignored). Fills the
 * full sensor (sensor_w_mm, sensor_h_mm), its size in pixels and the distortion terms; the
 * focal length is left NaN (it comes from EXIF). KO_ERR_NOT_FOUND if the table lacks it. */
KO_API ko_status ko_camera_lookup(ko_context *ctx, const char *make, const char *model,
                                  ko_camera *out);

/** Resolves a camera by the name a user gives ("DJI FC6310R", "Mavic 3E", "Zenmuse H20T wide";
 * case, spaces and punctuation ignored) from the bundled table of survey cameras (DJI, Autel,
 * Parrot, Skydio, senseFly, Wingtra, MicaSense, FLIR, Workswell; each entry cites the maker's
 * published specifications, returned in *source if source is not NULL: a static string). Fills
 * the sensor, the frame in pixels and, for a fixed lens, focal_mm (NaN where the lens varies).
 * KO_ERR_NOT_FOUND with a message naming the name if the table lacks it. */
KO_API ko_status ko_camera_by_name(ko_context *ctx, const char *name, ko_camera *out,
                                   const char **source);

/** Checks that pose and camera are complete and plausible (no NaN, |lat| <= 90, pitch <= +30,
 * height > 0 — or, with a take-off point, height > -10 km, as heights measured from the
 * take-off may be negative (ko_footprint_compute then needs a DEM) —, focal and sensor > 0,
 * ...). Returns KO_OK, or KO_ERR_ARG with a reason naming
 * the field in ko_errmsg(ctx). */
KO_API ko_status ko_pose_validate(ko_context *ctx, const ko_camera *cam, const ko_pose *pose);

/* ------------------------------------------------------------------------------------------ */
/** @name Footprints */

/** An elevation model opened with ko_dem_open() (see "Terrain" below). */
typedef struct ko_dem ko_dem;

/** Options of the footprint computation. Start from ko_footprint_options_init(). */
typedef struct ko_footprint_options {
    size_t size;           /**< sizeof(ko_footprint_options), set by ko_footprint_options_init() */
    double max_range_m;    /**< ground distance at which rays are cut (default 2000 m) */
    double gsd_limit_m;    /**< coarsest GSD any site category is still sensitive at; rays are
                                also cut where one pixel covers more than this (default 2 m;
                                NaN or <= 0 disables) */
    uint32_t edge_samples; /**< boundary samples per image edge (default 128) */
    ko_dem *dem;           /**< terrain to cast rays onto; NULL (default) = flat ground at the
                                take-off level. Borrowed: must stay open during the call and
                                belong to the same context. See "Terrain". */
    double tolerance_m;    /**< how far the ring may stray from the boundary samples, outward
                                only: samples within it of a chord are dropped and each chord
                                is pushed out by the farthest one it dropped, so the ring still
                                holds every sample. NaN (default): half a pixel on the ground
                                below the camera (1 mm without an image size); 0: only samples
                                within a micrometre of a straight line are dropped. */
} ko_footprint_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_footprint_options_init(ko_footprint_options *opts);

/** A computed ground footprint. Opaque; free with ko_footprint_destroy(). */
typedef struct ko_footprint ko_footprint;

/** Computes the footprint of the distorted image boundary: on flat ground, or on the terrain
 * of opts->dem when it is set (see "Terrain" for how heights are taken and checked).
 * On success *out is owned by the caller. Fails with KO_ERR_ARG (reason in ko_errmsg) for an
 * implausible pose or camera, or a camera altitude the DEM contradicts, and with
 * KO_ERR_UNSUPPORTED for a view that holds a pole (it has no ring in longitude/latitude):
 * callers report either as verdict `unknown`. */
KO_API ko_status ko_footprint_compute(ko_context *ctx, const ko_camera *cam, const ko_pose *pose,
                                      const ko_footprint_options *opts, ko_footprint **out);

KO_API void ko_footprint_destroy(ko_footprint *fp);

/** The closed outer ring in WGS84, as n (lon, lat) pairs (first == last). Borrowed: lives as
 * long as fp. */
KO_API const double *ko_footprint_ring(const ko_footprint *fp, size_t *n_points);

/** The same ring in the local east/north metre frame centred under the camera. Borrowed. */
KO_API const double *ko_footprint_ring_local(const ko_footprint *fp, size_t *n_points);

/** Where the rays through n image points meet the ground, cast as ko_footprint_compute() casts
 * the boundary: onto the terrain of opts->dem, else flat ground at take-off level, within
 * opts->max_range_m. The points that place an image on a map (ground control points).
 * uv: n (column, row) pairs in pixels, (0, 0) the top-left corner of the top-left pixel (GDAL's
 * convention); out: n (lon, lat, height) triples, WGS84, the height on the DEM's datum (0 on
 * flat ground: take-off level, whose height above any datum is not known); hit[i]: 1 if the
 * ray meets known ground within range, else 0 and out's triple is NaN (sky, beyond range, the
 * DEM's nodata). All arrays are the caller's. Fails as ko_footprint_compute() does for an
 * implausible pose or camera. */
KO_API ko_status ko_footprint_ground_points(ko_context *ctx, const ko_camera *cam,
                                            const ko_pose *pose, const ko_footprint_options *opts,
                                            size_t n, const double *uv, double *out,
                                            unsigned char *hit);

/** Area in square metres (computed in the local metric frame). */
KO_API double ko_footprint_area_m2(const ko_footprint *fp);

/** Range at which rays were cut: min(max_range_m, the GSD-limit distance). */
KO_API double ko_footprint_range_limit_m(const ko_footprint *fp);

/** Non-zero if any boundary ray missed the ground or was cut at the range limit. */
KO_API int ko_footprint_is_range_limited(const ko_footprint *fp);

/** Ground sample distance, metres per pixel, for a ground point seen by the camera: the
 * slant distance times the pixel's angular size (the finer, across-ray value, which is the
 * conservative one for disclosure). NaN if the camera's pixel pitch is unknown.
 * With a DEM the slant distance includes the height difference between the camera and the
 * terrain: the highest terrain within the range window around the camera is used (so the
 * distance is never overstated and the GSD never too coarse); where that window could not be
 * bounded (nodata in it, or wider than 512 x 512 DEM pixels) the highest terrain among the
 * ground under the camera and the boundary hits is used. */
KO_API double ko_footprint_gsd_at(const ko_footprint *fp, double lon, double lat);

/** The footprint as WKT POLYGON in WGS84 (lon lat): the ring of ko_footprint_ring(), closed
 * and counterclockwise (the exterior ring's orientation of OGC simple features and RFC 7946),
 * each coordinate with 9 decimals (0.1 mm). Every keepout face writes footprint WKT with it
 * (check's CSV, the GDAL driver's FOOTPRINT and footprints layer). On success *wkt is owned
 * by the caller: free with ko_free(). */
KO_API ko_status ko_footprint_wkt(ko_context *ctx, const ko_footprint *fp, char **wkt);

/** SHA-256 of a file's bytes (any VSI path), as 64 lowercase hex digits and a NUL in hex[65].
 * For audit manifests. */
KO_API ko_status ko_file_sha256(ko_context *ctx, const char *path, char hex[65]);

/** Frees memory returned by the library where a header says so. NULL is a no-op. */
KO_API void ko_free(void *ptr);

/* ------------------------------------------------------------------------------------------ */
/** @name Shots: records read from telemetry, images and video subtitles */

/** One capture to evaluate: a photo, a video frame or a telemetry row.
 * All pointers are borrowed from the reader and live until the next ko_reader_next() or
 * ko_reader_close() on it. */
typedef struct ko_shot {
    const char *source; /**< file the shot came from */
    const char *id;     /**< image name, row id or "file#frame" */
    const char *time;   /**< ISO 8601 or NULL */
    ko_pose pose;       /**< NaN where unknown */
    ko_camera camera;   /**< NaN/0 where unknown */
    const char *reason; /**< non-NULL if the shot cannot give a reliable footprint: why */
    size_t n_extra;     /**< pass-through columns */
    const char *const *extra_keys;
    const char *const *extra_values;
    /** Non-zero if the input could not be read or parsed: a file that is not the format its
     * name says, a damaged or truncated one, imagery keepout does not read, a file that is not
     * regular or cannot be opened, a telemetry field that is not a number. Such a shot is not
     * checked (reason says why): ko_release_decide() refuses it whatever unknown_is says. Zero
     * for a readable input that lacks or has implausible values (no GPS, no attitude). */
    int unreadable;
    /** A video frame standing for the stretch of flight either side of it (ko_route_exposures
     * sets these; zero for a still photo): the camera moves up to sweep_m horizontally, climbs
     * or sinks up to climb_m, turns up to yaw_turn_deg about the vertical and tilts up to
     * pitch_turn_deg before the next or
     * after the previous frame takes over. ko_check_shot() widens the footprint by the ground
     * that motion can bring into view and judges GSD at the nearest the camera comes. */
    double sweep_m, climb_m, yaw_turn_deg, pitch_turn_deg;
} ko_shot;

/** Options of the readers. Start from ko_reader_options_init(). */
typedef struct ko_reader_options {
    size_t size;       /**< sizeof(ko_reader_options), set by ko_reader_options_init() */
    int assume_nadir;  /**< frames without gimbal attitude are nadir (else unknown) */
    uint32_t every_n;  /**< keep every N-th video frame (default 1) */
    double interval_s; /**< keep one video frame per this many seconds (0 = all) */
    int recursive;     /**< walk sub-directories (default 1) */
    /** In directories, read only files whose name or relative path matches one of these
     * fnmatch(3) globs (NULL-terminated, borrowed; NULL = JPEG photos, .SRT files and the
     * imagery keepout must refuse). */
    const char *const *include;
    /** In directories, skip files matching one of these globs (NULL-terminated, borrowed). */
    const char *const *exclude;
    /** Video frames (.SRT): the camera's 35 mm-equivalent focal length when the file does not
     * say (0 = use the file's focal_len, else the frame is unknown). */
    double focal35_mm;
    /** Video frames: the recorded frame size, for the aspect ratio (0 = 4:3, the larger,
     * conservative field of view for a 16:9 crop). */
    uint32_t width_px, height_px;
    /** Non-zero when a DEM will place the cameras: a height <= 0 measured from a known
     * take-off point (a flight below the deck or ridge it took off from) is kept instead of
     * reported as not above the ground (default 0: on flat ground it cannot be placed). */
    int below_takeoff;
    /** Photos: the name of the camera (ko_camera_by_name(), e.g. "Zenmuse H20T wide") for
     * files that do not describe it (no calibration, focal plane resolution, camera-table entry
     * or 35 mm-equivalent focal length); borrowed; NULL: none. A file that describes its camera
     * keeps its own. */
    const char *camera;
} ko_reader_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_reader_options_init(ko_reader_options *opts);

/** Iterator over the shots of one input. */
typedef struct ko_reader ko_reader;

/** Opens an input: a JPEG or TIFF photo (header only), a DJI .SRT file, a telemetry CSV, a
 * video's GoPro GPMF telemetry or a raw GPMF stream (see DESIGN.md) or a directory of them (walked
 * in sorted order). Any path GDAL's VSI layer accepts. A photo that cannot be parsed still opens:
 * its shot carries the reason. Readers fill pose.takeoff_lat/lon with the first frame of the shot's
 * flight (DESIGN.md, "Take-off"): an SRT's or GPMF stream's first frame with a GPS fix, a CSV's
 * first valid row (or its takeoff columns), in a directory the first photo of each run of photos of
 * one camera; a photo opened on its own leaves them NaN. On success *out is owned by the caller:
 * close it with ko_reader_close(). */
KO_API ko_status ko_reader_open(ko_context *ctx, const char *path, const ko_reader_options *opts,
                                ko_reader **out);

/** Whether path may be opened without blocking: KO_OK if it — or, for a GDAL virtual file
 * system path (/vsizip/, /vsitar/, /vsigzip/, /vsi7z/, /vsirar/, /vsisparse/, /vsisubfile/,
 * /vsicrypt/, nested, an archive quoted as {file}), the local file beneath its prefixes — is a
 * regular file or a directory, or does not exist (opening it then says so); KO_ERR_IO with a
 * message naming it if it is a FIFO, device or socket, which GDAL would block on or read
 * forever. Only stat() is called. ko_reader_open(), ko_file_list_create(), ko_route_open(),
 * ko_sites_import(), ko_dem_open() and ko_file_sha256() apply it themselves; a face that
 * stats or opens a path through GDAL before them calls it first. */
KO_API ko_status ko_path_check(ko_context *ctx, const char *path);

/** As ko_reader_open() for a path the caller knows to be a regular file, such as an entry of
 * ko_file_list_create(): it is not stat'ed again (tagging an archive stats each file once). A
 * photo that has vanished since opens as a shot whose verdict is unknown, with the reason. */
KO_API ko_status ko_reader_open_regular(ko_context *ctx, const char *path,
                                        const ko_reader_options *opts, ko_reader **out);

/** Reads the next shot into *shot. Returns KO_OK, KO_DONE at the end, or an error for an
 * input that cannot be read any further (a problem with one row or image is not an error: it
 * comes back as a shot with a reason). */
KO_API ko_status ko_reader_next(ko_reader *r, ko_shot *shot);

KO_API void ko_reader_close(ko_reader *r);

/** For a directory reader: files skipped because they are neither imagery nor telemetry
 * (notes, sidecars), so callers can say so. 0 for other readers. */
KO_API size_t ko_reader_skipped(const ko_reader *r);

/** 1 if the input at path is a series of shots — a directory, a telemetry table (.csv, .txt), a
 * DJI .SRT log, a video (.mp4, .mov, .lrv: its GoPro GPMF telemetry) or a raw GPMF stream, as
 * ko_reader_open() reads them — rather than one photo, else 0: the GDAL
 * driver opens a series as its footprints layer, the CLI checks it as a batch. A path that
 * cannot be looked at without blocking (ko_path_check()) or does not exist is judged by its
 * name. */
KO_API int ko_input_is_series(const char *path);

/** About how many shots the input at path holds, for ko_sites_prepare(): a photo 1, telemetry
 * by its size (a CSV row ~80 bytes, a DJI .SRT frame ~200), a directory the sum over the
 * files its reader would read (walked with opts, NULL: the defaults). size: the file's size in
 * bytes if the caller knows it, else < 0. An input that cannot be looked at counts 1 (its
 * reader reports it). Never fails. */
KO_API double ko_input_shots_estimate(ko_context *ctx, const char *path, int64_t size,
                                      const ko_reader_options *opts);

/** The files a directory reader would read, listed without reading them (same walk, order and
 * selection), for callers that schedule files themselves. A file path lists itself. Free with
 * ko_file_list_destroy(). */
typedef struct ko_file_list ko_file_list;
KO_API ko_status ko_file_list_create(ko_context *ctx, const char *path,
                                     const ko_reader_options *opts, ko_file_list **out);
KO_API size_t ko_file_list_count(const ko_file_list *l);
/** The i-th path (borrowed, lives as long as l). */
KO_API const char *ko_file_list_path(const ko_file_list *l, size_t i);
/** Why the i-th file cannot be read (imagery keepout refuses), or NULL. Static text. */
KO_API const char *ko_file_list_refused(const ko_file_list *l, size_t i);
/** Size (bytes) and mtime (Unix seconds) of the i-th file as the listing saw them, without
 * another stat: 1, or 0 when not known (then stat it yourself). */
KO_API int ko_file_list_stat(const ko_file_list *l, size_t i, int64_t *size, int64_t *mtime);
/** Files skipped as neither imagery nor telemetry. */
KO_API size_t ko_file_list_skipped(const ko_file_list *l);
KO_API void ko_file_list_destroy(ko_file_list *l);

/* ------------------------------------------------------------------------------------------ */
/** @name Terrain
 *
 * A ::ko_dem is an elevation raster that footprints are cast onto (ko_footprint_options.dem).
 *
 * Sources: any raster GDAL reads (GeoTIFF, SRTM .hgt, `/vsizip/...`, `/vsicurl/...` COGs if the
 * caller's GDAL allows it, VRT), in any CRS GDAL/PROJ can transform WGS84 to; band 1 holds the
 * heights (band scale/offset applied, feet converted). Several files (the tiles of an archive)
 * are mosaicked in an in-memory VRT. Pixels equal to the band's nodata value are no data: a ray
 * that passes over them is treated as leaving the DEM. Tiles are read lazily through a cache of
 * at most 16 tiles of 256 x 256 heights (4 MiB) owned by the handle (GDAL's own block cache,
 * bounded by GDAL_CACHEMAX, comes on top). Note that a remote DEM (`/vsicurl/`) tells its
 * server which tiles, hence roughly where the flights were: use local files for sensitive work.
 *
 * Vertical datum: a DEM's heights are taken on the vertical CRS the file declares (a compound
 * CRS), as ellipsoidal if its CRS is geographic 3D, and otherwise as EGM96 heights (EPSG:5773),
 * which is what SRTM and most global DEMs use. ko_dem_vertical_datum() says which, and whether
 * it was assumed. Conversions use PROJ's grids installed locally (egm96_15.gtx from proj-data;
 * the network is never used) and never a "ballpark" transformation: a missing grid fails the
 * open with KO_ERR_PROJ.
 *
 * Camera altitude with a DEM, in this order:
 *  1. pose.alt_ellps_m (WGS84 ellipsoidal), converted to the DEM's datum with PROJ;
 *  2. pose.alt_msl_m, taken as an EGM96 height (converted if the DEM uses another datum);
 *  3. neither, take-off known (pose.takeoff_lat/lon): the terrain at the take-off point plus
 *     pose.height_m, which DJI measures from the take-off point ("dem(takeoff)+height"). The
 *     readers take the take-off point from the first frame of a flight (see DESIGN.md), which
 *     is only where the aircraft left the ground if that frame was taken there;
 *  4. nothing known: the terrain under the camera plus pose.height_m ("dem+height"), i.e.
 *     height_m taken as above the ground under the camera, which is wrong on hilly ground.
 * ko_footprint_height_source() tells callers which one was used and
 * ko_footprint_altitude_note() says it in words with the numbers, so they can report it.
 * Sanity rules: the camera must be above the terrain under it. With 1. or 2. the relative
 * height places the camera too (3., or 4. if the take-off is unknown or off the DEM): the two
 * altitudes must agree within max(30 m, 50 % of height_m), and within that bound both are
 * kept — the footprint is the union of the two cast footprints, and the GSD is taken from the
 * lower camera — because consumer drones' GPS/barometric altitudes are often tens of metres
 * off and choosing one could shrink the footprint. Otherwise ko_footprint_compute() fails
 * with KO_ERR_ARG and the numbers in ko_errmsg() (callers report `unknown`). There is never a
 * silent fallback to flat ground or from 3. to 4.: no DEM data under the camera, or at the
 * take-off point when 3. is the only altitude, is also KO_ERR_ARG.
 *
 * Casting: every boundary ray (sampled as for flat ground) is followed over the terrain in the
 * local east/north frame cell by cell (the square between four DEM posts, where the bilinear
 * terrain along the ray is a quadratic: its first crossing is solved exactly, and a ray above
 * the cell's highest post moves on), with longer jumps only where a bound on the height and
 * slope of the terrain around the camera proves no crossing is skipped. No crossing is missed,
 * however thin the feature (a one-post mast). Chords between
 * boundary samples are refined to a quarter DEM pixel. Rays that reach the range limit are cut
 * there along their azimuth, as on flat ground; a ray that leaves the DEM or passes over nodata
 * before it makes ko_footprint_compute() fail with KO_ERR_ARG (ground of unknown height). Geoid
 * undulation is taken at the camera: its change across the range window (a few centimetres per km)
 * is neglected.
 *
 * Conservative by construction: the footprint is the polygon through the boundary rays' hits,
 * and ground inside it that is hidden behind terrain (the far side of a ridge) still counts as
 * seen. An interior ray hits no farther than the boundary ray of highest elevation at its
 * azimuth (at one azimuth a lower ray crosses the terrain no later), so up to the sampling
 * between neighbouring boundary rays (edge_samples) the polygon holds all ground the camera
 * sees: it is never smaller than the visible ground, only larger.
 */

/** Opens an elevation raster. On success *out is owned by the caller: close it with
 * ko_dem_close() before destroying ctx. The handle belongs to ctx (it uses ctx's PROJ
 * context): use it only with ctx, from ctx's thread. Fails with KO_ERR_IO (cannot open),
 * KO_ERR_FORMAT (no geotransform or CRS) or KO_ERR_PROJ (no transformation to its CRS or
 * vertical datum), the reason in ko_errmsg(ctx). */
KO_API ko_status ko_dem_open(ko_context *ctx, const char *path, ko_dem **out);

/** Opens n rasters (tiles of one DEM, same CRS) as one mosaic, built as an in-memory VRT with
 * GDALBuildVRT; where tiles overlap the later one wins. Otherwise as ko_dem_open(). paths is
 * borrowed for the call. */
KO_API ko_status ko_dem_open_list(ko_context *ctx, const char *const *paths, size_t n,
                                  ko_dem **out);

/** Closes a DEM and frees its cache. NULL is a no-op. */
KO_API void ko_dem_close(ko_dem *dem);

/** Terrain height at a WGS84 point, bilinear between pixel centres, on the DEM's vertical
 * datum. KO_ERR_NOT_FOUND outside the DEM or next to nodata; KO_ERR_IO if a read fails. The
 * message goes to the DEM's context. */
KO_API ko_status ko_dem_elevation(ko_dem *dem, double lon, double lat, double *z);

/** Converts a WGS84 ellipsoidal height at (lon, lat) to a height on the DEM's vertical datum
 * (for EGM96: h - N, N the geoid undulation), as footprints do with pose.alt_ellps_m. */
KO_API ko_status ko_dem_from_ellipsoidal(ko_dem *dem, double lon, double lat, double h, double *z);

/** Description of the DEM's vertical datum, e.g. "EGM96 height (EPSG:5773), assumed: the DEM
 * declares no vertical CRS". Borrowed: lives as long as dem. "" for NULL. */
KO_API const char *ko_dem_vertical_datum(const ko_dem *dem);

/** Where the camera's altitude came from: "flat" (no DEM), "alt_ellipsoid", "alt_msl",
 * "dem(takeoff)+height" (terrain at the take-off point + height_m) or "dem+height" (terrain
 * under the camera + height_m: take-off unknown). Static text. */
KO_API const char *ko_footprint_height_source(const ko_footprint *fp);

/** The camera altitude in words with its numbers, for a record's reason, e.g. "camera
 * altitude: DEM ground at take-off (47.100000 N, 8.200000 E) 512.3 m + relative 80.0 m".
 * "" without a DEM. Borrowed: lives as long as fp. */
KO_API const char *ko_footprint_altitude_note(const ko_footprint *fp);

/** Camera altitude on the DEM's vertical datum used for the footprint; NaN without a DEM. */
KO_API double ko_footprint_camera_alt_m(const ko_footprint *fp);

/** Terrain height under the camera on the DEM's vertical datum; NaN without a DEM. */
KO_API double ko_footprint_ground_alt_m(const ko_footprint *fp);

/* ------------------------------------------------------------------------------------------ */
/** @name Site store and queries
 *
 * The site store is one SpatiaLite file holding protected sites (original and buffered
 * geometry in WGS84, category, buffer, the coarsest sensitive GSD, attributes as JSON), the
 * editable `categories` table and a `meta` table (schema and store version). A ::ko_sites is
 * bound to the ::ko_context it was opened with and must be used on that context's thread;
 * close it before destroying the context.
 */

/** An open site store. Opaque; close with ko_sites_close(). */
typedef struct ko_sites ko_sites;

/* Flags of ko_sites_open(). KO_SITES_READONLY: an existing store, read-only, to check
 * against. KO_SITES_CREATE: read-write; the file (mode 0600, less if the umask says so) and
 * schema are created if missing. KO_SITES_ALLOW_EMPTY, or'ed with KO_SITES_READONLY: a store
 * without sites opens too (to list or describe it); never for checking. */
#define KO_SITES_READONLY 0
#define KO_SITES_CREATE 1
#define KO_SITES_ALLOW_EMPTY 2

/** Opens (or with KO_SITES_CREATE creates) the store at path. On success *out is owned by the
 * caller. The store proves itself first, so that a damaged or empty one cannot answer `clear`:
 * - KO_ERR_IO: the file is missing (read-only), not a regular file, or unreadable;
 * - KO_ERR_DB: it is not a keepout store; it is locked by a writer (after 5 s); a write to it
 *   was interrupted and its journal cannot be rolled back here (a hot journal is rolled back
 *   when the file and its folder are writable); its spatial index does not hold exactly one
 *   entry per site (a KO_SITES_CREATE open rebuilds the index instead); or, read-only without
 *   KO_SITES_ALLOW_EMPTY, it holds no sites.
 * - KO_ERR_DB also when its index file (ko_sites_write_index()) is damaged or truncated and
 *   the store is opened read-only to check against (without KO_SITES_ALLOW_EMPTY).
 * Each message names the file and says what to do. A store with a current index file is
 * served by it, mapped (no count, no load: the same few milliseconds at 10^7 sites as at 10^3);
 * one without it proves its on-disk R-tree with two table counts (about 2 ms at 10^5 sites). */
KO_API ko_status ko_sites_open(ko_context *ctx, const char *path, int flags, ko_sites **out);

/** The site store to open when the user names none, resolved the same way by every face: the
 * GDAL configuration option or environment variable KEEPOUT_SITES when set and not empty;
 * else, with sample != 0, the sample store built with keepout from its data/ (demonstration
 * sites only: share/keepout/sites.sqlite beside an installed keepout, found relative to the
 * installed program or library, or the build tree's for a program run from there), else NULL.
 * The string is borrowed: it lives until KEEPOUT_SITES changes. The
 * command line passes sample = 1; the GDAL driver passes 0 (a filter never falls back to
 * demonstration data). */
KO_API const char *ko_sites_default(int sample);

/** Closes a store and frees its in-memory index. NULL is a no-op. */
KO_API void ko_sites_close(ko_sites *s);

/** Coarsest min_gsd_m over all categories: the footprint's gsd_limit_m. */
KO_API ko_status ko_sites_gsd_limit(ko_sites *s, double *gsd_limit_m);

/** The store's index file, STORE.koidx beside the store: a Hilbert-packed R-tree of the
 * sites' buffered boxes (float32 rounded outward, node size 16) followed by each site's
 * buffered ring laid out flat in the tree's order (docs/DESIGN.md, "The index file"). Every
 * import writes it; this writes it for a store made or changed elsewhere (s opened with
 * KO_SITES_CREATE; KO_ERR_ARG for a read-only store). Written atomically (temporary file,
 * fsync, rename) with the mode of the store, and stamped with the store's change token, which
 * triggers in the store draw again whenever any SQLite client inserts, updates or deletes a
 * site. ko_sites_open() maps a current index file read-only (the OS reads only the pages
 * queries touch, and processes share them); an index whose token differs from the store's
 * is never used. Built from two scans of the store, in memory (the image, ~440 bytes a site,
 * and ~80 bytes a site besides), then written: 1.3 s for 10^5 sites, 133 s for 10^7 on a loaded
 * 2-core VM (bench/bench_scale.md); KO_ERR_IO naming the file if it cannot be written. */
KO_API ko_status ko_sites_write_index(ko_sites *s);

/** Makes sure s queries a packed index: the mapped index file (see ko_sites_write_index())
 * when it is current, else one built in memory from the store (two scans of it; the index
 * itself, ~440 bytes a site of ~21 points, and ~80 bytes a site while it is built), for a store
 * without a current index file. The index lives until ko_sites_close() or the next import on
 * s. */
KO_API ko_status ko_sites_load_index(ko_sites *s);

/** Prepares s for footprint queries, the one rule every face follows: a store whose index file
 * is current has it mapped already. Without one (a store made by another tool or an older
 * keepout, changed since its index was written, or the file deleted) the index file is written
 * again beside the store, as `keepout sites index` does, and mapped; where it cannot be written
 * (the folder is not writable, or the store does not track changes to its sites) the same
 * index is built in memory (ko_sites_load_index()). n_queries is not consulted (it was, for a
 * rule of "a quarter of the sites" that is gone). *loaded (may be NULL) := 1 once a packed
 * index is in use. Fails as ko_sites_load_index() does, or when the store's sites cannot be
 * read (a damaged store). */
KO_API ko_status ko_sites_prepare(ko_sites *s, double n_queries, int *loaded);

/** Makes dst use the index src has loaded instead of loading its own: for worker threads, each
 * with its own context and store handle, over one index in memory. The index is immutable and
 * reference-counted, so dst and src may be used from different threads at once and closed in
 * any order. Both must be open on the same store file (KO_ERR_ARG otherwise, or when src has
 * no index loaded). An import through either handle leaves the other's index as it was. */
KO_API ko_status ko_sites_share_index(ko_sites *dst, const ko_sites *src);

/** One site whose buffered geometry intersects a footprint. */
typedef struct ko_site_hit {
    int64_t site_id;
    const char *name, *category, *source, *source_id; /**< borrowed from the ko_hits */
    double min_gsd_m, buffer_m;
    double
        distance_m; /**< ground distance camera -> nearest point of (buffered site ∩ footprint) */
    double nearest_lon, nearest_lat; /**< that nearest point */
    double
        overlap; /**< fraction of the site's own (buffered) geometry inside the footprint, 0..1 */
} ko_site_hit;

/** The hits of one query, ordered by distance. Opaque; free with ko_hits_destroy(). */
typedef struct ko_hits ko_hits;

/** Finds the sites whose buffered geometry intersects a footprint.
 * ring: n (lon, lat) pairs of a closed polygon ring (first == last, n >= 4), e.g.
 * ko_footprint_ring(); cam_lon/cam_lat: the camera position for distances. On success *out
 * is owned by the caller (possibly with zero hits). */
KO_API ko_status ko_sites_query(ko_sites *s, const double *ring, size_t n, double cam_lon,
                                double cam_lat, ko_hits **out);

/** One footprint of a batch: what ko_sites_query() takes. */
typedef struct ko_site_query {
    const double *ring; /**< n (lon, lat) pairs of a closed ring; borrowed */
    size_t n;
    double cam_lon, cam_lat;
} ko_site_query;

/** Answers count footprints, each as ko_sites_query() would: out[i] receives the hits of
 * queries[i], owned by the caller. A batch in flight order (most footprints near the one
 * before, as a survey's) is answered in the order given; any other in the order of a Hilbert
 * curve over their centres, so that footprints near each other reuse the index's cached nodes
 * and sites (bench_index: see bench/bench_scale.md). The answers are the same either way. On
 * failure every out[i] is NULL and the message names the footprint
 * (its index in queries). */
KO_API ko_status ko_sites_query_batch(ko_sites *s, const ko_site_query *queries, size_t count,
                                      ko_hits **out);

KO_API size_t ko_hits_count(const ko_hits *h);

/** The i-th hit (i < ko_hits_count(h)), or NULL. Borrowed: lives as long as h. */
KO_API const ko_site_hit *ko_hits_get(const ko_hits *h, size_t i);

/** Frees hits. NULL is a no-op. */
KO_API void ko_hits_destroy(ko_hits *h);

/** Progress callback of imports, like GDALProgressFunc: complete in 0..1, message may be NULL.
 * Return 0 to cancel (the import is then rolled back). */
typedef int (*ko_progress_fn)(double complete, const char *message, void *user);

/** Options of ko_sites_import(). Start from ko_import_options_init(). Strings are borrowed
 * for the duration of the call. */
typedef struct ko_import_options {
    size_t size;            /**< sizeof(ko_import_options), set by ko_import_options_init() */
    const char *category;   /**< category of every site (NULL: from the data, else user_defined) */
    double buffer_m;        /**< buffer of every site in metres (NaN: the category's default) */
    const char *where;      /**< OGR attribute filter (SQL WHERE syntax), or NULL */
    const char *name_field; /**< field holding the site name (NULL: name, NAME, ...) */
    const char *source_label; /**< source name (NULL: the file's base name) */
    int preset_osm;          /**< OSM tag selection (docs/OSM_PRESET.md: power, bridge, dam, ...) */
    int all_zones;           /**< UAS zones: import every zone, not only SENSITIVE/PRIVACY */
    const char *osmconf;     /**< osmconf.ini for OSM sources (NULL: the bundled one if found) */
    ko_progress_fn progress; /**< or NULL */
    void *progress_user;
    int allow_empty; /**< a source that gives no site is not an error (see ko_sites_import()) */
    /** An OSM preset table file (docs/OSM_PRESET.md; CSV: tags,category,kinds,buffer) whose
     * rows are tried before the built-in ones: it overrides them for its tags and extends them
     * with others. Implies preset_osm. Read before the source: a malformed table, or a row
     * whose category is not in the store, fails the import with KO_ERR_FORMAT naming the file
     * and line. NULL: the built-in table only. Borrowed for the call. */
    const char *preset_file;
    /** With the preset, an OSM file is first cut down by osmium-tool (`osmium tags-filter`,
     * to the objects with a key the preset's site rows test, and what they reference) and OGR
     * reads the cut: the same sites, faster from a country or continent extract. The file must
     * be local (not /vsi...). KO_ERR_UNSUPPORTED without osmium on PATH. The report's read and
     * skipped counts are of the cut file. */
    int prefilter;
} ko_import_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_import_options_init(ko_import_options *opts);

/** What an import did. Zero-initialize, then free with ko_import_report_clear(). */
typedef struct ko_import_report {
    size_t read;     /**< features/rows/zones read */
    size_t imported; /**< new sites */
    size_t updated;  /**< sites that existed (same source, source_id) and were updated */
    size_t repaired; /**< invalid geometries repaired (also counted in imported/updated) */
    size_t rejected; /**< features that did not become sites, each with a reason line */
    size_t skipped;  /**< features not selected (preset or zone reason), each with a reason line */
    size_t stale;    /**< sites of this source already in the store that this import did not
                          write (gone from the source, or filtered out): kept, not deleted */
    char *messages;  /**< one line per rejected/skipped/repaired feature ("row 17: ..."); owned
                          by the report, at most 1 MiB (then a final "... more" line) */
    size_t unbuilt;  /**< OSM objects GDAL dropped because nodes or members they reference are
                          not in the file (a way with fewer than 2 nodes, a multipolygon with a
                          way missing): not read, each with a message line; their tags are
                          unknown, so one may be a facility that is not protected */
} ko_import_report;

/** Frees the report's messages and zeroes it. NULL is a no-op. */
KO_API void ko_import_report_clear(ko_import_report *report);

/** Imports one source (any OGR vector source, OSM XML/PBF, ED-269 JSON, ED-318 GeoJSON) into
 * a store opened with KO_SITES_CREATE, in one transaction: on any failure or cancellation the
 * store is left exactly as it was. Re-importing a source updates its sites (UNIQUE(source,
 * source_id)). The report is filled (counts add up) also when the import fails. A source that
 * gives no site (no feature read, or every feature skipped or rejected) fails with
 * KO_ERR_FORMAT saying so, unless opts->allow_empty: a store that silently protects nothing is
 * the failure this guards against. */
KO_API ko_status ko_sites_import(ko_sites *s, const char *path, const ko_import_options *opts,
                                 ko_import_report *report);

/** A store summary as JSON text (counts per category and source, store and schema version,
 * extent, categories). On success *json is owned by the caller: free with ko_free(). */
KO_API ko_status ko_sites_info_json(ko_sites *s, char **json);

/** The store's version counter, bumped by every import: a catalogue records it so that stale
 * verdicts can be found after the store changes. */
KO_API ko_status ko_sites_version(ko_sites *s, int64_t *version);

/** Number of sites in the store (a table count: tens of ms at 10^6 sites). */
KO_API ko_status ko_sites_count(ko_sites *s, int64_t *n);

/** One stored site, as passed to a ko_sites_foreach() callback. Borrowed for the call. */
typedef struct ko_site_record {
    int64_t id;
    const char *source, *source_id, *name, *category;
    double buffer_m, min_gsd_m;
    const char *attributes_json; /**< "{}" if none */
    const char *wkt;             /**< original geometry as WKT (NULL unless asked) */
} ko_site_record;

/** Calls fn for every site (of category, if not NULL) in id order; fn returns 0 to stop.
 * with_wkt != 0 fills ko_site_record.wkt. */
KO_API ko_status ko_sites_foreach(ko_sites *s, const char *category, int with_wkt,
                                  int (*fn)(const ko_site_record *site, void *user), void *user);

/** One site's geometry as WKT (WGS84 lon lat): the original, or the buffered one if
 * buffered != 0. On success *wkt is owned by the caller: free with ko_free(). KO_ERR_NOT_FOUND
 * if there is no such site. */
KO_API ko_status ko_sites_site_wkt(ko_sites *s, int64_t id, int buffered, char **wkt);

/** Writes the sites (of category, if not NULL) to path through OGR driver driver (NULL: the
 * driver path's extension names, as ko_ogr_driver_for() tells it; KO_ERR_ARG for an extension
 * it does not know): fields id, source, source_id, name, category, buffer_m, min_gsd_m,
 * attributes; geometry the original one, or the buffered one if buffered != 0. GeoJSON is
 * written as RFC 7946 (counterclockwise outer rings, no crs member), 9 decimals. */
KO_API ko_status ko_sites_export(ko_sites *s, const char *path, const char *driver,
                                 const char *category, int buffered);

/** The OGR vector driver a file name's extension names, as ogr2ogr picks one: .gpkg GPKG,
 * .fgb FlatGeobuf, .shp ESRI Shapefile, .geojson/.json GeoJSON, .geojsonl/.geojsons/.jsonl
 * GeoJSONSeq, .csv CSV, .kml KML, .gml GML, .sqlite SQLite (case-insensitive); NULL for
 * another. Static string. */
KO_API const char *ko_ogr_driver_for(const char *path);

/** Number of compiled-in default categories. */
KO_API size_t ko_category_default_count(void);

/** The i-th compiled-in default category (i < ko_category_default_count()); static strings.
 * Returns KO_ERR_ARG if i is out of range. */
KO_API ko_status ko_category_default(size_t i, const char **name, double *buffer_m,
                                     double *min_gsd_m, const char **description);

/* ------------------------------------------------------------------------------------------ */
/** @name Checking shots against the site store */

/** The answer for one shot. `unknown` means no reliable footprint could be computed; release
 * pipelines treat it as flagged. */
typedef enum ko_verdict { KO_CLEAR = 0, KO_FLAGGED = 1, KO_UNKNOWN = 2 } ko_verdict;

/** "clear", "flagged" or "unknown". Static. */
KO_API const char *ko_verdict_str(ko_verdict v);

/** The verdict of a file or batch from two of its parts: unknown outranks flagged (the input
 * could not be judged at all), flagged outranks clear. */
KO_API ko_verdict ko_verdict_worst(ko_verdict a, ko_verdict b);

/** Options of ko_check_shot(). Start from ko_check_options_init(). Point footprint at
 * footprint options whose gsd_limit_m comes from ko_sites_gsd_limit(), so that rays are cut
 * where no category is sensitive any more. */
typedef struct ko_check_options {
    size_t size; /**< sizeof(ko_check_options), set by ko_check_options_init() */
    /** How footprints are computed; NULL (default): ko_footprint_options_init()'s defaults.
     * Borrowed: must stay valid while the options are used. */
    const ko_footprint_options *footprint;
    double margin_m; /**< widen the footprint by this many metres before querying sites, for
                          position and attitude error (planned routes: GPS and wind drift);
                          default 0 */
} ko_check_options;

/** Sets opts->size and every field to its default (footprint NULL, margin 0). */
KO_API void ko_check_options_init(ko_check_options *opts);

/** One site in the footprint and what the resolution rule made of it. */
typedef struct ko_finding {
    const ko_site_hit *site; /**< borrowed from the result */
    double gsd_m;            /**< GSD at the site's nearest visible point; NaN if unknown */
    int disclosed;           /**< 1 if in view and resolved: this makes the shot flagged */
    const char *rule;        /**< which rule decided, for the report; borrowed */
} ko_finding;

/** The verdict on one shot. Opaque; free with ko_result_destroy(). */
typedef struct ko_result ko_result;

/** Computes the footprint of shot, queries sites, applies the resolution rule. A shot that
 * cannot give a reliable footprint yields KO_OK and verdict KO_UNKNOWN with a reason; an
 * error status means the store failed (the caller must not report `clear`). On success *out
 * is owned by the caller. */
KO_API ko_status ko_check_shot(ko_context *ctx, ko_sites *sites, const ko_shot *shot,
                               const ko_check_options *opts, ko_result **out);

KO_API ko_verdict ko_result_verdict(const ko_result *r);

/** Why: for unknown the missing or implausible value, else a one-line summary. Borrowed. */
KO_API const char *ko_result_reason(const ko_result *r);

/** The footprint, or NULL for unknown. Borrowed. */
KO_API const ko_footprint *ko_result_footprint(const ko_result *r);

/** Sites in the footprint, disclosed or not. */
KO_API size_t ko_result_count(const ko_result *r);
KO_API const ko_finding *ko_result_finding(const ko_result *r, size_t i);

/** 1 if the shot was read and checked (its verdict, unknown included, is a judgement of a
 * readable input); 0 if its input could not be read (ko_shot.unreadable): then the verdict is
 * unknown and no policy may release it. */
KO_API int ko_result_checked(const ko_result *r);

KO_API void ko_result_destroy(ko_result *r);

/* ------------------------------------------------------------------------------------------ */
/** @name Result summaries and records
 *
 * What every face says about one result — `keepout check` records, `keepout tag` catalogue
 * rows, the GDAL driver's KEEPOUT metadata and footprints layer — is computed here once, in one
 * field vocabulary (docs/DESIGN.md, "Result records"): `id`, `source`, `time`, `verdict`,
 * `reason`, `hit_count`, `site_ids`, `site_names`, `categories`, `min_gsd_m`, `hits`,
 * `in_view_unresolved`, `camera_lat`, `camera_lon`; each finding `site_id`, `name`,
 * `category`, `source_id`, `distance_m`, `fraction_in_view`, `gsd_m`, `min_gsd_m`,
 * `disclosed`, `rule`.
 */

/** The flat summary of a result: the disclosed findings (those that make it flagged) counted,
 * their finest GSD and their site ids, names and categories joined with ';' in the result's
 * order (by distance). Start from ko_result_summary_init(), fill with ko_result_summarize(),
 * free with ko_result_summary_clear(). */
typedef struct ko_result_summary {
    size_t size;        /**< sizeof(ko_result_summary), set by ko_result_summary_init() */
    ko_verdict verdict; /**< ko_result_verdict() */
    int checked;        /**< ko_result_checked() */
    const char *reason; /**< ko_result_reason(): borrowed, lives as long as the result */
    size_t hit_count;   /**< disclosed findings */
    double min_gsd_m;   /**< finest known gsd_m among them; NaN if none is known */
    /** ';'-joined site ids, names (a site without one: empty) and categories of the disclosed
     * findings, "" if there are none. Owned by the summary: ko_result_summary_clear(). */
    char *site_ids, *site_names, *categories;
} ko_result_summary;

/** Sets s->size, the verdict unknown, no findings, min_gsd_m NaN and the strings NULL. */
KO_API void ko_result_summary_init(ko_result_summary *s);

/** Summarises r into *out, which must come from ko_result_summary_init() (or have been
 * cleared); on success its strings are owned by *out. KO_ERR_ARG for a NULL argument or a
 * summary not set up by ko_result_summary_init(); KO_ERR_NOMEM. On failure *out is left as
 * it was. */
KO_API ko_status ko_result_summarize(ko_context *ctx, const ko_result *r, ko_result_summary *out);

/** Frees the summary's strings and sets it up again as ko_result_summary_init() does. NULL is a
 * no-op. */
KO_API void ko_result_summary_clear(ko_result_summary *s);

/** The record of one checked shot as the text of a JSON object (the properties of a GeoJSON
 * Feature, one line of `keepout check --format jsonl`): `id`, `source`, `time` (null if
 * unknown), `verdict`, `reason`, `hit_count`, `site_ids`, `site_names`, `categories`,
 * `min_gsd_m` (as ko_result_summarize(); null if NaN), `hits` (the disclosed findings) and
 * `in_view_unresolved` (the others) as arrays of finding objects (ko_result_findings_json()),
 * `camera_lat` and `camera_lon` (when the shot's latitude is known), then the shot's
 * pass-through columns as strings (one whose key is already there is left out). Numbers are
 * written to 12 significant digits, distance_m rounded to 0.1 m and fraction_in_view to
 * 10^-4; a number that is not finite is null. Strings are valid JSON and valid UTF-8: a byte
 * that is not part of well-formed UTF-8 is written as the four characters `\xHH` (the form
 * every keepout output uses, so two names that differ only in such bytes stay apart). On
 * success *json is owned by the caller: free with ko_free(). */
KO_API ko_status ko_result_json(ko_context *ctx, const ko_shot *shot, const ko_result *r,
                                char **json);

/** Every finding of r, disclosed or not, in the result's order, as the text of a JSON array of
 * finding objects as ko_result_json() writes them (`disclosed` says which). On success *json is
 * owned by the caller: free with ko_free(). */
KO_API ko_status ko_result_findings_json(ko_context *ctx, const ko_result *r, char **json);

/** Text from outside (site names and categories, file names, reasons) made safe to show on a
 * terminal or in a line of `key=value` text (a table, CSV, GDAL metadata as gdalinfo prints
 * it): C0 controls and DEL as the text `\xHH`; C1 controls, the bidirectional controls and the
 * line and paragraph separators as `\uHHHH`; each byte that is not part of well-formed UTF-8 as
 * `\xHH`; every other character as it is. For display only: it is not reversible (a literal
 * `\x41` is kept). NULL s is "". ctx may be NULL (no message). On success *out is owned by the
 * caller: free with ko_free(). KO_ERR_ARG (out NULL), KO_ERR_NOMEM. */
KO_API ko_status ko_text_clean(ko_context *ctx, const char *s, char **out);

/* ------------------------------------------------------------------------------------------ */
/** @name Release policy
 *
 * Whether an image may leave is decided here, once, for every face: the CLI's exit status,
 * `tag`, `route`, `release` and the GDAL driver all call ko_release_decide() and act on its
 * answer; none has a rule of its own. An image that was not checked (no result: the store or
 * the reader failed) is refused in every mode; `unknown_is` applies only to images that were
 * checked and came out `unknown`, and only in strict mode: redaction never releases an image
 * it could not check (there is no footprint to redact).
 */

/** What the caller is doing with the images. */
typedef enum ko_release_mode {
    KO_MODE_TAG = 0,    /**< annotate only: checked images pass with their verdict attached */
    KO_MODE_REDACT = 1, /**< release clear images, redact flagged ones, refuse the rest */
    KO_MODE_STRICT = 2  /**< release clear images only (and unknown ones if unknown_is is
                             KO_CLEAR); the CLI's exit status is strict */
} ko_release_mode;

/** The caller's policy. Start from ko_release_policy_init(). */
typedef struct ko_release_policy {
    size_t size;           /**< sizeof(ko_release_policy), set by ko_release_policy_init() */
    ko_release_mode mode;  /**< default KO_MODE_STRICT */
    ko_verdict unknown_is; /**< how a checked `unknown` counts in strict mode: KO_UNKNOWN
                                (default) or KO_FLAGGED refuse it, KO_CLEAR releases it */
} ko_release_policy;

/** Sets p->size and the defaults: strict, unknown refused. */
KO_API void ko_release_policy_init(ko_release_policy *p);

/** The decision on one image. */
typedef enum ko_decision {
    KO_RELEASE = 0, /**< the image may leave unchanged */
    KO_REDACT = 1,  /**< it may leave only with the pixels of ko_redact_mask() blanked */
    KO_REFUSE = 2   /**< it must not leave */
} ko_decision;

/** "release", "redact" or "refuse". Static. */
KO_API const char *ko_decision_str(ko_decision d);

/** Decides one image from its result (NULL: it could not be checked at all) under policy p
 * (NULL: the default, strict). *why (may be NULL) gets a static sentence saying which rule
 * decided, e.g. "flagged: a protected site is in view and resolved". Never fails: a policy
 * whose size field is wrong (not from ko_release_policy_init()) refuses every image, and *why
 * says so. */
KO_API ko_decision ko_release_decide(const ko_release_policy *p, const ko_result *r,
                                     const char **why);

/** As ko_release_decide() from a verdict alone, for faces that hold a stored verdict (a
 * catalogue row) rather than a live result. checked = 0 means no verdict exists. */
KO_API ko_decision ko_release_decide_verdict(const ko_release_policy *p, int checked, ko_verdict v,
                                             const char **why);

/** The decision on a batch (a run, a catalogue, a plan) from the counts of its images by
 * verdict: the strictest decision ko_release_decide_verdict() gives any of them (refuse over
 * redact over release). n_not_checked counts images with no verdict (unreadable inputs). An
 * empty batch is refused: nothing was checked. */
KO_API ko_decision ko_release_decide_batch(const ko_release_policy *p, size_t n_clear,
                                           size_t n_flagged, size_t n_unknown, size_t n_not_checked,
                                           const char **why);

/* ------------------------------------------------------------------------------------------ */
/** @name Routes: planned missions
 *
 * A ::ko_route is a mission read from a planning app's file, reduced to waypoints whose camera
 * state is already replayed (gimbal, zoom, heading, capture triggers in effect), so that every
 * format means the same thing. Waypoint i and i+1 bound leg i.
 */

/** What a waypoint's height is measured from. */
typedef enum ko_height_ref {
    KO_HEIGHT_TAKEOFF = 0, /**< above the take-off point (DJI relativeToStartPoint, Litchi
                                altitudemode 0, MAVLink GLOBAL_RELATIVE_ALT) */
    KO_HEIGHT_AGL = 1,     /**< above the ground under the aircraft (DJI aboveGroundLevel,
                                Litchi altitudemode 1, MAVLink GLOBAL_TERRAIN_ALT) */
    KO_HEIGHT_EGM96 = 2,   /**< orthometric, EGM96 geoid (DJI EGM96, MAVLink GLOBAL = AMSL) */
    KO_HEIGHT_WGS84 = 3    /**< ellipsoidal (DJI WGS84) */
} ko_height_ref;

/** How the camera captures on a leg. */
typedef enum ko_trigger {
    KO_TRIGGER_NONE = 0,      /**< no capture on the leg (photos at waypoints only) */
    KO_TRIGGER_DISTANCE = 1,  /**< one photo every trigger_value metres */
    KO_TRIGGER_TIME = 2,      /**< one photo every trigger_value seconds (needs the speed) */
    KO_TRIGGER_CONTINUOUS = 3 /**< video: sampled every ko_route_options.spacing_m */
} ko_trigger;

/** Which way the aircraft turns from one waypoint's heading to the next one's. */
typedef enum ko_turn {
    KO_TURN_EITHER = 0,          /**< the plan does not say: judged both ways round */
    KO_TURN_SHORTER = 1,         /**< the shorter way (both ways round at exactly 180 degrees;
                                      DJI WPML followBadArc, MAVLink yaw) */
    KO_TURN_CLOCKWISE = 2,       /**< Litchi rotationdir 0, DJI WPML clockwise */
    KO_TURN_COUNTERCLOCKWISE = 3 /**< Litchi rotationdir 1, DJI WPML counterClockwise */
} ko_turn;

/** One waypoint with the camera state in effect there. Unknown doubles are NaN. */
typedef struct ko_waypoint {
    int number;      /**< the waypoint's number as the planning app shows it */
    int line;        /**< line (CSV, WPL), item (plan) or index (WPML) for messages */
    double lat, lon; /**< WGS84 degrees */
    double height;   /**< on height_ref, metres; NaN if the file gives none */
    ko_height_ref height_ref;
    double heading_deg;      /**< fixed aircraft heading, clockwise from north; NaN: the
                                  aircraft faces along the leg (or the POI) */
    double gimbal_pitch_deg; /**< gimbal pitch in effect (0 horizon, -90 nadir); NaN: never set */
    double gimbal_yaw_deg;   /**< absolute gimbal yaw from north if the plan fixes it; NaN:
                                  the camera looks where the aircraft heads, plus the offset */
    double gimbal_yaw_offset_deg; /**< gimbal yaw relative to the aircraft heading (0) */
    double poi_lat, poi_lon;      /**< point of interest the aircraft turns to; NaN: none */
    double poi_height;            /**< its height on height_ref (NaN: ground) */
    double focal35_mm;            /**< zoom in effect, 35 mm-equivalent; NaN: the camera's own */
    double speed_mps;             /**< speed on the leg leaving this waypoint; NaN: unknown */
    unsigned photos;              /**< photos taken on reaching this waypoint */
    ko_trigger trigger;           /**< capture in effect on the leg leaving this waypoint */
    double trigger_value;         /**< metres or seconds, per trigger */
    /** Litchi curvesize: the aircraft may round the corner here, leaving the straight legs
     * within this many metres of the waypoint (0: it flies through the waypoint). */
    double curve_m;
    /** The way the heading turns between this waypoint's heading and a neighbour's. A leg turns
     * the way both its waypoints say; where they differ, both ways round. */
    ko_turn turn;
} ko_waypoint;

/** Sets every double of *wp to NaN (curve_m to 0) and the rest to zero/none (turn
 * KO_TURN_EITHER). */
KO_API void ko_waypoint_init(ko_waypoint *wp);

/** A mission read from a file. Opaque; free with ko_route_destroy(). */
typedef struct ko_route ko_route;

/** Reads a mission: DJI WPML (.kmz read through /vsizip/, a waylines.wpml or template.kml,
 * or a directory holding them), Litchi CSV, QGroundControl .plan, MAVLink "QGC WPL 110"
 * .waypoints/.txt, or any OGR line/point source (KML, GPX, GeoJSON...: vertices become
 * waypoints without camera state). Any VSI path. On success *out is owned by the caller.
 * KO_ERR_FORMAT/KO_ERR_IO with a message naming the file and the element at fault. */
KO_API ko_status ko_route_open(ko_context *ctx, const char *path, ko_route **out);

KO_API void ko_route_destroy(ko_route *rt);

/** "wpml", "litchi", "qgc-plan", "qgc-wpl" or "ogr". Static. */
KO_API const char *ko_route_format(const ko_route *rt);

/** The path it was read from. Borrowed. */
KO_API const char *ko_route_path(const ko_route *rt);

KO_API size_t ko_route_waypoint_count(const ko_route *rt);

/** The i-th waypoint, or NULL. Borrowed: lives as long as rt. */
KO_API const ko_waypoint *ko_route_waypoint(const ko_route *rt, size_t i);

/** The camera if the file describes one (QGC CameraCalc with sensor and focal length): returns
 * 1 and fills *cam; else 0 (the caller must supply one). */
KO_API int ko_route_camera(const ko_route *rt, ko_camera *cam);

/** The take-off point if the file states it (WPML takeOffRefPoint, QGC plannedHomePosition):
 * returns 1 and fills lat, lon and its height on *ref; else 0. */
KO_API int ko_route_takeoff(const ko_route *rt, double *lat, double *lon, double *height,
                            ko_height_ref *ref);

/** Options that turn a route into exposures. Start from ko_route_options_init(). */
typedef struct ko_route_options {
    size_t size; /**< sizeof(ko_route_options), set by ko_route_options_init() */
    /** The camera; NULL (default) or focal_mm NaN: the one the plan describes. Borrowed:
     * must stay valid while the options are used. */
    const ko_camera *camera;
    double gimbal_pitch_deg; /**< NaN: the plan's; else every exposure at this pitch */
    double height_m;         /**< NaN: the plan's; else every waypoint this high above take-off */
    double spacing_m;        /**< one sample per this many metres where the camera records
                                  continuously, where a time trigger has no speed, and on every
                                  leg of a plan without capture actions (default 10) */
    int continuous;          /**< the camera records the whole route (video) */
    double takeoff_alt_m;    /**< ground altitude at take-off, EGM96 metres, for absolute
                                  (EGM96/WGS84) heights without a DEM; NaN: the plan's take-off
                                  point if it states one */
} ko_route_options;

/** Sets opts->size and every field to its default (camera NULL). */
KO_API void ko_route_options_init(ko_route_options *opts);

/** One planned capture: a photo at a waypoint, a triggered photo, or a sample of video. */
typedef struct ko_exposure {
    size_t index;       /**< 0-based, in flight order */
    size_t leg;         /**< leg i runs from waypoint i to i+1 (a photo at the last waypoint
                             belongs to the last leg) */
    size_t waypoint;    /**< index of the waypoint it is taken at, or the leg's start */
    double along_m;     /**< distance from the leg's start */
    ko_trigger trigger; /**< KO_TRIGGER_NONE: a photo on reaching the waypoint */
    ko_shot shot;       /**< pose and camera; shot.reason says why if no reliable pose (e.g.
                             the plan never sets the gimbal pitch). Strings borrowed from the
                             ko_exposures */
} ko_exposure;

/** The exposures of a route. Opaque; free with ko_exposures_destroy(). */
typedef struct ko_exposures ko_exposures;

/** Samples the route at its exposures: photos at waypoints, distance and time triggers along
 * legs (a trigger runs on across waypoints as the camera does), video every spacing_m; a plan
 * without any capture is sampled everywhere (see ko_exposures_note()). Every waypoint where the
 * camera records (video, a trigger on a leg that leaves or reaches it, or a plan without
 * capture) is an exposure too, so a hover, a single waypoint or a leg of no length is checked;
 * a route that gives no exposure at all is KO_ERR_FORMAT, never an empty (clear) result.
 * Heights are converted to the pose per the waypoint's reference: above take-off and AGL as
 * height_m (and the take-off point in pose.takeoff_lat/lon), EGM96/WGS84 as the pose's absolute
 * altitude plus height_m over the take-off ground where that is known. On success *out is owned by
 * the caller. KO_ERR_ARG (message says what to give) if there is no camera; KO_ERR_LIMIT beyond
 * 10^7 exposures. */
KO_API ko_status ko_route_exposures(ko_context *ctx, const ko_route *rt,
                                    const ko_route_options *opts, ko_exposures **out);

KO_API size_t ko_exposures_count(const ko_exposures *ex);

/** The i-th exposure, or NULL. Borrowed: lives as long as ex. */
KO_API const ko_exposure *ko_exposures_get(const ko_exposures *ex, size_t i);

/** Assumptions the sampling made, one sentence each ("" if none), e.g. that a plan without
 * capture actions was sampled as video. Borrowed. */
KO_API const char *ko_exposures_note(const ko_exposures *ex);

KO_API void ko_exposures_destroy(ko_exposures *ex);

/** Changes to one leg that keep the leg but disclose no site on it. */
typedef struct ko_remedy {
    double pitch_deg; /**< the gimbal pitch nearest the plan's that clears every exposure of the
                           leg, searched in 1-degree steps over [-90, 0]; NaN: none does */
    double height_m;  /**< the change of height (metres, + up) nearest zero that clears the leg,
                           searched in 5 m steps keeping 10..120 m above take-off; NaN: none */
} ko_remedy;

/** Searches remedies for one leg of ex by re-checking its exposures with changed pitch or
 * height (exposures without a reliable pose make both NaN). */
KO_API ko_status ko_route_remedy(ko_context *ctx, ko_sites *sites, const ko_exposures *ex,
                                 size_t leg, const ko_check_options *opts, ko_remedy *out);

/** A plan checked (ko_plan_check()): every exposure's result, each leg's verdict (the worst of
 * its exposures'), the ground each leg sweeps and the remedies of flagged legs. Opaque; free
 * with ko_plan_destroy(). What `keepout route` reports and the GDAL driver's plan layers hold. */
typedef struct ko_plan ko_plan;

/** Checks every exposure of ex (sampled from rt) against sites with opts, sweeps each leg (the
 * union of its footprints and, where the camera records continuously, the hulls of consecutive
 * ones) and searches remedies for every flagged leg (ko_route_remedy()). Prepares the store for
 * the queries to come (ko_sites_prepare()). progress (may be NULL) is told the fraction done;
 * returning 0 from it cancels (KO_ERR_CANCELLED). rt and ex are borrowed and must outlive the
 * plan. On success *out is owned by the caller; a store failure is the store's status with its
 * message. */
KO_API ko_status ko_plan_check(ko_context *ctx, ko_sites *sites, const ko_route *rt,
                               const ko_exposures *ex, const ko_check_options *opts,
                               ko_progress_fn progress, void *progress_user, ko_plan **out);

KO_API void ko_plan_destroy(ko_plan *p);

/** The result of exposure i, or NULL. Borrowed: lives as long as p. */
KO_API const ko_result *ko_plan_result(const ko_plan *p, size_t i);

/** Legs: waypoints - 1, and 1 for a single waypoint. */
KO_API size_t ko_plan_leg_count(const ko_plan *p);

/** The worst verdict of the leg's exposures (clear for a leg without any). */
KO_API ko_verdict ko_plan_leg_verdict(const ko_plan *p, size_t leg);

/** The leg's remedy (both NaN unless the leg is flagged and one was found), or NULL. */
KO_API const ko_remedy *ko_plan_leg_remedy(const ko_plan *p, size_t leg);

/** The ground the leg sweeps as WKT (a Polygon or MultiPolygon, WGS84 lon/lat), "" if none of
 * its exposures has a footprint. Borrowed: lives as long as p. */
KO_API const char *ko_plan_leg_wkt(const ko_plan *p, size_t leg);

/** The plan's verdict (unknown if any exposure is, else flagged if any is, else clear) and its
 * exposures by verdict (each pointer may be NULL). */
KO_API ko_verdict ko_plan_verdict(const ko_plan *p, size_t *n_clear, size_t *n_flagged,
                                  size_t *n_unknown);

/** The plan's records, one layer per kind (docs/DESIGN.md, "keepout route"): the route (one
 * record, its line), legs (swept ground, verdict, remedy), exposures (footprint, pose, verdict)
 * and conflicts (one per disclosed finding: the point of the site nearest the camera). */
typedef enum ko_plan_layer {
    KO_PLAN_ROUTE = 0,
    KO_PLAN_LEGS = 1,
    KO_PLAN_EXPOSURES = 2,
    KO_PLAN_CONFLICTS = 3
} ko_plan_layer;

/** "route", "legs", "exposures", "conflicts"; "" for another value. Static. */
KO_API const char *ko_plan_layer_name(ko_plan_layer layer);

/** The type of a record field. */
typedef enum ko_field_type {
    KO_FIELD_STRING = 0,
    KO_FIELD_INTEGER = 1,
    KO_FIELD_REAL = 2
} ko_field_type;

/** A record field: its name and type. */
typedef struct ko_field {
    const char *name;
    ko_field_type type;
} ko_field;

/** The fields of the layer's records, in order (*n of them; NULL and 0 for another value), the
 * keys of every ko_plan_record() object of that layer. Static. Geometry: route LineString,
 * legs Polygon or MultiPolygon, exposures Polygon, conflicts Point. */
KO_API const ko_field *ko_plan_fields(ko_plan_layer layer, size_t *n);

/** The number of records of the layer. */
KO_API size_t ko_plan_record_count(const ko_plan *p, ko_plan_layer layer);

/** Record i of the layer: *json := the text of a JSON object holding every field of
 * ko_plan_fields() (null where unknown; strings as ko_result_json() writes them), *wkt := its
 * geometry as WKT ("" for none). Either pointer may be NULL if not wanted. On success the caller
 * frees both with ko_free(). KO_ERR_ARG for i out of range. */
KO_API ko_status ko_plan_record(ko_context *ctx, const ko_plan *p, ko_plan_layer layer, size_t i,
                                char **json, char **wkt);

/** 1 if path names a mission file ko_route_open() reads by its own format — a DJI WPML .kmz,
 * .wpml or template.kml (or a directory holding waylines.wpml or template.kml), a Litchi mission
 * CSV (by its header), a QGroundControl .plan or a MAVLink "QGC WPL" file (by its first line) —
 * else 0 (KML/GPX/GeoJSON lines are routes only when asked for). Reads the first bytes only;
 * a path that is not a regular file or directory (ko_path_check()) is 0. */
KO_API int ko_input_is_route(const char *path);

/** Reads a camera from a text spec, the form `keepout route --camera` and the driver's CAMERA=
 * take: `focal35=MM[,size=WxH]` (35 mm-equivalent focal length), `MAKE/MODEL,focal=MM[,size=WxH]`
 * (a camera-table entry), `focal=MM,sensor=WxH[,size=WxH]` (millimetres; size in pixels,
 * default 4000x3000) or `NAME[,focal=MM][,size=WxH]` (ko_camera_by_name(): "Mavic 3E"; focal=
 * needed where its lens varies). KO_ERR_ARG with a message naming the spec and what is missing. */
KO_API ko_status ko_camera_from_spec(ko_context *ctx, const char *spec, ko_camera *out);

/* ------------------------------------------------------------------------------------------ */
/** @name Redaction */

/** Marks the pixels of a width x height image that show a disclosed site of res (the result of
 * ko_check_shot() for shot on sites): each such site's buffered geometry, clipped to what the
 * camera sees (the verdict's footprint joined with a footprint cast without the GSD cut out to
 * the horizon plus that of a 100 m structure, at least 10 km: a site flagged for its near part
 * is blanked where it shows beyond the range limit too), is projected into the image with the
 * same camera model (forward: ground -> camera -> distortion -> pixel), filled, then dilated by
 * margin_px pixels. The image
 * must be the frame the camera recorded: width x height equal to shot->camera's width_px x
 * height_px (a photo's as its metadata states them); a resized, cropped or rotated copy, or a
 * camera of unknown frame size, is KO_ERR_UNSUPPORTED (where the site lies in it is not known,
 * so it cannot be redacted: hold it). When shot->source is a file, its header is read again
 * for signs an editor leaves of a crop, turn or resize whose stated size was rewritten: a
 * frame neither as wide nor as high as the camera table's sensor for its model, or turned
 * from it, or a field of view more than 10 % narrower than its 35 mm-equivalent focal length
 * says; such a file, or one whose header is not a JPEG's, is KO_ERR_UNSUPPORTED too. dem must be
 * the DEM the shot was checked with (opts.footprint->dem), or NULL if it was checked on flat ground
 * (KO_ERR_ARG otherwise): on a DEM every ground point is placed at the DEM's height, seen from the
 * camera altitude(s) the footprint was cast from; a point where the DEM has no data is
 * KO_ERR_NOT_FOUND. mask (width*height bytes, caller-owned) gets 255 for pixels to blank, 0
 * elsewhere; *n_redacted (may be NULL) their count. Results other than flagged leave the mask
 * empty: whether they may leave is ko_release_decide()'s answer. On any error the mask must not be
 * used. */
KO_API ko_status ko_redact_mask(ko_context *ctx, ko_sites *sites, ko_dem *dem, const ko_shot *shot,
                                const ko_result *res, uint32_t width, uint32_t height,
                                double margin_px, uint8_t *mask, size_t *n_redacted);

/** The redaction margin in pixels for a width x height image: 2 pixels plus 0.5 % of the larger
 * side, for the footprint's own sampling and a few pixels of GPS and attitude error at the
 * image's scale. The GDAL driver's MODE=redact and ko_release_check() use it. */
KO_API double ko_redact_margin_px(uint32_t width, uint32_t height);

/* ------------------------------------------------------------------------------------------ */
/** @name Releasing files: the release gate
 *
 * ko_release_check() takes one file of a ::ko_file_list, checks it, decides with
 * ko_release_decide() (a series, with ko_release_decide_batch()) and prepares what is to be
 * written: for a decision KO_RELEASE the file unchanged (or, with strip_location, with its
 * location and drone pose taken out of its metadata); for KO_REDACT a redacted copy of the
 * photo; for KO_REFUSE the file unchanged, to be held for a person to look at.
 * ko_release_item_write() writes it. The rules on top of the policy, all fail closed:
 *  - only JPEG photos are redacted: a flagged photo whose site lands on no pixel, or whose
 *    pixels or metadata cannot be rewritten, is refused; a series (a DJI .SRT with its video,
 *    a telemetry table) cannot be redacted: it is released only when every frame is clear
 *    (video redaction is out of scope);
 *  - with strip_location a file whose metadata cannot be parsed is refused, and so is a series
 *    (telemetry is location data);
 *  - what is checked is what is written: the file is read once into memory, checked from
 *    there and written from there (its SHA-256 is of those bytes).
 * A redacted JPEG: the pixels of ko_redact_mask() (with ko_redact_margin_px()) set to 0 in
 * every band, encoded by GDAL's JPEG driver at the quality estimated from the source's
 * luminance quantisation table (the IJG quality whose scaled standard table is nearest; 90
 * when the source has none), with the source's EXIF and XMP segments and ICC profile copied
 * in; the EXIF thumbnail, MPF previews and every other application segment are left out (they
 * may show the site unredacted). Stripping location: EXIF GPS IFD emptied, the maker note
 * zeroed (DJI's holds the drone's attitude and speed), XMP properties of position, altitude,
 * attitude and speed blanked, MPF previews and other application segments and comments left
 * out.
 */

/** Options of ko_release_check(). Start from ko_release_options_init(). Everything they point
 * to is borrowed for the call. */
typedef struct ko_release_options {
    size_t size; /**< sizeof(ko_release_options), set by ko_release_options_init() */
    /** The policy; NULL (default): ko_release_policy_init()'s with mode KO_MODE_REDACT. */
    const ko_release_policy *policy;
    /** How shots are checked; NULL: the defaults. Its footprint->dem is the DEM redaction
     * places sites on. */
    const ko_check_options *check;
    /** How files are read; NULL: the defaults. */
    const ko_reader_options *reader;
    int strip_location; /**< released files lose GPS, position and drone pose metadata */
    double margin_px;   /**< redaction margin; NaN (default): ko_redact_margin_px() */
} ko_release_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_release_options_init(ko_release_options *opts);

/** One file checked for release. Opaque; free with ko_release_item_destroy(). */
typedef struct ko_release_item ko_release_item;

/** What ko_release_check() found and decided. Strings are borrowed from the item. */
typedef struct ko_release_info {
    size_t size;          /**< sizeof(ko_release_info): set it before ko_release_item_info() */
    ko_decision decision; /**< KO_RELEASE, KO_REDACT or KO_REFUSE */
    const char *why;      /**< the rule that decided, one sentence */
    ko_verdict verdict;   /**< the worst verdict of its shots (unknown if it has none) */
    size_t shots, flagged, unknown, not_checked; /**< its shots, and how many were not clear */
    const char *reason;     /**< the first unknown or flagged shot's reason, else the verdict's */
    const char *site_ids;   /**< ';'-joined ids of the disclosed sites, each once, "" if none */
    const char *site_names; /**< their names, in the same order */
    size_t redacted_pixels; /**< pixels blanked (KO_REDACT) */
    int jpeg_quality;       /**< the quality a redacted JPEG is written at, else 0 */
    int has_copy;           /**< 0 if nothing can be written (not a regular file, unreadable) */
    int64_t source_size;    /**< bytes read, -1 if none */
    char source_sha256[65]; /**< of the bytes read ("" if none) */
    char output_sha256[65]; /**< of what ko_release_item_write() writes ("" if nothing) */
    size_t n_companions;    /**< files that go with it: the videos beside a DJI .SRT */
    const char *const *companions; /**< their paths */
} ko_release_info;

/** Checks file i of list against sites and decides (see above). A file that cannot be read
 * is an item refused with the reason, not an error. On success *out is owned by the caller.
 * Fails only when the store fails (KO_ERR_DB...), memory runs out, or the options are wrong:
 * then nothing may be released. */
KO_API ko_status ko_release_check(ko_context *ctx, ko_sites *sites, const ko_file_list *list,
                                  size_t i, const ko_release_options *opts, ko_release_item **out);

/** Fills *out (out->size set by the caller to sizeof(ko_release_info)); KO_ERR_ARG otherwise. */
KO_API ko_status ko_release_item_info(const ko_release_item *it, ko_release_info *out);

/** Writes the item to dst, a local path (directories made as needed), and its companions
 * beside it under their own names: each through a temporary file `.NAME.keepout-tmp` in the
 * destination directory, fsync'ed, renamed into place, and the directory fsync'ed, so dst is
 * whole or absent whenever the process dies. KO_ERR_ARG if the item has no copy; KO_ERR_IO
 * naming the path on failure (a temporary file may be left, which the next write of the same
 * dst replaces). */
KO_API ko_status ko_release_item_write(ko_release_item *it, const char *dst);

/** NULL is a no-op. */
KO_API void ko_release_item_destroy(ko_release_item *it);

/** Writes len bytes to path as ko_release_item_write() does (temporary file, fsync, rename,
 * directory fsync; directories made as needed). */
KO_API ko_status ko_file_write_atomic(ko_context *ctx, const char *path, const void *data,
                                      size_t len);

/** Removes the temporary file a write of path killed midway left (see
 * ko_release_item_write(); its name is `.NAME.keepout-tmp` beside path, or, where that would
 * be longer than a file name may be, `.` plus the name's first 200 bytes, `~` and 16 hex
 * digits of its SHA-256, `.keepout-tmp`), unless a process is writing it now (a writer locks
 * it until it is renamed). KO_OK also when there is none; a symbolic link there is removed. */
KO_API ko_status ko_file_discard_temp(ko_context *ctx, const char *path);

/** How a note of a run (a catalogue's, a release's) weighs. */
typedef enum ko_note_level {
    KO_NOTE_INFO = 0,   /**< how the run goes (how many files, how the store is queried) */
    KO_NOTE_WARNING = 1 /**< a file left out of the catalogue and why; the cause of a failure
                             that the call then returns, when there were two */
} ko_note_level;

/** What a run says as it goes, one sentence without a newline. text is borrowed for the call
 * and may hold file and site names as they are (control characters included): escape it
 * before a terminal. */
typedef void (*ko_note_fn)(ko_note_level level, const char *text, void *user);

/** The manifest's file name in HOLD when ko_release_run_options.manifest is NULL. */
#define KO_RELEASE_MANIFEST_NAME ".keepout-release.jsonl"

/** Options of ko_release_run(). Start from ko_release_run_options_init(). Everything they
 * point to is borrowed for the call. */
typedef struct ko_release_run_options {
    size_t size;      /**< sizeof(ko_release_run_options), set by ko_release_run_options_init() */
    const char *out;  /**< OUT: where released and redacted files go (made where missing) */
    const char *hold; /**< HOLD: where held files go, each with FILE.reason.txt beside it */
    /** The manifest, one JSON line per file, which is also the journal a re-run resumes from;
     * NULL (default): HOLD/KO_RELEASE_MANIFEST_NAME. It may not lie in OUT (it names the
     * sites) nor in an input. */
    const char *manifest;
    int redact;         /**< 1 (default): flagged photos redacted; 0: held */
    int strip_location; /**< released files lose GPS, position and drone pose metadata */
    /** How inputs are read; NULL: ko_reader_options_init()'s defaults. Its below_takeoff is
     * taken as whether there are DEMs (dem_paths). */
    const ko_reader_options *reader;
    /** How footprints are computed; NULL: the defaults. Its dem is not used (see dem_paths) and
     * gsd_limit_m is the store's ko_sites_gsd_limit(). */
    const ko_footprint_options *footprint;
    /** Terrain: n_dem_paths rasters (tiles of one DEM), opened as one mosaic; none (default):
     * flat ground. */
    const char *const *dem_paths;
    size_t n_dem_paths;
    /** Called before the first file (0, "0/TOTAL files") and after each (complete in 0..1,
     * "DONE/TOTAL files"); return 0 to stop: the call then fails with KO_ERR_CANCELLED, what
     * was recorded so far kept for the next run. NULL: none. */
    ko_progress_fn progress;
    void *progress_user;
    /** Each file's manifest line (one JSON object, no newline; level KO_NOTE_INFO) as it is
     * recorded, in the order of the files, those skipped unchanged too. NULL: none. */
    ko_note_fn record;
    void *record_user;
} ko_release_run_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_release_run_options_init(ko_release_run_options *opts);

/** What ko_release_run() did. Start from ko_release_stats_init(). */
typedef struct ko_release_stats {
    size_t size;     /**< sizeof(ko_release_stats), set by ko_release_stats_init() */
    size_t released; /**< files in OUT unchanged (or stripped of their location) */
    size_t redacted; /**< files in OUT redacted */
    size_t held;     /**< files in HOLD */
    size_t skipped;  /**< of those, files released before and unchanged since (not rewritten) */
    /** KO_RELEASE when every file was released unredacted (or there were none), KO_REDACT when
     * something was redacted and nothing held, else KO_REFUSE. */
    ko_decision worst;
} ko_release_stats;

/** Sets s->size and every count to zero. */
KO_API void ko_release_stats_init(ko_release_stats *s);

/** The release gate over n inputs (files, or directories walked as ko_file_list_create() lists
 * them) against sites, an open store of ctx. Each file is checked, decided and written by
 * ko_release_check() and ko_release_item_write(): into OUT at its path below its input
 * (released or redacted), or into HOLD with FILE.reason.txt (held). The rules of the run, all
 * fail closed:
 *  - Before anything is written: OUT and HOLD must be two separate directories outside every
 *    input (and no input inside them), the manifest outside OUT and the inputs; two inputs
 *    giving one path below OUT, or an input with nothing to release in it, fail the call
 *    (KO_ERR_ARG, KO_ERR_NOT_FOUND) naming the paths.
 *  - Nothing is written through a symbolic link leading out of OUT or HOLD, and no file is
 *    overwritten that the manifest does not record as this source's output (another input's,
 *    or a file put there): the call fails (KO_ERR_IO) naming both, having written nothing for
 *    that file.
 *  - The manifest is locked (a second run on it fails at once), and so are OUT and HOLD (a
 *    second run into either, whatever its manifest, fails at once: KO_ERR_IO naming it); a
 *    line cut short by a kill is dropped. A file is skipped, its line kept, only when the recorded
 * line matches it: path, size, mtime and SHA-256 of the source; every setting that changes checking
 * (options, the store's file and write-ahead log, each DEM's files as GDAL lists them, archives
 *    included); the keepout version; and the output still where this run puts it with the
 *    recorded SHA-256. Series (an .SRT with its videos) are always done again.
 *  - A source changed while it was read is recorded so that the next run checks it again.
 * At the end the manifest is rewritten whole (atomic rename): lines of files not in this run
 * first, then this run's in order. On success *stats (may be NULL; from
 * ko_release_stats_init()) is filled. Fails with the store's status, KO_ERR_IO naming the file
 * that could not be written, KO_ERR_CANCELLED, or KO_ERR_ARG for wrong options; what was
 * recorded before the failure stays, and a run started again completes the same trees. */
KO_API ko_status ko_release_run(ko_context *ctx, ko_sites *sites, const char *const *inputs,
                                size_t n, const ko_release_run_options *opts,
                                ko_release_stats *stats);

/* ------------------------------------------------------------------------------------------ */
/** @name Catalogues: tagging archives
 *
 * A ::ko_catalog is an OGR data source, a GeoPackage file (created if missing) or a PostGIS
 * database ("PG:dbname=..."), holding the layer `footprints` (one polygon per shot, EPSG:4326:
 * verdict, sites, and the pose and camera needed to check it again), the table `hits` (shot ->
 * site) and the table `files` (one row per file, written last in the file's transaction: a
 * file is done exactly when its row exists), the same columns in both (geometry `geom`, times
 * as UTC timestamps). docs/DESIGN.md, "keepout tag catalogue", lists the columns and how an
 * older catalogue is opened. (The columns `path` and `shot_id` keep those names: their rename to
 * the vocabulary of "Result records" is a schema migration still to come.)
 *
 * ko_catalog_tag() checks every file of its inputs with worker threads, each with its own
 * context, store handle and DEM, and writes the results in path order, a batch of files per
 * transaction: a killed run loses at most the open batch, which the next run does again.
 * Files the catalogue holds unchanged (same path, size and mtime; with hash the same SHA-256
 * too) are skipped, changed ones replaced. ko_catalog_recheck() checks the stored footprints
 * again against the store, without reading the images. After a failed write or commit nothing
 * more is written and the call fails naming the catalogue and the cause; what was committed
 * before stays, in step with its R-tree and counts.
 *
 * A catalogue handle is used from the thread of its context; its callbacks run on that
 * thread.
 */

/** Options of a catalogue. Start from ko_catalog_options_init(). Everything they point to is
 * borrowed and must stay valid until ko_catalog_close(). */
typedef struct ko_catalog_options {
    size_t size;      /**< sizeof(ko_catalog_options), set by ko_catalog_options_init() */
    unsigned jobs;    /**< worker threads; 0 (default): the number of cores; at most 256 */
    unsigned shard_k; /**< with shard_n > 1, only the shard_k-th (1-based) of shard_n */
    unsigned shard_n; /**< deterministic shares of the files (by a hash of the path); default
                           1 of 1. Runs of all N shares into one catalogue give the rows of one
                           run over all files. */
    int hash;         /**< record each file's SHA-256; a file is unchanged only if it matches */
    /** Write an XMP sidecar (IMAGE.xmp, namespace urn:keepout:xmp:1.0/) per file, before its
     * rows: a file whose sidecar cannot be placed (an .xmp keepout did not write, a symbolic
     * link, inside an archive without sidecar_dir) is left out of the catalogue and counted in
     * ko_catalog_stats.left_out. */
    int sidecar;
    /** With sidecar: the directory the sidecars go under, mirroring each file's absolute path
     * (NULL, default: beside each file). Made where missing. */
    const char *sidecar_dir;
    /** How inputs are read; NULL: ko_reader_options_init()'s defaults. Its below_takeoff is
     * not used: it is taken as whether there are DEMs (dem_paths). */
    const ko_reader_options *reader;
    /** How footprints are computed; NULL: ko_footprint_options_init()'s defaults. Its dem is
     * not used (see dem_paths) and gsd_limit_m is the store's ko_sites_gsd_limit(). */
    const ko_footprint_options *footprint;
    /** Terrain: n_dem_paths rasters (tiles of one DEM) that each worker opens as one mosaic
     * (ko_dem_open_list()); none (default): flat ground. */
    const char *const *dem_paths;
    size_t n_dem_paths;
    /** ko_catalog_tag() calls it before the first file (0, "0/TOTAL files") and after each
     * file written (complete in 0..1, "DONE/TOTAL files": two decimal numbers); return 0 to
     * stop: the call then fails with KO_ERR_CANCELLED, the open batch rolled back. NULL:
     * none. */
    ko_progress_fn progress;
    void *progress_user;
    ko_note_fn note; /**< notes as the run goes; NULL: none */
    void *note_user;
} ko_catalog_options;

/** Sets opts->size and every field to its default. */
KO_API void ko_catalog_options_init(ko_catalog_options *opts);

/** What a run did, and the verdicts of the whole catalogue after it (a run's exit status
 * covers the catalogue: ko_catalog_decide()). Start from ko_catalog_stats_init(). */
typedef struct ko_catalog_stats {
    size_t size;           /**< sizeof(ko_catalog_stats), set by ko_catalog_stats_init() */
    int64_t store_version; /**< the store version this run's rows record */
    size_t files;          /**< files written by this run */
    size_t clear;          /**< their shots by verdict; the shots of files left out count */
    size_t flagged;        /**< as unknown */
    size_t unknown;
    size_t skipped;   /**< files the catalogue held unchanged, not read again */
    size_t ignored;   /**< files in the inputs that are neither imagery nor telemetry */
    size_t left_out;  /**< files not catalogued: their sidecar could not be placed */
    size_t rechecked; /**< ko_catalog_recheck(): stored footprints checked again */
    size_t changed;   /**< of which the verdict changed */
    /** The catalogue after the run: 1 if it holds a clear shot, else 0 (clear shots are not
     * counted: that costs a scan of the catalogue). */
    size_t catalogue_clear;
    size_t catalogue_flagged; /**< its flagged shots */
    size_t catalogue_unknown; /**< its unknown shots that were checked */
    /** Its shots that were not checked: their input could not be read, a row of an older
     * keepout that did not record it, or a verdict keepout does not give. */
    size_t catalogue_not_checked;
} ko_catalog_stats;

/** Sets s->size and every count to zero. */
KO_API void ko_catalog_stats_init(ko_catalog_stats *s);

/** A catalogue. Opaque; close with ko_catalog_close(). */
typedef struct ko_catalog ko_catalog;

/** Opens the catalogue dsn: a GeoPackage path, created if missing (made whole as
 * DSN.partial.gpkg and renamed into place, mode 0600 unless the umask is stricter), or a
 * PostgreSQL connection string "PG:...". Layers and columns an older catalogue lacks are
 * added. opts NULL: the defaults. On success *out is owned by the caller and belongs to ctx.
 * KO_ERR_IO with a message naming the catalogue when it cannot be created or opened;
 * KO_ERR_ARG for options whose size is wrong or shard_k outside 1..shard_n. */
KO_API ko_status ko_catalog_open(ko_context *ctx, const char *dsn, const ko_catalog_options *opts,
                                 ko_catalog **out);

/** Closes the catalogue (an open transaction is rolled back). NULL is a no-op. */
KO_API void ko_catalog_close(ko_catalog *cat);

/** Tags the files of n inputs (files, directories walked as ko_file_list_create() lists
 * them, any VSI path) against sites, an open store of cat's context (KO_ERR_ARG otherwise)
 * whose file each worker opens again read-only (sharing its index when it is loaded:
 * ko_sites_prepare() decides).
 * A file that yields no shot (refused imagery, unreadable) is one unknown row; an input with
 * nothing to tag in it fails with KO_ERR_NOT_FOUND (a mistyped archive must not pass as all
 * clear). *stats (from ko_catalog_stats_init(), may be NULL) is filled on success. Fails with
 * the store's, the catalogue's or a reader's status and a message naming the data at fault;
 * committed batches stay (run again to finish). */
KO_API ko_status ko_catalog_tag(ko_catalog *cat, ko_sites *sites, const char *const *inputs,
                                size_t n, ko_catalog_stats *stats);

/** Checks every stored footprint again against sites (a store of cat's context; its index is
 * loaded), from the pose and camera in its row, and rewrites verdicts, hits and files.verdict,
 * 1,000 rows at a time (by fid; memory holds one batch), each batch one transaction: on a
 * failure the batch it is in is rolled back, the batches before it stay committed, and the
 * message names the catalogue, the cause and how many rows were committed ("nothing of it was
 * committed" when none were; a new recheck does all rows again). The DEMs of the options are used
 * as in ko_catalog_tag(). Rows whose file could not be read stay unknown. *stats (may be NULL) gets
 * rechecked, changed and the catalogue counts. */
KO_API ko_status ko_catalog_recheck(ko_catalog *cat, ko_sites *sites, ko_catalog_stats *stats);

/** The release decision on a catalogue after a run, under policy p (NULL: strict): the
 * catalogue counts of stats with the files the run left out taken as not checked
 * (ko_release_decide_batch()). A stats struct whose size is wrong is refused. */
KO_API ko_decision ko_catalog_decide(const ko_catalog_stats *stats, const ko_release_policy *p,
                                     const char **why);

#ifdef __cplusplus
}
#endif

#endif /* KEEPOUT_KEEPOUT_H */
