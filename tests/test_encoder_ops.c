/* test_encoder_ops.c — the BERT/DistilBERT encoder without any reference
 * environment: building blocks against double-precision formulas, tiny
 * hand-built models end to end against a straightforward double-precision
 * forward pass written here, thread-count independence, and every error
 * status the header promises. */
#include "tq_test.h"
#include "io/container.h"
#include "trueq_nn.h"
#include <cblas.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ---- helpers: write a small model ------------------------------------------- */

typedef struct tw { tq_wentry e[160]; float *d[160]; char *nm[160]; int n; } tw;

static void tw_add(tw *w, const char *name, int64_t r, int64_t c, uint64_t *rng, float mean, float std) {
    int i = w->n++;
    int64_t n = r * (c ? c : 1);
    w->nm[i] = strdup(name);
    w->d[i] = malloc(sizeof(float) * (size_t)n);
    for (int64_t k = 0; k < n; k++) w->d[i][k] = mean + std * tq_t_randn(rng);
    w->e[i] = (tq_wentry){.name = w->nm[i], .dtype = TQ_DTYPE_F32, .ndim = c ? 2 : 1, .shape = {c ? r : n, c}};
}

static int tw_write(tw *w, const char *dir) {
    mkdir(dir, 0755);
    char path[1400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    tq_error err = {0};
    tq_writer *wr = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, w->e, w->n, NULL, NULL, 0, &err);
    int rc = wr ? 0 : -1;
    for (int i = 0; wr && !rc && i < w->n; i++) {
        int64_t n = w->e[i].ndim == 2 ? w->e[i].shape[0] * w->e[i].shape[1] : w->e[i].shape[0];
        rc = tq_writer_put(wr, i, w->d[i], (uint64_t)n * 4, &err) ? -1 : 0;
    }
    if (wr && !rc) rc = tq_writer_finish(wr, &err) ? -1 : 0;
    tq_writer_free(wr);
    for (int i = 0; i < w->n; i++) { free(w->d[i]); free(w->nm[i]); }
    w->n = 0;
    if (rc) fprintf(stderr, "  tw_write: %s\n", err.msg);
    return rc;
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tq_t_write(path, text, strlen(text));
}

/* A tiny BertForSequenceClassification: vocab 60, dim 12, 3 heads, hidden 20,
 * 2 layers, max_pos 16, 2 types, 3 labels; `skip` omits a tensor, `bad`
 * gives one the wrong shape; head = 0 leaves out pooler and classifier.
 * rob: a RobertaForSequenceClassification of the same sizes instead
 * (roberta. prefix, 1 type, pad_token_id 1, max_pos 16 + 2, the
 * classifier.dense / classifier.out_proj head). */
enum { TV = 60, TD = 12, TH = 3, TF = 20, TL = 2, TP = 16, NLAB = 3 };
static void tiny_enc(const char *dir, int head, const char *skip, const char *bad, const char *act, int rob) {
    tw w = {.n = 0};
    uint64_t rng = 42;
    char nm[200];
    const char *P = rob ? "roberta." : "bert.";
#define ADD(name, r, c, mean, std) do { if (!skip || strcmp(skip, name)) \
        tw_add(&w, name, (bad && !strcmp(bad, name)) ? (r) + 1 : (r), c, &rng, mean, std); } while (0)
#define ADDP(name, r, c, mean, std) do { snprintf(nm, sizeof nm, "%s%s", P, name); ADD(nm, r, c, mean, std); } while (0)
    ADDP("embeddings.word_embeddings.weight", TV, TD, 0, 0.5f);
    ADDP("embeddings.position_embeddings.weight", TP + 2 * rob, TD, 0, 0.3f);
    ADDP("embeddings.token_type_embeddings.weight", 2 - rob, TD, 0, 0.3f);
    ADDP("embeddings.LayerNorm.gamma", TD, 0, 1, 0.1f);   /* the older names */
    ADDP("embeddings.LayerNorm.beta", TD, 0, 0, 0.1f);
    static const char *const parts[8] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                         "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                         "output.dense", "output.LayerNorm"};
    int rows[8] = {TD, TD, TD, TD, TD, TF, TD, TD}, cols[8] = {TD, TD, TD, TD, 0, TD, TF, 0};
    for (int l = 0; l < TL; l++)
        for (int k = 0; k < 8; k++) {
            int ln = cols[k] == 0;
            snprintf(nm, sizeof nm, "%sencoder.layer.%d.%s.weight", P, l, parts[k]);
            ADD(nm, rows[k], cols[k], ln ? 1.0f : 0.0f, ln ? 0.1f : 0.4f);
            snprintf(nm, sizeof nm, "%sencoder.layer.%d.%s.bias", P, l, parts[k]);
            ADD(nm, rows[k], 0, 0, 0.1f);
        }
    if (head && rob) {
        ADD("classifier.dense.weight", TD, TD, 0, 0.4f);
        ADD("classifier.dense.bias", TD, 0, 0, 0.1f);
        ADD("classifier.out_proj.weight", NLAB, TD, 0, 0.4f);
        ADD("classifier.out_proj.bias", NLAB, 0, 0, 0.1f);
    } else if (head) {
        ADD("bert.pooler.dense.weight", TD, TD, 0, 0.4f);
        ADD("bert.pooler.dense.bias", TD, 0, 0, 0.1f);
        ADD("classifier.weight", NLAB, TD, 0, 0.4f);
        ADD("classifier.bias", NLAB, 0, 0, 0.1f);
    }
#undef ADDP
#undef ADD
    tw_write(&w, dir);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"model_type\": \"%s\", \"vocab_size\": %d, \"hidden_size\": %d, \"num_attention_heads\": %d, "
             "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"max_position_embeddings\": %d, "
             "\"type_vocab_size\": %d, \"layer_norm_eps\": 1e-12, \"hidden_act\": \"%s\", \"pad_token_id\": %d, "
             "\"position_embedding_type\": \"absolute\", \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}",
             rob ? "roberta" : "bert", TV, TD, TH, TF, TL, TP + 2 * rob, 2 - rob, act, rob);
    write_text(dir, "config.json", cfg);
}

static void tiny_bert(const char *dir, int head, const char *skip, const char *bad, const char *act) {
    tiny_enc(dir, head, skip, bad, act, 0);
}

/* ---- the double-precision reference forward pass -------------------------------- */

/* bert: 1 BERT, 0 DistilBERT, 2 RoBERTa (BERT's names; positions from
 * padding_idx + 1 over the non-pad ids; the dense / out_proj head) */
typedef struct refm { const tq_model *m; const char *pre; int bert; } refm;

static double *ref_w(const refm *r, const char *name, int raw) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", raw ? "" : r->pre, name);
    const tq_tensor *t = tq_model_find(r->m, full);
    if (!t && strstr(full, "LayerNorm.weight")) { *strstr(full, "weight") = 0; strcat(full, "gamma"); t = tq_model_find(r->m, full); }
    if (!t && strstr(full, "LayerNorm.bias")) { *strstr(full, "bias") = 0; strcat(full, "beta"); t = tq_model_find(r->m, full); }
    if (!t) { fprintf(stderr, "  reference: no %s\n", full); exit(1); }
    float *f = malloc(sizeof(float) * (size_t)t->numel);
    double *d = malloc(sizeof(double) * (size_t)t->numel);
    tq_error err = {0};
    if (tq_model_tensor_f32(r->m, t, f, &err)) { fprintf(stderr, "  reference: %s\n", err.msg); exit(1); }
    for (int64_t i = 0; i < t->numel; i++) d[i] = f[i];
    free(f);
    return d;
}

static void ref_ln(double *x, const double *w, const double *b, int n, double eps) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    v /= n;
    for (int i = 0; i < n; i++) x[i] = (x[i] - m) / sqrt(v + eps) * w[i] + b[i];
}

static double ref_act(double x, tq_enc_act a) {
    if (a == TQ_ACT_GELU) return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (a == TQ_ACT_GELU_TANH) return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    return x > 0 ? x : 0;
}

/* y[n] = W[n, k] x[k] + b */
static void ref_lin(double *y, const double *W, const double *b, const double *x, int n, int k) {
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int j = 0; j < k; j++) s += W[(size_t)i * k + j] * x[j];
        y[i] = s;
    }
}

static void ref_forward(const refm *r, const tq_enc_config *c, const tq_enc_batch *b, double *hid, double *logits) {
    int D = c->dim, F = c->hidden_dim, S = b->seq, NH = c->n_heads, hs = D / NH;
    double *word = ref_w(r, "embeddings.word_embeddings.weight", 0), *pos = ref_w(r, "embeddings.position_embeddings.weight", 0);
    double *type = r->bert ? ref_w(r, "embeddings.token_type_embeddings.weight", 0) : NULL;
    double *lw = ref_w(r, "embeddings.LayerNorm.weight", 0), *lb = ref_w(r, "embeddings.LayerNorm.bias", 0);
    double *q = malloc(sizeof(double) * (size_t)S * D * 3), *ctx = malloc(sizeof(double) * (size_t)S * D);
    double *h = malloc(sizeof(double) * (size_t)F), *t = malloc(sizeof(double) * (size_t)D), *p = malloc(sizeof(double) * (size_t)S);
    for (int s = 0; s < b->batch; s++) {
        double *x = hid + (size_t)s * S * D;
        const int32_t *ids = b->ids + (size_t)s * S, *mk = b->mask ? b->mask + (size_t)s * S : NULL;
        for (int i = 0, n = 0; i < S; i++) {
            int pi = i;
            if (r->bert == 2) pi = ids[i] == c->pad_token_id ? c->pad_token_id : c->pad_token_id + ++n;
            for (int d = 0; d < D; d++)
                x[i * D + d] = word[(size_t)ids[i] * D + d] + pos[(size_t)pi * D + d] +
                               (type ? type[(size_t)(b->type_ids ? b->type_ids[(size_t)s * S + i] : 0) * D + d] : 0);
            ref_ln(x + i * D, lw, lb, D, c->ln_eps);
        }
        for (int l = 0; l < c->n_layers; l++) {
            static const char *const bn[8] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                              "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                              "output.dense", "output.LayerNorm"};
            static const char *const dn[8] = {"attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                                              "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"};
            double *W[8], *B[8];
            for (int k = 0; k < 8; k++) {
                char nm[200];
                snprintf(nm, sizeof nm, "%s.%d.%s.weight", r->bert ? "encoder.layer" : "transformer.layer", l, r->bert ? bn[k] : dn[k]);
                W[k] = ref_w(r, nm, 0);
                snprintf(nm, sizeof nm, "%s.%d.%s.bias", r->bert ? "encoder.layer" : "transformer.layer", l, r->bert ? bn[k] : dn[k]);
                B[k] = ref_w(r, nm, 0);
            }
            for (int i = 0; i < S; i++)
                for (int k = 0; k < 3; k++) ref_lin(q + ((size_t)k * S + i) * D, W[k], B[k], x + i * D, D, D);
            for (int hh = 0; hh < NH; hh++)
                for (int i = 0; i < S; i++) {
                    double mx = -1e300, sum = 0;
                    for (int j = 0; j < S; j++) {
                        double sc = 0;
                        for (int d = 0; d < hs; d++) sc += q[(size_t)i * D + hh * hs + d] * q[((size_t)S + j) * D + hh * hs + d];
                        p[j] = sc / sqrt((double)hs);
                        if (!(mk && !mk[j]) && p[j] > mx) mx = p[j];
                    }
                    for (int j = 0; j < S; j++) { p[j] = (mk && !mk[j]) ? 0 : exp(p[j] - mx); sum += p[j]; }
                    for (int d = 0; d < hs; d++) {
                        double a = 0;
                        for (int j = 0; j < S; j++) a += p[j] / sum * q[((size_t)2 * S + j) * D + hh * hs + d];
                        ctx[(size_t)i * D + hh * hs + d] = a;
                    }
                }
            for (int i = 0; i < S; i++) {
                ref_lin(t, W[3], B[3], ctx + i * D, D, D);
                for (int d = 0; d < D; d++) x[i * D + d] += t[d];
                ref_ln(x + i * D, W[4], B[4], D, c->ln_eps);
                ref_lin(h, W[5], B[5], x + i * D, F, D);
                for (int f = 0; f < F; f++) h[f] = ref_act(h[f], c->act);
                ref_lin(t, W[6], B[6], h, D, F);
                for (int d = 0; d < D; d++) x[i * D + d] += t[d];
                ref_ln(x + i * D, W[7], B[7], D, c->ln_eps);
            }
            for (int k = 0; k < 8; k++) { free(W[k]); free(B[k]); }
        }
        if (logits) {
            int rob = r->bert == 2;
            double *pw = rob ? ref_w(r, "classifier.dense.weight", 1) : r->bert ? ref_w(r, "pooler.dense.weight", 0)
                                                                          : ref_w(r, "pre_classifier.weight", 1);
            double *pb = rob ? ref_w(r, "classifier.dense.bias", 1) : r->bert ? ref_w(r, "pooler.dense.bias", 0)
                                                                        : ref_w(r, "pre_classifier.bias", 1);
            double *cw = ref_w(r, rob ? "classifier.out_proj.weight" : "classifier.weight", 1);
            double *cb = ref_w(r, rob ? "classifier.out_proj.bias" : "classifier.bias", 1);
            ref_lin(t, pw, pb, x, D, D);
            for (int d = 0; d < D; d++) t[d] = r->bert ? tanh(t[d]) : (t[d] > 0 ? t[d] : 0);
            ref_lin(logits + (size_t)s * c->n_labels, cw, cb, t, c->n_labels, D);
            free(pw); free(pb); free(cw); free(cb);
        }
    }
    free(word); free(pos); free(type); free(lw); free(lb); free(q); free(ctx); free(h); free(t); free(p);
}

static double maxdiff(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (!(d <= m)) m = d; }
    return m;
}

/* ---- cases -------------------------------------------------------------------- */

static void blocks(void) {
    uint64_t rng = 7;
    TQ_CASE("layernorm: matches the double-precision formula; in place");
    {
        float x[37], w[37], b[37], out[37];
        for (int i = 0; i < 37; i++) { x[i] = 3.0f + 2.0f * tq_t_randn(&rng); w[i] = 1 + 0.2f * tq_t_randn(&rng); b[i] = 0.1f * tq_t_randn(&rng); }
        double m = 0, v = 0;
        for (int i = 0; i < 37; i++) m += x[i];
        m /= 37;
        for (int i = 0; i < 37; i++) v += (x[i] - m) * (x[i] - m);
        v /= 37;
        tq_enc_layernorm(out, x, w, b, 37, 1e-5f);
        double md = 0;
        for (int i = 0; i < 37; i++) { double d = fabs(out[i] - ((x[i] - m) / sqrt(v + 1e-5) * w[i] + b[i])); if (d > md) md = d; }
        CHECK_MSG(md < 2e-6, "max diff %g", md);
        tq_enc_layernorm(x, x, w, b, 37, 1e-5f);
        CHECK(memcmp(x, out, sizeof out) == 0);
        float c[5] = {2, 2, 2, 2, 2}, one[5] = {1, 1, 1, 1, 1}, zero[5] = {0}, o5[5];
        tq_enc_layernorm(o5, c, one, zero, 5, 1e-12f);   /* constant row: 0, not NaN */
        CHECK(o5[0] == 0 && o5[4] == 0);
    }
    TQ_CASE("activations: gelu (erf), gelu (tanh), relu against double formulas");
    {
        enum { N = 40001 };
        float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
        for (tq_enc_act a = TQ_ACT_GELU; a <= TQ_ACT_RELU; a++) {
            for (int i = 0; i < N; i++) x[i] = y[i] = -10.0f + 20.0f * (float)i / (N - 1);
            tq_enc_activate(y, N, a);
            double worst = 0;
            for (int i = 0; i < N; i++) {
                double want = ref_act(x[i], a), d = fabs(y[i] - want) / (fabs(x[i]) > 1 ? fabs(x[i]) : 1);
                if (d > worst) worst = d;
            }
            printf("  activation %d: max |error| / max(1, |x|) = %.3g\n", (int)a, worst);
            CHECK_MSG(worst < (a == TQ_ACT_RELU ? 1e-30 : 4e-7), "activation %d: %g", (int)a, worst);
        }
        float e[4] = {-INFINITY, INFINITY, 0.0f, -0.0f};
        tq_enc_activate(e, 4, TQ_ACT_GELU);
        CHECK(e[1] == INFINITY && e[2] == 0 && e[3] == 0);
        free(x); free(y);
    }
    TQ_CASE("attention: with and without a mask, against double precision; padded keys get weight 0");
    {
        enum { S = 7, NH = 2, HS = 5, D = NH * HS };
        float q[S * D], k[S * D], v[S * D], out[S * D], out2[S * D], scr[S];
        for (int i = 0; i < S * D; i++) { q[i] = tq_t_randn(&rng); k[i] = tq_t_randn(&rng); v[i] = tq_t_randn(&rng); }
        int32_t mask[S] = {1, 1, 0, 1, 1, 0, 0};
        for (int masked = 0; masked < 2; masked++) {
            const int32_t *mk = masked ? mask : NULL;
            tq_enc_attention(out, q, k, v, mk, S, NH, HS, scr);
            double md = 0;
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < S; i++) {
                    double p[S], mx = -1e300, sum = 0;
                    for (int j = 0; j < S; j++) {
                        double s = 0;
                        for (int d = 0; d < HS; d++) s += (double)q[i * D + h * HS + d] * k[j * D + h * HS + d];
                        p[j] = s / sqrt((double)HS);
                        if (!(mk && !mk[j]) && p[j] > mx) mx = p[j];
                    }
                    for (int j = 0; j < S; j++) { p[j] = (mk && !mk[j]) ? 0 : exp(p[j] - mx); sum += p[j]; }
                    for (int d = 0; d < HS; d++) {
                        double a = 0;
                        for (int j = 0; j < S; j++) a += p[j] / sum * v[j * D + h * HS + d];
                        double dd = fabs(a - out[i * D + h * HS + d]);
                        if (dd > md) md = dd;
                    }
                }
            CHECK_MSG(md < 1e-6, "masked %d: max diff %g", masked, md);
        }
        /* values and keys of padded positions do not matter at all */
        tq_enc_attention(out, q, k, v, mask, S, NH, HS, scr);
        for (int d = 0; d < D; d++) { v[2 * D + d] = 1e6f; k[5 * D + d] = -1e3f; }
        tq_enc_attention(out2, q, k, v, mask, S, NH, HS, scr);
        CHECK(memcmp(out, out2, sizeof out) == 0);
    }
}

static void run_model(tq_enc *e, const tq_model *m, const char *pre, int bert, const char *what) {
    const tq_enc_config *c = tq_enc_config_of(e);
    enum { B = 3, S = 9 };
    int32_t ids[B * S], types[B * S], mask[B * S];
    uint64_t rng = 99;
    int len[B] = {9, 4, 1};
    for (int s = 0; s < B; s++)
        for (int p = 0; p < S; p++) {
            int i = s * S + p;
            ids[i] = p < len[s] ? (int32_t)(tq_t_rand(&rng) % (uint32_t)c->vocab_size) : c->pad_token_id;
            types[i] = bert == 1 && p >= len[s] / 2 && p < len[s];
            mask[i] = p < len[s];
        }
    int D = c->dim, NL = c->n_labels;
    float hidden[B * S * 64], pooled[B * 64], logits[B * 8], *layers = malloc(sizeof(float) * (size_t)(c->n_layers + 1) * B * S * D);
    double ref[B * S * 64], rlog[B * 8];
    if (bert == 2) ids[3] = c->pad_token_id;   /* a pad id inside a sequence sits at padding_idx (by id, not mask) */
    tq_enc_batch b = {B, S, ids, bert == 1 ? types : NULL, mask};
    tq_enc_out o = {hidden, pooled, NL ? logits : NULL, layers};
    tq_error err = {0};
    CHECK_OK(tq_enc_forward(e, &b, &o, &err), err);
    refm r = {m, pre, bert};
    ref_forward(&r, c, &b, ref, NL ? rlog : NULL);
    double dh = maxdiff(hidden, ref, (size_t)B * S * D), dl = NL ? maxdiff(logits, rlog, (size_t)B * NL) : 0;
    printf("  %s: max |hidden - double reference| %.3g, logits %.3g\n", what, dh, dl);
    CHECK_MSG(dh < 2e-5, "%s hidden %g", what, dh);
    CHECK_MSG(dl < 2e-5, "%s logits %g", what, dl);
    CHECK(memcmp(layers + (size_t)c->n_layers * B * S * D, hidden, sizeof(float) * (size_t)B * S * D) == 0);
    /* mean pooling over the real tokens (default: not normalised) */
    double pd = 0;
    for (int s = 0; s < B; s++)
        for (int d = 0; d < D; d++) {
            double a = 0;
            for (int p = 0; p < len[s]; p++) a += ref[((size_t)s * S + p) * D + d];
            pd = fmax(pd, fabs(a / len[s] - pooled[s * D + d]));
        }
    CHECK_MSG(pd < 2e-5, "pooled %g", pd);
    /* a sequence's outputs do not depend on its batch-mates or on padding */
    tq_enc_batch b1 = {1, len[1], ids + S, bert == 1 ? types + S : NULL, NULL};
    float h1[64 * 9];
    tq_enc_out o1 = {.hidden = h1};
    CHECK_OK(tq_enc_forward(e, &b1, &o1, &err), err);
    double dd = 0;
    for (int i = 0; i < len[1] * D; i++) dd = fmax(dd, fabs(h1[i] - hidden[S * D + i]));
    CHECK_MSG(dd < 1e-5, "alone vs padded in a batch: %g", dd);
    free(layers);
}

static void models(void) {
    tq_error err = {0};
    TQ_CASE("tiny BERT with head (bert. prefix, gamma/beta names, gelu): forward vs double reference");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/bert", tq_t_tmpdir());
    tiny_bert(dir, 1, NULL, NULL, "gelu");
    tq_model *m = tq_model_open(dir, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (!m) return;
    CHECK_EQ_INT(tq_enc_detect(m), TQ_ENC_BERT);
    tq_enc *e = tq_enc_open(m, NULL, &err);
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (e) {
        CHECK(tq_enc_has_head(e));
        CHECK_EQ_INT(tq_enc_config_of(e)->n_labels, 3);
        CHECK(!strcmp(tq_enc_config_of(e)->labels[2], "c"));
        int64_t want = TV * TD + TP * TD + 2 * TD + 2 * TD + TL * (4 * TD * TD + 4 * TD + 2 * TD + 2 * TF * TD + TF + TD + 2 * TD) +
                       TD * TD + TD + NLAB * TD + NLAB;
        CHECK_EQ_INT(tq_enc_param_count(e), want);
        CHECK_EQ_INT(tq_enc_weight_bytes(e), want * 4);
        run_model(e, m, "bert.", 1, "tiny BERT");
    }
    tq_enc_free(e);
    tq_model_close(m);

    TQ_CASE("tiny BERT, gelu_new and relu activations");
    for (int a = 0; a < 2; a++) {
        tiny_bert(dir, 1, NULL, NULL, a ? "relu" : "gelu_new");
        m = tq_model_open(dir, &err);
        e = m ? tq_enc_open(m, NULL, &err) : NULL;
        CHECK_OK(e ? TQ_OK : err.status, err);
        if (e) {
            CHECK_EQ_INT(tq_enc_config_of(e)->act, a ? TQ_ACT_RELU : TQ_ACT_GELU_TANH);
            run_model(e, m, "bert.", 1, a ? "tiny BERT relu" : "tiny BERT gelu_new");
        }
        tq_enc_free(e);
        tq_model_close(m);
    }

    TQ_CASE("tiny RoBERTa with head (roberta. prefix, positions from padding_idx + 1, dense/out_proj head)");
    snprintf(dir, sizeof dir, "%s/roberta", tq_t_tmpdir());
    tiny_enc(dir, 1, NULL, NULL, "gelu", 1);
    m = tq_model_open(dir, &err);
    e = m ? tq_enc_open(m, NULL, &err) : NULL;
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (e) {
        const tq_enc_config *c = tq_enc_config_of(e);
        CHECK(c->arch == TQ_ENC_ROBERTA && c->pad_token_id == 1 && c->type_vocab_size == 1 && tq_enc_has_head(e));
        CHECK(!strcmp(tq_enc_arch_name(c->arch), "RoBERTa"));
        int64_t want = TV * TD + (TP + 2) * TD + TD + 2 * TD +
                       TL * (4 * TD * TD + 4 * TD + 2 * TD + 2 * TF * TD + TF + TD + 2 * TD) + TD * TD + TD + NLAB * TD + NLAB;
        CHECK_EQ_INT(tq_enc_param_count(e), want);
        run_model(e, m, "roberta.", 2, "tiny RoBERTa");
        /* positions: 18 - padding_idx 1 - 1 = 16 tokens at most */
        int32_t ids[17] = {0};
        float hid[17 * TD];
        tq_enc_batch b = {1, 17, ids, NULL, NULL};
        tq_enc_out o = {.hidden = hid};
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "beyond 16 (max_position_embeddings 18 less padding_idx 1");
        b.seq = 16;
        CHECK_OK(tq_enc_forward(e, &b, &o, &err), err);
        int32_t ty[2] = {0, 1};
        tq_enc_batch bt = {1, 2, ids, ty, NULL};
        CHECK_ERR(tq_enc_forward(e, &bt, &o, &err), err, TQ_E_ARG, "token type 1 is outside [0, 1)");
    }
    tq_enc_free(e);
    tq_model_close(m);
    /* a padding_idx with no position after it is refused when the encoder opens */
    {
        tq_enc_config c;
        m = tq_model_open(dir, &err);
        CHECK_OK(tq_enc_config_find(dir, &c, &err), err);
        c.pad_token_id = c.max_pos - 1;
        e = m ? tq_enc_open(m, &c, &err) : NULL;
        CHECK(e == NULL && err.status == TQ_E_ARG && strstr(err.msg, "invalid configuration") != NULL);
        tq_enc_free(e);
        tq_model_close(m);
    }
    TQ_CASE("tiny RoBERTa without a head: a missing classifier.out_proj leaves no head; dense alone is no head");
    tiny_enc(dir, 1, "classifier.out_proj.weight", NULL, "gelu", 1);
    m = tq_model_open(dir, &err);
    e = m ? tq_enc_open(m, NULL, &err) : NULL;
    CHECK_OK(e ? TQ_OK : err.status, err);
    CHECK(e && !tq_enc_has_head(e));
    tq_enc_free(e);
    tq_model_close(m);
    tiny_enc(dir, 1, "classifier.dense.bias", NULL, "gelu", 1);
    m = tq_model_open(dir, &err);
    e = m ? tq_enc_open(m, NULL, &err) : NULL;
    CHECK(e == NULL && err.status == TQ_E_NOTFOUND && strstr(err.msg, "\"classifier.dense.bias\"") != NULL);
    tq_enc_free(e);
    tq_model_close(m);

    TQ_CASE("small synthetic DistilBERT with head (distilbert. prefix): forward vs double reference");
    snprintf(dir, sizeof dir, "%s/distil", tq_t_tmpdir());
    tq_synth_options so;
    tq_synth_options_init(&so);
    so.layers = 2; so.dim = 32; so.hidden = 48; so.heads = 4; so.vocab = 600; so.max_pos = 24;
    CHECK_OK(tq_synth_distilbert(dir, &so, &err), err);
    m = tq_model_open(dir, &err);
    e = m ? tq_enc_open(m, NULL, &err) : NULL;
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (e) {
        CHECK_EQ_INT(tq_enc_detect(m), TQ_ENC_DISTILBERT);
        CHECK_EQ_INT(tq_enc_config_of(e)->arch, TQ_ENC_DISTILBERT);
        CHECK(!strcmp(tq_enc_config_of(e)->labels[1], "neutral"));
        run_model(e, m, "distilbert.", 0, "synthetic DistilBERT");
    }
    tq_enc_free(e);
    tq_model_close(m);
}

/* OpenBLAS with 1 and with 2 threads: the same bytes. */
static void threads(void) {
    TQ_CASE("results do not depend on the OpenBLAS thread count (1 vs 2 threads: identical bytes)");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/distil_t", tq_t_tmpdir());
    tq_synth_options so;
    tq_synth_options_init(&so);
    so.layers = 2; so.dim = 256; so.hidden = 512; so.heads = 4; so.vocab = 600; so.max_pos = 128;
    tq_error err = {0};
    CHECK_OK(tq_synth_distilbert(dir, &so, &err), err);
    tq_model *m = tq_model_open(dir, &err);
    tq_enc *e = m ? tq_enc_open(m, NULL, &err) : NULL;
    tq_model_close(m);
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (!e) return;
    enum { B = 4, S = 100 };
    int32_t *ids = malloc(sizeof(int32_t) * B * S), *mask = malloc(sizeof(int32_t) * B * S);
    uint64_t rng = 5;
    for (int i = 0; i < B * S; i++) { ids[i] = (int32_t)(tq_t_rand(&rng) % 600); mask[i] = i % S < S - 13 * (i / S); }
    float *h[2], *lg[2];
    int saved = openblas_get_num_threads();
    for (int k = 0; k < 2; k++) {
        openblas_set_num_threads(k + 1);
        h[k] = malloc(sizeof(float) * B * S * 256);
        lg[k] = malloc(sizeof(float) * B * 3);
        tq_enc_batch b = {B, S, ids, NULL, mask};
        tq_enc_out o = {.hidden = h[k], .logits = lg[k]};
        CHECK_OK(tq_enc_forward(e, &b, &o, &err), err);
    }
    openblas_set_num_threads(saved);
    CHECK(memcmp(h[0], h[1], sizeof(float) * B * S * 256) == 0);
    CHECK(memcmp(lg[0], lg[1], sizeof(float) * B * 3) == 0);
    for (int k = 0; k < 2; k++) { free(h[k]); free(lg[k]); }
    free(ids); free(mask);
    tq_enc_free(e);
}

static tq_enc *open_dir(const char *dir, tq_error *err) {
    tq_model *m = tq_model_open(dir, err);
    tq_enc *e = m ? tq_enc_open(m, NULL, err) : NULL;
    tq_model_close(m);
    return e;
}

static void errors(void) {
    tq_error err = {0};
    char dir[600];
    snprintf(dir, sizeof dir, "%s/errs", tq_t_tmpdir());
    tiny_bert(dir, 0, NULL, NULL, "gelu");
    TQ_CASE("forward errors: ids, types, mask, length, padding-only sequence, logits without a head");
    tq_enc *e = open_dir(dir, &err);
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (e) {
        CHECK(!tq_enc_has_head(e));
        CHECK_EQ_INT(tq_enc_config_of(e)->n_labels, 0);
        int32_t ids[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8}, types[8] = {0}, mask[8] = {1, 1, 1, 1, 1, 1, 0, 0};
        float hid[8 * TD], lg[8];
        tq_enc_batch b = {2, 4, ids, types, mask};
        tq_enc_out o = {.hidden = hid};
        CHECK_OK(tq_enc_forward(e, &b, &o, &err), err);
        ids[6] = TV;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "sequence 1 position 2: id 60");
        ids[6] = -1;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "id -1");
        ids[6] = 7;
        types[3] = 2;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "sequence 0 position 3: token type 2");
        types[3] = 0;
        mask[1] = 2;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "mask 2");
        mask[1] = 1;
        mask[4] = mask[5] = 0;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "sequence 1 has no real token");
        mask[4] = mask[5] = 1;
        int32_t longids[TP + 1] = {0};
        tq_enc_batch bl = {1, TP + 1, longids, NULL, NULL};
        CHECK_ERR(tq_enc_forward(e, &bl, &o, &err), err, TQ_E_ARG, "sequence length 17");
        bl.seq = TP;   /* exactly max_pos is fine */
        float hl[TP * TD];
        tq_enc_out ol = {.hidden = hl};
        CHECK_OK(tq_enc_forward(e, &bl, &ol, &err), err);
        tq_enc_out olog = {.logits = lg};
        CHECK_ERR(tq_enc_forward(e, &b, &olog, &err), err, TQ_E_ARG, "no classification head");
        b.batch = 0;
        CHECK_ERR(tq_enc_forward(e, &b, &o, &err), err, TQ_E_ARG, "at least one sequence");
    }
    tq_enc_free(e);

    TQ_CASE("open errors: a shape mismatch names the tensor; a missing tensor is named");
    tiny_bert(dir, 1, NULL, "bert.encoder.layer.1.intermediate.dense.weight", "gelu");
    CHECK(open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_SHAPE, "\"bert.encoder.layer.1.intermediate.dense.weight\" is [21, 12], the configuration needs [20, 12]");
    tiny_bert(dir, 1, "bert.encoder.layer.0.attention.self.value.bias", NULL, "gelu");
    CHECK(open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "\"bert.encoder.layer.0.attention.self.value.bias\" is missing");
    tiny_bert(dir, 1, "bert.pooler.dense.weight", NULL, "gelu");
    CHECK(open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "pooler.dense.weight");
    tiny_bert(dir, 1, NULL, "classifier.weight", "gelu");   /* 4 rows, id2label has 3 */
    CHECK(open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_SHAPE, "\"classifier.weight\" is [4, 12], the configuration needs [3, 12]");
    tiny_bert(dir, 1, NULL, NULL, "gelu");
    tq_model *m = tq_model_open(dir, &err);
    tq_enc_config c;
    CHECK_OK(tq_enc_config_find(dir, &c, &err), err);
    c.arch = TQ_ENC_DISTILBERT;
    CHECK(tq_enc_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "not a DistilBERT checkpoint");
    c.arch = TQ_ENC_BERT;
    c.n_heads = 5;
    CHECK(tq_enc_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "heads 5");
    tq_model_close(m);

    TQ_CASE("config errors: each bad key has its own message naming file and key");
    static const struct { const char *json; tq_status st; const char *msg; } bad[] = {
        {"{\"model_type\": \"deberta\"}", TQ_E_UNSUPPORTED, "\"model_type\" is \"deberta\""},
        {"{\"model_type\": \"bert\", \"hidden_act\": \"swish\"}", TQ_E_UNSUPPORTED, "\"hidden_act\" is \"swish\""},
        {"{\"model_type\": \"distilbert\", \"activation\": 3}", TQ_E_FORMAT, "\"activation\" must be a string"},
        {"{\"model_type\": \"bert\", \"num_attention_heads\": \"12\"}", TQ_E_FORMAT, "\"num_attention_heads\" must be an integer"},
        {"{\"model_type\": \"bert\", \"hidden_size\": 100}", TQ_E_FORMAT, "\"hidden_size\" 100 is not divisible by \"num_attention_heads\" 12"},
        {"{\"model_type\": \"distilbert\", \"dim\": 0}", TQ_E_FORMAT, "\"dim\" must be an integer in [1,"},
        {"{\"model_type\": \"bert\", \"layer_norm_eps\": -1}", TQ_E_FORMAT, "\"layer_norm_eps\" must be a number"},
        {"{\"model_type\": \"bert\", \"position_embedding_type\": \"relative_key\"}", TQ_E_UNSUPPORTED, "\"position_embedding_type\" is \"relative_key\""},
        {"{\"model_type\": \"bert\", \"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", TQ_E_FORMAT, "\"id2label\" entry \"2\""},
        {"{\"model_type\": \"bert\", \"max_position_embeddings\": 1.5}", TQ_E_FORMAT, "\"max_position_embeddings\" must be an integer"},
        {"{\"vocab_size\": 10}", TQ_E_FORMAT, "not an encoder configuration"},
        {"[1, 2]", TQ_E_FORMAT, "not a JSON object"},
        {"{\"model_type\": ", TQ_E_FORMAT, "not valid JSON"},
    };
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/cfg", tq_t_tmpdir());
    mkdir(cdir, 0755);
    CHECK_ERR(tq_enc_config_find(cdir, &c, &err), err, TQ_E_NOTFOUND, "no config.json");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(cdir, "config.json", bad[i].json);
        CHECK_ERR(tq_enc_config_find(cdir, &c, &err), err, bad[i].st, bad[i].msg);
        CHECK_MSG(strstr(err.msg, "config.json") != NULL, "%s", err.msg);
    }

    TQ_CASE("config: defaults, DistilBERT keys, sentence-transformers files");
    write_text(cdir, "config.json", "{\"dim\": 64, \"n_layers\": 2, \"n_heads\": 4, \"hidden_dim\": 100, \"activation\": \"relu\"}");
    CHECK_OK(tq_enc_config_find(cdir, &c, &err), err);
    CHECK(c.arch == TQ_ENC_DISTILBERT && c.dim == 64 && c.n_layers == 2 && c.n_heads == 4 && c.hidden_dim == 100 &&
          c.act == TQ_ACT_RELU && c.max_pos == 512 && c.vocab_size == 30522 && c.type_vocab_size == 0 && c.n_labels == 0 &&
          c.pooling == TQ_POOL_MEAN && !c.normalize && c.seq_limit == 0 && fabsf(c.ln_eps - 1e-12f) < 1e-18f);
    write_text(cdir, "config.json", "{\"model_type\": \"bert\", \"hidden_size\": 384, \"num_hidden_layers\": 6, \"layer_norm_eps\": 1e-7}");
    write_text(cdir, "modules.json", "[{\"idx\": 0, \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},"
               "{\"idx\": 1, \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},"
               "{\"idx\": 2, \"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}]");
    char pdir[700];
    snprintf(pdir, sizeof pdir, "%s/1_Pooling", cdir);
    mkdir(pdir, 0755);
    write_text(pdir, "config.json", "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}");
    write_text(cdir, "sentence_bert_config.json", "{\"max_seq_length\": 256}");
    CHECK_OK(tq_enc_config_find(cdir, &c, &err), err);
    CHECK(c.arch == TQ_ENC_BERT && c.dim == 384 && c.n_layers == 6 && c.n_heads == 12 && c.type_vocab_size == 2 &&
          c.pooling == TQ_POOL_CLS && c.normalize && c.seq_limit == 256 && fabsf(c.ln_eps - 1e-7f) < 1e-13f);
    write_text(pdir, "config.json", "{\"pooling_mode_max_tokens\": true}");
    CHECK_ERR(tq_enc_config_find(cdir, &c, &err), err, TQ_E_UNSUPPORTED, "pooling_mode");
    write_text(pdir, "config.json", "{\"pooling_mode_mean_tokens\": 1}");
    CHECK_ERR(tq_enc_config_find(cdir, &c, &err), err, TQ_E_FORMAT, "\"pooling_mode_mean_tokens\" must be true or false");
    write_text(pdir, "config.json", "{\"pooling_mode_mean_tokens\": true}");
    write_text(cdir, "sentence_bert_config.json", "{\"max_seq_length\": \"long\"}");
    CHECK_ERR(tq_enc_config_find(cdir, &c, &err), err, TQ_E_FORMAT, "sentence_bert_config.json: \"max_seq_length\"");

    TQ_CASE("pooling from the configuration: CLS and L2-normalised mean");
    e = open_dir(dir, &err);   /* the tiny BERT with head */
    CHECK_OK(e ? TQ_OK : err.status, err);
    if (e) {
        tq_enc_config cc = *tq_enc_config_of(e);
        m = tq_model_open(dir, &err);
        int32_t ids[6] = {5, 6, 7, 8, 9, 10}, mask[6] = {1, 1, 1, 1, 0, 0};
        float hid[6 * TD], pm[TD], pc[TD];
        tq_enc_batch b = {1, 6, ids, NULL, mask};
        tq_enc_out o = {.hidden = hid, .pooled = pm};
        cc.pooling = TQ_POOL_MEAN;
        cc.normalize = 1;
        tq_enc *e2 = tq_enc_open(m, &cc, &err);
        CHECK_OK(tq_enc_forward(e2, &b, &o, &err), err);
        double nrm = 0;
        for (int d = 0; d < TD; d++) nrm += (double)pm[d] * pm[d];
        CHECK_NEAR(nrm, 1.0, 1e-6);
        double mean0 = (hid[0] + hid[TD] + hid[2 * TD] + hid[3 * TD]) / 4.0, n0 = 0;
        for (int d = 0; d < TD; d++) {
            double md = (hid[d] + hid[TD + d] + hid[2 * TD + d] + hid[3 * TD + d]) / 4.0;
            n0 += md * md;
        }
        CHECK_NEAR(pm[0], mean0 / sqrt(n0), 1e-6);
        tq_enc_free(e2);
        cc.pooling = TQ_POOL_CLS;
        cc.normalize = 0;
        e2 = tq_enc_open(m, &cc, &err);
        o.pooled = pc;
        CHECK_OK(tq_enc_forward(e2, &b, &o, &err), err);
        CHECK(memcmp(pc, hid, sizeof pc) == 0);
        tq_enc_free(e2);
        tq_model_close(m);
    }
    tq_enc_free(e);
}

void tq_tests(void) {
    blocks();
    models();
    threads();
    errors();
}
