/*
 * fuzz_format.c — detection by content on hostile bytes (tq_format_sniff over
 * every row's sniff, with and without a file name), then the chosen row's
 * parser when it has one. The sniff must name a valid row or
 * TQ_FORMAT_UNKNOWN, read nothing past the input, and agree with itself; an
 * accepted container must lie inside the input. Any crash, leak, sanitizer
 * report or violated invariant is a bug.
 * Seeds: fuzz/corpus/format/ (tests/gen/gen_format_corpus.py).
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc fuzz/fuzz_format.c build/libtrueq.a ...
 */
#include "io/format.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);   /* exact size, so ASan sees over-reads */
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    tq_format f = tq_format_sniff(copy, size, NULL);
    if ((int)f < 0 || f >= TQ_FORMAT_COUNT) abort();
    if (tq_format_sniff(copy, size, NULL) != f) abort();            /* deterministic */
    tq_format g = tq_format_sniff(copy, size, "fuzz.safetensors");  /* a name only breaks ties */
    if (f != TQ_FORMAT_UNKNOWN && tq_format_by_id(f) == NULL) abort();
    if (g == TQ_FORMAT_UNKNOWN) abort();   /* a readable row's name always yields a parser */
    const tq_format_impl *r = tq_format_impl_get(g);
    if (r && r->parse) {
        tq_container c;
        tq_error err;
        if (r->parse(copy, size, NULL, "fuzz.safetensors", &c, &err) == TQ_OK) {
            for (int64_t i = 0; i < c.n; i++) {
                const tq_entry *e = &c.entries[i];
                if (!e->owned && (e->offset > size || e->nbytes > size - e->offset)) abort();
                volatile uint8_t x = 0;
                for (uint64_t k = 0; k < e->nbytes; k++) x ^= ((const uint8_t *)e->data)[k];
                (void)x;
            }
            tq_container_free(&c);
        } else if (err.status == TQ_OK || !strstr(err.msg, "fuzz.safetensors")) {
            abort();   /* every failure names the file */
        }
    }
    free(copy);
    return 0;
}
