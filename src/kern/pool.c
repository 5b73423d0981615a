/*
 * pool.c — the forward pass's thread pool: workers that spin briefly
 * between back-to-back runs and then sleep, tasks handed out by an atomic
 * counter (pool.h).
 */
#include "kern/pool.h"
#include "core/blas.h"
#include <pthread.h>
#include <stdatomic.h>
#include "trueq.h"
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a worker polls for the next run, and the caller for the end of
 * its run, before sleeping on a condition variable: a decoder step makes
 * about four runs per layer, a few microseconds apart, so a worker that
 * polls is there at once; an idle pool sleeps after this. */
#define SPIN_NS 100000L
static long spin_ns = SPIN_NS;   /* TRUEQ_POOL_SPIN_US overrides (0: sleep at once) */

struct tq_pool {
    pthread_mutex_t run_mu;       /* one run at a time                         */
    pthread_mutex_t mu;           /* guards sleeping on wake/done              */
    pthread_cond_t  wake, done;
    pthread_t       tid[TQ_POOL_MAX];
    int             n_workers;    /* threads started besides callers           */
    atomic_ulong    gen;          /* bumped per run: workers wait for a change */
    atomic_int      sleepers;     /* workers asleep on wake (counted under mu) */
    atomic_int      caller_asleep;/* the caller asleep on done (under mu)      */
    atomic_int      inside;       /* the run's door: CLOSED bit, workers allowed
                                     (<< 16) and workers inside (low 16 bits) */
    int             n;
    atomic_int      next;
    tq_pool_fn      fn;
    void           *ctx;
};

#define CLOSED (1 << 30)
#define INSIDE(v) ((v) & 0xffff)

typedef struct warg { tq_pool *p; int id; } warg;
static warg ARGS[TQ_POOL_MAX];

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Poll until *v differs from old (zero 0) or holds no worker inside (zero
 * 1), for at most spin_ns; 1 when it happened. */
static int spin_until(const void *v, unsigned long old, int zero) {
    long t0 = 0;
    for (unsigned i = 0;; i++) {
        if (spin_ns <= 0) return 0;
        int hit = zero ? INSIDE(atomic_load_explicit((const atomic_int *)v, memory_order_acquire)) == 0
                       : atomic_load_explicit((const atomic_ulong *)v, memory_order_acquire) != old;
        if (hit) return 1;
        if ((i & 255) == 0) {
            long t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 >= spin_ns) return 0;
        }
        CPU_RELAX();
    }
}

static void work(tq_pool *p, int id) {
    for (int t; (t = atomic_fetch_add(&p->next, 1)) < p->n;) p->fn(p->ctx, t, id);
}

/* Enter the open run if worker id may take part: 1 when in. A worker that
 * comes late finds the door closed (the caller took every task) and waits
 * for the next run: the caller never waits for a worker that is not there. */
static int enter(tq_pool *p, int id) {
    int v = atomic_load_explicit(&p->inside, memory_order_acquire);
    while (!(v & CLOSED) && id <= (v >> 16 & 255))
        if (atomic_compare_exchange_weak_explicit(&p->inside, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            return 1;
    return 0;
}

static void *worker(void *arg) {
    warg *w = arg;
    tq_pool *p = w->p;
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until(&p->gen, seen, 0)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (!enter(p, w->id)) continue;
        work(p, w->id);
        int v = atomic_fetch_sub_explicit(&p->inside, 1, memory_order_acq_rel) - 1;
        if ((v & CLOSED) && INSIDE(v) == 0) {
            pthread_mutex_lock(&p->mu);    /* the caller may be asleep: tell it */
            if (atomic_load(&p->caller_asleep)) pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static tq_pool *shared;

tq_pool *tq_pool_shared(int threads) {
    if (threads <= 1) return NULL;
    if (threads > TQ_POOL_MAX) threads = TQ_POOL_MAX;
    pthread_mutex_lock(&shared_mu);
    if (!shared && (shared = calloc(1, sizeof *shared))) {
        const char *e = getenv("TRUEQ_POOL_SPIN_US");
        if (e && *e) spin_ns = strtol(e, NULL, 10) * 1000L;
        pthread_mutex_init(&shared->run_mu, NULL);
        pthread_mutex_init(&shared->mu, NULL);
        pthread_cond_init(&shared->wake, NULL);
        pthread_cond_init(&shared->done, NULL);
        atomic_init(&shared->gen, 0);
        atomic_init(&shared->sleepers, 0);
        atomic_init(&shared->caller_asleep, 0);
        atomic_init(&shared->inside, CLOSED);
        atomic_init(&shared->next, 0);
    }
    tq_pool *p = shared;
    if (p) {
        pthread_mutex_lock(&p->run_mu);   /* no run while workers are added */
        while (p->n_workers < threads - 1) {
            int id = p->n_workers + 1;
            ARGS[id] = (warg){p, id};
            if (pthread_create(&p->tid[id], NULL, worker, &ARGS[id])) break;
            pthread_detach(p->tid[id]);
            p->n_workers = id;
        }
        pthread_mutex_unlock(&p->run_mu);
        if (p->n_workers == 0) p = NULL;
    }
    pthread_mutex_unlock(&shared_mu);
    return p;
}

void tq_pool_run(tq_pool *p, int threads, int n, tq_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (!p || threads <= 1 || n == 1) {
        for (int t = 0; t < n; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    int helpers = threads - 1;
    if (helpers > p->n_workers) helpers = p->n_workers;
    if (helpers > n - 1) helpers = n - 1;
    p->fn = fn;   /* the door is closed and nobody inside: safe to set */
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    atomic_store_explicit(&p->inside, helpers << 16, memory_order_release);   /* open */
    /* bump gen under mu: a worker counts itself asleep and checks gen under
     * it, so either it sees the new gen or this sees it asleep */
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    if (atomic_load(&p->sleepers)) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    work(p, 0);   /* every task handed out when this returns */
    atomic_fetch_or_explicit(&p->inside, CLOSED, memory_order_acq_rel);
    if (!spin_until(&p->inside, 0, 1)) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_asleep, 1);
        while (INSIDE(atomic_load(&p->inside))) pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->caller_asleep, 0);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->run_mu);
}

static atomic_int threads_set;   /* tq_set_threads; 0: not set */

void tq_set_threads(int n) { atomic_store(&threads_set, n < 1 ? 0 : n > TQ_POOL_MAX ? TQ_POOL_MAX : n); }

int tq_threads(void) {
    int n = atomic_load(&threads_set);
    const char *e = getenv("TRUEQ_THREADS");
    if (n < 1 && e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (!*end && v >= 1) n = v > TQ_POOL_MAX ? TQ_POOL_MAX : (int)v;
    }
    if (n < 1) n = tq_blas_threads();
    return n < 1 ? 1 : n > TQ_POOL_MAX ? TQ_POOL_MAX : n;
}

void tq_pool_run_all(int n, tq_pool_fn fn, void *ctx) {
    int threads = tq_threads();
    tq_pool *pool = tq_pool_shared(threads);
    if (!pool) threads = 1;
    tq_blas_serial_enter();
    tq_pool_run(pool, threads, n, fn, ctx);
    tq_blas_serial_leave();
}
