/*
 * safetensors.c — strict reader and streaming writer for safetensors.
 *
 * Layout (docs/formats/safetensors.md):
 *   [0, 8)        N, u64 little-endian: header length
 *   [8, 8+N)      UTF-8 JSON object, right-padded with spaces:
 *                   { "__metadata__": {"k": "v", ...},            (optional)
 *                     "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ... }
 *   [8+N, end)    the data: every tensor's bytes, contiguous, no holes.
 *
 * The reader rejects, each with its own message naming the file (and the
 * tensor): a file under 8 bytes, N over 100,000,000, N past the end of the
 * file, invalid UTF-8, a NUL byte or \u0000 escape, a byte order mark, invalid
 * JSON, a non-object root or entry, duplicate keys at any level, non-string
 * metadata, unknown dtype, bad shape values, more than TQ_MAX_DIMS dims,
 * offsets that overlap/leave holes/point outside the data, a byte size that
 * does not match dtype x shape, and trailing or missing bytes. It accepts JSON
 * whitespace around the object and unaligned (unpadded) data, like the
 * reference parser. The full table: docs/formats/safetensors.md.
 *
 * The writer follows the reference writer's conventions: __metadata__ first,
 * tensors sorted by descending dtype alignment, then by name; header padded
 * with spaces to a multiple of 8, so every tensor is 8-byte aligned. It
 * refuses plans its reader would reject (duplicate names, "__metadata__" as a
 * name, non-UTF-8 text, packed dtypes not filling whole bytes).
 */
#include "io/safetensors.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER 100000000ull
#define ST_SNIFF_WS 4096u           /* leading header whitespace the sniff looks through */

static bool utf8_valid(const uint8_t *s, uint64_t n, uint64_t *bad) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        int k; uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; }
        else { *bad = i; return false; }
        for (int j = 1; j <= k; j++) {
            if (i + (uint64_t)j >= n || (s[i + (uint64_t)j] & 0xC0) != 0x80) { *bad = i; return false; }
            cp = cp << 6 | (s[i + (uint64_t)j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *bad = i; return false; }
        i += (uint64_t)k + 1;
    }
    return true;
}

static int cmp_entry_begin(const void *a, const void *b) {
    const tq_entry *x = *(tq_entry *const *)a, *y = *(tq_entry *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first key that occurs twice among obj's members, or NULL. cJSON keeps
 * duplicates (serde would reject or silently replace them), so look. */
static const char *dup_key(const cJSON *obj, tq_status *st, tq_error *err) {
    int64_t n = 0;
    for (const cJSON *it = obj->child; it; it = it->next) n++;
    if (n < 2) return NULL;
    const char **k = malloc(sizeof(char *) * (size_t)n);
    if (!k) { *st = tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    n = 0;
    for (const cJSON *it = obj->child; it; it = it->next) k[n++] = it->string;
    qsort(k, (size_t)n, sizeof *k, cmp_str);
    const char *d = NULL;
    for (int64_t i = 1; i < n && !d; i++) if (strcmp(k[i - 1], k[i]) == 0) d = k[i];
    free(k);
    return d;
}

/* Offset of the first "\u0000" escape in the header, or -1: cJSON would end
 * the string there, silently shortening a name. A backslash is only valid JSON
 * inside a string, so no string tracking is needed. */
static int64_t escaped_nul(const uint8_t *h, uint64_t n) {
    for (uint64_t i = 0; i + 1 < n; i++) {
        if (h[i] != '\\') continue;
        if (h[i + 1] == 'u' && i + 5 < n && memcmp(h + i + 2, "0000", 4) == 0) return (int64_t)i;
        i++;   /* skip the escaped character */
    }
    return -1;
}

/* An exact non-negative integer from a JSON number (<= 2^53). */
static bool json_u64(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return false;
    *v = (uint64_t)d;
    return true;
}

static bool json_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int tq_safetensors_sniff(const uint8_t *data, uint64_t size) {
    if (size < 9) return TQ_SNIFF_NO;
    uint64_t n = tq_ld64(data);
    if (n > ST_MAX_HEADER || (data[8] != '{' && !json_ws(data[8]))) return TQ_SNIFF_NO;
    if (n < 2 || n > size - 8) return TQ_SNIFF_SHAPE;   /* cut short: the parser says where */
    uint64_t i = 0, lim = n < ST_SNIFF_WS ? n : ST_SNIFF_WS;   /* sniffs read only the file's first 64 KiB */
    while (i < lim && json_ws(data[8 + i])) i++;
    return i < lim && data[8 + i] == '{' ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_SHAPE;
}

tq_status tq_safetensors_parse(const uint8_t *data, uint64_t size, const char *path,
                               tq_container *c, tq_error *err) {
    return tq_safetensors_parse_map(data, size, NULL, path, c, err);
}

tq_status tq_safetensors_parse_map(const uint8_t *data, uint64_t size, const tq_map *mp, const char *path,
                                   tq_container *c, tq_error *err) {
    memset(c, 0, sizeof *c);
    c->map.fd = -1;   /* not ours: tq_container_free must not close fd 0 */
    if (size < 8)
        return tq_err(err, TQ_E_FORMAT, "%s: file is %llu bytes, shorter than the 8-byte safetensors header length",
                      path, (unsigned long long)size);
    tq_status pst = tq_map_pin(mp, 0, 8, err);
    if (pst) return pst;
    uint64_t n = tq_ld64(data);
    if (n > ST_MAX_HEADER)
        return tq_err(err, TQ_E_FORMAT, "%s: header length %llu exceeds the limit of %llu bytes",
                      path, (unsigned long long)n, ST_MAX_HEADER);
    if (n > size - 8)
        return tq_err(err, TQ_E_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)",
                      path, (unsigned long long)n, (unsigned long long)size);
    if ((pst = tq_map_pin(mp, 8, n, err))) return pst;   /* the header is read in place: pinned first */
    const uint8_t *h = data + 8;
    uint64_t bad;
    if (!utf8_valid(h, n, &bad))
        return tq_err(err, TQ_E_FORMAT, "%s: header is not valid UTF-8 (byte %llu of the header)",
                      path, (unsigned long long)bad);
    for (uint64_t i = 0; i < n; i++)
        if (h[i] == 0) return tq_err(err, TQ_E_FORMAT, "%s: header holds a NUL byte at %llu", path, (unsigned long long)i);
    int64_t en0 = escaped_nul(h, n);
    if (en0 >= 0)
        return tq_err(err, TQ_E_FORMAT, "%s: header escapes a NUL character (\\u0000) at byte %lld of the header",
                      path, (long long)en0);
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
        return tq_err(err, TQ_E_FORMAT, "%s: header is not valid JSON (it starts with a UTF-8 byte order mark)", path);

    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)h, (size_t)n, &end, 0);
    if (!root) {
        /* cJSON sets `end` to the failure position too (its global error
         * pointer is not thread-safe, so it is not used) */
        uint64_t at = end && end >= (const char *)h && end <= (const char *)h + n ? (uint64_t)(end - (const char *)h) : 0;
        return tq_err(err, TQ_E_FORMAT, "%s: header is not valid JSON (near byte %llu of the header)",
                      path, (unsigned long long)at);
    }
    for (const char *p = end; p < (const char *)h + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return tq_err(err, TQ_E_FORMAT, "%s: header has bytes after its JSON object (byte %llu of the header)",
                          path, (unsigned long long)(p - (const char *)h));
        }
    tq_status st = TQ_OK;
    if (!cJSON_IsObject(root)) { st = tq_err(err, TQ_E_FORMAT, "%s: header is JSON but not an object", path); goto fail; }

    int64_t count = 0, nkeys = 0;
    for (cJSON *it = root->child; it; it = it->next) { nkeys++; if (strcmp(it->string, "__metadata__") != 0) count++; }

    (void)nkeys;
    /* duplicate keys */
    {
        const char *d = dup_key(root, &st, err);
        if (st) goto fail;
        if (d) { st = tq_err(err, TQ_E_FORMAT, "%s: duplicate key \"%s\" in header", path, d); goto fail; }
    }

    c->entries = calloc((size_t)(count ? count : 1), sizeof(tq_entry));
    if (!c->entries) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    uint64_t data_start = 8 + n, data_len = size - data_start;

    for (cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            /* null is "no metadata", as the reference reader's Option<map> reads it
             * (mlx and some converters write it); any other non-object is refused */
            if (cJSON_IsNull(it)) continue;
            if (!cJSON_IsObject(it)) { st = tq_err(err, TQ_E_FORMAT, "%s: __metadata__ is not an object", path); goto fail; }
            const char *d = dup_key(it, &st, err);
            if (st) goto fail;
            if (d) { st = tq_err(err, TQ_E_FORMAT, "%s: __metadata__ has a duplicate key \"%s\"", path, d); goto fail; }
            for (cJSON *m = it->child; m; m = m->next) {
                if (!cJSON_IsString(m)) {
                    st = tq_err(err, TQ_E_FORMAT, "%s: __metadata__ value for \"%s\" is not a string", path, m->string);
                    goto fail;
                }
                if ((st = tq_container_add_meta(c, m->string, m->valuestring, err))) goto fail;
            }
            continue;
        }
        const char *name = it->string;
        if (!cJSON_IsObject(it)) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": entry is not an object", path, name); goto fail; }
        {
            const char *d = dup_key(it, &st, err);
            if (st) goto fail;
            if (d) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": duplicate field \"%s\"", path, name, d); goto fail; }
        }
        cJSON *jd = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *js = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *jo = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsString(jd)) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": missing or non-string dtype", path, name); goto fail; }
        tq_dtype dt = tq_dtype_from_name(jd->valuestring);
        if (dt == TQ_DTYPE_INVALID) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", path, name, jd->valuestring); goto fail; }
        if (!cJSON_IsArray(js)) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": missing or non-array shape", path, name); goto fail; }
        int nd = cJSON_GetArraySize(js);
        if (nd > TQ_MAX_DIMS) { st = tq_err(err, TQ_E_LIMIT, "%s: tensor \"%s\": %d dimensions, trueq handles at most %d", path, name, nd, TQ_MAX_DIMS); goto fail; }
        tq_entry *e = &c->entries[c->n];
        e->dtype = dt; e->ndim = nd;
        int k = 0;
        for (cJSON *d = js->child; d; d = d->next, k++) {
            uint64_t v;
            if (!json_u64(d, &v)) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": shape[%d] is not an integer in [0, 2^53]", path, name, k); goto fail; }
            e->shape[k] = (int64_t)v;
        }
        uint64_t b, en;
        if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2 || !json_u64(jo->child, &b) || !json_u64(jo->child->next, &en)) {
            st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": data_offsets must be an array of two integers in [0, 2^53]", path, name); goto fail;
        }
        if (en < b) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu] end before they begin", path, name, (unsigned long long)b, (unsigned long long)en); goto fail; }
        if (en > data_len) {
            st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu] point outside the %llu-byte data area (file truncated or offsets wrong)",
                        path, name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
            goto fail;
        }
        int64_t numel;
        uint64_t bits;
        if (!tq_shape_numel(nd, e->shape, &numel) || !tq_mul_u64((uint64_t)numel, (uint64_t)tq_dtype_bits(dt), &bits)) {
            st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": element count overflows", path, name); goto fail;
        }
        if (bits % 8) { st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": %lld %s elements do not fill whole bytes", path, name, (long long)numel, jd->valuestring); goto fail; }
        if (bits / 8 != en - b) {
            st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": %s shape needs %llu bytes but data_offsets [%llu, %llu] hold %llu",
                        path, name, jd->valuestring, (unsigned long long)(bits / 8), (unsigned long long)b,
                        (unsigned long long)en, (unsigned long long)(en - b));
            goto fail;
        }
        e->name = tq_strdup(name);
        if (!e->name) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        e->offset = data_start + b;
        e->nbytes = e->stored = en - b;
        e->data = data + data_start + b;
        c->n++;
    }

    /* offsets: sorted, contiguous from 0, no overlap, no hole, no trailing bytes */
    {
        tq_entry **ord = malloc(sizeof(tq_entry *) * (size_t)(c->n ? c->n : 1));
        if (!ord) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        for (int64_t i = 0; i < c->n; i++) ord[i] = &c->entries[i];
        qsort(ord, (size_t)c->n, sizeof *ord, cmp_entry_begin);
        uint64_t pos = data_start;
        for (int64_t i = 0; i < c->n; i++) {
            if (ord[i]->offset != pos) {
                const char *what = ord[i]->offset < pos ? "overlaps the previous tensor" : "leaves a hole after the previous tensor";
                st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": data_offsets begin at %llu, which %s (expected %llu)",
                            path, ord[i]->name, (unsigned long long)(ord[i]->offset - data_start), what,
                            (unsigned long long)(pos - data_start));
                free(ord);
                goto fail;
            }
            pos += ord[i]->nbytes;
        }
        free(ord);
        if (pos != size) {
            st = tq_err(err, TQ_E_FORMAT, "%s: tensors cover %llu bytes of data but the file holds %llu after the header (%s)",
                        path, (unsigned long long)(pos - data_start), (unsigned long long)data_len,
                        pos < size ? "trailing bytes" : "truncated");
            goto fail;
        }
    }
    /* padding = header bytes after the JSON */
    c->header_bytes = 8 + (uint64_t)(end - (const char *)h);
    c->padding_bytes = n - (uint64_t)(end - (const char *)h);
    cJSON_Delete(root);
    return TQ_OK;
fail:
    cJSON_Delete(root);
    tq_container_free(c);
    return st;
}

/* ---- writer ---------------------------------------------------------------- */

/* safetensors' alignment rank: the dtype enum order of the reference crate. */
static int st_rank(tq_dtype t) {
    static const tq_dtype order[] = {
        TQ_DTYPE_BOOL, TQ_DTYPE_F4, TQ_DTYPE_F6_E2M3, TQ_DTYPE_F6_E3M2, TQ_DTYPE_U8, TQ_DTYPE_I8,
        TQ_DTYPE_F8_E5M2, TQ_DTYPE_F8_E4M3, TQ_DTYPE_F8_E8M0, TQ_DTYPE_F8_E4M3FNUZ, TQ_DTYPE_F8_E5M2FNUZ,
        TQ_DTYPE_I16, TQ_DTYPE_U16, TQ_DTYPE_F16, TQ_DTYPE_BF16, TQ_DTYPE_I32, TQ_DTYPE_U32,
        TQ_DTYPE_F32, TQ_DTYPE_C64, TQ_DTYPE_F64, TQ_DTYPE_I64, TQ_DTYPE_U64};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) if (order[i] == t) return (int)i;
    return -1;
}

/* Sort key of one entry: no global state, so writers in several threads are safe. */
typedef struct st_key { int rank; const char *name; int64_t i; } st_key;
static int cmp_key(const void *a, const void *b) {
    const st_key *x = a, *y = b;
    if (x->rank != y->rank) return x->rank > y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct st_impl { char *header; uint64_t header_len; } st_impl;

static tq_status st_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err) {
    return tq_out_pwrite(&w->out, data, (size_t)len, w->data_off[i], err);
}
static tq_status st_put_fd(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t len, tq_error *err) {
    return tq_out_copy_range(&w->out, fd, off, data, (size_t)len, w->data_off[i], err);
}
static tq_status st_finish(tq_writer *w, tq_error *err) {
    st_impl *s = w->impl;
    return tq_out_pwrite(&w->out, s->header, (size_t)s->header_len, 0, err);
}
static void st_destroy(tq_writer *w) {
    st_impl *s = w->impl;
    if (s) free(s->header);
    free(s);
}
static const struct tq_writer_vt ST_VT = {.put = st_put, .put_fd = st_put_fd, .finish = st_finish, .destroy = st_destroy};

/* What the reader would reject must not be written: names that are not UTF-8,
 * "__metadata__" as a tensor name, duplicate names or metadata keys, and
 * sub-byte tensors that do not fill whole bytes. */
static tq_status st_check_plan(const tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    uint64_t bad;
    for (int64_t i = 0; i < w->n; i++) {
        const tq_wentry *e = &w->e[i];
        if (strcmp(e->name, "__metadata__") == 0)
            return tq_err(err, TQ_E_ARG, "safetensors: \"__metadata__\" cannot name a tensor");
        if (!utf8_valid((const uint8_t *)e->name, strlen(e->name), &bad))
            return tq_err(err, TQ_E_ARG, "safetensors: tensor name \"%s\" is not valid UTF-8 (byte %llu)", e->name,
                          (unsigned long long)bad);
        if (st_rank(e->dtype) < 0)
            return tq_err(err, TQ_E_ARG, "safetensors: tensor \"%s\" has no safetensors dtype (%d)", e->name, (int)e->dtype);
        int64_t numel = 0;
        if (tq_shape_numel(e->ndim, e->shape, &numel) && ((uint64_t)numel * (uint64_t)tq_dtype_bits(e->dtype)) % 8)
            return tq_err(err, TQ_E_SHAPE, "safetensors: tensor \"%s\": %lld %s elements do not fill whole bytes", e->name,
                          (long long)numel, tq_dtype_name(e->dtype));
    }
    for (int i = 0; i < nm; i++) {
        if (!mk[i] || !mv[i]) return tq_err(err, TQ_E_ARG, "safetensors: metadata pair %d is NULL", i);
        if (!utf8_valid((const uint8_t *)mk[i], strlen(mk[i]), &bad) || !utf8_valid((const uint8_t *)mv[i], strlen(mv[i]), &bad))
            return tq_err(err, TQ_E_ARG, "safetensors: metadata \"%s\" is not valid UTF-8", mk[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(mk[i], mk[j]) == 0) return tq_err(err, TQ_E_ARG, "safetensors: duplicate metadata key \"%s\"", mk[i]);
    }
    if (w->n > 1) {
        const char **k = malloc(sizeof(char *) * (size_t)w->n);
        if (!k) return tq_err(err, TQ_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < w->n; i++) k[i] = w->e[i].name;
        qsort(k, (size_t)w->n, sizeof *k, cmp_str);
        for (int64_t i = 1; i < w->n; i++)
            if (strcmp(k[i - 1], k[i]) == 0) {
                tq_status st = tq_err(err, TQ_E_ARG, "safetensors: duplicate tensor name \"%s\"", k[i]);
                free(k);
                return st;
            }
        free(k);
    }
    return TQ_OK;
}

tq_status tq_safetensors_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    tq_status cst = st_check_plan(w, mk, mv, nm, err);
    if (cst) return cst;
    st_key *ord = malloc(sizeof(st_key) * (size_t)(w->n ? w->n : 1));
    st_impl *s = calloc(1, sizeof *s);
    if (!ord || !s) { free(ord); free(s); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    w->impl = s;
    w->vt = &ST_VT;
    for (int64_t i = 0; i < w->n; i++) ord[i] = (st_key){st_rank(w->e[i].dtype), w->e[i].name, i};
    qsort(ord, (size_t)w->n, sizeof *ord, cmp_key);

    tq_sb sb = {0};
    tq_sb_putc(&sb, '{');
    bool first = true;
    if (nm > 0) {
        tq_sb_puts(&sb, "\"__metadata__\":{");
        for (int i = 0; i < nm; i++) {
            if (i) tq_sb_putc(&sb, ',');
            tq_sb_json_str(&sb, mk[i]); tq_sb_putc(&sb, ':'); tq_sb_json_str(&sb, mv[i]);
        }
        tq_sb_putc(&sb, '}');
        first = false;
    }
    uint64_t pos = 0;
    uint64_t *rel = malloc(sizeof(uint64_t) * (size_t)(w->n ? w->n : 1));
    if (!rel) { free(ord); tq_sb_free(&sb); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    for (int64_t k = 0; k < w->n; k++) {
        int64_t i = ord[k].i;
        const tq_wentry *e = &w->e[i];
        if (!first) tq_sb_putc(&sb, ',');
        first = false;
        tq_sb_json_str(&sb, e->name);
        tq_sb_printf(&sb, ":{\"dtype\":\"%s\",\"shape\":[", tq_dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++) tq_sb_printf(&sb, d ? ",%lld" : "%lld", (long long)e->shape[d]);
        tq_sb_printf(&sb, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)pos,
                     (unsigned long long)(pos + w->nbytes[i]));
        rel[i] = pos;
        pos += w->nbytes[i];
    }
    tq_sb_putc(&sb, '}');
    free(ord);
    if (sb.oom) { free(rel); tq_sb_free(&sb); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    uint64_t json_len = sb.len;
    while (sb.len % 8) tq_sb_putc(&sb, ' ');
    if (sb.oom || sb.len > ST_MAX_HEADER) {
        free(rel); tq_sb_free(&sb);
        return tq_err(err, TQ_E_LIMIT, "safetensors header would exceed %llu bytes", ST_MAX_HEADER);
    }
    s->header_len = 8 + sb.len;
    s->header = malloc((size_t)s->header_len);
    if (!s->header) { free(rel); tq_sb_free(&sb); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    tq_st64(s->header, sb.len);
    memcpy(s->header + 8, sb.s, sb.len);
    for (int64_t i = 0; i < w->n; i++) w->data_off[i] = s->header_len + rel[i];
    w->total_size = s->header_len + pos;
    w->header_bytes = 8 + json_len;
    w->padding_bytes = sb.len - json_len;
    free(rel);
    tq_sb_free(&sb);
    return TQ_OK;
}
