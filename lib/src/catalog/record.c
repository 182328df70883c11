/* What the catalogue keeps of a checked shot. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

void koi_cat_shot_free(koi_cat_shot *s) {
    free(s->id), free(s->time), free(s->camera), free(s->reason);
    free(s->site_ids), free(s->categories), free(s->ring);
    for (size_t k = 0; k < s->n_hits; k++)
        free(s->hits[k].name), free(s->hits[k].category);
    free(s->hits);
    memset(s, 0, sizeof *s);
}

void koi_cat_file_free(koi_cat_file *f) {
    for (size_t i = 0; i < f->n_shots; i++)
        koi_cat_shot_free(&f->shots[i]);
    free(f->shots);
    free(f->path);
    free(f->site_names);
    memset(f, 0, sizeof *f);
}

static char *dup_or_null(const char *s) {
    return s ? koi_strdup(s) : NULL;
}

int koi_cat_shot_fill(koi_cat_shot *s, const ko_shot *shot, const ko_result *res) {
    memset(s, 0, sizeof *s);
    s->id = dup_or_null(shot->id);
    s->time = dup_or_null(shot->time);
    for (size_t i = 0; i < shot->n_extra; i++)
        if (!strcmp(shot->extra_keys[i], "camera")) s->camera = dup_or_null(shot->extra_values[i]);
    s->verdict = ko_result_verdict(res);
    s->checked = ko_result_checked(res);
    s->reason = dup_or_null(ko_result_reason(res));
    s->pose = shot->pose;
    s->cam = shot->camera;
    const ko_footprint *fp = ko_result_footprint(res);
    if (fp) {
        const double *r = ko_footprint_ring(fp, &s->n_ring);
        if ((s->ring = koi_malloc(s->n_ring * 2 * sizeof(double))))
            memcpy(s->ring, r, s->n_ring * 2 * sizeof(double));
    }
    /* the flat columns from the library's summary, as every face has them */
    ko_result_summary sum;
    ko_result_summary_init(&sum);
    if (ko_result_summarize(NULL, res, &sum) != KO_OK) return 0;
    s->site_ids = sum.hit_count ? koi_strdup(sum.site_ids) : NULL; /* none: the column unset */
    s->categories = sum.hit_count ? koi_strdup(sum.categories) : NULL;
    size_t disclosed = sum.hit_count;
    ko_result_summary_clear(&sum);
    size_t n = ko_result_count(res);
    s->hits = koi_calloc(n ? n : 1, sizeof *s->hits);
    if (!s->id || !s->reason || (fp && !s->ring) || !s->hits) return 0;
    if (disclosed && (!s->site_ids || !s->categories)) return 0;
    for (size_t i = 0; i < n; i++) {
        const ko_finding *f = ko_result_finding(res, i);
        if (!f->disclosed) continue;
        koi_cat_hit *h = &s->hits[s->n_hits++];
        h->site_id = f->site->site_id;
        h->name = koi_strdup(f->site->name ? f->site->name : "");
        h->category = koi_strdup(f->site->category);
        h->distance_m = f->site->distance_m;
        h->fraction = f->site->overlap;
        h->gsd_m = f->gsd_m;
        if (!h->name || !h->category) return 0;
    }
    return 1;
}
