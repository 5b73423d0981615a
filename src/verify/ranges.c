/*
 * ranges.c — the representable range of each block of a quantized tensor:
 * the smallest and largest values any code can decode to in that block,
 * computed from the stored side tensors. Used to count clipped weights.
 *
 *   linear-sym      [-qmax*s, qmax*s]
 *   linear-affine   [(0 - z)*s, (umax - z)*s]
 *   nf4             [-absmax, absmax]
 *   qins-log(-2b)   [-exp(lmax), exp(lmax)]     (the decoded magnitude of code 1)
 *   qins-rational   [-d, d], d = the decoded magnitude of codes 127/128 (the
 *                   midpoint of the top interval, see qins_rational.c)
 * Block order: tensor 1 block; channel one per row; group rows x groups.
 */
#include "codec/codec.h"
#include "trueq_verify.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float ldf(const void *base, int64_t i) {
    float f;
    memcpy(&f, (const uint8_t *)base + 4 * i, 4);
    return f;
}

int64_t tq_verify_block_count(const tq_qparams *p, int64_t rows, int64_t cols) {
    int64_t g;
    return p->gran == TQ_GRAN_TENSOR ? 1 : p->gran == TQ_GRAN_CHANNEL ? rows : rows * tq_groups_per_row(p, cols, &g);
}

tq_status tq_verify_block_ranges(const tq_tensor *t, int64_t rows, int64_t cols, float *lohi, tq_error *err) {
    const tq_qparams *p = &t->q;
    int64_t nb = tq_verify_block_count(p, rows, cols);
    for (int64_t b = 0; b < nb; b++) {
        double lo = 0, hi = 0;
        switch (p->codec) {
        case TQ_CODEC_LINEAR_SYM: {
            double s = ldf(t->aux[0], b), qm = (double)((1 << (p->bits - 1)) - 1);
            lo = -qm * s; hi = qm * s;
            break;
        }
        case TQ_CODEC_LINEAR_AFFINE: {
            double s = ldf(t->aux[0], b), z = ((const uint8_t *)t->aux[1])[b], um = (double)((1 << p->bits) - 1);
            lo = (0 - z) * s; hi = (um - z) * s;
            break;
        }
        case TQ_CODEC_NF4: {
            double s = ldf(t->aux[0], b);
            lo = -s; hi = s;
            break;
        }
        case TQ_CODEC_QINS_LOG: case TQ_CODEC_QINS_LOG_2B: {
            const void *rg = t->aux[p->codec == TQ_CODEC_QINS_LOG ? 0 : 1];
            hi = exp((double)ldf(rg, 2 * b + 1));
            lo = -hi;
            break;
        }
        case TQ_CODEC_QINS_RATIONAL: {
            /* decode codes 128 and 127 of this block through the codec itself */
            uint8_t codes[2] = {128, 127};
            float side[2] = {ldf(t->aux[0], 2 * b), ldf(t->aux[0], 2 * b + 1)}, out[2];
            tq_qparams q1 = *p;
            q1.gran = TQ_GRAN_TENSOR;
            const void *aux[TQ_MAX_AUX] = {side, NULL, NULL};
            tq_status st = tq_codec_impl_get(p->codec)->dequantize(&q1, 1, 2, codes, aux, out, err);
            if (st) return st;
            hi = out[0]; lo = out[1];
            break;
        }
        default:
            return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": no range rule for codec %d", t->name, (int)p->codec);
        }
        lohi[2 * b] = (float)lo;
        lohi[2 * b + 1] = (float)hi;
    }
    return TQ_OK;
}
