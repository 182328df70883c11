/* The query-only build of the library (keepout_query): the context without GDAL and PROJ, and
 * stores without SpatiaLite. It opens stores read-only and queries them (on disk or with the
 * packed index); anything that would need SpatiaLite says so. */
#include "core/core.h"
#include "sites/sites.h"

ko_status ko_global_init(void) {
    return KO_OK;
}

ko_status koi_context_init_stack(ko_context *ctx) {
    (void)ctx;
    return KO_OK;
}

void koi_context_free_stack(ko_context *ctx) {
    (void)ctx;
}

ko_status koi_sites_spatialite(ko_sites *s) {
    return koi_error(s->ctx, KO_ERR_UNSUPPORTED,
                     "this part of keepout reads site stores only (no SpatiaLite)");
}

void koi_sites_spatialite_free(ko_sites *s) {
    (void)s;
}
