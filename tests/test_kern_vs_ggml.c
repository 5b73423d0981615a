/*
 * test_kern_vs_ggml.c — trueq's products over stored ggml blocks against
 * ggml's own CPU code (docs/kernels.md, "Activations").
 *
 * tests/py/ggml_matmul_ref.py calls, through ctypes, the libggml-base /
 * libggml-cpu that llama-cpp-python ships (tests/py/llama_venv.sh; skipped
 * when it is not built): per weight type T (Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K
 * Q5_K Q6_K F16 BF16) ggml quantizes random weights, converts activation
 * rows to T's vec_dot_type with that type's from_float, and takes vec_dot
 * per weight row, as its mul_mat does. Here, on the same stored blocks:
 *   - the activations trueq's kernels make (kern.c) equal ggml's bit for
 *     bit: Q8_0 codes and float16 scales, Q8_1's float16 sums too, Q8_K
 *     codes and float32 scales (ggml may flip both signs), float16/bfloat16
 *     values for F16/BF16 weights;
 *   - the kernel product (every ISA this CPU runs) equals ggml's within
 *     float summation order: |y - y_ggml| <= 1e-6 sum |w a|;
 *   - for Q8_0, Q4_0, Q5_0, Q4_K and Q6_K it EQUALS, bit for bit, what ggml's
 *     MUL_MAT graph gives row by row with the weights where llama.cpp puts
 *     them (T.mm.bin: Q4_0/Q4_K repacked; kern_ggml_exact.h): every ISA's
 *     row for Q4_K/Q6_K, the portable row for Q8_0/Q4_0/Q5_0 (and the vector
 *     rows with VEC_Q0_EXACT); the one-batch agreement is printed (ggml's
 *     4-row Q4_K gemm rounds otherwise);
 *   - the decoded path (trueq's float decode of the blocks, times ggml's
 *     dequantized activations, in double) equals ggml's within the same
 *     bound: the weights mean the same numbers;
 *   - trueq's float32-activation product is also reported (how far ggml's
 *     activation quantization moves a product).
 * Either environment variable TQ_GGML_LIBDIR (a directory with
 * libggml-base.so and libggml-cpu.so) with TQ_GGML_PY (a python with numpy)
 * replaces the venv.
 */
#include "tq_test.h"
#include "kern/kern.h"
#include "ggml/ggml_types.h"
#include "ggml/ggml_kernels.h"
#include "nn/ops/ggml_ops.h"
#include <stdlib.h>

static const struct { const char *name; int type, group, bits; } TYPES[] = {
    {"Q8_0", TQ_GGML_Q8_0, 32, 8}, {"Q4_0", TQ_GGML_Q4_0, 32, 4}, {"Q4_1", TQ_GGML_Q4_1, 32, 4},
    {"Q5_0", TQ_GGML_Q5_0, 32, 5}, {"Q5_1", TQ_GGML_Q5_1, 32, 5}, {"Q4_K", TQ_GGML_Q4_K, 256, 4},
    {"Q5_K", TQ_GGML_Q5_K, 256, 5}, {"Q6_K", TQ_GGML_Q6_K, 256, 6}, {"F16", 1, 0, 16}, {"BF16", 30, 0, 16},
};
enum { VT_F16 = 1, VT_Q8_0 = 8, VT_Q8_1 = 9, VT_Q8_K = 15, VT_BF16 = 30 };

/* The Q8_0 / Q4_0 / Q5_0 vector rows (kern_avx2.c, kern_avx512.c) follow
 * ggml's order (8 lanes, or the repacked Q4_0x8 order), so every path is held
 * to ggml's bytes; -DVEC_Q0_EXACT=0 reports their differences without failing
 * (for work on a new vector row). */
#ifndef VEC_Q0_EXACT
#define VEC_Q0_EXACT 1
#endif

static float ld32(const uint8_t *p) { float f; memcpy(&f, p, 4); return f; }

/* ggml's activation row a (vec_dot type vt) as floats, and whether trueq's
 * quantized row (codes q, scales/values d) holds the same bytes. */
static int act_same(int vt, const uint8_t *a, int64_t cols, const tq_kact *k, int64_t i, double *deq, char *why,
                    size_t cap) {
    const int8_t *q = k->q + i * k->kpad;
    const float *d = k->d + i * k->nb;
    int64_t nb32 = cols / 32;
    for (int64_t c = 0; c < cols; c++) {
        if (vt == VT_F16 || vt == VT_BF16) {
            uint16_t h = tq_ld16(a + 2 * c);
            deq[c] = vt == VT_F16 ? tq_f16_to_f32(h) : tq_bf16_to_f32(h);
            if (d[c] != (float)deq[c]) { snprintf(why, cap, "value %lld: %.9g, ggml %.9g", (long long)c, d[c], deq[c]); return 0; }
            continue;
        }
        int64_t b = vt == VT_Q8_K ? c / 256 : c / 32, bs = vt == VT_Q8_K ? 292 : vt == VT_Q8_1 ? 36 : 34;
        const uint8_t *blk = a + b * bs;
        float dg = vt == VT_Q8_K ? ld32(blk) : tq_ggml_f32(blk);
        int qg = ((const int8_t *)blk)[(vt == VT_Q8_K ? 4 : vt == VT_Q8_1 ? 4 : 2) + c % (vt == VT_Q8_K ? 256 : 32)];
        deq[c] = (double)qg * dg;
        if (dg < 0) { qg = -qg; dg = -dg; }   /* Q8_K: ggml's iscale is -127 / (the signed max) */
        if (q[c] != qg || d[b] != dg) {
            snprintf(why, cap, "column %lld: code %d scale %.9g, ggml %d %.9g", (long long)c, q[c], d[b], qg, dg);
            return 0;
        }
        if (vt == VT_Q8_1 && c % 32 == 0 && d[nb32 + b] != tq_ggml_f32(blk + 2)) {
            snprintf(why, cap, "block %lld: sum %.9g, ggml %.9g", (long long)b, d[nb32 + b], tq_ggml_f32(blk + 2));
            return 0;
        }
    }
    return 1;
}

/* DIR/NAME (ggml_matmul_ref.py's output), or NULL (a failed check). */
static char *read_ref(const char *dir, const char *name, size_t *len) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = NULL;
    tq_error e;
    tq_status st = tq_read_file(path, &buf, len, &e);
    CHECK_OK(st, e);
    return st ? NULL : buf;
}

static void check_type(const char *dir, int t) {
    char path[1200];
    snprintf(path, sizeof path, "%s.bin", TYPES[t].name);
    size_t len = 0;
    char *buf = read_ref(dir, path, &len);
    if (!buf) return;
    tq_error e;
    tq_status st = TQ_OK;
    int32_t h[7];
    memcpy(h, buf, sizeof h);
    int64_t rows = h[2], cols = h[3], n = h[4], wb = h[5], ab = h[6];
    CHECK_EQ_INT(h[0], TYPES[t].type);
    CHECK_EQ_INT(len, sizeof h + (size_t)(wb + 4 * n * cols + ab + 4 * n * rows));
    if (h[0] != TYPES[t].type || len != sizeof h + (size_t)(wb + 4 * n * cols + ab + 4 * n * rows)) { free(buf); return; }
    const uint8_t *w = (const uint8_t *)buf + sizeof h, *a = w + wb + 4 * n * cols;
    float *x = malloc(sizeof(float) * (size_t)(n * cols)), *yg = malloc(sizeof(float) * (size_t)(n * rows));
    memcpy(x, w + wb, sizeof(float) * (size_t)(n * cols));
    memcpy(yg, a + ab, sizeof(float) * (size_t)(n * rows));
    /* trueq's decode of the blocks */
    float *wd = malloc(sizeof(float) * (size_t)(rows * cols));
    int half = TYPES[t].group == 0;
    tq_qparams q = {.codec = TQ_CODEC_GGML, .bits = TYPES[t].bits, .gran = TQ_GRAN_GROUP, .group = TYPES[t].group,
                    .ggml_type = TYPES[t].type};
    const void *aux[TQ_MAX_AUX] = {0};
    if (half)
        for (int64_t c = 0; c < rows * cols; c++)
            wd[c] = TYPES[t].type == 1 ? tq_f16_to_f32(tq_ld16(w + 2 * c)) : tq_bf16_to_f32(tq_ld16(w + 2 * c));
    else
        CHECK_OK(st = tq_dequantize(&q, rows, cols, w, aux, wd, &e), e);
    /* ggml's MUL_MAT graph (T.mm.bin: batch, then row by row), where written */
    snprintf(path, sizeof path, "%s/%s.mm.bin", dir, TYPES[t].name);
    char *mm = NULL;
    size_t mlen = 0;
    tq_error me;
    if (tq_read_file(path, &mm, &mlen, &me) == TQ_OK && mlen != 8 + 8 * (size_t)(n * rows)) {
        CHECK_MSG(0, "%s: %zu bytes", path, mlen);
        free(mm);
        mm = NULL;
    }
    double *deq = malloc(sizeof(double) * (size_t)(n * cols));
    float *y = malloc(sizeof(float) * (size_t)(n * rows));
    double worst = 0, worst_dec = 0, moved = 0;
    for (int isa = 0; isa < TQ_KISA_COUNT && !st; isa++) {
        if (!tq_kern_isa_supported((tq_kisa)isa)) continue;
        tq_kmat k;
        int ok = half ? tq_kern_prepare_half(&k, TYPES[t].type == 1 ? TQ_DTYPE_F16 : TQ_DTYPE_BF16, rows, cols, w, (tq_kisa)isa, 1)
                      : tq_kern_prepare(&k, &q, rows, cols, w, aux, (tq_kisa)isa);
        CHECK_MSG(ok == 1, "%s: no kernel", TYPES[t].name);
        if (ok != 1) continue;
        tq_kact ka;
        CHECK(tq_kact_init(&ka, &k, n, cols) == TQ_OK);
        tq_kact_begin(&ka, n, cols);
        tq_kact_rows(&ka, x, cols, 0, n);
        char why[200] = "";
        for (int64_t i = 0; i < n; i++) {
            int same = act_same(h[1], a + i * (ab / n), cols, &ka, i, deq + i * cols, why, sizeof why);
            CHECK_MSG(same, "%s %s: activation row %lld differs from ggml's: %s", TYPES[t].name,
                      tq_kern_isa_name((tq_kisa)isa), (long long)i, why);
        }
        tq_kern_matmul_act(&k, &ka, 0, rows, y, rows, 0);
        for (int64_t i = 0; i < n; i++)
            for (int64_t r = 0; r < rows; r++) {
                double mag = 0, dec = 0, f32 = 0;
                for (int64_t c = 0; c < cols; c++) {
                    double wv = wd[r * cols + c];
                    mag += fabs(wv * deq[i * cols + c]);
                    dec += wv * deq[i * cols + c];
                    f32 += wv * x[i * cols + c];
                }
                /* Q8_1: a block's min m meets ggml's float16 sum s, not the codes' sum */
                for (int64_t b = 0; h[1] == VT_Q8_1 && b < cols / 32; b++) {
                    double mn = tq_ggml_f32(w + r * (wb / rows) + b * (wb / rows / (cols / 32)) + 2), sq = 0;
                    for (int64_t c = 32 * b; c < 32 * b + 32; c++) sq += deq[i * cols + c];
                    dec += mn * (tq_ggml_f32(a + i * (ab / n) + b * 36 + 2) - sq);
                }
                double tol = 1e-6 * mag + 1e-30, g = yg[i * rows + r];
                CHECK_MSG(fabs(y[i * rows + r] - g) <= tol, "%s %s y[%lld,%lld] %.9g, ggml %.9g", TYPES[t].name,
                          tq_kern_isa_name((tq_kisa)isa), (long long)i, (long long)r, y[i * rows + r], g);
                CHECK_MSG(fabs(dec - g) <= tol, "%s decoded y[%lld,%lld] %.9g, ggml %.9g", TYPES[t].name, (long long)i,
                          (long long)r, dec, g);
                if (mag > 0) {
                    worst = fmax(worst, fabs(y[i * rows + r] - g) / mag);
                    worst_dec = fmax(worst_dec, fabs(dec - g) / mag);
                    moved = fmax(moved, fabs(f32 - g) / mag);
                }
            }
        if (mm) {
            /* the rows follow ggml's float order (kern_ggml_exact.h): their
             * bytes are llama.cpp's token-by-token product */
            const float *yb = (const float *)(mm + 8), *yr = yb + n * rows;
            int64_t neq = 0, neqb = 0;
            for (int64_t c = 0; c < n * rows; c++) {
                neq += memcmp(&y[c], &yr[c], 4) != 0;
                neqb += memcmp(&y[c], &yb[c], 4) != 0;
            }
            int q0 = TYPES[t].type == TQ_GGML_Q8_0 || TYPES[t].type == TQ_GGML_Q4_0 || TYPES[t].type == TQ_GGML_Q5_0;
            if (isa == TQ_KISA_PORTABLE || !q0 || VEC_Q0_EXACT)
                CHECK_MSG(neq == 0, "%s %s: %lld of %lld products differ from ggml's MUL_MAT row by row", TYPES[t].name,
                          tq_kern_isa_name((tq_kisa)isa), (long long)neq, (long long)(n * rows));
            printf("  %-5s %-8s == ggml MUL_MAT bit for bit: row by row %lld/%lld, one batch %lld/%lld%s\n",
                   TYPES[t].name, tq_kern_isa_name((tq_kisa)isa), (long long)(n * rows - neq), (long long)(n * rows),
                   (long long)(n * rows - neqb), (long long)(n * rows),
                   neq && q0 && !VEC_Q0_EXACT ? " (not asserted: VEC_Q0_EXACT)" : "");
        }
        tq_kact_free(&ka);
        tq_kern_release(&k);
    }
    printf("  %-5s kernels within %.2e, decoded within %.2e of ggml (per sum |w a|); float32 activations move it %.2e\n",
           TYPES[t].name, worst, worst_dec, moved);
    free(x); free(yg); free(wd); free(deq); free(y); free(buf); free(mm);
}

/* ops.bin (ggml_matmul_ref.py): RMSNorm times a gain, RoPE and SwiGLU as
 * ggml's graph computes them == tq_llama_rmsnorm_ggml, tq_llama_rope_*_ggml,
 * tq_llama_swiglu_ggml. */
static void check_ops(const char *dir) {
    size_t len = 0;
    char *buf = read_ref(dir, "ops.bin", &len);
    if (!buf) return;
    int32_t h[5];
    float eps, theta;
    memcpy(h, buf, sizeof h);
    memcpy(&eps, buf + 20, 4);
    memcpy(&theta, buf + 24, 4);
    int64_t D = h[0], N = h[1], hs = h[2], nh = h[3], np = h[4], nr = np * nh * hs;
    size_t want = 28 + 4 * (size_t)(2 * N * D + D + np + 2 * nr);
    int32_t sw = 0;
    if (len >= want + 4) memcpy(&sw, buf + want, 4);
    CHECK_EQ_INT(len, want + 4 + 12 * (size_t)N * (size_t)sw);
    if (len != want + 4 + 12 * (size_t)N * (size_t)sw) { free(buf); return; }
    const float *x = (const float *)(buf + 28), *w = x + N * D, *yg = w + D;
    const int32_t *pos = (const int32_t *)(yg + N * D);
    const float *r = (const float *)(pos + np), *og = r + nr;
    float *y = malloc(sizeof(float) * (size_t)(D > nr ? D : nr));
    double cs[512];
    int64_t bad = 0;
    for (int64_t i = 0; i < N; i++) {
        tq_llama_rmsnorm_ggml(y, x + i * D, w, (int)D, eps);
        for (int64_t c = 0; c < D; c++) bad += memcmp(&y[c], &yg[i * D + c], 4) != 0;
    }
    CHECK_MSG(bad == 0, "RMSNorm: %lld of %lld values differ from ggml's", (long long)bad, (long long)(N * D));
    printf("  RMSNorm * gain == ggml_rms_norm, ggml_mul bit for bit: %lld/%lld\n", (long long)(N * D - bad),
           (long long)(N * D));
    bad = 0;
    for (int64_t p = 0; p < np; p++) {
        memcpy(y, r + p * nh * hs, sizeof(float) * (size_t)(nh * hs));
        tq_llama_rope_table_ggml(cs, (int)hs, pos[p], theta, NULL, 1.0f);
        tq_llama_rope_apply_ggml(y, (int)nh, (int)hs, (int)hs, 0, cs);
        for (int64_t c = 0; c < nh * hs; c++) bad += memcmp(&y[c], &og[p * nh * hs + c], 4) != 0;
    }
    CHECK_MSG(bad == 0, "RoPE: %lld of %lld values differ from ggml's", (long long)bad, (long long)(np * nh * hs));
    printf("  RoPE == ggml_rope_ext bit for bit: %lld/%lld\n", (long long)(np * nh * hs - bad), (long long)(np * nh * hs));
    const float *gate = (const float *)(buf + want + 4), *up = gate + N * sw, *swg = up + N * sw;
    float *hw = malloc(sizeof(float) * (size_t)sw);
    bad = 0;
    for (int64_t i = 0; i < N; i++) {
        tq_llama_swiglu_ggml(hw, gate + i * sw, up + i * sw, sw);
        for (int64_t c = 0; c < sw; c++) bad += memcmp(&hw[c], &swg[i * sw + c], 4) != 0;
    }
    CHECK_MSG(bad == 0, "SwiGLU: %lld of %lld values differ from ggml's", (long long)bad, (long long)(N * sw));
    printf("  SwiGLU == ggml_swiglu_split bit for bit: %lld/%lld\n", (long long)(N * sw - bad), (long long)(N * sw));
    free(hw);
    free(y);
    free(buf);
}

void tq_tests(void) {
    TQ_CASE("products over ggml blocks == ggml's vec_dot (libggml-cpu of llama-cpp-python), activations bit for bit");
    const char *src = getenv("TQ_SOURCE_DIR"), *libdir = getenv("TQ_GGML_LIBDIR"), *gpy = getenv("TQ_GGML_PY");
    if (!src) src = ".";
    char cmd[4096], py[1024] = "";
    if (libdir && gpy) snprintf(py, sizeof py, "%s", gpy);
    else {
        char *out = NULL;
        snprintf(cmd, sizeof cmd, "TRUEQ_LLAMA_NO_BUILD=1 bash '%s/tests/py/llama_venv.sh'", src);
        int rc = tq_t_run(cmd, &out);
        if (rc != 0 || !out || !strchr(out, '\n')) {
            free(out);
            TQ_SKIP("llama-cpp-python venv not built (tests/py/llama_venv.sh): skipping the comparison with ggml");
        }
        *strchr(out, '\n') = 0;
        snprintf(py, sizeof py, "%s", out);
        free(out);
        libdir = "";
    }
    const char *dir = tq_t_path("ggml_ref");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && '%s' '%s/tests/py/ggml_matmul_ref.py' '%s' %s%s%s", dir, py, src, dir,
             *libdir ? "'" : "", libdir, *libdir ? "'" : "");
    int rc = tq_t_run(cmd, NULL);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;
    for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++) check_type(dir, (int)t);
    check_ops(dir);
}
