/*
 * encoder_ws.h — the buffers of one encoder forward pass, kept between
 * passes (internal to src/nn/encoder.c). Fresh buffers of a batch's size
 * are fresh pages: the kernel zero-fills them on first touch every pass,
 * a few percent of a pass. An encoder keeps one workspace; a pass takes it
 * when it is free and of its shape (else reshapes it), and a pass that finds
 * it taken (two threads on one encoder) works in buffers of its own.
 */
#ifndef TQ_NN_ENCODER_WS_H
#define TQ_NN_ENCODER_WS_H
#include "kern/kern.h"
#include <stdatomic.h>
#include <stdint.h>

typedef struct tq_enc_ws {
    atomic_int busy;          /* 1 while a pass holds it                      */
    int        T, S, threads; /* the shape the buffers were made for; 0: none */
    float     *x, *qkv, *ctx, *hb, *sc, *wbuf;
    int32_t   *posid;
    tq_kact    act, act2;     /* act2: a second buffer of act's format and size,
                                 so one product's output rows can be quantized
                                 for the next while its input is read       */
    int        has_act;       /* act holds buffers                            */
    int        has_act2;      /* act2 holds buffers (only with has_act)       */
    void      *a8;            /* [threads][a8_bytes] int8 attention scratch
                                 (kern/attn_i8.h, 64-byte aligned), or NULL */
    int64_t    a8_bytes;      /* per thread, a multiple of 64; 0: none        */
} tq_enc_ws;

/** What a pass of T = B x S tokens needs: dim D, hidden H, per-thread
 *  scores and decode buffers (wbuf_floats per thread, 0: none), position
 *  ids (need_pos), an activation buffer for kernel k (NULL: none), int8
 *  attention scratch of a8_bytes per thread (0: none). */
typedef struct tq_enc_ws_need {
    int T, S, D, H, threads;
    int64_t wbuf_floats, a8_bytes;
    int need_pos;
    const tq_kmat *k;
} tq_enc_ws_need;

/** Take `shared` if free (reshaped to n), else set up `own` for n. Returns
 *  the workspace to use, or NULL when memory ran out (nothing held). */
tq_enc_ws *tq_enc_ws_take(tq_enc_ws *shared, tq_enc_ws *own, const tq_enc_ws_need *n);
/** Give back what tq_enc_ws_take returned (own's buffers are freed). */
void       tq_enc_ws_give(tq_enc_ws *shared, tq_enc_ws *w);
/** Free the buffers of w (the encoder's, at close). */
void       tq_enc_ws_free(tq_enc_ws *w);
#endif
