/*
 * kern_types.h — the types the kernel table and the per-ISA files share
 * (internal; the functions are in kern.h).
 */
#ifndef TQ_KERN_TYPES_H
#define TQ_KERN_TYPES_H
#include "trueq.h"
#include <stdint.h>

typedef enum tq_kisa {
    TQ_KISA_PORTABLE = 0,
    TQ_KISA_AVX2     = 1,   /* x86-64 AVX2 + FMA + F16C                 */
    TQ_KISA_AVX512   = 2,   /* AVX-512 F/BW/VL + VNNI                   */
    TQ_KISA_NEON     = 3,   /* AArch64 Advanced SIMD (every AArch64 CPU) */
    TQ_KISA_COUNT
} tq_kisa;

typedef enum tq_kwkind {
    TQ_KW_I8 = 0, /* linear-sym 8-bit                                     */
    TQ_KW_Q8_0,   /* ggml Q8_0                                            */
    TQ_KW_Q4_0,   /* ggml Q4_0                                            */
    TQ_KW_Q4_1,   /* ggml Q4_1                                            */
    TQ_KW_L4,     /* linear-sym 4-bit: u = q + 8, two codes a byte        */
    TQ_KW_A4,     /* linear-affine 4-bit: (u - z) s                       */
    TQ_KW_A8,     /* linear-affine 8-bit                                  */
    TQ_KW_M4,     /* MLX affine 4-bit: s u + bias                         */
    TQ_KW_M8,     /* MLX affine 8-bit                                     */
    TQ_KW_NF4,    /* NF4: code book value times absmax                    */
    TQ_KW_Q4_K,   /* ggml Q4_K (super-blocks of 256)                      */
    TQ_KW_Q5_K,   /* ggml Q5_K                                            */
    TQ_KW_Q6_K,   /* ggml Q6_K                                            */
    TQ_KW_F16,    /* stored float16 (tq_kern_prepare_half)                */
    TQ_KW_BF16,   /* stored bfloat16 (tq_kern_prepare_half)               */
    TQ_KW_Q5_0,   /* ggml Q5_0                                            */
    TQ_KW_Q5_1,   /* ggml Q5_1                                            */
    TQ_KW_F16R,   /* F16 against activations rounded to float16 (ggml)    */
    TQ_KW_BF16R,  /* BF16 against activations rounded to bfloat16 (ggml)  */
    TQ_KW_COUNT
} tq_kwkind;

/* Rows of I8 weights are packed for the vector paths in blocks of KROWS
 * rows: [row block][cols / 4][KROWS][4] bytes, zero padded. */
#define TQ_KROWS 16

/** Weights prepared for a kernel (owned by whoever prepared them). */
typedef struct tq_kmat {
    tq_kwkind      kind;
    tq_kisa        isa;       /* the row that runs it                         */
    int64_t        rows, cols;
    const uint8_t *codes;     /* the stored codes (borrowed)                  */
    int64_t        row_bytes; /* bytes per stored row                         */
    const float   *scale;     /* grouped kinds: scales (borrowed)             */
    const uint8_t *zero;      /* A4/A8: zero points, the scales' shape        */
    const float   *bias;      /* M4/M8: biases, the scales' shape             */
    int64_t        sstride;   /* grouped: scales per row (0: one per tensor)  */
    int64_t        glen;      /* grouped: columns per scale                   */
    int64_t        ngroups;   /* grouped: scales along a row                  */
    int            bits;      /* grouped: code width (4 or 8)                 */
    float          lut[16];   /* NF4: the code book (from the codec)          */
    int64_t        k4;        /* I8 packed: ceil(cols / 4)                    */
    int8_t        *packed;    /* I8 packed rows (vector paths), or NULL       */
    float         *pscale;    /* [row block][group][KROWS] scales, or NULL    */
    int32_t       *psum;      /* [row block][group][KROWS] code sums (VNNI)   */
    const void    *fn;        /* the product of the row (kern.c)              */
    int            amx;       /* I8 at AVX-512: AMX runs products of          */
                              /* >= TQ_AMX_MIN_N tokens (set at prepare, when */
                              /* TRUEQ_ISA is read: tq_gemm_i8_amx_on)        */
} tq_kmat;

/* Activations quantized for products: up to cap rows of kpad bytes (the
 * widest cols rounded up to 64, zero padded), in the format of the kernel
 * row they were made for (fmt). */
typedef struct tq_kact {
    int64_t  n, cols, kpad, cap;
    int      fmt;  /* per-row or per-32 scales, |q| or q + 128, or float32
                      copies (kern.c)                                          */
    int8_t  *q;    /* [n][kpad] int8 codes                                   */
    uint8_t *qa;   /* [n][kpad] |q|, or q + 128 for the VNNI offset trick    */
    float   *d;    /* per row: [n] scales; per 32: [n][nb]; float32
                      activations: [n][kpad] values, zero padded (nb = kpad)  */
    int64_t  nb;   /* scales per row                                         */
    int      vec;  /* per-row int8 rows quantized by vector code, the same
                      bytes as the portable code (kern.c): 1 AVX-512, 2 AVX2;
                      0 the C code                                           */
    int      noq;  /* 1: the AVX-512 fill leaves q unwritten (only the
                      AVX-512 I8 products, which read qa alone, fit a:
                      tq_kact_skip_q); 0 (tq_kact_begin) q written          */
} tq_kact;

#endif
