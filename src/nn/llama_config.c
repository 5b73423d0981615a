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

/* rope_scaling of type "longrope" (or its older name "su"), as Phi-3 uses it:
 * short_factor[head_size/2] divides each pair's frequency for contexts up to
 * original_max_position_embeddings (top-level or inside rope_scaling); rotated
 * q/k are scaled by attention_factor, by default
 * sqrt(1 + ln(s) / ln(original)) with s = max_position_embeddings / original
 * (1 when s <= 1). The long factors apply only beyond the original length,
 * which this decoder does not go: the context is capped there. */
static tq_status read_longrope(const cJSON *j, const cJSON *rs, tq_llama_config *c, const char *path, tq_error *err) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    if (!cJSON_IsString(type)) type = cJSON_GetObjectItemCaseSensitive(rs, "type");
    if (!cJSON_IsObject(rs) || !cJSON_IsString(type) ||
        (strcmp(type->valuestring, "longrope") != 0 && strcmp(type->valuestring, "su") != 0))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: \"rope_scaling\" of type %s is not supported (only plain RoPE and \"longrope\")",
                      path, cJSON_IsString(type) ? type->valuestring : "(none)");
    const cJSON *sf = cJSON_GetObjectItemCaseSensitive(rs, "short_factor");
    int nf = cJSON_IsArray(sf) ? cJSON_GetArraySize(sf) : 0;
    if (nf < 1 || nf > TQ_LLAMA_MAX_ROPE_FACTORS)
        return tq_err(err, TQ_E_FORMAT, "%s: rope_scaling needs a \"short_factor\" array of 1 to %d numbers", path,
                      TQ_LLAMA_MAX_ROPE_FACTORS);
    int k = 0;
    for (const cJSON *v = sf->child; v; v = v->next, k++) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !isfinite(v->valuedouble))
            return tq_err(err, TQ_E_FORMAT, "%s: rope_scaling short_factor[%d] must be a number > 0", path, k);
        c->rope_factors[k] = (float)v->valuedouble;
    }
    c->n_rope_factors = nf;
    tq_status st = TQ_OK;
    int orig = 0;
    if (!get_int(j, "original_max_position_embeddings", &orig, 2, BIG, path, &st, err))
        get_int(rs, "original_max_position_embeddings", &orig, 2, BIG, path, &st, err);
    if (st) return st;
    if (!orig) return tq_err(err, TQ_E_FORMAT, "%s: longrope needs \"original_max_position_embeddings\"", path);
    float af = 0;
    if (get_float(rs, "attention_factor", &af, 1e-6, 1e6, path, &st, err)) {
        c->rope_mscale = af;
    } else {
        if (st) return st;
        double s = (double)c->max_seq_len / orig;
        c->rope_mscale = s <= 1.0 ? 1.0f : (float)sqrt(1.0 + log(s) / log((double)orig));
    }
    if (c->max_seq_len > orig) c->max_seq_len = orig;
    return TQ_OK;
}

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
        if (rs && !cJSON_IsNull(rs) && !st) st = read_longrope(j, rs, c, path, err);
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
