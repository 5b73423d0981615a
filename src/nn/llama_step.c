/*
 * llama_step.c — the decoder's forward pass for one token (tq_llama_forward;
 * the equations are in llama.c's header) and how it is split over the
 * shared pool.
 *
 * At T threads a layer is five pool runs, each a set of tasks fixed by the
 * shapes (what a task computes never depends on T or on which thread runs
 * it, so the bytes are the same at any thread count):
 *   1. q, k, v products: their rows as one list, cut into contiguous ranges
 *      on multiples of 8 rows (each thread reads one stream of rows);
 *   2. attention, one task per query head (that head's RoPE of q, its
 *      scores, softmax and values; k's RoPE runs before, on the caller);
 *   3. wo; 4. w1 and w3 over the same row ranges, each task then taking
 *   SwiGLU of its rows; 5. w2. The lm_head is one more run of ranges.
 * RMSNorm, the residual adds, biases and k's RoPE stay on the caller (each
 * is O(dim)). At one thread (or without a pool) every run is the caller
 * running its tasks in order.
 */
#include "core/internal.h"
#include "core/blas.h"
#include "trueq_llama.h"
#include "nn/ops/wmat.h"
#include "nn/llama_impl.h"
#include "nn/ops/ggml_ops.h"
#include "kern/pool.h"
#include <stdatomic.h>
#include <stdlib.h>

/* y[rows] = W[rows, cols] x[cols] */
static void matvec_f32(float *y, const float *W, const float *x, int rows, int cols) {
    tq_blas()->sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, W, cols, x, 1, 0.0f, y, 1);
}

/* The same from stored codes: a chunk of rows at a time is decoded into buf
 * (tq_dequantize_rows: exactly the values tq_dequantize gives) and
 * multiplied with sgemv, so at most max(I8_BUF_FLOATS, 4 * cols) floats are
 * expanded. */
static void matvec_rows(float *y, const tq_wmat *w, const float *x, int rows, int cols, float *buf) {
    int chunk = i8_chunk_rows(cols);
    for (int r0 = 0; r0 < rows; r0 += chunk) {
        int nr = rows - r0 < chunk ? rows - r0 : chunk;
        tq_wmat_rows(w, r0, r0 + nr, buf);
        tq_blas()->sgemv(CblasRowMajor, CblasNoTrans, nr, cols, 1.0f, buf, cols, x, 1, 0.0f, y + r0, 1);
    }
}

static void matvec(float *y, const tq_wmat *w, const float *x, int rows, int cols, float *buf) {
    if (tq_wmat_kernel(w) && tq_wmat_matmul(w, x, cols, 1, 0, rows, y, rows, 0) == TQ_OK) return;
    if (tq_wmat_quantized(w)) matvec_rows(y, w, x, rows, cols, buf);
    else matvec_f32(y, w->f, x, rows, cols);
}

/* ---- products ------------------------------------------------------------- */

/* Up to three products of one step in one pool run. The matrices that split
 * (a kernel over their codes, or float32) give their rows as one list, item
 * after item, cut into `tasks` contiguous ranges whose ends are multiples of
 * 8 rows; with `glu` set the two items (w1, w3) have the same rows and a
 * task takes the same range of both, then glu(y0, y0, y1) over it (glu's
 * result on a range of multiple-of-8 start is its result on the whole
 * there). The others run on the caller after the run, as one product each. */
typedef void (*mv_glu)(float *h, const float *g, const float *u, int n);
typedef struct mv_item { float *y; const tq_wmat *w; const float *x; int rows, cols; } mv_item;
typedef struct mv_run {
    const mv_item *it;
    int n, split[3], total, tasks;
    mv_glu glu;
    const tq_kact *act[3];   /* item i's quantized x: own[i], or an earlier item's of the same x and format */
    tq_kact own[3];
    atomic_int failed;
} mv_run;

/* Ranges per thread: more than 1 lets a thread that finishes early take
 * over; 1 keeps each thread's rows one stream (the rows are read from DRAM
 * at one token, and the hardware prefetcher follows a stream). */
#define MV_TASKS_PER_THREAD 1

static void mv_rows(mv_run *m, int i, int r0, int r1) {
    const mv_item *it = &m->it[i];
    if (!tq_wmat_quantized(it->w))   /* float32: OpenBLAS, one thread, this task's rows */
        tq_blas()->sgemv(CblasRowMajor, CblasNoTrans, r1 - r0, it->cols, 1.0f, it->w->f + (size_t)r0 * it->cols, it->cols,
                    it->x, 1, 0.0f, it->y + r0, 1);
    else if (m->act[i]) tq_wmat_matmul_act(it->w, m->act[i], r0, r1, it->y, it->rows, 0);
    else if (tq_wmat_matmul(it->w, it->x, it->cols, 1, r0, r1, it->y, it->rows, 0)) atomic_store(&m->failed, 1);
}

/* Task t: rows [t total / tasks, (t + 1) total / tasks) of the list, each
 * end rounded down to a multiple of 8 (the last one is total). */
static void mv_task(void *ctx, int task, int worker) {
    (void)worker;
    mv_run *m = ctx;
    int g0 = (int)((int64_t)m->total * task / m->tasks) & ~7;
    int g1 = task + 1 == m->tasks ? m->total : (int)((int64_t)m->total * (task + 1) / m->tasks) & ~7;
    if (m->glu) {   /* the two items over the same rows, then their GLU */
        mv_rows(m, 0, g0, g1);
        mv_rows(m, 1, g0, g1);
        m->glu(m->it[0].y + g0, m->it[0].y + g0, m->it[1].y + g0, g1 - g0);
        return;
    }
    for (int i = 0, base = 0; i < m->n && g0 < g1; i++) {
        if (!m->split[i]) continue;
        int rows = m->it[i].rows, a = g0 - base, b = g1 - base;
        if (a < rows && b > 0) mv_rows(m, i, a < 0 ? 0 : a, b > rows ? rows : b);
        base += rows;
    }
}

/* it[0..n) products; with glu (n == 2, the same rows) then it[0].y =
 * glu(it[0].y, it[1].y). */
static void matvecs(tq_pool *pool, int threads, const mv_item *it, int n, mv_glu glu, float *buf) {
    mv_run m = {.it = it, .n = n};
    int all = 1;
    for (int i = 0; i < n; i++) {
        m.split[i] = tq_wmat_kernel(it[i].w) || !tq_wmat_quantized(it[i].w);
        all &= m.split[i];
        if (m.split[i]) m.total += it[i].rows;
        /* x quantized once for every task (else each task quantizes it), and
         * once for the items that read the same x in the same format (q, k, v) */
        if (!m.split[i] || !tq_wmat_kernel(it[i].w)) continue;
        for (int j = 0; j < i && !m.act[i]; j++)
            if (m.act[j] && it[j].x == it[i].x && it[j].cols == it[i].cols && tq_kact_fits(m.act[j], &it[i].w->k))
                m.act[i] = m.act[j];
        if (!m.act[i] && tq_kact_init(&m.own[i], &it[i].w->k, 1, it[i].cols) == TQ_OK) {
            tq_kact_begin(&m.own[i], 1, it[i].cols);
            tq_kact_rows(&m.own[i], it[i].x, it[i].cols, 0, 1);
            m.act[i] = &m.own[i];
        }
    }
    if (glu && all) { m.glu = glu; m.total = it[0].rows; }
    else if (glu) {   /* all on the caller, then glu */
        for (int i = 0; i < n; i++) m.split[i] = 0;
        m.total = 0;
    }
    m.tasks = pool && threads > 1 ? threads * MV_TASKS_PER_THREAD : 1;
    if (m.tasks > (m.total + 7) / 8) m.tasks = (m.total + 7) / 8;
    atomic_init(&m.failed, 0);
    if (m.total) tq_pool_run(pool, threads, m.tasks, mv_task, &m);
    for (int i = 0; i < n; i++) tq_kact_free(&m.own[i]);
    int redo = 0;
    for (int i = 0; i < n; i++)   /* no kernel, or its buffers could not be had: the decoded path */
        if (!m.split[i] || (atomic_load(&m.failed) && tq_wmat_quantized(it[i].w))) redo = 1;
    for (int i = 0; i < n; i++)
        if (!m.split[i] || (redo && glu) || (atomic_load(&m.failed) && tq_wmat_quantized(it[i].w)))
            matvec(it[i].y, it[i].w, it[i].x, it[i].rows, it[i].cols, buf);
    if (glu && redo) glu(it[0].y, it[0].y, it[1].y, it[0].rows);
}

/* ---- attention ------------------------------------------------------------ */

/* One task per query head h: RoPE of q's head h, then its attention over
 * the cached positions [p0, pos] into out's head h, with its own scratch
 * (att + h * max_seq). */
typedef struct hd_run {
    const tq_llama *l;
    float *out, *q, *att;
    const float *kc, *vc;     /* position p0's row of this layer's cache */
    const double *cs;
    int n_pos, max_seq;
} hd_run;

static void hd_task(void *ctx, int h, int worker) {
    (void)worker;
    const hd_run *r = ctx;
    const tq_llama *l = r->l;
    int hs = l->head_size, group = l->c.n_heads / l->c.n_kv_heads;
    float *qh = r->q + (size_t)h * hs;
    size_t koff = (size_t)(h / group) * hs;
    TQ_ROPE_APPLY(l)(qh, 1, hs, l->rope_dim, l->A->pos == TQ_POS_ROPE_HALF, r->cs);
    TQ_ATTENTION(l)(r->out + (size_t)h * hs, qh, r->kc + koff, r->vc + koff, r->n_pos, 1, 1, hs, l->kv_dim,
                    r->att + (size_t)h * r->max_seq);
}

/* ---- forward -------------------------------------------------------------- */

tq_status tq_llama_forward(const tq_llama *l, tq_llama_state *s, int token, int pos,
                           float *logits, tq_error *err) {
    const tq_llama_config *c = &l->c;
    if (s->owner != l) return tq_err(err, TQ_E_ARG, "decoder: the state was made for another decoder");
    if (token < 0 || token >= c->vocab_size)
        return tq_err(err, TQ_E_ARG, "decoder: token %d is outside the vocabulary [0, %d)", token, c->vocab_size);
    if (pos < 0 || pos >= s->max_seq)
        return tq_err(err, TQ_E_ARG, "decoder: position %d is outside the cache [0, %d)", pos, s->max_seq);
    if (pos > s->filled)
        return tq_err(err, TQ_E_ARG, "decoder: position %d follows unfilled positions (only 0..%d are cached)", pos, s->filled - 1);
    int D = c->dim, H = c->hidden_dim, KV = l->kv_dim, hs = l->head_size;
    int half = l->A->pos == TQ_POS_ROPE_HALF;
    float *x = s->x;
    int threads = tq_threads();   /* tq_set_threads, TRUEQ_THREADS or OpenBLAS's count */
    tq_pool *pool = tq_pool_shared(threads);
    tq_blas_serial_enter();   /* OpenBLAS single-threaded: the pool splits by rows, fixed by shape */
    tq_wmat_rows(&l->tok, token, token + 1, x);   /* one row (decoded when held as stored) */
    TQ_ROPE_TABLE(l)(s->rope_cs, l->rope_dim, pos, c->rope_theta, s->rope_f, c->rope_mscale);   /* every layer's */
    for (int li = 0; li < c->n_layers; li++) {
        const llama_layer *w = &l->L[li];
        size_t lo = (size_t)li * (size_t)s->max_seq * (size_t)KV;
        float *kc = s->kc + lo, *vc = s->vc + lo;
        float *k = kc + (size_t)pos * KV, *v = vc + (size_t)pos * KV;
        TQ_RMSNORM(l)(s->xb, x, w->w[T_ATT_NORM].f, D, c->norm_eps);
        mv_item qkv[3] = {{s->q, &w->w[T_WQ], s->xb, D, D}, {k, &w->w[T_WK], s->xb, KV, D}, {v, &w->w[T_WV], s->xb, KV, D}};
        matvecs(pool, threads, qkv, 3, NULL, s->wbuf);
        float *qkv_out[3] = {s->q, k, v};
        for (int b = 0; b < 3; b++)
            if (w->bias[b])
                for (int i = 0; i < qkv[b].rows; i++) qkv_out[b][i] += w->bias[b][i];
        TQ_ROPE_APPLY(l)(k, c->n_kv_heads, hs, l->rope_dim, half, s->rope_cs);
        /* a sliding window sees positions (pos - window, pos] */
        int p0 = c->sliding_window && pos + 1 > c->sliding_window ? pos + 1 - c->sliding_window : 0;
        hd_run hr = {l, s->xb, s->q, s->att, kc + (size_t)p0 * KV, vc + (size_t)p0 * KV, s->rope_cs, pos + 1 - p0,
                     s->max_seq};
        tq_pool_run(pool, threads, c->n_heads, hd_task, &hr);
        matvecs(pool, threads, &(mv_item){s->xb2, &w->w[T_WO], s->xb, D, D}, 1, NULL, s->wbuf);
        for (int i = 0; i < D; i++) x[i] += s->xb2[i];
        TQ_RMSNORM(l)(s->xb, x, w->w[T_FFN_NORM].f, D, c->norm_eps);
        mv_item up[2] = {{s->hb, &w->w[T_W1], s->xb, H, D}, {s->hb2, &w->w[T_W3], s->xb, H, D}};
        matvecs(pool, threads, up, 2, TQ_SWIGLU(l), s->wbuf);
        matvecs(pool, threads, &(mv_item){s->xb2, &w->w[T_W2], s->hb, D, H}, 1, NULL, s->wbuf);
        for (int i = 0; i < D; i++) x[i] += s->xb2[i];
    }
    s->filled = pos + 1;
    if (logits) {
        TQ_RMSNORM(l)(s->xb, x, l->norm, D, c->norm_eps);
        const tq_wmat *ow = &l->out8;
        if (!tq_wmat_kernel(ow)) ow = c->tied ? &l->tok : &l->out;
        matvecs(pool, threads, &(mv_item){logits, ow, s->xb, c->vocab_size, D}, 1, NULL, s->wbuf);
    }
    tq_blas_serial_leave();
    return TQ_OK;
}
