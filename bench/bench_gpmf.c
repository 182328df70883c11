/* GoPro GPMF telemetry reads per second over a directory of N copies (hard links) of one
 * video or raw GPMF stream: keepout's telemetry reader (every position sample as a shot, pose
 * and camera included) against exiftool -ee -n -j (its embedded-data extraction, the way a user
 * gets GoPro positions out of a video; one process, batch mode), in the same run. Both must
 * find the same number of positions per file.
 * Usage: bench_gpmf [N] [VIDEO]   (results: bench/bench_gpmf.md) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static const char *ext = "mp4";

/* Files per second; *samples: positions read from the first file. */
static double run_keepout(const char *dir, int n, long *samples) {
    ko_context *ctx;
    if (ko_context_create(&ctx)) exit(1);
    ko_reader_options o;
    ko_reader_options_init(&o);
    o.assume_nadir = 1;
    o.focal35_mm = 20;
    double t0 = now();
    long total = 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/GOPR%05d.%s", dir, i, ext);
        ko_reader *r;
        ko_shot s;
        if (ko_reader_open(ctx, path, &o, &r) != KO_OK) {
            fprintf(stderr, "%s\n", ko_errmsg(ctx));
            exit(1);
        }
        while (ko_reader_next(r, &s) == KO_OK)
            total++;
        ko_reader_close(r);
    }
    double dt = now() - t0;
    ko_context_destroy(ctx);
    *samples = total / n;
    return n / dt;
}

static double run_exiftool(const char *dir, int n, long *samples) {
    char cmd[1024], out[600];
    snprintf(out, sizeof out, "%s/exiftool.txt", dir);
    snprintf(cmd, sizeof cmd, "exiftool -ee -n -q -q -s3 -GPSLatitude -ext %s %s > %s", ext, dir,
             out);
    double t0 = now();
    if (system(cmd) != 0) return 0;
    double rate = n / (now() - t0);
    FILE *f = fopen(out, "r");
    long lines = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        lines += c == '\n';
    if (f) fclose(f);
    *samples = lines / n;
    return rate;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    const char *src = argc > 2 ? argv[2] : KEEPOUT_DATA_DIR "/../tests/data/gopro/karma_gpmf.mp4";
    char dir[] = "/tmp/keepout_bench_gpmf_XXXXXX";
    if (!mkdtemp(dir) || n < 1) return 1;
    const char *dot = strrchr(src, '.');
    if (dot && !strcmp(dot, ".raw")) ext = "raw";
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/GOPR%05d.%s", dir, i, ext);
        if (link(src, path) != 0) {
            perror(path);
            return 1;
        }
    }
    ko_global_init();
    long ks = 0, es = 0;
    run_keepout(dir, n < 20 ? n : 20, &ks); /* warm the page cache */
    double k = run_keepout(dir, n, &ks), e = strcmp(ext, "raw") ? run_exiftool(dir, n, &es) : 0;
    printf("GPMF telemetry, %d hard links of %s:\n", n, src);
    printf("  keepout  %10.0f files/s  %6ld positions a file\n", k, ks);
    if (e > 0)
        printf("  exiftool %10.0f files/s  %6ld positions a file  (keepout %.1fx)\n", e, es, k / e);
    else
        printf("  exiftool not run (%s)\n", strcmp(ext, "raw")
                                                ? "install libimage-exiftool-perl"
                                                : "it does not read a raw GPMF stream");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
