/*
 * bench_spectrum.c — in-process timing of trueq's spectral analysis.
 *
 *   bench_spectrum matrix ROWS COLS [REPS]    a deterministic random matrix
 *   bench_spectrum model PATH [THREADS] [REPS] every tensor of a model
 *
 * Prints one JSON object per line: the median and minimum wall time over the
 * repetitions for each SVD route (auto, gesdd), and the resulting alpha (or
 * mean alpha). Used by bench/spectrum_vs_ww.py; see docs/spectrum.md.
 */
#include "trueq_spectral.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng(uint64_t *s) {
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_spectrum matrix ROWS COLS [REPS] | model PATH [THREADS] [REPS]\n");
        return 1;
    }
    const char *routes[2] = { "auto", "gesdd" };
    if (!strcmp(argv[1], "matrix") && argc >= 4) {
        int64_t r = atoll(argv[2]), c = atoll(argv[3]);
        int reps = argc > 4 ? atoi(argv[4]) : 5;
        if (r <= 0 || c <= 0 || reps <= 0 || reps > 1000) return 1;
        float *w = malloc(sizeof(float) * (size_t)(r * c));
        if (!w) return 1;
        uint64_t s = 1;
        for (int64_t i = 0; i < r * c; i++) {   /* Irwin-Hall(4) - 2, scaled like a trained layer */
            double a = 0;
            for (int k = 0; k < 4; k++) a += (double)(rng(&s) >> 40) * (1.0 / 16777216.0);
            w[i] = (float)((a - 2.0) * 0.04);
        }
        for (int m = 0; m < 2; m++) {
            double *t = malloc(sizeof(double) * (size_t)reps);
            tq_spectral_layer L = {0};
            for (int k = 0; k < reps; k++) {
                tq_error err;
                double t0 = now();
                if (tq_spectral_matrix(w, r, c, (tq_spectral_svd)m, &L, &err) != TQ_OK) { fprintf(stderr, "%s\n", err.msg); return 2; }
                t[k] = now() - t0;
            }
            double mn = t[0];
            for (int k = 1; k < reps; k++) if (t[k] < mn) mn = t[k];
            qsort(t, (size_t)reps, sizeof *t, cmpd);
            printf("{\"what\":\"matrix %lldx%lld\",\"route\":\"%s\",\"used\":\"%s\",\"reps\":%d,\"median_s\":%.6f,\"min_s\":%.6f,"
                   "\"alpha\":%.17g,\"D\":%.17g,\"xmin\":%.17g}\n",
                   (long long)r, (long long)c, routes[m], L.svd_used == TQ_SPECTRAL_SVD_AUTO ? "gram" : "gesdd", reps,
                   t[reps / 2], mn, L.alpha, L.D, L.xmin);
            free(t);
        }
        free(w);
        return 0;
    }
    if (!strcmp(argv[1], "model")) {
        int threads = argc > 3 ? atoi(argv[3]) : 0;
        int reps = argc > 4 ? atoi(argv[4]) : 3;
        if (reps <= 0 || reps > 1000) return 1;
        tq_error err;
        tq_model *m = tq_model_open(argv[2], &err);
        if (!m) { fprintf(stderr, "%s\n", err.msg); return 2; }
        for (int route = 0; route < 2; route++) {
            double *t = malloc(sizeof(double) * (size_t)reps);
            tq_spectral_summary sum = {0};
            int64_t analysed = 0;
            for (int k = 0; k < reps; k++) {
                tq_spectral_opts o = { .threads = threads, .svd = (tq_spectral_svd)route };
                tq_spectral_report rep;
                double t0 = now();
                if (tq_spectral_analyze(m, &o, &rep, &err) != TQ_OK) { fprintf(stderr, "%s\n", err.msg); return 2; }
                t[k] = now() - t0;
                tq_spectral_summarize(rep.layers, rep.n, &sum);
                analysed = rep.analysed;
                tq_spectral_report_free(&rep);
            }
            double mn = t[0];
            for (int k = 1; k < reps; k++) if (t[k] < mn) mn = t[k];
            qsort(t, (size_t)reps, sizeof *t, cmpd);
            printf("{\"what\":\"model\",\"route\":\"%s\",\"threads\":%d,\"reps\":%d,\"median_s\":%.6f,\"min_s\":%.6f,"
                   "\"analysed\":%lld,\"mean_alpha\":%.17g}\n",
                   routes[route], threads, reps, t[reps / 2], mn, (long long)analysed, sum.alpha);
            free(t);
        }
        tq_model_close(m);
        return 0;
    }
    fprintf(stderr, "bench_spectrum: unknown mode %s\n", argv[1]);
    return 1;
}
