/*
 * writer.c — the generic planned writer: copies and checks the plan, takes the
 * back-end from the format table (format.c), checks every put against the
 * plan and the final size against the planned one.
 */
#include "io/format.h"
#include <stdlib.h>
#include <string.h>

tq_writer *tq_writer_create(tq_format f, const char *path, const tq_wentry *entries, int64_t n,
                            const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    const tq_format_impl *fi = tq_format_impl_get(f);
    tq_writer_init_fn init = fi ? fi->writer_init : NULL;
    if (!init) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: trueq cannot write this format", fi ? fi->info.name : "unknown format");
        return NULL;
    }
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
    if ((*init)(w, mk, mv, nm, err)) goto fail;
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
