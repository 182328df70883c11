/* Progress of a long command on a terminal: "keepout CMD: DONE/TOTAL UNIT, RATE/s, ETA", redrawn
 * at most ten times a second (every record was a redraw: a terminal, or a screen session over
 * ssh, then set the pace of the run). Nothing at all when standard error is not a terminal or
 * the user asked for quiet. */
#ifndef KEEPOUT_CLI_PROGRESS_H
#define KEEPOUT_CLI_PROGRESS_H

#include <stddef.h>

typedef struct progress {
    const char *cmd, *unit; /* "check", "photos" */
    double total;           /* expected count, <= 0: unknown (no ETA) */
    size_t done;
    double t0, last; /* monotonic seconds: start, last redraw */
    int on, shown;   /* drawing at all; a line is on screen */
} progress;

/* Starts counting; on = 0 draws nothing (quiet, or not a terminal: see progress_wanted). */
void progress_start(progress *p, const char *cmd, const char *unit, double total, int on);

/* Whether progress should be drawn: standard error is a terminal and quiet is not set. */
int progress_wanted(int quiet);

/* Counts n more; redraws if 100 ms have passed since the last redraw. */
void progress_step(progress *p, size_t n);

/* Sets the count to done (a library callback that reports totals); redraws as above. */
void progress_set(progress *p, size_t done, double total);

/* Clears the line, so that a message can be printed; the next redraw puts it back. */
void progress_clear(progress *p);

/* The final count, then a new line. */
void progress_end(progress *p);

#endif
