/*
 * fuzz_npz.c — libFuzzer target for the .npz reader (src/io/npz_read.c on zip.c and npy.c).
 * Parses the input as a whole .npz image; on success touches every entry's
 * bytes (so a wrong pointer or length shows up under ASan) and frees.
 * Seed corpus: fuzz/corpus/npz/ (regenerate with tests/py/gen_npz_corpus.py).
 * Real fuzzing: clang -fsanitize=fuzzer,address -Isrc -Iinclude fuzz/fuzz_npz.c libtrueq.a ...
 */
#include "io/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tq_container c;
    tq_error err;
    if (tq_npz_parse(data, size, "fuzz.npz", &c, &err) != TQ_OK) return 0;
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < c.n; i++) {
        const uint8_t *p = c.entries[i].data;
        for (uint64_t k = 0; k < c.entries[i].nbytes; k++) sink ^= p[k];
    }
    for (int i = 0; i < c.n_meta; i++) sink ^= (uint8_t)c.meta_vals[i][0];
    (void)sink;
    tq_container_free(&c);
    return 0;
}
