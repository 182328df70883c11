/* Placeholder until the QGC WPL reader lands (route_wpl.c replaces this file). */
#include "context.h"
#include "route.h"

ko_status koi_route_read_wpl(ko_route *rt) {
    return koi_error(rt->ctx, KO_ERR_UNSUPPORTED, "%s: QGC WPL missions are not read yet",
                     rt->path);
}
