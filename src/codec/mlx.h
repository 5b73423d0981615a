/*
 * mlx.h — the MLX affine codec's helpers that MLX readers and writers share
 * (internal; the codec row itself is tq_codec_mlx in table.c).
 */
#ifndef TQ_CODEC_MLX_H
#define TQ_CODEC_MLX_H

#include "trueq.h"
#include <stdint.h>

/** Scale and bias of one group of g float32 values at `bits`, as mx.quantize
 *  computes them in float32 (before rounding to the weight's dtype). */
void  tq_mlx_group_params(const float *w, int64_t g, int bits, float *scale, float *bias);
/** v rounded to dt (BF16 or F16, nearest even) as MLX stores scales and biases
 *  of a weight of that dtype; F32 returns v. */
float tq_mlx_round_side(float v, tq_dtype dt);

/** The mlx codec row whose side tensors have dtype dt (F32: mlx, F16: mlx-f16,
 *  BF16: mlx-bf16), TQ_CODEC_NONE for any other dtype. */
tq_codec_id tq_mlx_codec_for_side(tq_dtype dt);

#endif
