/*
 * gguf_writer_backend.c — the planned writer's GGUF back-end (see the header):
 * init plans the exact layout with tq_gguf_plan, put keeps a copy of each
 * entry, finish serialises the image with tq_gguf_write_mem and writes it.
 */
#include "io/gguf_writer_backend.h"
#include "ggml/ggml_types.h"
#include "io/gguf.h"
#include <stdlib.h>
#include <string.h>

static const struct { tq_dtype dt; int ggml; } DTYPES[] = {
    {TQ_DTYPE_F32, TQ_GGML_F32}, {TQ_DTYPE_F16, TQ_GGML_F16}, {TQ_DTYPE_BF16, TQ_GGML_BF16}, {TQ_DTYPE_F64, TQ_GGML_F64},
    {TQ_DTYPE_I8, TQ_GGML_I8}, {TQ_DTYPE_I16, TQ_GGML_I16}, {TQ_DTYPE_I32, TQ_GGML_I32}, {TQ_DTYPE_I64, TQ_GGML_I64},
};

typedef struct gguf_impl {
    tq_gguf_wkv     *kv;
    int              n_kv;
    tq_gguf_wtensor *t;
    void           **data;   /* owned copies, one per entry */
} gguf_impl;

static tq_status gw_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err) {
    gguf_impl *g = w->impl;
    free(g->data[i]);
    if (!(g->data[i] = malloc(len ? len : 1))) return tq_err(err, TQ_E_NOMEM, "entry \"%s\": out of memory", w->e[i].name);
    if (len) memcpy(g->data[i], data, len);
    g->t[i].data = g->data[i];
    return TQ_OK;
}

static tq_status gw_finish(tq_writer *w, tq_error *err) {
    gguf_impl *g = w->impl;
    uint8_t *img;
    uint64_t size;
    tq_status st = tq_gguf_write_mem(g->kv, g->n_kv, g->t, w->n, &img, &size, err);
    if (st) return st;
    st = tq_out_write(&w->out, img, (size_t)size, err);
    free(img);
    return st;
}

static void gw_destroy(tq_writer *w) {
    gguf_impl *g = w->impl;
    if (!g) return;
    for (int64_t i = 0; g->data && i < w->n; i++) free(g->data[i]);
    free(g->data); free(g->t); free(g->kv);
    free(g);
    w->impl = NULL;
}

static const struct tq_writer_vt GGUF_VT = {gw_put, NULL, gw_finish, gw_destroy};

tq_status tq_gguf_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    gguf_impl *g = calloc(1, sizeof *g);
    if (!g) return tq_err(err, TQ_E_NOMEM, "out of memory");
    w->impl = g;
    w->vt = &GGUF_VT;
    size_t k = (size_t)(w->n ? w->n : 1);
    g->kv = calloc((size_t)nm + 1, sizeof *g->kv);
    g->t = calloc(k, sizeof *g->t);
    g->data = calloc(k, sizeof *g->data);
    if (!g->kv || !g->t || !g->data) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int has_arch = 0;
    for (int i = 0; i < nm; i++) has_arch |= strcmp(mk[i], "general.architecture") == 0;
    if (!has_arch) g->kv[g->n_kv++] = (tq_gguf_wkv){.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "trueq", .str_len = 5};
    for (int i = 0; i < nm; i++)
        g->kv[g->n_kv++] = (tq_gguf_wkv){.key = mk[i], .type = TQ_GGUF_STRING, .str = mv[i], .str_len = strlen(mv[i])};
    static const uint8_t placeholder[1];
    for (int64_t i = 0; i < w->n; i++) {
        const tq_wentry *e = &w->e[i];
        int ty = -1;
        for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) if (DTYPES[d].dt == e->dtype) ty = DTYPES[d].ggml;
        if (ty < 0)
            return tq_err(err, TQ_E_UNSUPPORTED, "entry \"%s\": dtype %s has no GGUF tensor type", e->name, tq_dtype_name(e->dtype));
        if (e->ndim > TQ_GGUF_MAX_DIMS)
            return tq_err(err, TQ_E_LIMIT, "entry \"%s\": %d dims, GGUF holds at most %d", e->name, e->ndim, TQ_GGUF_MAX_DIMS);
        g->t[i].name = e->name;
        g->t[i].ggml_type = ty;
        g->t[i].n_dims = e->ndim ? e->ndim : 1;
        for (int d = 0; d < TQ_GGUF_MAX_DIMS; d++) g->t[i].ne[d] = d < e->ndim ? e->shape[e->ndim - 1 - d] : 1;
        g->t[i].data = placeholder;
    }
    tq_gguf_layout lay;
    tq_status st = tq_gguf_plan(g->kv, g->n_kv, g->t, w->n, &lay, err);
    if (st) return st;
    uint64_t payload = 0;
    for (int64_t i = 0; i < w->n; i++) {
        w->data_off[i] = lay.data_start + lay.offsets[i];
        payload += lay.nbytes[i];
        g->t[i].data = NULL;
    }
    w->total_size = lay.file_size;
    w->header_bytes = lay.data_start;
    w->padding_bytes = lay.file_size - lay.data_start - payload;
    tq_gguf_layout_free(&lay);
    return TQ_OK;
}
