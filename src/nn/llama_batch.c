/*
 * llama_batch.c — the decoder over a batch of positions (the prompt):
 * tq_llama_forward_batch. Every matrix multiplies all the batch's rows in
 * one product (matrix x matrix through the kernels, activations quantized
 * per row as the token-by-token pass quantizes them), K and V of the whole
 * batch go into the cache first, and each position then attends causally
 * over the cache up to itself.
 *
 * Why the logits equal tq_llama_forward's: a kernel's output row depends only
 * on its activation row (kern.h), the activations of a row are quantized by
 * the same code whatever the batch, and norms, RoPE, attention and SwiGLU run
 * the same functions per position. So where every matrix runs a kernel the
 * bytes are the token-by-token pass's; float32 matrices go through sgemm
 * instead of sgemv, which differs by float rounding only.
 */
#include "core/internal.h"
#include "core/blas.h"
#include "trueq_llama.h"
#include "nn/llama_impl.h"
#include "nn/ops/ggml_ops.h"
#include "kern/pool.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BATCH   64   /* positions per chunk of the prompt                    */
#define BM_ROWS 32   /* output rows per task: fixed by the shapes, not threads */

/* One product Y[n, rows] = X[n, cols] W^T of a batch step. */
typedef struct bm_item {
    float *y;            /* row i at y + i * ldy                             */
    const tq_wmat *w;
    const float *x;      /* [n, cols], contiguous                            */
    int rows, cols, ldy;
} bm_item;

typedef struct bm_run {
    const bm_item *it;
    int            n;          /* activation rows                           */
    int            tasks[3];
    tq_kact        act[3];     /* kernel matrices: X quantized once           */
    float         *dec;        /* [threads][BM_ROWS * max cols]: decoded rows */
    int            dec_stride;
} bm_run;

static void bm_task(void *ctx, int task, int worker) {
    bm_run *m = ctx;
    int i = 0;
    while (task >= m->tasks[i]) task -= m->tasks[i++];
    const bm_item *it = &m->it[i];
    int r0 = task * BM_ROWS, r1 = r0 + BM_ROWS < it->rows ? r0 + BM_ROWS : it->rows, nr = r1 - r0;
    if (m->act[i].q) {
        tq_wmat_matmul_act(it->w, &m->act[i], r0, r1, it->y, it->ldy, 0);
        return;
    }
    const float *W;
    if (tq_wmat_quantized(it->w)) {   /* no kernel: this task's rows decoded */
        float *buf = m->dec + (size_t)worker * m->dec_stride;
        tq_wmat_rows(it->w, r0, r1, buf);
        W = buf;
    } else {
        W = it->w->f + (size_t)r0 * it->cols;   /* (f is NULL for stored codes) */
    }
    if (m->n == 1)   /* as tq_llama_forward's products: sgemv on these rows */
        tq_blas()->sgemv(CblasRowMajor, CblasNoTrans, nr, it->cols, 1.0f, W, it->cols, it->x, 1, 0.0f, it->y + r0, 1);
    else
        tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m->n, nr, it->cols, 1.0f, it->x, it->cols, W, it->cols,
                    0.0f, it->y + r0, it->ldy);
}

/* Up to three products over the same n activation rows in one pool run. */
static tq_status bm_products(tq_pool *pool, int threads, const bm_item *it, int k, int n, float *dec, int dec_stride,
                             tq_error *err) {
    bm_run m = {.it = it, .n = n, .dec = dec, .dec_stride = dec_stride};
    int total = 0;
    tq_status st = TQ_OK;
    for (int i = 0; i < k; i++) {
        total += m.tasks[i] = (it[i].rows + BM_ROWS - 1) / BM_ROWS;
        if (!tq_wmat_kernel(it[i].w)) continue;
        if (tq_kact_init(&m.act[i], &it[i].w->k, n, it[i].cols)) {
            st = tq_err(err, TQ_E_NOMEM, "decoder: out of memory for %d quantized activation rows", n);
            goto out;
        }
        tq_kact_begin(&m.act[i], n, it[i].cols);
        tq_kact_rows(&m.act[i], it[i].x, it[i].cols, 0, n);
    }
    tq_pool_run(pool, threads, total, bm_task, &m);
out:
    for (int i = 0; i < k; i++) tq_kact_free(&m.act[i]);
    return st;
}

/* Attention of the batch's positions, one task each. */
typedef struct att_run {
    const tq_llama *l;
    const tq_llama_state *s;
    float *out;              /* [n, dim]                                  */
    const float *q;          /* [n, dim]                                  */
    const float *kc, *vc;    /* this layer's cache                        */
    int pos0;
    float *scratch;          /* [threads][max_seq]                        */
} att_run;

static void att_task(void *ctx, int i, int worker) {
    att_run *a = ctx;
    const tq_llama_config *c = &a->l->c;
    int D = c->dim, KV = a->l->kv_dim, pos = a->pos0 + i;
    int p0 = c->sliding_window && pos + 1 > c->sliding_window ? pos + 1 - c->sliding_window : 0;
    TQ_ATTENTION(a->l)(a->out + (size_t)i * D, a->q + (size_t)i * D, a->kc + (size_t)p0 * KV, a->vc + (size_t)p0 * KV,
                       pos + 1 - p0, c->n_heads, c->n_kv_heads, a->l->head_size, KV,
                       a->scratch + (size_t)worker * a->s->max_seq);
}

/* Positions [pos0, pos0 + n) of one chunk; logits of the last one if asked. */
static tq_status chunk(const tq_llama *l, tq_llama_state *s, const int *tokens, int n, int pos0, float *logits,
                       float *buf, double *cs, float *att, float *dec, int dec_stride, tq_pool *pool, int threads,
                       tq_error *err) {
    const tq_llama_config *c = &l->c;
    int D = c->dim, H = c->hidden_dim, KV = l->kv_dim, hs = l->head_size;
    int half = l->A->pos == TQ_POS_ROPE_HALF;
    size_t nD = (size_t)n * D, nH = (size_t)n * H;
    float *x = buf, *xb = x + nD, *xb2 = xb + nD, *q = xb2 + nD, *hb = q + nD, *hb2 = hb + nH;
    tq_status st;
    int R = l->rope_dim;
    for (int i = 0; i < n; i++) {
        tq_wmat_rows(&l->tok, tokens[i], tokens[i] + 1, x + (size_t)i * D);
        TQ_ROPE_TABLE(l)(cs + (size_t)i * R, R, pos0 + i, c->rope_theta, s->rope_f, c->rope_mscale);
    }
    for (int li = 0; li < c->n_layers; li++) {
        const llama_layer *w = &l->L[li];
        size_t lo = (size_t)li * (size_t)s->max_seq * (size_t)KV;
        float *kc = s->kc + lo, *vc = s->vc + lo;
        float *k = kc + (size_t)pos0 * KV, *v = vc + (size_t)pos0 * KV;
        for (int i = 0; i < n; i++)
            TQ_RMSNORM(l)(xb + (size_t)i * D, x + (size_t)i * D, w->w[T_ATT_NORM].f, D, c->norm_eps);
        bm_item qkv[3] = {{q, &w->w[T_WQ], xb, D, D, D}, {k, &w->w[T_WK], xb, KV, D, KV}, {v, &w->w[T_WV], xb, KV, D, KV}};
        if ((st = bm_products(pool, threads, qkv, 3, n, dec, dec_stride, err))) return st;
        for (int i = 0; i < n; i++) {
            float *out[3] = {q + (size_t)i * D, k + (size_t)i * KV, v + (size_t)i * KV};
            for (int b = 0; b < 3; b++)
                if (w->bias[b])
                    for (int r = 0; r < qkv[b].rows; r++) out[b][r] += w->bias[b][r];
            TQ_ROPE_APPLY(l)(out[0], c->n_heads, hs, R, half, cs + (size_t)i * R);
            TQ_ROPE_APPLY(l)(out[1], c->n_kv_heads, hs, R, half, cs + (size_t)i * R);
        }
        att_run ar = {l, s, xb, q, kc, vc, pos0, att};
        tq_pool_run(pool, threads, n, att_task, &ar);
        if ((st = bm_products(pool, threads, &(bm_item){xb2, &w->w[T_WO], xb, D, D, D}, 1, n, dec, dec_stride, err)))
            return st;
        for (size_t i = 0; i < nD; i++) x[i] += xb2[i];
        for (int i = 0; i < n; i++)
            TQ_RMSNORM(l)(xb + (size_t)i * D, x + (size_t)i * D, w->w[T_FFN_NORM].f, D, c->norm_eps);
        bm_item up[2] = {{hb, &w->w[T_W1], xb, H, D, H}, {hb2, &w->w[T_W3], xb, H, D, H}};
        if ((st = bm_products(pool, threads, up, 2, n, dec, dec_stride, err))) return st;
        TQ_SWIGLU(l)(hb, hb, hb2, (int)nH);
        if ((st = bm_products(pool, threads, &(bm_item){xb2, &w->w[T_W2], hb, D, H, D}, 1, n, dec, dec_stride, err)))
            return st;
        for (size_t i = 0; i < nD; i++) x[i] += xb2[i];
    }
    s->filled = pos0 + n;
    if (logits) {
        TQ_RMSNORM(l)(xb, x + (size_t)(n - 1) * D, l->norm, D, c->norm_eps);
        const tq_wmat *ow = &l->out8;
        if (!tq_wmat_kernel(ow)) ow = c->tied ? &l->tok : &l->out;
        bm_item it = {logits, ow, xb, c->vocab_size, D, c->vocab_size};
        if ((st = bm_products(pool, threads, &it, 1, 1, dec, dec_stride, err))) return st;
    }
    return TQ_OK;
}

tq_status tq_llama_forward_batch(const tq_llama *l, tq_llama_state *s, const int *tokens, int n, int pos0,
                                 float *logits, tq_error *err) {
    const tq_llama_config *c = &l->c;
    if (s->owner != l) return tq_err(err, TQ_E_ARG, "decoder: the state was made for another decoder");
    if (n < 1) return tq_err(err, TQ_E_ARG, "decoder: a batch of %d positions", n);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return tq_err(err, TQ_E_ARG, "decoder: token %d (batch row %d) is outside the vocabulary [0, %d)", tokens[i],
                          i, c->vocab_size);
    if (pos0 < 0 || pos0 > s->filled)
        return tq_err(err, TQ_E_ARG, "decoder: position %d follows unfilled positions (only 0..%d are cached)", pos0,
                      s->filled - 1);
    if ((int64_t)pos0 + n > s->max_seq)
        return tq_err(err, TQ_E_ARG, "decoder: positions %d..%lld are outside the cache [0, %d)", pos0,
                      (long long)pos0 + n - 1, s->max_seq);
    int threads = tq_threads();
    tq_pool *pool = tq_pool_shared(threads);
    if (!pool) threads = 1;
    int B = n < BATCH ? n : BATCH, D = c->dim, H = c->hidden_dim;
    int mc = D > H ? D : H, dec_stride = BM_ROWS * mc;
    float *buf = malloc(sizeof(float) * ((size_t)B * (4 * (size_t)D + 2 * (size_t)H)));
    float *att = malloc(sizeof(float) * (size_t)threads * (size_t)s->max_seq);
    float *dec = malloc(sizeof(float) * (size_t)threads * (size_t)dec_stride);
    double *cs = malloc(sizeof(double) * (size_t)B * (size_t)l->rope_dim);
    tq_status st = TQ_OK;
    if (!buf || !att || !dec || !cs) st = tq_err(err, TQ_E_NOMEM, "decoder: out of memory for a batch of %d positions", B);
    tq_blas_serial_enter();   /* OpenBLAS single-threaded: the pool splits by rows, fixed by shape */
    for (int i0 = 0; !st && i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        st = chunk(l, s, tokens + i0, nb, pos0 + i0, i0 + nb == n ? logits : NULL, buf, cs, att, dec, dec_stride, pool,
                   threads, err);
    }
    tq_blas_serial_leave();
    free(buf);
    free(att);
    free(dec);
    free(cs);
    return st;
}
