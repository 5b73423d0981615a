/*
 * fuzz_npy.c — the .npy member parser alone (tq_npy_parse) on hostile bytes.
 * Through fuzz_npz a mutated member rarely gets past the zip CRC check, so the
 * header dict parser (descr, fortran_order, shape) is fuzzed directly here.
 * An accepted member must have its data exactly dtype x shape bytes after
 * the header, inside the input; a refusal names the file and the member.
 * Seeds: fuzz/corpus/npy/ (the .npy members of fuzz/corpus/npz/).
 */
#include "io/npy.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);   /* exact size, so ASan sees over-reads */
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    tq_dtype dt;
    int ndim = -1;
    int64_t shape[TQ_MAX_DIMS];
    uint64_t hdr = 0;
    tq_error err;
    if (tq_npy_parse(copy, size, "fuzz.npz", "w.npy", &dt, &ndim, shape, &hdr, &err) == TQ_OK) {
        if (ndim < 0 || ndim > TQ_MAX_DIMS || hdr > size || size - hdr != tq_nbytes(dt, ndim, shape)) abort();
    } else if (err.status == TQ_OK || !strstr(err.msg, "fuzz.npz") || !strstr(err.msg, "w.npy")) {
        abort();   /* every failure names the file and the member */
    }
    free(copy);
    return 0;
}
