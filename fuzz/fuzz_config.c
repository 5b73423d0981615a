/*
 * fuzz_config.c — the model configuration readers on hostile input:
 * Hugging Face config.json for encoders (BERT/DistilBERT, with id2label),
 * the sentence-transformers files beside it (modules.json,
 * 1_Pooling/config.json, sentence_bert_config.json), and Llama
 * params.json/config.json. The first input byte picks the file the rest
 * becomes; the others get fixed valid contents. Files go to a private
 * temporary directory (the readers take paths, as the CLI uses them).
 */
#include "trueq.h"
#include "trueq_llama.h"
#include "trueq_nn.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char ENC_CONFIG[] =
    "{\"model_type\":\"bert\",\"hidden_size\":32,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
    "\"intermediate_size\":64,\"max_position_embeddings\":64,\"type_vocab_size\":2,\"vocab_size\":100,"
    "\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12,\"id2label\":{\"0\":\"no\",\"1\":\"yes\"}}";
static const char MODULES[] =
    "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
    "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
    "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]";
static const char POOLING[] = "{\"word_embedding_dimension\":32,\"pooling_mode_cls_token\":false,"
                              "\"pooling_mode_mean_tokens\":true}";
static const char SBERT[] = "{\"max_seq_length\":48,\"do_lower_case\":false}";

static char dir[256];

static void put(const char *name, const void *data, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();   /* the harness's own failure, not the input's */
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

static void cleanup(void) {
    static const char *const names[] = {"config.json", "modules.json", "1_Pooling/config.json",
                                        "sentence_bert_config.json", "params.json", "1_Pooling", ""};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (remove(p) != 0 && i + 1 == sizeof names / sizeof names[0]) rmdir(dir);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (!dir[0]) {
        atexit(cleanup);
        snprintf(dir, sizeof dir, "%s/trueq-fuzz-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir)) abort();
        char p[512];
        snprintf(p, sizeof p, "%s/1_Pooling", dir);
        mkdir(p, 0755);
    }
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    int which = data[0] % 5;
    put("config.json", which == 0 ? (const void *)body : ENC_CONFIG, which == 0 ? n : sizeof ENC_CONFIG - 1);
    put("modules.json", which == 1 ? (const void *)body : MODULES, which == 1 ? n : sizeof MODULES - 1);
    put("1_Pooling/config.json", which == 2 ? (const void *)body : POOLING, which == 2 ? n : sizeof POOLING - 1);
    put("sentence_bert_config.json", which == 3 ? (const void *)body : SBERT, which == 3 ? n : sizeof SBERT - 1);
    tq_error err;
    if (which == 4) {
        put("params.json", body, n);
        char p[512];
        snprintf(p, sizeof p, "%s/params.json", dir);
        tq_llama_config lc;
        (void)tq_llama_config_read(p, &lc, &err);
        unlink(p);
        return 0;
    }
    tq_enc_config c;
    if (tq_enc_config_find(dir, &c, &err) == TQ_OK) {
        /* what a reader promises: bounded, consistent fields */
        if (c.n_labels < 0 || c.n_labels > TQ_ENC_MAX_LABELS) abort();
        for (int i = 0; i < c.n_labels; i++)
            if (!memchr(c.labels[i], 0, TQ_ENC_LABEL_LEN)) abort();
    }
    return 0;
}
