/* Private: the context (errors, allocation, caches) and the helpers every module uses. */
#ifndef KEEPOUT_CORE_CORE_H
#define KEEPOUT_CORE_CORE_H

#include <geodesic.h>
#include <geos_c.h>
#include <math.h>
#include <proj.h>
#include <stddef.h>
#include <stdint.h>

#include "keepout/keepout.h"

/* The context's innards, shared by the library's modules. */
#define KOI_ERRMSG_MAX 1024

/* What a module keeps in the context between calls (a parsed table, a parser): the module that
 * fills p sets free, and ko_context_destroy() calls free(p). The context knows neither what p
 * is nor the module: core sits below every module (docs/DESIGN.md, "Layout"). */
typedef struct koi_cache {
    void *p;
    void (*free)(void *p);
} koi_cache;

struct ko_context {
    GEOSContextHandle_t geos;
    /* PROJ's context and its geodesic solver on the WGS84 ellipsoid, set up on first use: a
     * command that needs no PROJ (`sites query`) never loads it. Read them only through
     * koi_ctx_proj() and koi_ctx_geod(). */
    PJ_CONTEXT *proj_lazy;
    struct geod_geodesic geod_lazy;
    int geod_ready;
    char errmsg[KOI_ERRMSG_MAX];
    char geos_msg[KOI_ERRMSG_MAX]; /* last message of the GEOS error handler */
    koi_cache cameras;             /* the camera table, parsed on first lookup (camera_table.c) */
    struct koi_boundary *boundary; /* the last camera's undistorted image boundary */
    unsigned char *scratch;        /* koi_scratch(): reused between files */
    size_t scratch_cap;
    koi_cache xmp;          /* the expat parser, kept between packets (xmp.c) */
    unsigned long xmp_salt; /* its hash salt, random per context */
};

/* footprint.c's: still freed by name until footprint/ takes a koi_cache too. */
void koi_boundary_free(struct koi_boundary *b);

/* The context's PROJ context, created on first use (the network off: keepout never touches
 * it); NULL when it cannot be created (out of memory), with the message set. A context is
 * used from one thread at a time (keepout.h), so the first use needs no lock. */
PJ_CONTEXT *koi_ctx_proj(ko_context *ctx);

/* The WGS84 geodesic (PROJ's geod_* solver), set up on first use. Logically const: a cache
 * filled once and never changed after, on the context's one thread. */
const struct geod_geodesic *koi_ctx_geod(const ko_context *ctx);

/* Records a formatted message in ctx (when ctx is not NULL) and returns status, so that
 * callers can write `return koi_error(ctx, KO_ERR_IO, "%s: cannot open", path);`. */
ko_status koi_error(ko_context *ctx, ko_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A buffer of at least `size` bytes owned by ctx, kept for the next call (the JPEG header
 * window): one module at a time uses it, never across a call into another module. NULL when
 * out of memory. */
void *koi_scratch(ko_context *ctx, size_t size);

/* Clears the message of the last failure. */
void koi_clear_error(ko_context *ctx);

/* Options structs (DESIGN.md, "C API stability"): their leading size field must be one the
 * library knows, between min (the struct's size in the first version that had it) and max
 * (its size now); else KO_ERR_ARG with a message naming the struct and its init function,
 * so a caller built against another keepout.h, or that never called the init function, is
 * refused rather than read wrong. ctx may be NULL (no message). */
ko_status koi_check_size(ko_context *ctx, const char *type, size_t size, size_t min, size_t max);
/* The check for the struct as this library defines it. No version has grown one yet; when a
 * field is appended, min becomes the struct's first size and every reader of the struct
 * copies only p->size bytes over its defaults (never *p whole). */
#define KOI_CHECK_OPTIONS(ctx, type, p) \
    koi_check_size((ctx), #type, (p)->size, sizeof(type), sizeof(type))

/* Checked allocation: every allocation in the library goes through these. They return NULL
 * on failure (or on overflow of n * size) and never abort. */

/* Allocation failure on demand, for tests only (tests/fault/): a program that defines this
 * function has it called before every koi_malloc, koi_calloc and koi_realloc_array (and so
 * koi_strdup and koi_scratch), and a non-zero return fails that allocation. Everywhere else it
 * is an undefined weak symbol, which the linker resolves to NULL: the library keeps no state
 * for it, and an allocation pays one compare with a link-time constant. */
int koi_fault_alloc(void) __attribute__((weak));

void *koi_malloc(size_t size);
void *koi_calloc(size_t n, size_t size);
void *koi_realloc_array(void *ptr, size_t n, size_t size);
char *koi_strdup(const char *s);

/* Arrays of GBs that grow (an index build's rows at 10^7 sites): anonymous mappings in 2 MiB
 * pages grown by mremap, which moves page tables, not bytes. realloc copies instead once the
 * huge-page advice on a block's page-aligned interior has split its mapping (glibc grows a
 * mapped block in place only while it is one mapping; 10^7 sites: 1.6 M page faults, a fifth
 * of the build in realloc's memcpy). p NULL allocates. The caller keeps the
 * size: koi_big_free needs the size last asked for. Elsewhere than Linux: realloc. */
void *koi_big_grow(void *p, size_t old_size, size_t size);
void koi_big_free(void *p, size_t size);

/* Why a file of this st_mode is not opened (static text), or NULL for a regular file or a
 * directory (path_check.c). */
const char *koi_not_regular(unsigned mode);

/* SHA-256 (FIPS 180-4) for audit manifests. GDAL has one but does not install its
 * header, and pulling in OpenSSL for one digest is not worth a dependency. */
typedef struct koi_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} koi_sha256;

void koi_sha256_init(koi_sha256 *s);
void koi_sha256_update(koi_sha256 *s, const void *data, size_t n);
void koi_sha256_final(koi_sha256 *s, uint8_t digest[32]);
/* The SHA-256 of n bytes at p as 64 lowercase hex digits and a NUL. */
void koi_sha256_hex(const void *p, size_t n, char hex[65]);

/* A growable NUL-terminated text: zero-initialise it, set max (bytes; 0: no limit but memory).
 * The first failure sticks in `failed` (KO_ERR_NOMEM, or KO_ERR_LIMIT where the text would
 * reach max bytes) and later appends do nothing; s is NULL until the first append. The caller
 * frees s. */
typedef struct koi_text {
    char *s;
    size_t len, cap, max;
    ko_status failed;
} koi_text;
void koi_text_put(koi_text *t, const char *s, size_t n);
void koi_text_puts(koi_text *t, const char *s);

/* The bundled sample store: beside the installed module this code is linked into
 * (share/keepout/sites.sqlite), else the build tree's for a module in the build tree, else
 * where `cmake --install` puts it. Static, valid for the process's life. */
const char *koi_sample_sites(void);

#endif
