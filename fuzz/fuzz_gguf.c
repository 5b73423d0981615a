/*
 * fuzz_gguf.c — the GGUF reader on hostile bytes (tq_gguf_parse, then
 * dequantization of every tensor trueq can decode, then tq_gguf_free). An
 * accepted input must describe tensors that lie inside the input, aligned,
 * contiguous in info order, with byte sizes that match type x shape, and a
 * byte ledger that adds up to the input size; a rejected one must say so
 * with a message naming the file and leave the description empty. Any crash,
 * leak, sanitizer report or violated invariant is a bug.
 * Seeds: fuzz/corpus/gguf/ (tests/gen/gen_gguf_corpus.py).
 * libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc fuzz/fuzz_gguf.c \
 *     src/io/gguf.c src/ggml/{types,legacy,kquants_dequant,kquants_quant,ternary}.c \
 *     src/core/{dtype,error,fs,strbuf}.c -lm -o fz
 *   ./fz -max_len=4096 fuzz/corpus/gguf
 */
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_view(const uint8_t *img, size_t size, const void *p, uint64_t len) {
    const uint8_t *q = p;
    if (len && (q < img || q > img + size || len > (uint64_t)(img + size - q))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);   /* ASan sees reads past the input */
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    tq_gguf g;
    tq_error err;
    if (tq_gguf_parse(copy, size, "fuzz.gguf", &g, &err) == TQ_OK) {
        uint64_t a = g.alignment, expect = 0;
        if (!a || (a & (a - 1)) || g.data_start % a) abort();
        if (g.header_bytes + g.kv_bytes + g.info_bytes + g.pad_info_bytes + g.tensor_bytes + g.pad_tensor_bytes +
            g.trailing_bytes != size) abort();
        for (int64_t i = 0; i < g.n_kv; i++) {
            const tq_gguf_kv *kv = &g.kv[i];
            if (!kv->key[0] || tq_gguf_find_kv(&g, kv->key) != i) abort();
            if (kv->v.type == TQ_GGUF_STRING) check_view(copy, size, kv->v.str.s, kv->v.str.len);
            if (kv->v.type == TQ_GGUF_ARRAY) {
                if (kv->v.elem_type == TQ_GGUF_ARRAY) abort();
                if (kv->v.elem_type == TQ_GGUF_STRING)
                    for (uint64_t k = 0; k < kv->v.count; k++) check_view(copy, size, kv->v.strs[k].s, kv->v.strs[k].len);
                else
                    check_view(copy, size, kv->v.elems, kv->v.count * tq_gguf_vtype_size(kv->v.elem_type));
            }
        }
        uint64_t budget = 1u << 22;   /* floats decoded per input */
        for (int64_t i = 0; i < g.n_tensors; i++) {
            const tq_gguf_tensor *t = &g.tensors[i];
            const tq_ggml_type_info *ti = tq_ggml_type(t->ggml_type);
            uint64_t nb;
            if (!ti || tq_ggml_row_bytes(t->ggml_type, t->numel, t->name, &nb, &err) || nb != t->nbytes) abort();
            if (t->rel_offset != expect || t->offset != g.data_start + t->rel_offset || t->offset + t->nbytes > size ||
                t->data != copy + t->offset || tq_gguf_find_tensor(&g, t->name) != i) abort();
            expect += (t->nbytes + a - 1) / a * a;
            if (ti->dequantize_row && (uint64_t)t->numel <= budget) {
                budget -= (uint64_t)t->numel;
                float *y = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
                if (y && tq_gguf_tensor_to_f32(&g, i, y, &err) != TQ_OK) abort();
                free(y);
            }
        }
    } else if (err.status == TQ_OK || !err.msg[0] || !strstr(err.msg, "fuzz.gguf") || g.kv || g.tensors) {
        abort();
    }
    tq_gguf_free(&g);
    free(copy);
    return 0;
}
