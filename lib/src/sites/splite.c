/* SpatiaLite on a store's connection, initialised on demand: a reader needs it only for WKT and
 * exports (queries read its blobs themselves, splite_blob.c), and its initialisation costs
 * 7-18 ms, most of a one-query process. */
#include <sqlite3.h>
#include <spatialite.h>

#include "core/core.h"
#include "sites/sites.h"

ko_status koi_sites_spatialite(ko_sites *s) {
    if (s->splite) return KO_OK;
    s->splite = spatialite_alloc_connection();
    if (!s->splite)
        return koi_error(s->ctx, KO_ERR_NOMEM, "SpatiaLite: cannot allocate a connection");
    spatialite_init_ex(s->db, s->splite, 0);
    return KO_OK;
}

void koi_sites_spatialite_free(ko_sites *s) {
    if (s->splite) spatialite_cleanup_ex(s->splite);
    s->splite = NULL;
}
