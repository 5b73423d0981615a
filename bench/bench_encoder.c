/*
 * bench_encoder.c — encoder forward-pass speed.
 *
 *   bench_encoder MODEL [--seq N] [--batches 1,8] [--reps R] [--label NAME] [--keep-int8]
 *
 * Opens MODEL (a directory with config.json, or a trueq-quantized copy; its
 * weights are decoded to float32 once, or with --keep-int8 its int8 layer
 * matrices stay int8, tq_enc_opts), then for each batch size runs the
 * forward pass (last hidden state + sentence embedding) on deterministic ids
 * of N tokens (no padding), best of R timed runs after one warm-up. Prints
 * one line per batch size:
 *   bench_encoder label=NAME batch=B seq=N open_s=... best_s=... seq_per_s=... weight_bytes=... best_cpu_s=...
 * The OpenBLAS thread count is OpenBLAS's own (OPENBLAS_NUM_THREADS).
 * bench/encoder_vs_torch.py runs this next to PyTorch and tabulates.
 */
#include "trueq_nn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (every thread): on a loaded machine the
 * least CPU time of a forward pass is steadier than its wall time. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *model = NULL, *label = "trueq", *batches = "1,8";
    int seq = 128, reps = 5, keep_int8 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seq") && i + 1 < argc) seq = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = argv[++i];
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) label = argv[++i];
        else if (!strcmp(argv[i], "--keep-int8")) keep_int8 = 1;
        else if (!model && argv[i][0] != '-') model = argv[i];
        else { fprintf(stderr, "usage: bench_encoder MODEL [--seq N] [--batches 1,8] [--reps R] [--label NAME] [--keep-int8]\n"); return 2; }
    }
    if (!model || seq < 1 || reps < 1) { fprintf(stderr, "bench_encoder: need MODEL, --seq >= 1, --reps >= 1\n"); return 2; }
    tq_error err = {0};
    double t0 = now_s();
    tq_model *m = tq_model_open(model, &err);
    tq_enc_opts eo = {.keep_int8 = keep_int8};
    tq_enc *e = m ? tq_enc_open_ex(m, NULL, &eo, &err) : NULL;
    tq_model_close(m);
    double open_s = now_s() - t0;
    if (!e) { fprintf(stderr, "bench_encoder: %s\n", err.msg); return 1; }
    const tq_enc_config *c = tq_enc_config_of(e);
    if (seq > c->max_pos) seq = c->max_pos;
    int rc = 0;
    for (const char *p = batches; *p;) {
        int B = atoi(p);
        const char *comma = strchr(p, ',');
        p = comma ? comma + 1 : p + strlen(p);
        if (B < 1) continue;
        size_t T = (size_t)B * (size_t)seq;
        int32_t *ids = malloc(sizeof(int32_t) * T);
        float *hidden = malloc(sizeof(float) * T * (size_t)c->dim), *pooled = malloc(sizeof(float) * (size_t)B * (size_t)c->dim);
        if (!ids || !hidden || !pooled) { fprintf(stderr, "bench_encoder: out of memory\n"); return 1; }
        uint64_t s = 88172645463325252ull;
        for (size_t i = 0; i < T; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            ids[i] = (int32_t)(1000 + s % (uint64_t)(c->vocab_size - 1000 > 0 ? c->vocab_size - 1000 : c->vocab_size));
            if (ids[i] >= c->vocab_size) ids[i] = (int32_t)(s % (uint64_t)c->vocab_size);
        }
        tq_enc_batch b = {.batch = B, .seq = seq, .ids = ids};
        tq_enc_out o = {.hidden = hidden, .pooled = pooled};
        double best = 1e30, best_cpu = 1e30;
        for (int r = 0; r <= reps; r++) {
            double a = now_s(), ac = cpu_s();
            if (tq_enc_forward(e, &b, &o, &err)) { fprintf(stderr, "bench_encoder: %s\n", err.msg); rc = 1; break; }
            double d = now_s() - a, dc = cpu_s() - ac;
            if (r > 0 && d < best) best = d;   /* run 0 warms up */
            if (r > 0 && dc < best_cpu) best_cpu = dc;
        }
        if (!rc)
            printf("bench_encoder label=%s batch=%d seq=%d open_s=%.3f best_s=%.5f seq_per_s=%.2f weight_bytes=%llu "
                   "best_cpu_s=%.5f\n", label, B, seq, open_s, best, B / best, (unsigned long long)tq_enc_weight_bytes(e),
                   best_cpu);
        free(ids); free(hidden); free(pooled);
    }
    tq_enc_free(e);
    return rc;
}
