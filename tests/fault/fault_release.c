/* Allocation failure at every allocation of a release run (ko_release_run; the chaos allocator
 * of fault_alloc.c): real photos against a real store, first with every allocation succeeding
 * (the reference), then once per allocation index k with the k-th allocation of the library
 * failing (and again with every allocation from the k-th on failing), each run into empty OUT
 * and HOLD directories.
 *
 * Whatever fails, nothing may leave that the reference would not release: every file a run
 * leaves in OUT must be, byte for byte, the reference's file of that name in OUT (no flagged
 * photo copied whole, no half-written file under a final name). A run must either fail with
 * KO_ERR_NOMEM or leave exactly the reference's files in OUT and HOLD. No crash, no leak
 * (ASan/LSan in the sanitize build).
 *
 *   fault_release STORE REDACT INPUT...   (REDACT 0: flagged photos held; 1: redacted)
 */
#define _XOPEN_SOURCE 700
#include <cpl_error.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "keepout/keepout.h"

/* The hook (core.h): fails the fail_at-th allocation counted since arming, or every one from
 * it on when persist is set. Test state, in the test program only. */
static long counted, fail_at;
static int armed, persist;

int koi_fault_alloc(void) {
    if (!armed) return 0;
    counted++;
    return persist ? counted >= fail_at : counted == fail_at;
}

enum { MAX_FILES = 32 };

/* The regular files below a directory (names relative to it) and their SHA-256. */
typedef struct tree {
    size_t n;
    char name[MAX_FILES][512];
    char sha[MAX_FILES][65];
} tree;

static int read_tree(const char *root, const char *rel, tree *t) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int ok = 1;
    while (ok && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[512], path[1600];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat sb;
        if (lstat(path, &sb) != 0) return closedir(d), 0;
        if (S_ISDIR(sb.st_mode)) {
            ok = read_tree(root, sub, t);
            continue;
        }
        if (t->n == MAX_FILES) return closedir(d), 0;
        FILE *f = fopen(path, "rb");
        unsigned char *b = malloc(sb.st_size ? (size_t)sb.st_size : 1);
        ok = f && b && fread(b, 1, (size_t)sb.st_size, f) == (size_t)sb.st_size;
        if (ok) {
            snprintf(t->name[t->n], sizeof t->name[t->n], "%s", sub);
            koi_sha256_hex(b, (size_t)sb.st_size, t->sha[t->n]);
            t->n++;
        }
        free(b);
        if (f) fclose(f);
    }
    closedir(d);
    return ok;
}

static const char *sha_of(const tree *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->name[i], name)) return t->sha[i];
    return NULL;
}

/* 1 if the file at path has the SHA-256 sha. */
static int same_file(const char *path, const char *sha) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 20, len = 0;
    unsigned char *b = malloc(cap);
    for (size_t got; b && (got = fread(b + len, 1, cap - len, f)) > 0;) {
        len += got;
        unsigned char *c = len == cap ? realloc(b, cap *= 2) : b;
        if (!c) free(b);
        b = c;
    }
    fclose(f);
    char hex[65] = "";
    if (b) koi_sha256_hex(b, len, hex);
    free(b);
    return !strcmp(hex, sha);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

typedef struct run {
    ko_status st;
    const char *where;
    char msg[512];
    tree out, hold;
} run;

/* One release run of the inputs into fresh OUT and HOLD below work; 1 if it succeeded. */
static int release_all(const char *work, const char *store, int redact, char **inputs, int n,
                       run *r) {
    memset(r, 0, sizeof *r);
    char out[512], hold[512];
    snprintf(out, sizeof out, "%s/out", work);
    snprintf(hold, sizeof hold, "%s/hold", work);
    nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    nftw(hold, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    ko_context *ctx = NULL;
    ko_sites *sites = NULL;
    if ((r->st = ko_context_create(&ctx))) return r->where = "ko_context_create", 0;
    if ((r->st = ko_sites_open(ctx, store, KO_SITES_READONLY, &sites))) {
        r->where = "ko_sites_open";
    } else {
        ko_release_run_options o;
        ko_release_run_options_init(&o);
        o.out = out, o.hold = hold, o.redact = redact;
        r->st = ko_release_run(ctx, sites, (const char *const *)inputs, (size_t)n, &o, NULL);
        r->where = "ko_release_run";
    }
    snprintf(r->msg, sizeof r->msg, "%s", ko_errmsg(ctx));
    ko_sites_close(sites);
    ko_context_destroy(ctx);
    armed = 0; /* (reading the trees back is the test's, not the library's) */
    read_tree(out, "", &r->out);
    read_tree(hold, "", &r->hold);
    return r->st == KO_OK;
}

/* The same files, and with bytes when bytes is set (HOLD's manifest and reasons hold times). */
static int same_tree(const tree *a, const tree *b, int bytes) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const char *s = sha_of(b, a->name[i]);
        if (!s || (bytes && strcmp(s, a->sha[i]))) return 0;
    }
    return 1;
}

/* Judges a run against the reference; prints and returns 0 if wrong. */
static int judge(const run *ref, const run *r, int ok, long k) {
    const char *mode = persist ? "from" : "at";
    for (size_t i = 0; i < r->out.n; i++) {
        const char *want = sha_of(&ref->out, r->out.name[i]);
        if (!want || strcmp(want, r->out.sha[i])) {
            printf(
                "FAIL: allocation failing %s #%ld: OUT/%s is not what the reference releases"
                " (%s)\n",
                mode, k, r->out.name[i], want ? "other bytes" : "the reference holds it");
            return 0;
        }
    }
    if (!ok && r->st != KO_ERR_NOMEM) {
        printf("FAIL: allocation failing %s #%ld: %s returned %s, not out of memory: %s\n", mode, k,
               r->where, ko_status_str(r->st), r->msg);
        return 0;
    }
    if (!ok || (same_tree(&ref->out, &r->out, 1) && same_tree(&ref->hold, &r->hold, 0))) return 1;
    /* A run that succeeded may only have held what the reference released (a file it could
     * not check is unknown, and held with its reason): nothing lost, nothing more released. */
    for (size_t i = 0; i < ref->out.n; i++) {
        char reason[600];
        snprintf(reason, sizeof reason, "%s.reason.txt", ref->out.name[i]);
        if (!sha_of(&r->out, ref->out.name[i]) &&
            !(sha_of(&r->hold, ref->out.name[i]) && sha_of(&r->hold, reason))) {
            printf("FAIL: allocation failing %s #%ld: %s is neither released nor held\n", mode, k,
                   ref->out.name[i]);
            return 0;
        }
    }
    for (size_t i = 0; i < ref->hold.n; i++)
        if (!sha_of(&r->hold, ref->hold.name[i])) {
            printf("FAIL: allocation failing %s #%ld: HOLD/%s is missing\n", mode, k,
                   ref->hold.name[i]);
            return 0;
        }
    return 2; /* (degraded: held what the reference released) */
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: fault_release STORE REDACT INPUT...\n");
        return 2;
    }
    CPLPushErrorHandler(CPLQuietErrorHandler);
    char work[] = "/tmp/keepout-fault-release-XXXXXX";
    if (!mkdtemp(work)) return perror("mkdtemp"), 2;
    int redact = atoi(argv[2]);
    char **inputs = argv + 3;
    int n = argc - 3;
    run ref, r;
    armed = 1, persist = 0, fail_at = 0, counted = 0;
    if (!release_all(work, argv[1], redact, inputs, n, &ref)) {
        printf("FAIL: the reference run failed: %s: %s\n", ref.where, ko_status_str(ref.st));
        return 1;
    }
    long total = counted;
    printf("reference: %zu files in OUT, %zu in HOLD, %ld allocations\n", ref.out.n, ref.hold.n,
           total);
    /* The premise: a file released whole, and a flagged one held (HOLD has it, its reason and
     * the manifest) or redacted (in OUT, and not the bytes of any input). */
    size_t whole = 0;
    for (size_t i = 0; i < ref.out.n; i++)
        for (int k = 0; k < n; k++)
            whole += same_file(inputs[k], ref.out.sha[i]);
    if (total == 0 || whole == 0 || (redact ? ref.out.n - whole != 1 : ref.hold.n < 3)) {
        printf("FAIL: the inputs must give a released file and a %s one, through the hook\n",
               redact ? "redacted" : "held");
        return 1;
    }
    int bad = 0;
    for (persist = 0; persist < 2; persist++) {
        size_t errors = 0, partial = 0, held = 0;
        for (long k = 1; k <= total; k++) {
            armed = 1, fail_at = k, counted = 0;
            int ok = release_all(work, argv[1], redact, inputs, n, &r);
            int verdict = judge(&ref, &r, ok, k);
            bad += !verdict;
            held += verdict == 2;
            errors += !ok;
            partial += !ok && r.out.n > 0;
        }
        printf(
            "  failing %s each of %ld: %zu runs stopped with out of memory (%zu after "
            "releasing some files, each the reference's), %zu held a file the reference "
            "released\n",
            persist ? "every allocation from" : "the allocation", total, errors, partial, held);
    }
    nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    CPLPopErrorHandler();
    printf(bad ? "%d wrong runs\n" : "all runs failed closed\n", bad);
    return bad != 0;
}
