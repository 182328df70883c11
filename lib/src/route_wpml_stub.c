/* Placeholder until the DJI WPML reader lands (route_wpml.c replaces this file). */
#include "context.h"
#include "route.h"

ko_status koi_route_read_wpml(ko_route *rt) {
    return koi_error(rt->ctx, KO_ERR_UNSUPPORTED, "%s: DJI WPML missions are not read yet",
                     rt->path);
}
