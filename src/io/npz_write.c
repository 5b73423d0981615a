/*
 * npz_write.c — the planned .npz writer back-end (docs/formats/npz.md).
 *
 * STORED members in entry order, then `__trueq__.json` when there is
 * metadata, the central directory and the EOCD. Each array's data starts on a
 * 64-byte boundary of the file: the local header carries an alignment extra
 * field (id 0xD935, as Android's zipalign writes it) when needed, and the
 * .npy header is numpy's own v1 text padded to a multiple of 64. ZIP64 fields
 * are written only for values that do not fit 32/16 bits. Timestamps are
 * 1980-01-01 00:00, so output is byte-for-byte deterministic. dtypes numpy
 * lacks (BF16, the F8 family) are stored as the unsigned integer of the same
 * width plus a metadata note "trueq.npz.dtype.<name>" = "<dtype name>".
 */
#include "io/npz.h"
#include "io/npy.h"
#include "io/zip.h"
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long ull;

#define ZIP_ALIGN_ID   0xD935u   /* zipalign's alignment extra field         */
#define NPZ_ALIGN      NPY_ALIGN /* array data starts on this file boundary  */

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ===== writer ============================================================= */

typedef struct npz_wmember {
    char    *name;        /* "<entry>.npy" or NPZ_META_MEMBER                 */
    size_t   namelen;
    uint8_t *head;        /* .npy header (arrays) or the JSON text (metadata)  */
    size_t   head_len;
    uint64_t size;        /* member bytes: head + array data                   */
    uint64_t lho;         /* local header offset                               */
    uint16_t pad;         /* alignment extra field bytes (0 or 6..69)          */
    uint32_t head_crc, crc;
    int      z64;         /* sizes need zip64                                  */
} npz_wmember;

typedef struct npz_impl {
    npz_wmember *m;
    int64_t      nm;      /* w->n, plus 1 with a metadata member               */
    uint64_t     cd_off, cd_size;
    int          z64_eocd;
} npz_impl;

static uint16_t npz_flags(const npz_wmember *m) {
    for (size_t i = 0; i < m->namelen; i++) if ((uint8_t)m->name[i] >= 0x80) return 0x0800;  /* UTF-8 name */
    return 0;
}

/* The local header of member m (with its zip64/alignment extras) into buf. */
static size_t npz_local(const npz_wmember *m, uint8_t *buf) {
    uint8_t *p = buf;
    tq_st32(p, ZIP_LFH_SIG);
    tq_st16(p + 4, m->z64 ? 45 : 20);
    tq_st16(p + 6, npz_flags(m));
    tq_st16(p + 8, 0);              /* stored */
    tq_st16(p + 10, 0);             /* 00:00:00 */
    tq_st16(p + 12, 0x0021);        /* 1980-01-01 */
    tq_st32(p + 14, m->crc);
    tq_st32(p + 18, m->z64 ? 0xFFFFFFFFu : (uint32_t)m->size);
    tq_st32(p + 22, m->z64 ? 0xFFFFFFFFu : (uint32_t)m->size);
    tq_st16(p + 26, (uint16_t)m->namelen);
    tq_st16(p + 28, (uint16_t)((m->z64 ? 20 : 0) + m->pad));
    p += ZIP_LFH_LEN;
    memcpy(p, m->name, m->namelen); p += m->namelen;
    if (m->z64) { tq_st16(p, 1); tq_st16(p + 2, 16); tq_st64(p + 4, m->size); tq_st64(p + 12, m->size); p += 20; }
    if (m->pad) {
        tq_st16(p, ZIP_ALIGN_ID); tq_st16(p + 2, (uint16_t)(m->pad - 4)); tq_st16(p + 4, NPZ_ALIGN);
        memset(p + 6, 0, m->pad - 6u);
        p += m->pad;
    }
    return (size_t)(p - buf);
}

static uint64_t npz_cd_extra(const npz_wmember *m) {
    return (m->z64 || m->lho >= 0xFFFFFFFFu) ? 4 + (m->z64 ? 16 : 0) + (m->lho >= 0xFFFFFFFFu ? 8 : 0) : 0;
}

static tq_status npz_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err) {
    npz_impl *s = w->impl;
    s->m[i].crc = tq_zip_crc32(s->m[i].head_crc, data, len);
    return tq_out_pwrite(&w->out, data, (size_t)len, w->data_off[i], err);
}

static tq_status npz_finish(tq_writer *w, tq_error *err) {
    npz_impl *s = w->impl;
    tq_status st = TQ_OK;
    uint8_t *lh = malloc(ZIP_LFH_LEN + 65535 + 20 + 2 * NPZ_ALIGN);
    if (!lh) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int64_t k = 0; k < s->nm && !st; k++) {
        npz_wmember *m = &s->m[k];
        if (k == w->n) m->crc = m->head_crc;   /* the metadata member has no array data */
        size_t hl = npz_local(m, lh);
        st = tq_out_pwrite(&w->out, lh, hl, m->lho, err);
        if (!st) st = tq_out_pwrite(&w->out, m->head, m->head_len, m->lho + hl, err);
    }
    free(lh);
    if (st) return st;
    uint64_t tail = s->cd_size + (s->z64_eocd ? ZIP64_EOCD_LEN + ZIP64_LOC_LEN : 0) + ZIP_EOCD_LEN;
    uint8_t *buf = malloc((size_t)tail);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "out of memory for a %llu-byte central directory", (ull)tail);
    uint8_t *p = buf;
    int any64 = s->z64_eocd;
    for (int64_t k = 0; k < s->nm; k++) any64 |= s->m[k].z64 || s->m[k].lho >= 0xFFFFFFFFu;
    for (int64_t k = 0; k < s->nm; k++) {
        const npz_wmember *m = &s->m[k];
        int off64 = m->lho >= 0xFFFFFFFFu;
        uint64_t xl = npz_cd_extra(m);
        tq_st32(p, ZIP_CDH_SIG);
        tq_st16(p + 4, (uint16_t)(0x0300 | (any64 ? 45 : 20)));   /* made by: Unix */
        tq_st16(p + 6, m->z64 || off64 ? 45 : 20);
        tq_st16(p + 8, npz_flags(m));
        tq_st16(p + 10, 0);
        tq_st16(p + 12, 0);
        tq_st16(p + 14, 0x0021);
        tq_st32(p + 16, m->crc);
        tq_st32(p + 20, m->z64 ? 0xFFFFFFFFu : (uint32_t)m->size);
        tq_st32(p + 24, m->z64 ? 0xFFFFFFFFu : (uint32_t)m->size);
        tq_st16(p + 28, (uint16_t)m->namelen);
        tq_st16(p + 30, (uint16_t)xl);
        tq_st16(p + 32, 0);             /* comment */
        tq_st16(p + 34, 0);             /* disk */
        tq_st16(p + 36, 0);             /* internal attributes */
        tq_st32(p + 38, 0100644u << 16); /* regular file, rw-r--r-- */
        tq_st32(p + 42, off64 ? 0xFFFFFFFFu : (uint32_t)m->lho);
        p += ZIP_CDH_LEN;
        memcpy(p, m->name, m->namelen); p += m->namelen;
        if (xl) {
            tq_st16(p, 1); tq_st16(p + 2, (uint16_t)(xl - 4)); p += 4;
            if (m->z64) { tq_st64(p, m->size); tq_st64(p + 8, m->size); p += 16; }
            if (off64) { tq_st64(p, m->lho); p += 8; }
        }
    }
    uint64_t n = (uint64_t)s->nm;
    if (s->z64_eocd) {
        uint64_t zoff = s->cd_off + s->cd_size;
        tq_st32(p, ZIP64_EOCD_SIG);
        tq_st64(p + 4, ZIP64_EOCD_LEN - 12);
        tq_st16(p + 12, 0x0300 | 45);
        tq_st16(p + 14, 45);
        tq_st32(p + 16, 0); tq_st32(p + 20, 0);
        tq_st64(p + 24, n); tq_st64(p + 32, n);
        tq_st64(p + 40, s->cd_size); tq_st64(p + 48, s->cd_off);
        p += ZIP64_EOCD_LEN;
        tq_st32(p, ZIP64_LOC_SIG); tq_st32(p + 4, 0); tq_st64(p + 8, zoff); tq_st32(p + 16, 1);
        p += ZIP64_LOC_LEN;
    }
    tq_st32(p, ZIP_EOCD_SIG);
    tq_st16(p + 4, 0); tq_st16(p + 6, 0);
    tq_st16(p + 8, (uint16_t)(n >= 0xFFFF ? 0xFFFF : n));
    tq_st16(p + 10, (uint16_t)(n >= 0xFFFF ? 0xFFFF : n));
    tq_st32(p + 12, s->cd_size >= 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)s->cd_size);
    tq_st32(p + 16, s->cd_off >= 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)s->cd_off);
    tq_st16(p + 20, 0);
    p += ZIP_EOCD_LEN;
    TQ_ASSERT((uint64_t)(p - buf) == tail);
    st = tq_out_pwrite(&w->out, buf, (size_t)tail, s->cd_off, err);
    free(buf);
    return st;
}

static void npz_destroy(tq_writer *w) {
    npz_impl *s = w->impl;
    if (!s) return;
    for (int64_t k = 0; k < s->nm; k++) { free(s->m[k].name); free(s->m[k].head); }
    free(s->m);
    free(s);
    w->impl = NULL;
}

static const struct tq_writer_vt NPZ_VT = {.put = npz_put, .finish = npz_finish, .destroy = npz_destroy};

tq_status tq_npz_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    npz_impl *s = calloc(1, sizeof *s);
    if (!s) return tq_err(err, TQ_E_NOMEM, "out of memory");
    w->impl = s;
    w->vt = &NPZ_VT;
    s->m = calloc((size_t)w->n + 1, sizeof *s->m);
    const char **names = malloc(sizeof *names * (size_t)(w->n ? w->n : 1));
    tq_sb js = {0};
    tq_status st = TQ_OK;
    if (!s->m || !names) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }

    /* names: non-empty, fit a zip name field, unique */
    for (int64_t i = 0; i < w->n; i++) {
        const char *nmi = w->e[i].name;
        size_t L = strlen(nmi);
        if (L == 0) { st = tq_err(err, TQ_E_ARG, "npz: entry %lld has an empty name", (long long)i); goto out; }
        if (L > 65535 - 4) { st = tq_err(err, TQ_E_LIMIT, "npz: entry name of %zu bytes exceeds the zip limit of 65531", L); goto out; }
        if (w->e[i].ndim < 0 || w->e[i].ndim > TQ_MAX_DIMS) {
            st = tq_err(err, TQ_E_ARG, "npz: entry \"%s\": %d dimensions (0..%d allowed)", nmi, w->e[i].ndim, TQ_MAX_DIMS); goto out;
        }
        names[i] = nmi;
    }
    qsort(names, (size_t)w->n, sizeof *names, cmp_cstr);
    for (int64_t i = 1; i < w->n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) { st = tq_err(err, TQ_E_ARG, "npz: duplicate entry name \"%s\"", names[i]); goto out; }

    /* metadata: the caller's pairs, then one dtype note per array numpy cannot type */
    int n_pairs = 0;
    tq_sb_putc(&js, '{');
    for (int k = 0; k < nm; k++) {
        if (strncmp(mk[k], NPZ_DTYPE_NOTE, strlen(NPZ_DTYPE_NOTE)) == 0) {
            st = tq_err(err, TQ_E_ARG, "npz: metadata key \"%s\" is reserved (prefix %s)", mk[k], NPZ_DTYPE_NOTE); goto out;
        }
        if (n_pairs++) tq_sb_putc(&js, ',');
        tq_sb_json_str(&js, mk[k]); tq_sb_putc(&js, ':'); tq_sb_json_str(&js, mv[k]);
    }
    /* arrays */
    for (int64_t i = 0; i < w->n; i++) {
        const tq_wentry *e = &w->e[i];
        int note;
        const char *ds = tq_npy_descr_for(e->dtype, &note);
        if (!ds) {
            st = tq_err(err, TQ_E_UNSUPPORTED, "npz: entry \"%s\": dtype %s has no numpy equivalent (and is not byte-sized)",
                        e->name, tq_dtype_name(e->dtype));
            goto out;
        }
        if (note) {
            if (n_pairs++) tq_sb_putc(&js, ',');
            char *key = malloc(strlen(NPZ_DTYPE_NOTE) + strlen(e->name) + 1);
            if (!key) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
            strcpy(key, NPZ_DTYPE_NOTE); strcat(key, e->name);
            tq_sb_json_str(&js, key);
            free(key);
            tq_sb_printf(&js, ":\"%s\"", tq_dtype_name(e->dtype));
        }
        npz_wmember *m = &s->m[i];
        size_t L = strlen(e->name);
        m->name = malloc(L + 5);
        if (!m->name) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
        memcpy(m->name, e->name, L); memcpy(m->name + L, ".npy", 5);
        m->namelen = L + 4;
        m->head = tq_npy_header(ds, e->ndim, e->shape, &m->head_len);
        if (!m->head) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
        if (!tq_add_u64(m->head_len, w->nbytes[i], &m->size)) { st = tq_err(err, TQ_E_LIMIT, "npz: entry \"%s\" is too large", e->name); goto out; }
    }
    tq_sb_putc(&js, '}');
    if (js.oom) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
    s->nm = w->n;
    if (n_pairs > 0) {
        npz_wmember *m = &s->m[s->nm++];
        m->name = tq_strdup(NPZ_META_MEMBER);
        m->head = malloc(js.len ? js.len : 1);
        if (!m->name || !m->head) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
        memcpy(m->head, js.s, js.len);
        m->namelen = strlen(NPZ_META_MEMBER);
        m->head_len = m->size = js.len;
    }

    /* layout */
    uint64_t pos = 0, hdr = 0;
    for (int64_t k = 0; k < s->nm; k++) {
        npz_wmember *m = &s->m[k];
        m->lho = pos;
        m->z64 = m->size >= 0xFFFFFFFFu;
        uint64_t hend = pos + ZIP_LFH_LEN + m->namelen + (m->z64 ? 20 : 0);
        if (k < w->n) {
            uint64_t pad = (NPZ_ALIGN - hend % NPZ_ALIGN) % NPZ_ALIGN;
            if (pad && pad < 6) pad += NPZ_ALIGN;
            m->pad = (uint16_t)pad;
            w->data_off[k] = hend + pad + m->head_len;
        }
        m->head_crc = tq_zip_crc32((uint32_t)crc32(0, Z_NULL, 0), m->head, m->head_len);
        if (!tq_add_u64(hend + m->pad, m->size, &pos)) { st = tq_err(err, TQ_E_LIMIT, "npz: archive size overflows"); goto out; }
        hdr += hend + m->pad - m->lho + (k < w->n ? m->head_len : m->size);
    }
    s->cd_off = pos;
    s->cd_size = 0;
    for (int64_t k = 0; k < s->nm; k++) s->cd_size += ZIP_CDH_LEN + s->m[k].namelen + npz_cd_extra(&s->m[k]);
    s->z64_eocd = s->nm >= 0xFFFF || s->cd_size >= 0xFFFFFFFFu || s->cd_off >= 0xFFFFFFFFu;
    uint64_t tail = s->cd_size + (s->z64_eocd ? ZIP64_EOCD_LEN + ZIP64_LOC_LEN : 0) + ZIP_EOCD_LEN;
    w->total_size = pos + tail;
    w->header_bytes = hdr + tail;
    w->padding_bytes = 0;
out:
    free(names);
    tq_sb_free(&js);
    return st;
}
