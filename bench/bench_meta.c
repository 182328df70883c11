/* Photo metadata reads per second over a directory of N copies (hard links) of a real photo,
 * a DJI JPEG or a TIFF (multispectral band, radiometric thermal frame): keepout's header reader
 * (through the public reader API, pose and camera included) against GDAL (GDALOpenEx + its
 * metadata and xml:XMP) and exiftool -n -j (one process, batch mode), in the same run.
 * Usage: bench_meta [N] [PHOTO]   (results: bench/bench_meta.md) */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keepout/keepout.h"

#ifndef KEEPOUT_DATA_DIR
#define KEEPOUT_DATA_DIR "data"
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *ext = "JPG"; /* the copies' extension: the photo's own */

static double run_keepout(const char *dir, int n) {
    ko_context *ctx;
    if (ko_context_create(&ctx)) exit(1);
    double t0 = now();
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/IMG_%05d.%s", dir, i, ext);
        ko_reader *r;
        ko_shot s;
        if (ko_reader_open(ctx, path, NULL, &r) == KO_OK) {
            if (ko_reader_next(r, &s) == KO_OK && !s.reason) ok++;
            ko_reader_close(r);
        }
    }
    double dt = now() - t0;
    ko_context_destroy(ctx);
    if (ok != n) {
        fprintf(stderr, "keepout read only %d of %d photos completely\n", ok, n);
        exit(1);
    }
    return n / dt;
}

static double run_gdal(const char *dir, int n) {
    const char *drivers[] = {strcmp(ext, "JPG") ? "GTiff" : "JPEG", NULL};
    double t0 = now();
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/IMG_%05d.%s", dir, i, ext);
        GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, NULL, NULL);
        if (!ds) continue;
        char **md = GDALGetMetadata(ds, NULL);
        char **xmp = GDALGetMetadata(ds, "xml:XMP");
        /* GTiff exposes no EXIF: its metadata and the XMP stand for the header read */
        ok += (!strcmp(ext, "JPG") ? CSLFetchNameValue(md, "EXIF_GPSLatitude") != NULL : 1) &&
              xmp && xmp[0];
        GDALClose(ds);
    }
    double dt = now() - t0;
    if (ok != n) {
        fprintf(stderr, "GDAL read only %d of %d photos\n", ok, n);
        exit(1);
    }
    return n / dt;
}

static double run_exiftool(const char *dir, int n) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exiftool -n -j -q %s > %s/exiftool.json", dir, dir);
    double t0 = now();
    if (system(cmd) != 0) return 0;
    return n / (now() - t0);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    const char *src = argc > 2 ? argv[2] : KEEPOUT_DATA_DIR "/images/DJI_0018.JPG";
    char dir[] = "/tmp/keepout_bench_meta_XXXXXX";
    if (!mkdtemp(dir) || n < 1) return 1;
    const char *dot = strrchr(src, '.');
    if (dot && (!strcasecmp(dot, ".tif") || !strcasecmp(dot, ".tiff"))) ext = "TIF";
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/IMG_%05d.%s", dir, i, ext);
        if (link(src, path) != 0) {
            perror(path);
            return 1;
        }
    }
    ko_global_init();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO"); /* no .aux.xml side files */
    run_keepout(dir, n < 100 ? n : 100);          /* warm the page cache */
    double k = run_keepout(dir, n), g = run_gdal(dir, n), e = run_exiftool(dir, n);
    printf("photo metadata, %d hard links of %s:\n", n, src);
    printf("  keepout  %10.0f files/s\n", k);
    printf("  GDAL     %10.0f files/s  (keepout %.1fx)\n", g, k / g);
    if (e > 0)
        printf("  exiftool %10.0f files/s  (keepout %.1fx)\n", e, k / e);
    else
        printf("  exiftool not run (install libimage-exiftool-perl)\n");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
