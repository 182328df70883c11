/* What releasing one source may touch. It writes on its side (OUT or HOLD) its copy, the
 * videos of a series beside it and, held, its reason file; it removes on the other side what
 * an earlier run wrote there under the same names. Each such file must be absent, or this
 * source's by the manifest (the latest line naming it is the source's), or hold exactly what this
 * run writes or read for it; anything else is another source's or the user's file, and the run
 * stops before touching any (adversary adv23c: a lone clip.MP4 held in HOLD was replaced by, or
 * removed for, the video of another input's clip.SRT; a held x.png's reason was written over an
 * input named x.png.reason.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>

#include "release/release.h"

typedef struct claim {
    koi_release *r;
    const koi_rel_entry *e;
    const char *shas[4];   /* what this run writes or read: output, source, reason, companion */
    const char *const *cs; /* companions' paths */
    size_t n_cs;
    char (*c_sha)[65]; /* their SHA-256 */
} claim;

/* 1 if the file at path is a reason file this gate wrote for the source. */
static int reason_for(const char *path, const char *source) {
    static const char head[] = "keepout release held this file.\nsource: ";
    size_t n = sizeof head - 1 + strlen(source) + 1;
    char *want = koi_malloc(n + 1), *got = koi_malloc(n + 1);
    FILE *fp = want && got ? fopen(path, "rb") : NULL;
    int same = 0;
    if (fp) {
        snprintf(want, n + 1, "%s%s\n", head, source);
        same = fread(got, 1, n, fp) == n && !memcmp(got, want, n);
        fclose(fp);
    }
    free(want);
    free(got);
    return same;
}

/* 1 if path may be written over or removed: absent, or holding what this run writes or read
 * for the source, or last written there for this source by the manifest (no later line of
 * another source names it), or the source's reason file. A name alone is not enough
 * (adversary adv23d: a re-run of flight1 after flight2 released its own DJI_0001.JPG there
 * replaced or removed it). */
static int mine(claim *c, const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return 1; /* absent (or unreachable: the write says why) */
    char have[65];
    if (!S_ISREG(sb.st_mode) || ko_file_sha256(c->r->ctx, path, have) != KO_OK) return 0;
    for (size_t i = 0; i < sizeof c->shas / sizeof c->shas[0]; i++)
        if (c->shas[i] && *c->shas[i] && !strcmp(c->shas[i], have)) return 1;
    for (size_t i = 0; i < c->n_cs; i++)
        if (!strcmp(c->c_sha[i], have)) return 1;
    const char *owner = koi_journal_owner(c->r, path);
    if (owner && !strcmp(owner, c->e->key)) return 1;
    size_t pn = strlen(path);
    return pn > 11 && !strcmp(path + pn - 11, ".reason.txt") && reason_for(path, c->e->path);
}

static ko_status refuse(claim *c, const koi_rel_entry *e, const char *path) {
    return koi_error(c->r->ctx, KO_ERR_IO,
                     "%s exists with other content, and the manifest %s does not record it as "
                     "%s's: not overwritten nor removed (another input released there, or "
                     "another run's or the user's file; move it, or release into another "
                     "directory)",
                     path, c->r->manifest, e->path);
}

/* The file, its reason and its companions under the names they have in dir. */
static ko_status check_side(claim *c, const koi_rel_entry *e, const char *dir, int with_reason) {
    char *p = koi_rel_join(dir, e->rel);
    char *q = p && with_reason ? koi_reason_path(p) : NULL;
    ko_status st = !p || (with_reason && !q) ? koi_error(c->r->ctx, KO_ERR_NOMEM, "out of memory")
                   : !mine(c, p)             ? refuse(c, e, p)
                   : q && !mine(c, q)        ? refuse(c, e, q)
                                             : KO_OK;
    char *slash = p ? strrchr(p, '/') : NULL;
    for (size_t i = 0; !st && slash && i < c->n_cs; i++) {
        char *v = koi_malloc(strlen(p) + strlen(c->cs[i]) + 2);
        if (!v) {
            st = koi_error(c->r->ctx, KO_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(v, "%.*s/%s", (int)(slash - p), p, CPLGetFilename(c->cs[i]));
        if (!mine(c, v)) st = refuse(c, e, v);
        free(v);
    }
    free(p);
    free(q);
    return st;
}

ko_status koi_release_claim(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                            const char *reason) {
    claim c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.e = e;
    char reason_sha[65] = "";
    if (reason) koi_sha256_hex(reason, strlen(reason), reason_sha);
    c.shas[0] = in->output_sha256;
    c.shas[1] = in->source_sha256;
    c.shas[2] = reason_sha;
    c.cs = in->companions;
    c.n_cs = in->n_companions;
    if (c.n_cs && !(c.c_sha = koi_calloc(c.n_cs, sizeof *c.c_sha)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c.n_cs; i++)
        if (ko_file_sha256(r->ctx, c.cs[i], c.c_sha[i]) != KO_OK) c.c_sha[i][0] = '\0';
    ko_status st = check_side(&c, e, r->o->out, 0);
    if (!st) st = check_side(&c, e, r->o->hold, 1);
    free(c.c_sha);
    return st;
}
