/*
 * kern_portable.c — the portable C kernels: the reference every vector path
 * is tested against (kern.h for the arithmetic each kind promises).
 */
#include "kern/kern_impl.h"
#include "ggml/ggml_kernels.h"
#include "kern/kern_ggml_exact.h"

static void put(float *y, int acc, float v) { *y = acc ? *y + v : v; }

/* I8: int32 sum per group, then acc += (float)sum * (dx * dw) in group order. */
void tq_kern_i8_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    for (int64_t i = 0; i < a->n; i++) {
        const int8_t *xq = a->q + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const int8_t *w = (const int8_t *)k->codes + r * k->row_bytes;
            const float *s = k->scale + r * k->sstride;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
                int32_t d = 0;
                for (int64_t c = c0; c < c1; c++) d += (int32_t)xq[c] * w[c];
                sum += (float)d * (a->d[i] * s[g]);
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* Q8_0 / Q4_0: ggml's own float order (kern_ggml_exact.h): Q8_0 and Q4_0
 * with rows not a multiple of 8 as ggml's 8-lane vec_dot, Q4_0 otherwise as
 * its repacked Q4_0x8 product. */
void tq_kern_q8_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < a->n; i++)
            put(y + i * ldy + r, acc, tq_gx_q8_0(k->codes + r * k->row_bytes, a->q + i * a->kpad, a->d + i * a->nb, nb));
}

void tq_kern_q4_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    float (*dot)(const uint8_t *, const int8_t *, const float *, int64_t) = k->rows % 8 ? tq_gx_q4_0 : tq_gx_q4_0_rep;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < a->n; i++)
            put(y + i * ldy + r, acc, dot(k->codes + r * k->row_bytes, a->q + i * a->kpad, a->d + i * a->nb, nb));
}

/* Q4_1 (20-byte blocks: d, m, 16 bytes of nibbles; w = d u + m), Q5_0 (22
 * bytes: d, 32 high bits, nibbles; w = d (u - 16)) and Q5_1 (24 bytes: d, m,
 * high bits, nibbles; w = d u + m), u = nibble | high bit << 4. Q5_0 meets
 * Q8_0 activations, the two with a min Q8_1 ones (kern.c: codes, scales dx,
 * then the float16 sums s_x): the int32 sum A = sum u q_x, acc += (float)A
 * * (d dx) per block, and the mins sum m s_x added after them (ggml's order
 * of the two). */
void tq_kern_q51_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int five = k->kind != TQ_KW_Q4_1, min = k->kind != TQ_KW_Q5_0;
    const int bs = 18 + 2 * min + 4 * five, off = min ? 0 : 16;
    int64_t nb = k->cols / 32;
    if (k->kind == TQ_KW_Q5_0) {   /* ggml's 8-lane vec_dot order (kern_ggml_exact.h) */
        for (int64_t r = r0; r < r1; r++)
            for (int64_t i = 0; i < a->n; i++)
                put(y + i * ldy + r, acc, tq_gx_q5_0(k->codes + r * k->row_bytes, a->q + i * a->kpad, a->d + i * a->nb, nb));
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            const float *dx = a->d + i * a->nb, *sx = dx + nb;
            float sum = 0.0f, mins = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = w + b * bs, *h = blk + 2 + 2 * min, *qs = h + 4 * five;
                uint32_t qh = five ? (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24 : 0;
                const int8_t *xb = xq + b * 32;
                int32_t A = 0;
                for (int j = 0; j < 16; j++)
                    A += ((int32_t)((qs[j] & 15) | ((qh >> j) & 1) << 4) - off) * xb[j] +
                         ((int32_t)((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - off) * xb[j + 16];
                sum += (float)A * (tq_ggml_f32(blk) * dx[b]);
                if (min) mins += tq_ggml_f32(blk + 2) * sx[b];
            }
            put(y + i * ldy + r, acc, sum + mins);
        }
    }
}

/* L4/A4/A8/M4/M8: exact int32 sums per group, combined by tq_kern_lin_group
 * in group order. */
void tq_kern_lin_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    for (int64_t i = 0; i < a->n; i++) {
        const int8_t *xq = a->q + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
                int32_t A = 0, X = 0;
                for (int64_t c = c0; c < c1; c++) {
                    A += tq_kern_code(w, c, k->bits) * (int32_t)xq[c];
                    X += xq[c];
                }
                sum += tq_kern_lin_group(k, r, g, A, X, a->d[i]);
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* NF4 against float32 activations: per group t = sum lut[u] x in column
 * order, acc += t * absmax. */
void tq_kern_nf4_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    for (int64_t i = 0; i < a->n; i++) {
        const float *x = a->d + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
                float t = 0.0f;
                for (int64_t c = c0; c < c1; c++) t += k->lut[tq_kern_code(w, c, 4)] * x[c];
                sum += t * k->scale[r * k->sstride + g];
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* F16/BF16 against float32 activations: the exact widened weights, summed in
 * column order. */
void tq_kern_half_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int bf = k->kind == TQ_KW_BF16 || k->kind == TQ_KW_BF16R;
    for (int64_t i = 0; i < a->n; i++) {
        const float *x = a->d + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            float sum = 0.0f;
            for (int64_t c = 0; c < k->cols; c++) {
                uint16_t h = tq_ld16(w + 2 * c);
                sum += (bf ? tq_bf16_to_f32(h) : tq_f16_to_f32(h)) * x[c];
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* Q4_K / Q5_K against Q8_K-style activations (int8, one scale per 256):
 * per sub-block j of 32 (6-bit scale sc_j, min m_j), S += sc_j sum u q_x and
 * M += m_j sum q_x, then tq_kern_kq per super-block, in block order. */
void tq_kern_k45_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int q5 = k->kind == TQ_KW_Q5_K;
    int64_t nb = k->cols / 256, bs = q5 ? 176 : 144;
    if (!q5 && k->rows % 8 == 0) {   /* ggml's repacked Q4_Kx8 order (kern_ggml_exact.h) */
        for (int64_t r = r0; r < r1; r++)
            for (int64_t i = 0; i < a->n; i++)
                put(y + i * ldy + r, acc, tq_gx_q4_k_rep(k->codes + r * k->row_bytes, a->q + i * a->kpad, a->d + i * a->nb, nb));
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *p = w + b * bs;
                int32_t S, M;
                tq_gx_k45_sums(p, q5, xq + b * 256, &S, &M);
                sum += tq_kern_kq(S, M, tq_ggml_f32(p), tq_ggml_f32(p + 2), a->d[i * a->nb + b]);
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* Q6_K: ggml's 8-lane vec_dot order (kern_ggml_exact.h). */
void tq_kern_q6_k_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 256;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < a->n; i++)
            put(y + i * ldy + r, acc, tq_gx_q6_k(k->codes + r * k->row_bytes, a->q + i * a->kpad, a->d + i * a->nb, nb));
}
