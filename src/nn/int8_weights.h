/*
 * int8_weights.h — what the decoder and the encoder share to keep linear-sym
 * 8-bit weights as int8 in memory (internal to src/nn/).
 *
 * A usable tensor holds I8 codes q [rows, cols] and one F32 side tensor of
 * scales (per tensor, per row, or per group of a row). Its weights are
 * w = q * scale, exactly the values tq_dequantize gives, so a product that
 * decodes rows with tq_nn_decode_i8 gives the bytes the float32 path gives.
 */
#ifndef TQ_NN_INT8_WEIGHTS_H
#define TQ_NN_INT8_WEIGHTS_H
#include "trueq.h"
#include <stdint.h>

/** 1 when t can be held as stored: linear-sym 8-bit codes with F32 scales. */
static inline int tq_nn_int8_usable(const tq_tensor *t) {
    return t && t->quantized && !t->simulated && t->q.codec == TQ_CODEC_LINEAR_SYM && t->q.bits == 8 &&
           t->dtype == TQ_DTYPE_I8 && t->ndim == 2 && t->n_aux == 1 && t->aux_desc[0].dtype == TQ_DTYPE_F32;
}

/** o[i] = q[i] * sc for n values; blocks of 16 so the compiler vectorizes at -O2. */
static inline void tq_nn_decode_i8(float *restrict o, const int8_t *restrict q, float sc, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) o[i + k] = (float)q[i + k] * sc;
    for (; i < n; i++) o[i] = (float)q[i] * sc;
}
#endif
