/* Private: the context's innards, shared by the library's modules. */
#ifndef KEEPOUT_CONTEXT_H
#define KEEPOUT_CONTEXT_H

#include <geos_c.h>
#include <proj.h>

#include "keepout/keepout.h"

#define KOI_ERRMSG_MAX 1024

struct ko_context {
    GEOSContextHandle_t geos;
    PJ_CONTEXT *proj;
    char errmsg[KOI_ERRMSG_MAX];
    char geos_msg[KOI_ERRMSG_MAX]; /* last message of the GEOS error handler */
};

/* Records a formatted message in ctx (when ctx is not NULL) and returns status, so that
 * callers can write `return koi_error(ctx, KO_ERR_IO, "%s: cannot open", path);`. */
ko_status koi_error(ko_context *ctx, ko_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears the message of the last failure. */
void koi_clear_error(ko_context *ctx);

/* Checked allocation: every allocation in the library goes through these. They return NULL
 * on failure (or on overflow of n * size) and never abort. */
void *koi_malloc(size_t size);
void *koi_calloc(size_t n, size_t size);
void *koi_realloc_array(void *ptr, size_t n, size_t size);
char *koi_strdup(const char *s);

#endif
