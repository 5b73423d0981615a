/*
 * rowstream.c — a float32 tensor's rows read in chunks, the next chunk read
 * while the current one is processed (rowstream.h).
 */
#include "convert/rowstream.h"
#include "core/wmem.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* About 1 MiB of rows per chunk: small enough that the first chunk of a
 * tensor (read before any work can start, unless it was read ahead) and the
 * last one (processed with no read beside it) are short; large enough that a
 * step's pool run costs little next to it. A chunk is processed in up to
 * SLICES tasks of equal rows. */
enum { CHUNK_BYTES = 1 << 20, SLICES = 8 };

static int64_t chunk_rows(const tq_rowsrc *r) {
    uint64_t rowb = (uint64_t)r->cols * sizeof(float);
    int64_t step = rowb ? (int64_t)(CHUNK_BYTES / rowb) : 1;
    return step < 1 ? 1 : step;
}

/* buf[b] with room for n floats (its contents are not kept). At least
 * TQ_WMEM_OWN bytes, so that a buffer is one mapping on a huge page (one page
 * fault and one clear for the whole run, where 4 KiB pages cost a fault each
 * on the first read into it) and a chunk a little larger than the last one
 * (another shape) never reallocates it. */
static float *room(tq_rowstream *s, int b, size_t n) {
    if (n <= s->cap[b]) return s->buf[b];
    tq_wmem_free(s->buf[b]);
    size_t bytes = n * sizeof(float) > TQ_WMEM_OWN ? n * sizeof(float) : TQ_WMEM_OWN;
    s->buf[b] = tq_wmem_scratch(bytes, 0);
    s->cap[b] = s->buf[b] ? bytes / sizeof(float) : 0;
    return s->buf[b];
}

/* One read: rows [r0, r0+n) of r into dst. */
typedef struct rd { const tq_rowsrc *r; int64_t r0, n; float *dst; tq_status st; tq_error err; } rd;

static void do_read(rd *x) {
    uint64_t rowb = (uint64_t)x->r->cols * sizeof(float);
    x->st = tq_map_read(x->r->mp, x->r->off + (uint64_t)x->r0 * rowb, x->dst, (size_t)((uint64_t)x->n * rowb), &x->err);
}

/* One step: task 0 the read (when there is one), then the chunk's slices. */
typedef struct tq_rowstep {
    rd         read;
    int        has_read;
    const float *rows;
    int64_t    c0, n, per, cols;   /* the chunk's first row, its rows, rows per slice */
    int        nslices;
    tq_rows_fn fn;
    void      *ctx;
    int        has_defer;      /* the side task: the deferred one (tq_rowstream_defer), then a queued piece */
    int        has_piece;
    tq_piece   piece;
    tq_defer_fn dfn;
    void      *dctx;
    tq_status  dst;
    tq_error   derr;
    tq_status  st[SLICES];
    tq_error   err[SLICES];
} step;

tq_status tq_rowstream_init(tq_rowstream *s, int threads, tq_error *err) {
    memset(s, 0, sizeof *s);
    if (!(s->step = malloc(sizeof *s->step))) return tq_err(err, TQ_E_NOMEM, "out of memory");
    if (threads <= 0) { long c = sysconf(_SC_NPROCESSORS_ONLN); threads = c > 0 ? (int)c : 1; }
    if (threads > TQ_POOL_MAX) threads = TQ_POOL_MAX;
    s->pool = tq_pool_shared(threads);
    s->threads = s->pool ? threads : 1;
    return TQ_OK;
}

/* ---- the lane's thread (tq_rowstream_queue with more than one thread) ---- */

struct tq_lane {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool closing, stop;   /* closing: run what is queued, then end; stop: end now */
    int busy;             /* a piece queued or running (read without the lock: a hint) */
    tq_status st;         /* the first failing piece's */
    tq_error err;
};

/* Run queued pieces until none is left (or one failed): the lane's thread,
 * and the caller of tq_rowstream_flush beside it (the pieces are independent:
 * disjoint parts of the output). wait: sleep while the queue is empty and the
 * lane is not closing. */
static void lane_work(tq_rowstream *s, bool wait) {
    struct tq_lane *l = s->lt;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (wait && s->lane_head == s->lane_n && !l->closing && !l->stop) pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop || s->lane_head == s->lane_n) break;
        __atomic_store_n(&l->busy, 1, __ATOMIC_RELAXED);
        tq_piece pc = s->lane[s->lane_head++];
        pthread_mutex_unlock(&l->mu);
        tq_error e = {0};
        tq_status st = pc.fn(pc.ctx, pc.i, pc.j, pc.a, pc.b, &e);
        pthread_mutex_lock(&l->mu);
        if (st && !l->st) { l->st = st; l->err = e; l->stop = true; }
    }
    if (wait) __atomic_store_n(&l->busy, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&l->mu);
}

static void *lane_main(void *a) {
    lane_work(a, true);
    return NULL;
}

/* End the lane's thread: after what is queued (closing), or now; its status. */
static tq_status lane_end(tq_rowstream *s, bool finish, tq_error *err) {
    struct tq_lane *l = s->lt;
    if (!l) return TQ_OK;
    pthread_mutex_lock(&l->mu);
    if (finish) l->closing = true; else l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL);
    tq_status st = l->st;
    if (st && err) *err = l->err;
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
    s->lt = NULL;
    if (st || !finish) s->lane_head = s->lane_n = 0;   /* dropped */
    return st;
}

void tq_rowstream_free(tq_rowstream *s) {
    lane_end(s, false, NULL);   /* a failed run: queued pieces dropped */
    tq_wmem_free(s->buf[0]);
    tq_wmem_free(s->buf[1]);
    free(s->step);
    free(s->lane);
    memset(s, 0, sizeof *s);
}

static void step_task(void *arg, int task, int worker) {
    step *x = arg;
    (void)worker;
    if (x->has_read && task-- == 0) { do_read(&x->read); return; }
    if (x->has_defer && task-- == 0) {
        x->dst = x->dfn ? x->dfn(x->dctx, &x->derr) : TQ_OK;
        if (!x->dst && x->has_piece)
            x->dst = x->piece.fn(x->piece.ctx, x->piece.i, x->piece.j, x->piece.a, x->piece.b, &x->derr);
        return;
    }
    int64_t a = (int64_t)task * x->per, b = a + x->per < x->n ? a + x->per : x->n;
    x->st[task] = x->fn(x->ctx, x->rows + a * x->cols, x->c0 + a, b - a, &x->err[task]);
}

static tq_status fail(tq_rowstream *s, tq_status st, const tq_error *e, tq_error *err) {
    s->ahead = 0;
    if (err && e) *err = *e;
    return st;
}

/* One pool run of x, with the deferred task when one is pending; its status first. */
static tq_status run_step(tq_rowstream *s, step *x, tq_error *err) {
    x->has_piece = !s->lt && s->lane_head < s->lane_n;
    if (x->has_piece) x->piece = s->lane[s->lane_head++];
    x->has_defer = s->defer_fn != NULL || x->has_piece;
    x->dfn = s->defer_fn;
    x->dctx = s->defer_ctx;
    s->defer_fn = NULL;
    /* while the lane's thread copies, it has a core of its own: the run takes one thread
     * fewer (no pool thread competing with it for a core and stalling the run's end) */
    int th = s->lt && s->threads > 1 && __atomic_load_n(&s->lt->busy, __ATOMIC_RELAXED) ? s->threads - 1 : s->threads;
    tq_pool_run(s->pool, th, x->nslices + x->has_read + x->has_defer, step_task, x);
    if (x->has_defer && x->dst) return fail(s, x->dst, &x->derr, err);
    for (int k = 0; k < x->nslices; k++)
        if (x->st[k]) return fail(s, x->st[k], &x->err[k], err);
    return TQ_OK;
}

tq_status tq_rowstream_drain(tq_rowstream *s, tq_error *err) {
    tq_defer_fn fn = s->defer_fn;
    s->defer_fn = NULL;
    return fn ? fn(s->defer_ctx, err) : TQ_OK;
}

tq_status tq_rowstream_queue(tq_rowstream *s, const tq_piece *pc, tq_error *err) {
    struct tq_lane *l = s->lt;
    if (!l && s->threads > 1 && (l = calloc(1, sizeof *l))) {   /* the lane's thread, at the first piece */
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->cv, NULL);
        s->lt = l;
        if (pthread_create(&l->th, NULL, lane_main, s) != 0) {   /* no thread: the pool runs take the pieces */
            pthread_mutex_destroy(&l->mu);
            pthread_cond_destroy(&l->cv);
            free(l);
            s->lt = l = NULL;
        }
    }
    if (l) pthread_mutex_lock(&l->mu);
    tq_status st = TQ_OK;
    if (s->lane_head == s->lane_n) s->lane_head = s->lane_n = 0;
    if (s->lane_n == s->lane_cap) {
        int64_t cap = s->lane_cap ? 2 * s->lane_cap : 64;
        tq_piece *nl = realloc(s->lane, sizeof *nl * (size_t)cap);
        if (!nl) st = tq_err(err, TQ_E_NOMEM, "out of memory");
        else { s->lane = nl; s->lane_cap = cap; }
    }
    if (!st) s->lane[s->lane_n++] = *pc;
    if (l) { __atomic_store_n(&l->busy, 1, __ATOMIC_RELAXED); pthread_cond_signal(&l->cv); pthread_mutex_unlock(&l->mu); }
    return st;
}

tq_status tq_rowstream_flush(tq_rowstream *s, tq_error *err) {
    tq_status st = tq_rowstream_drain(s, err);
    if (s->lt && !st) lane_work(s, false);   /* the rest of the queue on two threads: the lane's and this one */
    tq_status ls = lane_end(s, true, st ? NULL : err);
    if (!st) st = ls;
    while (!st && s->lane_head < s->lane_n) {
        const tq_piece *pc = &s->lane[s->lane_head++];
        st = pc->fn(pc->ctx, pc->i, pc->j, pc->a, pc->b, err);
    }
    return st;
}

tq_status tq_rowstream_defer(tq_rowstream *s, tq_defer_fn fn, void *ctx, tq_error *err) {
    tq_status st = tq_rowstream_drain(s, err);
    if (st) return st;
    s->defer_fn = fn;
    s->defer_ctx = ctx;
    return TQ_OK;
}

tq_status tq_rowstream_run(tq_rowstream *s, const tq_rowsrc *src, const tq_rowsrc *next, tq_rows_fn fn, void *ctx,
                           tq_error *err) {
    if (src->rows <= 0 || src->cols <= 0) return tq_rowstream_drain(s, err);
    int64_t step_n = chunk_rows(src);
    int cur = 0;
    step *x = s->step;   /* large: a tq_error per slice */
    tq_status st;
    if (s->ahead && s->ahead_src.mp == src->mp && s->ahead_src.off == src->off && s->ahead_src.rows == src->rows &&
        s->ahead_src.cols == src->cols) {
        cur = s->ahead_buf;
        s->ahead = 0;
        if (s->ahead_st) return fail(s, s->ahead_st, &s->ahead_err, err);
    } else {
        s->ahead = 0;   /* the first chunk: read beside the deferred task, if any */
        int64_t n = src->rows < step_n ? src->rows : step_n;
        memset(x, 0, sizeof *x);
        x->read = (rd){src, 0, n, room(s, 0, (size_t)(n * src->cols)), TQ_OK, {0}};
        x->has_read = 1;
        if (!x->read.dst) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for a row chunk", src->name);
        if ((st = run_step(s, x, err))) return st;
        if (x->read.st) return fail(s, x->read.st, &x->read.err, err);
    }
    for (int64_t c0 = 0; c0 < src->rows; c0 += step_n) {
        int64_t n = src->rows - c0 < step_n ? src->rows - c0 : step_n;
        if (tq_fault("chunk", src->name)) {
            s->ahead = 0;
            return tq_err(err, TQ_E_IO, "tensor \"%s\": injected fault in a chunk", src->name);
        }
        memset(x, 0, sizeof *x);
        x->rows = s->buf[cur];
        x->c0 = c0; x->n = n; x->cols = src->cols;
        x->per = (n + SLICES - 1) / SLICES;
        x->nslices = (int)((n + x->per - 1) / x->per);
        x->fn = fn; x->ctx = ctx;
        bool last = c0 + n >= src->rows, ahead = last && next && next->rows > 0 && next->cols > 0;
        if (!last || ahead) {   /* read the next chunk, of this tensor or the next one, into the other buffer */
            const tq_rowsrc *r = last ? next : src;
            int64_t r0 = last ? 0 : c0 + n, cn = last ? chunk_rows(next) : step_n;
            if (cn > r->rows - r0) cn = r->rows - r0;
            float *dst = room(s, cur ^ 1, (size_t)(cn * r->cols));
            if (!dst) return fail(s, tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for a row chunk", r->name), NULL, err);
            x->read = (rd){r, r0, cn, dst, TQ_OK, {0}};
            x->has_read = 1;
        }
        if ((st = run_step(s, x, err))) return st;
        if (ahead) {   /* kept for next: its status is reported when it is streamed */
            s->ahead = 1;
            s->ahead_buf = cur ^ 1;
            s->ahead_src = *next;
            s->ahead_st = x->read.st;
            s->ahead_err = x->read.err;
        } else if (x->has_read && x->read.st) {
            return fail(s, x->read.st, &x->read.err, err);
        }
        cur ^= 1;
    }
    return TQ_OK;
}
