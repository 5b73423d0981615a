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
typedef int8_t v32c __attribute__((vector_size(32)));
/* The low byte of each lane (values 0..255) as 8 bytes: a byte shuffle where
 * the compiler has one (gcc >= 12, clang); lane by lane otherwise (gcc turns
 * __builtin_convertvector to v8c into eight extractions). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define TQ_VEC8_SHUFFLE 1
#define TQ_LOW_BYTES(v) ((v8c)__builtin_shufflevector((v32c)(v), (v32c)(v), 0, 4, 8, 12, 16, 20, 24, 28))
#endif
#endif
#ifndef TQ_LOW_BYTES
#define TQ_LOW_BYTES(v) __builtin_convertvector((v), v8c)
#endif
#endif

/* helpers called from the clones: inlined, so they run in the clone's ISA */
#if defined(__GNUC__)
#define TQ_VEC_INLINE static inline __attribute__((always_inline))
#else
#define TQ_VEC_INLINE static inline
#endif

/* target_clones for the vector loops (x86-64 with GCC/clang): AVX-512 / AVX2
 * / baseline, picked at run time; none under ASan or with TQ_NO_CLONES. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(TQ_NO_CLONES)
#define TQ_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TQ_VEC_CLONES
#endif
#endif
