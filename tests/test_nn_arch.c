/* The model-family table (src/nn/arch/): every row complete, names resolved
 * from a row on synthetic models, a missing tensor named in the error. */
#include "tq_test.h"
#include "nn/arch/table.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A safetensors file of F32 tensors names[i] with shapes [r_i, c_i] (c 0: 1-D), all values 0.25. */
static void write_st(const char *path, const char *const *names, const int *r, const int *c, int n) {
    char hdr[4096];
    size_t h = (size_t)snprintf(hdr, sizeof hdr, "{");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t bytes = 4u * (size_t)r[i] * (size_t)(c[i] ? c[i] : 1);
        if (c[i]) h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                        i ? "," : "", names[i], r[i], c[i], off, off + bytes);
        else h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", names[i], r[i], off, off + bytes);
        off += bytes;
    }
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "}");
    while (h % 8) hdr[h++] = ' ';
    size_t total = 8 + h + off;
    unsigned char *buf = calloc(1, total);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, hdr, h);
    float *v = (float *)(buf + 8 + h);
    for (size_t i = 0; i < off / 4; i++) v[i] = 0.25f;
    tq_t_write(path, buf, total);
    free(buf);
}

void tq_tests(void) {
    tq_error err = {0};
    char name[256];

    TQ_CASE("table: every row is complete, unique by name and by (family, id)");
    CHECK(tq_arch_count() >= 4);
    for (int i = 0; i < tq_arch_count(); i++) {
        const tq_arch *a = tq_arch_at(i);
        const char *gap = tq_arch_incomplete(a);
        CHECK_MSG(gap == NULL, "row %s: %s", a->name, gap ? gap : "");
        CHECK(tq_arch_by_name(a->name) == a);
        CHECK(tq_arch_by_id(a->family, a->id) == a);
    }
    CHECK(tq_arch_at(tq_arch_count()) == NULL);
    CHECK(tq_arch_by_name("gpt2") == NULL);
    CHECK(tq_arch_by_model_type(TQ_FAMILY_ENCODER, "distilbert") == &tq_arch_distilbert);
    CHECK(tq_arch_by_model_type(TQ_FAMILY_ENCODER, "roberta") == &tq_arch_roberta);
    CHECK(tq_arch_by_model_type(TQ_FAMILY_ENCODER, "deberta") == NULL);

    TQ_CASE("table: an incomplete row is refused, naming the gap");
    tq_arch broken = tq_arch_bert;
    broken.tensor[TQ_R_O] = NULL;
    CHECK(tq_arch_incomplete(&broken) && strstr(tq_arch_incomplete(&broken), "attention output"));
    broken = tq_arch_llama2c;
    broken.tensor[TQ_R_Q] = "layers.attention.wq";   /* a layer role without %d */
    CHECK(tq_arch_incomplete(&broken) && strstr(tq_arch_incomplete(&broken), "%d"));
    broken = tq_arch_llama_hf;
    broken.tensor[TQ_R_FINAL_NORM] = NULL;
    CHECK(tq_arch_incomplete(&broken) && strstr(tq_arch_incomplete(&broken), "final norm"));

    TQ_CASE("names: layer index, prefix, raw heads and biases");
    CHECK(tq_arch_name(&tq_arch_llama2c, "", TQ_R_FFN_GATE, 3, 0, name, sizeof name));
    CHECK(!strcmp(name, "layers.3.feed_forward.w1.weight"));
    CHECK(tq_arch_name(&tq_arch_llama_hf, "", TQ_R_QKV, 12, 0, name, sizeof name));
    CHECK(!strcmp(name, "model.layers.12.self_attn.qkv_proj.weight"));
    CHECK(tq_arch_name(&tq_arch_bert, "bert.", TQ_R_ATT_NORM, 0, 1, name, sizeof name));
    CHECK(!strcmp(name, "bert.encoder.layer.0.attention.output.LayerNorm.bias"));
    CHECK(tq_arch_name(&tq_arch_bert, "bert.", TQ_R_CLS, 0, 1, name, sizeof name));
    CHECK(!strcmp(name, "classifier.bias"));   /* the head has no prefix */
    CHECK(tq_arch_name(&tq_arch_distilbert, "distilbert.", TQ_R_PRE_CLS, 0, 0, name, sizeof name));
    CHECK(!strcmp(name, "pre_classifier.weight"));
    CHECK(!tq_arch_name(&tq_arch_llama2c, "", TQ_R_Q, 0, 1, name, sizeof name) && !name[0]);   /* no biases */
    CHECK(!tq_arch_name(&tq_arch_distilbert, "", TQ_R_TYPE_EMB, 0, 0, name, sizeof name));    /* no token types */
    CHECK(!tq_arch_name(&tq_arch_llama2c, "", TQ_R_QKV, 0, 0, name, sizeof name));            /* no fused form */

    TQ_CASE("detect: a synthetic BERT under \"bert.\" and a llama2.c decoder resolve to their rows");
    const char *bn[] = {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight"};
    int br[] = {4, 2}, bc[] = {2, 2};
    char *bpath = strdup(tq_t_path("bert.safetensors"));
    write_st(bpath, bn, br, bc, 2);
    tq_model *m = tq_model_open(bpath, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    const char *prefix = NULL;
    CHECK(m && tq_arch_detect(m, TQ_FAMILY_ENCODER, &prefix) == &tq_arch_bert && !strcmp(prefix, "bert."));
    CHECK(m && tq_arch_detect(m, TQ_FAMILY_DECODER, NULL) == NULL);
    CHECK(m && tq_arch_find(m, &tq_arch_bert, "bert.", TQ_R_Q, 0, 0) != NULL);
    CHECK(m && tq_arch_find(m, &tq_arch_bert, "bert.", TQ_R_Q, 1, 0) == NULL);
    CHECK(m && tq_enc_detect(m) == TQ_ENC_BERT);

    TQ_CASE("open: the first missing tensor is named with the row's name and prefix");
    tq_enc_config c = {.arch = TQ_ENC_BERT, .vocab_size = 4, .dim = 2, .n_layers = 1, .n_heads = 1, .hidden_dim = 2,
                       .max_pos = 4, .type_vocab_size = 2, .ln_eps = 1e-12f, .act = TQ_ACT_GELU};
    CHECK(m && tq_enc_open(m, &c, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "\"bert.embeddings.position_embeddings.weight\" is missing");
    tq_model_close(m);
    free(bpath);

    const char *ln[] = {"tok_embeddings.weight", "layers.0.attention.wq.weight"};
    int lr[] = {4, 2}, lc[] = {2, 2};
    char *lpath = strdup(tq_t_path("llama.safetensors"));
    write_st(lpath, ln, lr, lc, 2);
    m = tq_model_open(lpath, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    CHECK(m && tq_arch_detect(m, TQ_FAMILY_DECODER, &prefix) == &tq_arch_llama2c && !strcmp(prefix, ""));
    CHECK(m && tq_llama_detect(m) == 1 && tq_enc_detect(m) == 0);
    tq_llama_config lcfg = {.dim = 2, .n_layers = 1, .n_heads = 1, .hidden_dim = 2, .max_seq_len = 8,
                            .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 1};
    CHECK(m && tq_llama_open(m, &lcfg, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "\"norm.weight\" is missing");
    tq_model_close(m);
    free(lpath);
}
