/*
 * fuzz_zip.c — the ZIP layer (tq_zip_read, then tq_zip_inflate of every
 * deflated member, and the lenient tq_zip_names walk the sniffers use) on
 * hostile bytes, with no CRC check in the way. Accepted members must lie
 * inside the input, in order; inflating must give exactly usize bytes or a
 * named error. Seeds: fuzz/corpus/zip/ (the archives of fuzz/corpus/npz/ and
 * the zips of fuzz/corpus/format/).
 */
#include "io/zip.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count_name(void *ud, const uint8_t *name, size_t len) {
    (void)name;
    *(size_t *)ud += len;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    size_t names = 0;
    (void)tq_zip_names(copy, size, count_name, &names);
    tq_zip_member *ms = NULL;
    uint64_t n = 0;
    tq_error err;
    if (tq_zip_read(copy, size, "fuzz.zip", &ms, &n, &err) == TQ_OK) {
        for (uint64_t i = 0; i < n; i++) {
            const tq_zip_member *m = &ms[i];
            if (m->data_start > size || m->csize > size - m->data_start || m->end > size) abort();
            if (m->method != 8 || m->usize > (1u << 24)) continue;
            uint8_t *out = malloc(m->usize ? (size_t)m->usize : 1);
            if (!out) continue;
            tq_error e2;
            if (tq_zip_inflate(copy + m->data_start, m->csize, out, m->usize, "fuzz.zip", m->nm, &e2) != TQ_OK &&
                (e2.status == TQ_OK || !strstr(e2.msg, "fuzz.zip")))
                abort();
            free(out);
        }
        free(ms);
    } else if (err.status == TQ_OK || !strstr(err.msg, "fuzz.zip")) {
        abort();
    }
    free(copy);
    return 0;
}
