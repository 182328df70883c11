/* The in-memory site index or the on-disk R-tree: a few new photos against a national store
 * should start at once, a survey should not pay ~31 us per shot on disk. */
#include "site_index.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cpl_vsi.h>

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n > m && !strcasecmp(path + n - m, ext);
}

double site_index_shots(const char *path, int64_t size) {
    if (!has_ext(path, ".srt") && !has_ext(path, ".csv") && !has_ext(path, ".txt")) return 1;
    if (size < 0) {
        VSIStatBufL st;
        size = safe_stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    }
    double bytes_per_shot = has_ext(path, ".srt") ? 200.0 : 80.0;
    return 1 + (double)size / bytes_per_shot;
}

double site_index_input_shots(ko_context *ctx, const input_list *l, const ko_reader_options *o) {
    double shots = 0;
    for (size_t i = 0; i < l->n; i++) {
        VSIStatBufL st;
        if (safe_stat(l->paths[i], &st) != 0 || !VSI_ISDIR(st.st_mode)) {
            shots += site_index_shots(l->paths[i], -1);
            continue;
        }
        ko_file_list *fl = NULL;
        if (ko_file_list_create(ctx, l->paths[i], o, &fl) != KO_OK) continue; /* read later */
        for (size_t k = 0; k < ko_file_list_count(fl); k++) {
            int64_t size = -1, mtime;
            if (!ko_file_list_stat(fl, k, &size, &mtime)) size = -1;
            shots += site_index_shots(ko_file_list_path(fl, k), size);
        }
        ko_file_list_destroy(fl);
    }
    return shots;
}

int site_index_choose(ko_sites *s, ko_context *ctx, double shots, const char *who, int *loaded,
                      int64_t *n_sites) {
    int64_t n = 0;
    if (ko_sites_count(s, &n) != KO_OK) {
        fprintf(stderr, "keepout %s: site store: %s\n", who, ko_errmsg(ctx));
        return 0;
    }
    int load = 4 * shots >= (double)n;
    if (load && ko_sites_load_index(s) != KO_OK) {
        fprintf(stderr, "keepout %s: site store: %s\n", who, ko_errmsg(ctx));
        return 0;
    }
    if (loaded) *loaded = load;
    if (n_sites) *n_sites = n;
    return 1;
}
