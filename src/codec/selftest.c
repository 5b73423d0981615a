/*
 * selftest.c — tq_selftest_run: the seeds' quantization-math checks, for every
 * codec x bits x granularity of the codec table, on built-in vectors.
 *
 * The configurations are each codec row's self-test cases (codec.h); for each
 * case and vector, the input is quantized and dequantized through the public
 * entry points, then checked against the expectations the codec's row
 * computes from its documented formula (not by calling the codec again):
 *   dtype           codes dtype/shape and side tensor bytes match the layout
 *                   the codec documents (bytes per weight)
 *   scale           each block's side values equal the formula applied to the
 *                   block (linear: max|w|/qmax or (hi-lo)/umax; log: ln of the
 *                   smallest/largest non-zero |w|; rational: max|w|; NF4: absmax)
 *   positive-scale  a block holding a non-zero weight has a usable scale
 *                   (> 0; log: lmin <= lmax; rational: alpha > 0)
 *   range           every code lies in the codec's code range
 *   half-step       every reconstruction error is within half a quantization
 *                   step of the codec (linear: s/2; log: the magnitude within a
 *                   factor exp(+-step/2); rational: half the width in w of the
 *                   code's interval; NF4: the code is the nearest code-book entry)
 *   zeros           exact zeros decode to 0, nothing decodes to NaN/Inf
 *
 * Codecs whose scales live inside their blocks (ggml) have no side tensors to
 * hold a formula against; for them (rows of the row's own length):
 *   dtype           codes dtype/shape are the documented bytes per row
 *   finite          nothing decodes to NaN/Inf, or quantizing is refused
 *                   (TQ_E_VALUE) for values the type cannot represent
 *   range           every decoded value lies within its block's range
 *                   (block_range_codes)
 *   known-answer    hand-built blocks decode to the values their documented
 *                   formula gives, bit for bit
 */
#include "codec/codec.h"
#include "trueq_verify.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 6
#define COLS 64

typedef struct st_ctx {
    tq_selftest_result *r;
    int64_t n, cap;
    bool oom;
} st_ctx;

static void add(st_ctx *c, const char *codec, const char *vec, const char *check, bool pass, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void add(st_ctx *c, const char *codec, const char *vec, const char *check, bool pass, const char *fmt, ...) {
    if (c->n == c->cap) {
        int64_t nc = c->cap ? 2 * c->cap : 256;
        tq_selftest_result *nr = realloc(c->r, sizeof *nr * (size_t)nc);
        if (!nr) { c->oom = true; return; }
        c->r = nr;
        c->cap = nc;
    }
    tq_selftest_result *x = &c->r[c->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->codec, sizeof x->codec, "%s", codec);
    snprintf(x->vector, sizeof x->vector, "%s", vec);
    snprintf(x->check, sizeof x->check, "%s", check);
    x->pass = pass;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
}

/* deterministic vectors */
static uint64_t rng(uint64_t *s) { *s = *s * 6364136223846793005ULL + 1442695040888963407ULL; return *s >> 11; }
static double unif(uint64_t *s) { return ((double)rng(s) + 0.5) / 9007199254740992.0; }

static void make_vector(int v, float *w, int cols) {
    uint64_t s = 0x5eed + (uint64_t)v;
    for (int i = 0; i < ROWS * cols; i++) {
        switch (v) {
        case 0: /* ramp, different range per row, exact zeros at the centre */
            w[i] = (float)((i % cols) - cols / 2) / (float)(cols / 2) * (float)(1 + i / cols);
            break;
        case 1: { /* normal(0, 0.02) with a few outliers and zeros */
            double g = sqrt(-2.0 * log(unif(&s))) * cos(6.283185307179586 * unif(&s));
            w[i] = (float)(0.02 * g * (i % 97 == 3 ? 10.0 : 1.0));
            if (i % 29 == 0) w[i] = 0.0f;
            break;
        }
        default: /* edge values: a denormal, huge values, a constant row, a zero row */
            if (i / cols == 1) w[i] = 0.25f;
            else if (i / cols == 2) w[i] = 0.0f;
            else {
                static const float e[8] = {1e-40f, -3e38f, 1e30f, -1.0f, 0.0f, 5e-3f, -7e-39f, 2.0f};
                w[i] = fabsf(e[i % 8]) < 1e20f ? e[i % 8] * (float)(1 + (i / 8) % 3) : e[i % 8];
            }
            break;
        }
    }
}
static const char *VEC_NAMES[] = {"ramp", "normal", "edges"};

/* block bounds of element (r, c) */
static void block_of(const tq_qparams *p, int64_t r, int64_t c, int64_t *r0, int64_t *r1, int64_t *c0, int64_t *c1,
                     int64_t *idx) {
    int64_t glen, ng = tq_groups_per_row(p, COLS, &glen);
    if (p->gran == TQ_GRAN_TENSOR) { *r0 = 0; *r1 = ROWS; *c0 = 0; *c1 = COLS; *idx = 0; return; }
    *r0 = r; *r1 = r + 1;
    if (p->gran == TQ_GRAN_CHANNEL) { *c0 = 0; *c1 = COLS; *idx = r; return; }
    *c0 = (c / glen) * glen;
    *c1 = *c0 + glen < COLS ? *c0 + glen : COLS;
    *idx = r * ng + c / glen;
}

/* "codec/bits/gran" + the case's tag: the name results carry */
static void case_name(const tq_qparams *p, const char *tag, char *name, size_t cap) {
    tq_qparams_str(p, name, cap);
    size_t nl = strlen(name);
    snprintf(name + nl, cap - nl, "%s", tag);
}

static void check_config(st_ctx *cx, const tq_codec_impl *ci, const tq_selftest_case *tc, int v, const float *w) {
    const tq_qparams *p = &tc->q;
    const tq_codec_selftest *ts = ci->selftest;
    char name[64];
    case_name(p, tc->tag, name, sizeof name);
    const char *vn = VEC_NAMES[v];
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(p, ROWS, COLS, &cd, cs, ad);
    if (na < 0) { add(cx, name, vn, "dtype", false, "no layout"); return; }
    uint64_t cb = tq_nbytes(cd, 2, cs);
    uint8_t *codes = calloc(1, cb + 1);
    void *aux[TQ_MAX_AUX] = {0};
    float *deq = calloc(ROWS * COLS, sizeof(float));
    bool ok = codes && deq;
    for (int a = 0; a < na; a++) ok = ok && (aux[a] = calloc(1, tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8));
    tq_error e;
    if (!ok) { cx->oom = true; goto out; }
    if (tq_quantize(p, "selftest", w, ROWS, COLS, codes, aux, 0, &e) ||
        tq_dequantize(p, ROWS, COLS, codes, (const void *const *)aux, deq, &e)) {
        add(cx, name, vn, "quantize", false, "%s", e.msg);
        goto out;
    }
    const void *const *caux = (const void *const *)aux;
    int64_t glen, ng = tq_groups_per_row(p, COLS, &glen);
    int64_t nblocks = tq_block_count(p, ROWS, COLS);

    /* ---- dtype: documented code dtype and bytes ---- */
    {
        tq_dtype want_cd = p->bits == 8 ? ts->codes_dtype_8bit : ts->codes_dtype_packed;
        int64_t want_row = (COLS * p->bits + 7) / 8;
        uint64_t want_aux = (uint64_t)ts->side_bytes_per_block * (uint64_t)nblocks +
                            (uint64_t)ts->side_bytes_per_weight * ROWS * COLS, got_aux = 0;
        for (int a = 0; a < na; a++) got_aux += tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        /* the row's bytes (codes may be wider words than bytes: mlx's U32) */
        add(cx, name, vn, "dtype", cd == want_cd && cs[0] == ROWS && (int64_t)tq_nbytes(cd, 1, &cs[1]) == want_row &&
            got_aux == want_aux,
            "codes %s [%lld, %lld] (want %s [%d, %lld]), side %llu bytes (want %llu)", tq_dtype_name(cd),
            (long long)cs[0], (long long)cs[1], tq_dtype_name(want_cd), ROWS, (long long)want_row,
            (unsigned long long)got_aux, (unsigned long long)want_aux);
    }

    /* ---- per block: scale and positive scale ---- */
    int bad_scale = 0, bad_pos = 0;
    char sdet[120] = "";
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t r0, r1, c0, c1, idx;
        int64_t br = p->gran == TQ_GRAN_TENSOR ? 0 : p->gran == TQ_GRAN_CHANNEL ? b : b / ng;
        int64_t bc = p->gran == TQ_GRAN_GROUP ? (b % ng) * glen : 0;
        block_of(p, br, bc, &r0, &r1, &c0, &c1, &idx);
        tq_selftest_block st = {0, 0, 0, INFINITY, 0};
        for (int64_t r = r0; r < r1; r++)
            for (int64_t c = c0; c < c1; c++) {
                float x = w[r * COLS + c], ax = fabsf(x);
                if (ax > st.amax) st.amax = ax;
                if (x < st.lo) st.lo = x;
                if (x > st.hi) st.hi = x;
                if (ax > 0 && ax < st.nzmin) st.nzmin = ax;
                if (ax > st.nzmax) st.nzmax = ax;
            }
        bool pos_ok = true;
        double got = 0, want = 0;
        bool sc_ok = ts->block(p, &st, caux, idx, &got, &want, &pos_ok);
        if (!sc_ok && !bad_scale++) snprintf(sdet, sizeof sdet, "block %lld: stored %.9g, formula %.9g", (long long)b, got, want);
        bad_pos += !pos_ok;
    }
    add(cx, name, vn, "scale", !bad_scale, "%s%d of %lld blocks differ from the formula", sdet, bad_scale, (long long)nblocks);
    add(cx, name, vn, "positive-scale", !bad_pos, "%d of %lld non-zero blocks without a usable scale", bad_pos, (long long)nblocks);

    /* ---- per weight: range, half-step, zeros ---- */
    int bad_range = 0, bad_step = 0, bad_zero = 0;
    char rdet[120] = "", hdet[120] = "";
    for (int64_t r = 0; r < ROWS; r++) {
        for (int64_t c = 0; c < COLS; c++) {
            int64_t r0, r1, c0, c1, idx;
            block_of(p, r, c, &r0, &r1, &c0, &c1, &idx);
            float x = w[r * COLS + c], y = deq[r * COLS + c];
            double err = fabs((double)x - (double)y), bound = 0;
            int code = 0;
            bool in_range = ts->weight(p, codes, (int64_t)tq_nbytes(cd, 1, &cs[1]), caux, r, c, COLS, idx, x, &code,
                                       &err, &bound);
            /* float rounding of the decoded value: 2 ulp of |w| */
            bool step_ok = err <= bound + fabs((double)x) * 2.4e-7;
            if (!in_range && !bad_range++)
                snprintf(rdet, sizeof rdet, "w[%lld,%lld] = %.9g has code %d; ", (long long)r, (long long)c, (double)x, code);
            if (!step_ok && !bad_step++)
                snprintf(hdet, sizeof hdet, "w[%lld,%lld] = %.9g -> %.9g, error %.3g > bound %.3g; ", (long long)r,
                         (long long)c, (double)x, (double)y, err, bound);
            if ((x == 0 && y != 0 && !ts->zeros_inexact) || !isfinite(y)) bad_zero++;
        }
    }
    add(cx, name, vn, "range", !bad_range, "%s%d codes out of range", rdet, bad_range);
    add(cx, name, vn, "half-step", !bad_step, "%s%d errors above half a step", hdet, bad_step);
    add(cx, name, vn, "zeros", !bad_zero, "%d zeros not decoded to 0 or non-finite outputs", bad_zero);
out:
    free(codes);
    free(deq);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(aux[a]);
}

/* ---- codecs whose scales live inside their blocks (codec.h) ---------------- */

/* One case x vector: layout, range of every decoded value within its block's,
 * finiteness (a vector the type cannot represent must be refused). */
static void check_inblock(st_ctx *cx, const tq_codec_impl *ci, const tq_selftest_case *tc, int v, const float *w) {
    const tq_qparams *p = &tc->q;
    const tq_codec_selftest *ts = ci->selftest;
    const int64_t cols = ts->cols, want_row = ts->code_bytes(p, cols);
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(p, ROWS, cols, &cd, cs, ad);
    char name[64];
    case_name(p, tc->tag, name, sizeof name);
    const char *vn = VEC_NAMES[v];
    add(cx, name, vn, "dtype", na == 0 && cd == ts->codes_dtype_packed && cs[0] == ROWS && cs[1] == want_row,
        "codes %s [%lld, %lld] and %d side tensors (want %s [%d, %lld], none)", tq_dtype_name(cd), (long long)cs[0],
        (long long)cs[1], na, tq_dtype_name(ts->codes_dtype_packed), ROWS, (long long)want_row);
    if (na != 0 || want_row <= 0) return;
    uint8_t *codes = calloc(1, (size_t)(ROWS * want_row) + 1);
    float *deq = calloc((size_t)(ROWS * cols), sizeof(float));
    tq_error e;
    if (!codes || !deq) { cx->oom = true; goto out; }
    tq_status st = tq_quantize(p, "selftest", w, ROWS, cols, codes, NULL, 0, &e);
    if (!st) st = tq_dequantize(p, ROWS, cols, codes, NULL, deq, &e);
    /* finite: either refused as a value the type cannot hold, or all finite */
    bool fin = st == TQ_E_VALUE || !st;
    for (int64_t i = 0; !st && i < ROWS * cols; i++) fin = fin && isfinite(deq[i]);
    add(cx, name, vn, "finite", fin, "%s", st ? e.msg : "every decoded value is finite");
    if (st) goto out;
    int64_t glen, ng = tq_groups_per_row(p, cols, &glen), bad = 0;
    char det[120] = "";
    for (int64_t b = 0; b < ROWS * ng; b++) {
        double lo, hi;
        if (ci->block_range_codes(p, ROWS, cols, codes, b, &lo, &hi, &e)) {
            if (!bad++) snprintf(det, sizeof det, "%.100s; ", e.msg);
            continue;
        }
        for (int64_t c = (b % ng) * glen; c < (b % ng + 1) * glen; c++) {
            double y = deq[(b / ng) * cols + c], tol = 2.4e-7 * fmax(fabs(lo), fabs(hi));
            if ((y < lo - tol || y > hi + tol) && !bad++)
                snprintf(det, sizeof det, "w'[%lld,%lld] = %.9g outside [%.9g, %.9g]; ", (long long)(b / ng),
                         (long long)c, y, lo, hi);
        }
    }
    add(cx, name, vn, "range", !bad, "%s%lld values outside their block's range", det, (long long)bad);
out:
    free(codes);
    free(deq);
}

/* The known-answer blocks: decoded through the public entry point, bit for bit. */
static void check_known(st_ctx *cx, const tq_selftest_known *k) {
    char name[64];
    case_name(&k->q, k->tag, name, sizeof name);
    int64_t rb = k->cols;   /* bytes <= elements x 2 for every block type */
    uint8_t *codes = calloc(1, (size_t)(2 * rb + 64));
    float *want = calloc((size_t)k->cols, sizeof(float)), *got = calloc((size_t)k->cols, sizeof(float));
    tq_error e;
    if (!codes || !want || !got) { cx->oom = true; goto out; }
    k->build(codes, want);
    if (tq_dequantize(&k->q, 1, k->cols, codes, NULL, got, &e)) { add(cx, name, "known", "known-answer", false, "%s", e.msg); goto out; }
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < k->cols; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0 && !bad++) first = i;
    add(cx, name, "known", "known-answer", !bad, "%lld of %lld values differ%s%.9g%s%.9g", (long long)bad,
        (long long)k->cols, bad ? " (first: " : "", bad ? (double)got[first] : 0.0, bad ? " vs " : "",
        bad ? (double)want[first] : 0.0);
out:
    free(codes);
    free(want);
    free(got);
}

tq_status tq_selftest_run(tq_selftest_result **out, int64_t *n, tq_error *err) {
    tq_status st = tq_codec_table_check(err);
    if (st) return st;
    st_ctx cx = {0};
    int maxcols = COLS;
    for (int i = 0; i < tq_codec_count(); i++) {
        const tq_codec_selftest *ts = tq_codec_impl_get(tq_codec_at(i)->id)->selftest;
        if (ts->cols > maxcols) maxcols = (int)ts->cols;
    }
    float *w = malloc(sizeof(float) * ROWS * (size_t)maxcols);
    if (!w) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int v = 0; v < 3; v++) {
        for (int i = 0; i < tq_codec_count(); i++) {
            const tq_codec_impl *ci = tq_codec_impl_get(tq_codec_at(i)->id);
            const tq_codec_selftest *ts = ci->selftest;
            make_vector(v, w, ts->cols > 0 ? (int)ts->cols : COLS);
            for (int k = 0; k < ts->ncases; k++) {
                if (ts->known) check_inblock(&cx, ci, &ts->cases[k], v, w);
                else check_config(&cx, ci, &ts->cases[k], v, w);
            }
            for (int k = 0; v == 0 && ts->known && k < ts->nknown; k++) check_known(&cx, &ts->known[k]);
        }
    }
    free(w);
    if (cx.oom) { free(cx.r); return tq_err(err, TQ_E_NOMEM, "out of memory for self-test results"); }
    *out = cx.r;
    *n = cx.n;
    return TQ_OK;
}
