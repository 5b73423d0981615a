/*
 * llama_hook.c — one decoder block over whole sequences, for calibration
 * (llama_hook.h). The arithmetic is the batched prompt's (llama_batch.c):
 * RMSNorm per row, the products as sgemm over the sequence's rows, biases,
 * the RoPE table of each position, causal attention per position, SwiGLU.
 */
#include "core/internal.h"
#include "nn/llama_hook.h"
#include "nn/llama_impl.h"
#include "kern/pool.h"
#include "core/blas.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const int MAT_KIND[TQ_DEC_MATS] = {T_WQ, T_WK, T_WV, T_WO, T_W1, T_W3, T_W2};
static const tq_role MAT_ROLE[TQ_DEC_MATS] = {TQ_R_Q, TQ_R_K, TQ_R_V, TQ_R_O, TQ_R_FFN_GATE, TQ_R_FFN_UP, TQ_R_FFN_DOWN};
static const char *const MAT_NAME[TQ_DEC_MATS] = {"q", "k", "v", "o", "gate", "up", "down"};

tq_dec_slot tq_dec_mat_slot(tq_dec_mat k) {
    return k <= TQ_DEC_W_V ? TQ_DEC_IN_QKV : k == TQ_DEC_W_O ? TQ_DEC_IN_O : k == TQ_DEC_W_DOWN ? TQ_DEC_IN_DOWN : TQ_DEC_IN_UP;
}

int tq_dec_slot_width(const tq_llama *l, tq_dec_slot s) { return s == TQ_DEC_IN_DOWN ? l->c.hidden_dim : l->c.dim; }

float *tq_llama_hook_weight(tq_llama *l, int layer, tq_dec_mat k, int64_t *rows, int64_t *cols, float **bias) {
    if (bias) *bias = NULL;
    if (layer < 0 || layer >= l->c.n_layers || (unsigned)k >= TQ_DEC_MATS) return NULL;
    llama_layer *L = &l->L[layer];
    const tq_wmat *w = &L->w[MAT_KIND[k]];
    if (tq_wmat_quantized(w) || !w->f) return NULL;
    *rows = w->rows;
    *cols = w->cols;
    if (bias && k <= TQ_DEC_W_V) *bias = (float *)L->bias[k];
    return (float *)w->f;   /* the decoder's own arena (malloc'd), not the model's map */
}

float *tq_llama_hook_norm(tq_llama *l, int layer, int ffn, char *name, size_t cap) {
    if (layer < 0 || layer >= l->c.n_layers) return NULL;
    tq_arch_name(l->A, "", ffn ? TQ_R_FFN_NORM : TQ_R_ATT_NORM, layer, 0, name, cap);
    return (float *)l->L[layer].w[ffn ? T_FFN_NORM : T_ATT_NORM].f;
}

void tq_llama_hook_heads(const tq_llama *l, int *kv_dim, int *head_size) {
    *kv_dim = l->kv_dim;
    *head_size = l->head_size;
}

int tq_llama_hook_name(const tq_llama *l, const tq_model *m, int layer, tq_dec_mat k, char *buf, size_t cap,
                       int64_t *row0, int64_t *tensor_rows) {
    if (layer < 0 || layer >= l->c.n_layers || (unsigned)k >= TQ_DEC_MATS) return -1;
    const tq_wmat *w = &l->L[layer].w[MAT_KIND[k]];
    *row0 = 0;
    *tensor_rows = w->rows;
    if (tq_arch_name(l->A, "", MAT_ROLE[k], layer, 0, buf, cap) && tq_model_find(m, buf)) return 0;
    const int qkv = k <= TQ_DEC_W_V;
    if (k == TQ_DEC_W_O || k == TQ_DEC_W_DOWN ||
        !tq_arch_name(l->A, "", qkv ? TQ_R_QKV : TQ_R_FFN_GATE_UP, layer, 0, buf, cap) || !tq_model_find(m, buf))
        return -1;
    const int64_t D = l->c.dim, KV = l->kv_dim, H = l->c.hidden_dim;
    *tensor_rows = qkv ? D + 2 * KV : 2 * H;
    *row0 = k == TQ_DEC_W_Q || k == TQ_DEC_W_GATE ? 0 : k == TQ_DEC_W_K ? D : k == TQ_DEC_W_V ? D + KV : H;
    return 0;
}

tq_status tq_llama_hook_embed(const tq_llama *l, const int32_t *ids, int64_t n, float *x, tq_error *err) {
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= l->c.vocab_size)
            return tq_err(err, TQ_E_ARG, "decoder: token %d (row %lld) is outside the vocabulary [0, %d)", ids[i],
                          (long long)i, l->c.vocab_size);
        tq_wmat_rows(&l->tok, ids[i], ids[i] + 1, x + (size_t)i * (size_t)l->c.dim);
    }
    return TQ_OK;
}

/* ---- the block over one sequence (one pool task) ----------------------------- */

typedef struct blk_run {
    const tq_llama *l;
    int layer;
    const float *x;
    float *y;
    const int *len;
    const int64_t *off;    /* first row of each sequence */
    float *const *taps;
    atomic_int oom;
} blk_run;

/* Y[n, rows] = X[n, cols] W^T (+ bias) */
static void product(float *y, const tq_wmat *w, const float *bias, const float *x, int n) {
    tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)w->rows, (int)w->cols, 1.0f, x, (int)w->cols, w->f,
                (int)w->cols, 0.0f, y, (int)w->rows);
    if (bias)
        for (int i = 0; i < n; i++)
            for (int64_t r = 0; r < w->rows; r++) y[(size_t)i * w->rows + r] += bias[r];
}

static void tap(float *const *taps, tq_dec_slot s, int64_t off, const float *v, int n, int width) {
    if (taps && taps[s]) memcpy(taps[s] + (size_t)off * width, v, sizeof(float) * (size_t)n * width);
}

static void blk_task(void *ctx, int si, int worker) {
    (void)worker;
    blk_run *b = ctx;
    const tq_llama *l = b->l;
    const tq_llama_config *c = &l->c;
    const llama_layer *w = &l->L[b->layer];
    const int n = b->len[si], D = c->dim, H = c->hidden_dim, KV = l->kv_dim, hs = l->head_size, R = l->rope_dim;
    const int half = l->A->pos == TQ_POS_ROPE_HALF;
    const int64_t off = b->off[si];
    const size_t nD = (size_t)n * D, nH = (size_t)n * H, nK = (size_t)n * KV;
    float *buf = malloc(sizeof(float) * (4 * nD + 2 * nK + 2 * nH + (size_t)n));
    double *cs = malloc(sizeof(double) * (size_t)n * (size_t)(R ? R : 1));
    if (!buf || !cs) { atomic_store(&b->oom, 1); free(buf); free(cs); return; }
    float *x = buf, *xb = x + nD, *xb2 = xb + nD, *q = xb2 + nD, *k = q + nD, *v = k + nK, *hb = v + nK, *hb2 = hb + nH,
          *att = hb2 + nH;
    const float *rf = c->n_rope_factors ? c->rope_factors : NULL;   /* short factors: n <= the original context */
    /* without y, the block stops after the last slot tapped */
    int stop = TQ_DEC_SLOTS;
    if (!b->y) while (stop > 0 && !(b->taps && b->taps[stop - 1])) stop--;
    memcpy(x, b->x + (size_t)off * D, sizeof(float) * nD);
    for (int i = 0; i < n; i++) {
        tq_llama_rope_table(cs + (size_t)i * R, R, i, c->rope_theta, rf, c->rope_mscale);
        tq_llama_rmsnorm(xb + (size_t)i * D, x + (size_t)i * D, w->w[T_ATT_NORM].f, D, c->norm_eps);
    }
    tap(b->taps, TQ_DEC_IN_QKV, off, xb, n, D);
    if (stop <= TQ_DEC_IN_QKV + 1) goto out;
    product(q, &w->w[T_WQ], w->bias[0], xb, n);
    product(k, &w->w[T_WK], w->bias[1], xb, n);
    product(v, &w->w[T_WV], w->bias[2], xb, n);
    for (int i = 0; i < n; i++) {
        tq_llama_rope_apply(q + (size_t)i * D, c->n_heads, hs, R, half, cs + (size_t)i * R);
        tq_llama_rope_apply(k + (size_t)i * KV, c->n_kv_heads, hs, R, half, cs + (size_t)i * R);
    }
    for (int i = 0; i < n; i++) {
        int p0 = c->sliding_window && i + 1 > c->sliding_window ? i + 1 - c->sliding_window : 0;
        tq_llama_attention(xb + (size_t)i * D, q + (size_t)i * D, k + (size_t)p0 * KV, v + (size_t)p0 * KV, i + 1 - p0,
                           c->n_heads, c->n_kv_heads, hs, KV, att);
    }
    tap(b->taps, TQ_DEC_IN_O, off, xb, n, D);
    if (stop <= TQ_DEC_IN_O + 1) goto out;
    product(xb2, &w->w[T_WO], NULL, xb, n);
    for (size_t i = 0; i < nD; i++) x[i] += xb2[i];
    for (int i = 0; i < n; i++) tq_llama_rmsnorm(xb + (size_t)i * D, x + (size_t)i * D, w->w[T_FFN_NORM].f, D, c->norm_eps);
    tap(b->taps, TQ_DEC_IN_UP, off, xb, n, D);
    if (stop <= TQ_DEC_IN_UP + 1) goto out;
    product(hb, &w->w[T_W1], NULL, xb, n);
    product(hb2, &w->w[T_W3], NULL, xb, n);
    tq_llama_swiglu(hb, hb, hb2, (int)nH);
    tap(b->taps, TQ_DEC_IN_DOWN, off, hb, n, H);
    if (b->y) {
        product(xb2, &w->w[T_W2], NULL, hb, n);
        for (size_t i = 0; i < nD; i++) b->y[(size_t)off * D + i] = x[i] + xb2[i];
    }
out:
    free(buf);
    free(cs);
}

tq_status tq_llama_hook_layer(const tq_llama *l, int layer, const float *x, float *y, const int *len, int nseq,
                              float *const taps[TQ_DEC_SLOTS], tq_error *err) {
    const tq_llama_config *c = &l->c;
    if (layer < 0 || layer >= c->n_layers) return tq_err(err, TQ_E_ARG, "decoder: layer %d is outside [0, %d)", layer, c->n_layers);
    for (int k = 0; k < TQ_DEC_MATS; k++)
        if (tq_wmat_quantized(&l->L[layer].w[MAT_KIND[k]]) || !l->L[layer].w[MAT_KIND[k]].f)
            return tq_err(err, TQ_E_UNSUPPORTED, "decoder: layer %d's %s matrix is held as stored, not as float32 "
                          "(calibration runs float32 weights)", layer, MAT_NAME[k]);
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(nseq > 0 ? nseq : 1));
    if (!off) return tq_err(err, TQ_E_NOMEM, "decoder: out of memory");
    int64_t rows = 0;
    for (int s = 0; s < nseq; s++) {
        if (len[s] < 1 || len[s] > c->max_seq_len || (c->rope_orig_ctx && c->n_rope_long && len[s] > c->rope_orig_ctx)) {
            free(off);
            return tq_err(err, TQ_E_ARG, "decoder: sequence %d has %d positions (1 to %d)", s, len[s],
                          c->n_rope_long && c->rope_orig_ctx ? c->rope_orig_ctx : c->max_seq_len);
        }
        off[s] = rows;
        rows += len[s];
    }
    blk_run b = {l, layer, x, y, len, off, taps, 0};
    atomic_init(&b.oom, 0);
    tq_pool_run_all(nseq, blk_task, &b);
    free(off);
    if (atomic_load(&b.oom)) return tq_err(err, TQ_E_NOMEM, "decoder: out of memory running layer %d", layer);
    return TQ_OK;
}
