/* The public catalogue handle: its options, stats, notes and the release decision on it. */
#include <cpl_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"

void ko_catalog_options_init(ko_catalog_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->shard_k = opts->shard_n = 1;
}

void ko_catalog_stats_init(ko_catalog_stats *s) {
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}

ko_status ko_catalog_open(ko_context *ctx, const char *dsn, const ko_catalog_options *opts,
                          ko_catalog **out) {
    if (!ctx || !dsn || !out) return koi_error(ctx, KO_ERR_ARG, "ko_catalog_open: NULL argument");
    ko_catalog_options dflt;
    ko_status st;
    if (!opts) {
        ko_catalog_options_init(&dflt);
        opts = &dflt;
    } else if ((st = KOI_CHECK_OPTIONS(ctx, ko_catalog_options, opts))) {
        return st;
    }
    if (opts->shard_n < 1 || opts->shard_k < 1 || opts->shard_k > opts->shard_n)
        return koi_error(ctx, KO_ERR_ARG, "catalogue options: shard %u of %u is not one of 1..%u",
                         opts->shard_k, opts->shard_n, opts->shard_n);
    if (opts->jobs > 256)
        return koi_error(ctx, KO_ERR_ARG, "catalogue options: %u jobs, at most 256", opts->jobs);
    ko_catalog *cat = koi_calloc(1, sizeof *cat);
    if (!cat || !(cat->name = koi_strdup(dsn))) {
        free(cat);
        return koi_error(ctx, KO_ERR_NOMEM, "out of memory");
    }
    cat->ctx = ctx;
    cat->opts = *opts;
    if ((st = koi_cat_open(ctx, &cat->w, dsn))) {
        free(cat->name);
        free(cat);
        return st;
    }
    *out = cat;
    return KO_OK;
}

void ko_catalog_close(ko_catalog *cat) {
    if (!cat) return;
    koi_cat_close(&cat->w);
    free(cat->name);
    free(cat);
}

void koi_cat_utc_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

void koi_cat_note(const ko_catalog *cat, ko_note_level level, const char *fmt, ...) {
    if (!cat->opts.note) return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cat->opts.note(level, text, cat->opts.note_user);
}

int koi_cat_stats_counts(ko_catalog *cat, ko_catalog_stats *stats) {
    koi_cat_counts n;
    if (!koi_cat_counts_read(&cat->w, &n)) {
        koi_error(cat->ctx, KO_ERR_IO, "cannot count the verdicts in the catalogue %s: %s",
                  cat->name, CPLGetLastErrorMsg());
        return 0;
    }
    stats->catalogue_clear = n.clear;
    stats->catalogue_flagged = n.flagged;
    stats->catalogue_unknown = n.unknown;
    stats->catalogue_not_checked = n.not_checked;
    return 1;
}

/* The whole catalogue is weighed: a shot whose input could not be read was not checked, and
 * neither was a file the run left out (its sidecar could not be placed). */
ko_decision ko_catalog_decide(const ko_catalog_stats *stats, const ko_release_policy *p,
                              const char **why) {
    if (!stats || stats->size != sizeof *stats) {
        if (why) *why = "refuse: the catalogue stats were not set up by ko_catalog_stats_init()";
        return KO_REFUSE;
    }
    return ko_release_decide_batch(p, stats->catalogue_clear, stats->catalogue_flagged,
                                   stats->catalogue_unknown,
                                   stats->catalogue_not_checked + stats->left_out, why);
}
