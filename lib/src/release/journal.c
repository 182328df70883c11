/* The manifest of a release run, which is also its journal: one JSON line per file, appended
 * and flushed as each file is done, so that a killed run, started again, knows what is done.
 * Lines are deterministic (no times): a resumed run gives the same manifest. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "policy/policy.h"
#include "release/release.h"

/* json-c's text with every byte that is not UTF-8 (inside a string: JSON outside strings is
 * ASCII) as the text \xHH, so that the manifest is UTF-8 and names such paths all the same
 * (caller frees). */
static char *json_line(json_object *j) {
    const unsigned char *u =
        (const unsigned char *)json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    if (!u) return NULL;
    koi_text t = {0};
    static const char hex[] = "0123456789abcdef";
    while (*u) {
        size_t n = koi_utf8_len(u);
        if (n) {
            koi_text_put(&t, (const char *)u, n);
            u += n;
        } else {
            char e[5] = {'\\', '\\', 'x', hex[*u >> 4], hex[*u & 15]};
            koi_text_put(&t, e, sizeof e);
            u++;
        }
    }
    if (t.failed || !t.s) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

char *koi_manifest_text(const char *s) {
    json_object *j = json_object_new_string(s);
    char *text = j ? json_line(j) : NULL, *out = NULL;
    json_object *back = text ? json_tokener_parse(text) : NULL;
    if (back) out = koi_strdup(json_object_get_string(back));
    json_object_put(back);
    json_object_put(j);
    free(text);
    return out;
}

static const char *jstr(json_object *j, const char *k) {
    json_object *v;
    return json_object_object_get_ex(j, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *j, const char *k) {
    json_object *v;
    return json_object_object_get_ex(j, k, &v) ? json_object_get_int64(v) : -1;
}

static int streq(const char *a, const char *b) {
    return a && b && !strcmp(a, b);
}

static int by_output(const void *a, const void *b) {
    const koi_journal_line *x = *(const koi_journal_line *const *)a;
    const koi_journal_line *y = *(const koi_journal_line *const *)b;
    int c = strcmp(x->output, y->output);
    return c ? c : (x < y ? -1 : x > y);
}

static int by_source(const void *a, const void *b) {
    const koi_journal_line *x = *(const koi_journal_line *const *)a;
    const koi_journal_line *y = *(const koi_journal_line *const *)b;
    int c = strcmp(x->source, y->source);
    return c ? c : (x < y ? -1 : x > y);
}

/* One line read back: kept if it is a JSON object with a source. 0 if out of memory. */
static int keep_line(koi_release *r, const char *line) {
    json_object *j = json_tokener_parse(line), *src;
    int ok = 1;
    if (j && json_object_object_get_ex(j, "source", &src)) {
        koi_journal_line *o = koi_realloc_array(r->old, r->n_old + 1, sizeof *o);
        ok = o != NULL;
        if (ok) {
            r->old = o;
            o += r->n_old++;
            const char *out = jstr(j, "output");
            o->source = koi_strdup(json_object_get_string(src));
            o->line = koi_strdup(line);
            o->output = out && *out ? koi_strdup(out) : NULL;
            o->used = 0;
            ok = o->source && o->line && (!out || !*out || o->output);
        }
    }
    json_object_put(j);
    return ok;
}

/* The lines an earlier run left, a last line cut short by a kill dropped (the file truncated
 * there), then the lines indexed by source. */
static ko_status read_lines(koi_release *r) {
    FILE *fp = fdopen(dup(r->jfd), "r");
    if (!fp) return koi_error(r->ctx, KO_ERR_IO, "cannot read the manifest %s", r->manifest);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t good = 0, at = 0;
    int ok = 1;
    while (ok && (len = getline(&line, &cap, fp)) > 0) {
        at += len;
        if (line[len - 1] != '\n') break;
        line[len - 1] = '\0';
        ok = keep_line(r, line);
        good = at;
    }
    free(line);
    fclose(fp);
    if (!ok)
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory reading the manifest %s",
                         r->manifest);
    if (ftruncate(r->jfd, good) != 0 || lseek(r->jfd, 0, SEEK_END) < 0)
        return koi_error(r->ctx, KO_ERR_IO, "cannot write the manifest %s: %s", r->manifest,
                         strerror(errno));
    if (!(r->sorted = koi_malloc((r->n_old ? r->n_old : 1) * sizeof *r->sorted)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory reading the manifest %s",
                         r->manifest);
    for (size_t i = 0; i < r->n_old; i++)
        r->sorted[i] = &r->old[i];
    qsort(r->sorted, r->n_old, sizeof *r->sorted, by_source);
    if (!(r->by_output = koi_malloc((r->n_old ? r->n_old : 1) * sizeof *r->by_output)))
        return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory reading the manifest %s",
                         r->manifest);
    for (size_t i = 0; i < r->n_old; i++)
        if (r->old[i].output) r->by_output[r->n_by_output++] = &r->old[i];
    qsort(r->by_output, r->n_by_output, sizeof *r->by_output, by_output);
    return KO_OK;
}

ko_status koi_journal_load(koi_release *r) {
    r->jfd = open(r->manifest, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (r->jfd < 0)
        return koi_error(r->ctx, KO_ERR_IO, "cannot open the manifest %s: %s", r->manifest,
                         strerror(errno));
    if (flock(r->jfd, LOCK_EX | LOCK_NB) != 0)
        return koi_error(r->ctx, KO_ERR_IO, "%s: another keepout release is writing this manifest",
                         r->manifest);
    ko_status st = read_lines(r);
    if (st) return st;
    if (!(r->journal = fdopen(dup(r->jfd), "a")))
        return koi_error(r->ctx, KO_ERR_IO, "cannot write the manifest %s", r->manifest);
    return KO_OK;
}

koi_journal_line *koi_journal_recorded(koi_release *r, const char *source) {
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

/* The source as recorded: same path below its input, size, mtime, settings and store. */
static int same_source(koi_release *r, const koi_rel_entry *e, json_object *j) {
    VSIStatBufL st;
    return koi_release_stat(e->path, &st) == 0 && jint(j, "size") == (int64_t)st.st_size &&
           jint(j, "mtime") == (int64_t)st.st_mtime &&
           jint(j, "store_version") == r->store_version &&
           streq(jstr(j, "keepout_version"), ko_version()) &&
           jint(j, "strip_location") == r->strip && jint(j, "redact") == r->redact &&
           streq(jstr(j, "checked_with"), r->checked_with) && streq(jstr(j, "rel"), e->rel) &&
           /* the same store file (another store at the same version decides otherwise) */
           streq(jstr(j, "site_store"), koi_release_store_path(r)) &&
           /* a series' videos are not in the line's size, mtime or hash: a video replaced
            * beside a released SRT was skipped unchecked (adversary); a series is redone */
           !json_object_object_get_ex(j, "companions", NULL);
}

/* Its output where this run puts it, still as written. */
static int same_output(koi_release *r, const koi_rel_entry *e, json_object *j, ko_decision d) {
    /* a run into another OUT, or with OUT and HOLD swapped, must write it there (it was
     * skipped: OUT stayed empty, exit 0) */
    char *want = koi_rel_join(d == KO_REFUSE ? r->o->hold : r->o->out, e->rel);
    const char *output = jstr(j, "output"), *osha = jstr(j, "output_sha256");
    struct stat ob;
    char have[65];
    /* and still what it wrote (a file put over it of the same size was kept) */
    int same = want && streq(want, output) && stat(output, &ob) == 0 &&
               (int64_t)ob.st_size == jint(j, "output_size") && osha &&
               ko_file_sha256(r->ctx, output, have) == KO_OK && !strcmp(have, osha);
    free(want);
    return same;
}

int koi_journal_unchanged(koi_release *r, const koi_rel_entry *e, const char *line,
                          ko_decision *d) {
    json_object *j = json_tokener_parse(line);
    if (!j) return 0;
    int same = same_source(r, e, j);
    /* and the same bytes: a photo patched in place with its size and time restored (touch -r)
     * kept its stale copy in OUT (adversary); reading it again costs less than checking it */
    char have[65];
    same = same && jstr(j, "sha256") && ko_file_sha256(r->ctx, e->path, have) == KO_OK &&
           !strcmp(have, jstr(j, "sha256"));
    const char *dec = jstr(j, "decision");
    if (same && dec && jstr(j, "output")) {
        *d = !strcmp(dec, "release") ? KO_RELEASE : !strcmp(dec, "redact") ? KO_REDACT : KO_REFUSE;
        same = same_output(r, e, j, *d);
    } else if (same) { /* held without a copy: its reason file */
        same = streq(dec, "refuse");
        *d = KO_REFUSE;
    }
    json_object_put(j);
    return same;
}

const char *koi_journal_owner(koi_release *r, const char *path) {
    size_t lo = 0, hi = r->n_by_output; /* the first line whose output is greater */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->by_output[mid]->output, path) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && !strcmp(r->by_output[lo - 1]->output, path) ? r->by_output[lo - 1]->source : NULL;
}

static json_object *jstring(const char *s) {
    return json_object_new_string(s ? s : "");
}

static json_object *sites_of(const ko_release_info *in) {
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
    return sites;
}

char *koi_journal_record(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                         const char *output, int64_t output_size, const VSIStatBufL *read) {
    json_object *j = json_object_new_object();
    if (!j) return NULL;
    json_object_object_add(j, "source", jstring(e->path));
    json_object_object_add(j, "rel", jstring(e->rel));
    json_object_object_add(j, "size", json_object_new_int64(read ? (int64_t)read->st_size : -1));
    json_object_object_add(j, "mtime", json_object_new_int64(read ? (int64_t)read->st_mtime : -1));
    json_object_object_add(j, "sha256", in->source_sha256[0] ? jstring(in->source_sha256) : NULL);
    json_object_object_add(j, "decision", jstring(ko_decision_str(in->decision)));
    json_object_object_add(j, "verdict", jstring(ko_verdict_str(in->verdict)));
    json_object_object_add(j, "rule", jstring(in->why));
    json_object_object_add(j, "reason", jstring(in->reason));
    json_object_object_add(j, "sites", sites_of(in));
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
    json_object_object_add(j, "redact", json_object_new_int(r->redact));
    json_object_object_add(j, "site_store", jstring(koi_release_store_path(r)));
    json_object_object_add(j, "store_version", json_object_new_int64(r->store_version));
    json_object_object_add(j, "checked_with", jstring(r->checked_with));
    json_object_object_add(j, "keepout_version", jstring(ko_version()));
    char *text = json_line(j);
    json_object_put(j);
    return text;
}

ko_status koi_journal_append(koi_release *r, size_t k) {
    fprintf(r->journal, "%s\n", r->lines[k]);
    if (fflush(r->journal) != 0)
        return koi_error(r->ctx, KO_ERR_IO, "cannot write the manifest %s: %s", r->manifest,
                         strerror(errno));
    return KO_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The manifest made whole: lines of files outside this run first, then this run's in order. */
ko_status koi_journal_compact(koi_release *r) {
    koi_text t = {0};
    const char **keys = koi_malloc((r->n ? r->n : 1) * sizeof *keys);
    if (!keys) return koi_error(r->ctx, KO_ERR_NOMEM, "out of memory writing the manifest");
    for (size_t k = 0; k < r->n; k++)
        keys[k] = r->e[k].key;
    qsort(keys, r->n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < r->n_old; i++) {
        const char *src = r->old[i].source;
        if (r->old[i].used || bsearch(&src, keys, r->n, sizeof *keys, cmp_str) ||
            koi_journal_recorded(r, src) != &r->old[i])
            continue;
        koi_text_puts(&t, r->old[i].line);
        koi_text_puts(&t, "\n");
    }
    free(keys);
    for (size_t k = 0; k < r->n; k++)
        if (r->lines[k]) {
            koi_text_puts(&t, r->lines[k]);
            koi_text_puts(&t, "\n");
        }
    ko_status st = t.failed ? koi_error(r->ctx, KO_ERR_NOMEM, "out of memory writing the manifest")
                            : ko_file_write_atomic(r->ctx, r->manifest, t.s ? t.s : "", t.len);
    free(t.s);
    return st;
}

void koi_journal_free(koi_release *r) {
    if (r->journal) fclose(r->journal);
    if (r->jfd >= 0) close(r->jfd);
    for (size_t i = 0; i < r->n_old; i++) {
        free(r->old[i].source);
        free(r->old[i].line);
        free(r->old[i].output);
    }
    free(r->old);
    free(r->sorted);
    free(r->by_output);
}
