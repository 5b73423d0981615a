/*
 * gguf.c — the strict GGUF reader (gguf.h; rules in docs/formats/gguf.md).
 *
 * Every rule of ggml's gguf_init_from_file (FORMATS.md §2.2) plus: tensors
 * of 0 dims or with a zero dimension, BOOL values other than 0/1 and NUL
 * bytes inside keys or tensor names are rejected, and each tensor's data
 * must lie inside the image. Tensor data must be exactly contiguous in info
 * order (offset_i = sum of align(nbytes_j), j < i), as ggml requires, so an
 * overlap, a gap and a misaligned offset each get their own message.
 */
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <stdlib.h>
#include <string.h>

typedef struct cur {
    const uint8_t *d;
    uint64_t size, pos;
    const char *path;
    tq_error *err;
    char ctx[96];   /* "key K: " / "tensor T: " for truncation messages, or "" */
    const tq_map *m;      /* the mapped file, or NULL (an image in memory) */
    uint64_t pinned_to;   /* d[0, pinned_to) is pinned (tq_map_pin): safe to read */
} cur;

/* Header bytes are read in place only once pinned; read ahead so that the
 * many small fields of a KV area cost one pread per PIN_AHEAD bytes. */
#define PIN_AHEAD (256u << 10)
static tq_status pin(cur *c, uint64_t n) {
    if (!c->m || c->pos + n <= c->pinned_to) return TQ_OK;   /* callers checked pos + n <= size */
    uint64_t want = n > PIN_AHEAD ? n : PIN_AHEAD;
    if (want > c->size - c->pos) want = c->size - c->pos;
    tq_status st = tq_map_pin(c->m, c->pos, want, c->err);
    if (!st) c->pinned_to = c->pos + want;
    return st;
}

static const char *VTYPE_NAMES[TQ_GGUF_VTYPE_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};
/* bytes of a fixed-size value; 0 for STRING / ARRAY */
static const uint8_t VTYPE_SIZE[TQ_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *tq_gguf_vtype_name(int64_t t) { return t >= 0 && t < TQ_GGUF_VTYPE_COUNT ? VTYPE_NAMES[t] : "?"; }
size_t tq_gguf_vtype_size(int64_t t) { return t >= 0 && t < TQ_GGUF_VTYPE_COUNT ? VTYPE_SIZE[t] : 0; }

/* A printable rendering of a key or name for messages (at most 64 bytes). */
typedef struct shown { char s[72]; } shown;
static shown show(const char *s, uint64_t len) {
    shown r;
    uint64_t n = len < 64 ? len : 64, k = 0;
    for (uint64_t i = 0; i < n; i++) r.s[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (len > n) { r.s[k++] = '.'; r.s[k++] = '.'; r.s[k++] = '.'; }
    r.s[k] = 0;
    return r;
}

static tq_status need(cur *c, uint64_t n, const char *what) {
    if (n <= c->size - c->pos) return pin(c, n);
    return tq_err(c->err, TQ_E_FORMAT, "%s: %struncated at offset %llu: %s needs %llu bytes, %llu left", c->path,
                  c->ctx, (unsigned long long)c->pos, what, (unsigned long long)n, (unsigned long long)(c->size - c->pos));
}
static tq_status rd32(cur *c, uint32_t *v, const char *what) {
    tq_status st = need(c, 4, what);
    if (st) return st;
    *v = tq_ld32(c->d + c->pos);
    c->pos += 4;
    return TQ_OK;
}
static tq_status rd64(cur *c, uint64_t *v, const char *what) {
    tq_status st = need(c, 8, what);
    if (st) return st;
    *v = tq_ld64(c->d + c->pos);
    c->pos += 8;
    return TQ_OK;
}

/* A length-prefixed string; `what` says whose (for messages). */
static tq_status rdstr(cur *c, tq_gguf_str *s, const char *what, const char *key) {
    uint64_t at = c->pos, len;
    tq_status st = rd64(c, &len, what);
    if (st) return st;
    if (len > c->size - c->pos)
        return tq_err(c->err, TQ_E_FORMAT, "%s: %s%s%s: string length %llu at offset %llu runs past the end of the file "
                      "(%llu bytes left)", c->path, what, key ? " of key " : "", key ? key : "", (unsigned long long)len,
                      (unsigned long long)at, (unsigned long long)(c->size - c->pos));
    if (len > TQ_GGUF_MAX_STRING)
        return tq_err(c->err, TQ_E_LIMIT, "%s: %s%s%s: string length %llu at offset %llu exceeds the limit of %llu bytes",
                      c->path, what, key ? " of key " : "", key ? key : "", (unsigned long long)len, (unsigned long long)at,
                      TQ_GGUF_MAX_STRING);
    if ((st = pin(c, len))) return st;
    s->s = (const char *)c->d + c->pos;
    s->len = len;
    c->pos += len;
    return TQ_OK;
}

static tq_status rdvalue(cur *c, tq_gguf_value *v, const char *key) {
    uint64_t at = c->pos;
    switch (v->type) {
    case TQ_GGUF_STRING: return rdstr(c, &v->str, "value", key);
    case TQ_GGUF_ARRAY: {
        uint32_t et;
        tq_status st = rd32(c, &et, "array element type");
        if (st) return st;
        if (et == TQ_GGUF_ARRAY)
            return tq_err(c->err, TQ_E_UNSUPPORTED, "%s: key %s: array of arrays at offset %llu (nested arrays are "
                          "rejected, as ggml does)", c->path, key, (unsigned long long)at);
        if (et >= TQ_GGUF_VTYPE_COUNT)
            return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: unknown array element type %u at offset %llu", c->path, key,
                          et, (unsigned long long)at);
        v->elem_type = (tq_gguf_vtype)et;
        if ((st = rd64(c, &v->count, "array count")) != TQ_OK) return st;
        if (v->count > TQ_GGUF_MAX_ARRAY)
            return tq_err(c->err, TQ_E_LIMIT, "%s: key %s: array count %llu at offset %llu exceeds the limit of %llu "
                          "elements", c->path, key, (unsigned long long)v->count, (unsigned long long)(at + 4),
                          TQ_GGUF_MAX_ARRAY);
        uint64_t left = c->size - c->pos;
        if (et != TQ_GGUF_STRING) {
            uint64_t bytes = v->count * VTYPE_SIZE[et];   /* <= 2^33: no overflow */
            if (bytes > left)
                return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: array of %llu %s at offset %llu runs past the end of "
                              "the file (%llu bytes needed, %llu left)", c->path, key, (unsigned long long)v->count,
                              VTYPE_NAMES[et], (unsigned long long)at, (unsigned long long)bytes, (unsigned long long)left);
            if ((st = pin(c, bytes))) return st;
            v->elems = c->d + c->pos;
            if (et == TQ_GGUF_BOOL)
                for (uint64_t i = 0; i < v->count; i++)
                    if (v->elems[i] > 1)
                        return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: BOOL element %llu at offset %llu is %u, not 0 or 1",
                                      c->path, key, (unsigned long long)i, (unsigned long long)(c->pos + i), v->elems[i]);
            c->pos += bytes;
            return TQ_OK;
        }
        if (v->count > left / 8)
            return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: array of %llu strings at offset %llu runs past the end of "
                          "the file (%llu bytes left)", c->path, key, (unsigned long long)v->count,
                          (unsigned long long)at, (unsigned long long)left);
        v->strs = calloc(v->count ? v->count : 1, sizeof *v->strs);
        if (!v->strs) return tq_err(c->err, TQ_E_NOMEM, "%s: key %s: out of memory", c->path, key);
        for (uint64_t i = 0; i < v->count; i++)
            if ((st = rdstr(c, &v->strs[i], "array element", key)) != TQ_OK) return st;
        return TQ_OK;
    }
    default: break;
    }
    if (v->type >= TQ_GGUF_VTYPE_COUNT)
        return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: unknown value type %u at offset %llu", c->path, key,
                      (unsigned)v->type, (unsigned long long)(at - 4));
    tq_status st = need(c, VTYPE_SIZE[v->type], "value");
    if (st) return st;
    const uint8_t *p = c->d + c->pos;
    switch (v->type) {
    case TQ_GGUF_UINT8: v->num.u = p[0]; break;
    case TQ_GGUF_INT8: v->num.i = (int8_t)p[0]; break;
    case TQ_GGUF_UINT16: v->num.u = tq_ld16(p); break;
    case TQ_GGUF_INT16: v->num.i = (int16_t)tq_ld16(p); break;
    case TQ_GGUF_UINT32: v->num.u = tq_ld32(p); break;
    case TQ_GGUF_INT32: v->num.i = (int32_t)tq_ld32(p); break;
    case TQ_GGUF_UINT64: v->num.u = tq_ld64(p); break;
    case TQ_GGUF_INT64: v->num.i = (int64_t)tq_ld64(p); break;
    case TQ_GGUF_FLOAT32: { uint32_t u = tq_ld32(p); float f; memcpy(&f, &u, 4); v->num.f = f; break; }
    case TQ_GGUF_FLOAT64: { uint64_t u = tq_ld64(p); memcpy(&v->num.f, &u, 8); break; }
    case TQ_GGUF_BOOL:
        if (p[0] > 1)
            return tq_err(c->err, TQ_E_FORMAT, "%s: key %s: BOOL value at offset %llu is %u, not 0 or 1", c->path, key,
                          (unsigned long long)c->pos, p[0]);
        v->num.u = p[0];
        break;
    default: break;
    }
    c->pos += VTYPE_SIZE[v->type];
    return TQ_OK;
}

/* A name and the file offset of its entry, for the duplicate checks. */
typedef struct named { const char *name; uint64_t offset; } named;

static int cmp_named(const void *a, const void *b) {
    const named *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : x->offset < y->offset ? -1 : 1;
}

/* FORMAT error "duplicate <what> N (<where> at offsets A and B)" for the
 * first name (in sorted order) that occurs twice; `at(i)` fills entry i. */
static tq_status no_dups(cur *c, const tq_gguf *g, int64_t n, bool keys, const char *what, const char *where) {
    if (n < 2) return TQ_OK;
    named *s = malloc(sizeof *s * (size_t)n);
    if (!s) return tq_err(c->err, TQ_E_NOMEM, "%s: out of memory", c->path);
    for (int64_t i = 0; i < n; i++)
        s[i] = keys ? (named){g->kv[i].key, g->kv[i].offset} : (named){g->tensors[i].name, g->tensors[i].info_offset};
    qsort(s, (size_t)n, sizeof *s, cmp_named);
    tq_status st = TQ_OK;
    for (int64_t i = 1; i < n && !st; i++)
        if (strcmp(s[i - 1].name, s[i].name) == 0)
            st = tq_err(c->err, TQ_E_FORMAT, "%s: duplicate %s %s (%s at offsets %llu and %llu)", c->path, what,
                        show(s[i].name, strlen(s[i].name)).s, where, (unsigned long long)s[i - 1].offset,
                        (unsigned long long)s[i].offset);
    free(s);
    return st;
}

static tq_status parse_kvs(cur *c, tq_gguf *g) {
    for (int64_t i = 0; i < g->n_kv; i++) {
        tq_gguf_kv *kv = &g->kv[i];
        kv->offset = c->pos;
        tq_gguf_str k;
        tq_status st = rdstr(c, &k, "key", NULL);
        if (st) return st;
        if (k.len == 0)
            return tq_err(c->err, TQ_E_FORMAT, "%s: empty key at offset %llu (KV %lld)", c->path,
                          (unsigned long long)kv->offset, (long long)i);
        if (memchr(k.s, 0, k.len))
            return tq_err(c->err, TQ_E_FORMAT, "%s: key %s at offset %llu holds a NUL byte", c->path,
                          show(k.s, k.len).s, (unsigned long long)kv->offset);
        if (!(kv->key = malloc(k.len + 1))) return tq_err(c->err, TQ_E_NOMEM, "%s: out of memory", c->path);
        memcpy(kv->key, k.s, k.len);
        kv->key[k.len] = 0;
        shown ks = show(k.s, k.len);
        const char *key = ks.s;
        snprintf(c->ctx, sizeof c->ctx, "key %s: ", key);
        uint32_t t;
        if ((st = rd32(c, &t, "value type")) != TQ_OK) return st;
        kv->v.type = (tq_gguf_vtype)t;
        if ((st = rdvalue(c, &kv->v, key)) != TQ_OK) return st;
        kv->nbytes = c->pos - kv->offset;
        c->ctx[0] = 0;
    }
    tq_status st = no_dups(c, g, g->n_kv, true, "key", "entries");
    if (st) return st;
    int64_t a = tq_gguf_find_kv(g, "general.alignment");
    g->alignment = TQ_GGUF_DEFAULT_ALIGNMENT;
    if (a >= 0) {
        const tq_gguf_value *v = &g->kv[a].v;
        if (v->type != TQ_GGUF_UINT32)
            return tq_err(c->err, TQ_E_FORMAT, "%s: key general.alignment has type %s, must be UINT32", c->path,
                          tq_gguf_vtype_name(v->type));
        if (v->num.u == 0 || (v->num.u & (v->num.u - 1)))
            return tq_err(c->err, TQ_E_FORMAT, "%s: key general.alignment is %llu, must be a power of two", c->path,
                          (unsigned long long)v->num.u);
        g->alignment = (uint32_t)v->num.u;
    }
    return TQ_OK;
}

static tq_status parse_info(cur *c, tq_gguf_tensor *t) {
    t->info_offset = c->pos;
    tq_gguf_str nm;
    tq_status st = rdstr(c, &nm, "tensor name", NULL);
    if (st) return st;
    if (nm.len > TQ_GGUF_MAX_NAME)
        return tq_err(c->err, TQ_E_LIMIT, "%s: tensor name %s at offset %llu is %llu bytes, over the limit of %d",
                      c->path, show(nm.s, nm.len).s, (unsigned long long)t->info_offset, (unsigned long long)nm.len,
                      TQ_GGUF_MAX_NAME);
    if (memchr(nm.s, 0, nm.len))
        return tq_err(c->err, TQ_E_FORMAT, "%s: tensor name %s at offset %llu holds a NUL byte", c->path,
                      show(nm.s, nm.len).s, (unsigned long long)t->info_offset);
    memcpy(t->name, nm.s, nm.len);
    t->name[nm.len] = 0;
    snprintf(c->ctx, sizeof c->ctx, "tensor %s: ", t->name);
    uint32_t nd, ty;
    if ((st = rd32(c, &nd, "n_dims")) != TQ_OK) return st;
    if (nd == 0 || nd > TQ_GGUF_MAX_DIMS)
        return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: n_dims %u at offset %llu is outside 1..%d", c->path, t->name,
                      nd, (unsigned long long)(c->pos - 4), TQ_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    for (int k = 0; k < TQ_GGUF_MAX_DIMS; k++) t->ne[k] = 1;
    for (int k = 0; k < t->n_dims; k++) {
        uint64_t d;
        if ((st = rd64(c, &d, "dimension")) != TQ_OK) return st;
        if (d > (uint64_t)INT64_MAX || d == 0)
            return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: dimension ne[%d] = %lld at offset %llu is not positive",
                          c->path, t->name, k, (long long)d, (unsigned long long)(c->pos - 8));
        t->ne[k] = (int64_t)d;
    }
    if (!tq_shape_numel(TQ_GGUF_MAX_DIMS, t->ne, &t->numel))
        return tq_err(c->err, TQ_E_LIMIT, "%s: tensor %s: element count of shape [%lld, %lld, %lld, %lld] overflows "
                      "int64", c->path, t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                      (long long)t->ne[3]);
    if ((st = rd32(c, &ty, "ggml type")) != TQ_OK) return st;
    const tq_ggml_type_info *ti = tq_ggml_type((int32_t)ty);
    if (!ti)
        return tq_err(c->err, TQ_E_UNSUPPORTED, "%s: unsupported ggml type %d for tensor %s (at offset %llu)", c->path,
                      (int32_t)ty, t->name, (unsigned long long)(c->pos - 4));
    t->ggml_type = (int)ty;
    if (t->ne[0] % ti->block)
        return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: ne[0] = %lld is not a multiple of the %s block size %lld",
                      c->path, t->name, (long long)t->ne[0], ti->name, (long long)ti->block);
    if (tq_ggml_row_bytes(t->ggml_type, t->numel, t->name, &t->nbytes, c->err) != TQ_OK)
        return tq_err(c->err, TQ_E_LIMIT, "%s: tensor %s: the byte count of %lld %s elements overflows", c->path,
                      t->name, (long long)t->numel, ti->name);
    st = rd64(c, &t->rel_offset, "tensor offset");
    c->ctx[0] = 0;
    return st;
}

/* Place every tensor: aligned, inside the image, contiguous in info order. */
static tq_status place(cur *c, tq_gguf *g) {
    uint64_t a = g->alignment, expect = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        tq_gguf_tensor *t = &g->tensors[i];
        uint64_t end;
        if (t->rel_offset % a)
            return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: data offset %llu is not a multiple of the alignment %llu",
                          c->path, t->name, (unsigned long long)t->rel_offset, (unsigned long long)a);
        if (!tq_add_u64(g->data_start, t->rel_offset, &t->offset) || !tq_add_u64(t->offset, t->nbytes, &end) ||
            end > g->size)
            return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: data at offset %llu + %llu (%llu bytes) runs past the end "
                          "of the file (%llu bytes)", c->path, t->name, (unsigned long long)g->data_start,
                          (unsigned long long)t->rel_offset, (unsigned long long)t->nbytes, (unsigned long long)g->size);
        if (t->rel_offset < expect)
            return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: data offset %llu overlaps tensor %s, which ends at %llu",
                          c->path, t->name, (unsigned long long)t->rel_offset, g->tensors[i - 1].name,
                          (unsigned long long)(g->tensors[i - 1].rel_offset + g->tensors[i - 1].nbytes));
        if (t->rel_offset > expect)
            return tq_err(c->err, TQ_E_FORMAT, "%s: tensor %s: data offset %llu leaves a gap after %s (expected %llu: "
                          "tensor data must be contiguous in info order)", c->path, t->name,
                          (unsigned long long)t->rel_offset, i ? g->tensors[i - 1].name : "the data start",
                          (unsigned long long)expect);
        t->data = g->data + t->offset;
        g->tensor_bytes += t->nbytes;
        expect = t->rel_offset + (t->nbytes + a - 1) / a * a;   /* end <= size: no overflow */
    }
    uint64_t padded_end = g->data_start + expect;
    if (g->n_tensors) {
        g->pad_tensor_bytes = (g->size < padded_end ? g->size : padded_end) - g->data_start - g->tensor_bytes;
        g->trailing_bytes = g->size > padded_end ? g->size - padded_end : 0;
    } else {
        g->trailing_bytes = g->size > g->data_start ? g->size - g->data_start : 0;
    }
    return TQ_OK;
}

static tq_status parse(cur *c, tq_gguf *g) {
    tq_status pst = c->size < 4 ? TQ_OK : pin(c, 4);
    if (pst) return pst;
    if (c->size < 4 || memcmp(c->d, "GGUF", 4) != 0)
        return tq_err(c->err, TQ_E_FORMAT, "%s: bad magic at offset 0: not a GGUF file (want \"GGUF\")", c->path);
    c->pos = 4;
    tq_status st;
    uint64_t nt, nkv;
    if ((st = rd32(c, &g->version, "version")) != TQ_OK) return st;
    if (g->version == 0) return tq_err(c->err, TQ_E_FORMAT, "%s: version 0 at offset 4 is invalid", c->path);
    if ((g->version & 0xFFFF) == 0)
        return tq_err(c->err, TQ_E_UNSUPPORTED, "%s: version 0x%08x at offset 4 looks byte-swapped: big-endian GGUF "
                      "is not supported", c->path, g->version);
    if (g->version == 1 || g->version > 3)
        return tq_err(c->err, TQ_E_UNSUPPORTED, "%s: GGUF version %u at offset 4 is not supported (only 2 and 3)",
                      c->path, g->version);
    if ((st = rd64(c, &nt, "tensor_count")) != TQ_OK || (st = rd64(c, &nkv, "kv_count")) != TQ_OK) return st;
    g->header_bytes = c->pos;
    /* A KV takes at least 14 bytes (key length, 1-byte key, type, 1-byte
     * value) and a tensor info at least 32: bound the counts by the file. */
    if (nkv > (uint64_t)INT64_MAX || nkv > (c->size - c->pos) / 14)
        return tq_err(c->err, TQ_E_FORMAT, "%s: kv_count %llu at offset 16 cannot fit in the %llu bytes that follow",
                      c->path, (unsigned long long)nkv, (unsigned long long)(c->size - c->pos));
    if (nt > (uint64_t)INT64_MAX || nt > (c->size - c->pos) / 32)
        return tq_err(c->err, TQ_E_FORMAT, "%s: tensor_count %llu at offset 8 cannot fit in the %llu bytes that follow",
                      c->path, (unsigned long long)nt, (unsigned long long)(c->size - c->pos));
    g->kv = calloc(nkv ? nkv : 1, sizeof *g->kv);
    if (!g->kv) return tq_err(c->err, TQ_E_NOMEM, "%s: out of memory", c->path);
    g->n_kv = (int64_t)nkv;
    if ((st = parse_kvs(c, g)) != TQ_OK) return st;
    g->kv_bytes = c->pos - g->header_bytes;
    if (nt > (c->size - c->pos) / 32)
        return tq_err(c->err, TQ_E_FORMAT, "%s: tensor_count %llu cannot fit in the %llu bytes after the KVs",
                      c->path, (unsigned long long)nt, (unsigned long long)(c->size - c->pos));
    g->tensors = calloc(nt ? nt : 1, sizeof *g->tensors);
    if (!g->tensors) return tq_err(c->err, TQ_E_NOMEM, "%s: out of memory", c->path);
    g->n_tensors = (int64_t)nt;
    for (int64_t i = 0; i < g->n_tensors; i++)
        if ((st = parse_info(c, &g->tensors[i])) != TQ_OK) return st;
    if ((st = no_dups(c, g, g->n_tensors, false, "tensor name", "infos")) != TQ_OK) return st;
    g->info_bytes = c->pos - g->header_bytes - g->kv_bytes;
    uint64_t a = g->alignment;
    if (!tq_add_u64(c->pos, a - 1, &g->data_start))
        return tq_err(c->err, TQ_E_LIMIT, "%s: data start overflows", c->path);
    g->data_start = g->data_start / a * a;
    g->pad_info_bytes = (g->size < g->data_start ? g->size : g->data_start) - c->pos;
    return place(c, g);
}

tq_status tq_gguf_parse(const uint8_t *data, uint64_t size, const char *path, tq_gguf *g, tq_error *err) {
    return tq_gguf_parse_map(data, size, NULL, path, g, err);
}

tq_status tq_gguf_parse_map(const uint8_t *data, uint64_t size, const tq_map *m, const char *path, tq_gguf *g,
                            tq_error *err) {
    memset(g, 0, sizeof *g);
    g->data = data;
    g->size = size;
    tq_error local;
    cur c = {data, size, 0, path ? path : "(gguf)", err ? err : &local, "", m, 0};
    tq_status st = parse(&c, g);
    if (st) {
        tq_gguf_free(g);
        return st;
    }
    tq_err_clear(err);
    return TQ_OK;
}

void tq_gguf_free(tq_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; g->kv && i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].v.strs);
    }
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof *g);
}

int64_t tq_gguf_find_kv(const tq_gguf *g, const char *key) {
    for (int64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0) return i;
    return -1;
}

int64_t tq_gguf_find_tensor(const tq_gguf *g, const char *name) {
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}

tq_status tq_gguf_tensor_to_f32(const tq_gguf *g, int64_t i, float *out, tq_error *err) {
    if (i < 0 || i >= g->n_tensors) return tq_err(err, TQ_E_ARG, "tensor index %lld out of range", (long long)i);
    const tq_gguf_tensor *t = &g->tensors[i];
    return tq_ggml_dequantize(t->ggml_type, t->data, out, t->numel, t->name, err);
}
