/*
 * gguf_container.c — GGUF as a container (the GGUF row of the format table):
 * the strict parse of gguf.c turned into raw entries and string metadata.
 *
 * Entries, in file (= data) order, one per GGUF tensor:
 *   name      the tensor's name
 *   shape     numpy order: the reverse of GGUF's ne[] (ne[0] innermost), so
 *             a Linear weight with ne = {in, out} is [out, in]
 *   dtype     the plain element types are dtypes (F32, F16, BF16, I8, I16,
 *             I32, I64, F64); every ggml block type (Q4_0 ... TQ2_0, IQ*) is
 *             stored as U8 with ggml_type set (src/io/model.c makes it a
 *             tensor of the codec "ggml", src/codec/ggml.c)
 *   offset, nbytes, stored   the absolute offset and the block bytes
 * Metadata: every KV as a string, key unchanged: integers in decimal, BOOL
 * "true"/"false", FLOAT32 with 9 and FLOAT64 with 17 significant digits,
 * STRING as is (up to its first NUL byte); arrays of at most 64 numbers as
 * "[a, b, ...]", longer arrays and string arrays summarised as
 * "[N x TYPE]" (the whole values: tq_model_gguf in io/model.h).
 * Ledger: header_bytes = fixed header + KVs + tensor infos (meta_bytes: the
 * KVs), padding_bytes = alignment padding before the data and after each
 * tensor, plus any bytes after the last padded tensor. With the tensors'
 * bytes they sum to the file size (the parser's own accounting).
 * The parsed tq_gguf stays in c->priv (freed with the container).
 */
#include "io/gguf_container.h"
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* GGUF (FORMATS.md §2.1): magic "GGUF" at 0. */
int tq_gguf_sniff(const uint8_t *d, uint64_t n) {
    return n >= 4 && memcmp(d, "GGUF", 4) == 0 ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_NO;
}

/* The dtype of a plain ggml element type, or TQ_DTYPE_INVALID for a block type. */
static tq_dtype plain_dtype(int type) {
    switch (type) {
    case TQ_GGML_F32: return TQ_DTYPE_F32;
    case TQ_GGML_F16: return TQ_DTYPE_F16;
    case TQ_GGML_BF16: return TQ_DTYPE_BF16;
    case TQ_GGML_I8: return TQ_DTYPE_I8;
    case TQ_GGML_I16: return TQ_DTYPE_I16;
    case TQ_GGML_I32: return TQ_DTYPE_I32;
    case TQ_GGML_I64: return TQ_DTYPE_I64;
    case TQ_GGML_F64: return TQ_DTYPE_F64;
    default: return TQ_DTYPE_INVALID;
    }
}

/* Element i of a fixed-size array as text. */
static void elem_text(tq_sb *b, tq_gguf_vtype t, const uint8_t *p) {
    switch (t) {
    case TQ_GGUF_UINT8: tq_sb_printf(b, "%u", p[0]); break;
    case TQ_GGUF_INT8: tq_sb_printf(b, "%d", (int8_t)p[0]); break;
    case TQ_GGUF_UINT16: tq_sb_printf(b, "%u", tq_ld16(p)); break;
    case TQ_GGUF_INT16: tq_sb_printf(b, "%d", (int16_t)tq_ld16(p)); break;
    case TQ_GGUF_UINT32: tq_sb_printf(b, "%" PRIu32, tq_ld32(p)); break;
    case TQ_GGUF_INT32: tq_sb_printf(b, "%" PRId32, (int32_t)tq_ld32(p)); break;
    case TQ_GGUF_UINT64: tq_sb_printf(b, "%" PRIu64, tq_ld64(p)); break;
    case TQ_GGUF_INT64: tq_sb_printf(b, "%" PRId64, (int64_t)tq_ld64(p)); break;
    case TQ_GGUF_BOOL: tq_sb_puts(b, p[0] ? "true" : "false"); break;
    case TQ_GGUF_FLOAT32: { uint32_t u = tq_ld32(p); float f; memcpy(&f, &u, 4); tq_sb_printf(b, "%.9g", (double)f); break; }
    case TQ_GGUF_FLOAT64: { uint64_t u = tq_ld64(p); double f; memcpy(&f, &u, 8); tq_sb_printf(b, "%.17g", f); break; }
    default: tq_sb_puts(b, "?"); break;
    }
}

/* A KV's value as metadata text (rules in the file comment). */
static void value_text(tq_sb *b, const tq_gguf_value *v) {
    switch (v->type) {
    case TQ_GGUF_STRING: tq_sb_printf(b, "%.*s", (int)strnlen(v->str.s, (size_t)v->str.len), v->str.s); return;
    case TQ_GGUF_INT8: case TQ_GGUF_INT16: case TQ_GGUF_INT32: case TQ_GGUF_INT64:
        tq_sb_printf(b, "%lld", (long long)v->num.i); return;
    case TQ_GGUF_BOOL: tq_sb_puts(b, v->num.u ? "true" : "false"); return;
    case TQ_GGUF_FLOAT32: tq_sb_printf(b, "%.9g", v->num.f); return;
    case TQ_GGUF_FLOAT64: tq_sb_printf(b, "%.17g", v->num.f); return;
    case TQ_GGUF_ARRAY: break;
    default: tq_sb_printf(b, "%llu", (unsigned long long)v->num.u); return;
    }
    size_t es = tq_gguf_vtype_size(v->elem_type);
    if (v->elem_type == TQ_GGUF_STRING || !es || v->count > 64) {
        tq_sb_printf(b, "[%llu x %s]", (unsigned long long)v->count, tq_gguf_vtype_name(v->elem_type));
        return;
    }
    tq_sb_puts(b, "[");
    for (uint64_t i = 0; i < v->count; i++) {
        if (i) tq_sb_puts(b, ", ");
        elem_text(b, v->elem_type, v->elems + i * es);
    }
    tq_sb_puts(b, "]");
}

static void gguf_priv_free(void *p) {
    tq_gguf_free(p);
    free(p);
}

tq_status tq_gguf_container_parse(const uint8_t *data, uint64_t size, const tq_map *m, const char *path,
                                  tq_container *c, tq_error *err) {
    memset(c, 0, sizeof *c);
    c->map.fd = -1;   /* not ours: tq_container_free must not close fd 0 */
    tq_gguf *g = calloc(1, sizeof *g);
    if (!g) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", path);
    tq_status st = tq_gguf_parse_map(data, size, m, path, g, err);
    if (st) { free(g); return st; }
    c->priv = g;
    c->priv_free = gguf_priv_free;
    c->entries = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *c->entries);
    if (!c->entries) { st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", path); goto fail; }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const tq_gguf_tensor *t = &g->tensors[i];
        tq_entry *e = &c->entries[c->n];
        if (!(e->name = tq_strdup(t->name))) { st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", path); goto fail; }
        c->n++;
        e->dtype = plain_dtype(t->ggml_type);
        if (e->dtype == TQ_DTYPE_INVALID) { e->dtype = TQ_DTYPE_U8; e->ggml_type = t->ggml_type; }
        e->ndim = t->n_dims;
        for (int d = 0; d < t->n_dims; d++) e->shape[d] = t->ne[t->n_dims - 1 - d];
        e->offset = t->offset;
        e->nbytes = e->stored = t->nbytes;
        e->data = t->data;
    }
    tq_sb b = {0};
    for (int64_t i = 0; i < g->n_kv; i++) {
        b.len = 0;
        if (b.s) b.s[0] = 0;
        value_text(&b, &g->kv[i].v);
        if (b.oom) { tq_sb_free(&b); st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", path); goto fail; }
        if ((st = tq_container_add_meta(c, g->kv[i].key, b.s ? b.s : "", err))) { tq_sb_free(&b); goto fail; }
    }
    tq_sb_free(&b);
    c->header_bytes = g->header_bytes + g->kv_bytes + g->info_bytes;
    c->meta_bytes = g->kv_bytes;
    c->padding_bytes = g->pad_info_bytes + g->pad_tensor_bytes + g->trailing_bytes;
    return TQ_OK;
fail:
    tq_container_free(c);   /* frees g too; the map is not yet the container's */
    return st;
}
