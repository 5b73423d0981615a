/*
 * pool.c — the forward pass's thread pool: sleeping workers, tasks handed
 * out by an atomic counter (pool.h).
 */
#include "kern/pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include "trueq.h"
#include <cblas.h>
#include <stdlib.h>

struct tq_pool {
    pthread_mutex_t run_mu;       /* one run at a time                         */
    pthread_mutex_t mu;
    pthread_cond_t  wake, done;
    pthread_t       tid[TQ_POOL_MAX];
    int             n_workers;    /* threads started besides callers           */
    unsigned long   gen;          /* bumped per run: workers wait for a change */
    int             active;       /* workers that take part in this run        */
    int             busy;         /* of them, still working                    */
    int             n;
    atomic_int      next;
    tq_pool_fn      fn;
    void           *ctx;
};

typedef struct warg { tq_pool *p; int id; } warg;
static warg ARGS[TQ_POOL_MAX];

static void work(tq_pool *p, int id) {
    for (int t; (t = atomic_fetch_add(&p->next, 1)) < p->n;) p->fn(p->ctx, t, id);
}

static void *worker(void *arg) {
    warg *w = arg;
    tq_pool *p = w->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        seen = p->gen;
        if (w->id > p->active) continue;   /* not needed this run */
        pthread_mutex_unlock(&p->mu);
        work(p, w->id);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
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
        pthread_mutex_init(&shared->run_mu, NULL);
        pthread_mutex_init(&shared->mu, NULL);
        pthread_cond_init(&shared->wake, NULL);
        pthread_cond_init(&shared->done, NULL);
    }
    tq_pool *p = shared;
    if (p) {
        pthread_mutex_lock(&p->run_mu);   /* no run while workers are added */
        while (p->n_workers < threads - 1) {
            int id = p->n_workers + 1;
            ARGS[id] = (warg){p, id};
            if (pthread_create(&p->tid[id], NULL, worker, &ARGS[id])) break;
            pthread_detach(p->tid[id]);
            pthread_mutex_lock(&p->mu);
            p->n_workers = id;
            pthread_mutex_unlock(&p->mu);
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->active = helpers;
    p->busy = helpers;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    work(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
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
    if (n < 1) n = openblas_get_num_threads();
    return n < 1 ? 1 : n > TQ_POOL_MAX ? TQ_POOL_MAX : n;
}
