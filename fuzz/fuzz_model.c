/*
 * fuzz_model.c — the model loader on hostile input: safetensors parsing, trueq
 * descriptors, grouping codes with side tensors, dequantizing every tensor, and
 * the ledger (with fake-quant scans). Any crash, leak or sanitizer report is a bug.
 * libFuzzer: clang -fsanitize=fuzzer,address -Iinclude -Isrc fuzz/fuzz_model.c build/libtrueq.a ...
 */
#include "trueq.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/tq-fuzz-model-%ld.safetensors", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    tq_error err;
    tq_model *m = tq_model_open(path, &err);
    if (m) {
        for (int64_t i = 0; i < tq_model_count(m); i++) {
            const tq_tensor *t = tq_model_tensor(m, i);
            if (t->numel > (1 << 22)) continue;
            float *out = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
            if (out) { tq_model_tensor_f32(m, t, out, &err); free(out); }
        }
        tq_ledger *l = tq_ledger_create(m, &err);
        tq_ledger_free(l);
        tq_model_close(m);
    }
    unlink(path);
    return 0;
}
