/* Placeholder until the Litchi reader lands (route_litchi.c replaces this file). */
#include "context.h"
#include "route.h"

ko_status koi_route_read_litchi(ko_route *rt) {
    return koi_error(rt->ctx, KO_ERR_UNSUPPORTED, "%s: Litchi missions are not read yet", rt->path);
}
