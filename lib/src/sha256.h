/* Private: SHA-256 (FIPS 180-4) for audit manifests. GDAL has one but does not install its
 * header, and pulling in OpenSSL for one digest is not worth a dependency. */
#ifndef KEEPOUT_SHA256_H
#define KEEPOUT_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct koi_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} koi_sha256;

void koi_sha256_init(koi_sha256 *s);
void koi_sha256_update(koi_sha256 *s, const void *data, size_t n);
void koi_sha256_final(koi_sha256 *s, uint8_t digest[32]);

#endif
