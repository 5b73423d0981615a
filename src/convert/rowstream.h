/*
 * rowstream.h — stream a float32 tensor's rows from its input file in
 * chunks, reading the next chunk while the current one is processed
 * (internal to convert: execute.c and gguf_export.c).
 *
 * A tensor is read CHUNK rows at a time (about 1 MiB of input) with pread
 * (tq_map_read: a file that shrinks is TQ_E_IO, never SIGBUS) into one of two
 * buffers. Each step is one run on the process's thread pool (kern/pool.h):
 * one task reads chunk k+1 into the other buffer while the remaining tasks
 * hand chunk k to the caller's function in slices of rows (fixed by the shape,
 * never by the thread count). During a tensor's last chunk the first chunk of
 * the tensor named as `next` is read, so reads overlap work across tensors too.
 *
 * Contract for fn: it computes rows [r0, r0+n) from `rows` (n x cols float32,
 * row-major) and writes only what belongs to those rows, so the result is the
 * same bytes whatever the threads and the slicing. It may be called on any
 * pool thread, concurrently for different slices; it must not call the fault
 * hook or the writer. The fault point "chunk" is passed on the calling thread,
 * once per chunk, in order, before the chunk is processed; reads (fault point
 * "read") run one at a time.
 *
 * Errors: the first failing slice's status (lowest r0), else the read's. A
 * failed read of the next tensor's first chunk is kept and reported when that
 * tensor is streamed.
 */
#ifndef TQ_CONVERT_ROWSTREAM_H
#define TQ_CONVERT_ROWSTREAM_H
#include "core/internal.h"
#include "kern/pool.h"

/** A tensor's float32 rows in its file: [rows, cols] at offset off of mp. */
typedef struct tq_rowsrc {
    const tq_map *mp;
    uint64_t      off;
    int64_t       rows, cols;
    const char   *name;    /* for messages */
} tq_rowsrc;

/** Process rows [r0, r0+n) (`rows` points at row r0). */
typedef tq_status (*tq_rows_fn)(void *ctx, const float *rows, int64_t r0, int64_t n, tq_error *err);

/** A task run later (tq_rowstream_defer). */
typedef tq_status (*tq_defer_fn)(void *ctx, tq_error *err);

/** A piece of background work (tq_rowstream_queue): fn(ctx, i, j, a, b). */
typedef tq_status (*tq_piece_fn)(void *ctx, int64_t i, int64_t j, uint64_t a, uint64_t b, tq_error *err);
typedef struct tq_piece { tq_piece_fn fn; void *ctx; int64_t i, j; uint64_t a, b; } tq_piece;

/** Two chunk buffers (grow-only, reused for every tensor of a run), the pool
 *  and the first chunk of the next tensor when it was read ahead. Zero it,
 *  set threads with tq_rowstream_init, free with tq_rowstream_free. */
typedef struct tq_rowstream {
    float    *buf[2];
    size_t    cap[2];
    tq_pool  *pool;
    int       threads;
    int       ahead;         /* buf[ahead_buf] holds the first chunk of ahead_src */
    int       ahead_buf;
    tq_rowsrc ahead_src;
    tq_status ahead_st;      /* its read's status and error */
    tq_error  ahead_err;
    struct tq_rowstep *step; /* one step's tasks and their errors (rowstream.c) */
    tq_defer_fn defer_fn;    /* pending deferred task, or NULL */
    void     *defer_ctx;
    tq_piece *lane;          /* queued pieces [lane_head, lane_n) (tq_rowstream_queue) */
    int64_t   lane_head, lane_n, lane_cap;
    struct tq_lane *lt;      /* the lane's own thread, when the stream has more than one (rowstream.c) */
} tq_rowstream;


/** threads <= 0: one per online CPU. TQ_E_NOMEM when out of memory. */
tq_status tq_rowstream_init(tq_rowstream *s, int threads, tq_error *err);
void      tq_rowstream_free(tq_rowstream *s);
/** Stream src through fn; next (or NULL): the tensor streamed after it, whose
 *  first chunk is read during src's last one. */
tq_status tq_rowstream_run(tq_rowstream *s, const tq_rowsrc *src, const tq_rowsrc *next, tq_rows_fn fn, void *ctx,
                           tq_error *err);
/** Run fn(ctx) as one task of this stream's next pool run (beside that run's
 *  read and slices, so it overlaps them; e.g. writing out the tensor just
 *  streamed), or at tq_rowstream_drain, whichever comes first. A pending
 *  one is drained first. Its status is returned by that run or drain. Until
 *  then the caller keeps ctx and what fn reads unchanged, and touches nothing
 *  fn touches (the writer): drain first. */
tq_status tq_rowstream_defer(tq_rowstream *s, tq_defer_fn fn, void *ctx, tq_error *err);
/** Queue a piece of background work, run in order, one at a time. With more
 *  than one thread the pieces run on a thread of their own (started at the
 *  first piece), beside the pool runs and the deferred task, so a kept tensor
 *  copied into the output overlaps the whole quantization instead of one
 *  task of each pool run (a piece and a deferred task may then write at
 *  once: at disjoint offsets; while pieces wait or run, the pool runs take
 *  one thread fewer, leaving the lane its core); with one thread each pool run takes the
 *  oldest queued piece into the deferred task's task, after it. What is left
 *  runs at tq_rowstream_flush. TQ_E_NOMEM. A piece's failure stops the lane
 *  and is reported by tq_rowstream_flush. */
tq_status tq_rowstream_queue(tq_rowstream *s, const tq_piece *pc, tq_error *err);
/** The deferred task, then every queued piece (waiting for the lane's thread);
 *  the first failure. */
tq_status tq_rowstream_flush(tq_rowstream *s, tq_error *err);
/** Run the pending deferred task now, on the caller (TQ_OK when none); queued pieces stay. */
tq_status tq_rowstream_drain(tq_rowstream *s, tq_error *err);
#endif
