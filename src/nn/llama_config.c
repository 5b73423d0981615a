/*
 * llama_config.c — read a Llama configuration from params.json (Meta) or
 * config.json (Hugging Face), and recognise Llama checkpoints by their names.
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Integer key: absent -> *out unchanged (returns 0); present and valid -> 1. */
static int get_int(const cJSON *j, const char *key, int *out, int lo, int hi, const char *path,
                   tq_status *st, tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        if (!*st) *st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be an integer in [%d, %d]", path, key, lo, hi);
        return 0;
    }
    *out = (int)v->valuedouble;
    return 1;
}

static int get_float(const cJSON *j, const char *key, float *out, double lo, double hi, const char *path,
                     tq_status *st, tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        if (!*st) *st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be a number in [%g, %g]", path, key, lo, hi);
        return 0;
    }
    *out = (float)v->valuedouble;
    return 1;
}

#define BIG (1 << 24)

tq_status tq_llama_config_read(const char *path, tq_llama_config *c, tq_error *err) {
    char *text;
    size_t len;
    tq_status st = tq_read_file(path, &text, &len, err);
    if (st) return st;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tq_err(err, TQ_E_FORMAT, "%s: not a JSON object", path);
    }
    memset(c, 0, sizeof *c);
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->max_seq_len = 2048;
    c->tied = -1;
    int hf = cJSON_GetObjectItemCaseSensitive(j, "hidden_size") != NULL;
    if (hf) {
        c->naming = TQ_LLAMA_NAMING_HF;
        get_int(j, "hidden_size", &c->dim, 1, BIG, path, &st, err);
        get_int(j, "intermediate_size", &c->hidden_dim, 1, BIG, path, &st, err);
        get_int(j, "num_hidden_layers", &c->n_layers, 1, 4096, path, &st, err);
        get_int(j, "num_attention_heads", &c->n_heads, 1, 65536, path, &st, err);
        get_int(j, "num_key_value_heads", &c->n_kv_heads, 1, 65536, path, &st, err);
        get_int(j, "vocab_size", &c->vocab_size, 1, BIG, path, &st, err);
        get_int(j, "max_position_embeddings", &c->max_seq_len, 1, BIG, path, &st, err);
        get_float(j, "rms_norm_eps", &c->norm_eps, 0, 1, path, &st, err);
        const cJSON *tie = cJSON_GetObjectItemCaseSensitive(j, "tie_word_embeddings");
        if (cJSON_IsBool(tie)) c->tied = cJSON_IsTrue(tie);
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
        if (rs && !cJSON_IsNull(rs) && !st)
            st = tq_err(err, TQ_E_UNSUPPORTED, "%s: \"rope_scaling\" is set; only plain RoPE is supported", path);
    } else {
        c->naming = TQ_LLAMA_NAMING_META;
        get_int(j, "dim", &c->dim, 1, BIG, path, &st, err);
        get_int(j, "hidden_dim", &c->hidden_dim, 1, BIG, path, &st, err);
        get_int(j, "n_layers", &c->n_layers, 1, 4096, path, &st, err);
        get_int(j, "n_heads", &c->n_heads, 1, 65536, path, &st, err);
        get_int(j, "n_kv_heads", &c->n_kv_heads, 1, 65536, path, &st, err);
        int vs = 0;   /* Meta writes -1 for "from the tokenizer" */
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "vocab_size");
        if (!(cJSON_IsNumber(v) && v->valuedouble < 0) && get_int(j, "vocab_size", &vs, 1, BIG, path, &st, err))
            c->vocab_size = vs;
        get_int(j, "max_seq_len", &c->max_seq_len, 1, BIG, path, &st, err);
        get_float(j, "norm_eps", &c->norm_eps, 0, 1, path, &st, err);
        const cJSON *tie = cJSON_GetObjectItemCaseSensitive(j, "tie_word_embeddings");
        if (cJSON_IsBool(tie)) c->tied = cJSON_IsTrue(tie);
    }
    get_float(j, "rope_theta", &c->rope_theta, 1, 1e12, path, &st, err);
    cJSON_Delete(j);
    if (st) return st;
    if (!c->dim || !c->n_layers || !c->n_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: lacks %s", path,
                      !c->dim ? (hf ? "\"hidden_size\"" : "\"dim\"")
                      : !c->n_layers ? (hf ? "\"num_hidden_layers\"" : "\"n_layers\"")
                                     : (hf ? "\"num_attention_heads\"" : "\"n_heads\""));
    return TQ_OK;
}

tq_status tq_llama_config_find(const char *dir, tq_llama_config *cfg, tq_error *err) {
    static const char *const names[] = {"params.json", "config.json"};
    for (int i = 0; i < 2; i++) {
        char *p = tq_path_join(dir, names[i]);
        if (!p) return tq_err(err, TQ_E_NOMEM, "out of memory");
        if (tq_file_exists(p)) {
            tq_status st = tq_llama_config_read(p, cfg, err);
            free(p);
            return st;
        }
        free(p);
    }
    return tq_err(err, TQ_E_NOTFOUND, "%s: no params.json or config.json describes the decoder", dir);
}

int tq_llama_detect(const tq_model *m) {
    if (tq_model_find(m, "tok_embeddings.weight") && tq_model_find(m, "layers.0.attention.wq.weight")) return 1;
    if (tq_model_find(m, "model.embed_tokens.weight") && (tq_model_find(m, "model.layers.0.self_attn.q_proj.weight") ||
                                                          tq_model_find(m, "model.layers.0.self_attn.qkv_proj.weight")))
        return 1;
    return 0;
}
