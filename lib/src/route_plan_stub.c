/* Placeholder until the QGroundControl .plan reader lands (route_plan.c replaces this file). */
#include "context.h"
#include "route.h"

ko_status koi_route_read_plan(ko_route *rt) {
    return koi_error(rt->ctx, KO_ERR_UNSUPPORTED,
                     "%s: QGroundControl .plan missions are not read yet", rt->path);
}
