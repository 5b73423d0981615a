/*
 * spectral_gen.h — the deterministic matrix/sample generator shared (by
 * definition, not by code) with tests/spectral/gen_fixtures.py, so the C
 * tests rebuild WeightWatcher's input matrices bit for bit without storing
 * them. Every value is formed with IEEE + - * / sqrt and a cast to float32,
 * which round identically in numpy and C. Header-only, for tests.
 */
#ifndef TQ_SPECTRAL_GEN_H
#define TQ_SPECTRAL_GEN_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t sg_next(uint64_t *s) {
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform on [0, 1) with 24 random bits */
static inline double sg_u(uint64_t *s) { return (double)(sg_next(s) >> 40) * (1.0 / 16777216.0); }

/** Fill w[rows*cols] (row-major); @return 0, or -1 for an unknown kind. */
static inline int sg_matrix(const char *kind, int64_t rows, int64_t cols, uint64_t seed, double scale, float *w) {
    uint64_t s = seed;
    int64_t n = rows * cols;
    const double eps = 1.0 / 33554432.0; /* 2^-25 */
    if (!strcmp(kind, "gauss")) {
        for (int64_t i = 0; i < n; i++) {
            double a = sg_u(&s), b = sg_u(&s), c = sg_u(&s), d = sg_u(&s);
            w[i] = (float)(((((a + b) + c) + d) - 2.0) * scale);
        }
    } else if (!strcmp(kind, "cauchy")) {
        for (int64_t i = 0; i < n; i++) {
            double a = sg_u(&s), b = sg_u(&s);
            w[i] = (float)(((a - 0.5) / (b + eps)) * scale);
        }
    } else if (!strcmp(kind, "student2")) {
        for (int64_t i = 0; i < n; i++) {
            double a = sg_u(&s), b = sg_u(&s);
            double sgn = a < 0.5 ? 1.0 : -1.0;
            w[i] = (float)((sgn / sqrt(b + eps)) * scale);
        }
    } else if (!strcmp(kind, "rank5int")) {
        enum { R = 5 };
        double *A = malloc(sizeof(double) * (size_t)(rows * R)), *B = malloc(sizeof(double) * (size_t)(R * cols));
        if (!A || !B) { free(A); free(B); return -1; }
        for (int64_t i = 0; i < rows * R; i++) A[i] = (double)((int)(sg_next(&s) % 7) - 3);
        for (int64_t i = 0; i < R * cols; i++) B[i] = (double)((int)(sg_next(&s) % 7) - 3);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                double acc = 0.0;
                for (int k = 0; k < R; k++) acc = acc + A[i * R + k] * B[k * cols + j];
                w[i * cols + j] = (float)(acc * scale);
            }
        free(A); free(B);
    } else if (!strcmp(kind, "spike1")) {
        double *us = malloc(sizeof(double) * (size_t)rows), *vs = malloc(sizeof(double) * (size_t)cols);
        if (!us || !vs) { free(us); free(vs); return -1; }
        for (int64_t i = 0; i < rows; i++) us[i] = sg_u(&s) - 0.5;
        for (int64_t j = 0; j < cols; j++) vs[j] = sg_u(&s) - 0.5;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                double noise = sg_u(&s) - 0.5;
                w[i * cols + j] = (float)(us[i] * vs[j] + noise * scale);
            }
        free(us); free(vs);
    } else {
        return -1;
    }
    return 0;
}

static int sg_cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/** n Pareto samples, ascending; @return 0 or -1 for an unknown kind. */
static inline int sg_samples(const char *kind, int64_t n, uint64_t seed, double *x) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        double u = 1.0 - sg_u(&s);
        if (!strcmp(kind, "pareto2")) x[i] = 1.0 / u;
        else if (!strcmp(kind, "pareto3")) x[i] = 1.0 / sqrt(u);
        else if (!strcmp(kind, "pareto1.5")) x[i] = (1.0 / u) * (1.0 / u);
        else return -1;
    }
    qsort(x, (size_t)n, sizeof *x, sg_cmp_d);
    return 0;
}

static inline uint64_t sg_fnv1a(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}
#endif
