#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Redraws per second at most. */
#define PROGRESS_HZ 10.0

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int progress_wanted(int quiet) {
    return !quiet && isatty(STDERR_FILENO);
}

void progress_start(progress *p, const char *cmd, const char *unit, double total, int on) {
    *p = (progress){.cmd = cmd, .unit = unit, .total = total, .on = on};
    p->t0 = p->last = now_s();
}

static void draw(progress *p, double t) {
    double dt = t - p->t0, rate = dt > 0 ? p->done / dt : 0;
    /* \033[K: erase what a longer earlier line left */
    fprintf(stderr, "\rkeepout %s: %zu", p->cmd, p->done);
    if (p->total >= p->done && p->total > 0) fprintf(stderr, "/%.0f", p->total);
    fprintf(stderr, " %s", p->unit);
    if (dt >= 0.5) fprintf(stderr, ", %.0f/s", rate);
    if (dt >= 0.5 && rate > 0 && p->total > p->done)
        fprintf(stderr, ", ETA %.0f s", (p->total - p->done) / rate);
    fputs("\033[K", stderr);
    fflush(stderr);
    p->last = t;
    p->shown = 1;
}

static void maybe_draw(progress *p) {
    if (!p->on) return;
    double t = now_s();
    if (!p->shown || t - p->last >= 1.0 / PROGRESS_HZ) draw(p, t);
}

void progress_step(progress *p, size_t n) {
    p->done += n;
    maybe_draw(p);
}

void progress_set(progress *p, size_t done, double total) {
    p->done = done;
    p->total = total;
    maybe_draw(p);
}

void progress_clear(progress *p) {
    if (!p->on || !p->shown) return;
    fputs("\r\033[K", stderr);
    p->shown = 0;
}

void progress_end(progress *p) {
    if (!p->on) return;
    draw(p, now_s());
    fputc('\n', stderr);
    p->shown = 0;
    p->on = 0;
}
