/* Private: the release run (ko_release_run()): where files go (paths.c), the manifest that
 * makes a killed run resumable (journal.c), what a verdict depends on besides the file
 * (settings.c) and the run itself (run.c). Each file is checked, decided and written by the
 * policy folder's ko_release_check() and ko_release_item_write(). */
#ifndef KEEPOUT_RELEASE_RELEASE_H
#define KEEPOUT_RELEASE_RELEASE_H

#include <stdint.h>
#include <stdio.h>
#include <cpl_vsi.h>

#include "core/core.h"
#include "keepout/keepout.h"

/* One file of the run: file index of fl (borrowed), its path below its input, and its path as
 * the manifest gives it back (bytes that are not UTF-8 as the text \xHH). */
typedef struct koi_rel_entry {
    ko_file_list *fl;
    size_t index;
    const char *path; /* borrowed from fl */
    char *rel, *key;
} koi_rel_entry;

/* A line of the manifest as an earlier run left it. */
typedef struct koi_journal_line {
    char *source, *line; /* line without its newline */
    char *output;        /* the file it wrote, or NULL */
    int used;
} koi_journal_line;

typedef struct koi_release {
    ko_context *ctx;
    ko_sites *sites;
    const ko_release_run_options *o;
    const char *manifest;
    char *manifest_default;
    int redact, strip;          /* the options, 0 or 1 */
    char *out_real, *hold_real; /* OUT and HOLD with every symbolic link resolved */
    int out_fd, hold_fd;        /* OUT and HOLD opened, and locked for this run; -1 if not */
    ko_dem *dem;
    ko_footprint_options fopts;
    ko_reader_options ropts;
    ko_check_options copts;
    ko_release_policy policy;
    ko_release_options rel;
    int64_t store_version;
    char *checked_with; /* what decides besides the file: see koi_release_settings() */
    ko_file_list **fls;
    size_t n_fls;
    koi_rel_entry *e;
    size_t n, cap;
    koi_journal_line *old;
    size_t n_old;
    koi_journal_line **sorted;    /* old by source, then by order in the file */
    koi_journal_line **by_output; /* old lines with an output, by it, then by order */
    size_t n_by_output;
    char **lines; /* this run's manifest lines, in the order of e */
    int jfd;
    FILE *journal;
    ko_release_stats st;
} koi_release;

/* ---- paths.c ---- */
/* dir/rel (caller frees; NULL if out of memory). */
char *koi_rel_join(const char *dir, const char *rel);
/* The path of path below input, or its file name (caller frees). */
char *koi_rel_of(const char *input, const char *path);
/* OUT, HOLD and the manifest checked against each other and the inputs, then OUT and HOLD
 * made and resolved (r->out_real, r->hold_real). */
ko_status koi_release_dirs(koi_release *r, const char *const *inputs, size_t n);
/* 1 if the deepest existing directory of path resolves inside root (a real path), 0 if not,
 * -1 when memory ran out. */
int koi_stays_in(const char *root, const char *path);
/* FILE.reason.txt beside a held file, hashed where the name would be too long (caller frees). */
char *koi_reason_path(const char *path);

/* ---- journal.c ---- */
/* s as the manifest reads back (caller frees). */
char *koi_manifest_text(const char *s);
ko_status koi_journal_load(koi_release *r);
/* The last line recorded for source, or NULL. */
koi_journal_line *koi_journal_recorded(koi_release *r, const char *source);
/* 1 if the recorded line says e was released as it is now, with these settings, and what it
 * wrote is still there; *d: the recorded decision. */
int koi_journal_unchanged(koi_release *r, const koi_rel_entry *e, const char *line, ko_decision *d);
/* The source the manifest last records writing path for (its latest line naming path as its
 * output), or NULL. */
const char *koi_journal_owner(koi_release *r, const char *path);
/* The manifest line of a file (caller frees; NULL if out of memory). read: the source as it
 * was before it was read, NULL if it changed meanwhile. */
char *koi_journal_record(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                         const char *output, int64_t output_size, const VSIStatBufL *read);
/* Appends this run's line of file k; rewrites the manifest whole at the end. */
ko_status koi_journal_append(koi_release *r, size_t k);
ko_status koi_journal_compact(koi_release *r);
void koi_journal_free(koi_release *r);

/* ---- claims.c ---- */
/* KO_OK if every file releasing e touches (its copy, companions and reason on both sides) is
 * absent, e's by the manifest, or what this run writes or read for it; else KO_ERR_IO naming
 * it. reason: the held file's reason text, or NULL. */
ko_status koi_release_claim(koi_release *r, const koi_rel_entry *e, const ko_release_info *in,
                            const char *reason);

/* ---- settings.c ---- */
/* r->checked_with: the options that change checking, the store's file and write-ahead log as
 * last written, and every file of each DEM. */
ko_status koi_release_settings(koi_release *r);

/* The site store's path as opened. */
const char *koi_release_store_path(const koi_release *r);

/* VSIStatL() of a path that does not block (ko_path_check() first): 0 or -1. */
int koi_release_stat(const char *path, VSIStatBufL *st);

#endif
