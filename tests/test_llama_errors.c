/* test_llama_errors.c — the decoder's configuration errors: each broken
 * model (missing or misshapen tensors, bad config values) is refused with a
 * status and a message naming what was wrong (src/nn/llama*.c). Models are
 * written with llama_fixture.h. */
#include "tq_test.h"
#include "trueq_llama.h"
#include "llama_fixture.h"
#include <cblas.h>
#include <stdlib.h>

static void t_errors(void) {
    TQ_CASE("config: params.json and config.json are read; bad ones refused");
    tq_llama_config c;
    tq_error err = {0};
    const char *p = tq_t_path("params.json");
    const char *js = "{\"dim\": 64, \"n_layers\": 5, \"n_heads\": 8, \"n_kv_heads\": 4, \"vocab_size\": -1, \"norm_eps\": 1e-6}";
    tq_t_write(p, js, strlen(js));
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK(c.dim == 64 && c.n_layers == 5 && c.n_heads == 8 && c.n_kv_heads == 4 && c.vocab_size == 0);
    CHECK_NEAR(c.norm_eps, 1e-6, 1e-12);
    CHECK_NEAR(c.rope_theta, 10000, 0);
    CHECK_EQ_INT(c.naming, TQ_LLAMA_NAMING_META);
    js = "{\"dim\": 64.5, \"n_layers\": 5, \"n_heads\": 8}";
    tq_t_write(p, js, strlen(js));
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_FORMAT, "\"dim\" must be an integer");
    js = "{\"hidden_size\": 64, \"num_attention_heads\": 8}";
    tq_t_write(p, js, strlen(js));
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_FORMAT, "num_hidden_layers");
    js = "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2}}";
    tq_t_write(p, js, strlen(js));
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_UNSUPPORTED, "rope_scaling");

    TQ_CASE("config: Phi-3 longrope: short and long factors, attention factor, the whole context");
    /* max_position_embeddings 8 over original 2: s = 4, factor sqrt(1 + ln 4 / ln 2) = sqrt 3 */
    js = "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"max_position_embeddings\": 8,"
         " \"original_max_position_embeddings\": 2, \"rope_scaling\": {\"type\": \"longrope\","
         " \"short_factor\": [1, 1.5, 2, 4], \"long_factor\": [9, 9, 9, 9]}}";
    tq_t_write(p, js, strlen(js));
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK_EQ_INT(c.n_rope_factors, 4);
    CHECK_NEAR(c.rope_factors[1], 1.5, 0);
    CHECK_NEAR(c.rope_factors[3], 4, 0);
    CHECK_NEAR(c.rope_mscale, 1.732050808, 1e-6);
    CHECK_EQ_INT(c.max_seq_len, 8);
    CHECK_EQ_INT(c.rope_orig_ctx, 2);
    CHECK_EQ_INT(c.n_rope_long, 4);
    CHECK_NEAR(c.rope_long_factors[2], 9, 0);
    js = "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"max_position_embeddings\": 8,"
         " \"rope_scaling\": {\"rope_type\": \"longrope\", \"short_factor\": [1, 1], \"attention_factor\": 1.25,"
         " \"original_max_position_embeddings\": 4}}";
    tq_t_write(p, js, strlen(js));
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK_NEAR(c.rope_mscale, 1.25, 0);
    CHECK_EQ_INT(c.max_seq_len, 8);
    CHECK_EQ_INT(c.rope_orig_ctx, 4);
    CHECK_EQ_INT(c.n_rope_long, 0);
    js = "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8,"
         " \"rope_scaling\": {\"type\": \"su\", \"short_factor\": [1, -1]}}";
    tq_t_write(p, js, strlen(js));
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_FORMAT, "short_factor[1]");
    js = "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8,"
         " \"rope_scaling\": {\"type\": \"su\", \"short_factor\": [1, 1]}}";
    tq_t_write(p, js, strlen(js));
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_FORMAT, "original_max_position_embeddings");
    tq_t_write(p, "[1,2]", 5);
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_FORMAT, "not a JSON object");
    CHECK_EQ_INT(tq_llama_config_find("/nonexistent-dir", &c, &err), TQ_E_NOTFOUND);

    TQ_CASE("open: shape mismatches and missing tensors name the tensor");
    const char *dir = stories_dir();
    if (!dir) TQ_SKIP("stories260k not found");
    tq_model *m = tq_model_open(dir, &err);
    if (!m) TQ_SKIP("cannot open stories260k");
    tq_llama_config good;
    CHECK_OK(tq_llama_config_find(dir, &good, &err), err);
    c = good; c.n_kv_heads = 8;     /* wk is [32, 64], not [64, 64] */
    CHECK(tq_llama_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_SHAPE, "layers.0.attention.wk.weight\" is [32, 64], the configuration needs [64, 64]");
    c = good; c.n_layers = 6;
    CHECK(tq_llama_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "layers.5.attention_norm.weight");
    c = good; c.n_heads = 6;
    CHECK(tq_llama_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "n_heads 6");
    c = good; c.tied = 0;
    CHECK(tq_llama_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "output.weight");
    c = good; c.n_rope_factors = 3; c.rope_factors[0] = c.rope_factors[1] = c.rope_factors[2] = 1; c.rope_mscale = 1;
    CHECK(tq_llama_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "head_size/2 = 4");

    TQ_CASE("longrope on stories260k: attention factor a equals Wq scaled by a^2; unit factors change nothing");
    /* rotated q and k are both scaled by a, so every q.k by a^2: the same as q = (a^2 Wq) x */
    tq_llama_config lr = good;
    lr.n_rope_factors = 4;
    for (int j = 0; j < 4; j++) lr.rope_factors[j] = 1;
    lr.rope_mscale = 1;
    tq_llama *base = tq_llama_open(m, &good, &err), *unit = tq_llama_open(m, &lr, &err);
    lr.rope_mscale = 1.25f;
    tq_llama *scaled = tq_llama_open(m, &lr, &err);
    lr.rope_mscale = 1; lr.rope_factors[3] = 3;
    tq_llama *slow = tq_llama_open(m, &lr, &err);
    int nt;
    wt *t = read_all(m, &nt);
    for (int i = 0; i < nt; i++)
        if (strstr(t[i].name, "attention.wq"))
            for (int64_t k = 0; k < t[i].shape[0] * t[i].shape[1]; k++) t[i].data[k] *= 1.5625f;
    const char *wqp = tq_t_path("wq_scaled.safetensors");
    CHECK_EQ_INT(write_tensors(wqp, t, nt), 0);
    wt_free(t, nt);
    tq_model *mq = tq_model_open(wqp, &err);
    tq_llama *wq = mq ? tq_llama_open(mq, &good, &err) : NULL;
    tq_model_close(mq);
    CHECK(base && unit && scaled && slow && wq);
    if (base && unit && scaled && slow && wq) {
        int ids[60];
        for (int i = 0; i < 60; i++) ids[i] = 259 + (i * 53) % 250;
        tq_llama_cmp r;
        CHECK_OK(tq_llama_compare(base, unit, ids, 60, TQ_SPM_BOS, &r, &err), err);
        CHECK_NEAR(r.kl_max, 0, 0);
        CHECK_OK(tq_llama_compare(wq, scaled, ids, 60, TQ_SPM_BOS, &r, &err), err);
        CHECK_MSG(r.kl_max < 1e-8, "kl max %g", r.kl_max);
        CHECK_OK(tq_llama_compare(base, scaled, ids, 60, TQ_SPM_BOS, &r, &err), err);
        CHECK_MSG(r.kl_mean > 1e-4, "kl %g", r.kl_mean);   /* the scaling does something */
        CHECK_OK(tq_llama_compare(base, slow, ids, 60, TQ_SPM_BOS, &r, &err), err);
        CHECK_MSG(r.kl_mean > 1e-5, "kl %g", r.kl_mean);   /* and so does a factor */
    }
    tq_llama_free(base); tq_llama_free(unit); tq_llama_free(scaled); tq_llama_free(slow); tq_llama_free(wq);
    tq_model_close(m);
}

void tq_tests(void) {
    t_errors();
}
