/* Placeholder until the OGR line reader lands (route_ogr.c replaces this file). */
#include "context.h"
#include "route.h"

ko_status koi_route_read_ogr(ko_route *rt) {
    return koi_error(rt->ctx, KO_ERR_UNSUPPORTED, "%s: OGR line missions are not read yet",
                     rt->path);
}
