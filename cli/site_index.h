/* Whether a batch should load the store's in-memory site index or query it on disk. */
#ifndef KEEPOUT_CLI_SITE_INDEX_H
#define KEEPOUT_CLI_SITE_INDEX_H

#include <stdint.h>

#include "inputs.h"
#include "keepout/keepout.h"

/* Shots a file holds, roughly: a photo one, telemetry by size (a CSV row ~80 bytes, a DJI SRT
 * frame ~200); size < 0 if unknown. */
double site_index_shots(const char *path, int64_t size);

/* The shots of the inputs of `keepout check` (directories walked, sizes from the walk). */
double site_index_input_shots(ko_context *ctx, const input_list *l, const ko_reader_options *o);

/* Loads the index of s when `shots` queries outnumber a quarter of its sites (loading costs
 * ~8 us per site, an on-disk query ~31 us more: bench_index at 10^6 sites). *loaded says which,
 * *n_sites how many sites the store holds (either may be NULL).
 * 0 after a message on stderr (prefixed with who) if the store fails. */
int site_index_choose(ko_sites *s, ko_context *ctx, double shots, const char *who, int *loaded,
                      int64_t *n_sites);

#endif
