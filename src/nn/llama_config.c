/*
 * llama_config.c — read a Llama configuration from params.json (Meta) or
 * config.json (Hugging Face), and recognise Llama checkpoints by their names.
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include "nn/config.h"
#include "nn/arch/table.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1 << 24)

/* rope_scaling of type "longrope" (or its older name "su"), as Phi-3 uses it:
 * short_factor[head_size/2] divides each pair's frequency for contexts up to
 * original_max_position_embeddings (top-level or inside rope_scaling); rotated
 * q/k are scaled by attention_factor, by default
 * sqrt(1 + ln(s) / ln(original)) with s = max_position_embeddings / original
 * (1 when s <= 1). The long factors apply only beyond the original length,
 * which this decoder does not go: the context is capped there. */
static tq_status read_longrope(tq_cfg *cf, const cJSON *rs, tq_llama_config *c) {
    const cJSON *j = cf->root;
    const char *path = cf->path;
    tq_error *err = cf->err;
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
    int orig = 0;
    if (!tq_cfg_int(cf, j, "original_max_position_embeddings", &orig, 2, BIG))
        tq_cfg_int(cf, rs, "original_max_position_embeddings", &orig, 2, BIG);
    if (cf->st) return cf->st;
    if (!orig) return tq_err(err, TQ_E_FORMAT, "%s: longrope needs \"original_max_position_embeddings\"", path);
    float af = 0;
    if (tq_cfg_float(cf, rs, "attention_factor", &af, 1e-6, 1e6)) {
        c->rope_mscale = af;
    } else {
        if (cf->st) return cf->st;
        double s = (double)c->max_seq_len / orig;
        c->rope_mscale = s <= 1.0 ? 1.0f : (float)sqrt(1.0 + log(s) / log((double)orig));
    }
    if (c->max_seq_len > orig) c->max_seq_len = orig;
    return TQ_OK;
}

tq_status tq_llama_config_read(const char *path, tq_llama_config *c, tq_error *err) {
    tq_cfg j;
    if (tq_cfg_open(&j, path, 0, err)) return j.st;
    memset(c, 0, sizeof *c);
    /* the row: Hugging Face's config.json has hidden_size, Meta's params.json dim */
    const tq_arch *a = tq_cfg_item(j.root, tq_arch_llama_hf.key_hint) ? &tq_arch_llama_hf : &tq_arch_llama2c;
    const tq_arch_keys *k = &a->keys;
    c->naming = (tq_llama_naming)a->id;
    c->norm_eps = a->def.eps;
    c->rope_theta = 10000.0f;
    c->max_seq_len = a->def.max_pos;
    c->tied = -1;
    tq_cfg_int(&j, j.root, k->dim, &c->dim, 1, BIG);
    tq_cfg_int(&j, j.root, k->hidden_dim, &c->hidden_dim, 1, BIG);
    tq_cfg_int(&j, j.root, k->n_layers, &c->n_layers, 1, 4096);
    tq_cfg_int(&j, j.root, k->n_heads, &c->n_heads, 1, 65536);
    tq_cfg_int(&j, j.root, k->n_kv_heads, &c->n_kv_heads, 1, 65536);
    /* Meta writes vocab_size -1 for "from the tokenizer" */
    const cJSON *v = tq_cfg_item(j.root, k->vocab);
    if (!(a == &tq_arch_llama2c && cJSON_IsNumber(v) && v->valuedouble < 0))
        tq_cfg_int(&j, j.root, k->vocab, &c->vocab_size, 1, BIG);
    tq_cfg_int(&j, j.root, k->max_pos, &c->max_seq_len, 1, BIG);
    tq_cfg_float(&j, j.root, k->eps, &c->norm_eps, 0, 1);
    const cJSON *tie = tq_cfg_item(j.root, "tie_word_embeddings");
    if (cJSON_IsBool(tie)) c->tied = cJSON_IsTrue(tie);
    const cJSON *rs = tq_cfg_item(j.root, "rope_scaling");
    if (a == &tq_arch_llama_hf && rs && !j.st) {
        tq_status rst = read_longrope(&j, rs, c);
        if (rst && !j.st) j.st = rst;
    }
    tq_cfg_float(&j, j.root, "rope_theta", &c->rope_theta, 1, 1e12);
    tq_cfg_close(&j);
    if (j.st) return j.st;
    if (!c->dim || !c->n_layers || !c->n_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: lacks \"%s\"", path,
                      !c->dim ? k->dim : !c->n_layers ? k->n_layers : k->n_heads);
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

int tq_llama_detect(const tq_model *m) { return tq_arch_detect(m, TQ_FAMILY_DECODER, NULL) != NULL; }
