/* A third party's program: only the public header, valid C99 and C++11 alike (no designated
 * initialisers, no implicit void * conversions). Exit status 0 if every check holds; each
 * failed one is printed. */
#include <keepout/keepout.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void expect(int ok, const char *what, int line) {
    if (!ok) {
        fprintf(stderr, "consumer.c:%d: FAILED: %s\n", line, what);
        failures++;
    }
}
#define EXPECT(cond) expect((cond) ? 1 : 0, #cond, __LINE__)

/* The header's version macros, the running library's functions, and the version CMake gave
 * the project (KEEPOUT_EXPECTED_VERSION) all agree. */
static void versions(void) {
    char text[64];
    snprintf(text, sizeof text, "%d.%d.%d", KO_VERSION_MAJOR, KO_VERSION_MINOR, KO_VERSION_PATCH);
    EXPECT(strcmp(text, KO_VERSION_STRING) == 0);
    EXPECT(strcmp(KO_VERSION_STRING, KEEPOUT_EXPECTED_VERSION) == 0);
    EXPECT(KO_VERSION_NUMBER ==
           KO_VERSION_MAJOR * 1000000 + KO_VERSION_MINOR * 1000 + KO_VERSION_PATCH);
    EXPECT(strcmp(ko_version(), KO_VERSION_STRING) == 0);
    EXPECT(ko_version_number() == KO_VERSION_NUMBER);

    EXPECT(KO_CHECK_VERSION() == KO_OK);
    EXPECT(ko_check_version(KO_VERSION_MAJOR, KO_VERSION_MINOR) == KO_OK);
    /* a header newer than the library: refused */
    EXPECT(ko_check_version(KO_VERSION_MAJOR, KO_VERSION_MINOR + 1) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(KO_VERSION_MAJOR + 1, 0) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(-1, 0) == KO_ERR_UNSUPPORTED);
    EXPECT(ko_check_version(KO_VERSION_MAJOR, -1) == KO_ERR_UNSUPPORTED);
    /* an older major: refused; an older minor: served from 1.0 on, refused during 0.x */
    if (KO_VERSION_MAJOR > 0) {
        EXPECT(ko_check_version(KO_VERSION_MAJOR - 1, KO_VERSION_MINOR) == KO_ERR_UNSUPPORTED);
        EXPECT(ko_check_version(KO_VERSION_MAJOR, 0) == KO_OK);
    } else if (KO_VERSION_MINOR > 0) {
        EXPECT(ko_check_version(0, KO_VERSION_MINOR - 1) == KO_ERR_UNSUPPORTED);
    }
}

static int mentions(const ko_context *ctx, const char *text) {
    return strstr(ko_errmsg(ctx), text) != NULL;
}

/* Every options struct's init function sets its size; the struct itself leads with it. */
static void init_sets_size(void) {
    ko_footprint_options fo;
    ko_reader_options ro;
    ko_import_options io;
    ko_check_options co;
    ko_route_options rto;
    ko_release_policy rp;
    memset(&fo, 0, sizeof fo);
    memset(&ro, 0, sizeof ro);
    memset(&io, 0, sizeof io);
    memset(&co, 0, sizeof co);
    memset(&rto, 0, sizeof rto);
    memset(&rp, 0, sizeof rp);
    ko_footprint_options_init(&fo);
    ko_reader_options_init(&ro);
    ko_import_options_init(&io);
    ko_check_options_init(&co);
    ko_route_options_init(&rto);
    ko_release_policy_init(&rp);
    EXPECT(fo.size == sizeof fo && (void *)&fo.size == (void *)&fo);
    EXPECT(ro.size == sizeof ro && (void *)&ro.size == (void *)&ro);
    EXPECT(io.size == sizeof io && (void *)&io.size == (void *)&io);
    EXPECT(co.size == sizeof co && (void *)&co.size == (void *)&co);
    EXPECT(rto.size == sizeof rto && (void *)&rto.size == (void *)&rto);
    EXPECT(rp.size == sizeof rp && (void *)&rp.size == (void *)&rp);
    EXPECT(co.footprint == NULL && rto.camera == NULL);
}

/* Sizes the library must refuse: never initialised, one byte short, and a newer, larger
 * struct this library does not know. */
static size_t wrong_size(int i, size_t right) {
    return i == 0 ? 0 : i == 1 ? right - 1 : right + 8;
}

static void nadir(ko_camera *cam, ko_pose *pose) {
    ko_camera_init(cam);
    ko_pose_init(pose);
    EXPECT(ko_camera_from_focal35(24, 4000, 3000, cam) == KO_OK);
    pose->lat = 47.0;
    pose->lon = 8.0;
    pose->height_m = 100.0;
    pose->yaw_deg = 0.0;
    pose->pitch_deg = -90.0;
    pose->roll_deg = 0.0;
}

static void footprint_options_checked(ko_context *ctx) {
    ko_camera cam;
    ko_pose pose;
    nadir(&cam, &pose);
    ko_footprint_options fo;
    ko_footprint_options_init(&fo);
    ko_footprint *fp = NULL;
    EXPECT(ko_footprint_compute(ctx, &cam, &pose, &fo, &fp) == KO_OK && fp);
    ko_footprint_destroy(fp);
    for (int i = 0; i < 3; i++) {
        fo.size = wrong_size(i, sizeof fo);
        fp = NULL;
        EXPECT(ko_footprint_compute(ctx, &cam, &pose, &fo, &fp) == KO_ERR_ARG && !fp);
        EXPECT(mentions(ctx, "ko_footprint_options"));
    }
    EXPECT(mentions(ctx, "ko_footprint_options_init()"));
}

static void reader_options_checked(ko_context *ctx) {
    ko_reader_options ro;
    ko_reader_options_init(&ro);
    ko_reader *r = NULL;
    ko_file_list *l = NULL;
    /* a right size reaches the path, which does not exist */
    EXPECT(ko_reader_open(ctx, "/nonexistent/keepout-api.jpg", &ro, &r) == KO_ERR_IO);
    for (int i = 0; i < 3; i++) {
        ro.size = wrong_size(i, sizeof ro);
        EXPECT(ko_reader_open(ctx, "/nonexistent/keepout-api.jpg", &ro, &r) == KO_ERR_ARG);
        EXPECT(mentions(ctx, "ko_reader_options"));
        EXPECT(ko_reader_open_regular(ctx, "/nonexistent/keepout-api.jpg", &ro, &r) == KO_ERR_ARG);
        EXPECT(mentions(ctx, "ko_reader_options"));
        EXPECT(ko_file_list_create(ctx, "/nonexistent/keepout-api", &ro, &l) == KO_ERR_ARG);
        EXPECT(mentions(ctx, "ko_reader_options"));
    }
    EXPECT(r == NULL && l == NULL);
}

static void store_options_checked(ko_context *ctx, const char *store) {
    remove(store);
    ko_sites *sites = NULL;
    if (ko_sites_open(ctx, store, KO_SITES_CREATE, &sites) != KO_OK) {
        expect(0, ko_errmsg(ctx), __LINE__);
        return;
    }
    ko_import_options io;
    ko_import_options_init(&io);
    ko_import_report rep;
    memset(&rep, 0, sizeof rep);
    EXPECT(ko_sites_import(sites, "/nonexistent/keepout-api.geojson", &io, &rep) == KO_ERR_IO);
    for (int i = 0; i < 3; i++) {
        io.size = wrong_size(i, sizeof io);
        EXPECT(ko_sites_import(sites, "/nonexistent/keepout-api.geojson", &io, &rep) == KO_ERR_ARG);
        EXPECT(mentions(ctx, "ko_import_options"));
    }
    ko_import_report_clear(&rep);

    ko_shot shot;
    memset(&shot, 0, sizeof shot);
    nadir(&shot.camera, &shot.pose);
    shot.source = "api";
    shot.id = "api";
    ko_check_options co;
    ko_check_options_init(&co);
    ko_footprint_options fo;
    ko_footprint_options_init(&fo);
    co.footprint = &fo;
    ko_result *res = NULL;
    EXPECT(ko_check_shot(ctx, sites, &shot, &co, &res) == KO_OK && res);
    EXPECT(res && ko_result_verdict(res) == KO_CLEAR); /* the store holds no site */
    ko_result_destroy(res);
    for (int i = 0; i < 3; i++) {
        res = NULL;
        co.size = wrong_size(i, sizeof co);
        EXPECT(ko_check_shot(ctx, sites, &shot, &co, &res) == KO_ERR_ARG && !res);
        EXPECT(mentions(ctx, "ko_check_options"));
        /* held by pointer, the footprint options are checked too: an error, not a verdict */
        co.size = sizeof co;
        fo.size = wrong_size(i, sizeof fo);
        EXPECT(ko_check_shot(ctx, sites, &shot, &co, &res) == KO_ERR_ARG && !res);
        EXPECT(mentions(ctx, "ko_footprint_options"));
        fo.size = sizeof fo;
    }
    ko_sites_close(sites);
    remove(store);
}

static void route_options_checked(ko_context *ctx, ko_sites *sites) {
    ko_route *rt = NULL;
    if (ko_route_open(ctx, KEEPOUT_DATA_DIR "/routes/litchi_csv/waypoints.csv", &rt) != KO_OK) {
        expect(0, ko_errmsg(ctx), __LINE__);
        return;
    }
    ko_route_options rto;
    ko_route_options_init(&rto);
    ko_exposures *ex = NULL;
    /* a Litchi plan describes no camera: the options must give one, by pointer */
    EXPECT(ko_route_exposures(ctx, rt, &rto, &ex) == KO_ERR_ARG && !ex);
    EXPECT(mentions(ctx, "does not describe the camera"));
    ko_camera cam;
    ko_camera_init(&cam);
    EXPECT(ko_camera_from_focal35(24, 4000, 3000, &cam) == KO_OK);
    rto.camera = &cam;
    rto.gimbal_pitch_deg = -90;
    EXPECT(ko_route_exposures(ctx, rt, &rto, &ex) == KO_OK && ex);
    EXPECT(ex && ko_exposures_count(ex) >= 47); /* 47 photos, one per waypoint of them */
    if (ex && ko_exposures_count(ex) > 0)
        EXPECT(ko_exposures_get(ex, 0)->shot.camera.focal_mm == cam.focal_mm);
    for (int i = 0; i < 3; i++) {
        ko_exposures *bad = NULL;
        rto.size = wrong_size(i, sizeof rto);
        EXPECT(ko_route_exposures(ctx, rt, &rto, &bad) == KO_ERR_ARG && !bad);
        EXPECT(mentions(ctx, "ko_route_options"));
    }
    if (ex && sites) {
        ko_check_options co;
        ko_check_options_init(&co);
        ko_remedy rem;
        EXPECT(ko_route_remedy(ctx, sites, ex, 0, &co, &rem) == KO_OK);
        for (int i = 0; i < 3; i++) {
            co.size = wrong_size(i, sizeof co);
            EXPECT(ko_route_remedy(ctx, sites, ex, 0, &co, &rem) == KO_ERR_ARG);
            EXPECT(mentions(ctx, "ko_check_options"));
        }
    }
    ko_exposures_destroy(ex);
    ko_route_destroy(rt);
}

/* A policy the library cannot read refuses everything, even a clear image in tag mode. */
static void policy_checked(void) {
    ko_release_policy p;
    ko_release_policy_init(&p);
    p.mode = KO_MODE_TAG;
    const char *why = NULL;
    EXPECT(ko_release_decide_verdict(&p, 1, KO_CLEAR, &why) == KO_RELEASE);
    for (int i = 0; i < 3; i++) {
        p.size = wrong_size(i, sizeof p);
        why = NULL;
        EXPECT(ko_release_decide_verdict(&p, 1, KO_CLEAR, &why) == KO_REFUSE);
        EXPECT(why && strstr(why, "ko_release_policy"));
        EXPECT(ko_release_decide_batch(&p, 1, 0, 0, 0, NULL) == KO_REFUSE);
    }
}

int main(void) {
    versions();
    init_sets_size();
    policy_checked();
    ko_context *ctx = NULL;
    if (ko_global_init() != KO_OK || ko_context_create(&ctx) != KO_OK) {
        fprintf(stderr, "cannot set up keepout\n");
        return 1;
    }
#ifdef __cplusplus
    const char *store = "api_consumer_cxx11.sqlite";
#else
    const char *store = "api_consumer_c99.sqlite";
#endif
    footprint_options_checked(ctx);
    reader_options_checked(ctx);
    store_options_checked(ctx, store);
    ko_sites *sites = NULL;
    if (ko_sites_open(ctx, store, KO_SITES_CREATE, &sites) != KO_OK) sites = NULL;
    route_options_checked(ctx, sites);
    ko_sites_close(sites);
    remove(store);
    ko_context_destroy(ctx);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("keepout %s: C API consumer checks passed\n", ko_version());
    return 0;
}
