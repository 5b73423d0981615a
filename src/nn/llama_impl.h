/*
 * llama_impl.h — the decoder's handle and state (internal to src/nn/llama*.c):
 * what the token-by-token forward pass (llama_step.c) and the batched prompt
 * (llama_batch.c) share.
 */
#ifndef TQ_NN_LLAMA_IMPL_H
#define TQ_NN_LLAMA_IMPL_H
#include "trueq_llama.h"
#include "nn/ops/wmat.h"
#include "nn/arch/table.h"
#include <stdint.h>

/* Floats decoded per step of the int8 product (see matvec_i8): 256 KB, at
 * least 4 rows. */
#define I8_BUF_FLOATS 65536
static inline int i8_chunk_rows(int cols) { int r = I8_BUF_FLOATS / cols; return r < 4 ? 4 : r & ~3; }

/* Layer tensors by kind (T_ATT_NORM ... T_W3; see layer_name). Shapes:
 * norms [dim]; wq [n_heads*head_size, dim]; wk, wv [kv_dim, dim];
 * wo [dim, n_heads*head_size]; w1 (gate), w3 (up) [hidden_dim, dim];
 * w2 (down) [dim, hidden_dim]. */
enum { T_ATT_NORM, T_WQ, T_WK, T_WV, T_WO, T_FFN_NORM, T_W1, T_W2, T_W3, T_COUNT };
typedef struct llama_layer {
    tq_wmat w[T_COUNT];    /* float32 (in the arena) or kept as stored codes */
    const float *bias[3];  /* q, k, v biases in the arena (Qwen2), or NULL */
    tq_wmat fused[2];      /* F16/BF16 fused qkv / gate_up held as stored, whose
                              row views the parts are (Phi-3); else empty    */
} llama_layer;

struct tq_llama {
    tq_llama_config c;     /* resolved                                  */
    const tq_arch *A;      /* the family row                            */
    int          head_size;
    int          kv_dim;   /* n_kv_heads * head_size                    */
    int          rope_dim; /* values turned per head (partial rotary)   */
    float       *arena;    /* every float32 weight, owned               */
    uint64_t     n_floats;
    uint64_t     int8_bytes;  /* codes + scales held as int8 matrices   */
    int64_t      int8_params; /* weights held as int8 codes             */
    int          n_int8;      /* matrices held as int8                  */
    tq_wmat      tok;      /* [vocab, dim]: float32 in the arena, or F16/BF16 as
                              stored (a lookup decodes one row)          */
    tq_wmat      out;      /* [vocab, dim]; unused when tied (tok is)   */
    int          n_plain;  /* matrices held as stored F16/BF16          */
    float       *norm;     /* [dim]                                     */
    llama_layer *L;        /* [n_layers]                                */
    int          ggml_ops; /* a GGUF file with its codes kept: RMSNorm, RoPE,
                              SwiGLU and attention in ggml's float steps
                              (nn/ops/ggml_ops.h) */
    tq_wmat      out8;     /* empty: with keep_quantized tok / out are
                              themselves kept as stored codes, so the logits
                              run their kernel (the forward reads out8 first) */
};

struct tq_llama_state {
    const tq_llama *owner; /* the decoder this state was made for      */
    int    max_seq;
    int    filled;         /* positions 0..filled-1 hold valid K/V      */
    const float *rope_f;   /* the RoPE factors of this sequence length (long
                              ones beyond the original context), or NULL */
    float *x, *xb, *xb2, *q, *hb, *hb2;      /* activations             */
    float *att;            /* [n_heads, max_seq]: a head's attention scratch */
    float *wbuf;           /* max(I8_BUF_FLOATS, 4 * max(dim, hidden)): int8 rows decoded */
    double *rope_cs;       /* [rope_dim]: this step's RoPE cos/sin (tq_llama_rope_table) */
    float *kc, *vc;        /* [n_layers, max_seq, kv_dim]               */
};

#endif
