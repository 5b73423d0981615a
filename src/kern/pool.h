/*
 * pool.h — one thread pool for a whole forward pass (internal).
 *
 * Workers poll for the next run for about 100 microseconds after one ends
 * (a decoder step makes runs back to back), then sleep on a condition
 * variable, so an idle pool costs nothing; a run
 * hands out tasks 0..n-1 through an atomic counter and the caller works as
 * one of the threads. Callers split work into tasks fixed by the shapes, so
 * what a task computes never depends on which thread or how many run it.
 *
 * tq_pool_shared gives the process one pool (created on first use, grown
 * when more threads are asked for); runs on it are serialised by a mutex, so
 * two forward passes on different threads take turns.
 */
#ifndef TQ_KERN_POOL_H
#define TQ_KERN_POOL_H

typedef struct tq_pool tq_pool;
typedef void (*tq_pool_fn)(void *ctx, int task, int worker);

#define TQ_POOL_MAX 64

/** The shared pool with at least min(threads, TQ_POOL_MAX) threads (the
 *  caller counted), or NULL when threads <= 1 or none could be started
 *  (callers then run the tasks themselves). */
tq_pool *tq_pool_shared(int threads);
/** Run fn(ctx, task, worker) for task in [0, n) on up to `threads` threads
 *  (worker in [0, threads)); returns when every task is done. A NULL pool
 *  runs them on the caller. */
void     tq_pool_run(tq_pool *p, int threads, int n, tq_pool_fn fn, void *ctx);
/** One-shot: tasks [0, n) on the shared pool at tq_threads() threads (the
 *  caller alone when none can start), OpenBLAS single-threaded meanwhile.
 *  For tasks that do not index per-worker scratch by `worker`. */
void     tq_pool_run_all(int n, tq_pool_fn fn, void *ctx);
#endif
