/*
 * test_kern.c — the kernels of src/kern/ (kern.h) on odd shapes.
 *
 * For every weight kind and every ISA this CPU runs:
 *  - against a double-precision reference over the decoded weights and the
 *    unquantized activations: |y - ref| is within the bound activation
 *    quantization allows (each activation moves by at most half its scale:
 *    sum_c |w[r, c]| d(c) / 2), plus float rounding;
 *  - against the same reference over the quantized activations: float
 *    rounding only;
 *  - against the portable path: the same bytes (exact integer sums, the
 *    same float steps) for I8, the K-quants and the linear/MLX 4- and 8-bit
 *    kinds, within float rounding for Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 and the float32-
 *    activation kinds;
 *  - one activation row alone gives the bytes of the same row in a batch;
 *  - row splits (as threads make them) give the bytes of one whole product,
 *    and accumulate adds onto y exactly.
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "ggml/ggml_types.h"
#include <stdlib.h>

typedef struct kcase { const char *name; tq_qparams q; } kcase;

static const kcase KINDS[] = {
    {"i8 tensor", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_TENSOR}},
    {"i8 channel", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL}},
    {"i8 group 32", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 32, .pad = 1}},
    {"i8 group 12", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 12, .pad = 1}},
    {"i8 group 6 (portable only)", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 6, .pad = 1}},
    {"q8_0", {.codec = TQ_CODEC_GGML, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q8_0}},
    {"q4_0", {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q4_0}},
    {"q4_1", {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q4_1}},
    {"q5_0", {.codec = TQ_CODEC_GGML, .bits = 5, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q5_0}},
    {"q5_1", {.codec = TQ_CODEC_GGML, .bits = 5, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q5_1}},
    {"q4_k", {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 256, .ggml_type = TQ_GGML_Q4_K}},
    {"q5_k", {.codec = TQ_CODEC_GGML, .bits = 5, .gran = TQ_GRAN_GROUP, .group = 256, .ggml_type = TQ_GGML_Q5_K}},
    {"q6_k", {.codec = TQ_CODEC_GGML, .bits = 6, .gran = TQ_GRAN_GROUP, .group = 256, .ggml_type = TQ_GGML_Q6_K}},
    {"sym4 tensor", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 4, .gran = TQ_GRAN_TENSOR}},
    {"sym4 channel", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 4, .gran = TQ_GRAN_CHANNEL}},
    {"sym4 group 32", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32, .pad = 1}},
    {"sym4 group 7 (groups start mid-byte)", {.codec = TQ_CODEC_LINEAR_SYM, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 7, .pad = 1}},
    {"affine4 channel", {.codec = TQ_CODEC_LINEAR_AFFINE, .bits = 4, .gran = TQ_GRAN_CHANNEL}},
    {"affine4 group 64", {.codec = TQ_CODEC_LINEAR_AFFINE, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 64, .pad = 1}},
    {"affine8 tensor", {.codec = TQ_CODEC_LINEAR_AFFINE, .bits = 8, .gran = TQ_GRAN_TENSOR}},
    {"affine8 group 12", {.codec = TQ_CODEC_LINEAR_AFFINE, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 12, .pad = 1}},
    {"mlx4 group 32", {.codec = TQ_CODEC_MLX, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32}},
    {"mlx4 group 64", {.codec = TQ_CODEC_MLX, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 64}},
    {"mlx8 group 32", {.codec = TQ_CODEC_MLX, .bits = 8, .gran = TQ_GRAN_GROUP, .group = 32}},
    {"nf4 group 64", {.codec = TQ_CODEC_NF4, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 64, .pad = 1}},
    {"nf4 group 7", {.codec = TQ_CODEC_NF4, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 7, .pad = 1}},
    {"nf4 channel", {.codec = TQ_CODEC_NF4, .bits = 4, .gran = TQ_GRAN_CHANNEL}},
    {"f16", {.codec = TQ_CODEC_NONE}},
    {"bf16", {.codec = TQ_CODEC_NONE, .bits = 16}},
    /* group 1 marks ggml's activations: rounded to the weights' type */
    {"f16, activations rounded to float16 (ggml)", {.codec = TQ_CODEC_NONE, .group = 1}},
    {"bf16, activations rounded to bfloat16 (ggml)", {.codec = TQ_CODEC_NONE, .bits = 16, .group = 1}},
};

/* How a kind meets activations: int8 per 256 (K-quants, as llama.cpp's
 * Q8_K) or per 32 (other ggml types), float32 (NF4, F16, BF16) or rounded to
 * float16 / bfloat16 (act_span -1 / -2: ggml's F16 / BF16), else int8 per
 * row. */
static int float_act(const tq_qparams *q) { return q->codec == TQ_CODEC_NF4 || q->codec == TQ_CODEC_NONE; }
static int kquant(const tq_qparams *q) { return q->codec == TQ_CODEC_GGML && q->group == 256; }
static int64_t act_span(const tq_qparams *q, int64_t cols) {
    if (q->codec == TQ_CODEC_NONE && q->group == 1) return q->bits == 16 ? -2 : -1;
    return kquant(q) ? 256 : q->codec == TQ_CODEC_GGML ? 32 : float_act(q) ? 0 : cols;
}

/* The activation codes the kernels use (kern.c, docs/kernels.md): per row
 * (I8 and the linear kinds) d = max|x| / 127, q = round(x / d); per 32
 * (ggml Q8_0) q = round(x 127 / max|x|), d = float16(max|x| / 127); per 256
 * (ggml Q8_K) the same q and d = 1 / (127 / max|x|). xq = q d; dh bounds
 * |x - xq| (half a step, plus |q| times d's float16 rounding); qs = the
 * codes' sum per span (for Q8_1's s). */
static void act_ref(const float *x, int64_t cols, int64_t span, int ggml, double *xq, double *dh, double *d32,
                    int64_t *qs) {
    if (span <= 0) {   /* float activations: exact (0), rounded to float16 (-1) or bfloat16 (-2) */
        for (int64_t c = 0; c < cols; c++) {
            xq[c] = span == -1 ? tq_f16_to_f32(tq_f32_to_f16(x[c])) : span == -2 ? tq_bf16_to_f32(tq_f32_to_bf16(x[c])) : x[c];
            dh[c] = fabs(xq[c] - x[c]);
        }
        return;
    }
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += span, b++) {
        int64_t c1 = c0 + span < cols ? c0 + span : cols;
        float amax = 0;
        for (int64_t c = c0; c < c1; c++) amax = fabsf(x[c]) > amax ? fabsf(x[c]) : amax;
        float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
        if (ggml) inv = amax > 0 ? 127.0f / amax : 0.0f;
        float dq = !ggml ? d : span == 256 ? (amax > 0 ? 1.0f / inv : 0.0f) : tq_f16_to_f32(tq_f32_to_f16(d));
        d32[b] = d;
        qs[b] = 0;
        for (int64_t c = c0; c < c1; c++) {
            float q = nearbyintf(x[c] * inv);
            xq[c] = (double)q * dq;
            dh[c] = d / 2.0 + fabs(q) * fabs((double)dq - d);
            qs[b] += (int64_t)q;
        }
    }
}

/* Q4_1 / Q5_1: the block's min (float16 after d; bytes per block bs). */
static int with_min(const tq_qparams *q) {
    return q->codec == TQ_CODEC_GGML && (q->ggml_type == TQ_GGML_Q4_1 || q->ggml_type == TQ_GGML_Q5_1);
}

typedef struct mat {
    tq_qparams q;
    int64_t rows, cols;
    void *codes, *aux[TQ_MAX_AUX];
    float *w;   /* decoded */
} mat;

/* F16 (bits 0) / BF16 (bits 16) codes of random weights, and their values. */
static int make_half(mat *m, int bf, uint64_t *rng) {
    int64_t n = m->rows * m->cols;
    uint8_t *c = m->codes = malloc((size_t)(2 * n));
    m->w = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        float v = tq_t_randn(rng) * (1.0f + (float)(i % 7));
        uint16_t h = bf ? tq_f32_to_bf16(v) : tq_f32_to_f16(v);
        c[2 * i] = (uint8_t)h;
        c[2 * i + 1] = (uint8_t)(h >> 8);
        m->w[i] = bf ? tq_bf16_to_f32(h) : tq_f16_to_f32(h);
    }
    return 0;
}

static int make(mat *m, const tq_qparams *q, int64_t rows, int64_t cols, uint64_t *rng) {
    memset(m, 0, sizeof *m);
    m->q = *q;
    m->rows = rows;
    m->cols = cols;
    if (q->codec == TQ_CODEC_NONE) return make_half(m, q->bits == 16, rng);
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(q, rows, cols, &cd, cs, ad);
    if (na < 0) return -1;
    m->codes = malloc(tq_nbytes(cd, 2, cs) + 1);
    for (int a = 0; a < na; a++) m->aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 1);
    float *src = malloc(sizeof(float) * (size_t)(rows * cols));
    m->w = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) src[i] = tq_t_randn(rng) * (1.0f + (float)(i % 7));
    tq_error err = {0};
    tq_status st = tq_quantize(q, "w", src, rows, cols, m->codes, m->aux, 0, &err);
    if (!st) st = tq_dequantize(q, rows, cols, m->codes, (const void *const *)m->aux, m->w, &err);
    free(src);
    return st ? -1 : 0;
}

static void drop(mat *m) {
    free(m->codes); free(m->w);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(m->aux[a]);
}

static double worst;   /* largest error / allowed over every check */

static void check_shape(const kcase *kc, int64_t rows, int64_t cols, int64_t n, uint64_t *rng) {
    mat m;
    if (make(&m, &kc->q, rows, cols, rng)) { CHECK_MSG(0, "%s: cannot build %lldx%lld", kc->name, (long long)rows, (long long)cols); return; }
    /* int sums, then the portable path's float steps */
    int exact = !float_act(&kc->q) && (kc->q.codec != TQ_CODEC_GGML || kquant(&kc->q));
    float *x = malloc(sizeof(float) * (size_t)(n * cols));
    for (int64_t i = 0; i < n * cols; i++) x[i] = tq_t_randn(rng) * (i % 5 == 0 ? 3.0f : 1.0f);
    if (n > 1) for (int64_t c = 0; c < cols; c++) x[cols + c] = 0.0f;   /* a zero row: scale 0 */
    double *xq = malloc(sizeof(double) * (size_t)(n * cols)), *dh = malloc(sizeof(double) * (size_t)(n * cols));
    double *d32 = malloc(sizeof(double) * (size_t)(n * cols));
    int64_t *qs = malloc(sizeof(int64_t) * (size_t)(n * cols));
    for (int64_t i = 0; i < n; i++)
        act_ref(x + i * cols, cols, act_span(&kc->q, cols), kc->q.codec == TQ_CODEC_GGML, xq + i * cols, dh + i * cols,
                d32 + i * cols, qs + i * cols);
    int bs = kc->q.ggml_type == TQ_GGML_Q4_1 ? 20 : 24;
    size_t ny = (size_t)(n * rows);
    float *yp = malloc(sizeof(float) * ny), *y = malloc(sizeof(float) * ny), *ys = malloc(sizeof(float) * ny);
    for (int isa = 0; isa < TQ_KISA_COUNT; isa++) {
        if (!tq_kern_isa_supported((tq_kisa)isa)) continue;
        tq_kmat k;
        int ok = kc->q.codec == TQ_CODEC_NONE
                     ? tq_kern_prepare_half(&k, kc->q.bits == 16 ? TQ_DTYPE_BF16 : TQ_DTYPE_F16, rows, cols, m.codes, (tq_kisa)isa, kc->q.group == 1)
                     : tq_kern_prepare(&k, &m.q, rows, cols, m.codes, (const void *const *)m.aux, (tq_kisa)isa);
        CHECK_MSG(ok == 1, "%s: no kernel (%d)", kc->name, ok);
        if (ok != 1) continue;
        /* the repacked copy (I8 vector paths) is what tq_kern_bytes counts */
        uint64_t rb = (uint64_t)((rows + TQ_KROWS - 1) / TQ_KROWS), kb = tq_kern_bytes(&k);
        uint64_t want = k.packed ? (rb * (uint64_t)k.k4 * 64 + 63) / 64 * 64 + rb * (uint64_t)k.ngroups * TQ_KROWS * 8 : 0;
        CHECK_MSG(kb == want && (k.packed != NULL) == (k.kind == TQ_KW_I8 && isa > 0 && k.isa > 0),
                  "%s %s: kernel bytes %llu, want %llu", kc->name, tq_kern_isa_name((tq_kisa)isa), (unsigned long long)kb,
                  (unsigned long long)want);
        CHECK(tq_kern_matmul(&k, x, cols, n, 0, rows, y, rows, 0) == TQ_OK);
        for (int64_t i = 0; i < n; i++)
            for (int64_t r = 0; r < rows; r++) {
                double ref = 0, refq = 0, bound = 0, mag = 0;
                for (int64_t c = 0; c < cols; c++) {
                    double w = m.w[r * cols + c];
                    ref += w * x[i * cols + c];
                    refq += w * xq[i * cols + c];
                    bound += fabs(w) * dh[i * cols + c];
                    mag += fabs(w * xq[i * cols + c]);
                }
                /* Q8_1: the mins meet s = float16(d sum q) in place of the codes' sum (ggml) */
                for (int64_t b = 0; with_min(&kc->q) && b < cols / 32; b++) {
                    const uint8_t *blk = (const uint8_t *)m.codes + (r * (cols / 32) + b) * bs;
                    double mn = tq_f16_to_f32((uint16_t)(blk[2] | blk[3] << 8)), sq = 0;
                    for (int64_t c = 32 * b; c < 32 * b + 32; c++) sq += xq[i * cols + c];
                    double sb = tq_f16_to_f32(tq_f32_to_f16((float)(d32[i * cols + b] * (double)qs[i * cols + b])));
                    refq += mn * (sb - sq);
                    bound += fabs(mn) * fabs(sb - sq);
                }
                /* float kinds sum cols products in float: n u |terms| */
                double got = y[i * rows + r], round = (float_act(&kc->q) ? 1e-6 + 6e-8 * (double)cols : 1e-6) * mag + 1e-30;
                CHECK_MSG(fabs(got - refq) <= round, "%s %s %lldx%lld n %lld: y[%lld,%lld] %.9g, quantized-x ref %.9g",
                          kc->name, tq_kern_isa_name((tq_kisa)isa), (long long)rows, (long long)cols, (long long)n,
                          (long long)i, (long long)r, got, refq);
                CHECK_MSG(fabs(got - ref) <= bound + round, "%s %s: y[%lld,%lld] %.9g, ref %.9g, bound %.3g", kc->name,
                          tq_kern_isa_name((tq_kisa)isa), (long long)i, (long long)r, got, ref, bound);
                if (bound > 0 && fabs(got - ref) / (bound + round) > worst) worst = fabs(got - ref) / (bound + round);
            }
        if (isa == TQ_KISA_PORTABLE) {
            memcpy(yp, y, sizeof(float) * ny);
        } else if (exact) {
            CHECK_MSG(!memcmp(y, yp, sizeof(float) * ny), "%s %s: not the portable path's bytes", kc->name,
                      tq_kern_isa_name((tq_kisa)isa));
        }
        /* one activation row at a time (the decoder's step) gives the bytes of the batch */
        int alone = 1;
        for (int64_t i = 0; i < n && n > 1; i++) {
            tq_kern_matmul(&k, x + i * cols, cols, 1, 0, rows, ys, rows, 0);
            alone &= !memcmp(ys, y + i * rows, sizeof(float) * (size_t)rows);
        }
        CHECK_MSG(alone, "%s %s %lldx%lld n %lld: a row alone differs from the batch", kc->name,
                  tq_kern_isa_name((tq_kisa)isa), (long long)rows, (long long)cols, (long long)n);
        /* row splits of any size give the same bytes; accumulate adds exactly */
        int64_t cuts[] = {0, rows / 3, rows / 3 + 1, (rows * 2) / 3, rows};
        for (int c = 1; c < 5; c++) cuts[c] = cuts[c] > rows ? rows : cuts[c] < cuts[c - 1] ? cuts[c - 1] : cuts[c];
        for (size_t i = 0; i < ny; i++) ys[i] = (float)i * 0.25f;
        for (int c = 0; c + 1 < 5; c++)
            if (cuts[c] < cuts[c + 1]) tq_kern_matmul(&k, x, cols, n, cuts[c], cuts[c + 1], ys, rows, 1);
        int same = 1;
        for (size_t i = 0; i < ny; i++) same &= ys[i] == (float)i * 0.25f + y[i];
        CHECK_MSG(same, "%s %s %lldx%lld: split + accumulate differs", kc->name, tq_kern_isa_name((tq_kisa)isa),
                  (long long)rows, (long long)cols);
        tq_kern_release(&k);
    }
    free(x); free(xq); free(dh); free(d32); free(qs); free(yp); free(y); free(ys);
    drop(&m);
}

void tq_tests(void) {
    uint64_t rng = 7;
    for (int isa = 0; isa < TQ_KISA_COUNT; isa++)
        printf("  isa %-8s %s\n", tq_kern_isa_name((tq_kisa)isa), tq_kern_isa_supported((tq_kisa)isa) ? "runs here" : "not on this CPU");
    const int64_t rows[] = {1, 5, 17, 33}, n_[] = {1, 3, 17};
    const int64_t cols_i8[] = {3, 17, 64, 100, 259}, cols_g[] = {32, 96, 160}, cols_m[] = {64, 192, 320}, cols_k[] = {256, 512, 768};
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
        TQ_CASE(KINDS[k].name);
        int ggml = KINDS[k].q.codec == TQ_CODEC_GGML, mlx = KINDS[k].q.codec == TQ_CODEC_MLX;
        const int64_t *cols = kquant(&KINDS[k].q) ? cols_k : ggml ? cols_g : mlx ? cols_m : cols_i8;
        int nc = ggml || mlx ? 3 : 5;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < 3; i++) check_shape(&KINDS[k], rows[r], cols[c], n_[i], &rng);
    }
    TQ_CASE("a codec or layout without a kernel is refused for decoding (2-bit, Q4_0/Q4_K off blocks, F32, 8-bit past 66,000 columns)");
    {
        tq_kmat k;
        tq_qparams s2 = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 2, .gran = TQ_GRAN_CHANNEL};
        tq_qparams q4 = {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 32, .ggml_type = TQ_GGML_Q4_0};
        tq_qparams a8 = {.codec = TQ_CODEC_LINEAR_AFFINE, .bits = 8, .gran = TQ_GRAN_CHANNEL};
        const void *aux[TQ_MAX_AUX] = {0};
        CHECK(tq_kern_prepare(&k, &s2, 4, 4, "", aux, TQ_KISA_PORTABLE) == 0);
        CHECK(tq_kern_prepare(&k, &q4, 4, 48, "", aux, TQ_KISA_PORTABLE) == 0);
        tq_qparams q4k = {.codec = TQ_CODEC_GGML, .bits = 4, .gran = TQ_GRAN_GROUP, .group = 256, .ggml_type = TQ_GGML_Q4_K};
        CHECK(tq_kern_prepare(&k, &q4k, 4, 576, "", aux, TQ_KISA_PORTABLE) == 0);   /* SmolLM2's 576: not in 256s */
        CHECK(tq_kern_prepare(&k, &a8, 4, 66001, "", aux, TQ_KISA_PORTABLE) == 0);
        CHECK(tq_kern_prepare_half(&k, TQ_DTYPE_F32, 4, 4, "", TQ_KISA_PORTABLE, 0) == 0);
    }
    TQ_CASE("TRUEQ_ISA forces an ISA (one the CPU lacks falls back to the best it has); decode turns kernels off");
    {
        int off = -1;
        tq_kisa best = tq_kern_isa(&off);
        CHECK(off == 0 && tq_kern_isa_supported(best));
        setenv("TRUEQ_ISA", "portable", 1);
        CHECK(tq_kern_isa(&off) == TQ_KISA_PORTABLE && off == 0);
        CHECK(strstr(tq_kernels_info(), "kernels: portable (TRUEQ_ISA") != NULL);
        setenv("TRUEQ_ISA", "avx512", 1);
        CHECK(tq_kern_isa(&off) == (tq_kern_isa_supported(TQ_KISA_AVX512) ? TQ_KISA_AVX512 : best));
        setenv("TRUEQ_ISA", "decode", 1);
        tq_kern_isa(&off);
        CHECK(off == 1 && strstr(tq_kernels_info(), "kernels: off") != NULL);
        unsetenv("TRUEQ_ISA");
    }
    printf("  worst error / activation-quantization bound: %.3f\n", worst);
}
