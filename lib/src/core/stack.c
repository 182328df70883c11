/* The context's parts that need the rest of the stack: GDAL's drivers, the PROJ context, PROJ's
 * geodesic solver, and the caches of the metadata readers. */
#include <gdal.h>
#include <math.h>
#include <threads.h>

#include "core/core.h"
#include "meta/meta.h"

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

ko_status koi_context_init_stack(ko_context *ctx) {
    ctx->proj = proj_context_create();
    if (!ctx->proj) return KO_ERR_NOMEM;
    geod_init(&ctx->wgs84, 6378137.0, 1.0 / 298.257223563);
    /* keepout never touches the network: the site store and the flight paths are sensitive. */
    proj_context_set_enable_network(ctx->proj, 0);
    return KO_OK;
}

void koi_context_free_stack(ko_context *ctx) {
    if (ctx->proj) proj_context_destroy(ctx->proj);
    koi_camera_table_free(ctx->cameras);
    koi_boundary_free(ctx->boundary);
    koi_xmp_free(ctx->xmp_parser);
}
