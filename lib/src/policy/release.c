/* The one release policy: whether an image is released, redacted or refused. Every face calls
 * this; none decides on its own, so a face cannot drift into releasing what another refuses. */
#include <stddef.h>

#include "keepout/keepout.h"

void ko_release_policy_init(ko_release_policy *p) {
    p->size = sizeof *p;
    p->mode = KO_MODE_STRICT;
    p->unknown_is = KO_UNKNOWN;
}

const char *ko_decision_str(ko_decision d) {
    switch (d) {
        case KO_RELEASE:
            return "release";
        case KO_REDACT:
            return "redact";
        case KO_REFUSE:
            return "refuse";
    }
    return "refuse";
}

static ko_decision say(const char **why, const char *text, ko_decision d) {
    if (why) *why = text;
    return d;
}

ko_decision ko_release_decide_verdict(const ko_release_policy *p, int checked, ko_verdict v,
                                      const char **why) {
    ko_release_policy dflt;
    if (!p) {
        ko_release_policy_init(&dflt);
        p = &dflt;
    }
    /* A policy the library cannot read (never initialised, or another keepout.h's) decides
     * nothing: refused, whatever the verdict. */
    if (p->size != sizeof *p)
        return say(why,
                   "refused: the release policy's size field is wrong (ko_release_policy not set "
                   "up by ko_release_policy_init(), or from another keepout.h)",
                   KO_REFUSE);
    /* Nothing was checked (no store, unreadable input): no mode may let it through. */
    if (!checked) return say(why, "not checked: no verdict exists for it", KO_REFUSE);
    if (v != KO_CLEAR && v != KO_FLAGGED && v != KO_UNKNOWN)
        return say(why, "not checked: the verdict is not one keepout gives", KO_REFUSE);
    switch (p->mode) {
        case KO_MODE_TAG:
            return say(why, "tag mode: checked, passed on with its verdict", KO_RELEASE);
        case KO_MODE_REDACT:
            if (v == KO_CLEAR) return say(why, "clear: no protected site resolved", KO_RELEASE);
            if (v == KO_FLAGGED)
                return say(why, "flagged: the pixels showing protected sites are blanked",
                           KO_REDACT);
            return say(why, "unknown: no reliable footprint, so nothing can be redacted",
                       KO_REFUSE);
        case KO_MODE_STRICT:
            if (v == KO_CLEAR) return say(why, "clear: no protected site resolved", KO_RELEASE);
            if (v == KO_FLAGGED)
                return say(why, "flagged: a protected site is in view and resolved", KO_REFUSE);
            if (p->unknown_is == KO_CLEAR)
                return say(why, "unknown, counted as clear by the caller's policy", KO_RELEASE);
            return say(why, "unknown: no reliable footprint", KO_REFUSE);
    }
    return say(why, "not checked: unknown release mode", KO_REFUSE);
}

ko_decision ko_release_decide(const ko_release_policy *p, const ko_result *r, const char **why) {
    return ko_release_decide_verdict(p, ko_result_checked(r), r ? ko_result_verdict(r) : KO_UNKNOWN,
                                     why);
}

ko_decision ko_release_decide_batch(const ko_release_policy *p, size_t n_clear, size_t n_flagged,
                                    size_t n_unknown, size_t n_not_checked, const char **why) {
    const struct {
        size_t n;
        int checked;
        ko_verdict v;
    } parts[] = {{n_not_checked, 0, KO_UNKNOWN},
                 {n_flagged, 1, KO_FLAGGED},
                 {n_unknown, 1, KO_UNKNOWN},
                 {n_clear, 1, KO_CLEAR}};
    ko_decision worst = KO_RELEASE;
    const char *worst_why = NULL;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].n) continue;
        const char *w = NULL;
        ko_decision d = ko_release_decide_verdict(p, parts[i].checked, parts[i].v, &w);
        if (!worst_why || d > worst) worst = d, worst_why = w;
    }
    if (!worst_why) return say(why, "nothing was checked", KO_REFUSE);
    return say(why, worst_why, worst);
}
