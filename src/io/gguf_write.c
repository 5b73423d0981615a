/*
 * gguf_write.c — the planned GGUF writer (gguf.h).
 *
 * tq_gguf_plan validates the inputs and computes the whole layout first:
 *   24-byte header (magic, version 3, n_tensors, n_kv)
 *   KVs in the caller's order: key string, u32 type, value
 *   tensor infos in the caller's order: name, u32 n_dims, u64 ne[n_dims],
 *     u32 ggml type, u64 offset (relative to the data start)
 *   zero padding to the alignment, then each tensor's bytes followed by zero
 *   padding to the alignment (the last tensor too, as ggml and gguf-py do),
 * so offsets are cumulative and the file size is known before a byte is
 * written. The writers then emit exactly that: to a temporary file renamed
 * into place on success (tq_outfile), or to memory.
 */
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Bytes of one KV's value; 0 with err set on a bad value. */
static uint64_t value_bytes(const tq_gguf_wkv *kv, tq_error *err) {
    if (kv->type == TQ_GGUF_STRING) {
        if (!kv->str && kv->str_len) { tq_err(err, TQ_E_ARG, "key %s: STRING value without text", kv->key); return 0; }
        return 8 + kv->str_len;
    }
    if (kv->type != TQ_GGUF_ARRAY) {
        size_t s = tq_gguf_vtype_size(kv->type);
        if (!s) tq_err(err, TQ_E_ARG, "key %s: unknown value type %d", kv->key, (int)kv->type);
        if (kv->type == TQ_GGUF_BOOL && kv->num.u > 1) {
            tq_err(err, TQ_E_ARG, "key %s: BOOL value %llu is not 0 or 1", kv->key, (unsigned long long)kv->num.u);
            return 0;
        }
        if (kv->type == TQ_GGUF_FLOAT32 && isfinite(kv->num.f) && fabs(kv->num.f) > FLT_MAX) {
            tq_err(err, TQ_E_ARG, "key %s: %g is outside the FLOAT32 range", kv->key, kv->num.f);
            return 0;
        }
        return s;
    }
    if (kv->elem_type == TQ_GGUF_ARRAY) {
        tq_err(err, TQ_E_ARG, "key %s: arrays of arrays cannot be written (ggml rejects them)", kv->key);
        return 0;
    }
    if (kv->count > TQ_GGUF_MAX_ARRAY) {
        tq_err(err, TQ_E_ARG, "key %s: array of %llu elements exceeds the limit of %llu", kv->key,
               (unsigned long long)kv->count, TQ_GGUF_MAX_ARRAY);
        return 0;
    }
    uint64_t n = 12;
    if (kv->elem_type == TQ_GGUF_STRING) {
        if (kv->count && !kv->strs) { tq_err(err, TQ_E_ARG, "key %s: string array without strings", kv->key); return 0; }
        for (uint64_t i = 0; i < kv->count; i++) n += 8 + strlen(kv->strs[i]);
        return n;
    }
    size_t s = tq_gguf_vtype_size(kv->elem_type);
    if (!s) { tq_err(err, TQ_E_ARG, "key %s: unknown array element type %d", kv->key, (int)kv->elem_type); return 0; }
    if (kv->count && !kv->elems) { tq_err(err, TQ_E_ARG, "key %s: array without elements", kv->key); return 0; }
    return n + kv->count * s;
}

static tq_status plan_kvs(const tq_gguf_wkv *kv, int64_t n_kv, tq_gguf_layout *lay, tq_error *err) {
    lay->alignment = TQ_GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < n_kv; i++) {
        if (!kv[i].key || !kv[i].key[0]) return tq_err(err, TQ_E_ARG, "KV %lld has an empty key", (long long)i);
        for (int64_t j = 0; j < i; j++)
            if (strcmp(kv[j].key, kv[i].key) == 0)
                return tq_err(err, TQ_E_ARG, "duplicate key %s (KVs %lld and %lld)", kv[i].key, (long long)j, (long long)i);
        tq_err_clear(err);
        uint64_t vb = value_bytes(&kv[i], err);
        if (!vb) return err ? err->status : TQ_E_ARG;
        lay->kv_bytes += 8 + strlen(kv[i].key) + 4 + vb;
        if (strcmp(kv[i].key, "general.alignment") == 0) {
            if (kv[i].type != TQ_GGUF_UINT32)
                return tq_err(err, TQ_E_ARG, "key general.alignment must be UINT32, not %s", tq_gguf_vtype_name(kv[i].type));
            uint64_t a = kv[i].num.u;
            if (a == 0 || (a & (a - 1)) || a > (1u << 20))
                return tq_err(err, TQ_E_ARG, "key general.alignment is %llu, must be a power of two <= 2^20",
                              (unsigned long long)a);
            lay->alignment = (uint32_t)a;
        }
    }
    return TQ_OK;
}

tq_status tq_gguf_plan(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                       tq_gguf_layout *lay, tq_error *err) {
    memset(lay, 0, sizeof *lay);
    if (n_kv < 0 || n_t < 0 || (n_kv && !kv) || (n_t && !t)) return tq_err(err, TQ_E_ARG, "bad KV or tensor list");
    tq_status st = plan_kvs(kv, n_kv, lay, err);
    if (st) return st;
    lay->offsets = calloc((size_t)n_t + 1, sizeof *lay->offsets);
    lay->nbytes = calloc((size_t)n_t + 1, sizeof *lay->nbytes);
    if (!lay->offsets || !lay->nbytes) { tq_gguf_layout_free(lay); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    uint64_t off = 0, a = lay->alignment;
    for (int64_t i = 0; i < n_t; i++) {
        const tq_gguf_wtensor *w = &t[i];
        const char *nm = w->name ? w->name : "";
        size_t len = strlen(nm);
        if (len > TQ_GGUF_MAX_NAME) st = tq_err(err, TQ_E_ARG, "tensor name %s is %zu bytes, over %d", nm, len, TQ_GGUF_MAX_NAME);
        for (int64_t j = 0; j < i && !st; j++)
            if (strcmp(t[j].name ? t[j].name : "", nm) == 0) st = tq_err(err, TQ_E_ARG, "duplicate tensor name %s", nm);
        if (!st && (w->n_dims < 1 || w->n_dims > TQ_GGUF_MAX_DIMS))
            st = tq_err(err, TQ_E_ARG, "tensor %s: n_dims %d outside 1..%d", nm, w->n_dims, TQ_GGUF_MAX_DIMS);
        int64_t numel = 1;
        for (int k = 0; !st && k < w->n_dims; k++)
            if (w->ne[k] <= 0 || __builtin_mul_overflow(numel, w->ne[k], &numel))
                st = tq_err(err, TQ_E_ARG, "tensor %s: dimension ne[%d] = %lld is not positive or overflows", nm, k,
                            (long long)w->ne[k]);
        const tq_ggml_type_info *ti = st ? NULL : tq_ggml_type(w->ggml_type);
        if (!st && !ti) st = tq_err(err, TQ_E_ARG, "unsupported ggml type %d for tensor %s", w->ggml_type, nm);
        if (!st && w->ne[0] % ti->block)
            st = tq_err(err, TQ_E_ARG, "tensor %s: ne[0] = %lld is not a multiple of the %s block size %lld", nm,
                        (long long)w->ne[0], ti->name, (long long)ti->block);
        if (!st) st = tq_ggml_row_bytes(w->ggml_type, numel, nm, &lay->nbytes[i], err);
        if (!st && lay->nbytes[i] && !w->data) st = tq_err(err, TQ_E_ARG, "tensor %s has no data", nm);
        if (!st && lay->nbytes[i] > UINT64_MAX / 2 - off) st = tq_err(err, TQ_E_ARG, "tensor %s: file too large", nm);
        if (st) { tq_gguf_layout_free(lay); return st; }
        lay->info_bytes += 8 + len + 4 + 8 * (uint64_t)w->n_dims + 4 + 8;
        lay->offsets[i] = off;
        off += align_up(lay->nbytes[i], a);
    }
    lay->data_start = align_up(24 + lay->kv_bytes + lay->info_bytes, a);
    lay->file_size = lay->data_start + off;
    return TQ_OK;
}

void tq_gguf_layout_free(tq_gguf_layout *lay) {
    free(lay->offsets);
    free(lay->nbytes);
    lay->offsets = lay->nbytes = NULL;
}

/* ---- serialization of everything before the data section ---------------- */
typedef struct buf { uint8_t *p; uint64_t n; } buf;
static void put(buf *b, const void *s, uint64_t n) { if (n) memcpy(b->p + b->n, s, n); b->n += n; }
static void put32(buf *b, uint32_t v) { tq_st32(b->p + b->n, v); b->n += 4; }
static void put64(buf *b, uint64_t v) { tq_st64(b->p + b->n, v); b->n += 8; }
static void putstr(buf *b, const char *s, uint64_t n) { put64(b, n); put(b, s, n); }

static void put_scalar(buf *b, tq_gguf_vtype t, const tq_gguf_wkv *kv) {
    uint64_t u = kv->num.u;
    if (t == TQ_GGUF_FLOAT32) { float f = (float)kv->num.f; uint32_t x; memcpy(&x, &f, 4); put32(b, x); return; }
    if (t == TQ_GGUF_FLOAT64) { memcpy(&u, &kv->num.f, 8); }
    size_t s = tq_gguf_vtype_size(t);
    for (size_t i = 0; i < s; i++) b->p[b->n + i] = (uint8_t)(u >> (8 * i));
    b->n += s;
}

static void emit_meta(buf *b, const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                      const tq_gguf_layout *lay) {
    put(b, "GGUF", 4);
    put32(b, 3);
    put64(b, (uint64_t)n_t);
    put64(b, (uint64_t)n_kv);
    for (int64_t i = 0; i < n_kv; i++) {
        putstr(b, kv[i].key, strlen(kv[i].key));
        put32(b, (uint32_t)kv[i].type);
        if (kv[i].type == TQ_GGUF_STRING) putstr(b, kv[i].str, kv[i].str_len);
        else if (kv[i].type != TQ_GGUF_ARRAY) put_scalar(b, kv[i].type, &kv[i]);
        else {
            put32(b, (uint32_t)kv[i].elem_type);
            put64(b, kv[i].count);
            if (kv[i].elem_type == TQ_GGUF_STRING)
                for (uint64_t k = 0; k < kv[i].count; k++) putstr(b, kv[i].strs[k], strlen(kv[i].strs[k]));
            else
                put(b, kv[i].elems, kv[i].count * tq_gguf_vtype_size(kv[i].elem_type));
        }
    }
    for (int64_t i = 0; i < n_t; i++) {
        const char *nm = t[i].name ? t[i].name : "";
        putstr(b, nm, strlen(nm));
        put32(b, (uint32_t)t[i].n_dims);
        for (int k = 0; k < t[i].n_dims; k++) put64(b, (uint64_t)t[i].ne[k]);
        put32(b, (uint32_t)t[i].ggml_type);
        put64(b, lay->offsets[i]);
    }
    memset(b->p + b->n, 0, lay->data_start - b->n);
    b->n = lay->data_start;
}

tq_status tq_gguf_write_mem(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                            uint8_t **out, uint64_t *size, tq_error *err) {
    *out = NULL;
    *size = 0;
    tq_gguf_layout lay;
    tq_status st = tq_gguf_plan(kv, n_kv, t, n_t, &lay, err);
    if (st) return st;
    buf b = {calloc(lay.file_size ? lay.file_size : 1, 1), 0};
    if (!b.p) { tq_gguf_layout_free(&lay); return tq_err(err, TQ_E_NOMEM, "out of memory for a %llu-byte GGUF image",
                                                         (unsigned long long)lay.file_size); }
    emit_meta(&b, kv, n_kv, t, n_t, &lay);
    for (int64_t i = 0; i < n_t; i++) put(&(buf){b.p + lay.data_start + lay.offsets[i], 0}, t[i].data, lay.nbytes[i]);
    *out = b.p;
    *size = lay.file_size;
    tq_gguf_layout_free(&lay);
    return TQ_OK;
}

tq_status tq_gguf_write_header(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                               const tq_gguf_layout *lay, uint8_t **out, tq_error *err) {
    buf b = {malloc(lay->data_start ? lay->data_start : 1), 0};
    *out = b.p;
    if (!b.p) return tq_err(err, TQ_E_NOMEM, "out of memory for a %llu-byte GGUF header", (unsigned long long)lay->data_start);
    emit_meta(&b, kv, n_kv, t, n_t, lay);
    return TQ_OK;
}

tq_status tq_gguf_write(const char *path, const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                        tq_error *err) {
    static const uint8_t zeros[4096];
    tq_gguf_layout lay;
    tq_status st = tq_gguf_plan(kv, n_kv, t, n_t, &lay, err);
    if (st) return tq_err_prefix(err, st, "%s", path);
    buf b = {malloc(lay.data_start), 0};
    if (!b.p) { tq_gguf_layout_free(&lay); return tq_err(err, TQ_E_NOMEM, "%s: out of memory", path); }
    emit_meta(&b, kv, n_kv, t, n_t, &lay);
    tq_outfile o;
    st = tq_out_open(&o, path, err);
    if (!st) st = tq_out_write(&o, b.p, (size_t)b.n, err);
    for (int64_t i = 0; i < n_t && !st; i++) {
        st = tq_out_write(&o, t[i].data, (size_t)lay.nbytes[i], err);
        for (uint64_t pad = align_up(lay.nbytes[i], lay.alignment) - lay.nbytes[i]; pad && !st;) {
            size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
            st = tq_out_write(&o, zeros, k, err);
            pad -= k;
        }
    }
    if (!st && o.size != lay.file_size)
        st = tq_err(err, TQ_E_INTERNAL, "%s: wrote %llu bytes, planned %llu", path, (unsigned long long)o.size,
                    (unsigned long long)lay.file_size);
    if (!st) st = tq_out_commit(&o, err);
    else if (o.tmp_path || o.fd >= 0) tq_out_abort(&o);
    free(b.p);
    tq_gguf_layout_free(&lay);
    return st;
}
