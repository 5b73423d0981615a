/*
 * kern_neon.c — AArch64 NEON kernels (Advanced SIMD is part of every AArch64
 * CPU; kern.c runs them there). Compiled to nothing elsewhere.
 *
 * int8 x int8 products: vmull_s8 (each product fits 16 bits: 127 * 127),
 * pairwise added into int32 lanes (vpadalq_s16): the exact integer sums of
 * the portable path, then its float steps in its order, so I8, Q8_0 and Q4_0
 * give the portable path's bytes.
 */
#include "kern/kern_impl.h"
#if defined(__aarch64__)
#include "ggml/ggml_kernels.h"
#include <arm_neon.h>

static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

void tq_kern_i8_neon(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    for (int64_t i = 0; i < a->n; i++) {
        const int8_t *xq = a->q + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const int8_t *w = (const int8_t *)k->codes + r * k->row_bytes;
            const float *s = k->scale + r * k->sstride;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols, c = c0;
                int32x4_t v = vdupq_n_s32(0);
                for (; c + 16 <= c1; c += 16) v = dot16(v, vld1q_s8(w + c), vld1q_s8(xq + c));
                int32_t d = vaddvq_s32(v);
                for (; c < c1; c++) d += (int32_t)xq[c] * w[c];
                sum += (float)d * (a->d[i] * s[g]);
            }
            y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;
        }
    }
}

/* Q8_0 / Q4_0: one block's int32 sum, then the portable float step. */
#define NEON_ROWS(NAME, BYTES, CODES)                                                                          \
    void NAME(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {    \
        int64_t nb = k->cols / 32;                                                                            \
        for (int64_t r = r0; r < r1; r++) {                                                                   \
            const uint8_t *w = k->codes + r * k->row_bytes;                                                   \
            for (int64_t i = 0; i < a->n; i++) {                                                              \
                const int8_t *xq = a->q + i * a->kpad;                                                        \
                const float *dx = a->d + i * a->nb;                                                           \
                float sum = 0.0f;                                                                             \
                for (int64_t b = 0; b < nb; b++) {                                                            \
                    const uint8_t *blk = w + b * BYTES;                                                       \
                    int8x16_t w0, w1;                                                                         \
                    CODES(blk + 2, w0, w1);                                                                   \
                    int32x4_t v = dot16(dot16(vdupq_n_s32(0), w0, vld1q_s8(xq + b * 32)), w1,                 \
                                        vld1q_s8(xq + b * 32 + 16));                                          \
                    sum += (float)vaddvq_s32(v) * (tq_ggml_f32(blk) * dx[b]);                                 \
                }                                                                                             \
                y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;                                            \
            }                                                                                                 \
        }                                                                                                     \
    }

#define Q8_CODES(p, w0, w1) (w0 = vld1q_s8((const int8_t *)(p)), w1 = vld1q_s8((const int8_t *)(p) + 16))
#define Q4_CODES(p, w0, w1)                                                                      \
    do {                                                                                         \
        uint8x16_t v_ = vld1q_u8(p);                                                             \
        w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v_, vdupq_n_u8(15))), vdupq_n_s8(8));         \
        w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v_, 4)), vdupq_n_s8(8));                    \
    } while (0)
NEON_ROWS(tq_kern_q8_0_neon, 34, Q8_CODES)
NEON_ROWS(tq_kern_q4_0_neon, 18, Q4_CODES)
#endif
