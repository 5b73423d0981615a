/* test_llama_model.c — the whole decoder: a 2-wide model worked out by hand,
 * stories260k's greedy text against its published sample, Hugging Face names
 * with rotate-half RoPE, and the comparison of a model with itself, with a
 * damaged copy and with an int8-quantized copy (configuration errors:
 * test_llama_errors.c; the model writer both use: llama_fixture.h). */
#include "tq_test.h"
#include "trueq_llama.h"
#include "io/container.h"
#include "io/model.h"
#include <cblas.h>
#include <stdlib.h>
#include "llama_fixture.h"


/* ---- a model small enough to work out by hand ----------------------------- */

typedef struct { int n, stop_after, tok[64], prev[64]; } collect_hand;
static int on_hand(void *ctx, int prev, int token) {
    collect_hand *c = ctx;
    if (c->n < 64) { c->tok[c->n] = token; c->prev[c->n] = prev; }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void t_hand(void) {
    TQ_CASE("forward: 2-wide, 1-layer model worked out by hand");
    /* dim 2, 1 head of size 2, hidden 2, vocab 3, tied output.
     * Wq = Wk = 0 (so attention is a plain mean of the cached values), Wv = I,
     * Wo = [[0,0],[0,1]], W1 = W2 = W3 = I, all norm gains 1. */
    const float I2[4] = {1, 0, 0, 1}, Z[4] = {0, 0, 0, 0}, WO[4] = {0, 0, 0, 1}, ONE[2] = {1, 1};
    const float EMB[6] = {3, 4, 1, 0, 0, 2};
    wt *t = calloc(12, sizeof *t);
    set2(&t[0], "tok_embeddings.weight", 3, 2, EMB);
    set2(&t[1], "norm.weight", 2, 0, ONE);
    set2(&t[2], "layers.0.attention_norm.weight", 2, 0, ONE);
    set2(&t[3], "layers.0.attention.wq.weight", 2, 2, Z);
    set2(&t[4], "layers.0.attention.wk.weight", 2, 2, Z);
    set2(&t[5], "layers.0.attention.wv.weight", 2, 2, I2);
    set2(&t[6], "layers.0.attention.wo.weight", 2, 2, WO);
    set2(&t[7], "layers.0.ffn_norm.weight", 2, 0, ONE);
    set2(&t[8], "layers.0.feed_forward.w1.weight", 2, 2, I2);
    set2(&t[9], "layers.0.feed_forward.w2.weight", 2, 2, I2);
    set2(&t[10], "layers.0.feed_forward.w3.weight", 2, 2, I2);
    const char *path = tq_t_path("hand.safetensors");
    CHECK_EQ_INT(write_tensors(path, t, 11), 0);
    wt_free(t, 12);
    tq_error err = {0};
    tq_model *m = tq_model_open(path, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (!m) return;
    tq_llama_config c = {.dim = 2, .n_layers = 1, .n_heads = 1, .n_kv_heads = 1, .max_seq_len = 4,
                         .norm_eps = 0, .rope_theta = 10000, .tied = -1};
    tq_llama *l = tq_llama_open(m, &c, &err);
    CHECK_OK(l ? TQ_OK : err.status, err);
    tq_model_close(m);   /* the decoder owns its weights */
    if (!l) return;
    const tq_llama_config *rc = tq_llama_config_of(l);
    CHECK_EQ_INT(rc->vocab_size, 3);
    CHECK_EQ_INT(rc->hidden_dim, 2);
    CHECK_EQ_INT(rc->tied, 1);
    CHECK_EQ_INT(tq_llama_param_count(l), 6 + 2 + 2 + 16 + 2 + 12);
    tq_llama_state *s = tq_llama_state_create(l, 0, &err);
    float lg[3];
    /* token 0 at pos 0: x = [3,4]; xb = x/rms = [3,4]/sqrt(12.5) = [0.848528, 1.131371];
     * v = xb; attention over one position = v; Wo keeps the second: x = [3, 5.131371];
     * h = x/rms(x) = [0.711717, 1.217238]; x += silu(h)*h = [0.342255, 1.151014]
     *   -> x = [3.341972, 6.282385]; logits = E . x/rms(x) = [6.986717, 0.664176, 2.497094] */
    CHECK_OK(tq_llama_forward(l, s, 0, 0, lg, &err), err);
    CHECK_NEAR(lg[0], 6.986717079, 1e-5);
    CHECK_NEAR(lg[1], 0.664176080, 1e-5);
    CHECK_NEAR(lg[2], 2.497094419, 1e-5);
    /* token 1 at pos 1: x = [1,0]; xb = [1.414214, 0]; q.k = 0 for both positions, so
     * attention = mean of v0 = [0.848528, 1.131371] and v1 = [1.414214, 0] = [1.131371, 0.565685];
     * x = [1, 0.565685]; FFN adds silu(h)*h with h = [1.230975, 0.696348] -> x = [2.172695, 0.889258];
     * logits = [6.069247, 1.308831, 1.071378] */
    CHECK_OK(tq_llama_forward(l, s, 1, 1, lg, &err), err);
    CHECK_NEAR(lg[0], 6.069247250, 1e-5);
    CHECK_NEAR(lg[1], 1.308830547, 1e-5);
    CHECK_NEAR(lg[2], 1.071377805, 1e-5);

    TQ_CASE("forward: argument contract");
    CHECK_ERR(tq_llama_forward(l, s, 3, 2, lg, &err), err, TQ_E_ARG, "token 3");
    CHECK_ERR(tq_llama_forward(l, s, 0, 3, lg, &err), err, TQ_E_ARG, "unfilled");
    CHECK_ERR(tq_llama_forward(l, s, 0, 4, lg, &err), err, TQ_E_ARG, "outside the cache");
    /* rerunning position 0 forgets position 1: same logits as the first call */
    CHECK_OK(tq_llama_forward(l, s, 0, 0, lg, &err), err);
    CHECK_NEAR(lg[0], 6.986717079, 1e-5);
    CHECK_ERR(tq_llama_forward(l, s, 0, 2, lg, &err), err, TQ_E_ARG, "unfilled");

    TQ_CASE("generate: steps, stop tokens, callback stop and the end of the context");
    {
        collect_hand ch = {0};
        int prompt[2] = {1, 2};
        int ng = -1;
        /* greedy from token 0 of this model always picks 0 (logits above): with no stop
         * token, the 4-position context ends it: 2 prompt positions + ... = 3 generated */
        tq_llama_gen g = {.steps = 100, .stop_token_a = -1, .stop_token_b = -1};
        CHECK_OK(tq_llama_generate(l, prompt, 2, &g, on_hand, &ch, &ng, &err), err);
        CHECK_EQ_INT(ng, 3);               /* positions 1, 2, 3 each sample one token */
        CHECK_EQ_INT(ch.n, 1 + 3);         /* the prompt's second token, then 3 generated */
        CHECK(ch.tok[0] == 2 && ch.prev[0] == 1);
        g.steps = 2;
        ch.n = 0;
        CHECK_OK(tq_llama_generate(l, prompt, 2, &g, on_hand, &ch, &ng, &err), err);
        CHECK_EQ_INT(ng, 2);
        CHECK_EQ_INT(ch.n, 3);
        g.steps = 100; g.stop_token_a = 0;   /* the first pick is 0: stop, unemitted */
        ch.n = 0;
        CHECK_OK(tq_llama_generate(l, prompt, 2, &g, on_hand, &ch, &ng, &err), err);
        CHECK_EQ_INT(ng, 1);
        CHECK_EQ_INT(ch.n, 1);
        g.stop_token_a = -1;
        ch.n = 0; ch.stop_after = 2;         /* the callback ends it */
        CHECK_OK(tq_llama_generate(l, prompt, 2, &g, on_hand, &ch, &ng, &err), err);
        CHECK_EQ_INT(ch.n, 2);
        int longp[5] = {0, 1, 2, 0, 1};
        CHECK_ERR(tq_llama_generate(l, longp, 5, &g, NULL, NULL, &ng, &err), err, TQ_E_LIMIT, "exceeds the context of 4");
        CHECK_ERR(tq_llama_generate(l, longp, 0, &g, NULL, NULL, &ng, &err), err, TQ_E_ARG, "at least one token");
    }

    TQ_CASE("open: a non-finite weight is refused, naming the tensor; states belong to one decoder");
    const float WBAD[4] = {0, 0, 0, NAN};
    wt *tb = calloc(12, sizeof *tb);
    set2(&tb[0], "tok_embeddings.weight", 3, 2, EMB);
    set2(&tb[1], "norm.weight", 2, 0, ONE);
    set2(&tb[2], "layers.0.attention_norm.weight", 2, 0, ONE);
    set2(&tb[3], "layers.0.attention.wq.weight", 2, 2, Z);
    set2(&tb[4], "layers.0.attention.wk.weight", 2, 2, Z);
    set2(&tb[5], "layers.0.attention.wv.weight", 2, 2, I2);
    set2(&tb[6], "layers.0.attention.wo.weight", 2, 2, WBAD);
    set2(&tb[7], "layers.0.ffn_norm.weight", 2, 0, ONE);
    set2(&tb[8], "layers.0.feed_forward.w1.weight", 2, 2, I2);
    set2(&tb[9], "layers.0.feed_forward.w2.weight", 2, 2, I2);
    set2(&tb[10], "layers.0.feed_forward.w3.weight", 2, 2, I2);
    const char *bpath = tq_t_path("nan.safetensors");
    CHECK_EQ_INT(write_tensors(bpath, tb, 11), 0);
    wt_free(tb, 12);
    m = tq_model_open(bpath, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK(tq_llama_open(m, &c, &err) == NULL);
        CHECK_ERR(err.status, err, TQ_E_VALUE, "layers.0.attention.wo.weight\": value 3 is nan");
        tq_model_close(m);
    }
    m = tq_model_open(path, &err);
    tq_llama *l2 = m ? tq_llama_open(m, &c, &err) : NULL;
    tq_model_close(m);
    CHECK(l2 != NULL);
    if (l2) {
        CHECK_ERR(tq_llama_forward(l2, s, 0, 0, lg, &err), err, TQ_E_ARG, "another decoder");
        tq_llama_free(l2);
    }
    tq_llama_state_free(s);
    tq_llama_free(l);
}

/* ---- stories260k ------------------------------------------------------------ */


/* The greedy sample printed in stories260K.md: the lines after the
 * "./run ... -t 0.0" command up to the closing fence. malloc'd. */
static char *published_sample(const char *dir) {
    char p[1200];
    snprintf(p, sizeof p, "%s/stories260K.md", dir);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    static char md[65536];
    size_t n = fread(md, 1, sizeof md - 1, f);
    fclose(f);
    md[n] = 0;
    const char *cmd = strstr(md, "-t 0.0\n");
    if (!cmd) return NULL;
    const char *start = cmd + strlen("-t 0.0\n");
    const char *end = strstr(start, "\n```");
    if (!end) return NULL;
    char *s = malloc((size_t)(end - start) + 1);
    memcpy(s, start, (size_t)(end - start));
    s[end - start] = 0;
    return s;
}

typedef struct { int ids[1024]; int n; } collect;
static int on_tok(void *ctx, int prev, int token) {
    collect *c = ctx;
    (void)prev;
    if (c->n < 1024) c->ids[c->n++] = token;
    return 0;
}

/* Greedy text from BOS, as llama2.c's run prints it. */
static char *greedy_text(const tq_llama *l, const tq_spm *tok, int steps) {
    collect c = {.n = 1, .ids = {TQ_SPM_BOS}};
    int bos = TQ_SPM_BOS, n_gen;
    tq_llama_gen g = {.steps = steps, .stop_token_a = TQ_SPM_BOS, .stop_token_b = -1};
    tq_error err = {0};
    if (tq_llama_generate(l, &bos, 1, &g, on_tok, &c, &n_gen, &err)) { fprintf(stderr, "%s\n", err.msg); return NULL; }
    char *text;
    if (tq_spm_detokenize(tok, c.ids, c.n, &text, NULL, &err)) return NULL;
    return text;
}

static void t_stories(void) {
    TQ_CASE("stories260k: greedy text from BOS equals the published sample");
    const char *dir = stories_dir();
    if (!dir) TQ_SKIP("stories260k not found (set TRUEQ_MODELS)");
    char *want = published_sample(dir);
    if (!want) TQ_SKIP("stories260K.md has no greedy sample");
    tq_error err = {0};
    tq_model *m = tq_model_open(dir, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    tq_llama *l = m ? tq_llama_open(m, NULL, &err) : NULL;   /* params.json beside the weights */
    CHECK_OK(l ? TQ_OK : err.status, err);
    tq_spm *tok = tq_spm_open_dir(dir, &err);
    CHECK_OK(tok ? TQ_OK : err.status, err);
    if (!l || !tok) { free(want); tq_model_close(m); tq_llama_free(l); tq_spm_free(tok); return; }
    const tq_llama_config *c = tq_llama_config_of(l);
    CHECK(c->dim == 64 && c->hidden_dim == 172 && c->n_layers == 5 && c->n_heads == 8 && c->n_kv_heads == 4);
    CHECK(c->vocab_size == 512 && c->tied == 1 && c->naming == TQ_LLAMA_NAMING_META);
    CHECK_EQ_INT(tq_llama_param_count(l), 260032);
    char *got = greedy_text(l, tok, 256);
    CHECK_MSG(got && strcmp(got, want) == 0, "greedy text differs:\n--- got\n%s\n--- want\n%s", got ? got : "(null)", want);
    free(got);

    TQ_CASE("stories260k: the same text under Hugging Face names and rotate-half RoPE");
    /* Rename every tensor and permute the q/k rows of each head as HF's
     * conversion does: new row j = old row 2j, new row hs/2 + j = old row 2j+1. */
    int n;
    wt *t = read_all(m, &n);
    static const char *const map[][2] = {
        {"attention_norm", "input_layernorm"}, {"attention.wq", "self_attn.q_proj"},
        {"attention.wk", "self_attn.k_proj"}, {"attention.wv", "self_attn.v_proj"},
        {"attention.wo", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
        {"feed_forward.w1", "mlp.gate_proj"}, {"feed_forward.w2", "mlp.down_proj"},
        {"feed_forward.w3", "mlp.up_proj"}};
    for (int i = 0; i < n; i++) {
        char nn[128];
        int layer;
        char rest[64];
        if (!strcmp(t[i].name, "tok_embeddings.weight")) snprintf(nn, sizeof nn, "model.embed_tokens.weight");
        else if (!strcmp(t[i].name, "norm.weight")) snprintf(nn, sizeof nn, "model.norm.weight");
        else if (sscanf(t[i].name, "layers.%d.%63[^ ]", &layer, rest) == 2) {
            char *dot = strstr(rest, ".weight");
            if (dot) *dot = 0;
            nn[0] = 0;
            for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
                if (!strcmp(rest, map[k][0])) snprintf(nn, sizeof nn, "model.layers.%d.%s.weight", layer, map[k][1]);
            if ((!strcmp(rest, "attention.wq") || !strcmp(rest, "attention.wk"))) {
                int hs = 8, rows = (int)t[i].shape[0], cols = (int)t[i].shape[1];
                float *p = malloc(sizeof(float) * (size_t)rows * cols);
                for (int h = 0; h < rows / hs; h++)
                    for (int j = 0; j < hs / 2; j++) {
                        memcpy(p + (size_t)(h * hs + j) * cols, t[i].data + (size_t)(h * hs + 2 * j) * cols, sizeof(float) * cols);
                        memcpy(p + (size_t)(h * hs + hs / 2 + j) * cols, t[i].data + (size_t)(h * hs + 2 * j + 1) * cols, sizeof(float) * cols);
                    }
                free(t[i].data);
                t[i].data = p;
            }
        } else nn[0] = 0;
        CHECK_MSG(nn[0], "no HF name for %s", t[i].name);
        snprintf(t[i].name, sizeof t[i].name, "%s", nn);
    }
    char hfdir[1024];
    snprintf(hfdir, sizeof hfdir, "%s", tq_t_path("hf"));
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", hfdir);
    CHECK_EQ_INT(system(cmd), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", hfdir);
    CHECK_EQ_INT(write_tensors(path, t, n), 0);
    /* Phi-3-style variant: q/k/v stacked into qkv_proj, gate/up into gate_up_proj,
     * and an untied lm_head (a copy of the embedding) */
    char fdir[1024];
    snprintf(fdir, sizeof fdir, "%s", tq_t_path("fused"));
    snprintf(cmd, sizeof cmd, "mkdir -p %s", fdir);
    CHECK_EQ_INT(system(cmd), 0);
    {
        wt *f = calloc((size_t)n + 1, sizeof *f);
        int nf = 0;
        for (int i = 0; i < n; i++) {
            int layer;
            char part[64];
            if (sscanf(t[i].name, "model.layers.%d.%63s", &layer, part) == 2 &&
                (strstr(part, "q_proj") || strstr(part, "k_proj") || strstr(part, "v_proj") ||
                 strstr(part, "gate_proj") || strstr(part, "up_proj")))
                continue;   /* folded into the fused tensors below */
            f[nf] = t[i];
            f[nf].data = malloc(sizeof(float) * (size_t)(t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1)));
            memcpy(f[nf].data, t[i].data, sizeof(float) * (size_t)(t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1)));
            nf++;
        }
        wt *emb = find_wt(t, n, "model.embed_tokens.weight");
        f[nf] = *emb;
        snprintf(f[nf].name, sizeof f[nf].name, "lm_head.weight");
        f[nf].data = malloc(sizeof(float) * 512 * 64);
        memcpy(f[nf].data, emb->data, sizeof(float) * 512 * 64);
        nf++;
        wt *g = realloc(f, sizeof *f * (size_t)(nf + 10));
        f = g;
        for (int li = 0; li < 5; li++) {
            static const char *const qkv[3] = {"q_proj", "k_proj", "v_proj"}, *const gu[2] = {"gate_proj", "up_proj"};
            char nmq[128];
            float *buf = malloc(sizeof(float) * (64 + 32 + 32) * 64), *at = buf;
            for (int k = 0; k < 3; k++) {
                snprintf(nmq, sizeof nmq, "model.layers.%d.self_attn.%s.weight", li, qkv[k]);
                wt *x = find_wt(t, n, nmq);
                memcpy(at, x->data, sizeof(float) * (size_t)(x->shape[0] * 64));
                at += x->shape[0] * 64;
            }
            snprintf(f[nf].name, sizeof f[nf].name, "model.layers.%d.self_attn.qkv_proj.weight", li);
            f[nf].ndim = 2; f[nf].shape[0] = 128; f[nf].shape[1] = 64; f[nf].data = buf; f[nf].quantize = 0;
            nf++;
            buf = malloc(sizeof(float) * 2 * 172 * 64);
            at = buf;
            for (int k = 0; k < 2; k++) {
                snprintf(nmq, sizeof nmq, "model.layers.%d.mlp.%s.weight", li, gu[k]);
                wt *x = find_wt(t, n, nmq);
                memcpy(at, x->data, sizeof(float) * 172 * 64);
                at += 172 * 64;
            }
            snprintf(f[nf].name, sizeof f[nf].name, "model.layers.%d.mlp.gate_up_proj.weight", li);
            f[nf].ndim = 2; f[nf].shape[0] = 344; f[nf].shape[1] = 64; f[nf].data = buf; f[nf].quantize = 0;
            nf++;
        }
        snprintf(path, sizeof path, "%s/model.safetensors", fdir);
        CHECK_EQ_INT(write_tensors(path, f, nf), 0);
        wt_free(f, nf);
        snprintf(path, sizeof path, "%s/config.json", fdir);
        const char *fcfg = "{\"hidden_size\":64,\"num_hidden_layers\":5,\"num_attention_heads\":8,"
                           "\"num_key_value_heads\":4,\"max_position_embeddings\":512,\"rms_norm_eps\":1e-05,"
                           "\"tie_word_embeddings\":false}";
        CHECK_EQ_INT(tq_t_write(path, fcfg, strlen(fcfg)), 0);
    }
    wt_free(t, n);
    snprintf(path, sizeof path, "%s/config.json", hfdir);
    const char *cfg = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"intermediate_size\":172,"
                      "\"num_hidden_layers\":5,\"num_attention_heads\":8,\"num_key_value_heads\":4,\"vocab_size\":512,"
                      "\"max_position_embeddings\":512,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
                      "\"tie_word_embeddings\":true}";
    CHECK_EQ_INT(tq_t_write(path, cfg, strlen(cfg)), 0);
    tq_model *mh = tq_model_open(hfdir, &err);
    CHECK_OK(mh ? TQ_OK : err.status, err);
    tq_llama *lh = mh ? tq_llama_open(mh, NULL, &err) : NULL;
    CHECK_OK(lh ? TQ_OK : err.status, err);
    if (lh) {
        CHECK_EQ_INT(tq_llama_config_of(lh)->naming, TQ_LLAMA_NAMING_HF);
        CHECK(tq_llama_detect(mh));
        char *hgot = greedy_text(lh, tok, 256);
        CHECK_MSG(hgot && strcmp(hgot, want) == 0, "HF-layout greedy text differs:\n%s", hgot ? hgot : "(null)");
        free(hgot);
        /* and the distributions agree to rounding */
        int ids[40];
        for (int i = 0; i < 40; i++) ids[i] = 300 + (i * 37) % 200;
        tq_llama_cmp r;
        CHECK_OK(tq_llama_compare(l, lh, ids, 40, TQ_SPM_BOS, &r, &err), err);
        CHECK_MSG(r.kl_mean < 1e-9 && r.top1_agree == 1.0, "kl %g agree %g", r.kl_mean, r.top1_agree);
    }
    tq_llama_free(lh);
    tq_model_close(mh);

    TQ_CASE("stories260k: fused qkv_proj / gate_up_proj and an untied lm_head");
    mh = tq_model_open(fdir, &err);
    CHECK_OK(mh ? TQ_OK : err.status, err);
    lh = mh ? tq_llama_open(mh, NULL, &err) : NULL;
    CHECK_OK(lh ? TQ_OK : err.status, err);
    if (lh) {
        const tq_llama_config *fc = tq_llama_config_of(lh);
        CHECK(fc->tied == 0 && fc->hidden_dim == 172 && fc->vocab_size == 512);
        CHECK_EQ_INT(tq_llama_param_count(lh), 260032 + 512 * 64);   /* the output counted apart */
        CHECK(tq_llama_detect(mh));
        char *fgot = greedy_text(lh, tok, 256);
        CHECK_MSG(fgot && strcmp(fgot, want) == 0, "fused-layout greedy text differs:\n%s", fgot ? fgot : "(null)");
        free(fgot);
    }
    tq_llama_free(lh);
    tq_model_close(mh);
    tq_llama_free(l);
    tq_spm_free(tok);
    tq_model_close(m);
    free(want);
}

/* ---- configuration and tensor errors ----------------------------------------- */


/* ---- comparison: itself, a damaged copy, an int8 copy ------------------------ */

static tq_llama *open_copy(const char *path, const tq_llama_config *c) {
    tq_error err = {0};
    tq_model *m = tq_model_open(path, &err);
    if (!m) { fprintf(stderr, "%s\n", err.msg); return NULL; }
    tq_llama *l = tq_llama_open(m, c, &err);
    if (!l) fprintf(stderr, "%s\n", err.msg);
    tq_model_close(m);
    return l;
}

static void t_compare(void) {
    TQ_CASE("compare: a model with itself: KL 0, agreement 100%");
    const char *dir = stories_dir();
    if (!dir) TQ_SKIP("stories260k not found");
    tq_error err = {0};
    tq_model *m = tq_model_open(dir, &err);
    tq_llama_config c;
    if (!m || tq_llama_config_find(dir, &c, &err)) TQ_SKIP("cannot open stories260k");
    tq_llama *a = tq_llama_open(m, &c, &err);
    tq_spm *tok = tq_spm_open_dir(dir, &err);
    if (!a || !tok) { tq_model_close(m); tq_llama_free(a); tq_spm_free(tok); CHECK(0); return; }
    const char *text = "Once upon a time, there was a little boy named Tom. He liked to play with his red ball in the park. "
                       "One day, the ball rolled into the pond. Tom was sad. His friend Lily came and said, \"Let's get it!\"";
    int *ids, n;
    CHECK_OK(tq_spm_encode(tok, text, strlen(text), 0, 0, &ids, &n, &err), err);
    tq_llama_cmp r;
    CHECK_OK(tq_llama_compare(a, a, ids, n, TQ_SPM_BOS, &r, &err), err);
    CHECK_EQ_INT(r.predictions, n);
    CHECK_EQ_INT(r.windows, 1);
    CHECK_NEAR(r.kl_mean, 0, 0);
    CHECK_NEAR(r.kl_max, 0, 0);
    CHECK_NEAR(r.top1_agree, 1, 0);
    CHECK_NEAR(r.ppl_a, r.ppl_b, 0);
    /* a trained model reads a story far better than chance (512) and than a unigram guess */
    CHECK_MSG(r.ppl_a > 1.5 && r.ppl_a < 12, "perplexity %g", r.ppl_a);
    double ppl_ref = r.ppl_a;

    TQ_CASE("compare: windows of max_seq_len - 1 tokens");
    tq_llama_config cs = c;
    cs.max_seq_len = 17;   /* 16 predictions per window */
    tq_llama *as = tq_llama_open(m, &cs, &err);
    CHECK(as != NULL);
    if (as) {
        CHECK_OK(tq_llama_compare(as, NULL, ids, n, TQ_SPM_BOS, &r, &err), err);
        CHECK_EQ_INT(r.windows, (n + 15) / 16);
        CHECK_EQ_INT(r.predictions, n);
        CHECK(r.ppl_a > ppl_ref);   /* less context, worse predictions */
        tq_llama_free(as);
    }

    TQ_CASE("compare: a damaged copy shows the damage");
    int nt;
    wt *t = read_all(m, &nt);
    wt *wq = find_wt(t, nt, "layers.2.attention.wq.weight");
    wt *w2 = find_wt(t, nt, "layers.1.feed_forward.w2.weight");
    CHECK(wq && w2);
    if (wq && w2) {
        for (int64_t i = 0; i < wq->shape[0] * wq->shape[1]; i++) wq->data[i] = -wq->data[i];
        for (int64_t i = 0; i < w2->shape[0] * w2->shape[1]; i += 2) w2->data[i] = 0;
    }
    const char *dpath = tq_t_path("damaged.safetensors");
    CHECK_EQ_INT(write_tensors(dpath, t, nt), 0);
    tq_llama *d = open_copy(dpath, &c);
    CHECK(d != NULL);
    if (d) {
        CHECK_OK(tq_llama_compare(a, d, ids, n, TQ_SPM_BOS, &r, &err), err);
        printf("  damaged: KL %.4g, agreement %.3f, perplexity %.3f vs %.3f\n", r.kl_mean, r.top1_agree, r.ppl_a, r.ppl_b);
        CHECK_MSG(r.kl_mean > 0.05, "kl %g", r.kl_mean);
        CHECK_MSG(r.top1_agree < 0.95, "agreement %g", r.top1_agree);
        CHECK_MSG(r.ppl_b > r.ppl_a * 1.05, "perplexity %g vs %g", r.ppl_b, r.ppl_a);
        CHECK_NEAR(r.ppl_a, ppl_ref, 0);
        tq_llama_free(d);
    }
    wt_free(t, nt);

    TQ_CASE("compare: an int8 per-channel copy (trueq layout) is close but not equal");
    t = read_all(m, &nt);
    for (int i = 0; i < nt; i++) t[i].quantize = t[i].ndim == 2;
    const char *qpath = tq_t_path("int8.safetensors");
    CHECK_EQ_INT(write_tensors(qpath, t, nt), 0);
    wt_free(t, nt);
    tq_model *qm = tq_model_open(qpath, &err);
    CHECK_OK(qm ? TQ_OK : err.status, err);
    if (qm) {
        const tq_tensor *qt = tq_model_find(qm, "layers.0.attention.wq.weight");
        CHECK(qt && qt->quantized && qt->dtype == TQ_DTYPE_I8);
        tq_llama *q = tq_llama_open(qm, &c, &err);
        CHECK_OK(q ? TQ_OK : err.status, err);
        if (q) {
            CHECK_OK(tq_llama_compare(a, q, ids, n, TQ_SPM_BOS, &r, &err), err);
            printf("  int8: KL %.4g (max %.4g), agreement %.3f, perplexity %.4f vs %.4f\n", r.kl_mean, r.kl_max, r.top1_agree, r.ppl_a, r.ppl_b);
            CHECK_MSG(r.kl_mean > 0 && r.kl_mean < 0.01, "kl %g", r.kl_mean);
            CHECK_MSG(r.top1_agree > 0.9, "agreement %g", r.top1_agree);
            CHECK_MSG(fabs(r.ppl_b / r.ppl_a - 1) < 0.05, "perplexity %g vs %g", r.ppl_b, r.ppl_a);
            /* the same codes multiplied as int8 */
            tq_llama_opts o = {.keep_int8 = 1};
            setenv("TRUEQ_ISA", "decode", 1);   /* codes decoded to float tiles: the float path's bytes */
            tq_llama *q8 = tq_llama_open_ex(qm, &c, &o, &err);
            unsetenv("TRUEQ_ISA");
            CHECK_OK(q8 ? TQ_OK : err.status, err);
            if (q8) {
                CHECK_EQ_INT(tq_llama_int8_matrices(q8), 35);   /* 7 matrices x 5 layers */
                CHECK_EQ_INT(tq_llama_param_count(q8), 260032);
                /* 226560 layer weights as 1-byte codes + 5*(64+32+32+64+172+64+172) scales */
                CHECK_EQ_INT(tq_llama_weight_bytes(q8), 4 * (260032 - 226560) + 226560 + 4 * 5 * 600);
                tq_llama_cmp r8;
                CHECK_OK(tq_llama_compare(q, q8, ids, n, TQ_SPM_BOS, &r8, &err), err);
                printf("  int8 kept vs decoded: KL %.3g, agreement %.3f\n", r8.kl_mean, r8.top1_agree);
                CHECK_MSG(r8.kl_mean < 1e-7 && r8.top1_agree == 1.0, "kl %g agree %g", r8.kl_mean, r8.top1_agree);
                tq_llama_free(q8);
            }
            /* the kernels (activations quantized per row): within docs/kernels.md's bound of the decoded path */
            tq_llama *qk = tq_llama_open_ex(qm, &c, &o, &err);
            CHECK_OK(qk ? TQ_OK : err.status, err);
            if (qk) {
                tq_llama_cmp rk;
                CHECK_OK(tq_llama_compare(q, qk, ids, n, TQ_SPM_BOS, &rk, &err), err);
                printf("  int8 kernels vs decoded: KL %.3g, agreement %.3f\n", rk.kl_mean, rk.top1_agree);
                /* the kernels on the pool: the same logits for 1, 2 and 3 threads */
                int V = 512, saved = openblas_get_num_threads();
                float *lg[3];
                for (int th = 0; th < 3; th++) {
                    openblas_set_num_threads(th + 1);
                    lg[th] = malloc(sizeof(float) * (size_t)V);
                    tq_llama_state *st = tq_llama_state_create(qk, 8, &err);
                    for (int p = 0; st && p < 4; p++) CHECK_OK(tq_llama_forward(qk, st, 1 + 7 * p, p, lg[th], &err), err);
                    tq_llama_state_free(st);
                }
                openblas_set_num_threads(saved);
                CHECK_MSG(!memcmp(lg[0], lg[1], sizeof(float) * (size_t)V) && !memcmp(lg[0], lg[2], sizeof(float) * (size_t)V),
                          "logits depend on the thread count");
                for (int th = 0; th < 3; th++) free(lg[th]);
                CHECK_MSG(rk.kl_mean > 0 && rk.kl_mean < 2e-3 && rk.top1_agree >= 0.95, "kl %g agree %g", rk.kl_mean,
                          rk.top1_agree);
                tq_llama_free(qk);
            }
            tq_llama_free(q);
        }
        tq_model_close(qm);
    }

    TQ_CASE("keep_int8: per-group (short last group) and per-tensor codes match their decoded form");
    t = read_all(m, &nt);
    for (int i = 0; i < nt; i++)
        if (t[i].ndim == 2 && strstr(t[i].name, "layers.")) t[i].quantize = strstr(t[i].name, "feed_forward") ? 2 : 3;
    qpath = tq_t_path("int8g.safetensors");
    CHECK_EQ_INT(write_tensors(qpath, t, nt), 0);
    wt_free(t, nt);
    qm = tq_model_open(qpath, &err);
    CHECK_OK(qm ? TQ_OK : err.status, err);
    if (qm) {
        tq_llama_opts o = {.keep_int8 = 1};
        setenv("TRUEQ_ISA", "decode", 1);   /* the decoded-tile path: the float path's bytes */
        tq_llama *qd = tq_llama_open(qm, &c, &err), *qk = tq_llama_open_ex(qm, &c, &o, &err);
        unsetenv("TRUEQ_ISA");
        CHECK(qd && qk);
        if (qd && qk) {
            CHECK_EQ_INT(tq_llama_int8_matrices(qk), 35);
            /* per tensor: 4 attention matrices x 1 scale; per group: w1,w3 [172, 64] 2 groups, w2 [64, 172] 6 groups */
            CHECK_EQ_INT(tq_llama_weight_bytes(qk), 4 * (260032 - 226560) + 226560 + 4 * 5 * (4 + 2 * 172 * 2 + 64 * 6));
            tq_llama_cmp rk, ro;
            CHECK_OK(tq_llama_compare(qd, qk, ids, n, TQ_SPM_BOS, &rk, &err), err);
            CHECK_MSG(rk.kl_mean < 1e-7 && rk.top1_agree == 1.0, "kl %g agree %g", rk.kl_mean, rk.top1_agree);
            CHECK_OK(tq_llama_compare(a, qk, ids, n, TQ_SPM_BOS, &ro, &err), err);
            printf("  int8 group/tensor vs float32: KL %.3g, agreement %.3f\n", ro.kl_mean, ro.top1_agree);
            CHECK_MSG(ro.kl_mean > 0 && ro.kl_mean < 0.05, "kl %g", ro.kl_mean);
        }
        tq_llama_free(qd);
        tq_llama_free(qk);
        tq_model_close(qm);
    }

    TQ_CASE("compare: differing vocabularies and empty texts are refused");
    CHECK_ERR(tq_llama_compare(a, a, ids, 0, TQ_SPM_BOS, &r, &err), err, TQ_E_ARG, "no tokens");
    int bad = 600;
    CHECK_ERR(tq_llama_compare(a, a, &bad, 1, TQ_SPM_BOS, &r, &err), err, TQ_E_ARG, "token 600");
    free(ids);
    tq_llama_free(a);
    tq_spm_free(tok);
    tq_model_close(m);
}

void tq_tests(void) {
    t_hand();
    t_stories();
    t_compare();
}
