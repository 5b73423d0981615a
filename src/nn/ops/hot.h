/*
 * hot.h — the compile settings of the element-wise vector loops in
 * src/nn/ops (act.c, softmax.c). Include it first in such a file, after the
 * system headers: the pragmas apply to the rest of the including file.
 *
 * gcc vectorizes branch-free selects only at -O3 and without -ftrapping-math
 * (which concerns FP exception traps, never values); clang already does at
 * -O2. No value-changing flag is used: clang's avx512f implies FMA, so
 * contraction is off and a * b + c keeps two roundings in every clone.
 * TQ_HOT clones a function for AVX-512, AVX2 and the baseline, chosen at run time.
 */
#ifndef TQ_NN_OPS_HOT_H
#define TQ_NN_OPS_HOT_H

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#if defined(__x86_64__)
#define TQ_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TQ_HOT
#endif

#endif
