/*
 * test_llama_hook.c — the decoder's calibration runner (src/nn/llama_hook.h)
 * against the decoder's own forward pass:
 *   - stories260k (GQA, interleaved RoPE): two sequences (40 and 17
 *     positions) embedded and run block by block give, after the final
 *     RMSNorm and the tied output, the logits tq_llama_forward_batch gives
 *     for each sequence's last position (within 2e-5 of the largest |logit|;
 *     the same argmax); the taps hold what the block reads (the q/k/v tap
 *     is the RMSNorm of the block's input; a y = NULL run changes nothing;
 *     one tap alone, where the block stops early, gives the same rows);
 *     1 and 3 threads give the same bytes;
 *   - weights and names: q/k/v/o/gate/up/down are the model's tensors with
 *     their shapes, writable (a zeroed down matrix makes the block's output
 *     its attention half);
 *   - errors name the layer and the sequence length.
 */
#include "tq_test.h"
#include "trueq_llama.h"
#include "nn/llama_hook.h"
#include "nn/llama_impl.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static double max_abs_diff(const float *a, const float *b, size_t n, double *amax) {
    double m = 0, x = 0;
    for (size_t i = 0; i < n; i++) {
        m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
        x = fabs((double)a[i]) > x ? fabs((double)a[i]) : x;
    }
    if (amax) *amax = x;
    return m;
}

/* every block over x (rows of both sequences) into x */
static tq_status run_all(const tq_llama *l, float *x, float *y, const int *len, int ns, tq_error *err) {
    const tq_llama_config *c = tq_llama_config_of(l);
    int64_t N = 0;
    for (int s = 0; s < ns; s++) N += len[s];
    for (int li = 0; li < c->n_layers; li++) {
        tq_status st = tq_llama_hook_layer(l, li, x, y, len, ns, NULL, err);
        if (st) return st;
        memcpy(x, y, sizeof(float) * (size_t)N * (size_t)c->dim);
    }
    return TQ_OK;
}

static void t_stories(void) {
    TQ_CASE("stories260k: block-by-block runner == forward_batch logits; taps; threads; errors");
    const char *dir = tq_t_model_dir("stories260k", "stories260K.safetensors");
    if (!dir) TQ_SKIP("stories260k not found (set TRUEQ_MODELS)");
    tq_error err = {0};
    tq_model *m = tq_model_open(dir, &err);
    tq_llama *l = NULL;
    if (m) l = tq_llama_open(m, NULL, &err);
    if (!l) { CHECK_OK(err.status, err); tq_model_close(m); return; }
    const tq_llama_config *c = tq_llama_config_of(l);
    const int D = c->dim, V = c->vocab_size, len[2] = {40, 17}, N = 57;
    int32_t ids[57];
    uint32_t r = 777;
    for (int i = 0; i < N; i++) { r = r * 1664525u + 1013904223u; ids[i] = i == 0 || i == 40 ? 1 : 3 + (int)((r >> 8) % (uint32_t)(V - 3)); }
    float *x = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N * D), *x3 = malloc(sizeof(float) * N * D);
    float *ref = malloc(sizeof(float) * V), *got = malloc(sizeof(float) * V), *nb = malloc(sizeof(float) * D);
    CHECK_OK(tq_llama_hook_embed(l, ids, N, x, &err), err);
    memcpy(x3, x, sizeof(float) * N * D);
    tq_set_threads(1);
    CHECK_OK(run_all(l, x, y, len, 2, &err), err);
    tq_set_threads(3);
    CHECK_OK(run_all(l, x3, y, len, 2, &err), err);
    CHECK(memcmp(x, x3, sizeof(float) * N * D) == 0);
    for (int s = 0; s < 2; s++) {   /* the last position of each sequence */
        int last = (s ? 40 : 0) + len[s] - 1;
        tq_llama_rmsnorm(nb, x + (size_t)last * D, l->norm, D, c->norm_eps);
        for (int v = 0; v < V; v++) {
            double a = 0;
            for (int j = 0; j < D; j++) a += (double)l->tok.f[(size_t)v * D + j] * nb[j];
            got[v] = (float)a;
        }
        tq_llama_state *st = tq_llama_state_create(l, len[s], &err);
        int seq[40];
        for (int i = 0; i < len[s]; i++) seq[i] = ids[(s ? 40 : 0) + i];
        CHECK_OK(st ? tq_llama_forward_batch(l, st, seq, len[s], 0, ref, &err) : err.status, err);
        tq_llama_state_free(st);
        double amax, d = max_abs_diff(ref, got, (size_t)V, &amax);
        CHECK_MSG(d <= 2e-5 * amax, "sequence %d: logits differ by %g (max |logit| %g)", s, d, amax);
        CHECK_EQ_INT(tq_llama_argmax(got, V), tq_llama_argmax(ref, V));
    }
    /* taps: q/k/v read the RMSNorm of the block input; widths dim and hidden */
    float *taps[TQ_DEC_SLOTS];
    for (int s = 0; s < TQ_DEC_SLOTS; s++) taps[s] = malloc(sizeof(float) * N * (size_t)tq_dec_slot_width(l, (tq_dec_slot)s));
    CHECK_EQ_INT(tq_dec_slot_width(l, TQ_DEC_IN_DOWN), c->hidden_dim);
    CHECK_OK(tq_llama_hook_embed(l, ids, N, x, &err), err);
    memcpy(x3, x, sizeof(float) * N * D);
    CHECK_OK(tq_llama_hook_layer(l, 1, x, NULL, len, 2, taps, &err), err);
    CHECK(memcmp(x, x3, sizeof(float) * N * D) == 0);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        tq_llama_rmsnorm(nb, x + (size_t)i * D, l->L[1].w[T_ATT_NORM].f, D, c->norm_eps);
        bad += memcmp(nb, taps[TQ_DEC_IN_QKV] + (size_t)i * D, sizeof(float) * D) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    {   /* one tap alone (the block stops after it): the same rows */
        float *one = malloc(sizeof(float) * N * (size_t)c->hidden_dim), *only[TQ_DEC_SLOTS] = {0};
        for (int s = TQ_DEC_IN_O; s < TQ_DEC_SLOTS; s += 2) {
            only[s] = one;
            CHECK_OK(tq_llama_hook_layer(l, 1, x, NULL, len, 2, only, &err), err);
            CHECK(memcmp(one, taps[s], sizeof(float) * N * (size_t)tq_dec_slot_width(l, (tq_dec_slot)s)) == 0);
            only[s] = NULL;
        }
        free(one);
    }
    /* weights: the model's tensors, writable */
    char name[256];
    int64_t row0, trows, rows, cols;
    CHECK(tq_llama_hook_name(l, m, 2, TQ_DEC_W_DOWN, name, sizeof name, &row0, &trows) == 0);
    CHECK(!strcmp(name, "layers.2.feed_forward.w2.weight") && row0 == 0 && trows == D);
    CHECK(tq_llama_hook_name(l, m, 0, TQ_DEC_W_K, name, sizeof name, &row0, &trows) == 0 && trows == 32);
    float *w2 = tq_llama_hook_weight(l, 2, TQ_DEC_W_DOWN, &rows, &cols, NULL);
    CHECK(w2 && rows == D && cols == c->hidden_dim);
    if (w2) {   /* down zeroed: the block's output = input + attention */
        float *keep = malloc(sizeof(float) * (size_t)(rows * cols));
        memcpy(keep, w2, sizeof(float) * (size_t)(rows * cols));
        memset(w2, 0, sizeof(float) * (size_t)(rows * cols));
        CHECK_OK(tq_llama_hook_layer(l, 2, x, y, len, 2, taps, &err), err);
        float *wo = tq_llama_hook_weight(l, 2, TQ_DEC_W_O, &rows, &cols, NULL);
        double worst = 0;
        for (int i = 0; i < N && wo; i++)
            for (int o = 0; o < D; o++) {
                double a = x[(size_t)i * D + o];
                for (int j = 0; j < D; j++) a += (double)wo[(size_t)o * D + j] * taps[TQ_DEC_IN_O][(size_t)i * D + j];
                worst = fabs(a - y[(size_t)i * D + o]) > worst ? fabs(a - y[(size_t)i * D + o]) : worst;
            }
        CHECK_MSG(worst < 1e-4, "zeroed down: output differs from x + o(att) by %g", worst);
        memcpy(w2, keep, sizeof(float) * (size_t)(rows * cols));
        free(keep);
    }
    CHECK(tq_llama_hook_weight(l, c->n_layers, TQ_DEC_W_Q, &rows, &cols, NULL) == NULL);
    tq_status st = tq_llama_hook_layer(l, c->n_layers, x, y, len, 2, NULL, &err);
    CHECK_ERR(st, err, TQ_E_ARG, "layer 5 is outside [0, 5)");
    int badlen[2] = {40, 0};
    st = tq_llama_hook_layer(l, 0, x, y, badlen, 2, NULL, &err);
    CHECK_ERR(st, err, TQ_E_ARG, "sequence 1 has 0 positions");
    int32_t badid = V;
    st = tq_llama_hook_embed(l, &badid, 1, x, &err);
    CHECK_ERR(st, err, TQ_E_ARG, "outside the vocabulary [0, 512)");
    for (int s = 0; s < TQ_DEC_SLOTS; s++) free(taps[s]);
    tq_set_threads(0);
    free(x); free(y); free(x3); free(ref); free(got); free(nb);
    tq_llama_free(l);
    tq_model_close(m);
}

void tq_tests(void) { t_stories(); }
