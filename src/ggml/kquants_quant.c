/*
 * kquants_quant.c — ggml's reference encoders (quantize_row_*_ref, no
 * importance matrix) for Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K, bit for bit
 * (FORMATS.md §3.5). All arithmetic is float32, accumulated in index order,
 * with the operand order of the reference (the build has no -ffast-math and
 * C11 mode keeps gcc from contracting into FMA).
 *
 * The three search helpers:
 *   qkx2  (scale, min) pair search for the affine types Q2_K, Q4_K, Q5_K
 *   qx    symmetric scale search with weights x^2 (Q6_K)
 *   q3    symmetric scale search with coordinate refinement (Q3_K)
 */
#include "ggml/ggml_kernels.h"
#include "ggml/vec8.h"
#include <math.h>

#define GROUP_MAX_EPS 1e-15f

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Helper A. Returns the scale; *neg_min = -min (>= 0); L[] codes 0..nmax. */
static float qkx2_ref(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min, float rmin,
                      float rdelta, int nstep, bool use_mad) {
    uint8_t La[32];
    float mn = x[0], mx = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (mn > 0) mn = 0;
    if (mx == mn) {
        memset(L, 0, (size_t)n);
        *neg_min = -mn;
        return 0.0f;
    }
    float iscale = (float)nmax / (mx - mn), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(tq_ggml_nearest_int(iscale * (x[i] - mn)), 0, nmax);
        float diff = scale * (float)L[i] + mn - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best += w[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (mx - mn);
        float sl = 0, sl2 = 0, sxl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(tq_ggml_nearest_int(iscale * (x[i] - mn)), 0, nmax);
            La[i] = (uint8_t)l;
            sl += w[i] * (float)l;
            sl2 += w[i] * (float)l * (float)l;
            sxl += w[i] * (float)l * x[i];
        }
        float D = sum_w * sl2 - sl * sl;
        if (D > 0) {
            float this_scale = (sum_w * sxl - sum_x * sl) / D;
            float this_min = (sl2 * sum_x - sl * sxl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sxl / sl2;
            }
            float cur = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)La[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur += w[i] * diff;
            }
            if (cur < best) {
                memcpy(L, La, (size_t)n);
                best = cur;
                scale = this_scale;
                mn = this_min;
            }
        }
    }
    *neg_min = -mn;
    return scale;
}

/* The signed value of largest magnitude (first one on ties) and |it|. */
static float signed_max(const float *x, int n, float *amax) {
    float a = 0, m = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > a) { a = fabsf(x[i]); m = x[i]; }
    *amax = a;
    return m;
}

/* Helper B (rmse_type 1, no weights). L[] = l + nmax. */
/* The first pass of Helpers B and C: max = the signed value of largest
 * magnitude; L_i = clamp(nearest_int(-nmax/max x_i), -nmax, nmax-1) + bias;
 * sums of w x l and w l^2 with w = x^2. False (L = 0) when max |x| < 1e-15. */
static bool first_pass(int n, int nmax, const float *x, int8_t *L, int bias, float *max, float *slx, float *sl2) {
    float amax;
    *max = signed_max(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return false;
    }
    float iscale = (float)-nmax / *max, sx = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(tq_ggml_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + bias);
        float w = x[i] * x[i];
        sx += w * x[i] * (float)l;
        s2 += w * (float)l * (float)l;
    }
    *slx = sx;
    *sl2 = s2;
    return true;
}

static float qx_ref(int n, int nmax, const float *x, int8_t *L) {
    float max, slx, sl2, iscale;
    if (!first_pass(n, nmax, x, L, nmax, &max, &slx, &sl2)) return 0.0f;
    float scale = sl2 != 0 ? slx / sl2 : 0.0f, best = scale * slx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        slx = sl2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(tq_ggml_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            slx += w * x[i] * (float)l;
            sl2 += w * (float)l * (float)l;
        }
        if (sl2 > 0 && slx * slx > best * sl2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(tq_ggml_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = slx / sl2;
            best = scale * slx;
        }
    }
    return scale;
}


/* ---- qx's search, candidates side by side ----------------------------------
 * The reference tries its 18 candidate scales one after another over the same
 * 16 values. They are independent (all share max), so here every candidate is
 * a lane of fixed-length loops the compiler vectorises (SSE2 by default, AVX2
 * / AVX-512 where the CPU has them, picked at run time by target_clones). Each
 * lane performs the reference's float operations in the reference's order
 * (-ffp-contract=off for this file: no FMA), so every sum is bit-identical,
 * and the choice among candidates is then made in the reference's order.
 * qkx2 (Q2_K, Q4_K, Q5_K) cannot run its candidates side by side (accepting
 * one replaces the min the later ones are computed from; speculating lanes
 * measured 0.76-0.93x), so it runs eight sub-blocks side by side instead
 * (qkx2_lanes below). tq_ggml_kquants_reference(1) selects the one-by-one qx
 * and qkx2 (the tests compare the two on random and adversarial blocks). */
static int use_reference;
void tq_ggml_kquants_reference(int on) { use_reference = on; }

#define TQ_CLONES TQ_VEC_CLONES

/* ---- qkx2 over eight sub-blocks side by side ------------------------------
 * qkx2's candidates depend on each other (an accepted one moves the min the
 * next are computed from), but sub-blocks do not: lane c runs sub-block c's
 * whole search, values interleaved as xt[i * QK_LANES + c]. Every lane makes
 * the reference's float operations in its order (no FMA); the branches become
 * per-lane selects, so each lane's result is the reference's bit for bit
 * (test_kquants_lanes). A flat sub-block (max == min) is computed through
 * (divisions by zero, IEEE) and replaced by the reference's early answer.
 * Written in vector extensions (vec8.h: one v8f is the eight lanes; gcc left
 * the plain loops below scalar, fully unrolled) where they exist. */
#define QK_LANES 8
#if defined(TQ_VEC8)
/* (macros: a v8f argument of a function outside the AVX clones changes the
 * ABI) fl := clamp(nearest_int(v), 0, nmax) per lane, as a float: the
 * 1.5*2^23 trick of tq_ggml_nearest_int on the bits, then the integer clamp;
 * ERR_OF: |diff| or diff^2. */
#define CODE_OF(fl, v, nmax)                                                   \
    do {                                                                       \
        v8i l_ = ((v8i)((v) + 12582912.0f) & 0x007fffff) - 0x00400000;         \
        l_ = SELI(l_ < 0, V8I(0), l_);                                         \
        l_ = SELI(l_ > (nmax), V8I(nmax), l_);                                 \
        (fl) = __builtin_convertvector(l_, v8f);                               \
    } while (0)
#define ERR_OF(diff, use_mad) ((use_mad) ? (v8f)((v8i)(diff) & 0x7fffffff) : (diff) * (diff))

TQ_CLONES
static void qkx2_lanes(int n, int nmax, const float *xt, const float *wt, uint8_t *Lt, float *scale_out,
                       float *neg_min, float rmin, float rdelta, int nstep, bool use_mad) {
    v8f x[32], w[32], La[32], Lb[32];
    memcpy(x, xt, sizeof(v8f) * (size_t)n);
    memcpy(w, wt, sizeof(v8f) * (size_t)n);
    v8f mn = x[0], mx = x[0], sw = w[0], sx = sw * x[0];
    for (int i = 1; i < n; i++) {
        mn = SEL(x[i] < mn, x[i], mn);
        mx = SEL(x[i] > mx, x[i], mx);
        sw += w[i];
        sx += w[i] * x[i];
    }
    mn = SEL(mn > 0, V8(0.0f), mn);
    v8f isc = (float)nmax / (mx - mn), sc = 1 / isc, best = V8(0.0f);
    for (int i = 0; i < n; i++) {
        v8f fl, d;
        CODE_OF(fl, isc * (x[i] - mn), nmax);
        Lb[i] = fl;
        d = sc * fl + mn - x[i];
        best += w[i] * ERR_OF(d, use_mad);
    }
    for (int is = 0; is <= nstep; is++) {
        v8f sl = V8(0.0f), sl2 = V8(0.0f), sxl = V8(0.0f), cur = V8(0.0f);
        isc = (rmin + rdelta * (float)is + (float)nmax) / (mx - mn);
        for (int i = 0; i < n; i++) {
            v8f fl;
            CODE_OF(fl, isc * (x[i] - mn), nmax);
            La[i] = fl;
            sl += w[i] * fl;
            sl2 += w[i] * fl * fl;
            sxl += w[i] * fl * x[i];
        }
        v8f D = sw * sl2 - sl * sl;
        v8f s = (sw * sxl - sx * sl) / D, m = (sl2 * sx - sl * sxl) / D, s0 = sxl / sl2;
        v8i pos = m > 0;
        v8f ts = SEL(pos, s0, s), tm = SEL(pos, V8(0.0f), m);
        for (int i = 0; i < n; i++) {
            v8f d = ts * La[i] + tm - x[i];
            cur += w[i] * ERR_OF(d, use_mad);
        }
        v8i ok = (D > 0) & (cur < best);
        best = SEL(ok, cur, best);
        sc = SEL(ok, ts, sc);
        mn = SEL(ok, tm, mn);
        int any = 0;
        for (int c = 0; c < QK_LANES; c++) any |= ok[c];
        if (any)
            for (int i = 0; i < n; i++) Lb[i] = SEL(ok, La[i], Lb[i]);
    }
    memcpy(scale_out, &sc, sizeof sc);
    v8f nm = -mn;
    memcpy(neg_min, &nm, sizeof nm);
    for (int i = 0; i < n; i++) {
        v8i l = __builtin_convertvector(Lb[i], v8i);
        for (int c = 0; c < QK_LANES; c++) Lt[i * QK_LANES + c] = (uint8_t)l[c];
    }
}
#else
TQ_CLONES
static void qkx2_lanes(int n, int nmax, const float *xt, const float *wt, uint8_t *Lt, float *scale_out,
                       float *neg_min, float rmin, float rdelta, int nstep, bool use_mad) {
    float mn[QK_LANES], mx[QK_LANES], sw[QK_LANES], sx[QK_LANES], sc[QK_LANES], best[QK_LANES];
    float La[32 * QK_LANES], Lb[32 * QK_LANES];
    for (int c = 0; c < QK_LANES; c++) {
        mn[c] = mx[c] = xt[c];
        sw[c] = wt[c];
        sx[c] = sw[c] * xt[c];
    }
    for (int i = 1; i < n; i++)
        for (int c = 0; c < QK_LANES; c++) {
            float x = xt[i * QK_LANES + c], w = wt[i * QK_LANES + c];
            mn[c] = x < mn[c] ? x : mn[c];
            mx[c] = x > mx[c] ? x : mx[c];
            sw[c] += w;
            sx[c] += w * x;
        }
    float isc[QK_LANES];
    for (int c = 0; c < QK_LANES; c++) {
        mn[c] = mn[c] > 0 ? 0 : mn[c];
        isc[c] = (float)nmax / (mx[c] - mn[c]);
        sc[c] = 1 / isc[c];
        best[c] = 0;
    }
    for (int i = 0; i < n; i++)
        for (int c = 0; c < QK_LANES; c++) {
            float x = xt[i * QK_LANES + c], v = isc[c] * (x - mn[c]) + 12582912.0f;
            int32_t b;
            memcpy(&b, &v, 4);
            int l = (b & 0x007fffff) - 0x00400000;
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            float fl = (float)l, diff = sc[c] * fl + mn[c] - x;
            diff = use_mad ? fabsf(diff) : diff * diff;
            Lb[i * QK_LANES + c] = fl;
            best[c] += wt[i * QK_LANES + c] * diff;
        }
    for (int is = 0; is <= nstep; is++) {
        float sl[QK_LANES], sl2[QK_LANES], sxl[QK_LANES], ts[QK_LANES], tm[QK_LANES], cur[QK_LANES], acc[QK_LANES];
        for (int c = 0; c < QK_LANES; c++) {
            isc[c] = (rmin + rdelta * (float)is + (float)nmax) / (mx[c] - mn[c]);
            sl[c] = sl2[c] = sxl[c] = cur[c] = 0;
        }
        for (int i = 0; i < n; i++)
            for (int c = 0; c < QK_LANES; c++) {
                float x = xt[i * QK_LANES + c], w = wt[i * QK_LANES + c], v = isc[c] * (x - mn[c]) + 12582912.0f;
                int32_t b;
                memcpy(&b, &v, 4);
                int l = (b & 0x007fffff) - 0x00400000;
                l = l < 0 ? 0 : l > nmax ? nmax : l;
                float fl = (float)l;
                La[i * QK_LANES + c] = fl;
                sl[c] += w * fl;
                sl2[c] += w * fl * fl;
                sxl[c] += w * fl * x;
            }
        for (int c = 0; c < QK_LANES; c++) {
            float D = sw[c] * sl2[c] - sl[c] * sl[c];
            float s = (sw[c] * sxl[c] - sx[c] * sl[c]) / D, m = (sl2[c] * sx[c] - sl[c] * sxl[c]) / D;
            float s0 = sxl[c] / sl2[c];
            ts[c] = m > 0 ? s0 : s;
            tm[c] = m > 0 ? 0.0f : m;
            sl[c] = D;   /* kept for the acceptance test */
        }
        for (int i = 0; i < n; i++)
            for (int c = 0; c < QK_LANES; c++) {
                float diff = ts[c] * La[i * QK_LANES + c] + tm[c] - xt[i * QK_LANES + c];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur[c] += wt[i * QK_LANES + c] * diff;
            }
        int any = 0;
        for (int c = 0; c < QK_LANES; c++) {
            int ok = sl[c] > 0 && cur[c] < best[c];
            best[c] = ok ? cur[c] : best[c];
            sc[c] = ok ? ts[c] : sc[c];
            mn[c] = ok ? tm[c] : mn[c];
            acc[c] = ok ? 1.0f : 0.0f;
            any |= ok;
        }
        if (any)
            for (int i = 0; i < n; i++)
                for (int c = 0; c < QK_LANES; c++)
                    Lb[i * QK_LANES + c] = acc[c] != 0 ? La[i * QK_LANES + c] : Lb[i * QK_LANES + c];
    }
    for (int c = 0; c < QK_LANES; c++) {
        scale_out[c] = sc[c];
        neg_min[c] = -mn[c];
    }
    for (int i = 0; i < n * QK_LANES; i++) Lt[i] = (uint8_t)Lb[i];
}
#endif

/* qkx2 of sub-blocks j0..j0+7 of length n (x + n*j), weights w[j*n + i]:
 * through the lanes, or one by one with the reference switch. */
static void qkx2_8(int n, int nmax, const float *x, const float *w, uint8_t *L, float *scales, float *neg_min,
                   float rmin, float rdelta, int nstep, bool use_mad) {
    if (use_reference) {
        for (int j = 0; j < QK_LANES; j++)
            scales[j] = qkx2_ref(n, nmax, x + n * j, w + n * j, L + n * j, &neg_min[j], rmin, rdelta, nstep, use_mad);
        return;
    }
    float xt[32 * QK_LANES], wt[32 * QK_LANES];
    uint8_t Lt[32 * QK_LANES];
    for (int j = 0; j < QK_LANES; j++)
        for (int i = 0; i < n; i++) {
            xt[i * QK_LANES + j] = x[n * j + i];
            wt[i * QK_LANES + j] = w[n * j + i];
        }
    qkx2_lanes(n, nmax, xt, wt, Lt, scales, neg_min, rmin, rdelta, nstep, use_mad);
    for (int j = 0; j < QK_LANES; j++) {
        const float *xs = x + n * j;
        float mn = xs[0], mx = xs[0];
        for (int i = 1; i < n; i++) {
            if (xs[i] < mn) mn = xs[i];
            if (xs[i] > mx) mx = xs[i];
        }
        if (mn > 0) mn = 0;
        if (mx == mn) {   /* the reference's early answer */
            scales[j] = 0.0f;
            neg_min[j] = -mn;
            memset(L + n * j, 0, (size_t)n);
            continue;
        }
        for (int i = 0; i < n; i++) L[n * j + i] = Lt[i * QK_LANES + j];
    }
}

/* qx's 18 candidates share max and are independent: all sums at once, then the
 * reference's sequence of comparisons, then the codes of the winner. */
#define QX_LANES 18
TQ_CLONES
static void qx_lanes(int n, int nmax, const float *x, float max, float *slx, float *sl2) {
    float isc[QX_LANES];
    for (int c = 0; c < QX_LANES; c++) {
        int is = c < 9 ? c - 9 : c - 8;
        isc[c] = -((float)nmax + 0.1f * (float)is) / max;
        slx[c] = sl2[c] = 0;
    }
    for (int i = 0; i < n; i++) {
        float xi = x[i], w = xi * xi, wx = w * xi;
        for (int c = 0; c < QX_LANES; c++) {
            float v = isc[c] * xi;
            v = v + 12582912.0f;
            int32_t b;
            memcpy(&b, &v, 4);
            int l = (b & 0x007fffff) - 0x00400000;
            l = l < -nmax ? -nmax : l;
            l = l > nmax - 1 ? nmax - 1 : l;
            float fl = (float)l;
            slx[c] += wx * fl;
            sl2[c] += w * fl * fl;
        }
    }
}

static float qx(int n, int nmax, const float *x, int8_t *L) {
    if (use_reference) return qx_ref(n, nmax, x, L);
    float max, slx, sl2;
    if (!first_pass(n, nmax, x, L, nmax, &max, &slx, &sl2)) return 0.0f;
    float scale = sl2 != 0 ? slx / sl2 : 0.0f, best = scale * slx, cx[QX_LANES], c2[QX_LANES];
    qx_lanes(n, nmax, x, max, cx, c2);
    int win = -1;
    for (int c = 0; c < QX_LANES; c++)
        if (c2[c] > 0 && cx[c] * cx[c] > best * c2[c]) {
            scale = cx[c] / c2[c];
            best = scale * cx[c];
            win = c;
        }
    if (win >= 0) {
        int is = win < 9 ? win - 9 : win - 8;
        float iscale = -((float)nmax + 0.1f * (float)is) / max;
        for (int i = 0; i < n; i++) L[i] = (int8_t)(nmax + clampi(tq_ggml_nearest_int(iscale * x[i]), -nmax, nmax - 1));
    }
    return scale;
}

/* Helper C (do_rmse). L[] = l + nmax. */
static float q3(int n, int nmax, const float *x, int8_t *L) {
    float max, slx, sl2;
    if (!first_pass(n, nmax, x, L, 0, &max, &slx, &sl2)) return 0.0f;
    for (int pass = 0; pass < 5; pass++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float s1 = slx - w * x[i] * (float)L[i];
            if (s1 > 0) {
                float s2 = sl2 - w * (float)L[i] * (float)L[i];
                int nl = clampi(tq_ggml_nearest_int(x[i] * s2 / s1), -nmax, nmax - 1);
                if (nl != L[i]) {
                    s1 += w * x[i] * (float)nl;
                    s2 += w * (float)nl * (float)nl;
                    if (s2 > 0 && s1 * s1 * sl2 > slx * slx * s2) {
                        L[i] = (int8_t)nl;
                        slx = s1;
                        sl2 = s2;
                        changed++;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return sl2 > 0 ? slx / sl2 : 0.0f;
}

/* 2-bit codes of 256 elements into 64 bytes (Q2_K / Q3_K order). */
static void pack2(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < TQ_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

void tq_ggml_q_q2_k(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 84) {
        uint8_t L[TQ_QK_K], *sc = p;
        float w[TQ_QK_K], scales[16], mins[16], max_scale = 0, max_min = 0;
        for (int l = 0; l < TQ_QK_K; l++) w[l] = fabsf(x[l]);
        for (int h = 0; h < 2; h++)
            qkx2_8(16, 3, x + 128 * h, w + 128 * h, L + 128 * h, scales + 8 * h, mins + 8 * h, -0.5f, 0.1f, 15, true);
        for (int j = 0; j < 16; j++) {
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float is = 15.0f / max_scale;
            for (int j = 0; j < 16; j++) sc[j] = (uint8_t)tq_ggml_nearest_int(is * scales[j]);
            tq_st16(p + 80, tq_ggml_fp16(max_scale / 15.0f));
        } else {
            memset(sc, 0, 16);
            tq_st16(p + 80, tq_ggml_fp16(0.0f));
        }
        if (max_min > 0) {
            float is = 15.0f / max_min;
            for (int j = 0; j < 16; j++) sc[j] = (uint8_t)(sc[j] | (unsigned)tq_ggml_nearest_int(is * mins[j]) << 4);
            tq_st16(p + 82, tq_ggml_fp16(max_min / 15.0f));
        } else {
            tq_st16(p + 82, tq_ggml_fp16(0.0f));
        }
        for (int j = 0; j < 16; j++) {
            float d = tq_ggml_f32(p + 80) * (float)(sc[j] & 15);
            if (d == 0) continue;
            float dm = tq_ggml_f32(p + 82) * (float)(sc[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)clampi(tq_ggml_nearest_int((x[16 * j + l] + dm) / d), 0, 3);
        }
        pack2(L, p + 16);
    }
}

void tq_ggml_q_q3_k(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 110) {
        int8_t L[TQ_QK_K];
        uint8_t *hmask = p, *qs = p + 32, *sc = p + 96, U[TQ_QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(sc, 0, 12);
        if (max_scale != 0) {
            float iscale = -32.0f / max_scale;
            for (int j = 0; j < 16; j++) {
                int l = clampi((int8_t)tq_ggml_nearest_int(iscale * scales[j]), -32, 31) + 32;
                if (j < 8) sc[j] = (uint8_t)(l & 15);
                else sc[j - 8] = (uint8_t)(sc[j - 8] | (l & 15) << 4);
                sc[8 + j % 4] = (uint8_t)(sc[8 + j % 4] | (l >> 4) << (2 * (j / 4)));
            }
            tq_st16(p + 108, tq_ggml_fp16(1 / iscale));
        } else {
            tq_st16(p + 108, tq_ggml_fp16(0.0f));
        }
        for (int j = 0; j < 16; j++) {
            float d = tq_ggml_f32(p + 108) * (float)tq_ggml_q3k_scale(j, sc);
            if (d == 0) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(tq_ggml_nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }
        memset(hmask, 0, 32);
        for (int e = 0; e < TQ_QK_K; e++) {
            int v = L[e];
            if (v > 3) { hmask[e % 32] = (uint8_t)(hmask[e % 32] | 1 << (e / 32)); v -= 4; }
            U[e] = (uint8_t)v;
        }
        pack2(U, qs);
    }
}

/* Q4_K (nmax 15) and Q5_K (nmax 31). */
static void quant_k45(const float *x, uint8_t *p, int nmax) {
    uint8_t L[TQ_QK_K];
    float w[TQ_QK_K], scales[8], mins[8], max_scale = 0, max_min = 0;
    bool five = nmax == 31;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[32 * j + l] = av + fabsf(xs[l]);
    }
    if (five) qkx2_8(32, 31, x, w, L, scales, mins, -0.5f, 0.1f, 15, false);
    else qkx2_8(32, 15, x, w, L, scales, mins, -1.0f, 0.1f, 20, false);
    for (int j = 0; j < 8; j++) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_s = max_scale > 0 ? 63.0f / max_scale : 0.0f, inv_m = max_min > 0 ? 63.0f / max_min : 0.0f;
    uint8_t *sc = p + 4;
    for (int j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)tq_ggml_nearest_int(inv_s * scales[j]), lm = (uint8_t)tq_ggml_nearest_int(inv_m * mins[j]);
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            sc[j] = ls;
            sc[j + 4] = lm;
        } else {
            sc[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
            sc[j - 4] = (uint8_t)(sc[j - 4] | (ls >> 4) << 6);
            sc[j] = (uint8_t)(sc[j] | (lm >> 4) << 6);
        }
    }
    tq_st16(p, tq_ggml_fp16(max_scale / 63.0f));
    tq_st16(p + 2, tq_ggml_fp16(max_min / 63.0f));
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        tq_ggml_k4_scale_min(j, sc, &s, &m);
        float d = tq_ggml_f32(p) * (float)s;
        if (d == 0) continue;
        float dm = tq_ggml_f32(p + 2) * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)clampi(tq_ggml_nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
    uint8_t *qh = five ? p + 16 : NULL, *qs = five ? p + 48 : p + 16;
    if (qh) memset(qh, 0, 32);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
            if (qh) {
                if (l1 > 15) { l1 -= 16; qh[l] = (uint8_t)(qh[l] | 1 << (2 * c)); }
                if (l2 > 15) { l2 -= 16; qh[l] = (uint8_t)(qh[l] | 1 << (2 * c + 1)); }
            }
            qs[32 * c + l] = (uint8_t)(l1 | l2 << 4);
        }
}

void tq_ggml_q_q4_k(const float *x, void *b, int64_t n) {
    for (int64_t i = 0; i < n / TQ_QK_K; i++) quant_k45(x + TQ_QK_K * i, (uint8_t *)b + 144 * i, 15);
}
void tq_ggml_q_q5_k(const float *x, void *b, int64_t n) {
    for (int64_t i = 0; i < n / TQ_QK_K; i++) quant_k45(x + TQ_QK_K * i, (uint8_t *)b + 176 * i, 31);
}

void tq_ggml_q_q6_k(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 210) {
        int8_t L[TQ_QK_K];
        float scales[16], max_scale = 0, max_abs = 0;
        for (int k = 0; k < 16; k++) {
            scales[k] = qx(16, 32, x + 16 * k, L + 16 * k);
            if (fabsf(scales[k]) > max_abs) { max_abs = fabsf(scales[k]); max_scale = scales[k]; }
        }
        if (max_abs < GROUP_MAX_EPS) {
            memset(p, 0, 210);
            continue;
        }
        float iscale = -128.0f / max_scale;
        tq_st16(p + 208, tq_ggml_fp16(1 / iscale));
        int8_t *sc = (int8_t *)(p + 192);
        for (int k = 0; k < 16; k++) {
            int s = tq_ggml_nearest_int(iscale * scales[k]);
            sc[k] = (int8_t)(s > 127 ? 127 : s);
        }
        for (int k = 0; k < 16; k++) {
            float d = tq_ggml_f32(p + 208) * (float)sc[k];
            if (d == 0) continue;
            for (int l = 0; l < 16; l++)
                L[16 * k + l] = (int8_t)(clampi(tq_ggml_nearest_int(x[16 * k + l] / d), -32, 31) + 32);
        }
        uint8_t *ql = p, *qh = p + 128;
        for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
            const int8_t *Lh = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = Lh[l], q2 = Lh[l + 32], q3v = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 15) | (q3v & 15) << 4);
                ql[l + 32] = (uint8_t)((q2 & 15) | (q4 & 15) << 4);
                qh[l] = (uint8_t)(q1 >> 4 | (q2 >> 4) << 2 | (q3v >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

void tq_ggml_q_q8_k(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 292) {
        float amax, max = signed_max(x, TQ_QK_K, &amax);
        if (amax == 0) {
            memset(p, 0, 292);   /* ggml leaves bsums unset; trueq writes zeros */
            continue;
        }
        float iscale = -127.0f / max, d = 1 / iscale;
        uint32_t u;
        memcpy(&u, &d, 4);
        tq_st32(p, u);
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) {
                int v = tq_ggml_nearest_int(iscale * x[16 * k + l]);
                if (v > 127) v = 127;
                p[4 + 16 * k + l] = (uint8_t)(int8_t)v;
                sum += v;
            }
            tq_st16(p + 260 + 2 * k, (uint16_t)(int16_t)sum);
        }
    }
}
