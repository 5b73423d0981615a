/*
 * ranges.c — the representable range of each block of a quantized tensor:
 * the smallest and largest values any code can decode to in that block,
 * computed from the stored side tensors by the codec's own row of the table
 * (its block_range trait, see each src/codec/<name>.c), or, for codecs whose
 * scales live inside their blocks (ggml), from the codes' own blocks
 * (block_range_codes). Used to count
 * clipped weights. Block order: tensor 1 block; channel one per row; group
 * rows x groups.
 */
#include "codec/codec.h"
#include "trueq_verify.h"

int64_t tq_verify_block_count(const tq_qparams *p, int64_t rows, int64_t cols) {
    return tq_block_count(p, rows, cols);
}

tq_status tq_verify_block_ranges(const tq_tensor *t, int64_t rows, int64_t cols, float *lohi, tq_error *err) {
    const tq_qparams *p = &t->q;
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    if (!c) return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": no range rule for codec %d", t->name, (int)p->codec);
    if (!c->block_range && !t->data) return tq_err(err, TQ_E_ARG, "tensor \"%s\": no codes to read the ranges from", t->name);
    int64_t nb = tq_block_count(p, rows, cols);
    for (int64_t b = 0; b < nb; b++) {
        double lo = 0, hi = 0;
        tq_status st = c->block_range ? c->block_range(p, t->aux, b, &lo, &hi, err)
                                      : c->block_range_codes(p, rows, cols, t->data, b, &lo, &hi, err);
        if (st) return st;
        lohi[2 * b] = (float)lo;
        lohi[2 * b + 1] = (float)hi;
    }
    return TQ_OK;
}
