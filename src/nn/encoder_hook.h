/*
 * encoder_hook.h — internal access to an encoder for calibration (src/quant/):
 * an observer the forward pass hands every linear layer's input to, and the
 * float32 weights it runs, to be replaced in place by their quantized values
 * (GPTQ quantizes layer L on inputs produced by the already-quantized layers
 * before it). Not part of the public API.
 *
 * Cost when no observer is set: one pointer test per projection.
 */
#ifndef TQ_NN_ENCODER_HOOK_H
#define TQ_NN_ENCODER_HOOK_H

#include "trueq_nn.h"
#include <stdint.h>

/** The inputs a layer's projections read (one observer call each). */
typedef enum tq_enc_slot {
    TQ_ENC_IN_QKV = 0,   /* the layer's input x [T, dim]: q, k and v read it   */
    TQ_ENC_IN_O,         /* attention context [T, dim]: the output dense        */
    TQ_ENC_IN_FFN1,      /* x after the attention LayerNorm [T, dim]: FFN in    */
    TQ_ENC_IN_FFN2,      /* activated FFN hidden [T, hidden]: FFN out           */
    TQ_ENC_SLOTS
} tq_enc_slot;

/** The matrices of a layer (q, k, v share TQ_ENC_IN_QKV). */
typedef enum tq_enc_mat {
    TQ_ENC_W_Q = 0, TQ_ENC_W_K, TQ_ENC_W_V, TQ_ENC_W_O, TQ_ENC_W_FFN1, TQ_ENC_W_FFN2, TQ_ENC_MATS
} tq_enc_mat;

/** The input slot matrix m reads. */
tq_enc_slot tq_enc_mat_slot(tq_enc_mat m);

/**
 * Called by tq_enc_forward with the rows x[T, K] (row-major, contiguous) a
 * projection of `layer` is about to multiply, and the batch mask [T] (1 =
 * a real token; NULL: all real). Padding rows must be ignored by the
 * observer. Called on the forward's own thread, in layer order.
 */
typedef void (*tq_enc_observer_fn)(void *ctx, int layer, tq_enc_slot slot, const float *x, int T, int K,
                                   const int32_t *mask);

/** Set (fn non-NULL) or clear the observer. Not thread-safe with a forward
 *  pass running on the same encoder. */
void tq_enc_set_observer(tq_enc *e, tq_enc_observer_fn fn, void *ctx);

/**
 * The float32 weight [*rows, *cols] of matrix m of `layer` (q, k and v are
 * row ranges of the fused matrix), and its bias [*rows] in *bias (may be
 * NULL). Writable: the next forward pass uses what is written there.
 * A matrix the forward had packed for its AVX-512 product (kern.h
 * tq_gemm_f32_pack) is first unpacked in place to row-major; that matrix then
 * runs through sgemm (same values, not the same bytes as the packed path).
 * @return the weights, or NULL when the layer is out of range, the matrix is
 * held as stored codes (keep_quantized), or memory to unpack it is short.
 */
float *tq_enc_weight(tq_enc *e, int layer, tq_enc_mat m, int64_t *rows, int64_t *cols, float **bias);

/** The model tensor name of matrix m of `layer` (prefix included) into buf.
 *  @return 0, or -1 when the family has no such matrix. */
int tq_enc_weight_name(const tq_enc *e, const tq_model *model, int layer, tq_enc_mat m, char *buf, size_t cap);

/**
 * The float32 weights of a tensor outside the layers, by its model name:
 * word, position and token-type embeddings, pooler, pre_classifier and
 * classifier weights. Writable as tq_enc_weight.
 * @return them ([*rows, *cols]), or NULL when name is none of these or is
 * held as stored codes.
 */
float *tq_enc_extra(tq_enc *e, const tq_model *model, const char *name, int64_t *rows, int64_t *cols);

#endif
