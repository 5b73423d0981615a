/*
 * model_read.c — reading a tensor's stored bytes without touching the map.
 *
 * The rule for readers (docs/ARCHITECTURE.md): bulk data is read with pread
 * (tq_map_read) into caller-owned buffers, so a weight file that shrinks or
 * fails to read while trueq works is TQ_E_IO naming the file and the offset,
 * never SIGBUS. Headers were parsed in place at open; every byte after that
 * goes through here. Entries the parser holds in owned memory (deflated npz
 * members) are copied.
 */
#include "io/model.h"
#include <stdlib.h>
#include <string.h>

/* [src, src+n) inside the map of the tensor's file: its offset, or false. */
static bool in_map(const tq_model *m, const tq_tensor *t, const void *src, uint64_t n, uint64_t *off) {
    if (t->file_index < 0 || t->file_index >= m->nfiles) return false;
    const tq_map *mp = &m->files[t->file_index].map;
    uintptr_t b = (uintptr_t)mp->data, p = (uintptr_t)src;
    if (!mp->data || p < b || p - b > mp->size || n > mp->size - (p - b)) return false;
    *off = (uint64_t)(p - b);
    return true;
}

/* len bytes at byte_off of the stored entry [src, src+n): pread from the file,
 * or a copy of owned bytes. */
static tq_status read_entry(const tq_model *m, const tq_tensor *t, const char *what, const void *src, uint64_t n,
                            uint64_t byte_off, uint64_t len, void *buf, tq_error *err) {
    uint64_t end;
    if (!tq_add_u64(byte_off, len, &end) || end > n)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": %s bytes [%llu, +%llu) are outside its %llu stored bytes", t->name,
                      what, (unsigned long long)byte_off, (unsigned long long)len, (unsigned long long)n);
    if (len == 0) return TQ_OK;
    if (!src) return tq_err(err, TQ_E_ARG, "tensor \"%s\": no stored %s to read", t->name, what);
    if (len > SIZE_MAX) return tq_err(err, TQ_E_LIMIT, "tensor \"%s\": %llu bytes exceed this machine's size_t", t->name,
                                      (unsigned long long)len);
    uint64_t off;
    if (!in_map(m, t, src, n, &off)) {   /* owned (deflated npz member) */
        memcpy(buf, (const uint8_t *)src + byte_off, (size_t)len);
        return TQ_OK;
    }
    tq_status st = tq_map_read(&m->files[t->file_index].map, off + byte_off, buf, (size_t)len, err);
    return st ? tq_err_prefix(err, st, "tensor \"%s\" (%s)", t->name, what) : TQ_OK;
}

static uint64_t aux_nbytes(const tq_tensor *t, int a) {
    return tq_nbytes(t->aux_desc[a].dtype, t->aux_desc[a].ndim, t->aux_desc[a].shape);
}

tq_status tq_model_read_stored(const tq_model *m, const tq_tensor *t, void *codes, void *const aux[TQ_MAX_AUX],
                               tq_error *err) {
    tq_status st = TQ_OK;
    if (codes) st = read_entry(m, t, "payload", t->data, t->nbytes, 0, t->nbytes, codes, err);
    for (int a = 0; !st && aux && a < t->n_aux && a < TQ_MAX_AUX; a++)
        if (aux[a]) st = read_entry(m, t, t->aux_desc[a].suffix, t->aux[a], aux_nbytes(t, a), 0, aux_nbytes(t, a), aux[a], err);
    return st;
}

tq_status tq_model_read_range(const tq_model *m, const tq_tensor *t, uint64_t byte_off, uint64_t len, void *buf,
                              tq_error *err) {
    return read_entry(m, t, "payload", t->data, t->nbytes, byte_off, len, buf, err);
}

void tq_stored_free(tq_stored *s) {
    if (!s) return;
    free(s->codes);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(s->aux[a]);
    memset(s, 0, sizeof *s);
}

tq_status tq_model_load_stored(const tq_model *m, const tq_tensor *t, bool with_codes, tq_stored *s, tq_error *err) {
    memset(s, 0, sizeof *s);
    s->t = *t;
    bool oom = false;
    if (with_codes) oom |= !(s->codes = malloc(t->nbytes ? (size_t)t->nbytes : 1));
    for (int a = 0; a < t->n_aux && a < TQ_MAX_AUX; a++) {
        uint64_t n = aux_nbytes(t, a);   /* malloc'd: aligned for any dtype */
        oom |= !(s->aux[a] = malloc(n ? (size_t)n : 1));
    }
    tq_status st = oom ? tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for its %llu stored bytes", t->name,
                                (unsigned long long)(t->nbytes + t->aux_bytes))
                       : tq_model_read_stored(m, t, s->codes, s->aux, err);
    if (st) { tq_stored_free(s); return st; }
    s->t.data = s->codes;
    for (int a = 0; a < TQ_MAX_AUX; a++) s->t.aux[a] = s->aux[a];
    return TQ_OK;
}

/* Plain tensors are read in bounded chunks of whole elements and converted. */
#define CHUNK_BYTES ((uint64_t)1 << 20)

tq_status tq_model_tensor_f32(const tq_model *m, const tq_tensor *t, float *out, tq_error *err) {
    tq_status st;
    if (t->quantized) {
        int64_t rows, cols;
        tq_shape_2d(t->ndim, t->shape, &rows, &cols);
        tq_stored s;
        if ((st = tq_model_load_stored(m, t, true, &s, err))) return st;
        st = tq_dequantize(&t->q, rows, cols, s.codes, (const void *const *)s.aux, out, err);
        tq_stored_free(&s);
        return st ? tq_err_prefix(err, st, "tensor \"%s\"", t->name) : TQ_OK;
    }
    const int bits = tq_dtype_bits(t->dtype);
    if ((st = tq_convert_to_f32(t->dtype, out, 0, out, err)))   /* the dtype has a float meaning: before any read */
        return tq_err_prefix(err, st, "tensor \"%s\"", t->name);
    const uint64_t eb = bits > 0 && bits % 8 == 0 ? (uint64_t)bits / 8 : 0;
    if (!eb || t->nbytes != (uint64_t)t->numel * eb)
        return tq_err(err, TQ_E_FORMAT, "tensor \"%s\": %llu stored bytes for %lld %s values", t->name,
                      (unsigned long long)t->nbytes, (long long)t->numel, tq_dtype_name(t->dtype));
    if (t->dtype == TQ_DTYPE_F32) return tq_model_read_range(m, t, 0, t->nbytes, out, err);
    const uint64_t per = CHUNK_BYTES / eb;
    void *buf = malloc((size_t)(t->nbytes < per * eb ? (t->nbytes ? t->nbytes : 1) : per * eb));
    if (!buf) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name);
    st = TQ_OK;
    for (uint64_t i = 0; !st && i < (uint64_t)t->numel; i += per) {
        uint64_t k = (uint64_t)t->numel - i < per ? (uint64_t)t->numel - i : per;
        st = tq_model_read_range(m, t, i * eb, k * eb, buf, err);
        if (!st && (st = tq_convert_to_f32(t->dtype, buf, (int64_t)k, out + i, err)))
            tq_err_prefix(err, st, "tensor \"%s\" (values from flat index %llu)", t->name, (unsigned long long)i);
    }
    free(buf);
    return st;
}
