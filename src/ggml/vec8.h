/*
 * vec8.h — the 8-lane GCC/clang vector extensions the fast encoders
 * (legacy_fast.c, kquants_quant.c) are written in: v8f / v8i, compares give
 * 0 / -1 lane masks, SEL / SELI choose per lane. Each lane performs IEEE
 * float32 operations exactly as the scalar code would (the two files are
 * built with -ffp-contract=off: no FMA), so a lane's result is the
 * reference's bit for bit. TQ_VEC8 is defined where the extensions exist;
 * elsewhere the files keep their portable loops.
 */
#ifndef TQ_GGML_VEC8_H
#define TQ_GGML_VEC8_H
#include <stdint.h>

#if defined(__GNUC__)
#define TQ_VEC8 1
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int8_t v8c __attribute__((vector_size(8)));
#define SEL(m, a, b) ((v8f)(((m) & (v8i)(a)) | (~(m) & (v8i)(b))))
#define SELI(m, a, b) (((m) & (a)) | (~(m) & (b)))
#define V8(c) ((v8f){c, c, c, c, c, c, c, c})
#define V8I(c) ((v8i){c, c, c, c, c, c, c, c})
#endif

/* target_clones for the vector loops (x86-64 with GCC/clang): AVX-512 / AVX2
 * / baseline, picked at run time; none under ASan or with TQ_NO_CLONES. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(TQ_NO_CLONES)
#define TQ_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TQ_VEC_CLONES
#endif
#endif
