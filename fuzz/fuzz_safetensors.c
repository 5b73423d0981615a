/*
 * fuzz_safetensors.c — the safetensors header parser on hostile bytes
 * (tq_safetensors_parse, then tq_container_free). An accepted input must
 * describe entries that lie inside the input, contiguous from the data start
 * to its end, with byte sizes that match dtype x shape; any crash, leak,
 * sanitizer report or violated invariant is a bug.
 * Seeds: fuzz/corpus/safetensors/ (tests/gen/gen_safetensors_corpus.py).
 * libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc fuzz/fuzz_safetensors.c \
 *     src/io/safetensors.c src/io/container.c src/core/{dtype,error,fs,strbuf}.c -lcjson -lz -o fz
 *   ./fz -max_len=4096 fuzz/corpus/safetensors
 */
#include "io/safetensors.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a private copy, so reads past the input are caught by ASan even when the
     * caller's buffer is larger */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    tq_container c;
    tq_error err;
    if (tq_safetensors_parse(copy, size, "fuzz.safetensors", &c, &err) == TQ_OK) {
        uint64_t pos = c.header_bytes + c.padding_bytes, sum = 0;
        for (int64_t i = 0; i < c.n; i++) {
            const tq_entry *e = &c.entries[i];
            if (e->offset < pos || e->offset + e->nbytes > size || e->nbytes != e->stored ||
                e->nbytes != tq_nbytes(e->dtype, e->ndim, e->shape) || (const uint8_t *)e->data != copy + e->offset)
                abort();
            sum += e->nbytes;
            volatile uint8_t x = 0;   /* touch the bytes */
            for (uint64_t k = 0; k < e->nbytes; k++) x ^= ((const uint8_t *)e->data)[k];
            (void)x;
        }
        if (pos + sum != size) abort();
        for (int i = 0; i < c.n_meta; i++)
            if (!c.meta_keys[i] || !c.meta_vals[i] || tq_container_meta(&c, c.meta_keys[i]) != c.meta_vals[i]) abort();
    } else if (err.status == TQ_OK || !err.msg[0] || !strstr(err.msg, "fuzz.safetensors")) {
        abort();   /* every failure names the file */
    }
    tq_container_free(&c);
    free(copy);
    return 0;
}
