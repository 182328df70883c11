/* Placeholders until each mission reader lands (one file per format replaces its stub). */
#include "context.h"
#include "route.h"

#define KOI_STUB(fn, what)                                                                \
    ko_status fn(ko_route *rt) {                                                          \
        return koi_error(rt->ctx, KO_ERR_UNSUPPORTED, "%s: %s missions are not read yet", \
                         rt->path, what);                                                 \
    }
KOI_STUB(koi_route_read_wpml, "DJI WPML")
KOI_STUB(koi_route_read_litchi, "Litchi")
KOI_STUB(koi_route_read_plan, "QGroundControl .plan")
KOI_STUB(koi_route_read_wpl, "QGC WPL")
KOI_STUB(koi_route_read_ogr, "OGR line")
