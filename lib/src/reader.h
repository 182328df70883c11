/* Private: the reader dispatch. Each input kind implements next/close over its own state. */
#ifndef KEEPOUT_READER_H
#define KEEPOUT_READER_H

#include "keepout/keepout.h"

typedef struct koi_reader_ops {
    const char *kind; /* "csv", "jpeg", "srt", "dir" */
    ko_status (*next)(ko_reader *r, ko_shot *shot);
    void (*close)(void *impl);
} koi_reader_ops;

struct ko_reader {
    ko_context *ctx;
    const koi_reader_ops *ops;
    void *impl;
    ko_reader_options opts;
    char *path;
};

/* Each opener fills r->ops and r->impl, or returns an error with a message naming the path. */
ko_status koi_csv_open(ko_reader *r);
ko_status koi_image_open(ko_reader *r);
ko_status koi_dir_open(ko_reader *r);

/* ko_reader_open() for the readers themselves (a directory opens one reader per file). */
ko_status koi_reader_open_file(ko_context *ctx, const char *path, const ko_reader_options *opts,
                               ko_reader **out);

/* For a photo reader: the camera's EXIF Make and Model (borrowed, "" if absent) and
 * DateTimeOriginal in seconds on the camera's clock (NaN if absent), which tell the photos of
 * one flight apart. Returns 0 for other readers. */
/* ko_pose_validate(), and a height <= 0 refused unless opts.below_takeoff. */
ko_status koi_reader_validate(const ko_reader *r, const ko_camera *cam, const ko_pose *p);

/* Why a file of this st_mode is not opened (static text), or NULL for a regular file or a
 * directory. */
const char *koi_not_regular(unsigned mode);

int koi_image_flight_key(const ko_reader *r, const char **make, const char **model, double *t_s);

/* Growable list of pass-through key/value strings, reused between shots. */
typedef struct koi_strpairs {
    size_t n, cap;
    char **keys;
    char **values;
} koi_strpairs;

ko_status koi_strpairs_add(koi_strpairs *sp, const char *key, const char *value);
void koi_strpairs_clear(koi_strpairs *sp);
void koi_strpairs_free(koi_strpairs *sp);

#endif
