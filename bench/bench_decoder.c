/*
 * bench_decoder.c — decoder speed: float32 weights vs weights stored as int8.
 *
 *   bench_decoder [MODEL_DIR [QUANT_MODEL]] [--reps N]
 *
 * MODEL_DIR defaults to $TRUEQ_MODELS/stories260k. Without QUANT_MODEL an
 * int8 per-channel (linear-sym) copy of every matrix is written to a
 * temporary file in trueq's layout. For each side it reports the file's
 * stored bytes, the time to open and decode the weights, and greedy
 * generation speed (tokens/s, best of N runs of 256 tokens from BOS), then
 * the sides' agreement on the generated text's next-token distributions.
 * The int8 copy runs twice: decoded to float32 at open (same compute as the
 * float32 side, less storage) and kept as int8 codes (tq_llama_opts.keep_int8:
 * a quarter of the memory, computed from the codes).
 */
#include "io/container.h"
#include "io/model.h"
#include "trueq_llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Write every 2-D tensor of m as int8 per-channel codes + scales, the rest as F32. */
static int write_int8_copy(const tq_model *m, const char *path) {
    int64_t n = tq_model_count(m);
    tq_wentry *e = calloc((size_t)n * 2, sizeof *e);
    void **data = calloc((size_t)n * 2, sizeof(void *));
    uint64_t *len = calloc((size_t)n * 2, sizeof(uint64_t));
    char **names = calloc((size_t)n * 2, sizeof(char *));
    char **keys = calloc((size_t)n, sizeof(char *)), **vals = calloc((size_t)n, sizeof(char *));
    int64_t ne = 0;
    int nm = 0, rc = -1;
    tq_error err = {0};
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
    for (int64_t i = 0; i < n; i++) {
        const tq_tensor *t = tq_model_tensor(m, i);
        float *w = malloc(sizeof(float) * (size_t)t->numel);
        if (!w || tq_model_tensor_f32(m, t, w, &err)) { free(w); goto out; }
        if (t->ndim != 2) {
            e[ne] = (tq_wentry){.name = t->name, .dtype = TQ_DTYPE_F32, .ndim = t->ndim};
            memcpy(e[ne].shape, t->shape, sizeof e[ne].shape);
            data[ne] = w;
            len[ne++] = sizeof(float) * (uint64_t)t->numel;
            continue;
        }
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc aux[TQ_MAX_AUX];
        int na = tq_qparams_layout(&q, t->shape[0], t->shape[1], &cd, cs, aux);
        if (na != 1) { free(w); goto out; }
        void *codes = malloc(tq_nbytes(cd, 2, cs));
        void *scale = malloc(tq_nbytes(aux[0].dtype, aux[0].ndim, aux[0].shape));
        void *ab[TQ_MAX_AUX] = {scale};
        tq_status st = tq_quantize(&q, t->name, w, t->shape[0], t->shape[1], codes, ab, 0, &err);
        free(w);
        e[ne] = (tq_wentry){.name = t->name, .dtype = cd, .ndim = 2, .shape = {cs[0], cs[1]}};
        data[ne] = codes;
        len[ne++] = tq_nbytes(cd, 2, cs);
        size_t nl = strlen(t->name) + strlen(aux[0].suffix) + 2;
        names[ne] = malloc(nl);
        snprintf(names[ne], nl, "%s.%s", t->name, aux[0].suffix);
        e[ne] = (tq_wentry){.name = names[ne], .dtype = aux[0].dtype, .ndim = aux[0].ndim,
                            .shape = {aux[0].shape[0], aux[0].shape[1]}};
        data[ne] = scale;
        len[ne++] = tq_nbytes(aux[0].dtype, aux[0].ndim, aux[0].shape);
        if (st) goto out;
        size_t kl = strlen(TQ_META_TENSOR_PREFIX) + strlen(t->name) + 1;
        keys[nm] = malloc(kl);
        snprintf(keys[nm], kl, "%s%s", TQ_META_TENSOR_PREFIX, t->name);
        vals[nm++] = tq_descriptor_render(&q, 0, t->orig_dtype, t->ndim, t->shape, NULL);
    }
    {
        tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, e, ne, (const char *const *)keys,
                                        (const char *const *)vals, nm, &err);
        int bad = !w;
        for (int64_t i = 0; i < ne && !bad; i++) bad = tq_writer_put(w, i, data[i], len[i], &err) != TQ_OK;
        if (!bad) bad = tq_writer_finish(w, &err) != TQ_OK;
        tq_writer_free(w);
        rc = bad ? -1 : 0;
    }
out:
    if (rc) fprintf(stderr, "bench_decoder: writing the int8 copy failed: %s\n", err.msg);
    for (int64_t i = 0; i < ne; i++) { free(data[i]); free(names[i]); }
    for (int i = 0; i < nm; i++) { free(keys[i]); free(vals[i]); }
    free(e); free(data); free(len); free(names); free(keys); free(vals);
    return rc;
}

typedef struct { int ids[4096]; int n; } collect;
static int on_tok(void *ctx, int prev, int token) {
    collect *c = ctx;
    (void)prev;
    if (c->n < 4096) c->ids[c->n++] = token;
    return 0;
}

typedef struct side {
    const char *label;
    tq_llama   *l;
    uint64_t    stored;
    double      open_s, tps;
    collect     text;
} side;

static int run_side(side *s, const char *path, const tq_llama_config *cfg, int keep_int8, int reps) {
    tq_error err = {0};
    double t0 = now_s();
    tq_model *m = tq_model_open(path, &err);
    if (!m) { fprintf(stderr, "bench_decoder: %s\n", err.msg); return -1; }
    tq_llama_opts o = {.keep_int8 = keep_int8};
    s->l = tq_llama_open_ex(m, cfg, &o, &err);
    s->open_s = now_s() - t0;
    tq_memory_report r;
    tq_model_memory(m, &r);
    s->stored = r.total_bytes;
    tq_model_close(m);
    if (!s->l) { fprintf(stderr, "bench_decoder: %s\n", err.msg); return -1; }
    int bos = TQ_SPM_BOS;
    tq_llama_gen g = {.steps = 256, .stop_token_a = -1, .stop_token_b = -1};
    double best = 1e30;
    for (int k = 0; k < reps; k++) {
        s->text.n = 0;
        int produced;
        double t1 = now_s();
        if (tq_llama_generate(s->l, &bos, 1, &g, on_tok, &s->text, &produced, &err)) {
            fprintf(stderr, "bench_decoder: %s\n", err.msg);
            return -1;
        }
        double dt = now_s() - t1;
        if (dt < best) best = dt;
        s->tps = produced / best;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = NULL, *qpath = NULL;
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!dir) dir = argv[i];
        else qpath = argv[i];
    }
    if (reps < 1) reps = 1;
    char dbuf[1024];
    if (!dir) {
        const char *md = getenv("TRUEQ_MODELS");
        snprintf(dbuf, sizeof dbuf, "%s/stories260k", md && *md ? md : "../shared/models");
        dir = dbuf;
    }
    tq_error err = {0};
    tq_llama_config cfg;
    if (tq_llama_config_find(dir, &cfg, &err)) { fprintf(stderr, "bench_decoder: %s\n", err.msg); return 2; }
    char tmp[] = "/tmp/bench_decoder_XXXXXX";
    char qbuf[1100];
    if (!qpath) {
        if (!mkdtemp(tmp)) { perror("mkdtemp"); return 2; }
        tq_model *m = tq_model_open(dir, &err);
        if (!m) { fprintf(stderr, "bench_decoder: %s\n", err.msg); return 2; }
        snprintf(qbuf, sizeof qbuf, "%s/int8.safetensors", tmp);
        int rc = write_int8_copy(m, qbuf);
        tq_model_close(m);
        if (rc) return 2;
        qpath = qbuf;
    }
    static side a = {.label = "float32"}, b = {.label = "int8>f32"}, k = {.label = "int8"};
    if (run_side(&a, dir, &cfg, 0, reps) || run_side(&b, qpath, &cfg, 0, reps) || run_side(&k, qpath, &cfg, 1, reps)) return 2;
    printf("decoder benchmark: %s (%lld parameters), greedy 256 tokens from BOS, best of %d\n", dir,
           (long long)tq_llama_param_count(a.l), reps);
    printf("  %-9s %13s %14s %10s %10s\n", "weights", "stored bytes", "memory bytes", "open (ms)", "tokens/s");
    side *s[3] = {&a, &b, &k};
    for (int i = 0; i < 3; i++)
        printf("  %-9s %13llu %14llu %10.2f %10.0f\n", s[i]->label, (unsigned long long)s[i]->stored,
               (unsigned long long)tq_llama_weight_bytes(s[i]->l), s[i]->open_s * 1e3, s[i]->tps);
    printf("  (int8>f32: the int8 file decoded to float32 at open; int8: multiplied from its codes)\n");
    int same = 0, n = a.text.n < b.text.n ? a.text.n : b.text.n;
    while (same < n && a.text.ids[same] == b.text.ids[same]) same++;
    printf("  greedy texts agree on their first %d of %d tokens\n", same, n);
    tq_llama_cmp r;
    for (int i = 1; i < 3; i++)
        if (tq_llama_compare(a.l, s[i]->l, a.text.ids, a.text.n, TQ_SPM_BOS, &r, &err) == TQ_OK)
            printf("  %s on the float32 text: mean KL %.3g nats, top-1 agreement %.2f%%, perplexity %.4f vs %.4f\n",
                   s[i]->label, r.kl_mean, 100 * r.top1_agree, r.ppl_a, r.ppl_b);
    tq_llama_free(a.l);
    tq_llama_free(b.l);
    tq_llama_free(k.l);
    if (qpath == qbuf) { unlink(qbuf); rmdir(tmp); }
    return 0;
}
