/*
 * encoder_impl.h — the encoder's internal layout, shared by encoder.c (loading,
 * calibration access) and encoder_fwd.c (the forward pass). Not public.
 */
#ifndef TQ_NN_ENCODER_IMPL_H
#define TQ_NN_ENCODER_IMPL_H

#include "trueq_nn.h"
#include "nn/ops/wmat.h"
#include "nn/encoder_ws.h"
#include "nn/encoder_hook.h"
#include "nn/arch/table.h"
#include <stdint.h>

#define TQ_ENC_MAX_THREADS 64

typedef struct enc_layer {
    float *wqkv, *bqkv;      /* [3 dim, dim], [3 dim]: q rows, k rows, v rows */
    float *wo, *bo;          /* [dim, dim], [dim]                              */
    float *ln1w, *ln1b;      /* attention output LayerNorm                     */
    float *w1, *b1;          /* [hidden, dim], [hidden]                        */
    float *w2, *b2;          /* [dim, hidden], [dim]                           */
    float *ln2w, *ln2b;      /* output LayerNorm                               */
    tq_wmat m8[4][3];        /* qkv (three parts), o, ffn in, ffn out kept as
                                stored codes (keep_int8 / keep_quantized); parts
                                not kept have no codes (the float32 above)     */
    unsigned char fpk[4];    /* 1: that float32 matrix is packed in place for
                                tq_gemm_f32 (kern.h), not row-major           */
} enc_layer;

enum { M_QKV, M_O, M_FFN1, M_FFN2 };

struct tq_enc {
    tq_enc_config c;
    const tq_arch *A;        /* the family row: names, head, q scaling        */
    int        head_size;
    float     *arena;        /* every weight, owned                           */
    uint64_t   n_floats;
    float     *word, *pos, *type, *eln_w, *eln_b;
    enc_layer *L;
    float     *pool_w, *pool_b; /* BERT pooler, or NULL                       */
    float     *pre_w, *pre_b;   /* DistilBERT pre_classifier, or NULL         */
    float     *cls_w, *cls_b;   /* classifier, or NULL                        */
    tq_wmat    word8;           /* word embeddings kept as stored codes, or none */
    int        n_int8;          /* matrices held as stored (codes or F16/BF16) */
    int        n_plain;         /* of which F16/BF16 values                   */
    uint64_t   int8_bytes;      /* their codes + scales                       */
    int64_t    int8_params;
    tq_enc_ws *ws;              /* buffers kept between forward passes, or NULL */
    int        attn8;           /* 1: layers whose q/k/v run a kernel over stored
                                   codes run attention in int8 (kern/attn_i8.h) */
    tq_kisa    attn8_isa;       /* the ISA those products run                 */
    tq_enc_observer_fn obs;     /* calibration observer (encoder_hook.h), or NULL */
    void      *obs_ctx;
};

/** 1 when layer L of e runs its attention in int8 (encoder.c). */
int tq_enc_attn8_layer(const tq_enc *e, const enc_layer *L);

#endif
