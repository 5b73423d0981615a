/*
 * encoder_ws.c — the forward pass's buffers, kept between passes
 * (encoder_ws.h).
 */
#include "nn/encoder_ws.h"
#include "core/wmem.h"
#include <stdlib.h>
#include <string.h>

void tq_enc_ws_free(tq_enc_ws *w) {
    if (!w) return;
    tq_wmem_free(w->x); tq_wmem_free(w->qkv); tq_wmem_free(w->ctx); tq_wmem_free(w->hb); tq_wmem_free(w->sc);
    free(w->wbuf); free(w->posid); free(w->a8);
    if (w->has_act) tq_kact_free(&w->act);
    if (w->has_act2) tq_kact_free(&w->act2);
    w->x = w->qkv = w->ctx = w->hb = w->sc = w->wbuf = NULL;
    w->posid = NULL;
    w->a8 = NULL;
    w->a8_bytes = 0;
    w->has_act = w->has_act2 = 0;
    w->T = w->S = w->threads = 0;
}

static int setup(tq_enc_ws *w, const tq_enc_ws_need *n) {
    tq_enc_ws_free(w);
    size_t TD = (size_t)n->T * (size_t)n->D;
    w->x = tq_wmem_scratch(sizeof(float) * TD, 0);
    w->qkv = tq_wmem_scratch(sizeof(float) * 3 * TD, 0);
    w->ctx = tq_wmem_scratch(sizeof(float) * TD, 0);
    w->hb = tq_wmem_scratch(sizeof(float) * (size_t)n->T * (size_t)n->H, 0);
    w->sc = tq_wmem_scratch(sizeof(float) * (size_t)n->S * (size_t)n->S * (size_t)n->threads, 0);
    w->wbuf = n->wbuf_floats ? malloc(sizeof(float) * (size_t)n->wbuf_floats * (size_t)n->threads) : NULL;
    w->posid = n->need_pos ? malloc(sizeof(int32_t) * (size_t)n->T) : NULL;
    w->a8_bytes = (n->a8_bytes + 63) / 64 * 64;
    w->a8 = w->a8_bytes ? aligned_alloc(64, (size_t)w->a8_bytes * (size_t)n->threads) : NULL;
    if (!w->x || !w->qkv || !w->ctx || !w->hb || !w->sc || (n->wbuf_floats && !w->wbuf) || (n->need_pos && !w->posid) ||
        (w->a8_bytes && !w->a8)) {
        tq_enc_ws_free(w);
        return -1;
    }
    /* the kernels' activations: without them products quantize per call */
    w->has_act = n->k && tq_kact_init(&w->act, n->k, n->T, n->D > n->H ? n->D : n->H) == TQ_OK;
    /* the second: FFN1's row tasks fill FFN2's rows while FFN1 reads the first */
    w->has_act2 = w->has_act && tq_kact_init(&w->act2, n->k, n->T, n->D > n->H ? n->D : n->H) == TQ_OK;
    w->T = n->T;
    w->S = n->S;
    w->threads = n->threads;
    return 0;
}

static int fits(const tq_enc_ws *w, const tq_enc_ws_need *n) {
    return w->T == n->T && w->S == n->S && w->threads == n->threads && (w->posid != NULL) == (n->need_pos != 0) &&
           (w->wbuf != NULL) == (n->wbuf_floats != 0) && w->a8_bytes == (n->a8_bytes + 63) / 64 * 64 && w->has_act == (n->k != NULL && tq_kact_holds(&w->act, n->k));
}

tq_enc_ws *tq_enc_ws_take(tq_enc_ws *shared, tq_enc_ws *own, const tq_enc_ws_need *n) {
    tq_enc_ws *w = shared && !atomic_exchange(&shared->busy, 1) ? shared : own;
    if (fits(w, n) || setup(w, n) == 0) return w;
    if (w == shared) atomic_store(&shared->busy, 0);
    return NULL;
}

void tq_enc_ws_give(tq_enc_ws *shared, tq_enc_ws *w) {
    if (!w) return;
    if (w == shared) atomic_store(&shared->busy, 0);
    else tq_enc_ws_free(w);
}
