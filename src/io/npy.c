/*
 * npy.c — the .npy layer of the .npz reader and writer.
 *
 * A member `<name>.npy` holds one array:
 *   [0, 6)   magic "\x93NUMPY"
 *   [6, 8)   version major, minor (1.0, 2.0 or 3.0)
 *   [8, P)   header length H: u16 (v1, P = 10) or u32 (v2/v3, P = 12), little-endian
 *   [P, P+H) a Python dict literal {'descr': .., 'fortran_order': .., 'shape': (..)}
 *   [P+H, )  the array bytes, C order, exactly prod(shape) * itemsize of them
 * The header dict is parsed by a small strict cursor (no Python evaluation).
 */
#include "io/npy.h"
#include "io/printable.h"
#include <stdlib.h>
#include <string.h>

typedef unsigned long long ull;

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
const char *tq_npy_descr_for(tq_dtype t, int *note) {
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
uint64_t tq_npy_span(const uint8_t *b, uint64_t n) {
    if (n < 12 || memcmp(b, "\x93NUMPY", 6) != 0) return n < 12 ? n : 12;
    uint64_t pre = b[6] == 1 ? 10 : 12, hl = b[6] == 1 ? tq_ld16(b + 8) : tq_ld32(b + 8);
    if (hl > NPY_MAX_HEADER) return pre;
    return hl > n - pre ? n : pre + hl;
}

tq_status tq_npy_parse(const uint8_t *b, uint64_t n, const char *path, const char *nm,
                           tq_dtype *dt, int *ndim, int64_t shape[TQ_MAX_DIMS], uint64_t *hdr,
                           tq_error *err) {
    if (n < 10)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": .npy is %llu bytes, shorter than its 10-byte preamble",
                      path, nm, (ull)n);
    if (memcmp(b, "\x93NUMPY", 6) != 0) {
        char m[64]; tq_printable(m, sizeof m, b, 6);
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
        tq_printable(snip, sizeof snip, (const uint8_t *)c.s + from, len);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": unparseable .npy header dict at byte %zu (%s), near \"%s\"",
                      path, nm, from, what, snip);
    }
}

/* numpy's v1 header text for a C-order array, padded to a multiple of 64. */
uint8_t *tq_npy_header(const char *descr, int ndim, const int64_t *shape, size_t *len) {
    tq_sb sb = {0};
    tq_sb_printf(&sb, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int d = 0; d < ndim; d++) tq_sb_printf(&sb, d ? ", %lld" : "%lld", (long long)shape[d]);
    tq_sb_puts(&sb, ndim == 1 ? ",), }" : "), }");
    if (ndim > 0) {   /* numpy leaves room to grow the first axis in place */
        char tmp[32];
        int digits = snprintf(tmp, sizeof tmp, "%lld", (long long)shape[0]);
        for (int k = digits; k < 21; k++) tq_sb_putc(&sb, ' ');
    }
    size_t pad = NPY_ALIGN - (10 + sb.len + 1) % NPY_ALIGN;
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
