/* The context: the GEOS handle, the PROJ context and geodesic (both on first use), the
 * modules' caches, the message of the last failure, allocation; and the once-per-process set-up
 * (GDAL's drivers, registered when the library first opens a file through one). */
#include "core/core.h"

#include <gdal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <threads.h>

static once_flag global_once = ONCE_FLAG_INIT;

static void global_init_once(void) {
    /* Inside a GDAL program (the KEEPOUT plugin) the host has registered its drivers already:
     * registering again would rescan the plugin directory on every first open. */
    if (GDALGetDriverCount() == 0) GDALAllRegister();
}

ko_status ko_global_init(void) {
    call_once(&global_once, global_init_once);
    return KO_OK;
}

/* GEOS reports problems through a handler; keep its last words in the owning context. */
static void geos_message(const char *msg, void *userdata) {
    ko_context *ctx = userdata;
    snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", msg);
}

ko_status ko_context_create(ko_context **out) {
    if (!out) return KO_ERR_ARG;
    ko_context *ctx = koi_calloc(1, sizeof *ctx);
    if (!ctx) return KO_ERR_NOMEM;
    ctx->geos = GEOS_init_r();
    if (!ctx->geos) {
        ko_context_destroy(ctx);
        return KO_ERR_NOMEM;
    }
    GEOSContext_setErrorMessageHandler_r(ctx->geos, geos_message, ctx);
    *out = ctx;
    return KO_OK;
}

PJ_CONTEXT *koi_ctx_proj(ko_context *ctx) {
    if (!ctx->proj_lazy) {
        ctx->proj_lazy = proj_context_create();
        if (!ctx->proj_lazy) {
            koi_error(ctx, KO_ERR_NOMEM, "PROJ: cannot create a context (out of memory)");
            return NULL;
        }
        /* keepout never touches the network: the site store and the flight paths are
         * sensitive. */
        proj_context_set_enable_network(ctx->proj_lazy, 0);
    }
    return ctx->proj_lazy;
}

const struct geod_geodesic *koi_ctx_geod(const ko_context *ctx) {
    if (!ctx->geod_ready) {
        ko_context *c = (ko_context *)ctx; /* a cache: allocated non-const by ko_context_create */
        geod_init(&c->geod_lazy, 6378137.0, 1.0 / 298.257223563);
        c->geod_ready = 1;
    }
    return &ctx->geod_lazy;
}

void ko_context_destroy(ko_context *ctx) {
    if (!ctx) return;
    if (ctx->geos) GEOS_finish_r(ctx->geos);
    if (ctx->proj_lazy) proj_context_destroy(ctx->proj_lazy);
    koi_cache *caches[] = {&ctx->cameras, &ctx->xmp};
    for (size_t i = 0; i < sizeof caches / sizeof *caches; i++)
        if (caches[i]->p && caches[i]->free) caches[i]->free(caches[i]->p);
    koi_boundary_free(ctx->boundary);
    free(ctx->scratch);
    free(ctx);
}

const char *ko_errmsg(const ko_context *ctx) {
    return ctx ? ctx->errmsg : "no context";
}

const char *ko_version(void) {
    return KO_VERSION_STRING;
}

int ko_version_number(void) {
    return KO_VERSION_NUMBER;
}

ko_status ko_check_version(int major, int minor) {
    if (major != KO_VERSION_MAJOR || minor < 0 || minor > KO_VERSION_MINOR)
        return KO_ERR_UNSUPPORTED;
    /* 0.x: a minor release may change the ABI (DESIGN.md, "C API stability") */
    if (KO_VERSION_MAJOR == 0 && minor != KO_VERSION_MINOR) return KO_ERR_UNSUPPORTED;
    return KO_OK;
}

ko_status koi_check_size(ko_context *ctx, const char *type, size_t size, size_t min, size_t max) {
    if (size >= min && size <= max) return KO_OK;
    if (size == 0)
        return koi_error(ctx, KO_ERR_ARG,
                         "%s: size 0: the struct was not set up by %s_init() (its size field "
                         "must be sizeof(%s) of the keepout.h the caller was compiled with)",
                         type, type, type);
    char known[64];
    if (min == max)
        snprintf(known, sizeof known, "%zu bytes", max);
    else
        snprintf(known, sizeof known, "%zu to %zu bytes", min, max);
    return koi_error(ctx, KO_ERR_ARG,
                     "%s: size %zu: this keepout (%s) reads %s; the caller was compiled with "
                     "another keepout.h, or did not set it up with %s_init()",
                     type, size, KO_VERSION_STRING, known, type);
}

const char *ko_status_str(ko_status status) {
    switch (status) {
        case KO_OK:
            return "success";
        case KO_DONE:
            return "no more items";
        case KO_ERR_NOMEM:
            return "out of memory";
        case KO_ERR_ARG:
            return "invalid argument";
        case KO_ERR_IO:
            return "input/output error";
        case KO_ERR_FORMAT:
            return "malformed input";
        case KO_ERR_UNSUPPORTED:
            return "unsupported input or option";
        case KO_ERR_PROJ:
            return "coordinate transformation failed";
        case KO_ERR_GEOS:
            return "geometry operation failed";
        case KO_ERR_DB:
            return "site store error";
        case KO_ERR_LIMIT:
            return "size limit exceeded";
        case KO_ERR_NOT_FOUND:
            return "not found";
        case KO_ERR_INTERNAL:
            return "internal error";
        case KO_ERR_CANCELLED:
            return "cancelled";
    }
    return "unknown status";
}

ko_status koi_error(ko_context *ctx, ko_status status, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void koi_clear_error(ko_context *ctx) {
    if (ctx) ctx->errmsg[0] = '\0';
}

void ko_free(void *ptr) {
    free(ptr);
}

/* 1 when a test's koi_fault_alloc() asks this allocation to fail (context.h). */
static int fail_alloc(void) {
    return koi_fault_alloc && koi_fault_alloc();
}

void *koi_malloc(size_t size) {
    if (fail_alloc()) return NULL;
    return malloc(size ? size : 1);
}

void *koi_calloc(size_t n, size_t size) {
    if (fail_alloc()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *koi_realloc_array(void *ptr, size_t n, size_t size) {
    if (fail_alloc() || (size && n > SIZE_MAX / size)) return NULL;
    size_t bytes = n * size;
    return realloc(ptr, bytes ? bytes : 1);
}

#if defined(__linux__) && defined(MREMAP_MAYMOVE)
void *koi_big_grow(void *p, size_t old_size, size_t size) {
    if (fail_alloc()) return NULL;
    void *q =
        p ? mremap(p, old_size ? old_size : 1, size ? size : 1, MREMAP_MAYMOVE)
          : mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    /* the whole mapping, so that it stays one piece that mremap can grow */
    if (size >= (size_t)2 << 20) madvise(q, size, MADV_HUGEPAGE);
#endif
    return q;
}

void koi_big_free(void *p, size_t size) {
    if (p) munmap(p, size ? size : 1);
}
#else
void *koi_big_grow(void *p, size_t old_size, size_t size) {
    (void)old_size;
    if (fail_alloc()) return NULL;
    return realloc(p, size ? size : 1);
}

void koi_big_free(void *p, size_t size) {
    (void)size;
    free(p);
}
#endif

void koi_text_put(koi_text *t, const char *s, size_t n) {
    if (t->failed) return;
    size_t max = t->max ? t->max : SIZE_MAX / 2;
    if (t->len >= max || n >= max - t->len) {
        t->failed = KO_ERR_LIMIT;
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = koi_realloc_array(t->s, cap, 1);
        if (!p) {
            t->failed = KO_ERR_NOMEM;
            return;
        }
        t->s = p, t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void koi_text_puts(koi_text *t, const char *s) {
    koi_text_put(t, s, strlen(s));
}

char *koi_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = koi_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *koi_scratch(ko_context *ctx, size_t size) {
    if (size > ctx->scratch_cap) {
        unsigned char *p = koi_malloc(size);
        if (!p) return NULL;
        free(ctx->scratch);
        ctx->scratch = p;
        ctx->scratch_cap = size;
    }
    return ctx->scratch;
}
