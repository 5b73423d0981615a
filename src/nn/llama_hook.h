/*
 * llama_hook.h — internal access to a decoder for calibration (src/quant/,
 * calibrate_dec.c): one block of the decoder run on its own over whole
 * sequences, handing out the input of every projection, and the float32
 * weights and RMSNorm gains it runs, writable in place (GPTQ quantizes layer
 * L on inputs produced by the already-quantized layers before it; AWQ folds
 * scales into norms and matrices). Not part of the public API, and nothing
 * of the token-by-token or batched forward pass changes: this is a separate
 * runner over the same functions (RMSNorm, RoPE table, attention, SwiGLU).
 */
#ifndef TQ_NN_LLAMA_HOOK_H
#define TQ_NN_LLAMA_HOOK_H

#include "trueq_llama.h"
#include <stdint.h>

/** The inputs a block's projections read. */
typedef enum tq_dec_slot {
    TQ_DEC_IN_QKV = 0,   /* attention RMSNorm output [T, dim]: q, k, v        */
    TQ_DEC_IN_O,         /* attention output [T, dim]: o                        */
    TQ_DEC_IN_UP,        /* FFN RMSNorm output [T, dim]: gate, up               */
    TQ_DEC_IN_DOWN,      /* silu(gate) * up [T, hidden]: down                   */
    TQ_DEC_SLOTS
} tq_dec_slot;

/** The matrices of a block. */
typedef enum tq_dec_mat {
    TQ_DEC_W_Q = 0, TQ_DEC_W_K, TQ_DEC_W_V, TQ_DEC_W_O, TQ_DEC_W_GATE, TQ_DEC_W_UP, TQ_DEC_W_DOWN, TQ_DEC_MATS
} tq_dec_mat;

/** The slot matrix k reads; the width of a slot's rows (dim or hidden). */
tq_dec_slot tq_dec_mat_slot(tq_dec_mat k);
int         tq_dec_slot_width(const tq_llama *l, tq_dec_slot s);

/**
 * The float32 weights [*rows, *cols] of matrix k of `layer`, writable (the
 * next run uses what is written), and its bias (q, k, v of Qwen2; else NULL)
 * in *bias (bias may be NULL). A part of a fused tensor (Phi-3 qkv_proj,
 * gate_up_proj) is its rows in the fused tensor's decoded values, so the
 * parts of one fused tensor are contiguous in order.
 * @return the weights, or NULL when layer is out of range or the matrix is
 * held as stored (F16/BF16, or codes kept).
 */
float *tq_llama_hook_weight(tq_llama *l, int layer, tq_dec_mat k, int64_t *rows, int64_t *cols, float **bias);

/** The RMSNorm gain [dim] of `layer` before attention (ffn 0) or the FFN
 *  (ffn 1), writable, and its tensor name into name (cap bytes); NULL when
 *  layer is out of range. */
float *tq_llama_hook_norm(tq_llama *l, int layer, int ffn, char *name, size_t cap);

/** The number of key/value heads' channels (kv_dim) and the head size. */
void tq_llama_hook_heads(const tq_llama *l, int *kv_dim, int *head_size);

/**
 * The model tensor that holds matrix k of `layer` (m: the model the decoder
 * was opened from) into buf, *row0 the first row of k in it (0 unless
 * fused) and *tensor_rows its rows.
 * @return 0, or -1 when m holds no such tensor.
 */
int tq_llama_hook_name(const tq_llama *l, const tq_model *m, int layer, tq_dec_mat k, char *buf, size_t cap,
                       int64_t *row0, int64_t *tensor_rows);

/** x[i] = the embedding row of ids[i], for n ids (each in the vocabulary). */
tq_status tq_llama_hook_embed(const tq_llama *l, const int32_t *ids, int64_t n, float *x, tq_error *err);

/**
 * Run block `layer` over nseq sequences whose residual rows lie one after
 * the other in x [sum len, dim] (sequence s at positions 0..len[s]-1, causal
 * attention within it). y (may be NULL; may not alias x): the block's output
 * rows. taps[slot] (each may be NULL): the rows that slot's matrices read
 * [sum len, width], in the same order. With y NULL the block stops after
 * the last slot tapped (its later products are not run). Sequences run as tasks of trueq's
 * pool with OpenBLAS single-threaded: the bytes do not depend on the thread
 * count. Every matrix of the block must be float32 (tq_llama_hook_weight).
 * @return TQ_OK; TQ_E_ARG (layer out of range, a length < 1 or beyond the
 * context); TQ_E_UNSUPPORTED naming the matrix held as stored; TQ_E_NOMEM.
 */
tq_status tq_llama_hook_layer(const tq_llama *l, int layer, const float *x, float *y, const int *len, int nseq,
                              float *const taps[TQ_DEC_SLOTS], tq_error *err);

#endif
