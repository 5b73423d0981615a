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
    TQ_KISA_COUNT
} tq_kisa;

typedef enum tq_kwkind { TQ_KW_I8 = 0, TQ_KW_Q8_0, TQ_KW_Q4_0, TQ_KW_COUNT } tq_kwkind;

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
    const float   *scale;     /* I8: scales (borrowed)                        */
    int64_t        sstride;   /* I8: scales per row (0: one for the tensor)   */
    int64_t        glen;      /* I8: columns per scale                        */
    int64_t        ngroups;   /* I8: scales along a row                       */
    int64_t        k4;        /* I8 packed: ceil(cols / 4)                    */
    int8_t        *packed;    /* I8 packed rows (vector paths), or NULL       */
    float         *pscale;    /* [row block][group][KROWS] scales, or NULL    */
    int32_t       *psum;      /* [row block][group][KROWS] code sums (VNNI)   */
    const void    *fn;        /* the product of the row (kern.c)              */
} tq_kmat;

/* Activations quantized for products: up to cap rows of kpad bytes (the
 * widest cols rounded up to 64, zero padded), in the format of the kernel
 * row they were made for (fmt). */
typedef struct tq_kact {
    int64_t  n, cols, kpad, cap;
    int      fmt;  /* per-row or per-32 scales, |q| or q + 128 (kern.c)       */
    int8_t  *q;    /* [n][kpad] int8 codes                                   */
    uint8_t *qa;   /* [n][kpad] |q|, or q + 128 for the VNNI offset trick    */
    float   *d;    /* per row: [n] scales; per 32: [n][nb]                   */
    int64_t  nb;   /* scales per row                                         */
} tq_kact;

#endif
