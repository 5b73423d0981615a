/* container.c — open a weight file by content, metadata, and the generic writer. */
#include "io/container.h"
#include <stdlib.h>
#include <string.h>

tq_status tq_container_open(tq_container *c, const char *path, tq_error *err) {
    tq_map m;
    tq_status st = tq_map_open(&m, path, err);
    if (st) { memset(c, 0, sizeof *c); return st; }
    if (m.size >= 4 && memcmp(m.data, "PK\x03\x04", 4) == 0)
        st = tq_npz_parse(m.data, m.size, path, c, err);
    else if (m.size >= 4 && memcmp(m.data, "PK\x05\x06", 4) == 0)
        st = tq_npz_parse(m.data, m.size, path, c, err);
    else
        st = tq_safetensors_parse(m.data, m.size, path, c, err);
    if (st) { tq_map_close(&m); return st; }
    c->map = m;
    if ((st = tq_container_index(c, err))) { tq_container_free(c); return st; }
    return TQ_OK;
}

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

tq_writer *tq_writer_create(tq_format f, const char *path, const tq_wentry *entries, int64_t n,
                            const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    tq_writer *w = calloc(1, sizeof *w);
    if (!w) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    w->format = f;
    w->out.fd = -1;
    w->n = n;
    size_t k = (size_t)(n ? n : 1);
    w->e = calloc(k, sizeof *w->e);
    w->data_off = calloc(k, sizeof *w->data_off);
    w->nbytes = calloc(k, sizeof *w->nbytes);
    w->written = calloc(k, 1);
    if (!w->e || !w->data_off || !w->nbytes || !w->written) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < n; i++) {
        if (entries[i].ndim < 0 || entries[i].ndim > TQ_MAX_DIMS || !entries[i].name) {
            tq_err(err, TQ_E_ARG, "entry %lld: %s", (long long)i, entries[i].name ? "ndim out of range" : "no name");
            goto fail;
        }
        w->e[i] = entries[i];
        w->e[i].name = tq_strdup(entries[i].name);
        if (!w->e[i].name) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        w->nbytes[i] = tq_nbytes(entries[i].dtype, entries[i].ndim, entries[i].shape);
        if (w->nbytes[i] == UINT64_MAX) { tq_err(err, TQ_E_LIMIT, "entry \"%s\": size overflows", entries[i].name); goto fail; }
    }
    tq_status st = f == TQ_FORMAT_NPZ ? tq_npz_writer_init(w, mk, mv, nm, err)
                                      : tq_safetensors_writer_init(w, mk, mv, nm, err);
    if (st) goto fail;
    if (path) {
        if (tq_out_open(&w->out, path, err)) goto fail;
        w->opened = 1;
    }
    return w;
fail:
    tq_writer_free(w);
    return NULL;
}

tq_status tq_writer_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err) {
    if (i < 0 || i >= w->n) return tq_err(err, TQ_E_INTERNAL, "writer: entry %lld out of range", (long long)i);
    if (len != w->nbytes[i])
        return tq_err(err, TQ_E_INTERNAL, "writer: entry \"%s\" planned %llu bytes, given %llu", w->e[i].name,
                      (unsigned long long)w->nbytes[i], (unsigned long long)len);
    if (!w->opened) return tq_err(err, TQ_E_INTERNAL, "writer: no output opened (dry plan)");
    tq_status st = w->vt->put(w, i, data, len, err);
    if (!st) w->written[i] = 1;
    return st;
}

tq_status tq_writer_put_from(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t len, tq_error *err) {
    if (!w->vt->put_fd || fd < 0) return tq_writer_put(w, i, data, len, err);
    if (i < 0 || i >= w->n || len != w->nbytes[i] || !w->opened)
        return tq_writer_put(w, i, data, len, err);   /* reports the error */
    tq_status st = w->vt->put_fd(w, i, fd, off, data, len, err);
    if (!st) w->written[i] = 1;
    return st;
}

tq_status tq_writer_finish(tq_writer *w, tq_error *err) {
    for (int64_t i = 0; i < w->n; i++)
        if (!w->written[i]) return tq_err(err, TQ_E_INTERNAL, "writer: entry \"%s\" was never written", w->e[i].name);
    tq_status st = w->vt->finish(w, err);
    if (st) return st;
    if (w->out.size != w->total_size)
        return tq_err(err, TQ_E_INTERNAL, "writer: planned %llu bytes but wrote %llu",
                      (unsigned long long)w->total_size, (unsigned long long)w->out.size);
    st = tq_out_commit(&w->out, err);
    w->opened = 0;
    return st;
}

void tq_writer_free(tq_writer *w) {
    if (!w) return;
    if (w->opened) tq_out_abort(&w->out);
    if (w->vt && w->vt->destroy) w->vt->destroy(w);
    if (w->e) for (int64_t i = 0; i < w->n; i++) free((char *)w->e[i].name);
    free(w->e); free(w->data_off); free(w->nbytes); free(w->written);
    free(w);
}
