/* container.c — the helpers every parser may use: name/key indices, lookups,
 * metadata, release. Opening a file by content is format.c's job (it knows
 * the parsers; this file knows none, so parsers can call it without a circle). */
#include "io/container.h"
#include <stdlib.h>
#include <string.h>

static const tq_container *g_sort_c;
static int cmp_entry_idx(const void *a, const void *b) {
    return strcmp(g_sort_c->entries[*(const int64_t *)a].name, g_sort_c->entries[*(const int64_t *)b].name);
}
static int cmp_meta_idx(const void *a, const void *b) {
    return strcmp(g_sort_c->meta_keys[*(const int *)a], g_sort_c->meta_keys[*(const int *)b]);
}

tq_status tq_container_index(tq_container *c, tq_error *err) {
    free(c->by_name); free(c->meta_by_key);
    c->by_name = malloc(sizeof(int64_t) * (size_t)(c->n ? c->n : 1));
    c->meta_by_key = malloc(sizeof(int) * (size_t)(c->n_meta ? c->n_meta : 1));
    if (!c->by_name || !c->meta_by_key) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < c->n; i++) c->by_name[i] = i;
    for (int i = 0; i < c->n_meta; i++) c->meta_by_key[i] = i;
    g_sort_c = c;    /* qsort has no context argument in C11 */
    qsort(c->by_name, (size_t)c->n, sizeof(int64_t), cmp_entry_idx);
    qsort(c->meta_by_key, (size_t)c->n_meta, sizeof(int), cmp_meta_idx);
    g_sort_c = NULL;
    for (int64_t i = 1; i < c->n; i++)
        if (strcmp(c->entries[c->by_name[i - 1]].name, c->entries[c->by_name[i]].name) == 0)
            return tq_err(err, TQ_E_FORMAT, "%s: entry \"%s\" appears twice", c->map.path ? c->map.path : "?",
                          c->entries[c->by_name[i]].name);
    return TQ_OK;
}

int64_t tq_container_find(const tq_container *c, const char *name) {
    if (!c->by_name) {
        for (int64_t i = 0; i < c->n; i++) if (strcmp(c->entries[i].name, name) == 0) return i;
        return -1;
    }
    int64_t lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->entries[c->by_name[mid]].name, name);
        if (!r) return c->by_name[mid];
        if (r < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

void tq_container_free(tq_container *c) {
    if (!c) return;
    for (int64_t i = 0; i < c->n; i++) { free(c->entries[i].name); free(c->entries[i].owned); }
    free(c->entries);
    free(c->by_name);
    free(c->meta_by_key);
    for (int i = 0; i < c->n_meta; i++) { free(c->meta_keys[i]); free(c->meta_vals[i]); }
    free(c->meta_keys);
    free(c->meta_vals);
    if (c->priv_free) c->priv_free(c->priv);   /* before the map it points into */
    if (c->map.path) tq_map_close(&c->map);   /* a zeroed map (fd 0) was never opened */
    memset(c, 0, sizeof *c);
    c->map.fd = -1;
}

const char *tq_container_meta(const tq_container *c, const char *key) {
    if (!c->meta_by_key) {
        for (int i = 0; i < c->n_meta; i++) if (strcmp(c->meta_keys[i], key) == 0) return c->meta_vals[i];
        return NULL;
    }
    int lo = 0, hi = c->n_meta - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int r = strcmp(c->meta_keys[c->meta_by_key[mid]], key);
        if (!r) return c->meta_vals[c->meta_by_key[mid]];
        if (r < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

tq_status tq_container_add_meta(tq_container *c, const char *k, const char *v, tq_error *err) {
    char **nk = realloc(c->meta_keys, sizeof(char *) * (size_t)(c->n_meta + 1));
    if (!nk) return tq_err(err, TQ_E_NOMEM, "out of memory");
    c->meta_keys = nk;
    char **nv = realloc(c->meta_vals, sizeof(char *) * (size_t)(c->n_meta + 1));
    if (!nv) return tq_err(err, TQ_E_NOMEM, "out of memory");
    c->meta_vals = nv;
    c->meta_keys[c->n_meta] = tq_strdup(k);
    c->meta_vals[c->n_meta] = tq_strdup(v);
    if (!c->meta_keys[c->n_meta] || !c->meta_vals[c->n_meta]) {
        free(c->meta_keys[c->n_meta]); free(c->meta_vals[c->n_meta]);
        return tq_err(err, TQ_E_NOMEM, "out of memory");
    }
    c->n_meta++;
    free(c->meta_by_key);      /* the index no longer covers every key */
    c->meta_by_key = NULL;
    return TQ_OK;
}
