/*
 * npz.c — strict reader and streaming writer for numpy .npz archives.
 *
 * An .npz file is a ZIP archive whose members are .npy files (docs/formats/npz.md):
 *
 *   [local header 0][member 0 bytes][data descriptor 0]?   one record per member,
 *   [local header 1][member 1 bytes][data descriptor 1]?   contiguous from offset 0
 *   ...
 *   [central directory: one 46-byte header + name + extra + comment per member]
 *   [ZIP64 end-of-central-directory record + ZIP64 locator]  (only when needed)
 *   [end-of-central-directory record (22 bytes) + archive comment]
 *
 * A member `<name>.npy` holds one array:
 *   [0, 6)   magic "\x93NUMPY"
 *   [6, 8)   version major, minor (1.0, 2.0 or 3.0)
 *   [8, P)   header length H: u16 (v1, P = 10) or u32 (v2/v3, P = 12), little-endian
 *   [P, P+H) a Python dict literal {'descr': .., 'fortran_order': .., 'shape': (..)}
 *   [P+H, )  the array bytes, C order, exactly prod(shape) * itemsize of them
 * The member `__trueq__.json` holds a JSON object of string -> string metadata.
 *
 * Reader. The central directory is authoritative for sizes and offsets; each
 * local header is skipped by its own name/extra lengths. Methods 0 (stored:
 * the entry points into the image) and 8 (raw deflate: the entry owns an
 * inflated copy) are read, data descriptors are honoured and checked, every
 * member's CRC-32 is verified. The records must tile the file exactly (no
 * gaps, overlaps, prepended or trailing bytes), which is what makes
 *   header_bytes + sum(entry.stored) == file size
 * hold: `stored` is the array bytes of a stored member and the compressed size
 * of a deflated one; every other byte (local headers, extra fields, .npy
 * headers of stored members, data descriptors, the metadata member, the
 * central directory, EOCD records) is header_bytes. padding_bytes is 0.
 *
 * Writer. STORED members in entry order, then `__trueq__.json` when there is
 * metadata, the central directory and the EOCD. Each array's data starts on a
 * 64-byte boundary of the file: the local header carries an alignment extra
 * field (id 0xD935, as Android's zipalign writes it) when needed, and the
 * .npy header is numpy's own v1 text padded to a multiple of 64. ZIP64 fields
 * are written only for values that do not fit 32/16 bits. Timestamps are
 * 1980-01-01 00:00, so output is byte-for-byte deterministic. dtypes numpy
 * lacks (BF16, the F8 family) are stored as the unsigned integer of the same
 * width plus a metadata note "trueq.npz.dtype.<name>" = "<dtype name>", which
 * the reader applies.
 */
#include "io/container.h"
#include <cjson/cJSON.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

#define ZIP_LFH_SIG    0x04034b50u
#define ZIP_CDH_SIG    0x02014b50u
#define ZIP_EOCD_SIG   0x06054b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_LOC_SIG  0x07064b50u
#define ZIP_DD_SIG     0x08074b50u
#define ZIP_LFH_LEN    30u
#define ZIP_CDH_LEN    46u
#define ZIP_EOCD_LEN   22u
#define ZIP64_EOCD_LEN 56u
#define ZIP64_LOC_LEN  20u
#define ZIP_ALIGN_ID   0xD935u   /* zipalign's alignment extra field         */
#define NPZ_ALIGN      64u
#define NPY_MAX_HEADER 65536u    /* longest .npy header text we accept        */
#define DEFLATE_MAX_RATIO 1032u  /* deflate cannot expand beyond this         */
#define NPZ_META_MEMBER "__trueq__.json"
#define NPZ_DTYPE_NOTE  "trueq.npz.dtype."

/* ===== dtype <-> descr ================================================== */

typedef struct descr_row { const char *body; tq_dtype dt; unsigned size; } descr_row;
static const descr_row DESCRS[] = {
    {"b1", TQ_DTYPE_BOOL, 1}, {"i1", TQ_DTYPE_I8, 1},  {"u1", TQ_DTYPE_U8, 1},
    {"i2", TQ_DTYPE_I16, 2},  {"u2", TQ_DTYPE_U16, 2}, {"f2", TQ_DTYPE_F16, 2},
    {"i4", TQ_DTYPE_I32, 4},  {"u4", TQ_DTYPE_U32, 4}, {"f4", TQ_DTYPE_F32, 4},
    {"i8", TQ_DTYPE_I64, 8},  {"u8", TQ_DTYPE_U64, 8}, {"f8", TQ_DTYPE_F64, 8},
    {"c8", TQ_DTYPE_C64, 8},
};
#define N_DESCRS (sizeof DESCRS / sizeof DESCRS[0])

/* The numpy descr trueq writes for t; `*note` is set when t has no numpy
 * dtype and is stored as the unsigned integer of its width. NULL if none. */
static const char *descr_for(tq_dtype t, int *note) {
    *note = 0;
    switch (t) {
    case TQ_DTYPE_BOOL: return "|b1";
    case TQ_DTYPE_I8:   return "|i1";
    case TQ_DTYPE_U8:   return "|u1";
    case TQ_DTYPE_I16:  return "<i2";
    case TQ_DTYPE_U16:  return "<u2";
    case TQ_DTYPE_F16:  return "<f2";
    case TQ_DTYPE_I32:  return "<i4";
    case TQ_DTYPE_U32:  return "<u4";
    case TQ_DTYPE_F32:  return "<f4";
    case TQ_DTYPE_I64:  return "<i8";
    case TQ_DTYPE_U64:  return "<u8";
    case TQ_DTYPE_F64:  return "<f8";
    case TQ_DTYPE_C64:  return "<c8";
    case TQ_DTYPE_BF16: *note = 1; return "<u2";
    case TQ_DTYPE_F8_E4M3: case TQ_DTYPE_F8_E5M2: case TQ_DTYPE_F8_E8M0:
    case TQ_DTYPE_F8_E4M3FNUZ: case TQ_DTYPE_F8_E5M2FNUZ:
        *note = 1; return "|u1";
    default: return NULL;
    }
}

/* ===== small helpers ====================================================== */

/* A printable, bounded copy of untrusted bytes for error messages. */
static void shown(char *dst, size_t cap, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 8 >= cap) { memcpy(dst + o, "...", 4); return; }
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') dst[o++] = (char)c;
        else { dst[o++] = '\\'; dst[o++] = 'x'; dst[o++] = hex[c >> 4]; dst[o++] = hex[c & 15]; }
    }
    dst[o] = 0;
}

typedef unsigned long long ull;

/* CRC-32 of any length (zlib takes uInt lengths). */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint64_t n) {
    uLong c = crc;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k; n -= k;
    }
    return (uint32_t)c;
}

/* ===== .npy header ======================================================== */

/* A cursor over the header text of one .npy member. */
typedef struct npy_cur {
    const char *s;
    size_t      i, n;
    int         py2_ints;  /* accept Python 2's 3L suffix (v1/v2 files) */
} npy_cur;

static void cur_ws(npy_cur *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}
static bool cur_eat(npy_cur *c, char ch) {
    cur_ws(c);
    if (c->i < c->n && c->s[c->i] == ch) { c->i++; return true; }
    return false;
}
static bool cur_peek(npy_cur *c, char ch) { cur_ws(c); return c->i < c->n && c->s[c->i] == ch; }

/* A Python string literal '...' or "..." into out (cap bytes); the escapes
 * \\ \' \" are decoded, any other escape is refused. */
static bool cur_str(npy_cur *c, char *out, size_t cap) {
    cur_ws(c);
    if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"')) return false;
    char q = c->s[c->i++];
    size_t o = 0;
    while (c->i < c->n) {
        char ch = c->s[c->i++];
        if (ch == q) { out[o] = 0; return true; }
        if (ch == '\n' || ch == 0) return false;
        if (ch == '\\') {
            if (c->i >= c->n) return false;
            ch = c->s[c->i++];
            if (ch != '\\' && ch != '\'' && ch != '"') return false;
        }
        if (o + 1 >= cap) return false;
        out[o++] = ch;
    }
    return false;
}

static bool cur_word(npy_cur *c, const char *w) {
    cur_ws(c);
    size_t k = strlen(w);
    if (c->n - c->i < k || memcmp(c->s + c->i, w, k) != 0) return false;
    size_t j = c->i + k;
    if (j < c->n && (c->s[j] == '_' || (c->s[j] >= 'a' && c->s[j] <= 'z') || (c->s[j] >= 'A' && c->s[j] <= 'Z') ||
                     (c->s[j] >= '0' && c->s[j] <= '9'))) return false;
    c->i = j;
    return true;
}

/* A non-negative decimal integer without leading zeros (0 itself is fine). */
static bool cur_int(npy_cur *c, int64_t *v) {
    cur_ws(c);
    size_t st = c->i;
    int64_t x = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        int d = c->s[c->i] - '0';
        if (x > (INT64_MAX - d) / 10) return false;
        x = x * 10 + d;
        c->i++;
    }
    if (c->i == st || (c->i - st > 1 && c->s[st] == '0')) return false;
    if (c->py2_ints && c->i < c->n && (c->s[c->i] == 'L' || c->s[c->i] == 'l')) c->i++;
    *v = x;
    return true;
}

/*
 * Parse one .npy member b[0, n). On success: dtype, ndim, shape and the
 * offset of the array data (*hdr). `nm` names the member in messages.
 */
static tq_status npy_parse(const uint8_t *b, uint64_t n, const char *path, const char *nm,
                           tq_dtype *dt, int *ndim, int64_t shape[TQ_MAX_DIMS], uint64_t *hdr,
                           tq_error *err) {
    if (n < 10)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy is %llu bytes, shorter than its 10-byte preamble",
                      path, nm, (ull)n);
    if (memcmp(b, "\x93NUMPY", 6) != 0) {
        char m[64]; shown(m, sizeof m, b, 6);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": bad .npy magic \"%s\" (want \"\\x93NUMPY\")", path, nm, m);
    }
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": .npy version %u.%u (trueq reads 1.0, 2.0 and 3.0)",
                      path, nm, major, minor);
    uint64_t pre = major == 1 ? 10 : 12;
    if (n < pre)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy is %llu bytes, shorter than its %llu-byte v%u preamble",
                      path, nm, (ull)n, (ull)pre, major);
    uint64_t hl = major == 1 ? tq_ld16(b + 8) : tq_ld32(b + 8);
    if (hl > NPY_MAX_HEADER)
        return tq_err(err, TQ_E_LIMIT, "%s: member \"%s\": .npy header length %llu exceeds the limit of %u bytes",
                      path, nm, (ull)hl, NPY_MAX_HEADER);
    if (hl > n - pre)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy header length %llu runs past the member's %llu bytes",
                      path, nm, (ull)hl, (ull)n);
    npy_cur c = {(const char *)b + pre, 0, (size_t)hl, major < 3};
    for (size_t i = 0; i < c.n; i++)
        if (c.s[i] == 0)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy header holds a NUL byte at %zu", path, nm, i);

    char descr[64] = "";
    int have_d = 0, have_f = 0, have_s = 0, fortran = 0, nd = 0;
    const char *what = NULL;
    if (!cur_eat(&c, '{')) { what = "expected '{'"; goto bad; }
    while (!cur_peek(&c, '}')) {
        char key[32];
        if (!cur_str(&c, key, sizeof key)) { what = "expected a quoted key"; goto bad; }
        if (!cur_eat(&c, ':')) { what = "expected ':' after a key"; goto bad; }
        if (strcmp(key, "descr") == 0) {
            if (have_d) { what = "key 'descr' appears twice"; goto bad; }
            have_d = 1;
            if (cur_peek(&c, '[') || cur_peek(&c, '('))
                return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": structured dtype (a descr list): trueq reads plain numeric arrays only",
                              path, nm);
            if (!cur_str(&c, descr, sizeof descr)) { what = "descr is not a short quoted string"; goto bad; }
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_f) { what = "key 'fortran_order' appears twice"; goto bad; }
            have_f = 1;
            if (cur_word(&c, "True")) fortran = 1;
            else if (cur_word(&c, "False")) fortran = 0;
            else { what = "fortran_order is neither True nor False"; goto bad; }
        } else if (strcmp(key, "shape") == 0) {
            if (have_s) { what = "key 'shape' appears twice"; goto bad; }
            have_s = 1;
            if (!cur_eat(&c, '(')) { what = "shape is not a tuple"; goto bad; }
            int commas = 0;
            while (!cur_peek(&c, ')')) {
                int64_t v;
                if (!cur_int(&c, &v)) { what = "shape holds something other than a non-negative integer"; goto bad; }
                if (nd >= TQ_MAX_DIMS)
                    return tq_err(err, TQ_E_LIMIT, "%s: member \"%s\": shape has more than %d dimensions (trueq's limit)",
                                  path, nm, TQ_MAX_DIMS);
                shape[nd++] = v;
                if (cur_eat(&c, ',')) commas++;
                else if (!cur_peek(&c, ')')) { what = "expected ',' or ')' in shape"; goto bad; }
            }
            c.i++;  /* ')' */
            if (nd == 1 && commas == 0) { what = "shape (N) without a trailing comma is an integer, not a tuple"; goto bad; }
        } else {
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy header has unexpected key '%s' (want descr, fortran_order, shape)",
                          path, nm, key);
        }
        if (!cur_eat(&c, ',')) { if (!cur_peek(&c, '}')) { what = "expected ',' or '}' after a value"; goto bad; } }
    }
    c.i++;  /* '}' */
    cur_ws(&c);
    if (c.i != c.n) { what = "bytes after the closing '}'"; goto bad; }
    if (!have_d || !have_f || !have_s)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy header lacks key '%s'", path, nm,
                      !have_d ? "descr" : !have_f ? "fortran_order" : "shape");

    /* descr: byte order + kind + size */
    const descr_row *row = NULL;
    char order = descr[0];
    if (order == '<' || order == '>' || order == '|' || order == '=')
        for (size_t k = 0; k < N_DESCRS; k++) if (strcmp(descr + 1, DESCRS[k].body) == 0) row = &DESCRS[k];
    if (!row)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": descr '%s' is not a dtype trueq reads "
                      "(|b1 |i1 |u1 <i2 <u2 <f2 <i4 <u4 <f4 <i8 <u8 <f8 <c8)", path, nm, descr);
    if (row->size > 1 && order == '>')
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": descr '%s' is big-endian; trueq reads little-endian ('<') arrays",
                      path, nm, descr);
    if (row->size > 1 && order != '<')
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": descr '%s' has no explicit little-endian byte order ('<')",
                      path, nm, descr);
    /* Fortran order changes the layout only when two or more dims exceed 1. */
    int big_dims = 0;
    for (int d = 0; d < nd; d++) if (shape[d] > 1) big_dims++;
    if (fortran && big_dims > 1)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": fortran_order True (column-major) arrays are not read; "
                      "save with np.ascontiguousarray", path, nm);
    int64_t numel;
    uint64_t bytes;
    if (!tq_shape_numel(nd, shape, &numel) || !tq_mul_u64((uint64_t)numel, row->size, &bytes))
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": shape's byte size overflows 64 bits", path, nm);
    uint64_t have = n - pre - hl;
    if (bytes != have)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": descr '%s' x shape needs %llu bytes of data but the member holds %llu",
                      path, nm, descr, (ull)bytes, (ull)have);
    *dt = row->dt;
    *ndim = nd;
    *hdr = pre + hl;
    return TQ_OK;
bad: {
        char snip[96];
        size_t from = c.i, len = c.n - from < 24 ? c.n - from : 24;
        shown(snip, sizeof snip, (const uint8_t *)c.s + from, len);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": unparseable .npy header dict at byte %zu (%s), near \"%s\"",
                      path, nm, from, what, snip);
    }
}

/* ===== ZIP structure ====================================================== */

typedef struct zmember {
    const uint8_t *name;      /* into the central directory                  */
    size_t   namelen;
    char     nm[160];         /* printable name for messages                 */
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize, lho;
    uint64_t data_start;      /* first byte of the member's (compressed) data */
    uint64_t end;             /* one past the descriptor (or the data)        */
} zmember;

/* Find extra-field record `id` in ex[0, n); validate the record framing. */
static tq_status extra_find(const uint8_t *ex, uint64_t n, uint16_t id, const uint8_t **rec, uint16_t *rlen,
                            const char *path, const char *nm, const char *where, tq_error *err) {
    *rec = NULL; *rlen = 0;
    uint64_t q = 0;
    while (q < n) {
        if (n - q < 4)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %s extra field ends inside a record header (byte %llu of %llu)",
                          path, nm, where, (ull)q, (ull)n);
        uint16_t rid = tq_ld16(ex + q), len = tq_ld16(ex + q + 2);
        if (len > n - q - 4)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %s extra record 0x%04x of %u bytes runs past the %llu-byte extra field",
                          path, nm, where, rid, len, (ull)n);
        if (rid == id && !*rec) { *rec = ex + q + 4; *rlen = len; }
        q += 4 + (uint64_t)len;
    }
    return TQ_OK;
}

static int cmp_lho(const void *a, const void *b) {
    const zmember *x = *(zmember *const *)a, *y = *(zmember *const *)b;
    return x->lho < y->lho ? -1 : x->lho > y->lho;
}
static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(tq_entry *const *)a)->name, (*(tq_entry *const *)b)->name);
}

/* Inflate a raw deflate stream src[0, cn) into exactly un bytes at dst. */
static tq_status inflate_exact(const uint8_t *src, uint64_t cn, uint8_t *dst, uint64_t un,
                               const char *path, const char *nm, tq_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return tq_err(err, TQ_E_NOMEM, "%s: member \"%s\": zlib inflateInit2 failed", path, nm);
    uint64_t in_left = cn, out_left = un;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.next_out = dst;
    int rc = Z_OK;
    uint8_t spill[1];
    for (;;) {
        if (z.avail_in == 0 && in_left) { z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left; in_left -= z.avail_in; }
        if (z.avail_out == 0) {
            if (out_left) { z.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left; out_left -= z.avail_out; }
            else { z.next_out = spill; z.avail_out = 1; }   /* detects output beyond un */
        }
        uInt before_out = z.avail_out;
        Bytef *outp = z.next_out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (outp == spill && z.avail_out != before_out) {
            inflateEnd(&z);
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream inflates to more than the %llu bytes the central directory states",
                          path, nm, (ull)un);
        }
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) {
            inflateEnd(&z);
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream ends early (%llu compressed bytes give %llu of %llu bytes)",
                          path, nm, (ull)cn, (ull)z.total_out, (ull)un);
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const char *zm = z.msg ? z.msg : "error";
            tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": corrupt deflate stream (zlib: %s) after %llu bytes of output",
                   path, nm, zm, (ull)z.total_out);
            inflateEnd(&z);
            return TQ_E_FORMAT;
        }
    }
    /* the spill byte is handed out only once dst is full, and was not written */
    uint64_t used = cn - in_left - z.avail_in, made = z.next_out == spill ? un : un - out_left - z.avail_out;
    inflateEnd(&z);
    if (made != un)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream gives %llu bytes, the central directory states %llu",
                      path, nm, (ull)made, (ull)un);
    if (used != cn)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream ends after %llu of its %llu compressed bytes",
                      path, nm, (ull)used, (ull)cn);
    return TQ_OK;
}

/* Locate EOCD (+ ZIP64 records). Out: cd_off, cd_size, count, tail_start
 * (where the central directory must end). */
static tq_status zip_eocd(const uint8_t *d, uint64_t size, const char *path, uint64_t *cd_off, uint64_t *cd_size,
                          uint64_t *count, uint64_t *cd_end, tq_error *err) {
    if (size < ZIP_EOCD_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: file is %llu bytes, shorter than the 22-byte ZIP end-of-central-directory record (truncated?)",
                      path, (ull)size);
    uint64_t lo = size - ZIP_EOCD_LEN > 65535 ? size - ZIP_EOCD_LEN - 65535 : 0;
    uint64_t e = UINT64_MAX, stray = UINT64_MAX;
    for (uint64_t p = size - ZIP_EOCD_LEN + 1; p-- > lo;) {
        if (tq_ld32(d + p) != ZIP_EOCD_SIG) continue;
        if (ZIP_EOCD_LEN + (uint64_t)tq_ld16(d + p + 20) == size - p) { e = p; break; }
        if (stray == UINT64_MAX) stray = p;
    }
    if (e == UINT64_MAX) {
        if (stray != UINT64_MAX)
            return tq_err(err, TQ_E_FORMAT, "%s: end-of-central-directory record at %llu has a %u-byte comment but %llu bytes follow it (truncated or trailing bytes)",
                          path, (ull)stray, tq_ld16(d + stray + 20), (ull)(size - stray - ZIP_EOCD_LEN));
        return tq_err(err, TQ_E_FORMAT, "%s: no ZIP end-of-central-directory record in the last %llu bytes (not a zip archive, or truncated)",
                      path, (ull)(size - lo));
    }
    const uint8_t *r = d + e;
    uint32_t disk = tq_ld16(r + 4), cdisk = tq_ld16(r + 6);
    uint64_t n_disk = tq_ld16(r + 8), n_tot = tq_ld16(r + 10), csz = tq_ld32(r + 12), coff = tq_ld32(r + 16);
    int z64 = e >= ZIP64_LOC_LEN && tq_ld32(d + e - ZIP64_LOC_LEN) == ZIP64_LOC_SIG;
    *cd_end = e;
    if (z64) {
        const uint8_t *l = d + e - ZIP64_LOC_LEN;
        uint32_t zdisk = tq_ld32(l + 4), ndisks = tq_ld32(l + 16);
        uint64_t zoff = tq_ld64(l + 8), loc = e - ZIP64_LOC_LEN;
        if (zdisk != 0 || ndisks > 1)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 locator names disk %u of %u: multi-disk archives are not read", path, zdisk, ndisks);
        if (zoff > loc || loc - zoff < ZIP64_EOCD_LEN)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: locator points to a zip64 EOCD record at %llu, which leaves no room for its %u bytes before the locator at %llu",
                          path, (ull)zoff, ZIP64_EOCD_LEN, (ull)loc);
        const uint8_t *z = d + zoff;
        if (tq_ld32(z) != ZIP64_EOCD_SIG)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: bad zip64 EOCD record signature 0x%08x at %llu (want 0x%08x)",
                          path, tq_ld32(z), (ull)zoff, ZIP64_EOCD_SIG);
        uint64_t rs = tq_ld64(z + 4);
        if (rs < ZIP64_EOCD_LEN - 12 || rs != loc - zoff - 12)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: zip64 EOCD record at %llu claims %llu bytes, but %llu lie between it and the locator",
                          path, (ull)zoff, (ull)rs, (ull)(loc - zoff - 12));
        uint32_t zd = tq_ld32(z + 16), zcd = tq_ld32(z + 20);
        uint64_t zn_disk = tq_ld64(z + 24), zn = tq_ld64(z + 32), zsz = tq_ld64(z + 40), zo = tq_ld64(z + 48);
        if (zd != 0 || zcd != 0)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 EOCD names disk %u / central-directory disk %u: multi-disk archives are not read", path, zd, zcd);
        if (zn_disk != zn)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 EOCD says %llu entries on this disk but %llu in all: multi-disk archives are not read",
                          path, (ull)zn_disk, (ull)zn);
        if ((n_tot != 0xFFFF && n_tot != zn) || (csz != 0xFFFFFFFFu && csz != zsz) || (coff != 0xFFFFFFFFu && coff != zo))
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: EOCD says %llu entries / directory %llu bytes at %llu, zip64 EOCD says %llu / %llu at %llu",
                          path, (ull)n_tot, (ull)csz, (ull)coff, (ull)zn, (ull)zsz, (ull)zo);
        n_tot = n_disk = zn; csz = zsz; coff = zo;
        disk = cdisk = 0;
        *cd_end = zoff;
    }
    if (disk != 0 || cdisk != 0 || n_disk != n_tot)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: EOCD names disk %u / central-directory disk %u (%llu of %llu entries here): multi-disk archives are not read",
                      path, disk, cdisk, (ull)n_disk, (ull)n_tot);
    if (coff > *cd_end || csz > *cd_end - coff)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory [%llu, +%llu) runs past the end-of-central-directory records at %llu",
                      path, (ull)coff, (ull)csz, (ull)*cd_end);
    if (coff + csz != *cd_end)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory [%llu, %llu) leaves %llu stray bytes before the end-of-central-directory records at %llu",
                      path, (ull)coff, (ull)(coff + csz), (ull)(*cd_end - coff - csz), (ull)*cd_end);
    if (n_tot > csz / ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: EOCD claims %llu entries but the %llu-byte central directory holds at most %llu",
                      path, (ull)n_tot, (ull)csz, (ull)(csz / ZIP_CDH_LEN));
    *cd_off = coff; *cd_size = csz; *count = n_tot;
    return TQ_OK;
}

/* Read central entry i at d[*p, cd_end) into m; advance *p. */
static tq_status zip_central(const uint8_t *d, uint64_t *p, uint64_t cd_end, uint64_t i, const char *path,
                             zmember *m, tq_error *err) {
    uint64_t q = *p;
    if (cd_end - q < ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory entry %llu at %llu is cut off by the end of the directory at %llu",
                      path, (ull)i, (ull)q, (ull)cd_end);
    const uint8_t *h = d + q;
    if (tq_ld32(h) != ZIP_CDH_SIG)
        return tq_err(err, TQ_E_FORMAT, "%s: bad central-directory signature 0x%08x at %llu (entry %llu; want 0x%08x)",
                      path, tq_ld32(h), (ull)q, (ull)i, ZIP_CDH_SIG);
    uint64_t nl = tq_ld16(h + 28), el = tq_ld16(h + 30), kl = tq_ld16(h + 32);
    if (nl + el + kl > cd_end - q - ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory entry %llu at %llu: name/extra/comment (%llu+%llu+%llu bytes) run past the directory's end at %llu",
                      path, (ull)i, (ull)q, (ull)nl, (ull)el, (ull)kl, (ull)cd_end);
    m->name = h + ZIP_CDH_LEN;
    m->namelen = (size_t)nl;
    shown(m->nm, sizeof m->nm, m->name, m->namelen);
    m->flags = tq_ld16(h + 8);
    m->method = tq_ld16(h + 10);
    m->crc = tq_ld32(h + 16);
    m->csize = tq_ld32(h + 20);
    m->usize = tq_ld32(h + 24);
    m->lho = tq_ld32(h + 42);
    uint32_t disk = tq_ld16(h + 34);
    const uint8_t *x; uint16_t xl;
    tq_status st = extra_find(h + ZIP_CDH_LEN + nl, el, 0x0001, &x, &xl, path, m->nm, "central", err);
    if (st) return st;
    int need = (m->usize == 0xFFFFFFFFu) + (m->csize == 0xFFFFFFFFu) + (m->lho == 0xFFFFFFFFu);
    if (need || disk == 0xFFFF) {
        if (!x)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": zip64 inconsistency: central directory uses 0xFFFFFFFF sentinels but has no zip64 extra field",
                          path, m->nm);
        unsigned want = 8u * (unsigned)need + (disk == 0xFFFF ? 4u : 0u);
        if (xl < want)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": zip64 inconsistency: zip64 extra field is %u bytes, its sentinels need %u",
                          path, m->nm, xl, want);
        unsigned o = 0;
        if (m->usize == 0xFFFFFFFFu) { m->usize = tq_ld64(x + o); o += 8; }
        if (m->csize == 0xFFFFFFFFu) { m->csize = tq_ld64(x + o); o += 8; }
        if (m->lho == 0xFFFFFFFFu) { m->lho = tq_ld64(x + o); o += 8; }
        if (disk == 0xFFFF) disk = tq_ld32(x + o);
    }
    if (disk != 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" starts on disk %u: multi-disk archives are not read", path, m->nm, disk);
    if (m->flags & 0x0041)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is encrypted (flags 0x%04x)", path, m->nm, m->flags);
    if (m->method != 0 && m->method != 8)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": unsupported compression method %u (trueq reads 0 stored and 8 deflate)",
                      path, m->nm, m->method);
    *p = q + ZIP_CDH_LEN + nl + el + kl;
    return TQ_OK;
}

/* Check member m's local header and optional data descriptor; fill data_start/end. */
static tq_status zip_local(const uint8_t *d, uint64_t size, const char *path, zmember *m, tq_error *err) {
    if (m->lho > size || size - m->lho < ZIP_LFH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header offset %llu is past the end of the %llu-byte file",
                      path, m->nm, (ull)m->lho, (ull)size);
    const uint8_t *h = d + m->lho;
    if (tq_ld32(h) != ZIP_LFH_SIG)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": bad local header signature 0x%08x at %llu (want 0x%08x)",
                      path, m->nm, tq_ld32(h), (ull)m->lho, ZIP_LFH_SIG);
    uint16_t flags = tq_ld16(h + 6), method = tq_ld16(h + 8);
    uint64_t nl = tq_ld16(h + 26), el = tq_ld16(h + 28);
    if (nl + el > size - m->lho - ZIP_LFH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header's name/extra (%llu+%llu bytes) run past the end of the file",
                      path, m->nm, (ull)nl, (ull)el);
    if (nl != m->namelen || memcmp(h + ZIP_LFH_LEN, m->name, m->namelen) != 0) {
        char ln[160]; shown(ln, sizeof ln, h + ZIP_LFH_LEN, (size_t)nl);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header names it \"%s\"", path, m->nm, ln);
    }
    if (method != m->method)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header says method %u, central directory %u", path, m->nm, method, m->method);
    if (flags & 0x2041)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is encrypted (local flags 0x%04x)", path, m->nm, flags);
    const uint8_t *x; uint16_t xl;
    tq_status st = extra_find(h + ZIP_LFH_LEN + nl, el, 0x0001, &x, &xl, path, m->nm, "local", err);
    if (st) return st;
    m->data_start = m->lho + ZIP_LFH_LEN + nl + el;
    if (m->csize > size - m->data_start)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %llu bytes of data at %llu run past the end of the %llu-byte file",
                      path, m->nm, (ull)m->csize, (ull)m->data_start, (ull)size);
    m->end = m->data_start + m->csize;
    if (flags & 0x0008) {   /* data descriptor: [sig] crc csize usize, sizes 8 bytes when zip64 */
        uint64_t w = x ? 8 : 4, left = size - m->end;
        const uint8_t *p = d + m->end;
        int sig = left >= 4 && tq_ld32(p) == ZIP_DD_SIG;
        uint64_t len = (sig ? 4 : 0) + 4 + 2 * w;
        if (left < len)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": data descriptor at %llu is cut off by the end of the file",
                          path, m->nm, (ull)m->end);
        p += sig ? 4 : 0;
        uint32_t dcrc = tq_ld32(p);
        uint64_t dcs = w == 8 ? tq_ld64(p + 4) : tq_ld32(p + 4), dus = w == 8 ? tq_ld64(p + 12) : tq_ld32(p + 8);
        if (dcrc != m->crc || dcs != m->csize || dus != m->usize)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": data descriptor says CRC 0x%08x, sizes %llu/%llu; central directory says 0x%08x, %llu/%llu",
                          path, m->nm, dcrc, (ull)dcs, (ull)dus, m->crc, (ull)m->csize, (ull)m->usize);
        m->end += len;
    }
    return TQ_OK;
}

/* Records must tile [0, cd_off): members sorted by offset, no gap, no overlap. */
static tq_status zip_tiling(zmember *ms, uint64_t n, uint64_t cd_off, const char *path, tq_error *err) {
    zmember **ord = malloc(sizeof *ord * (size_t)(n ? n : 1));
    if (!ord) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) ord[i] = &ms[i];
    qsort(ord, (size_t)n, sizeof *ord, cmp_lho);
    uint64_t pos = 0;
    const char *prev = NULL;
    tq_status st = TQ_OK;
    for (uint64_t i = 0; i < n && !st; i++) {
        zmember *m = ord[i];
        if (m->lho < pos)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" at %llu overlaps member \"%s\", which ends at %llu",
                        path, m->nm, (ull)m->lho, prev, (ull)pos);
        else if (m->lho > pos)
            st = tq_err(err, TQ_E_FORMAT, "%s: %llu bytes at [%llu, %llu) belong to no member (before member \"%s\")",
                        path, (ull)(m->lho - pos), (ull)pos, (ull)m->lho, m->nm);
        pos = m->end;
        prev = m->nm;
    }
    if (!st && pos > cd_off)
        st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" ends at %llu, inside the central directory at %llu", path, prev, (ull)pos, (ull)cd_off);
    else if (!st && pos < cd_off)
        st = tq_err(err, TQ_E_FORMAT, "%s: %llu bytes at [%llu, %llu) belong to no member (before the central directory)",
                    path, (ull)(cd_off - pos), (ull)pos, (ull)cd_off);
    free(ord);
    return st;
}

/* Parse the metadata member's JSON into c's metadata. */
static tq_status meta_parse(tq_container *c, const uint8_t *b, uint64_t n, const char *path, tq_error *err) {
    cJSON *root = cJSON_ParseWithLength((const char *)b, (size_t)n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is not a JSON object", path, NPZ_META_MEMBER);
    }
    tq_status st = TQ_OK;
    int first = c->n_meta;
    for (cJSON *it = root->child; it && !st; it = it->next) {
        if (!cJSON_IsString(it) || !it->string)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": value for \"%s\" is not a string", path, NPZ_META_MEMBER,
                        it->string ? it->string : "?");
        else
            st = tq_container_add_meta(c, it->string, it->valuestring, err);
    }
    cJSON_Delete(root);
    if (st || c->n_meta - first < 2) return st;
    /* duplicate keys (JSON allows them; we do not) */
    size_t k = (size_t)(c->n_meta - first);
    char **keys = malloc(sizeof *keys * k);
    if (!keys) return tq_err(err, TQ_E_NOMEM, "out of memory");
    memcpy(keys, c->meta_keys + first, sizeof *keys * k);
    qsort(keys, k, sizeof *keys, cmp_cstr);
    for (size_t i = 1; i < k && !st; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": duplicate key \"%s\"", path, NPZ_META_MEMBER, keys[i]);
    free(keys);
    return st;
}

/* Apply "trueq.npz.dtype.<name>" notes: the stored unsigned array holds that dtype. */
static tq_status apply_notes(tq_container *c, tq_entry **sorted, const char *path, tq_error *err) {
    size_t pl = strlen(NPZ_DTYPE_NOTE);
    for (int k = 0; k < c->n_meta; k++) {
        const char *key = c->meta_keys[k];
        if (strncmp(key, NPZ_DTYPE_NOTE, pl) != 0) continue;
        tq_entry probe = {0};
        probe.name = (char *)(uintptr_t)(key + pl);
        tq_entry *pp = &probe, **hit = c->n ? bsearch(&pp, sorted, (size_t)c->n, sizeof *sorted, cmp_entry_name) : NULL;
        if (!hit)
            return tq_err(err, TQ_E_FORMAT, "%s: metadata note \"%s\" names no array in the archive", path, key);
        tq_entry *e = *hit;
        tq_dtype want = tq_dtype_from_name(c->meta_vals[k]);
        int note = 0;
        const char *ds = want ? descr_for(want, &note) : NULL;
        if (!ds || !note)
            return tq_err(err, TQ_E_FORMAT, "%s: metadata note \"%s\" = \"%s\" is not a dtype trueq stores through a note (BF16, F8_*)",
                          path, key, c->meta_vals[k]);
        tq_dtype carrier = ds[2] == '2' ? TQ_DTYPE_U16 : TQ_DTYPE_U8;
        if (e->dtype != carrier)
            return tq_err(err, TQ_E_FORMAT, "%s: array \"%s\" is %s but metadata note \"%s\" = \"%s\" needs it stored as '%s'",
                          path, e->name, tq_dtype_name(e->dtype), key, c->meta_vals[k], ds);
        e->dtype = want;
    }
    return TQ_OK;
}

tq_status tq_npz_parse(const uint8_t *data, uint64_t size, const char *path, tq_container *c, tq_error *err) {
    memset(c, 0, sizeof *c);
    uint64_t cd_off = 0, cd_size = 0, count = 0, cd_end = 0;
    tq_status st = zip_eocd(data, size, path, &cd_off, &cd_size, &count, &cd_end, err);
    if (st) return st;
    zmember *ms = calloc((size_t)(count ? count : 1), sizeof *ms);
    tq_entry **sorted = NULL;
    if (!ms) return tq_err(err, TQ_E_NOMEM, "out of memory for %llu zip members", (ull)count);
    uint64_t p = cd_off;
    for (uint64_t i = 0; i < count; i++)
        if ((st = zip_central(data, &p, cd_end, i, path, &ms[i], err))) goto fail;
    if (p != cd_end) {
        st = tq_err(err, TQ_E_FORMAT, "%s: central directory holds %llu bytes after its %llu entries (EOCD entry count too small?)",
                    path, (ull)(cd_end - p), (ull)count);
        goto fail;
    }
    for (uint64_t i = 0; i < count; i++)
        if ((st = zip_local(data, size, path, &ms[i], err))) goto fail;
    if ((st = zip_tiling(ms, count, cd_off, path, err))) goto fail;

    c->entries = calloc((size_t)(count ? count : 1), sizeof *c->entries);
    if (!c->entries) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    uint64_t sum_stored = 0;
    int have_meta = 0;
    for (uint64_t i = 0; i < count; i++) {
        zmember *m = &ms[i];
        const size_t L = m->namelen;
        int is_npy = L > 4 && memcmp(m->name + L - 4, ".npy", 4) == 0;
        int is_meta = L == strlen(NPZ_META_MEMBER) && memcmp(m->name, NPZ_META_MEMBER, L) == 0;
        if (memchr(m->name, 0, L)) { st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": name holds a NUL byte", path, m->nm); goto fail; }
        if (!is_npy && !is_meta) {
            st = tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is not a .npy array (trueq reads <name>.npy members and %s only)",
                        path, m->nm, NPZ_META_MEMBER);
            goto fail;
        }
        /* the member's bytes */
        const uint8_t *b;
        uint8_t *owned = NULL;
        if (m->method == 0) {
            if (m->csize != m->usize) {
                st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is stored but its sizes differ (%llu compressed, %llu uncompressed)",
                            path, m->nm, (ull)m->csize, (ull)m->usize);
                goto fail;
            }
            b = data + m->data_start;
        } else {
            uint64_t lim;
            if (!tq_mul_u64(m->csize + 1, DEFLATE_MAX_RATIO, &lim) || m->usize > lim) {
                st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" claims %llu bytes from %llu compressed, beyond deflate's %u:1 limit",
                            path, m->nm, (ull)m->usize, (ull)m->csize, DEFLATE_MAX_RATIO);
                goto fail;
            }
            if (m->usize > SIZE_MAX - 1 || !(owned = malloc((size_t)(m->usize ? m->usize : 1)))) {
                st = tq_err(err, TQ_E_NOMEM, "%s: member \"%s\": out of memory for %llu inflated bytes", path, m->nm, (ull)m->usize);
                goto fail;
            }
            if ((st = inflate_exact(data + m->data_start, m->csize, owned, m->usize, path, m->nm, err))) { free(owned); goto fail; }
            b = owned;
        }
        uint32_t crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), b, m->usize);
        if (crc != m->crc) {
            free(owned);
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": CRC-32 mismatch: central directory says 0x%08x, the data gives 0x%08x",
                        path, m->nm, m->crc, crc);
            goto fail;
        }
        if (is_meta) {
            if (have_meta) { free(owned); st = tq_err(err, TQ_E_FORMAT, "%s: duplicate member \"%s\"", path, m->nm); goto fail; }
            have_meta = 1;
            st = meta_parse(c, b, m->usize, path, err);
            free(owned);
            if (st) goto fail;
            continue;
        }
        tq_entry *e = &c->entries[c->n];
        uint64_t hdr = 0;
        if ((st = npy_parse(b, m->usize, path, m->nm, &e->dtype, &e->ndim, e->shape, &hdr, err))) { free(owned); goto fail; }
        e->name = malloc(L - 3);
        if (!e->name) { free(owned); st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        memcpy(e->name, m->name, L - 4);
        e->name[L - 4] = 0;
        e->nbytes = m->usize - hdr;
        e->data = b + hdr;
        e->owned = owned;
        if (m->method == 0) { e->offset = m->data_start + hdr; e->stored = e->nbytes; }
        else { e->offset = m->data_start; e->stored = m->csize; }
        sum_stored += e->stored;
        c->n++;
    }
    /* duplicates, then dtype notes */
    sorted = malloc(sizeof *sorted * (size_t)(c->n ? c->n : 1));
    if (!sorted) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < c->n; i++) sorted[i] = &c->entries[i];
    qsort(sorted, (size_t)c->n, sizeof *sorted, cmp_entry_name);
    for (int64_t i = 1; i < c->n; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            char nm[160]; shown(nm, sizeof nm, (const uint8_t *)sorted[i]->name, strlen(sorted[i]->name));
            st = tq_err(err, TQ_E_FORMAT, "%s: duplicate member \"%s.npy\"", path, nm);
            goto fail;
        }
    if ((st = apply_notes(c, sorted, path, err))) goto fail;
    if (sum_stored > size) { st = tq_err(err, TQ_E_INTERNAL, "%s: stored bytes exceed the file size", path); goto fail; }
    c->header_bytes = size - sum_stored;
    c->padding_bytes = 0;
    free(sorted);
    free(ms);
    return TQ_OK;
fail:
    free(sorted);
    free(ms);
    tq_container_free(c);
    return st;
}

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

/* numpy's v1 header text for a C-order array, padded to a multiple of 64. */
static uint8_t *npy_header(const char *descr, int ndim, const int64_t *shape, size_t *len) {
    tq_sb sb = {0};
    tq_sb_printf(&sb, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int d = 0; d < ndim; d++) tq_sb_printf(&sb, d ? ", %lld" : "%lld", (long long)shape[d]);
    tq_sb_puts(&sb, ndim == 1 ? ",), }" : "), }");
    if (ndim > 0) {   /* numpy leaves room to grow the first axis in place */
        char tmp[32];
        int digits = snprintf(tmp, sizeof tmp, "%lld", (long long)shape[0]);
        for (int k = digits; k < 21; k++) tq_sb_putc(&sb, ' ');
    }
    size_t pad = NPZ_ALIGN - (10 + sb.len + 1) % NPZ_ALIGN;
    for (size_t k = 0; k < pad; k++) tq_sb_putc(&sb, ' ');
    tq_sb_putc(&sb, '\n');
    if (sb.oom || sb.len > 65535) { tq_sb_free(&sb); return NULL; }
    uint8_t *h = malloc(10 + sb.len);
    if (!h) { tq_sb_free(&sb); return NULL; }
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    tq_st16(h + 8, (uint16_t)sb.len);
    memcpy(h + 10, sb.s, sb.len);
    *len = 10 + sb.len;
    tq_sb_free(&sb);
    return h;
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
    s->m[i].crc = crc_update(s->m[i].head_crc, data, len);
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
        const char *ds = descr_for(e->dtype, &note);
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
        m->head = npy_header(ds, e->ndim, e->shape, &m->head_len);
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
        m->head_crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), m->head, m->head_len);
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
