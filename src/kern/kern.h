/*
 * kern.h — products of activations with weights in their stored form
 * (internal): int8 and 4-bit codes multiplied without expanding them to
 * float, activations quantized on the fly per row.
 *
 * THE KERNEL TABLE (kern.c) has one row per (weight kind, ISA): a prepare
 * step (repacking done once, when a matrix is kept) and a product. The ISA
 * is chosen at run time from the CPU (cpuid through __builtin_cpu_supports);
 * TRUEQ_ISA=portable|avx2|avx512|neon forces one (a forced ISA the CPU lacks
 * falls back to the best it has), TRUEQ_ISA=decode turns the kernels off
 * (stored codes decoded to float tiles and multiplied by sgemm, the bytes of
 * the float32 path). Every ISA file is compiled with target attributes, so
 * one binary runs anywhere.
 *
 * Weight kinds and the activations they meet (docs/kernels.md):
 *   I8    linear-sym 8-bit, one float scale per tensor, row or group:
 *         activations as int8 with one scale per row (max |x| / 127, as
 *         PyTorch's dynamic quantization); int32 sums per group, combined in
 *         float in group order. Every ISA gives the portable path's bytes.
 *   ggml types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K): the
 *         activations ggml pairs with each (Q8_0, Q8_1 or Q8_K blocks, as
 *         ggml quantizes them: kern.c's quantize_row); block sums combined
 *         in float (the vector paths of the 32-blocks in another order than
 *         the portable one: within a few ulps, tested against it).
 *   F16/BF16  float32 activations, or (tq_kern_prepare_half's ggml) rounded
 *         to float16/bfloat16 first as ggml does.
 *
 * Results never depend on a thread count: a product of rows [r0, r1) gives
 * every row the bytes it gets in any other split.
 */
#ifndef TQ_KERN_KERN_H
#define TQ_KERN_KERN_H
#include "trueq.h"
#include "kern/kern_types.h"
#include <stdint.h>

/** The ISA products run with now: the best the CPU has, or TRUEQ_ISA's;
 *  *off set to 1 when TRUEQ_ISA=decode turns the kernels off. */
tq_kisa     tq_kern_isa(int *off);
/** "portable", "avx2", "avx512". */
const char *tq_kern_isa_name(tq_kisa isa);
/** 1 when this CPU runs isa. */
int         tq_kern_isa_supported(tq_kisa isa);
/** One line naming the ISA chosen and why (for --version and --verbose). */
const char *tq_kern_describe(void);

/**
 * Prepare a [rows, cols] quantized matrix (codec parameters q, stored codes
 * and side tensors, borrowed: they must outlive k) for the kernels of isa.
 * @return 1 prepared; 0 when no kernel multiplies this codec/layout (the
 * caller decodes tiles instead); -1 out of memory.
 */
int  tq_kern_prepare(tq_kmat *k, const tq_qparams *q, int64_t rows, int64_t cols, const void *codes,
                     const void *const *aux, tq_kisa isa);
/** The same for a stored float16 / bfloat16 [rows, cols] matrix (dt
 *  TQ_DTYPE_F16 or TQ_DTYPE_BF16; codes little-endian, borrowed): float32
 *  activations, or with ggml 1 activations rounded to the weights' type
 *  first, as ggml multiplies a GGUF file's F16/BF16 matrices.
 *  @return 1 prepared; 0 another dtype; -1 out of memory. */
int  tq_kern_prepare_half(tq_kmat *k, tq_dtype dt, int64_t rows, int64_t cols, const void *codes, tq_kisa isa,
                          int ggml);
void tq_kern_release(tq_kmat *k);
/** Bytes k holds besides the borrowed codes: the repacked copy of the vector
 *  paths (I8: packed rows, scales and code sums), 0 for kinds that read the
 *  stored codes as they are. Counted in the weights' memory figures. */
uint64_t tq_kern_bytes(const tq_kmat *k);

/** Buffers for cap rows of up to cols activations in k's format.
 *  @return TQ_OK or TQ_E_NOMEM (a stays freeable). */
tq_status tq_kact_init(tq_kact *a, const tq_kmat *k, int64_t cap, int64_t cols);
/** 1 when a (quantized for k->cols columns) is in the format k's row reads. */
int       tq_kact_fits(const tq_kact *a, const tq_kmat *k);
/** 1 when a's buffers can hold k's activations (its format, k->cols within). */
int       tq_kact_holds(const tq_kact *a, const tq_kmat *k);
/** Start quantizing n rows of cols activations (cols at most init's; n at
 *  most cap): the rows are then filled by tq_kact_rows, from any threads. */
void      tq_kact_begin(tq_kact *a, int64_t n, int64_t cols);
/** Rows [i0, i1) of x (row i at x + i * ldx) into a; rows are independent. */
void      tq_kact_rows(tq_kact *a, const float *x, int64_t ldx, int64_t i0, int64_t i1);
/** Row i of a from x (its a->cols values) with bits, the row's largest
 *  |x| as the quantizer takes it: the maximum over the row of the float
 *  bits with the sign bit cleared, compared as unsigned integers (a NaN
 *  above every number). The bytes of tq_kact_rows, which finds bits
 *  itself; the AVX-512 fill skips that pass, the others ignore bits. */
void      tq_kact_row_max(tq_kact *a, const float *x, int64_t i, uint32_t bits);
/** After tq_kact_begin: the rows filled next leave a->q unwritten where the
 *  AVX-512 fill runs (a->vec 1; elsewhere nothing changes), halving the
 *  bytes stored. a then fits (tq_kact_fits) only the products that read
 *  qa alone (tq_kact_qa_only); the next tq_kact_begin undoes it. */
void      tq_kact_skip_q(tq_kact *a);
/** 1 when k's product reads only a's qa: the AVX-512 I8 row with one scale
 *  per row or per tensor (VNNI and AMX, gemm_i8_avx512.h). */
int       tq_kact_qa_only(const tq_kmat *k);
void      tq_kact_free(tq_kact *a);
/** Rows [i0, i1) of a (quantized, i1 <= a->n) as a view borrowing a's
 *  buffers: a product over it gives those rows' bytes of a product over a. */
static inline tq_kact tq_kact_view(const tq_kact *a, int64_t i0, int64_t i1) {
    tq_kact v = *a;
    v.n = i1 - i0;
    v.q += i0 * a->kpad;
    v.qa += i0 * a->kpad;
    v.d += i0 * a->nb;
    return v;
}
/** The product over activations already quantized (tq_kact_fits). */
void      tq_kern_matmul_act(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy,
                             int accumulate);

/**
 * y[i * ldy + r] (= or, with accumulate, +=) sum_c x[i * ldx + c] W[r, c] for
 * i < n and r in [r0, r1), activations quantized per row first.
 * @return TQ_OK; TQ_E_NOMEM (activation buffers) with nothing written.
 */
tq_status tq_kern_matmul(const tq_kmat *k, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                         int64_t ldy, int accumulate);

/* Float32 matrix x matrix over weights packed once (gemm_f32_avx512.c). */
/** Repack a float32 [rows, cols] matrix in place into [rows / 16][cols][16].
 *  @return 0; -1 when rows is not a multiple of 16 or out of memory (w as
 *  it was). */
int  tq_gemm_f32_pack(float *w, int64_t rows, int64_t cols);
/** The inverse of tq_gemm_f32_pack: back to row-major [rows, cols] in place.
 *  @return 0; -1 when rows is not a multiple of 16 or out of memory (w as it was). */
int  tq_gemm_f32_unpack(float *w, int64_t rows, int64_t cols);
/** 1 when this CPU runs tq_gemm_f32 (AVX-512 F + FMA, or AVX2 + FMA: the same bytes). */
int  tq_gemm_f32_supported(void);
/** y[i * ldy + r] += sum_k x[i * ldx + k] W[r, k] for i < n, r in [r0, r1)
 *  (multiples of 16), W packed by tq_gemm_f32_pack with K columns: one FMA
 *  chain per output in k order, then one add onto y: the same bytes for any
 *  split of tokens or rows. */
void tq_gemm_f32(const float *wp, int64_t K, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                 int64_t ldy);
#endif
