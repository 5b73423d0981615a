/*
 * encoder_fwd.c — the batched encoder forward pass (tq_enc_forward): see
 * encoder.c's header for the layout of the work and the threading rule.
 */
#include "core/internal.h"
#include "core/blas.h"
#include "trueq_nn.h"
#include "nn/ops/wmat.h"
#include "nn/ops/softmax.h"
#include "nn/ops/vec.h"
#include "nn/encoder_ws.h"
#include "nn/encoder_hook.h"
#include "nn/arch/table.h"
#include "kern/pool.h"
#include "kern/gemm_i8_avx512.h"
#include "kern/gemm_f32.h"
#include "kern/attn_i8.h"
#include "kern/attn_f32.h"
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/encoder_impl.h"

/* ---- forward ------------------------------------------------------------------ */

/* OpenBLAS's sgemm gives different bytes with 1 and with 2 threads (0.3.21,
 * measured), so the forward pass runs OpenBLAS single-threaded and splits
 * the work itself into tasks fixed by the shapes alone: for each projection
 * tiles of PROWS tokens x SLAB output features (by the fused VNNI product:
 * FFN1, WO and FFN2 by whole token rows, finished in the same task, see
 * ffn_rows and ln_rows), one (sequence, head) pair for attention, ROWS
 * tokens for row-wise steps. Any number of threads
 * computes each task with the same calls on the same data, hence the same
 * bytes. */
#define SLAB 128
#define PROWS 256
#define ROWS 16
#define FROWS 32   /* tokens per task of FFN1, WO, FFN2 by row blocks (ffn_rows, ln_rows) */

typedef struct fw {
    const tq_enc       *e;
    const tq_enc_batch *b;
    const int32_t *posid;       /* [T] position ids (RoBERTa), or NULL: t % S */
    int    B, S, D, H, T;
    float *x, *qkv, *ctx, *hb;
    float *sc;                  /* [threads, S, S] attention scores           */
    unsigned char *a8;          /* [threads][a8_bytes] int8 attention scratch, or NULL */
    int64_t a8_bytes;
    float *wbuf;                /* [threads, SLAB, max(dim, hidden)]: int8 rows decoded */
    int    wk;                  /* max(dim, hidden)                           */
    const enc_layer *L;
    int    phase;
    tq_kact *act;               /* activations quantized once per product for the
                                   kernels (kern.h), or NULL                  */
    const float *act_src;       /* the matrix act holds (x, ctx or hb), or NULL */
    tq_pool *pool;              /* the shared pool, or NULL (one thread)       */
    int    act_ld;
    int    qfill;               /* 1: row-wise tasks quantize the x rows they
                                   finish into act (for the next projection)  */
    int    ready;               /* the projection phase act was filled for, or -1 */
    tq_kact *act2;              /* a second buffer in act's format, or NULL     */
    int    ffn_rows;            /* 1: FFN1 runs as tasks of FROWS tokens x all
                                   hidden features, each finishing its rows
                                   (activation) and quantizing them into act2
                                   for FFN2 while they are in cache            */
    int    ln_rows;             /* rows per task when WO / FFN2 run as tasks of
                                   token rows x all dim features, each then
                                   normalising its rows (LN1 / LN2: no phase of
                                   their own) and, with lnq, quantizing them
                                   into act2 for the next projection; 0: by tiles */
    int    lnq;
    int    ffn_fuse;            /* with ffn_rows: each FFN1 task also runs FFN2 on
                                   its rows (act2 -> x) and LN2 (no phases of
                                   their own), with ffn_q quantizing the rows
                                   into act for the next layer's QKV          */
    int    ffn_q;
} fw;

enum { PH_EMBED, PH_QKV, PH_ATTN, PH_WO, PH_LN1, PH_FFN1, PH_FFN2, PH_LN2, PH_QACT };

static int n_slabs(const fw *f) {
    int cols = f->phase == PH_QKV ? 3 * f->D : f->phase == PH_FFN1 ? f->H : f->D;
    return (cols + SLAB - 1) / SLAB;
}

static int n_tasks(const fw *f) {
    switch (f->phase) {
    case PH_FFN1:
        if (f->ffn_rows) return (f->T + FROWS - 1) / FROWS;
        return n_slabs(f) * ((f->T + PROWS - 1) / PROWS);
    case PH_WO: case PH_FFN2:
        if (f->ln_rows) return (f->T + f->ln_rows - 1) / f->ln_rows;
        return n_slabs(f) * ((f->T + PROWS - 1) / PROWS);
    case PH_QKV: return n_slabs(f) * ((f->T + PROWS - 1) / PROWS);
    case PH_ATTN: return f->B * f->e->c.n_heads;
    default: return (f->T + ROWS - 1) / ROWS;
    }
}

/* C[:, n0:n1] += A W[n0:n1]^T over T rows */
static void gemm_slab(float *C, int ldc, const float *A, int lda, const float *W, int T, int n0, int n1, int K) {
    tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n1 - n0, K, 1.0f, A, lda, W + (size_t)n0 * K, K, 1.0f, C + n0, ldc);
}

/* C[t0:t1, n0:n1] += A[t0:t1] W[n0:n1]^T by the kernels over stored codes
 * (kern.h: activations quantized per row), the parts (fused q/k/v: up to
 * three, stacked by rows) each for its rows of the slab. -1 when a part has
 * no kernel or its buffers cannot be had (before anything is written): the
 * caller decodes. */
static int kern_slab(const fw *f, float *C, int ldc, const float *A, int lda, const tq_wmat *w8, int n0, int n1,
                     int t0, int t1) {
    int nparts = w8[1].rows ? 3 : 1;
    for (int i = 0; i < nparts; i++)
        if (!tq_wmat_kernel(&w8[i])) return -1;
    for (int64_t i = 0, base = 0; i < nparts && n0 < n1; base += w8[i].rows, i++) {
        int64_t end = base + w8[i].rows;
        if (n0 >= end) continue;
        int64_t e = n1 < end ? n1 : end;
        if (f->act && f->act_src == A && tq_kact_fits(f->act, &w8[i].k)) {
            tq_kact rows = tq_kact_view(f->act, t0, t1);
            tq_wmat_matmul_act(&w8[i], &rows, n0 - base, e - base, C + (size_t)t0 * ldc + base, ldc, 1);
        } else if (tq_wmat_matmul(&w8[i], A + (size_t)t0 * lda, lda, t1 - t0, n0 - base, e - base,
                                  C + (size_t)t0 * ldc + base, ldc, 1))
            return -1;
        n0 = (int)e;
    }
    return 0;
}

/* C[t0:t1, n0:n1] = bias[n0:n1] + A W^T (acc 0) or C + bias + A W^T (acc 1)
 * in one step, by the AVX-512 VNNI I8 product with the bias folded in
 * (gemm_i8_avx512.h), when every part runs it over activations f->act
 * already holds for A; the bytes of writing (adding) the bias first and
 * accumulating the product after, which is what the other paths do. -1
 * (nothing written) otherwise. */
static int fused_ok(const fw *f, const float *A, const tq_wmat *w8) {
    int nparts = w8[1].rows ? 3 : 1;
    if (!f->act || f->act_src != A) return 0;
    for (int i = 0; i < nparts; i++)
        if (!tq_gemm_i8_avx512_bias_ok(&w8[i].k) || !tq_kact_fits(f->act, &w8[i].k)) return 0;
    return 1;
}

static int fused_slab(const fw *f, float *C, int ldc, const float *A, const tq_wmat *w8, const float *bias, int acc,
                      int n0, int n1, int t0, int t1) {
    int nparts = w8[1].rows ? 3 : 1;
    if (!fused_ok(f, A, w8)) return -1;
    tq_kact rows = tq_kact_view(f->act, t0, t1);
    for (int64_t i = 0, base = 0; i < nparts && n0 < n1; base += w8[i].rows, i++) {
        int64_t end = base + w8[i].rows;
        if (n0 >= end) continue;
        int64_t e = n1 < end ? n1 : end;
        tq_gemm_i8_avx512_bias(&w8[i].k, &rows, n0 - base, e - base, C + (size_t)t0 * ldc + base, ldc, acc, bias + base);
        n0 = (int)e;
    }
    return 0;
}

/* C[t0:t1, n0:n1] = bias + A W^T (acc 0) or C + bias + A W^T (acc 1) by the
 * float32 kernel over packed weights with the bias folded in (gemm_f32.h),
 * when matrix w8 of the layer is float32 and packed: the bytes of writing
 * (adding) the bias first and running proj after. -1 (nothing written)
 * otherwise. */
static int f32_slab(const fw *f, float *C, int ldc, const float *A, int lda, const float *W, const tq_wmat *w8,
                    const float *bias, int acc, int n0, int n1, int t0, int t1, int K) {
    int m = (int)(w8 - f->L->m8[0]) / 3;   /* which of the layer's matrices */
    if (tq_wmat_quantized(&w8[0]) || !f->L->fpk[m]) return -1;
    tq_gemm_f32_bias(W, K, A + (size_t)t0 * lda, lda, t1 - t0, n0, n1, C + (size_t)t0 * ldc, ldc, bias, acc);
    return 0;
}

/* C[:, n0:n1] += A W[n0:n1]^T for a float W, or for a matrix kept as stored
 * codes (up to three parts stacked by rows: fused q/k/v) whose rows n0..n1
 * are first decoded (tq_dequantize_rows, the values tq_dequantize gives)
 * into this worker's buffer: the same sgemm on the same values, so the same
 * bytes as the float path, with the stored bytes per weight held. */
static void proj(const fw *f, float *C, int ldc, const float *A, int lda, const float *W, const tq_wmat *w8, int n0,
                 int n1, int t0, int t1, int K, int worker) {
    int m = (int)(w8 - f->L->m8[0]) / 3;   /* which of the layer's matrices */
    if (!tq_wmat_quantized(&w8[0]) && f->L->fpk[m]) {   /* packed float32 (n0, n1 multiples of 16) */
        tq_gemm_f32(W, K, A + (size_t)t0 * lda, lda, t1 - t0, n0, n1, C + (size_t)t0 * ldc, ldc);
        return;
    }
    if (!tq_wmat_quantized(&w8[0])) {
        gemm_slab(C + (size_t)t0 * ldc, ldc, A + (size_t)t0 * lda, lda, W, t1 - t0, n0, n1, K);
        return;
    }
    if (kern_slab(f, C, ldc, A, lda, w8, n0, n1, t0, t1) == 0) return;
    float *buf = f->wbuf + (size_t)worker * SLAB * (size_t)f->wk;
    tq_wmat_stack_rows(w8, 3, n0, n1, buf);
    tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, n1 - n0, K, 1.0f, A + (size_t)t0 * lda, lda, buf, K,
                1.0f, C + (size_t)t0 * ldc + n0, ldc);
}

/* Attention of head h of sequence s: q k^T, masked softmax per row, p v,
 * the products by the float32 kernels (kern/attn_f32.h) where the CPU has
 * their AVX-512 path, else by sgemm; on the int8-kept path (tq_enc_attn8_layer)
 * the two products in int8 with the softmax fused into p's quantization
 * (kern/attn_i8.h) over this worker's scratch. BERT scales
 * the scores; DistilBERT scaled q already (as transformers does). Padded keys
 * get weight exactly 0. */
static void attend(const fw *f, int s, int h, float *sc, int worker) {
    const tq_enc *e = f->e;
    int D = f->D, S = f->S, hs = e->head_size, ld = 3 * D;
    const float *base = f->qkv + (size_t)s * S * ld;
    const float *q = base + h * hs, *k = base + D + h * hs, *v = base + 2 * D + h * hs;
    const int32_t *mask = f->b->mask ? f->b->mask + (size_t)s * S : NULL;
    float div = sqrtf((float)hs);
    int bert = !e->A->q_scaled;   /* BERT scales the scores, DistilBERT q */
    if (f->a8 && tq_enc_attn8_layer(e, f->L)) {
        void *ws = f->a8 + (size_t)worker * (size_t)f->a8_bytes;
        /* the softmax fused with p's quantization: no float scores row kept */
        /* the next task is most often the next head (of this sequence, else
         * of the next one): its q, k fetched ahead */
        const float *next = h + 1 < e->c.n_heads ? q + hs : s + 1 < f->B ? base + (size_t)S * ld : NULL;
        tq_attn_i8_head(q, k, v, ld, mask, S, hs, bert ? div : 0.0f, f->ctx + (size_t)s * S * D + h * hs, D, ws,
                        e->attn8_isa, next);
        return;
    }
    float *ctx = f->ctx + (size_t)s * S * D + h * hs;
    int off;
    tq_kisa isa = tq_kern_isa(&off);
    if (!off && f->a8 && tq_attn_f32_isa(TQ_KISA_AVX512) == TQ_KISA_AVX512) {
        /* float32 kernels (kern/attn_f32.h), where the CPU has their AVX-512
         * path (decided by the CPU, not TRUEQ_ISA: a forced avx2 or portable
         * runs those paths, the same bytes; their AVX2 tiles measured slower
         * than OpenBLAS's AVX-512 sgemm, so AVX2-only CPUs keep sgemm until
         * measured there); TRUEQ_ISA=decode keeps sgemm */
        void *ws = f->a8 + (size_t)worker * (size_t)f->a8_bytes;
        /* v, and the next task's q and k (most often the next head's, as
         * on the int8 path), fetched while the scores run */
        const float *next = h + 1 < e->c.n_heads ? q + hs : s + 1 < f->B ? base + (size_t)S * ld : NULL;
        const float *const ahead[3] = {v, next, next ? next + D : NULL};
        tq_attn_f32_scores_ahead(q, k, ld, S, hs, sc, ws, isa, ahead);
        tq_softmax_rows(sc, S, S, mask, bert ? div : 0.0f);
        tq_attn_f32_context(sc, v, ld, S, hs, ctx, D, isa);
        return;
    }
    tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hs, 1.0f, q, ld, k, ld, 0.0f, sc, S);
    tq_softmax_rows(sc, S, S, mask, bert ? div : 0.0f);
    tq_blas()->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hs, S, 1.0f, sc, S, v, ld, 0.0f, ctx, D);
}

/* FFN2 and LN2 of rows [a0, a1), their FFN2 input quantized in act2 (by
 * this task: ffn_fuse): x = LN2(x + b2 + hb W2^T), the call and the steps
 * FFN2's row tasks (ln_rows) run on those rows, so the same bytes; with
 * ffn_q each row then quantized into act (rows [a0, a1) of act, FFN1's
 * input, are this task's and read no more) for the next layer's QKV. */
static void ffn2_rows(const fw *f, int a0, int a1) {
    const enc_layer *L = f->L;
    const tq_enc_config *c = &f->e->c;
    int D = f->D;
    tq_kact rows = tq_kact_view(f->act2, a0, a1);
    tq_gemm_i8_avx512_bias(&L->m8[M_FFN2][0].k, &rows, 0, D, f->x + (size_t)a0 * D, D, 1, L->b2);
    for (int t = a0; t < a1; t++) {
        float *r = f->x + (size_t)t * D;
        if (f->ffn_q && tq_vec_avx512()) {
            tq_kact_row_max(f->act, r, t, tq_enc_layernorm_max_avx512(r, r, L->ln2w, L->ln2b, D, c->ln_eps));
            continue;
        }
        tq_enc_layernorm(r, r, L->ln2w, L->ln2b, D, c->ln_eps);
        if (f->ffn_q) tq_kact_rows(f->act, f->x, D, t, t + 1);
    }
}

static void run_task(const fw *f, int task, int worker) {
    const tq_enc *e = f->e;
    const tq_enc_config *c = &e->c;
    const enc_layer *L = f->L;
    int D = f->D, H = f->H, T = f->T;
    int r0 = task * ROWS, r1 = r0 + ROWS < T ? r0 + ROWS : T;
    /* projections: tile (token chunk, feature slab) */
    int ns = n_slabs(f), n0 = task % ns * SLAB, t0 = task / ns * PROWS, t1 = t0 + PROWS < T ? t0 + PROWS : T;
    switch (f->phase) {
    case PH_EMBED:   /* BERT adds word + type, then position; DistilBERT word + position */
        for (int t = r0; t < r1; t++) {
            float *r = f->x + (size_t)t * D;
            const float *w = e->word ? e->word + (size_t)f->b->ids[t] * D : NULL, *p = e->pos + (size_t)(f->posid ? f->posid[t] : t % f->S) * D;
            if (!w) {   /* int8 word embeddings: decode this token's row */
                float *buf = f->wbuf + (size_t)worker * SLAB * (size_t)f->wk;
                tq_wmat_rows(&e->word8, f->b->ids[t], f->b->ids[t] + 1, buf);
                w = buf;
            }
            /* (w + ty) + p, or w + p, by the vector adds (the same sums) */
            memcpy(r, w, sizeof(float) * (size_t)D);
            if (e->type) tq_vec_add(r, e->type + (size_t)(f->b->type_ids ? f->b->type_ids[t] : 0) * D, D);
            tq_vec_add(r, p, D);
            tq_enc_layernorm(r, r, e->eln_w, e->eln_b, D, c->ln_eps);
        }
        if (f->qfill) tq_kact_rows(f->act, f->x, D, r0, r1);
        break;
    case PH_QKV: {   /* qkv = bqkv + x Wqkv^T; DistilBERT: q / sqrt(head_size) */
        int n1 = n0 + SLAB < 3 * D ? n0 + SLAB : 3 * D;
        if (fused_slab(f, f->qkv, 3 * D, f->x, L->m8[M_QKV], L->bqkv, 0, n0, n1, t0, t1) &&
            f32_slab(f, f->qkv, 3 * D, f->x, D, L->wqkv, L->m8[M_QKV], L->bqkv, 0, n0, n1, t0, t1, D)) {
            for (int t = t0; t < t1; t++) memcpy(f->qkv + (size_t)t * 3 * D + n0, L->bqkv + n0, sizeof(float) * (size_t)(n1 - n0));
            proj(f, f->qkv, 3 * D, f->x, D, L->wqkv, L->m8[M_QKV], n0, n1, t0, t1, D, worker);
        }
        if (e->A->q_scaled && n0 < D) {
            float div = sqrtf((float)e->head_size);
            int q1 = n1 < D ? n1 : D;
            for (int t = t0; t < t1; t++) tq_vec_div(f->qkv + (size_t)t * 3 * D + n0, div, q1 - n0);
        }
        break;
    }
    case PH_ATTN:
        attend(f, task / c->n_heads, task % c->n_heads, f->sc + (size_t)worker * f->S * f->S, worker);
        break;
    case PH_WO: case PH_FFN2: {   /* x = x + b + A W^T (LayerNorm follows) */
        int n1 = n0 + SLAB < D ? n0 + SLAB : D;
        const float *bias = f->phase == PH_WO ? L->bo : L->b2;
        const float *A = f->phase == PH_WO ? f->ctx : f->hb;
        const tq_wmat *w8 = f->phase == PH_WO ? L->m8[M_O] : L->m8[M_FFN2];
        int K = f->phase == PH_WO ? D : H;
        if (f->ln_rows) {   /* rows [a0, a1) whole: the tiles' bytes, then their LayerNorm */
            int a0 = task * f->ln_rows, a1 = a0 + f->ln_rows < T ? a0 + f->ln_rows : T;
            const float *lw = f->phase == PH_WO ? L->ln1w : L->ln2w, *lb = f->phase == PH_WO ? L->ln1b : L->ln2b;
            fused_slab(f, f->x, D, A, w8, bias, 1, 0, D, a0, a1);
            if (f->lnq && tq_vec_avx512()) {   /* each row's max found by its LayerNorm, quantized while in L1 */
                for (int t = a0; t < a1; t++) {
                    float *r = f->x + (size_t)t * D;
                    tq_kact_row_max(f->act2, r, t, tq_enc_layernorm_max_avx512(r, r, lw, lb, D, c->ln_eps));
                }
                break;
            }
            for (int t = a0; t < a1; t++)
                tq_enc_layernorm(f->x + (size_t)t * D, f->x + (size_t)t * D, lw, lb, D, c->ln_eps);
            if (f->lnq) tq_kact_rows(f->act2, f->x, D, a0, a1);
            break;
        }
        if (!fused_slab(f, f->x, D, A, w8, bias, 1, n0, n1, t0, t1) ||
            !f32_slab(f, f->x, D, A, K, f->phase == PH_WO ? L->wo : L->w2, w8, bias, 1, n0, n1, t0, t1, K))
            break;
        for (int t = t0; t < t1; t++) tq_vec_add(f->x + (size_t)t * D + n0, bias + n0, n1 - n0);
        if (f->phase == PH_WO) proj(f, f->x, D, f->ctx, D, L->wo, w8, n0, n1, t0, t1, D, worker);
        else proj(f, f->x, D, f->hb, H, L->w2, w8, n0, n1, t0, t1, H, worker);
        break;
    }
    case PH_FFN1: {   /* hb = act(b1 + x W1^T) */
        if (f->ffn_rows) {   /* rows [a0, a1) whole: the same bytes as by slabs, then quantized for FFN2 */
            int a0 = task * FROWS, a1 = a0 + FROWS < T ? a0 + FROWS : T;
            fused_slab(f, f->hb, H, f->x, L->m8[M_FFN1], L->b1, 0, 0, H, a0, a1);
            if (c->act == TQ_ACT_GELU && tq_vec_avx512()) {   /* each row's max found by its GELU, quantized in L1 */
                for (int t = a0; t < a1; t++) {
                    float *r = f->hb + (size_t)t * H;
                    tq_kact_row_max(f->act2, r, t, tq_gelu_erf_max_avx512(r, H));
                }
            } else {
                for (int t = a0; t < a1; t++) tq_enc_activate(f->hb + (size_t)t * H, H, c->act);
                tq_kact_rows(f->act2, f->hb, H, a0, a1);
            }
            if (f->ffn_fuse) ffn2_rows(f, a0, a1);
            break;
        }
        int n1 = n0 + SLAB < H ? n0 + SLAB : H;
        if (fused_slab(f, f->hb, H, f->x, L->m8[M_FFN1], L->b1, 0, n0, n1, t0, t1) &&
            f32_slab(f, f->hb, H, f->x, D, L->w1, L->m8[M_FFN1], L->b1, 0, n0, n1, t0, t1, D)) {
            for (int t = t0; t < t1; t++) memcpy(f->hb + (size_t)t * H + n0, L->b1 + n0, sizeof(float) * (size_t)(n1 - n0));
            proj(f, f->hb, H, f->x, D, L->w1, L->m8[M_FFN1], n0, n1, t0, t1, D, worker);
        }
        for (int t = t0; t < t1; t++) tq_enc_activate(f->hb + (size_t)t * H + n0, n1 - n0, c->act);
        break;
    }
    case PH_QACT:
        tq_kact_rows(f->act, f->act_src, f->act_ld, r0, r1);
        break;
    case PH_LN1: case PH_LN2:
        for (int t = r0; t < r1; t++)
            tq_enc_layernorm(f->x + (size_t)t * D, f->x + (size_t)t * D, f->phase == PH_LN1 ? L->ln1w : L->ln2w,
                             f->phase == PH_LN1 ? L->ln1b : L->ln2b, D, c->ln_eps);
        if (f->qfill) tq_kact_rows(f->act, f->x, D, r0, r1);
        break;
    }
}

static void task_fn(void *ctx, int task, int worker) { run_task(ctx, task, worker); }

/* Run every task of the phase on up to n_threads threads of the shared pool
 * (the caller is one; kern/pool.h). */
static void run_phase(fw *f, int phase, int n_threads) {
    f->phase = phase;
    tq_pool_run(f->pool, n_threads, n_tasks(f), task_fn, f);
}

/* The first matrix of projection `phase` of layer L when it runs a kernel
 * over activations f->act can hold; else NULL. */
static const tq_wmat *act_mat(const fw *f, const enc_layer *L, int phase) {
    static const int mat[] = {[PH_QKV] = M_QKV, [PH_WO] = M_O, [PH_FFN1] = M_FFN1, [PH_FFN2] = M_FFN2};
    if (!f->act || !L || (phase != PH_QKV && phase != PH_WO && phase != PH_FFN1 && phase != PH_FFN2)) return NULL;
    const tq_wmat *w = &L->m8[mat[phase]][0];
    return tq_wmat_kernel(w) && tq_kact_holds(f->act, &w->k) ? w : NULL;
}

/* Begin a for T rows of the input of the matrix whose parts start at w8
 * (one, or q/k/v stacked); when every part's product reads qa alone, the
 * fill skips a's q (kern.h, tq_kact_skip_q). */
static int qa_only(const tq_wmat *w8) {
    for (int i = 0, n = w8[1].rows ? 3 : 1; i < n; i++)
        if (!tq_kact_qa_only(&w8[i].k)) return 0;
    return 1;
}

static void begin_for(tq_kact *a, int T, const tq_wmat *w8) {
    tq_kact_begin(a, T, w8[0].cols);
    if (qa_only(w8)) tq_kact_skip_q(a);
}

/* Before a row-wise phase (embeddings, LayerNorm) whose output x feeds
 * projection `phase` of layer L: when that runs a kernel, the phase's tasks
 * quantize each row of x as they finish it (no separate pass). */
static void fill_act_for(fw *f, const enc_layer *L, int phase) {
    const tq_wmat *w = act_mat(f, L, phase);
    f->qfill = 0;
    f->ready = -1;
    if (!w) return;
    begin_for(f->act, f->T, w);
    f->act_src = f->x;
    f->act_ld = f->D;
    f->qfill = 1;
    f->ready = phase;
}

/* Before a projection whose matrix runs a kernel: its input rows quantized
 * once (a phase of ROWS-token tasks) for every tile to share, unless the
 * phase before did it (fill_act_for). */
static void quantize_input(fw *f, int phase, int n_threads) {
    if (f->ready == phase) {   /* filled by the row-wise phase before */
        f->ready = -1;
        f->qfill = 0;
        return;
    }
    f->qfill = 0;
    f->ready = -1;
    f->act_src = NULL;
    const tq_wmat *w = act_mat(f, f->L, phase);
    if (!w) return;
    begin_for(f->act, f->T, w);
    f->act_src = phase == PH_WO ? f->ctx : phase == PH_FFN2 ? f->hb : f->x;
    f->act_ld = phase == PH_FFN2 ? f->H : f->D;
    run_phase(f, PH_QACT, n_threads);
    f->phase = phase;
}

/* Before FFN1 (its input quantized in act): 1 when it can run by row blocks
 * (ffn_rows), i.e. by the fused VNNI product, with FFN2 running a kernel
 * whose activations act2 can hold; act2 is then begun for FFN2's input. */
static int ffn_rows_begin(fw *f) {
    const tq_wmat *w2 = &f->L->m8[M_FFN2][0];
    if (!f->act2 || !fused_ok(f, f->x, f->L->m8[M_FFN1]) || !tq_wmat_kernel(w2) || !tq_kact_holds(f->act2, &w2->k))
        return 0;
    begin_for(f->act2, f->T, w2);
    return 1;
}

/* act2, filled with the rows of src (ld floats apart) for projection
 * `ready`, becomes act (the buffers swap): its quantize_input has nothing
 * to do. */
static void swap_act(fw *f, const float *src, int ld, int ready) {
    tq_kact *t = f->act;
    f->act = f->act2;
    f->act2 = t;
    f->act_src = src;
    f->act_ld = ld;
    f->ready = ready;
}

/* With FFN1 by row blocks begun (ffn_rows_begin): 1 when its tasks can
 * also run FFN2 and LN2 on their rows (ffn_fuse: FFN2 by the fused VNNI
 * product over act2, no observer); ffn_q then set when the next layer's
 * QKV (`next`, NULL after the last) runs a kernel whose activations act
 * holds in the state it is in now (columns, q kept or not), so the rows
 * can be quantized there with no tq_kact_begin inside the phase. */
static int ffn_fuse_begin(fw *f, const enc_layer *next) {
    const tq_wmat *w2 = f->L->m8[M_FFN2];
    if (f->e->obs || w2[1].rows || !tq_gemm_i8_avx512_bias_ok(&w2[0].k) || !tq_kact_fits(f->act2, &w2[0].k)) return 0;
    const tq_wmat *w = next ? next->m8[M_QKV] : NULL;
    f->ffn_q = w && tq_wmat_kernel(&w[0]) && tq_kact_holds(f->act, &w[0].k) && w[0].cols == f->act->cols &&
               f->act->noq == (f->act->vec == 1 && qa_only(w));
    return 1;
}

/* After FFN1 + FFN2 + LN2 by row blocks: x is the layer's output; with
 * ffn_q act holds it quantized for the next QKV. */
static void ffn_fuse_end(fw *f, const enc_layer *next) {
    f->ffn_rows = 0;
    f->ffn_fuse = 0;
    f->qfill = 0;
    f->ready = -1;
    f->act_src = NULL;
    if (!f->ffn_q) return;
    begin_for(f->act, f->T, next->m8[M_QKV]);   /* the columns and q state it has */
    f->act_src = f->x;
    f->act_ld = f->D;
    f->ready = PH_QKV;
    f->ffn_q = 0;
}

/* After FFN1 by row blocks: act2 holds FFN2's input rows. */
static void ffn_rows_end(fw *f) {
    swap_act(f, f->hb, f->H, PH_FFN2);
    f->ffn_rows = 0;
}

/* Before WO (FFN2) of layer L, its input quantized in act: when it runs by
 * the fused VNNI product, its tasks take whole token rows and finish them
 * with LN1 (LN2) themselves (ln_rows), and when the projection after the
 * LayerNorm (FFN1; QKV of layer `next`, or NULL after the last) runs a
 * kernel whose activations act2 can hold, they also quantize the rows into
 * act2 (lnq). FROWS rows a task, as FFN1's. 1 when so. */
static int ln_rows_begin(fw *f, int phase, const enc_layer *next) {
    const float *A = phase == PH_WO ? f->ctx : f->hb;
    if (!f->act2 || !fused_ok(f, A, f->L->m8[phase == PH_WO ? M_O : M_FFN2])) return 0;
    const tq_wmat *w = phase == PH_WO ? &f->L->m8[M_FFN1][0] : next ? &next->m8[M_QKV][0] : NULL;
    f->lnq = w && tq_wmat_kernel(w) && tq_kact_holds(f->act2, &w->k);
    if (f->lnq) begin_for(f->act2, f->T, w);
    f->ln_rows = FROWS;
    return 1;
}

/* After WO (FFN2) by rows: x is normalised, so the LayerNorm phase after is
 * skipped; with lnq act2 holds the next projection's input rows and becomes
 * act (as fill_act_for and the LayerNorm's tasks would have left it). */
static void ln_rows_end(fw *f, int next_phase) {
    f->ln_rows = 0;
    f->qfill = 0;
    f->ready = -1;
    f->act_src = NULL;
    if (f->lnq) swap_act(f, f->x, f->D, next_phase);
    f->lnq = 0;
}

/* Hand the input of the projection `phase` runs to the observer. */
static void observe(const fw *f, int layer, int phase) {
    const tq_enc *e = f->e;
    switch (phase) {
    case PH_QKV: e->obs(e->obs_ctx, layer, TQ_ENC_IN_QKV, f->x, f->T, f->D, f->b->mask); break;
    case PH_WO: e->obs(e->obs_ctx, layer, TQ_ENC_IN_O, f->ctx, f->T, f->D, f->b->mask); break;
    case PH_FFN1: e->obs(e->obs_ctx, layer, TQ_ENC_IN_FFN1, f->x, f->T, f->D, f->b->mask); break;
    case PH_FFN2: e->obs(e->obs_ctx, layer, TQ_ENC_IN_FFN2, f->hb, f->T, f->H, f->b->mask); break;
    default: break;
    }
}

static tq_status check_batch(const tq_enc *e, const tq_enc_batch *b, const tq_enc_out *o, tq_error *err) {
    if (!e) return tq_err(err, TQ_E_ARG, "encoder: no encoder (NULL)");
    const tq_enc_config *c = &e->c;
    if (!b || !o || b->batch < 1 || !b->ids)
        return tq_err(err, TQ_E_ARG, "encoder: a batch needs at least one sequence and its ids");
    /* every buffer is [batch * seq, width] floats with width <= max(3 dim, hidden) */
    int64_t width = 3 * (int64_t)c->dim > c->hidden_dim ? 3 * (int64_t)c->dim : c->hidden_dim;
    if (b->seq > 0 && ((int64_t)b->batch * b->seq > INT_MAX / 4 ||
                       (int64_t)b->batch * b->seq > (int64_t)(PTRDIFF_MAX / 4) / width))
        return tq_err(err, TQ_E_LIMIT, "encoder: a batch of %d x %d tokens is beyond the encoder's limit (%d tokens)",
                      b->batch, b->seq, INT_MAX / 4);
    if (b->seq < 1 || b->seq > c->max_pos)
        return tq_err(err, TQ_E_ARG, "encoder: sequence length %d is outside [1, %d] (max_position_embeddings)", b->seq,
                      c->max_pos);
    if (e->A->pos == TQ_POS_ABSOLUTE_PADDED && b->seq > c->max_pos - c->pad_token_id - 1)
        return tq_err(err, TQ_E_ARG, "encoder: sequence length %d is beyond %d (max_position_embeddings %d less "
                      "padding_idx %d + 1, where %s positions start)", b->seq, c->max_pos - c->pad_token_id - 1,
                      c->max_pos, c->pad_token_id, e->A->title);
    if (o->logits && !e->cls_w)
        return tq_err(err, TQ_E_ARG, "encoder: logits asked for, but the model has no classification head");
    for (int s = 0; s < b->batch; s++) {
        int real = 0;
        for (int p = 0; p < b->seq; p++) {
            size_t i = (size_t)s * b->seq + p;
            if (b->ids[i] < 0 || b->ids[i] >= c->vocab_size)
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: id %d is outside the vocabulary [0, %d)", s, p,
                              b->ids[i], c->vocab_size);
            int tmax = e->A->tensor[TQ_R_TYPE_EMB] ? c->type_vocab_size : 1;
            if (b->type_ids && (b->type_ids[i] < 0 || b->type_ids[i] >= tmax))
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: token type %d is outside [0, %d)", s, p,
                              b->type_ids[i], tmax);
            if (b->mask && b->mask[i] != 0 && b->mask[i] != 1)
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: mask %d is neither 0 nor 1", s, p, b->mask[i]);
            real += b->mask ? b->mask[i] : 1;
        }
        if (!real) return tq_err(err, TQ_E_ARG, "encoder: sequence %d has no real token (its mask is all 0)", s);
    }
    return TQ_OK;
}

/* Per-worker attention scratch: the int8 products' (where a layer runs them)
 * or the float32 scores' packed k^T, whichever is larger. */
static int64_t attn_scratch(const tq_enc *e, int S) {
    int64_t i8 = tq_enc_int8_attention(e) ? (int64_t)tq_attn_i8_scratch(S, e->head_size) : 0;
    int64_t f32 = (int64_t)tq_attn_f32_scratch(S, e->head_size);
    return i8 > f32 ? i8 : f32;
}

tq_status tq_enc_forward(const tq_enc *e, const tq_enc_batch *b, const tq_enc_out *o, tq_error *err) {
    tq_status st = check_batch(e, b, o, err);
    if (st) return st;
    const tq_enc_config *c = &e->c;
    int B = b->batch, S = b->seq, D = c->dim, H = c->hidden_dim, T = B * S;
    size_t TD = (size_t)T * D;
    int n_threads = tq_threads();   /* tq_set_threads, TRUEQ_THREADS or OpenBLAS's count */
    if (n_threads < 1) n_threads = 1;
    if (n_threads > TQ_ENC_MAX_THREADS) n_threads = TQ_ENC_MAX_THREADS;
    fw f = {.e = e, .b = b, .B = B, .S = S, .D = D, .H = H, .T = T, .pool = tq_pool_shared(n_threads), .ready = -1};
    f.wk = D > H ? D : H;
    /* one activation buffer for the kernels, in the first kept matrix's format */
    const tq_wmat *k0 = NULL;
    for (int l = 0; l < c->n_layers && !k0; l++)
        for (int m = 0; m < 4 && !k0; m++) k0 = tq_wmat_kernel(&e->L[l].m8[m][0]) ? &e->L[l].m8[m][0] : NULL;
    tq_enc_ws own = {0};
    tq_enc_ws_need need = {.T = T, .S = S, .D = D, .H = H, .threads = n_threads,
                           .wbuf_floats = e->n_int8 ? (int64_t)SLAB * f.wk : 0,
                           .a8_bytes = attn_scratch(e, S),
                           .need_pos = e->A->pos == TQ_POS_ABSOLUTE_PADDED, .k = k0 ? &k0->k : NULL};
    tq_enc_ws *ws = tq_enc_ws_take(e->ws, &own, &need);
    if (!ws) return tq_err(err, TQ_E_NOMEM, "encoder: out of memory for a batch of %d x %d", B, S);
    f.x = ws->x;
    f.qkv = ws->qkv;
    f.ctx = ws->ctx;
    f.hb = ws->hb;
    f.sc = ws->sc;
    f.wbuf = ws->wbuf;
    f.a8 = ws->a8;
    f.a8_bytes = ws->a8_bytes;
    f.act = ws->has_act ? &ws->act : NULL;
    f.act2 = ws->has_act2 ? &ws->act2 : NULL;
    int32_t *posid = ws->posid;
    if (posid) {
        /* transformers' create_position_ids_from_input_ids: each non-pad
         * token (by id, not mask) counts from padding_idx + 1; pads sit at
         * padding_idx */
        for (int s = 0; s < B; s++)
            for (int p = 0, n = 0; p < S; p++) {
                size_t i = (size_t)s * S + p;
                posid[i] = b->ids[i] == c->pad_token_id ? c->pad_token_id : c->pad_token_id + ++n;
            }
        f.posid = posid;
    }
    float *x = f.x;
    tq_blas_serial_enter();   /* OpenBLAS single-threaded while we run */
    fill_act_for(&f, c->n_layers ? &e->L[0] : NULL, PH_QKV);
    run_phase(&f, PH_EMBED, n_threads);
    if (o->layers) memcpy(o->layers, x, sizeof(float) * TD);
    for (int l = 0; l < c->n_layers; l++) {
        f.L = &e->L[l];
        static const int phases[] = {PH_QKV, PH_ATTN, PH_WO, PH_LN1, PH_FFN1, PH_FFN2, PH_LN2};
        const enc_layer *next = l + 1 < c->n_layers ? &e->L[l + 1] : NULL;
        int ln_done = 0;   /* the LayerNorm after WO / FFN2 ran in its tasks */
        for (size_t k = 0; k < sizeof phases / sizeof phases[0]; k++) {
            if (e->obs) observe(&f, l, phases[k]);
            if ((phases[k] == PH_LN1 || phases[k] == PH_LN2) && ln_done) {
                ln_done = 0;
                continue;
            }
            quantize_input(&f, phases[k], n_threads);
            if (phases[k] == PH_WO || phases[k] == PH_FFN2) {
                ln_done = ln_rows_begin(&f, phases[k], next);
                if (ln_done) {
                    run_phase(&f, phases[k], n_threads);
                    ln_rows_end(&f, phases[k] == PH_WO ? PH_FFN1 : PH_QKV);
                    continue;
                }
            }
            /* LayerNorms quantize their rows for the projection after them */
            if (phases[k] == PH_LN1) fill_act_for(&f, f.L, PH_FFN1);
            if (phases[k] == PH_LN2) fill_act_for(&f, next, PH_QKV);
            if (phases[k] == PH_FFN1) f.ffn_rows = ffn_rows_begin(&f);
            if (f.ffn_rows) f.ffn_fuse = ffn_fuse_begin(&f, next);
            run_phase(&f, phases[k], n_threads);
            if (f.ffn_fuse) {   /* FFN2 and LN2 ran in FFN1's tasks */
                ffn_fuse_end(&f, next);
                break;
            }
            if (f.ffn_rows) ffn_rows_end(&f);
        }
        if (o->layers) memcpy(o->layers + (size_t)(l + 1) * TD, x, sizeof(float) * TD);
    }
    if (o->hidden) memcpy(o->hidden, x, sizeof(float) * TD);

    if (o->pooled) {
        for (int s = 0; s < B; s++) {
            float *out = o->pooled + (size_t)s * D;
            const int32_t *mk = b->mask ? b->mask + (size_t)s * S : NULL;
            if (c->pooling == TQ_POOL_CLS) {
                memcpy(out, x + (size_t)s * S * D, sizeof(float) * (size_t)D);
            } else {
                int n = 0;
                for (int i = 0; i < D; i++) out[i] = 0;
                for (int p = 0; p < S; p++) {
                    if (mk && !mk[p]) continue;
                    const float *r = x + ((size_t)s * S + p) * D;
                    for (int i = 0; i < D; i++) out[i] += r[i];
                    n++;
                }
                for (int i = 0; i < D; i++) out[i] /= (float)n;
            }
            if (c->normalize) {
                double ss = 0;
                for (int i = 0; i < D; i++) ss += (double)out[i] * out[i];
                float nrm = (float)sqrt(ss);
                if (nrm < 1e-12f) nrm = 1e-12f;
                for (int i = 0; i < D; i++) out[i] /= nrm;
            }
        }
    }

    if (o->logits) {
        /* [CLS] rows -> ctx[B, D]; BERT: tanh(pooler); DistilBERT: relu(pre_classifier);
         * RoBERTa: tanh(classifier.dense) */
        int NL = c->n_labels;
        int tanh_head = e->A->head == TQ_HEAD_POOLER_TANH || e->A->head == TQ_HEAD_DENSE_TANH;
        const float *w1 = e->A->head == TQ_HEAD_POOLER_TANH ? e->pool_w : e->pre_w;
        const float *b1 = w1 == e->pool_w ? e->pool_b : e->pre_b;
        float *ctx = f.ctx;
        for (int s = 0; s < B; s++) memcpy(ctx + (size_t)s * D, b1, sizeof(float) * (size_t)D);
        gemm_slab(ctx, D, x, S * D, w1, B, 0, D, D);
        for (int i = 0; i < B * D; i++) ctx[i] = tanh_head ? tanhf(ctx[i]) : (ctx[i] > 0 ? ctx[i] : 0.0f);
        for (int s = 0; s < B; s++) memcpy(o->logits + (size_t)s * NL, e->cls_b, sizeof(float) * (size_t)NL);
        gemm_slab(o->logits, NL, ctx, D, e->cls_w, B, 0, NL, D);
    }
    tq_blas_serial_leave();
    tq_enc_ws_give(e->ws, ws);
    return st;
}
