/*
 * llama_config.c — read a Llama configuration from params.json (Meta),
 * config.json (Hugging Face) or a GGUF file's llama.* metadata (llama.cpp),
 * and recognise Llama checkpoints by their names.
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include "nn/config.h"
#include "nn/gguf_kv.h"
#include "nn/llama_gguf.h"
#include "nn/arch/table.h"
#include "io/model.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
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

/* ---- GGUF (llama.cpp) ------------------------------------------------------ */

/* The GGUF architectures the decoder runs: general.architecture -> the row
 * whose keys (without the "ARCH." prefix) it reads. */
static const struct { const char *arch; const tq_arch *row; } GGUF_ARCHS[] = {
    {"llama", &tq_arch_llama_gguf},
};
#define N_GGUF_ARCHS ((int)(sizeof GGUF_ARCHS / sizeof GGUF_ARCHS[0]))

/* feed_forward_length: one number, or one per layer (all equal here). */
static void gguf_ffn(tq_gkv *k, const char *key, int n_layers, int *out) {
    const tq_gguf_value *v = tq_gkv_find(k, key);
    if (k->c.st || !v) return;
    if (v->type != TQ_GGUF_ARRAY) {
        int64_t h;
        if (tq_gkv_int(k, key, &h, 1, BIG)) *out = (int)h;
        return;
    }
    const tq_gguf_value *a;
    if (!tq_gkv_array(k, key, TQ_GGUF_UINT32, (uint64_t)n_layers, &a)) return;
    char full[256];
    for (uint64_t i = 0; i < a->count; i++) {
        uint32_t h = tq_ld32(a->elems + 4 * i);
        if (h < 1 || h > BIG || (i && h != (uint32_t)*out)) {
            tq_cfg_fail(&k->c, TQ_E_UNSUPPORTED, "GGUF key \"%s\"[%llu] is %u; the decoder needs one width in [1, %d] for every "
                        "layer", tq_gkv_name(k, key, full, sizeof full), (unsigned long long)i, h, BIG);
            return;
        }
        *out = (int)h;
    }
}

/* A key that, when present, must hold `want` (an integer). */
static void gguf_must_equal(tq_gkv *k, const char *key, int64_t want, const char *what) {
    int64_t v;
    char full[256];
    if (tq_gkv_int(k, key, &v, 0, INT32_MAX) && v != want)
        tq_cfg_fail(&k->c, TQ_E_UNSUPPORTED, "GGUF key \"%s\" is %lld; the decoder needs %s = %lld",
                    tq_gkv_name(k, key, full, sizeof full), (long long)v, what, (long long)want);
}

tq_status tq_llama_config_gguf(const tq_gguf *g, const char *path, tq_llama_config *c, tq_error *err) {
    memset(c, 0, sizeof *c);
    tq_gkv k = tq_gkv_init(g, path, "", err);
    tq_gguf_str arch = {0};
    if (!tq_gkv_require(&k, "general.architecture") || !tq_gkv_string(&k, "general.architecture", &arch)) return k.c.st;
    const tq_arch *a = NULL;
    char list[128] = "", prefix[64];
    for (int i = 0; i < N_GGUF_ARCHS; i++) {
        if (tq_gkv_str_is(arch, GGUF_ARCHS[i].arch)) a = GGUF_ARCHS[i].row;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", GGUF_ARCHS[i].arch);
    }
    if (!a)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: GGUF architecture \"%.*s\" (general.architecture) is not one the decoder "
                      "runs; supported: %s", path, (int)(arch.len > 64 ? 64 : arch.len), arch.s, list);
    snprintf(prefix, sizeof prefix, "%.*s.", (int)arch.len, arch.s);
    k.prefix = prefix;
    const tq_arch_keys *K = &a->keys;
    c->naming = (tq_llama_naming)a->id;
    c->rope_theta = 10000.0f;
    c->tied = -1;
    int64_t v;
    double f;
    const char *required[] = {K->max_pos, K->dim, K->n_layers, K->hidden_dim, K->n_heads, K->eps};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) tq_gkv_require(&k, required[i]);
    if (tq_gkv_int(&k, K->max_pos, &v, 1, BIG)) c->max_seq_len = (int)v;
    if (tq_gkv_int(&k, K->dim, &v, 1, BIG)) c->dim = (int)v;
    if (tq_gkv_int(&k, K->n_layers, &v, 1, 4096)) c->n_layers = (int)v;
    if (tq_gkv_int(&k, K->n_heads, &v, 1, 65536)) c->n_heads = (int)v;
    if (tq_gkv_int(&k, K->n_kv_heads, &v, 1, 65536)) c->n_kv_heads = (int)v;
    gguf_ffn(&k, K->hidden_dim, c->n_layers, &c->hidden_dim);
    if (tq_gkv_float(&k, K->eps, &f, 0, 1)) c->norm_eps = (float)f;
    if (tq_gkv_float(&k, "rope.freq_base", &f, 1e-6, 1e12)) c->rope_theta = (float)f;
    if (tq_gkv_int(&k, K->vocab, &v, 1, BIG)) c->vocab_size = (int)v;
    if (k.c.st) return k.c.st;
    /* what this decoder does not run, refused by name */
    tq_gguf_str rs;
    char full[256];
    if (tq_gkv_string(&k, "rope.scaling.type", &rs) && !tq_gkv_str_is(rs, "none"))
        tq_cfg_fail(&k.c, TQ_E_UNSUPPORTED, "GGUF key \"%s\" is \"%.*s\"; the decoder runs plain RoPE only (\"none\")",
                    tq_gkv_name(&k, "rope.scaling.type", full, sizeof full), (int)(rs.len > 64 ? 64 : rs.len), rs.s);
    if (tq_gkv_float(&k, "rope.scale_linear", &f, 0, 1e12) && f != 1.0)
        tq_cfg_fail(&k.c, TQ_E_UNSUPPORTED, "GGUF key \"%s\" is %g; the decoder runs plain RoPE only (1)",
                    tq_gkv_name(&k, "rope.scale_linear", full, sizeof full), f);
    if (tq_gkv_int(&k, "expert_count", &v, 0, INT32_MAX) && v > 0)
        tq_cfg_fail(&k.c, TQ_E_UNSUPPORTED, "GGUF key \"%s\" is %lld: mixture-of-experts models are not supported",
                    tq_gkv_name(&k, "expert_count", full, sizeof full), (long long)v);
    if (c->dim % c->n_heads == 0) {
        int hs = c->dim / c->n_heads;
        gguf_must_equal(&k, "rope.dimension_count", hs, "RoPE on the whole head: embedding_length / head_count");
        gguf_must_equal(&k, "attention.key_length", hs, "a head size of embedding_length / head_count");
        gguf_must_equal(&k, "attention.value_length", hs, "a head size of embedding_length / head_count");
    }
    /* the vocabulary: the tokenizer's tokens when present */
    const tq_gguf_value *toks = NULL;
    k.prefix = "";
    if (tq_gkv_find(&k, "tokenizer.ggml.tokens") && tq_gkv_array(&k, "tokenizer.ggml.tokens", TQ_GGUF_STRING, 0, &toks)) {
        if (c->vocab_size && (uint64_t)c->vocab_size != toks->count)
            tq_cfg_fail(&k.c, TQ_E_FORMAT, "GGUF key \"%svocab_size\" is %d but tokenizer.ggml.tokens holds %llu tokens",
                        prefix, c->vocab_size, (unsigned long long)toks->count);
        else if (toks->count < 1 || toks->count > BIG)
            tq_cfg_fail(&k.c, TQ_E_FORMAT, "tokenizer.ggml.tokens holds %llu tokens, outside [1, %d]",
                        (unsigned long long)toks->count, BIG);
        else c->vocab_size = (int)toks->count;
    }
    return k.c.st;
}

/* 1 when path starts with the GGUF magic. */
int tq_llama_is_gguf(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return 0;
    char m[4];
    int r = fread(m, 1, 4, f) == 4 && memcmp(m, "GGUF", 4) == 0;
    fclose(f);
    return r;
}

static tq_status config_gguf_file(const char *path, tq_llama_config *c, tq_error *err) {
    tq_map m;
    tq_status st = tq_map_open(&m, path, err);
    if (st) return st;
    tq_gguf g;
    st = tq_gguf_parse(m.data, m.size, path, &g, err);
    if (!st) st = tq_llama_config_gguf(&g, path, c, err);
    tq_gguf_free(&g);
    tq_map_close(&m);
    return st;
}

tq_status tq_llama_config_read(const char *path, tq_llama_config *c, tq_error *err) {
    if (tq_llama_is_gguf(path)) return config_gguf_file(path, c, err);
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

/* A GGUF model is a decoder only when its general.architecture is one the
 * decoder runs: a BERT GGUF also holds token_embd and blk.N.attn_q. */
int tq_llama_detect(const tq_model *m) {
    const tq_gguf *g = tq_model_gguf(m);
    if (g) {
        tq_gkv k = tq_gkv_init(g, tq_model_path(m), "", NULL);
        tq_gguf_str arch = {0};
        int known = 0;
        if (tq_gkv_string(&k, "general.architecture", &arch))
            for (int i = 0; i < N_GGUF_ARCHS; i++) known |= tq_gkv_str_is(arch, GGUF_ARCHS[i].arch);
        if (!known) return 0;
    }
    return tq_arch_detect(m, TQ_FAMILY_DECODER, NULL) != NULL;
}
