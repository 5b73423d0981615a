/*
 * api.c — the public codec entry points (tq_qparams_check, tq_quantize,
 * tq_dequantize, tq_dequantize_rows, ...): argument checks, then the codec's
 * row of the table. Nothing here depends on which codec it is.
 */
#include "codec/codec.h"
#include <pthread.h>
#include <unistd.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tq_qparams_str(const tq_qparams *p, char *buf, size_t cap) {
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    if (c && c->params_str) return c->params_str(p, buf, cap);
    const tq_codec_info *ci = c ? &c->info : NULL;
    if (p->gran == TQ_GRAN_GROUP)
        snprintf(buf, cap, "%s/%d/group:%lld", ci ? ci->name : "?", p->bits, (long long)p->group);
    else
        snprintf(buf, cap, "%s/%d/%s", ci ? ci->name : "?", p->bits, tq_gran_name(p->gran));
    return buf;
}

const char *tq_qmethod_name(int m) {
    static const char *const N[TQ_QMETHOD_COUNT] = {"rtn", "search", "hqq"};
    return m >= 0 && m < TQ_QMETHOD_COUNT ? N[m] : "?";
}

/* Finite iff the exponent field is not all ones: an integer compare on the
 * bit patterns, OR-reduced without a branch, so the loop vectorizes. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static int all_finite(const float *x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (u & 0x7fffffffu) >= 0x7f800000u;
    }
    return !bad;
}

int tq_all_finite(const float *x, int64_t n) { return all_finite(x, n); }

/* the row's quantizer for p->method (checked by tq_qparams_check) */
static tq_status run_quantize(const tq_codec_impl *c, const tq_qparams *p, const float *w, int64_t rows, int64_t cols,
                              void *codes, void *const aux[TQ_MAX_AUX], tq_error *err) {
    return (p->method != TQ_QMETHOD_RTN ? c->quantize_search : c->quantize)(p, w, rows, cols, codes, aux, err);
}

tq_status tq_qparams_check(const tq_qparams *p, const char *tname, int64_t rows, int64_t cols, tq_error *err) {
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    if (!c) return tq_err(err, TQ_E_ARG, "tensor \"%s\": unknown codec id %d", tname, (int)p->codec);
    if (p->bits < 1 || p->bits > 16 || !(c->info.bits_mask & (1u << p->bits)))
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": codec %s does not support %d bits", tname, c->info.name, p->bits);
    if ((int)p->gran < 0 || p->gran > TQ_GRAN_GROUP || !(c->info.gran_mask & (1u << p->gran)))
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": codec %s does not support %s granularity", tname, c->info.name, tq_gran_name(p->gran));
    if (p->method < 0 || p->method >= TQ_QMETHOD_COUNT)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": unknown quantization method %d", tname, p->method);
    if (p->method != TQ_QMETHOD_RTN && !c->quantize_search)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": codec %s has no %s quantizer (only round to nearest)", tname,
                      c->info.name, tq_qmethod_name(p->method));
    if (rows < 0 || cols < 0) return tq_err(err, TQ_E_SHAPE, "tensor \"%s\": negative shape", tname);
    if (p->gran == TQ_GRAN_GROUP) {
        if (p->group <= 0)
            return tq_err(err, TQ_E_ARG, "tensor \"%s\": group size must be positive, got %lld", tname, (long long)p->group);
        if (cols % p->group != 0 && !p->pad)
            return tq_err(err, TQ_E_SHAPE,
                          "tensor \"%s\" of shape [%lld, %lld]: group size %lld does not divide the row length %lld "
                          "(pass --pad to allow a shorter last group)",
                          tname, (long long)rows, (long long)cols, (long long)p->group, (long long)cols);
    }
    if (rows > 0 && cols > INT64_MAX / 16 / rows)
        return tq_err(err, TQ_E_LIMIT, "tensor \"%s\": %lld x %lld elements is beyond what trueq quantizes", tname,
                      (long long)rows, (long long)cols);
    tq_dtype cd; int64_t cs[2]; tq_aux_desc aux[TQ_MAX_AUX];
    if (c->layout(p, rows, cols, &cd, cs, aux) < 0)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": invalid parameters for codec %s", tname, c->info.name);
    return TQ_OK;
}

int tq_qparams_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cshape[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    if (!c) return -1;
    memset(aux, 0, sizeof(tq_aux_desc) * TQ_MAX_AUX);
    return c->layout(p, rows, cols, cd, cshape, aux);
}

tq_status tq_quantize(const tq_qparams *p, const char *tname, const float *w, int64_t rows, int64_t cols,
                      void *codes, void *const aux[TQ_MAX_AUX], int allow_nonfinite, tq_error *err) {
    tq_status st = tq_qparams_check(p, tname ? tname : "?", rows, cols, err);
    if (st) return st;
    if (!tq_codec_impl_get(p->codec)->quantize)
        return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": codec %s is a layout trueq reads but does not write",
                      tname ? tname : "?", tq_codec_impl_get(p->codec)->info.name);
    int64_t n = rows * cols;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(w[i])) {
            if (!allow_nonfinite)
                return tq_err(err, TQ_E_VALUE,
                              "tensor \"%s\": non-finite value %g at flat index %lld (row %lld, column %lld); "
                              "pass --allow-nonfinite to quantize it anyway (treated as 0)",
                              tname ? tname : "?", (double)w[i], (long long)i, (long long)(i / (cols ? cols : 1)),
                              (long long)(i % (cols ? cols : 1)));
            /* allowed: codecs see 0 in its place */
            float *copy = malloc(sizeof(float) * (size_t)n);
            if (!copy) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", tname ? tname : "?");
            for (int64_t k = 0; k < n; k++) copy[k] = isfinite(w[k]) ? w[k] : 0.0f;
            st = run_quantize(tq_codec_impl_get(p->codec), p, copy, rows, cols, codes, aux, err);
            free(copy);
            return st;
        }
    }
    return run_quantize(tq_codec_impl_get(p->codec), p, w, rows, cols, codes, aux, err);
}

typedef struct qjob {
    const tq_codec_impl *c;
    const tq_qparams *p;
    const float *w;
    int64_t rows, cols;
    void *codes;
    void *aux[TQ_MAX_AUX];
    tq_status st;
    tq_error err;
} qjob;

static void *qjob_run(void *arg) {
    qjob *j = arg;
    int bad = 0;                         /* branch-free so it vectorizes */
    for (int64_t i = 0, n = j->rows * j->cols; i < n; i++) bad |= !(fabsf(j->w[i]) <= FLT_MAX);
    if (bad) { j->st = TQ_E_VALUE; return NULL; }   /* redone serially for the message */
    j->st = run_quantize(j->c, j->p, j->w, j->rows, j->cols, j->codes, j->aux, &j->err);
    return NULL;
}

tq_status tq_quantize_threads(const tq_qparams *p, const char *tname, const float *w, int64_t rows, int64_t cols,
                              void *codes, void *const aux[TQ_MAX_AUX], int allow_nonfinite, int threads,
                              tq_error *err) {
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    if (threads <= 0) { long n = sysconf(_SC_NPROCESSORS_ONLN); threads = n > 0 ? (int)n : 1; }
    if (threads > 64) threads = 64;
    if (threads > rows) threads = (int)(rows > 0 ? rows : 1);
    bool split = c && (c->row_local_gran_mask & (1u << p->gran)) && threads > 1 && rows * cols >= (1 << 18);
    if (!split) return tq_quantize(p, tname, w, rows, cols, codes, aux, allow_nonfinite, err);
    tq_status st = tq_qparams_check(p, tname ? tname : "?", rows, cols, err);
    if (st) return st;
    /* bytes per row of the codes and of each side tensor */
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(p, rows, cols, &cd, cs, ad);
    uint64_t crow = tq_nbytes(cd, 2, cs) / (uint64_t)rows, arow[TQ_MAX_AUX] = {0};
    for (int a = 0; a < na; a++) arow[a] = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) / (uint64_t)rows;
    qjob jobs[64];
    pthread_t tid[64];
    int started = 0;
    for (int t = 0; t < threads; t++) {
        int64_t r0 = rows * t / threads, r1 = rows * (t + 1) / threads;
        qjob *j = &jobs[t];
        memset(j, 0, sizeof *j);
        j->c = c; j->p = p; j->w = w + r0 * cols; j->rows = r1 - r0; j->cols = cols;
        j->codes = (uint8_t *)codes + (uint64_t)r0 * crow;
        for (int a = 0; a < na; a++) j->aux[a] = (uint8_t *)aux[a] + (uint64_t)r0 * arow[a];
        if (t == 0) continue;
        if (pthread_create(&tid[t], NULL, qjob_run, j) != 0) { j->st = TQ_E_INTERNAL; break; }
        started = t;
    }
    qjob_run(&jobs[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    for (int t = 0; t < threads; t++)
        if (jobs[t].st == TQ_E_VALUE)   /* a non-finite value: the serial path reports it (or zeroes it) */
            return tq_quantize(p, tname, w, rows, cols, codes, aux, allow_nonfinite, err);
    for (int t = 0; t < threads; t++)
        if (jobs[t].st) {
            if (err) *err = jobs[t].err;
            return jobs[t].st ? jobs[t].st : TQ_E_INTERNAL;
        }
    return TQ_OK;
}

tq_status tq_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                        const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    tq_status st = tq_qparams_check(p, "?", rows, cols, err);
    if (st) return st;
    return tq_codec_impl_get(p->codec)->dequantize(p, rows, cols, codes, aux, out, err);
}

tq_status tq_dequantize_rows(const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                             const void *codes, const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    tq_status st = tq_qparams_check(p, "?", rows, cols, err);
    if (st) return st;
    if (r0 < 0 || r1 < r0 || r1 > rows)
        return tq_err(err, TQ_E_ARG, "dequantize rows [%lld, %lld) of a %lld-row tensor", (long long)r0,
                      (long long)r1, (long long)rows);
    if (r0 == r1) return TQ_OK;
    const tq_codec_impl *c = tq_codec_impl_get(p->codec);
    return c->dequantize_rows(c, p, rows, cols, r0, r1, codes, aux, out, err);
}
