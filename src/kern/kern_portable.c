/*
 * kern_portable.c — the portable C kernels: the reference every vector path
 * is tested against (kern.h for the arithmetic each kind promises).
 */
#include "kern/kern_impl.h"
#include "ggml/ggml_kernels.h"

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

/* Q8_0 / Q4_0: int32 sum per block of 32, acc += (float)sum * (dw * dx). */
void tq_kern_q8_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            const float *dx = a->d + i * a->nb;
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = w + b * 34;
                const int8_t *qs = (const int8_t *)(blk + 2);
                int32_t d = 0;
                for (int j = 0; j < 32; j++) d += (int32_t)qs[j] * xq[b * 32 + j];
                sum += (float)d * (tq_ggml_f32(blk) * dx[b]);
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

void tq_kern_q4_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            const float *dx = a->d + i * a->nb;
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = w + b * 18, *qs = blk + 2;
                const int8_t *xb = xq + b * 32;
                int32_t d = 0;
                for (int j = 0; j < 16; j++)
                    d += ((int32_t)(qs[j] & 15) - 8) * xb[j] + ((int32_t)(qs[j] >> 4) - 8) * xb[j + 16];
                sum += (float)d * (tq_ggml_f32(blk) * dx[b]);
            }
            put(y + i * ldy + r, acc, sum);
        }
    }
}

/* Q4_1: w = d u + m per block of 32 (u in [0, 15]): int32 sums A = sum u q_x
 * and X = sum q_x, acc += (float)A * (d dx) + (float)X * (m dx). */
void tq_kern_q4_1_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            const float *dx = a->d + i * a->nb;
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = w + b * 20, *qs = blk + 4;
                const int8_t *xb = xq + b * 32;
                int32_t A = 0, X = 0;
                for (int j = 0; j < 16; j++) {
                    A += (int32_t)(qs[j] & 15) * xb[j] + (int32_t)(qs[j] >> 4) * xb[j + 16];
                    X += xb[j] + xb[j + 16];
                }
                sum += (float)A * (tq_ggml_f32(blk) * dx[b]) + (float)X * (tq_ggml_f32(blk + 2) * dx[b]);
            }
            put(y + i * ldy + r, acc, sum);
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
    int bf = k->kind == TQ_KW_BF16;
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
