/*
 * writer.c — the generic planned writer: checks every put against the plan
 * and the final size against the planned one, commits or aborts the output.
 * tq_writer_create, which takes the back-end from the format table, lives in
 * format.c: this file knows no table and no back-end.
 */
#include "io/writer.h"
#include <stdlib.h>
#include <string.h>

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

tq_status tq_writer_put_from_part(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t part,
                                  uint64_t len, tq_error *err) {
    if (!w->vt->put_fd || fd < 0) return TQ_E_UNSUPPORTED;
    if (i < 0 || i >= w->n) return tq_err(err, TQ_E_INTERNAL, "writer: entry %lld out of range", (long long)i);
    if (part > w->nbytes[i] || len > w->nbytes[i] - part)
        return tq_err(err, TQ_E_INTERNAL, "writer: entry \"%s\" planned %llu bytes, given bytes %llu..%llu", w->e[i].name,
                      (unsigned long long)w->nbytes[i], (unsigned long long)part, (unsigned long long)(part + len));
    if (!w->opened) return tq_err(err, TQ_E_INTERNAL, "writer: no output opened (dry plan)");
    tq_status st = tq_out_copy_range(&w->out, fd, off + part, (const uint8_t *)data + part, (size_t)len, w->data_off[i] + part,
                                     err);
    if (!st && part + len == w->nbytes[i]) w->written[i] = 1;
    return st;
}

tq_status tq_writer_finish_open(tq_writer *w, tq_error *err) {
    tq_status st = TQ_OK;
    for (int64_t i = 0; i < w->n && !st; i++)
        if (!w->written[i]) st = tq_err(err, TQ_E_INTERNAL, "writer: entry \"%s\" was never written", w->e[i].name);
    if (!st) st = w->vt->finish(w, err);
    if (!st && w->out.size != w->total_size)
        st = tq_err(err, TQ_E_INTERNAL, "writer: planned %llu bytes but wrote %llu",
                    (unsigned long long)w->total_size, (unsigned long long)w->out.size);
    return st;
}

tq_status tq_writer_finish(tq_writer *w, tq_error *err) {
    tq_status st = tq_writer_finish_open(w, err);
    if (st) return st;   /* tq_writer_free removes the file */
    st = tq_out_commit(&w->out, err);   /* committed or removed */
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
