/* keepout release: the release gate. Argument parsing, the walk of the inputs into relative
 * paths, the manifest (a journal that makes a killed run resumable) and printing around the
 * library: every file is checked, decided and prepared by ko_release_check() (the one release
 * policy, ko_release_decide()) and written by ko_release_item_write(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <json-c/json.h>

#include "commands.h"
#include "inputs.h"
#include "keepout/keepout.h"
#include "output.h"
#include "progress.h"
#include "reader_opts.h"

#define JOURNAL_NAME ".keepout-release.jsonl"

static void help(FILE *fp) {
    fprintf(fp,
            "usage: keepout release --to OUT --hold HOLD [options] INPUT...\n\n"
            "The release gate. Every photo of the inputs (photos, directories walked as\n"
            "'keepout check' walks them, DJI .SRT files with their videos, telemetry CSV) is\n"
            "checked and:\n"
            "  clear    copied into OUT unchanged (byte for byte; --strip-location takes GPS and\n"
            "           drone pose out of its metadata instead);\n"
            "  flagged  written into OUT redacted: the pixels that show a protected site set to\n"
            "           black, as a JPEG at the quality of the source (estimated from its\n"
            "           quantisation table), EXIF and XMP kept, thumbnail and previews left out;\n"
            "           with --no-redact held instead;\n"
            "  unknown  held: copied into HOLD with the reason beside it (FILE.reason.txt).\n"
            "Video and telemetry (.SRT with its .MP4/.MOV, CSV) are released only when every\n"
            "frame is clear, else held: video redaction is out of scope.\n"
            "Paths below each input are kept in OUT and HOLD; two inputs giving the same path is\n"
            "an error. Sources are never modified. Every file is written to a temporary file and\n"
            "renamed; a re-run skips files released before and unchanged since (path, size,\n"
            "mtime, the options that change checking, the store and DEM files as last written);\n"
            "a killed run, started again, completes the same trees.\n\n"
            "options:\n"
            "  --to OUT           where released files go\n"
            "  --hold HOLD        where held files go, each with FILE.reason.txt\n"
            "  --no-redact        hold flagged photos instead of redacting them\n"
            "  --strip-location   released files lose GPS and drone pose metadata (EXIF GPS,\n"
            "                     maker note, XMP position and attitude); telemetry is held\n"
            "  --manifest FILE    the manifest: one JSON line per file (source, SHA-256 of\n"
            "                     source and output, decision, reason, sites, redacted pixels,\n"
            "                     keepout and store versions). Default: HOLD/" JOURNAL_NAME
            ",\n"
            "                     and the lines are printed on standard output\n"
            "  --db FILE          site store (default: $KEEPOUT_SITES, else the bundled sample)\n"
            "  --max-range M      cut rays at M metres of ground distance (default 2000)\n"
            "  --dem RASTER       terrain (repeat for tiles); each photo is judged on its "
            "own\n" READER_HELP
            "  -q, --quiet        no progress or summary on standard error\n"
            "  -h, --help         this text\n\n"
            "Exit status: 0 everything released unredacted; 1 something redacted or held;\n"
            "2 usage error, unusable site store, clashing paths, an input with nothing in it,\n"
            "or a file that could not be written.\n");
}

typedef struct entry {
    size_t input;     /* which input it came from */
    ko_file_list *fl; /* borrowed */
    size_t index;
    const char *path; /* borrowed from fl */
    char *rel;
    char *key; /* path as the manifest gives it back (bytes that are not UTF-8 as \xHH) */
} entry;

typedef struct journal_line {
    char *source, *line; /* line without its newline */
    int used;
} journal_line;

typedef struct run {
    const char *out, *hold, *manifest, *db;
    char *out_real, *hold_real; /* OUT and HOLD with every symbolic link resolved */
    int no_redact, strip, quiet, manifest_given;
    ko_context *ctx;
    ko_sites *sites;
    ko_dem *dem;
    ko_check_options copts;
    ko_footprint_options fopts;
    ko_reader_options ropts;
    ko_release_policy policy;
    ko_release_options rel;
    char **dems;
    size_t n_dems;
    int64_t store_version;
    char *checked_with; /* what decides besides the file: see checked_with() */
    entry *e;
    size_t n, cap;
    journal_line *old;
    size_t n_old;
    journal_line **sorted; /* old by source (index_journal) */
    progress *prog;
    char **lines; /* this run's manifest lines, in the order of e */
    int jfd;
    FILE *journal;
    size_t released, redacted, held, skipped;
} run;

static int cmp_rel(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return strcmp(x->rel, y->rel);
}

/* The path of f below the input it was listed from, or its file name. */
static char *rel_of(const char *input, const char *path) {
    size_t n = strlen(input);
    while (n > 1 && input[n - 1] == '/')
        n--;
    if (strncmp(path, input, n) == 0 && path[n] == '/') {
        const char *r = path + n;
        while (*r == '/')
            r++;
        if (*r) return strdup(r);
    }
    return strdup(CPLGetFilename(path));
}

/* s as a JSON string of the manifest reads back: written with out_json_write(), which writes
 * bytes that are not UTF-8 as the text \xHH, then parsed. */
static char *manifest_text(const char *s) {
    json_object *j = json_object_new_string(s);
    char *text = NULL, *out = NULL;
    size_t len = 0;
    FILE *m = j ? open_memstream(&text, &len) : NULL;
    if (m) {
        out_json_write(m, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        fclose(m);
    }
    json_object *back = text ? json_tokener_parse(text) : NULL;
    if (back) out = strdup(json_object_get_string(back));
    json_object_put(back);
    json_object_put(j);
    free(text);
    return out;
}

static int add_entry(run *r, size_t input, ko_file_list *fl, size_t i, const char *in) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        entry *e = realloc(r->e, cap * sizeof *e);
        if (!e) return 0;
        r->e = e;
        r->cap = cap;
    }
    entry *e = &r->e[r->n];
    e->input = input;
    e->fl = fl;
    e->index = i;
    e->path = ko_file_list_path(fl, i);
    e->key = NULL;
    if (!(e->rel = rel_of(in, e->path)) || !(e->key = manifest_text(e->path))) {
        free(e->rel);
        return 0;
    }
    r->n++;
    return 1;
}

/* Two inputs giving one relative path: an error naming both. */
static int clashes(run *r) {
    if (r->n < 2) return 0;
    entry **s = malloc(r->n * sizeof *s);
    if (!s) return 1;
    for (size_t i = 0; i < r->n; i++)
        s[i] = &r->e[i];
    qsort(s, r->n, sizeof *s, cmp_rel);
    int bad = 0;
    for (size_t i = 1; i < r->n; i++)
        if (!strcmp(s[i - 1]->rel, s[i]->rel)) {
            out_say("release",
                    "%s and %s would both be released as %s: rename one, or release "
                    "them in separate runs",
                    s[i - 1]->path, s[i]->path, s[i]->rel);
            bad = 1;
        }
    free(s);
    return bad;
}

static char *join(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* A real path with the directory made first, for the inside-an-input test. */
static char *make_real(const char *dir) {
    char *p = strdup(dir);
    if (!p) return NULL;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
    free(p);
    return realpath(dir, NULL);
}

/* The real path dir will have once made: its deepest existing ancestor's real path, then the
 * rest as given. NULL (errno EINVAL) if the rest has a "." or ".." to resolve, or on error. */
static char *future_real(const char *dir) {
    char *head = strdup(dir), *rest = strdup("");
    char *out = NULL;
    while (head && rest) {
        size_t n = strlen(head);
        while (n > 1 && head[n - 1] == '/')
            head[--n] = '\0';
        char *real = realpath(*head ? head : ".", NULL);
        if (real) {
            if (*rest && (out = malloc(strlen(real) + strlen(rest) + 2)))
                sprintf(out, "%s%s", strcmp(real, "/") ? real : "", rest);
            else if (!*rest)
                out = real, real = NULL;
            free(real);
            break;
        }
        if (errno != ENOENT || !*head) break;
        char *slash = strrchr(head, '/');
        const char *name = slash ? slash + 1 : head;
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            errno = EINVAL;
            break;
        }
        char *r2 = malloc(strlen(name) + strlen(rest) + 2);
        if (!r2) break;
        sprintf(r2, "/%s%s", name, rest);
        free(rest);
        rest = r2;
        if (slash)
            *(slash == head ? slash + 1 : slash) = '\0';
        else
            head[0] = '\0';
    }
    free(head);
    free(rest);
    return out;
}

static int inside(const char *a, const char *b) { /* a is b or below it */
    size_t n = strlen(b);
    return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0' || (n == 1 && b[0] == '/'));
}

/* The manifest may not be, or lie in, an input (a --manifest naming a photo truncated it and
 * wrote the journal over it), nor in OUT (it names the sites: it is not for publishing). */
static int check_manifest(run *r, const input_list *in, const char *o) {
    if (!r->manifest_given) return 1;
    char *m = future_real(r->manifest); /* a link to an input resolves to it */
    if (!m) return 1;                   /* it cannot be resolved: opening it says why */
    int ok = !inside(m, o);
    if (!ok) out_say("release", "--manifest %s lies in OUT, which is published", r->manifest);
    for (size_t i = 0; ok && i < in->n; i++) {
        char *p = realpath(in->paths[i], NULL);
        if (p && inside(m, p)) {
            out_say("release",
                    "--manifest %s is or lies in the input %s: sources are never "
                    "written; give it a path outside the inputs",
                    r->manifest, in->paths[i]);
            ok = 0;
        }
        free(p);
    }
    free(m);
    return ok;
}

/* A path below OUT or HOLD that a symbolic link inside them would lead elsewhere (into an
 * input: a release deleted or overwrote the source): 0. The deepest existing directory of
 * path must resolve inside root (its real path); what is below it is made by the write. */
static int stays_in(const char *root, const char *path) {
    char *d = strdup(path);
    int ok = 0;
    for (char *slash; d && (slash = strrchr(d, '/'));) {
        *slash = '\0';
        char *real = realpath(*d ? d : "/", NULL);
        if (real) {
            ok = inside(real, root);
            free(real);
            break;
        }
        if (errno != ENOENT) break;
    }
    free(d);
    return ok;
}

/* Neither OUT nor HOLD may lie in an input nor hold one, nor each other; they are made only
 * when they pass (a refused OUT was left, empty, inside the input). */
static int check_dirs(run *r, const input_list *in) {
    char *o = future_real(r->out), *h = future_real(r->hold);
    int ok = o && h;
    if (!ok) out_say("release", "cannot resolve %s: %s", !o ? r->out : r->hold, strerror(errno));
    if (ok && (inside(o, h) || inside(h, o))) {
        out_say("release", "--to %s and --hold %s must be two separate directories", r->out,
                r->hold);
        ok = 0;
    }
    for (size_t i = 0; ok && i < in->n; i++) {
        char *p = realpath(in->paths[i], NULL);
        if (!p) continue; /* not a local path: the walk says what it is */
        if (inside(o, p) || inside(h, p) || inside(p, o) || inside(p, h)) {
            out_say("release",
                    "%s: OUT and HOLD must lie outside the inputs (a re-run would release the "
                    "outputs as inputs, and sources are never written)",
                    in->paths[i]);
            ok = 0;
        }
        free(p);
    }
    ok = ok && check_manifest(r, in, o);
    if (ok) { /* made now, and resolved again: what was checked is what is used */
        char *mo = make_real(r->out), *mh = make_real(r->hold);
        ok = mo && mh && !strcmp(mo, o) && !strcmp(mh, h);
        if (!ok)
            out_say("release", "cannot make %s: %s", !mo ? r->out : r->hold,
                    mo && mh ? "it resolved elsewhere once made" : strerror(errno));
        free(mo);
        free(mh);
    }
    r->out_real = o;
    r->hold_real = h;
    return ok;
}

/* ---- the journal (manifest) ---- */

static int load_journal(run *r) {
    r->jfd = open(r->manifest, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (r->jfd < 0) {
        out_say("release", "cannot open the manifest %s: %s", r->manifest, strerror(errno));
        return 0;
    }
    if (flock(r->jfd, LOCK_EX | LOCK_NB) != 0) {
        out_say("release", "%s: another keepout release is writing this manifest", r->manifest);
        return 0;
    }
    FILE *fp = fdopen(dup(r->jfd), "r");
    if (!fp) return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t good = 0, at = 0;
    while ((len = getline(&line, &cap, fp)) > 0) {
        at += len;
        if (line[len - 1] != '\n') break; /* a line cut by a kill: dropped */
        line[len - 1] = '\0';
        json_object *j = json_tokener_parse(line), *src;
        if (j && json_object_object_get_ex(j, "source", &src)) {
            journal_line *o = realloc(r->old, (r->n_old + 1) * sizeof *o);
            if (!o) {
                json_object_put(j);
                out_say("release", "out of memory reading the manifest %s", r->manifest);
                free(line);
                fclose(fp);
                return 0;
            }
            r->old = o;
            o[r->n_old].source = strdup(json_object_get_string(src));
            o[r->n_old].line = strdup(line);
            o[r->n_old].used = 0;
            r->n_old++;
            if (!o[r->n_old - 1].source || !o[r->n_old - 1].line) {
                json_object_put(j);
                out_say("release", "out of memory reading the manifest %s", r->manifest);
                free(line);
                fclose(fp);
                return 0;
            }
        }
        if (j) json_object_put(j);
        good = at;
    }
    free(line);
    fclose(fp);
    if (ftruncate(r->jfd, good) != 0 || lseek(r->jfd, 0, SEEK_END) < 0) {
        out_say("release", "cannot write the manifest %s: %s", r->manifest, strerror(errno));
        return 0;
    }
    r->journal = fdopen(dup(r->jfd), "a");
    return r->journal != NULL;
}

static int by_source(const void *a, const void *b) {
    const journal_line *x = *(const journal_line *const *)a, *y = *(const journal_line *const *)b;
    int c = strcmp(x->source, y->source);
    return c ? c : (x < y ? -1 : x > y);
}

/* The recorded lines sorted by source, then by their order in the file. */
static int index_journal(run *r) {
    if (!(r->sorted = malloc((r->n_old ? r->n_old : 1) * sizeof *r->sorted))) return 0;
    for (size_t i = 0; i < r->n_old; i++)
        r->sorted[i] = &r->old[i];
    qsort(r->sorted, r->n_old, sizeof *r->sorted, by_source);
    return 1;
}

/* The last line recorded for source (later lines supersede earlier ones). */
static journal_line *recorded(run *r, const char *source) {
    size_t lo = 0, hi = r->n_old; /* the first line whose source is greater */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->sorted[mid]->source, source) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && !strcmp(r->sorted[lo - 1]->source, source) ? r->sorted[lo - 1] : NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *jstr(json_object *j, const char *k) {
    json_object *v;
    return json_object_object_get_ex(j, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *j, const char *k) {
    json_object *v;
    return json_object_object_get_ex(j, k, &v) ? json_object_get_int64(v) : -1;
}

/* Whether the recorded line says this file was released as it is now, with these settings,
 * and what it wrote is still there. */
static int unchanged(run *r, const entry *e, const char *line, ko_decision *d) {
    json_object *j = json_tokener_parse(line);
    if (!j) return 0;
    VSIStatBufL st;
    int same =
        safe_stat(e->path, &st) == 0 && jint(j, "size") == (int64_t)st.st_size &&
        jint(j, "mtime") == (int64_t)st.st_mtime && jint(j, "store_version") == r->store_version &&
        !strcmp(jstr(j, "keepout_version") ? jstr(j, "keepout_version") : "", ko_version()) &&
        jint(j, "strip_location") == r->strip && jint(j, "redact") == !r->no_redact &&
        jstr(j, "checked_with") && !strcmp(jstr(j, "checked_with"), r->checked_with) &&
        jstr(j, "rel") && !strcmp(jstr(j, "rel"), e->rel) &&
        /* the same store file (another store at the same version decides otherwise) */
        jstr(j, "site_store") && !strcmp(jstr(j, "site_store"), r->db) &&
        /* a series' videos are not in the line's size, mtime or hash: a video replaced beside
         * a released SRT was skipped unchecked (adversary); a series is always done again */
        !json_object_object_get_ex(j, "companions", NULL);
    /* and the same bytes: a photo patched in place with its size and time restored (touch -r)
     * kept its stale copy in OUT (adversary); reading it again costs less than checking it */
    char have[65];
    same = same && jstr(j, "sha256") && ko_file_sha256(r->ctx, e->path, have) == KO_OK &&
           !strcmp(have, jstr(j, "sha256"));
    const char *dec = jstr(j, "decision"), *output = jstr(j, "output");
    if (same && dec && output) {
        *d = !strcmp(dec, "release") ? KO_RELEASE : !strcmp(dec, "redact") ? KO_REDACT : KO_REFUSE;
        /* the output where this run puts it: a run into another OUT, or with OUT and HOLD
         * swapped, must write it there (it was skipped: OUT stayed empty, exit 0) */
        char *want = join(*d == KO_REFUSE ? r->hold : r->out, e->rel);
        struct stat ob;
        /* and still what it wrote (a file put over it of the same size was kept) */
        const char *osha = jstr(j, "output_sha256");
        same = want && !strcmp(want, output) && stat(output, &ob) == 0 &&
               (int64_t)ob.st_size == jint(j, "output_size") && osha &&
               ko_file_sha256(r->ctx, output, have) == KO_OK && !strcmp(have, osha);
        free(want);
    } else if (same) { /* held without a copy: its reason file */
        same = dec && !strcmp(dec, "refuse");
        *d = KO_REFUSE;
    }
    json_object_put(j);
    return same;
}

static json_object *jstring(const char *s) {
    return json_object_new_string(s ? s : "");
}

/* The manifest line of a file (deterministic: no times, so a resumed run gives the same). */
static char *record(run *r, const entry *e, const ko_release_info *in, const char *output,
                    int64_t output_size, const VSIStatBufL *read) {
    json_object *j = json_object_new_object();
    VSIStatBufL st;
    int have = read != NULL;
    if (have) st = *read;
    json_object_object_add(j, "source", jstring(e->path));
    json_object_object_add(j, "rel", jstring(e->rel));
    json_object_object_add(j, "size", json_object_new_int64(have ? (int64_t)st.st_size : -1));
    json_object_object_add(j, "mtime", json_object_new_int64(have ? (int64_t)st.st_mtime : -1));
    json_object_object_add(j, "sha256", in->source_sha256[0] ? jstring(in->source_sha256) : NULL);
    json_object_object_add(j, "decision", jstring(ko_decision_str(in->decision)));
    json_object_object_add(j, "verdict", jstring(ko_verdict_str(in->verdict)));
    json_object_object_add(j, "rule", jstring(in->why));
    json_object_object_add(j, "reason", jstring(in->reason));
    json_object *sites = json_object_new_array();
    char **ids = CSLTokenizeString2(in->site_ids, ";", CSLT_ALLOWEMPTYTOKENS);
    char **names = CSLTokenizeString2(in->site_names, ";", CSLT_ALLOWEMPTYTOKENS);
    for (int i = 0; ids && ids[i] && *in->site_ids; i++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "id", json_object_new_int64(atoll(ids[i])));
        json_object_object_add(s, "name", jstring(names && i < CSLCount(names) ? names[i] : ""));
        json_object_array_add(sites, s);
    }
    CSLDestroy(ids);
    CSLDestroy(names);
    json_object_object_add(j, "sites", sites);
    json_object_object_add(j, "shots", json_object_new_int64((int64_t)in->shots));
    json_object_object_add(j, "redacted_pixels",
                           json_object_new_int64((int64_t)in->redacted_pixels));
    if (in->jpeg_quality)
        json_object_object_add(j, "jpeg_quality", json_object_new_int(in->jpeg_quality));
    json_object_object_add(j, "output", output ? jstring(output) : NULL);
    json_object_object_add(j, "output_sha256",
                           output && in->output_sha256[0] ? jstring(in->output_sha256) : NULL);
    json_object_object_add(j, "output_size", json_object_new_int64(output ? output_size : -1));
    if (in->n_companions) {
        json_object *c = json_object_new_array();
        for (size_t i = 0; i < in->n_companions; i++)
            json_object_array_add(c, jstring(in->companions[i]));
        json_object_object_add(j, "companions", c);
    }
    json_object_object_add(j, "strip_location", json_object_new_int(r->strip));
    json_object_object_add(j, "redact", json_object_new_int(!r->no_redact));
    json_object_object_add(j, "site_store", jstring(r->db));
    json_object_object_add(j, "store_version", json_object_new_int64(r->store_version));
    json_object_object_add(j, "checked_with", jstring(r->checked_with));
    json_object_object_add(j, "keepout_version", jstring(ko_version()));
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        out_json_write(m, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        fclose(m);
    }
    json_object_put(j);
    return text;
}

static char *reason_text(const entry *e, const ko_release_info *in) {
    char *t = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&t, &len);
    if (!m) return NULL;
    fprintf(m,
            "keepout release held this file.\nsource: %s\ndecision: %s\nverdict: %s\nrule: "
            "%s\nreason: %s\nsites: %s\nsite ids: %s\n",
            e->path, ko_decision_str(in->decision), ko_verdict_str(in->verdict), in->why,
            in->reason, in->site_names, in->site_ids);
    if (!in->has_copy) fprintf(m, "no copy: the file could not be read or copied\n");
    fclose(m);
    return t;
}

/* The reason file beside a held file: FILE.reason.txt, or, where that name would be longer
 * than a file name may be, the name's first 200 bytes, `~`, 16 hex digits of its FNV-1a hash
 * and `.reason.txt` (a 250-byte name stopped the run). Caller frees. */
static char *reason_path(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dn = (size_t)(base - path), bn = strlen(base);
    char *t = malloc(dn + bn + 64);
    if (!t) return NULL;
    if (bn + sizeof ".reason.txt" <= 255) {
        sprintf(t, "%s.reason.txt", path);
    } else {
        uint64_t h = 14695981039346656037ull;
        for (size_t i = 0; i < bn; i++)
            h = (h ^ (unsigned char)base[i]) * 1099511628211ull;
        sprintf(t, "%.*s%.200s~%016llx.reason.txt", (int)dn, path, base, (unsigned long long)h);
    }
    return t;
}

/* Removes the temporary files a killed run may have left for path and its reason file: a
 * resumed run that holds the file would otherwise leave the copy of it in OUT (adversary
 * adv23 A5). */
static void unlink_tmps(run *r, const char *path) {
    char *reason = reason_path(path);
    (void)ko_file_discard_temp(r->ctx, path);
    if (reason) (void)ko_file_discard_temp(r->ctx, reason);
    free(reason);
}

/* Removes what an earlier run wrote for this file on the other side. */
static void unlink_other(run *r, const entry *e, const ko_release_info *in, int to_out) {
    char *p = join(to_out ? r->hold : r->out, e->rel);
    if (!p) return;
    unlink(p);
    if (to_out) {
        char *q = reason_path(p);
        if (q) unlink(q);
        free(q);
    }
    for (size_t i = 0; i < in->n_companions; i++) {
        char *slash = strrchr(p, '/');
        char *c = malloc(strlen(p) + strlen(in->companions[i]) + 2);
        if (c && slash) {
            sprintf(c, "%.*s/%s", (int)(slash - p), p, CPLGetFilename(in->companions[i]));
            unlink(c);
        }
        free(c);
    }
    free(p);
}

static void count(run *r, ko_decision d) {
    if (d == KO_RELEASE)
        r->released++;
    else if (d == KO_REDACT)
        r->redacted++;
    else
        r->held++;
}

/* A message in the loop: the progress line cleared first. */
#define say(r, ...) (progress_clear((r)->prog), out_say("release", __VA_ARGS__))

/* Whether dst may be written for e: it is absent, or this manifest's line for e names it as
 * its output, or it already holds what is to be written. A file there from another source (a
 * second run of another input into the same OUT: adversary B4) is never overwritten. */
static int ours(run *r, const journal_line *old, const char *dst, const char *sha) {
    struct stat sb;
    if (lstat(dst, &sb) != 0) return errno == ENOENT;
    if (old) {
        json_object *j = json_tokener_parse(old->line);
        const char *o = j ? jstr(j, "output") : NULL;
        int mine = o && !strcmp(o, dst);
        json_object_put(j);
        if (mine) return 1;
    }
    char have[65];
    return S_ISREG(sb.st_mode) && ko_file_sha256(r->ctx, dst, have) == KO_OK && !strcmp(have, sha);
}

/* One file: 1 done, 0 a write failed (exit 2), -1 the store failed (exit 2). */
static int release_one(run *r, size_t k) {
    entry *e = &r->e[k];
    journal_line *old = recorded(r, e->key);
    ko_decision d;
    if (old && unchanged(r, e, old->line, &d)) {
        old->used = 1;
        r->lines[k] = strdup(old->line);
        r->skipped++;
        count(r, d);
        if (!r->manifest_given && r->lines[k]) printf("%s\n", r->lines[k]);
        return r->lines[k] != NULL;
    }
    /* the file as it was before it was read: a file changed while it is read is recorded with
     * what no later state matches, so the next run checks it again (adversary B3) */
    VSIStatBufL before;
    int stat_ok = safe_stat(e->path, &before) == 0;
    ko_release_item *it = NULL;
    if (ko_release_check(r->ctx, r->sites, e->fl, e->index, &r->rel, &it) != KO_OK) {
        say(r, "%s: %s", e->path, ko_errmsg(r->ctx));
        return -1;
    }
    ko_release_info in;
    in.size = sizeof in;
    ko_release_item_info(it, &in);
    int to_out = in.decision != KO_REFUSE;
    char *dst = join(to_out ? r->out : r->hold, e->rel);
    char *other = join(to_out ? r->hold : r->out, e->rel);
    int ok = dst && other;
    if (ok && (!stays_in(to_out ? r->out_real : r->hold_real, dst) ||
               !stays_in(to_out ? r->hold_real : r->out_real, other))) {
        say(r, "%s: a symbolic link inside %s or %s leads out of it: nothing is written there",
            e->rel, r->out, r->hold);
        free(dst);
        free(other);
        ko_release_item_destroy(it);
        return 0;
    }
    if (ok && in.has_copy && !ours(r, old, dst, in.output_sha256)) {
        say(r,
            "%s exists with other content, and this manifest (%s) does not record it as %s's: "
            "not overwritten (another input released there, or another run's file; move it, "
            "or release into another directory)",
            dst, r->manifest, e->path);
        free(dst);
        free(other);
        ko_release_item_destroy(it);
        return 0;
    }
    if (ok) {
        unlink_tmps(r, dst);
        unlink_tmps(r, other);
    }
    free(other);
    if (ok) unlink_other(r, e, &in, to_out);
    if (ok && !to_out) {
        char *why = reason_text(e, &in), *rp = reason_path(dst);
        ok = why && rp;
        if (ok) {
            ok = ko_file_write_atomic(r->ctx, rp, why, strlen(why)) == KO_OK;
            if (!ok) say(r, "%s", ko_errmsg(r->ctx));
        }
        free(why);
        free(rp);
    }
    int64_t size = -1;
    if (ok && in.has_copy) {
        if (ko_release_item_write(it, dst) != KO_OK) {
            say(r, "%s", ko_errmsg(r->ctx));
            ok = 0;
        } else {
            struct stat sb;
            size = stat(dst, &sb) == 0 ? (int64_t)sb.st_size : -1;
        }
    }
    if (ok) {
        VSIStatBufL after;
        int same = stat_ok && safe_stat(e->path, &after) == 0 && after.st_size == before.st_size &&
                   after.st_ino == before.st_ino && after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                   after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
                   (!in.has_copy || in.source_size == (int64_t)before.st_size);
        r->lines[k] = record(r, e, &in, in.has_copy ? dst : NULL, size, same ? &before : NULL);
        ok = r->lines[k] != NULL;
    }
    if (ok) {
        count(r, in.decision);
        fprintf(r->journal, "%s\n", r->lines[k]);
        ok = fflush(r->journal) == 0;
        if (!ok) say(r, "cannot write the manifest %s", r->manifest);
        if (!r->manifest_given) printf("%s\n", r->lines[k]);
    }
    free(dst);
    ko_release_item_destroy(it);
    return ok;
}

/* The manifest made whole: lines of files outside this run first, then this run's in order. */
static int compact(run *r) {
    char *t = NULL;
    size_t len = 0;
    const char **keys = malloc((r->n ? r->n : 1) * sizeof *keys);
    FILE *m = keys ? open_memstream(&t, &len) : NULL;
    if (!m) {
        free(keys);
        return 0;
    }
    for (size_t k = 0; k < r->n; k++)
        keys[k] = r->e[k].key;
    qsort(keys, r->n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < r->n_old; i++) {
        const char *src = r->old[i].source;
        if (r->old[i].used || bsearch(&src, keys, r->n, sizeof *keys, cmp_str) ||
            recorded(r, src) != &r->old[i])
            continue;
        fprintf(m, "%s\n", r->old[i].line);
    }
    free(keys);
    for (size_t k = 0; k < r->n; k++)
        if (r->lines[k]) fprintf(m, "%s\n", r->lines[k]);
    fclose(m);
    int ok = ko_file_write_atomic(r->ctx, r->manifest, t, len) == KO_OK;
    if (!ok) out_say("release", "%s", ko_errmsg(r->ctx));
    free(t);
    return ok;
}

enum { R_TO = 400, R_HOLD, R_NO_REDACT, R_STRIP, R_MANIFEST, R_DB, R_MAX_RANGE, R_DEM };

static int parse_args(int argc, char **argv, run *r) {
    static const struct option longopts[] = {{"to", required_argument, NULL, R_TO},
                                             {"hold", required_argument, NULL, R_HOLD},
                                             {"no-redact", no_argument, NULL, R_NO_REDACT},
                                             {"strip-location", no_argument, NULL, R_STRIP},
                                             {"manifest", required_argument, NULL, R_MANIFEST},
                                             {"db", required_argument, NULL, R_DB},
                                             {"max-range", required_argument, NULL, R_MAX_RANGE},
                                             {"dem", required_argument, NULL, R_DEM},
                                             READER_LONGOPTS,
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
            case R_TO:
                r->out = optarg;
                break;
            case R_HOLD:
                r->hold = optarg;
                break;
            case R_NO_REDACT:
                r->no_redact = 1;
                break;
            case R_STRIP:
                r->strip = 1;
                break;
            case R_MANIFEST:
                r->manifest = optarg;
                r->manifest_given = 1;
                break;
            case R_DB:
                r->db = optarg;
                break;
            case R_DEM:
                if (!strlist_add(&r->dems, &r->n_dems, optarg)) return EXIT_USAGE;
                break;
            case R_MAX_RANGE: {
                char *end;
                double v = strtod(optarg, &end);
                if (end == optarg || *end || !(v >= 1 && v <= 1e6)) {
                    fprintf(stderr,
                            "keepout release: --max-range needs a number in [1, 1e6], not '%s'\n",
                            optarg);
                    return EXIT_USAGE;
                }
                r->fopts.max_range_m = v;
                break;
            }
            case 'q':
                r->quiet = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default: {
                int ro = reader_option(c, optarg, &r->ropts, "release");
                if (ro > 0) break;
                if (!ro) help(stderr);
                return EXIT_USAGE;
            }
        }
    }
    if (!r->out || !r->hold) {
        fprintf(stderr,
                "keepout release: --to OUT and --hold HOLD are both needed (try "
                "'keepout release --help')\n");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "keepout release: no input given (try 'keepout release --help')\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* A file's identity as its last write left it: size and modification time to the
 * nanosecond, or "absent". */
static void file_stamp(FILE *m, const char *what, const char *path) {
    struct stat st;
    VSIStatBufL vs;
    if (stat(path, &st) == 0)
        fprintf(m, "; %s %s %lld bytes %lld.%09ld", what, path, (long long)st.st_size,
                (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    else if (VSIStatL(path, &vs) == 0) /* in an archive (/vsizip/...): the entry's */
        fprintf(m, "; %s %s %lld bytes %lld", what, path, (long long)vs.st_size,
                (long long)vs.st_mtime);
    else
        fprintf(m, "; %s %s absent", what, path);
}

/* A DEM is every file GDAL reads for it (the tiles of a VRT mosaic, the sidecars), and for a
 * path inside an archive (/vsizip/a.zip/t.tif) the archive too: replacing a tile, or the zip,
 * changed the terrain while the --dem file itself stayed as it was (adversary A4). */
static void dem_stamp(FILE *m, const char *path) {
    file_stamp(m, "dem", path);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    char **files = ds ? GDALGetFileList(ds) : NULL;
    for (int i = 0; files && files[i]; i++) {
        if (strcmp(files[i], path)) file_stamp(m, "dem file", files[i]);
        if (!strncmp(files[i], "/vsi", 4)) {               /* the first local file on its path */
            const char *inner = strchr(files[i] + 1, '/'); /* after /vsizip */
            char *p = inner ? strdup(inner + 1) : NULL;    /* "a.zip/t.tif" or "/abs/a.zip/..." */
            for (char *s = p; s && *s && (s = strchr(s + 1, '/'));) {
                *s = '\0';
                struct stat st;
                int found = stat(p, &st) == 0 && S_ISREG(st.st_mode);
                if (found) file_stamp(m, "dem archive", p);
                *s = '/';
                if (found) break;
            }
            free(p);
        }
    }
    CSLDestroy(files);
    if (ds) GDALClose(ds);
}

/* Everything a verdict depends on besides the file itself, as recorded in the manifest: the
 * options that change checking (every option but where things go), the store's file and
 * write-ahead log as last written, and each DEM's. A re-run skips a file only when they are
 * the same: a site edited in place (an UPDATE through ogrinfo or QGIS leaves the store
 * version as it was), another --dem or --max-range all check it again (adversary A4). */
static int checked_with(run *r, int argc, char **argv) {
    char *t = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&t, &len);
    if (!m) return 0;
    fputs("options", m);
    for (int i = 1; i < argc && i < optind; i++) {
        const char *a = argv[i];
        int where = !strcmp(a, "--to") || !strcmp(a, "--hold") || !strcmp(a, "--manifest");
        if (where) {
            i++; /* and its value */
            continue;
        }
        if (!strncmp(a, "--to=", 5) || !strncmp(a, "--hold=", 7) ||
            !strncmp(a, "--manifest=", 11) || !strcmp(a, "-q") || !strcmp(a, "--quiet"))
            continue;
        fprintf(m, " %s", a);
    }
    file_stamp(m, "store", r->db);
    file_stamp(m, "store log", CPLSPrintf("%s-wal", r->db));
    for (size_t i = 0; i < r->n_dems; i++)
        dem_stamp(m, r->dems[i]);
    if (fclose(m) != 0 || !t) {
        free(t);
        return 0;
    }
    r->checked_with = t;
    return 1;
}

static int open_store(run *r) {
    VSIStatBufL st;
    if (!r->db || safe_stat(r->db, &st) != 0) {
        out_say("release",
                "site store %s does not exist; build one with 'keepout sites import' "
                "or pass --db",
                r->db ? r->db : "(none)");
        return 0;
    }
    double limit;
    if (ko_sites_open(r->ctx, r->db, KO_SITES_READONLY, &r->sites) != KO_OK ||
        ko_sites_gsd_limit(r->sites, &limit) != KO_OK ||
        ko_sites_version(r->sites, &r->store_version) != KO_OK) {
        out_say("release", "cannot use site store %s: %s", r->db, ko_errmsg(r->ctx));
        return 0;
    }
    r->fopts.gsd_limit_m = limit;
    return 1;
}

int cmd_release(int argc, char **argv) {
    run r;
    memset(&r, 0, sizeof r);
    r.jfd = -1;
    ko_check_options_init(&r.copts);
    ko_footprint_options_init(&r.fopts);
    r.copts.footprint = &r.fopts;
    ko_reader_options_init(&r.ropts);
    r.db = ko_sites_default(1);
    int rc = parse_args(argc, argv, &r);
    input_list list = {0};
    ko_file_list **fls = NULL;
    char *journal_default = NULL;
    if (rc >= 0) goto done;
    rc = EXIT_USAGE;
    if (!inputs_collect(argc - optind, argv + optind, &list)) goto done;
    if (!check_dirs(&r, &list)) goto done;
    if (!r.manifest) {
        if (!(journal_default = join(r.hold, JOURNAL_NAME))) goto done;
        r.manifest = journal_default;
    }
    if (ko_context_create(&r.ctx) != KO_OK) {
        out_say("release", "cannot create a context (out of memory?)");
        goto done;
    }
    if (!open_store(&r)) goto done;
    if (r.n_dems) {
        if (ko_dem_open_list(r.ctx, (const char *const *)r.dems, r.n_dems, &r.dem) != KO_OK) {
            out_say("release", "--dem: %s", ko_errmsg(r.ctx));
            goto done;
        }
        r.fopts.dem = r.dem;
        r.ropts.below_takeoff = 1;
    }
    if (!checked_with(&r, argc, argv)) { /* after the DEM: GDAL's drivers are registered */
        out_say("release", "out of memory");
        goto done;
    }
    /* the walk: every file of every input, with its path below the input */
    if (!(fls = calloc(list.n, sizeof *fls))) goto done;
    int empty = 0;
    for (size_t i = 0; i < list.n; i++) {
        if (ko_file_list_create(r.ctx, list.paths[i], &r.ropts, &fls[i]) != KO_OK) {
            out_say("release", "%s: %s", list.paths[i], ko_errmsg(r.ctx));
            goto done;
        }
        size_t n = ko_file_list_count(fls[i]);
        if (!n) {
            out_say("release",
                    "%s: nothing to release: no photo, .SRT or telemetry file in it (choose "
                    "files with --include GLOB)",
                    list.paths[i]);
            empty = 1;
        }
        for (size_t k = 0; k < n; k++)
            if (!add_entry(&r, i, fls[i], k, list.paths[i])) {
                out_say("release", "out of memory");
                goto done;
            }
    }
    if (empty || clashes(&r)) goto done;
    if (!(r.lines = calloc(r.n ? r.n : 1, sizeof *r.lines))) goto done;
    if (ko_sites_prepare(r.sites, (double)r.n, NULL) != KO_OK) {
        out_say("release", "site store %s: %s", r.db, ko_errmsg(r.ctx));
        goto done;
    }
    ko_release_policy_init(&r.policy);
    r.policy.mode = r.no_redact ? KO_MODE_STRICT : KO_MODE_REDACT;
    ko_release_options_init(&r.rel);
    r.rel.policy = &r.policy;
    r.rel.check = &r.copts;
    r.rel.reader = &r.ropts;
    r.rel.strip_location = r.strip;
    if (!load_journal(&r) || !index_journal(&r)) goto done;
    /* not over the manifest lines when they go to the same terminal */
    progress prog;
    progress_start(&prog, "release", "files", (double)r.n,
                   progress_wanted(r.quiet) && (r.manifest_given || !isatty(STDOUT_FILENO)));
    r.prog = &prog;
    int ok = 1;
    for (size_t k = 0; ok > 0 && k < r.n; k++) {
        ok = release_one(&r, k);
        progress_step(&prog, 1);
    }
    if (ok <= 0) progress_clear(&prog);
    if (ok <= 0) goto done;
    progress_end(&prog);
    if (fflush(stdout) != 0 || !compact(&r)) goto done;
    if (!r.quiet)
        fprintf(stderr,
                "keepout release: %zu released, %zu redacted, %zu held (%zu unchanged since the "
                "last run; manifest %s)\n",
                r.released, r.redacted, r.held, r.skipped, r.manifest);
    rc = r.redacted + r.held ? EXIT_FLAGGED : EXIT_CLEAR;
done:
    free(r.out_real);
    free(r.hold_real);
    if (r.journal) fclose(r.journal);
    if (r.jfd >= 0) close(r.jfd);
    for (size_t i = 0; i < r.n; i++) {
        free(r.e[i].rel);
        free(r.e[i].key);
        if (r.lines) free(r.lines[i]);
    }
    free(r.e);
    free(r.checked_with);
    free(r.lines);
    for (size_t i = 0; i < r.n_old; i++) {
        free(r.old[i].source);
        free(r.old[i].line);
    }
    free(r.old);
    free(r.sorted);
    for (size_t i = 0; fls && i < list.n; i++)
        ko_file_list_destroy(fls[i]);
    free(fls);
    free(journal_default);
    ko_sites_close(r.sites);
    ko_dem_close(r.dem);
    ko_context_destroy(r.ctx);
    strlist_free(r.dems);
    inputs_free(&list);
    reader_options_free(&r.ropts);
    return rc;
}
