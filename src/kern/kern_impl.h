/*
 * kern_impl.h — what kern.c shares with the per-ISA kernel files (internal
 * to src/kern/): quantized activations and the product signature.
 */
#ifndef TQ_KERN_IMPL_H
#define TQ_KERN_IMPL_H
#include "kern/kern_types.h"
#include <stdint.h>

typedef void (*tq_kern_fn)(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);

/* The rows' products, one per (kind, ISA) file. */
void tq_kern_i8_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_portable(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_i8_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q8_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_q4_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);
void tq_kern_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc);

/* Columns [c0, c1) of group g of an I8 matrix, in 4-byte steps of the
 * packed rows: [*k0, *k1). */
static inline void tq_kern_group_k4(const tq_kmat *k, int64_t g, int64_t *k0, int64_t *k1) {
    int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
    *k0 = c0 / 4;
    *k1 = (c1 + 3) / 4;
}
#endif
