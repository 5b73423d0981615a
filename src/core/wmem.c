/*
 * wmem.c — weight memory on transparent huge pages (wmem.h).
 *
 * Book-keeping: a list of mappings, each {base, len, next free offset, live
 * blocks}. An own mapping holds one block; a chunk holds many and is the
 * current chunk while it has room. Freeing finds the mapping holding the
 * pointer (a short list: a model has a few chunks and a few large matrices);
 * a pointer in none came from malloc.
 */
#define _GNU_SOURCE 1   /* MADV_HUGEPAGE */
#include "core/wmem.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE ((size_t)1 << 21)

#if defined(__SANITIZE_ADDRESS__)
#define WMEM_MALLOC_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WMEM_MALLOC_ONLY 1
#endif
#endif
#ifndef WMEM_MALLOC_ONLY
#define WMEM_MALLOC_ONLY 0
#endif

typedef struct wmap {
    char *base;
    size_t len, used;
    long live;
    struct wmap *next;
} wmap;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static wmap *maps;      /* every mapping */
static wmap *current;   /* the chunk small blocks come from, or NULL */

/* A 2 MB-aligned anonymous mapping of len bytes (a multiple of 4 KB), its
 * whole 2 MB extents advised for huge pages; NULL when mmap fails. */
static char *map_aligned(size_t len) {
    size_t over = len + HUGE;
    char *raw = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *b = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    size_t head = (size_t)(b - raw), tail = over - head - len;
    if (head) munmap(raw, head);
    if (tail) munmap(b + len, tail);
#ifdef MADV_HUGEPAGE
    if (len >= HUGE) madvise(b, len / HUGE * HUGE, MADV_HUGEPAGE);   /* advice: failure only costs speed */
#endif
    return b;
}

static wmap *add_map(size_t len) {
    wmap *m = malloc(sizeof *m);
    if (!m) return NULL;
    if (!(m->base = map_aligned(len))) { free(m); return NULL; }
    m->len = len;
    m->used = 0;
    m->live = 0;
    m->next = maps;
    maps = m;
    return m;
}

/* n rounded up to whole 64-byte lines (at least one). */
static size_t lines(size_t n) { return n ? (n + 63) / 64 * 64 : 64; }

/* A block of n bytes; *fresh: 1 when it is untouched mapped memory (zero). */
static void *wmem_get(size_t n, int *fresh) {
    size_t need = lines(n);
    void *p = NULL;
    *fresh = 0;
    if (WMEM_MALLOC_ONLY) return aligned_alloc(64, need);
    pthread_mutex_lock(&mu);
    if (need >= TQ_WMEM_OWN) {
        wmap *m = add_map((need + 4095) / 4096 * 4096);
        if (m) { m->used = m->len; m->live = 1; p = m->base; }
    } else {
        if (!current || current->len - current->used < need) current = add_map(TQ_WMEM_CHUNK);
        if (current) { p = current->base + current->used; current->used += need; current->live++; }
    }
    pthread_mutex_unlock(&mu);
    if (p) *fresh = 1;   /* never handed out before: chunks are not reused */
    return p ? p : aligned_alloc(64, need);
}

void *tq_wmem_alloc(size_t n) {
    int fresh;
    return wmem_get(n, &fresh);
}

void *tq_wmem_calloc(size_t n) {
    int fresh;
    void *p = wmem_get(n, &fresh);
    if (p && !fresh) memset(p, 0, n);   /* mapped memory is zero already */
    return p;
}

void *tq_wmem_scratch(size_t n, int zero) {
    if (n >= TQ_WMEM_OWN) return zero ? tq_wmem_calloc(n) : tq_wmem_alloc(n);
    void *p = aligned_alloc(64, lines(n));
    if (p && zero) memset(p, 0, n);
    return p;
}

void tq_wmem_free(void *p) {
    if (!p) return;
    if (WMEM_MALLOC_ONLY) { free(p); return; }
    pthread_mutex_lock(&mu);
    wmap **at = &maps;
    while (*at && !((char *)p >= (*at)->base && (char *)p < (*at)->base + (*at)->len)) at = &(*at)->next;
    wmap *m = *at;
    if (m && --m->live == 0) {
        *at = m->next;
        if (m == current) current = NULL;
        munmap(m->base, m->len);
        free(m);
    }
    pthread_mutex_unlock(&mu);
    if (!m) free(p);   /* came from the malloc fallback */
}

int tq_wmem_maps(void) {
    int n = 0;
    pthread_mutex_lock(&mu);
    for (wmap *m = maps; m; m = m->next) n++;
    pthread_mutex_unlock(&mu);
    return n;
}

long long tq_wmem_huge_bytes(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}
