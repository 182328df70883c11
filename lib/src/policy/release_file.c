/* The release gate for one file: read it once into memory, check it from there, decide with the
 * one release policy (release.c), and prepare exactly the bytes that may leave: the file, the
 * file with its location taken out, a redacted copy, or the file to hold. Writing is atomic
 * (temporary file, fsync, rename, directory fsync). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include "core/core.h"
#include "meta/meta.h"
#include "policy/policy.h"

/* A file larger than this is not read into memory: held. */
#define RELEASE_MAX_BYTES ((int64_t)1 << 30)

struct ko_release_item {
    ko_context *ctx;
    ko_release_info info;
    char *reason, *site_ids, *site_names;
    char **companions;
    size_t n_companions;
    int covers_self; /* a video whose telemetry is its own (GPMF): covered like a companion */
    uint8_t *src;    /* the bytes read */
    size_t src_n;
    uint8_t *out; /* the bytes to write: src itself, or owned */
    size_t out_n;
    int out_owned;
};

void ko_release_options_init(ko_release_options *o) {
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->margin_px = NAN;
}

double ko_redact_margin_px(uint32_t width, uint32_t height) {
    return 2.0 + 0.005 * (double)(width > height ? width : height);
}

static ko_status nomem(ko_context *ctx) {
    return koi_error(ctx, KO_ERR_NOMEM, "release: out of memory");
}

static int set_str(char **dst, const char *s) {
    char *c = koi_strdup(s ? s : "");
    if (!c) return 0;
    free(*dst);
    *dst = c;
    return 1;
}

/* Adds a disclosed site to the item's lists, once. */
static int add_site(ko_release_item *it, const ko_site_hit *h) {
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)h->site_id);
    const char *ids = it->site_ids ? it->site_ids : "";
    size_t idn = strlen(id);
    for (const char *p = ids; *p;) { /* already listed? */
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == idn && !memcmp(p, id, n)) return 1;
        p += n + (e ? 1 : 0);
    }
    const char *name = h->name ? h->name : "";
    char *a = koi_malloc(strlen(ids) + idn + 2), *b;
    const char *names = it->site_names ? it->site_names : "";
    b = koi_malloc(strlen(names) + strlen(name) + 2);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    sprintf(a, "%s%s%s", ids, *ids ? ";" : "", id);
    sprintf(b, "%s%s%s", names, *ids ? ";" : "", name);
    free(it->site_ids);
    free(it->site_names);
    it->site_ids = a;
    it->site_names = b;
    return 1;
}

/* The reason text with the in-memory file's name put back to the real one. */
static int set_reason(ko_release_item *it, const char *text, const char *vsi, const char *real) {
    if (!text) text = "";
    size_t vn = strlen(vsi);
    koi_text t = {0};
    for (const char *p = text; *p;) {
        const char *hit = vn ? strstr(p, vsi) : NULL;
        if (!hit) {
            koi_text_puts(&t, p);
            break;
        }
        koi_text_put(&t, p, (size_t)(hit - p));
        koi_text_puts(&t, real);
        p = hit + vn;
    }
    if (!t.s) koi_text_put(&t, "", 0);
    if (t.failed) {
        free(t.s);
        return 0;
    }
    free(it->reason);
    it->reason = t.s;
    return 1;
}

static const char *ext_of(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static void refuse(ko_release_item *it, const char *why) {
    it->info.decision = KO_REFUSE;
    it->info.why = why;
}

/* The video times a DJI .SRT's frames stand at (their cue starts, in order). */
typedef struct cover {
    double first, last, widest_gap;
    int broken; /* a frame without a time, or one earlier than the frame before */
} cover;

static void cover_add(cover *c, const ko_shot *shot) {
    double t = NAN;
    for (size_t i = 0; i < shot->n_extra; i++)
        if (!strcmp(shot->extra_keys[i], "video_time_s")) t = CPLAtof(shot->extra_values[i]);
    if (!isfinite(t) || (c->last > -INFINITY && t < c->last)) {
        c->broken = 1;
        return;
    }
    if (c->last > -INFINITY && t - c->last > c->widest_gap) c->widest_gap = t - c->last;
    if (t < c->first) c->first = t;
    c->last = t;
}

/* A gap this long between checked frames, or at either end of the video, leaves frames
 * unchecked: more than a DJI SRT's once-a-second cues of older models. */
#define COVER_GAP_S 1.5

/* Whether the .SRT's frames span each of its videos from start to end; if not, the item is
 * refused (a subtitle file cut short, or with cues taken out, vouched for the whole video:
 * adversary A3b). Memory failures are returned. */
static ko_status videos_covered(ko_release_item *it, const cover *c, const char *path) {
    for (size_t i = 0; i < it->n_companions + (it->covers_self != 0); i++) {
        const char *video = i < it->n_companions ? it->companions[i] : path;
        double len = NAN;
        const char *why = NULL;
        if (!strcasecmp(ext_of(video), "insv"))
            why = CPLSPrintf(
                "%s: a 360-degree video (Insta360), which a camera frame's "
                "footprint does not describe",
                video);
        else if (koi_mp4_duration(it->ctx, video, &len) != KO_OK)
            why = CPLSPrintf("%s; so how much of it the telemetry covers is not known",
                             ko_errmsg(it->ctx));
        else if (c->broken || !(c->last >= c->first))
            why = CPLSPrintf(
                "%s: its frames have no video times in order, so how much of %s "
                "they cover is not known",
                path, CPLGetFilename(video));
        else if (c->first > COVER_GAP_S || len - c->last > COVER_GAP_S ||
                 c->widest_gap > COVER_GAP_S)
            why = CPLSPrintf(
                "%s covers %.3f s to %.3f s of %s, which runs %.3f s (widest gap "
                "%.3f s): the frames outside were never checked",
                path, c->first, c->last, CPLGetFilename(video), len, c->widest_gap);
        if (why) {
            refuse(it,
                   "the telemetry does not cover the whole video, or the video is not a "
                   "camera frame, so not every frame was checked: a video is released only "
                   "when every frame is checked and clear");
            return set_reason(it, why, "", "") ? KO_OK : nomem(it->ctx);
        }
    }
    return KO_OK;
}

/* The videos a DJI .SRT stands for: same stem, beside it, as the directory walk says; for a
 * GoPro video read by its GPMF track, that the video itself is to be covered. */
static ko_status find_companions(ko_release_item *it, const char *path) {
    const char *ext = ext_of(path);
    /* a video read by its own GPMF track must be covered by it, as by an SRT */
    it->covers_self = !strcasecmp(ext, "mp4") || !strcasecmp(ext, "mov") || !strcasecmp(ext, "lrv");
    if (strcasecmp(ext, "srt")) return KO_OK;
    char **v = koi_videos_of_srt(path);
    for (int i = 0; v && v[i]; i++) {
        if (ko_path_check(NULL, v[i]) != KO_OK) continue;
        char **c = koi_realloc_array(it->companions, it->n_companions + 2, sizeof *c);
        if (!c) {
            CSLDestroy(v);
            return nomem(it->ctx);
        }
        it->companions = c;
        if (!(c[it->n_companions] = koi_strdup(v[i]))) {
            CSLDestroy(v);
            return nomem(it->ctx);
        }
        c[++it->n_companions] = NULL;
    }
    CSLDestroy(v);
    return KO_OK;
}

/* The redacted copy of a flagged photo: pixels of the mask zeroed in every band, encoded by
 * GDAL's JPEG driver at the source's estimated quality, the source's metadata spliced in. On
 * failure the item is refused with the reason (a flagged photo that cannot be redacted is
 * held). Store or memory failures are returned. */
static ko_status redact_photo(ko_release_item *it, ko_sites *sites, const ko_release_options *o,
                              const ko_shot *shot, const ko_result *res, const char *vsi) {
    ko_context *ctx = it->ctx;
    static const char *const jpeg_only[] = {"JPEG", NULL};
    ko_status st = ko_global_init(); /* GDAL's drivers: registered on first use */
    if (st) return st;
    GDALDatasetH src = GDALOpenEx(vsi, GDAL_OF_RASTER | GDAL_OF_READONLY, jpeg_only, NULL, NULL);
    if (!src) {
        refuse(it, "flagged, and its pixels cannot be read, so it cannot be redacted");
        return KO_OK;
    }
    const int w = GDALGetRasterXSize(src), h = GDALGetRasterYSize(src),
              nb = GDALGetRasterCount(src);
    int ok = w > 0 && h > 0 && nb >= 1 && nb <= 4;
    for (int b = 1; ok && b <= nb; b++)
        ok = GDALGetRasterDataType(GDALGetRasterBand(src, b)) == GDT_Byte;
    if (!ok) {
        GDALClose(src);
        refuse(it, "flagged, and its pixels are not 8-bit JPEG samples keepout can redact");
        return KO_OK;
    }
    size_t npx = (size_t)w * (size_t)h;
    uint8_t *mask = koi_malloc(npx), *px = koi_malloc(npx * (size_t)nb);
    if (!mask || !px) {
        free(mask);
        free(px);
        GDALClose(src);
        return nomem(ctx);
    }
    ko_dem *dem = o->check && o->check->footprint ? o->check->footprint->dem : NULL;
    double margin =
        isnan(o->margin_px) ? ko_redact_margin_px((uint32_t)w, (uint32_t)h) : o->margin_px;
    size_t n = 0;
    st = ko_redact_mask(ctx, sites, dem, shot, res, (uint32_t)w, (uint32_t)h, margin, mask, &n);
    if (st == KO_ERR_NOMEM || st == KO_ERR_DB) goto done;
    if (st || n == 0) {
        refuse(it, st ? "flagged, and the site's pixels cannot be placed, so it cannot be redacted"
                      : "flagged, and no pixel of the site could be placed in the image, so it "
                        "cannot be redacted");
        if (st && !set_reason(it, ko_errmsg(ctx), vsi, shot->source ? shot->source : "")) {
            st = nomem(ctx);
            goto done;
        }
        st = KO_OK;
        goto done;
    }
    if (GDALDatasetRasterIO(src, GF_Read, 0, 0, w, h, px, w, h, GDT_Byte, nb, NULL, nb,
                            (GSpacing)nb * w, 1) != CE_None) {
        refuse(it, "flagged, and its pixels cannot be decoded, so it cannot be redacted");
        goto done;
    }
    for (size_t i = 0; i < npx; i++)
        if (mask[i]) memset(px + i * (size_t)nb, 0, (size_t)nb);
    char mem[256], enc[128];
    snprintf(mem, sizeof mem,
             "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=%d,DATATYPE=Byte,PIXELOFFSET=%d,"
             "LINEOFFSET=%lld,BANDOFFSET=1",
             (void *)px, w, h, nb, nb, (long long)nb * w);
    snprintf(enc, sizeof enc, "/vsimem/keepout-release-%p/redacted.jpg", (void *)it);
    GDALDatasetH m = GDALOpen(mem, GA_ReadOnly);
    GDALDriverH jpeg = GDALGetDriverByName("JPEG");
    int quality = koi_jpeg_quality(it->src, it->src_n);
    if (quality <= 0) quality = 90;
    char qopt[32];
    snprintf(qopt, sizeof qopt, "QUALITY=%d", quality);
    const char *copts[] = {qopt, "WRITE_EXIF_METADATA=NO", NULL};
    GDALDatasetH out = NULL;
    if (m && jpeg) {
        for (int b = 1; b <= nb; b++)
            GDALSetRasterColorInterpretation(
                GDALGetRasterBand(m, b),
                GDALGetRasterColorInterpretation(GDALGetRasterBand(src, b)));
        CPLPushErrorHandler(CPLQuietErrorHandler);
        out = GDALCreateCopy(jpeg, enc, m, FALSE, (char **)copts, NULL, NULL);
        CPLPopErrorHandler();
    }
    if (out) GDALClose(out);
    if (m) GDALClose(m);
    vsi_l_offset len = 0;
    GByte *body = out ? VSIGetMemFileBuffer(enc, &len, TRUE) : NULL;
    VSIUnlink(enc);
    VSIUnlink(CPLSPrintf("%s.aux.xml", enc));
    if (!body) {
        refuse(it, "flagged, and GDAL's JPEG driver could not encode the redacted copy");
        goto done;
    }
    koi_bytes b = {0};
    st = koi_jpeg_rebuild(ctx, it->src, it->src_n, body, (size_t)len, o->strip_location, &b);
    CPLFree(body);
    if (st == KO_ERR_NOMEM) {
        free(b.p);
        goto done;
    }
    if (st) {
        free(b.p);
        refuse(it, "flagged, and its metadata does not parse, so no redacted copy can be made");
        st = set_reason(it, ko_errmsg(ctx), vsi, shot->source ? shot->source : "") ? KO_OK
                                                                                   : nomem(ctx);
        goto done;
    }
    it->out = b.p;
    it->out_n = b.len;
    it->out_owned = 1;
    it->info.redacted_pixels = n;
    it->info.jpeg_quality = quality;
done:
    free(mask);
    free(px);
    GDALClose(src);
    return st;
}

/* Reads, checks and decides. Store and memory failures are returned; everything else is an
 * item refused with its reason. */
static ko_status assess(ko_release_item *it, ko_sites *sites, const ko_file_list *list, size_t i,
                        const ko_release_options *o, const ko_release_policy *pol) {
    ko_context *ctx = it->ctx;
    const char *path = ko_file_list_path(list, i), *refused = ko_file_list_refused(list, i);
    it->info.verdict = KO_UNKNOWN;
    it->info.source_size = -1;
    VSIStatBufL st;
    int regular =
        ko_path_check(NULL, path) == KO_OK && VSIStatL(path, &st) == 0 && VSI_ISREG(st.st_mode);
    if (refused || !regular) {
        it->info.not_checked = 1;
        refuse(it, "not checked: no verdict exists for it");
        if (!set_reason(it, CPLSPrintf("%s: %s", path, refused ? refused : "not a regular file"),
                        "", ""))
            return nomem(ctx);
        if (!regular) return KO_OK;
    }
    if ((int64_t)st.st_size > RELEASE_MAX_BYTES) {
        if (!refused) {
            it->info.not_checked = 1;
            refuse(it, "not checked: the file is too large to be read into memory and checked");
            if (!set_reason(it,
                            CPLSPrintf("%s: %lld bytes, more than %lld", path,
                                       (long long)st.st_size, (long long)RELEASE_MAX_BYTES),
                            "", ""))
                return nomem(ctx);
        }
        return KO_OK; /* held without a copy: too large to copy from memory */
    }
    GByte *bytes = NULL;
    vsi_l_offset size = 0;
    if (!VSIIngestFile(NULL, path, &bytes, &size, RELEASE_MAX_BYTES)) {
        it->info.not_checked = 1;
        refuse(it, "not checked: no verdict exists for it");
        return set_reason(it, CPLSPrintf("%s: cannot be read", path), "", "") ? KO_OK : nomem(ctx);
    }
    it->src = bytes;
    it->src_n = (size_t)size;
    it->out = it->src;
    it->out_n = it->src_n;
    it->info.has_copy = 1;
    it->info.source_size = (int64_t)size;
    koi_sha256_hex(it->src, it->src_n, it->info.source_sha256);
    if (refused) return KO_OK;
    ko_status rc = find_companions(it, path);
    if (rc) return rc;

    /* checked from the bytes read: the in-memory file keeps the name, for the reader's
     * dispatch and the reasons (which get the real path back) */
    char prefix[96];
    snprintf(prefix, sizeof prefix, "/vsimem/keepout-release-%p", (void *)it);
    char *vsi = koi_strdup(CPLFormFilename(prefix, CPLGetFilename(path), NULL));
    if (!vsi) return nomem(ctx);
    VSILFILE *fp = VSIFileFromMemBuffer(vsi, it->src, it->src_n, FALSE);
    if (!fp) {
        free(vsi);
        return nomem(ctx);
    }
    VSIFCloseL(fp);
    const int series = ko_input_is_series(path);
    ko_reader *r = NULL;
    size_t clear = 0;
    const char *first_reason = NULL;
    char *first_reason_copy = NULL;
    int have_bad = 0;
    if (ko_reader_open_regular(ctx, vsi, o->reader, &r) != KO_OK) {
        it->info.not_checked = 1;
        rc = set_reason(it, ko_errmsg(ctx), vsi, path) ? KO_OK : nomem(ctx);
        refuse(it, "not checked: no verdict exists for it");
        goto out;
    }
    ko_shot shot;
    ko_status s;
    cover cv = {INFINITY, -INFINITY, 0, 0};
    while ((s = ko_reader_next(r, &shot)) == KO_OK) {
        if (series) cover_add(&cv, &shot);
        ko_result *res = NULL;
        if ((rc = ko_check_shot(ctx, sites, &shot, o->check, &res)) != KO_OK) break;
        ko_verdict v = ko_result_verdict(res);
        it->info.shots++;
        if (!ko_result_checked(res))
            it->info.not_checked++;
        else if (v == KO_FLAGGED)
            it->info.flagged++;
        else if (v == KO_UNKNOWN)
            it->info.unknown++;
        else
            clear++;
        it->info.verdict = it->info.shots == 1 ? v : ko_verdict_worst(it->info.verdict, v);
        for (size_t k = 0; k < ko_result_count(res); k++) {
            const ko_finding *f = ko_result_finding(res, k);
            if (f->disclosed && !add_site(it, f->site)) rc = nomem(ctx);
        }
        if (!rc && (!first_reason || (v != KO_CLEAR && !have_bad))) {
            free(first_reason_copy);
            first_reason_copy = koi_strdup(ko_result_reason(res));
            first_reason = first_reason_copy;
            if (!first_reason_copy) rc = nomem(ctx);
            have_bad |= v != KO_CLEAR;
        }
        if (!rc && !series && it->info.shots == 1) {
            const char *why = NULL;
            it->info.decision = ko_release_decide(pol, res, &why);
            it->info.why = why;
            if (it->info.decision == KO_REDACT) rc = redact_photo(it, sites, o, &shot, res, vsi);
        }
        ko_result_destroy(res);
        if (rc) break;
        if (!series) break; /* a photo is one shot */
    }
    if (!rc && s != KO_OK && s != KO_DONE) { /* the rest of the file cannot be read */
        it->info.not_checked++;
        first_reason = ko_errmsg(ctx);
        free(first_reason_copy);
        first_reason_copy = koi_strdup(first_reason);
        if (!first_reason_copy) rc = nomem(ctx);
        first_reason = first_reason_copy;
    }
    if (rc) goto out;
    /* the verdict's reason, then why it could not be redacted if redact_photo() said */
    if (!set_reason(it,
                    *it->reason ? CPLSPrintf("%s; %s", first_reason ? first_reason : "", it->reason)
                                : first_reason,
                    vsi, path)) {
        rc = nomem(ctx);
        goto out;
    }
    if (it->info.shots == 0) {
        it->info.not_checked++;
        refuse(it, "not checked: the file holds no photo or frame");
        if (!*it->reason && !set_reason(it, CPLSPrintf("%s: no shots in the file", path), "", ""))
            rc = nomem(ctx);
        goto out;
    }
    if (series) {
        const char *why = NULL;
        it->info.decision = ko_release_decide_batch(pol, clear, it->info.flagged, it->info.unknown,
                                                    it->info.not_checked, &why);
        it->info.why = why;
        const ko_reader_options *ro = o->reader;
        if (it->info.decision == KO_REDACT)
            refuse(it,
                   "a video or telemetry file is released only when every frame is clear: "
                   "video redaction is out of scope");
        else if (it->info.decision == KO_RELEASE && ro && (ro->every_n > 1 || ro->interval_s > 0))
            /* the frames between the sampled ones were never checked (a site under frames
             * 43-55 of 55 was released with one frame in 40 checked) */
            refuse(it,
                   "not every frame was checked (frames were sampled: every N-th, or one per "
                   "interval): a video or telemetry file is released only when every frame is "
                   "checked and clear");
        else if (it->info.decision == KO_RELEASE && o->strip_location)
            refuse(it,
                   "a video's telemetry or a telemetry table is location data: it is held "
                   "when location is to be stripped");
        else if (it->info.decision == KO_RELEASE && (it->n_companions || it->covers_self) &&
                 (rc = videos_covered(it, &cv, path)) != KO_OK)
            goto out;
    } else if (it->info.decision == KO_RELEASE && o->strip_location) {
        koi_bytes b = {0};
        rc = koi_jpeg_rebuild(ctx, it->src, it->src_n, NULL, 0, 1, &b);
        if (rc == KO_OK) {
            it->out = b.p;
            it->out_n = b.len;
            it->out_owned = 1;
        } else {
            free(b.p);
            if (rc == KO_ERR_NOMEM) goto out;
            refuse(it, "its metadata does not parse, so its location cannot be stripped");
            rc = set_reason(it, ko_errmsg(ctx), vsi, path) ? KO_OK : nomem(ctx);
        }
    }
out:
    if (it->info.decision == KO_REFUSE && it->out_owned) { /* held: the file as it is */
        free(it->out);
        it->out = it->src;
        it->out_n = it->src_n;
        it->out_owned = 0;
        it->info.redacted_pixels = 0;
        it->info.jpeg_quality = 0;
    }
    free(first_reason_copy);
    ko_reader_close(r);
    VSIUnlink(vsi);
    free(vsi);
    return rc;
}

ko_status ko_release_check(ko_context *ctx, ko_sites *sites, const ko_file_list *list, size_t i,
                           const ko_release_options *opts, ko_release_item **out) {
    if (!ctx || !sites || !list || !out || i >= ko_file_list_count(list))
        return koi_error(ctx, KO_ERR_ARG, "release: bad argument");
    ko_release_options dflt;
    if (!opts) {
        ko_release_options_init(&dflt);
        opts = &dflt;
    }
    ko_status st = KOI_CHECK_OPTIONS(ctx, ko_release_options, opts);
    if (st) return st;
    ko_release_policy pol;
    ko_release_policy_init(&pol);
    pol.mode = KO_MODE_REDACT;
    if (opts->policy) {
        if ((st = KOI_CHECK_OPTIONS(ctx, ko_release_policy, opts->policy))) return st;
        pol = *opts->policy;
    }
    ko_release_item *it = koi_calloc(1, sizeof *it);
    if (!it) return nomem(ctx);
    it->ctx = ctx;
    it->info.size = sizeof it->info;
    if (!set_str(&it->site_ids, "") || !set_str(&it->site_names, "") || !set_str(&it->reason, "")) {
        ko_release_item_destroy(it);
        return nomem(ctx);
    }
    st = assess(it, sites, list, i, opts, &pol);
    if (st) {
        ko_release_item_destroy(it);
        return st;
    }
    if (it->info.has_copy) koi_sha256_hex(it->out, it->out_n, it->info.output_sha256);
    *out = it;
    return KO_OK;
}

ko_status ko_release_item_info(const ko_release_item *it, ko_release_info *out) {
    if (!it || !out || out->size != sizeof *out)
        return koi_error(it ? it->ctx : NULL, KO_ERR_ARG,
                         "release: ko_release_info's size field is wrong (set it to "
                         "sizeof(ko_release_info))");
    *out = it->info;
    out->reason = it->reason;
    out->site_ids = it->site_ids;
    out->site_names = it->site_names;
    out->n_companions = it->n_companions;
    out->companions = (const char *const *)it->companions;
    return KO_OK;
}

void ko_release_item_destroy(ko_release_item *it) {
    if (!it) return;
    if (it->out_owned) free(it->out);
    CPLFree(it->src);
    free(it->reason);
    free(it->site_ids);
    free(it->site_names);
    for (size_t i = 0; i < it->n_companions; i++)
        free(it->companions[i]);
    free(it->companions);
    free(it);
}

/* ---- atomic writes ---- */

static ko_status make_dirs(ko_context *ctx, const char *path) {
    char *d = koi_strdup(path);
    if (!d) return nomem(ctx);
    char *slash = strrchr(d, '/');
    if (!slash || slash == d) {
        free(d);
        return KO_OK;
    }
    *slash = '\0';
    for (char *p = d + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(d, 0777) != 0 && errno != EEXIST) {
                ko_status st = koi_error(ctx, KO_ERR_IO, "%s: cannot make the directory: %s", d,
                                         strerror(errno));
                free(d);
                return st;
            }
            *p = c;
            if (!c) break;
        }
    }
    struct stat sb;
    ko_status st = KO_OK;
    if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode))
        st = koi_error(ctx, KO_ERR_IO, "%s: not a directory", d);
    free(d);
    return st;
}

/* Writes through a temporary file: from data (len bytes), or copied from the file from. */
/* The temporary file a write of path goes through: `.NAME.keepout-tmp` beside it, or, for a
 * name too long for that (a 250-byte name stopped a release), `.` + its first 200 bytes + `~`
 * + 16 hex digits of its SHA-256 + `.keepout-tmp`. Caller frees. */
static char *temp_path(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dn = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t bn = strlen(base);
    char *t = koi_malloc(dn + bn + 64);
    if (!t) return NULL;
    if (bn + sizeof ".keepout-tmp" + 1 <= 255) {
        sprintf(t, "%.*s.%s.keepout-tmp", (int)dn, path, base);
    } else {
        char hex[65];
        koi_sha256_hex((const uint8_t *)base, bn, hex);
        sprintf(t, "%.*s.%.200s~%.16s.keepout-tmp", (int)dn, path, base, hex);
    }
    return t;
}

ko_status ko_file_discard_temp(ko_context *ctx, const char *path) {
    if (!path || !*path) return koi_error(ctx, KO_ERR_ARG, "release: no destination path");
    char *t = temp_path(path);
    if (!t) return nomem(ctx);
    int fd = open(t, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) unlink(t); /* no one is writing it */
        close(fd);
    } else if (errno == ELOOP) {
        unlink(t); /* a symbolic link is no writer's file */
    }
    free(t);
    return KO_OK;
}

static ko_status write_atomic(ko_context *ctx, const char *path, const void *data, size_t len,
                              const char *from) {
    if (!path || !*path) return koi_error(ctx, KO_ERR_ARG, "release: no destination path");
    ko_status st = make_dirs(ctx, path);
    if (st) return st;
    const char *slash = strrchr(path, '/');
    size_t dn = slash ? (size_t)(slash - path) : 0;
    char *tmp = temp_path(path), *dir = koi_malloc(dn + 2);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return nomem(ctx);
    }
    if (slash)
        snprintf(dir, dn + 2, "%.*s", (int)(dn ? dn : 1), dn ? path : "/");
    else
        snprintf(dir, dn + 2, ".");
    /* Two processes writing one destination share its temporary name: each locks it before
     * truncating, so one never renames a file the other is half-way through writing. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    int ok = fd >= 0, err = ok ? 0 : errno, busy = 0;
    if (ok && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        busy = errno == EWOULDBLOCK;
        ok = 0, err = errno;
    }
    if (ok && ftruncate(fd, 0) != 0) ok = 0, err = errno;
    if (ok && from) {
        VSILFILE *in = VSIFOpenL(from, "rb");
        static const size_t BUF = 1 << 20;
        uint8_t *buf = koi_malloc(BUF);
        ok = in && buf;
        if (!ok) err = buf ? EIO : ENOMEM;
        size_t n;
        while (ok && (n = VSIFReadL(buf, 1, BUF, in)) > 0) {
            for (size_t off = 0; ok && off < n;) {
                ssize_t w = write(fd, buf + off, n - off);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0)
                    ok = 0, err = errno;
                else
                    off += (size_t)w;
            }
            if (n < BUF) break;
        }
        if (ok && in && !VSIFEofL(in)) ok = 0, err = EIO;
        if (in) VSIFCloseL(in);
        free(buf);
    } else if (ok) {
        const uint8_t *p = data;
        for (size_t off = 0; ok && off < len;) {
            ssize_t w = write(fd, p + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                ok = 0, err = errno;
            else
                off += (size_t)w;
        }
    }
    if (ok && fsync(fd) != 0) ok = 0, err = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, err = errno; /* renamed while still locked */
    if (fd >= 0 && close(fd) != 0 && ok) ok = 0, err = errno;
    if (busy) {
        st = koi_error(ctx, KO_ERR_IO, "%s: another process is writing it now (%s is locked)", path,
                       tmp);
    } else if (!ok) {
        unlink(tmp);
        st = koi_error(ctx, KO_ERR_IO, "%s: cannot write: %s", path, strerror(err ? err : EIO));
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            st = koi_error(ctx, KO_ERR_IO, "%s: cannot sync the directory: %s", dir,
                           strerror(errno));
        if (dfd >= 0) close(dfd);
    }
    free(tmp);
    free(dir);
    return st;
}

ko_status ko_file_write_atomic(ko_context *ctx, const char *path, const void *data, size_t len) {
    if (!data && len) return koi_error(ctx, KO_ERR_ARG, "release: no data to write");
    return write_atomic(ctx, path, data ? data : "", len, NULL);
}

ko_status ko_release_item_write(ko_release_item *it, const char *dst) {
    if (!it || !dst) return koi_error(it ? it->ctx : NULL, KO_ERR_ARG, "release: bad argument");
    if (!it->info.has_copy)
        return koi_error(it->ctx, KO_ERR_ARG, "release: the file cannot be copied: %s", it->reason);
    ko_status st = write_atomic(it->ctx, dst, it->out, it->out_n, NULL);
    for (size_t i = 0; !st && i < it->n_companions; i++) {
        const char *slash = strrchr(dst, '/');
        char *c = koi_malloc(strlen(dst) + strlen(it->companions[i]) + 2);
        if (!c) return nomem(it->ctx);
        sprintf(c, "%.*s%s%s", slash ? (int)(slash - dst) : 0, dst, slash ? "/" : "",
                CPLGetFilename(it->companions[i]));
        st = write_atomic(it->ctx, c, NULL, 0, it->companions[i]);
        free(c);
    }
    return st;
}
