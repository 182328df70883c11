/* What a verdict depends on besides the file itself, recorded with every manifest line: a
 * re-run skips a file only when it is the same. A site edited in place (an UPDATE through
 * ogrinfo or QGIS leaves the store version as it was), another DEM or range all check it again
 * (adversary A4). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <gdal.h>

#include "release/release.h"

int koi_release_stat(const char *path, VSIStatBufL *st) {
    if (ko_path_check(NULL, path) != KO_OK) return -1;
    return VSIStatL(path, st);
}

/* A file's identity as its last write left it: size and modification time to the
 * nanosecond, or "absent". */
static void file_stamp(koi_text *t, const char *what, const char *path) {
    struct stat st;
    VSIStatBufL vs;
    char buf[160];
    koi_text_puts(t, "; ");
    koi_text_puts(t, what);
    koi_text_puts(t, " ");
    koi_text_puts(t, path);
    if (stat(path, &st) == 0)
        snprintf(buf, sizeof buf, " %lld bytes %lld.%09ld", (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    else if (VSIStatL(path, &vs) == 0) /* in an archive (/vsizip/...): the entry's */
        snprintf(buf, sizeof buf, " %lld bytes %lld", (long long)vs.st_size,
                 (long long)vs.st_mtime);
    else
        snprintf(buf, sizeof buf, " absent");
    koi_text_puts(t, buf);
}

/* The first local file on a /vsi path (/vsizip/a.zip/t.tif: a.zip), stamped. */
static void archive_stamp(koi_text *t, const char *vsi) {
    const char *inner = strchr(vsi + 1, '/'); /* after /vsizip */
    char *p = inner ? koi_strdup(inner + 1) : NULL;
    for (char *s = p; s && *s && (s = strchr(s + 1, '/'));) {
        *s = '\0';
        struct stat st;
        int found = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        if (found) file_stamp(t, "dem archive", p);
        *s = '/';
        if (found) break;
    }
    free(p);
}

/* A DEM is every file GDAL reads for it (the tiles of a VRT mosaic, the sidecars), and for a
 * path inside an archive the archive too: replacing a tile, or the zip, changed the terrain
 * while the DEM file itself stayed as it was (adversary A4). */
static void dem_stamp(koi_text *t, const char *path) {
    file_stamp(t, "dem", path);
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    char **files = ds ? GDALGetFileList(ds) : NULL;
    for (int i = 0; files && files[i]; i++) {
        if (strcmp(files[i], path)) file_stamp(t, "dem file", files[i]);
        if (!strncmp(files[i], "/vsi", 4)) archive_stamp(t, files[i]);
    }
    CSLDestroy(files);
    if (ds) GDALClose(ds);
}

static void list(koi_text *t, const char *name, const char *const *l) {
    for (size_t i = 0; l && l[i]; i++) {
        koi_text_puts(t, name);
        koi_text_puts(t, l[i]);
    }
}

/* Every option that changes what a file's check finds; where files go is not one. */
static void options(koi_text *t, const koi_release *r) {
    const ko_reader_options *o = &r->ropts;
    const ko_footprint_options *f = &r->fopts;
    char buf[512];
    snprintf(buf, sizeof buf,
             "options redact %d strip %d max_range %.17g edge_samples %u tolerance %.17g "
             "assume_nadir %d every_n %u interval %.17g recursive %d focal35 %.17g frame %ux%u "
             "below_takeoff %d",
             r->redact, r->strip, f->max_range_m, (unsigned)f->edge_samples, f->tolerance_m,
             o->assume_nadir, (unsigned)o->every_n, o->interval_s, o->recursive, o->focal35_mm,
             (unsigned)o->width_px, (unsigned)o->height_px, o->below_takeoff);
    koi_text_puts(t, buf);
    if (o->camera) {
        koi_text_puts(t, " camera ");
        koi_text_puts(t, o->camera);
    }
    list(t, " include ", o->include);
    list(t, " exclude ", o->exclude);
}

ko_status koi_release_settings(koi_release *r) {
    koi_text t = {0};
    const char *db = koi_release_store_path(r);
    options(&t, r);
    file_stamp(&t, "store", db);
    file_stamp(&t, "store log", CPLSPrintf("%s-wal", db));
    for (size_t i = 0; i < r->o->n_dem_paths; i++)
        dem_stamp(&t, r->o->dem_paths[i]);
    if (t.failed || !t.s) {
        free(t.s);
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    }
    r->checked_with = t.s;
    return KO_OK;
}
