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

/* rope_scaling of type "longrope" (or its older name "su"), as Phi-3 uses it
 * (transformers 4.46, Phi3LongRoPEScaledRotaryEmbedding): short_factor[n]
 * divides each pair's frequency for sequences up to
 * original_max_position_embeddings (top-level or inside rope_scaling),
 * long_factor[n] for longer ones; rotated q/k are scaled by
 * attention_factor, by default sqrt(1 + ln(s) / ln(original)) with
 * s = max_position_embeddings / original (1 when s <= 1). */
static tq_status read_factors(tq_cfg *cf, const cJSON *rs, const char *key, float *out, int *n) {
    const cJSON *sf = cJSON_GetObjectItemCaseSensitive(rs, key);
    int nf = cJSON_IsArray(sf) ? cJSON_GetArraySize(sf) : 0;
    if (nf < 1 || nf > TQ_LLAMA_MAX_ROPE_FACTORS)
        return tq_cfg_fail(cf, TQ_E_FORMAT, "%s: rope_scaling needs a \"%s\" array of 1 to %d numbers", cf->path, key,
                           TQ_LLAMA_MAX_ROPE_FACTORS);
    int k = 0;
    for (const cJSON *v = sf->child; v; v = v->next, k++) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !isfinite(v->valuedouble))
            return tq_cfg_fail(cf, TQ_E_FORMAT, "%s: rope_scaling %s[%d] must be a number > 0", cf->path, key, k);
        out[k] = (float)v->valuedouble;
    }
    *n = nf;
    return TQ_OK;
}

static tq_status read_longrope(tq_cfg *cf, const cJSON *rs, tq_llama_config *c) {
    const char *path = cf->path;
    if (read_factors(cf, rs, "short_factor", c->rope_factors, &c->n_rope_factors)) return cf->st;
    if (cJSON_GetObjectItemCaseSensitive(rs, "long_factor")) {
        if (read_factors(cf, rs, "long_factor", c->rope_long_factors, &c->n_rope_long)) return cf->st;
        if (c->n_rope_long != c->n_rope_factors)
            return tq_cfg_fail(cf, TQ_E_FORMAT, "%s: rope_scaling long_factor has %d numbers, short_factor %d", path,
                               c->n_rope_long, c->n_rope_factors);
    }
    int orig = 0;
    if (!tq_cfg_int(cf, cf->root, "original_max_position_embeddings", &orig, 2, BIG))
        tq_cfg_int(cf, rs, "original_max_position_embeddings", &orig, 2, BIG);
    if (cf->st) return cf->st;
    if (!orig) return tq_cfg_fail(cf, TQ_E_FORMAT, "%s: longrope needs \"original_max_position_embeddings\"", path);
    c->rope_orig_ctx = orig;
    float af = 0;
    if (tq_cfg_float(cf, rs, "attention_factor", &af, 1e-6, 1e6)) {
        c->rope_mscale = af;
    } else {
        if (cf->st) return cf->st;
        double s = (double)c->max_seq_len / orig;
        c->rope_mscale = s <= 1.0 ? 1.0f : (float)sqrt(1.0 + log(s) / log((double)orig));
    }
    return TQ_OK;
}

/* rope_type "llama3" (transformers' _compute_llama3_parameters) as one
 * factor per pair: with wavelength w_j = 2 pi / f_j and the original context
 * L, pairs with w_j > L / low_freq_factor turn `factor` times slower, pairs
 * with w_j < L / high_freq_factor as before, and those between by the smooth
 * blend (1 - t) f_j / factor + t f_j, t = (L / w_j - low) / (high - low). */
static tq_status read_llama3(tq_cfg *cf, const cJSON *rs, tq_llama_config *c, int rope_dim) {
    float factor = 0, lo = 1, hi = 4;
    int orig = 0;
    tq_cfg_require(cf, rs, "factor");
    tq_cfg_float(cf, rs, "factor", &factor, 1e-6, 1e6);
    tq_cfg_float(cf, rs, "low_freq_factor", &lo, 1e-6, 1e6);
    tq_cfg_float(cf, rs, "high_freq_factor", &hi, 1e-6, 1e6);
    tq_cfg_require(cf, rs, "original_max_position_embeddings");
    tq_cfg_int(cf, rs, "original_max_position_embeddings", &orig, 1, BIG);
    if (cf->st) return cf->st;
    if (!(hi > lo)) return tq_cfg_fail(cf, TQ_E_FORMAT, "%s: rope_scaling llama3 needs high_freq_factor > low_freq_factor", cf->path);
    int n = rope_dim / 2;
    if (n < 1 || n > TQ_LLAMA_MAX_ROPE_FACTORS)
        return tq_cfg_fail(cf, TQ_E_LIMIT, "%s: rope_scaling llama3 over %d pairs (at most %d)", cf->path, n, TQ_LLAMA_MAX_ROPE_FACTORS);
    double lo_w = orig / (double)lo, hi_w = orig / (double)hi;
    for (int j = 0; j < n; j++) {
        double f = pow((double)c->rope_theta, -2.0 * j / rope_dim), w = 2 * M_PI / f, g = f;
        if (w > lo_w) g = f / factor;
        else if (w >= hi_w) {
            double t = (orig / w - lo) / (hi - lo);
            g = (1 - t) * f / factor + t * f;
        }
        c->rope_factors[j] = (float)(f / g);
    }
    c->n_rope_factors = n;
    c->rope_mscale = 1.0f;
    return TQ_OK;
}

/* rope_scaling (absent: plain RoPE): "longrope"/"su", "llama3", "linear"
 * (every frequency divided by factor) or "default"; others refused by name. */
static tq_status read_rope_scaling(tq_cfg *cf, const cJSON *rs, tq_llama_config *c, int rope_dim) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    if (!cJSON_IsString(type)) type = cJSON_GetObjectItemCaseSensitive(rs, "type");
    const char *t = cJSON_IsObject(rs) && cJSON_IsString(type) ? type->valuestring : NULL;
    if (t && (!strcmp(t, "longrope") || !strcmp(t, "su"))) return read_longrope(cf, rs, c);
    if (t && !strcmp(t, "llama3")) return read_llama3(cf, rs, c, rope_dim);
    if (t && !strcmp(t, "default")) return TQ_OK;
    if (t && !strcmp(t, "linear")) {
        float factor = 0;
        tq_cfg_require(cf, rs, "factor");
        tq_cfg_float(cf, rs, "factor", &factor, 1e-6, 1e6);
        if (cf->st) return cf->st;
        c->n_rope_factors = rope_dim / 2;
        for (int j = 0; j < c->n_rope_factors && j < TQ_LLAMA_MAX_ROPE_FACTORS; j++) c->rope_factors[j] = factor;
        c->rope_mscale = 1.0f;
        return TQ_OK;
    }
    return tq_cfg_fail(cf, TQ_E_UNSUPPORTED, "%s: \"rope_scaling\" of type %s is not supported (plain RoPE, \"default\", "
                       "\"linear\", \"llama3\" and \"longrope\")", cf->path, t ? t : "(none)");
}

/* The Hugging Face decoder row: "architectures"[0], else "model_type", else
 * (neither given) LlamaForCausalLM's row; a named family the decoder does not
 * run is TQ_E_UNSUPPORTED listing the ones it does. */
static const tq_arch *hf_row(tq_cfg *j) {
    const char *cls = NULL, *mt = NULL;
    const cJSON *arr = tq_cfg_item(j->root, "architectures");
    if (cJSON_IsArray(arr) && cJSON_IsString(cJSON_GetArrayItem(arr, 0))) cls = cJSON_GetArrayItem(arr, 0)->valuestring;
    tq_cfg_string(j, j->root, "model_type", &mt);
    if (j->st) return NULL;
    if (!cls && !mt) return &tq_arch_llama_hf;
    char list[256] = "";
    for (int i = 0; i < tq_arch_count(); i++) {
        const tq_arch *a = tq_arch_at(i);
        if (a->family != TQ_FAMILY_DECODER || !a->hf_class) continue;
        if (cls ? !strcmp(cls, a->hf_class) : !strcmp(mt, a->model_type)) return a;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", a->hf_class);
    }
    tq_cfg_fail(j, TQ_E_UNSUPPORTED, "%s: %s \"%s\" is not a decoder family trueq runs; supported: %s", j->path,
                cls ? "architectures[0]" : "model_type", cls ? cls : mt, list);
    return NULL;
}

/* eos_token_id of obj: an integer or a list of them, into c (replacing what
 * was there). */
static void read_eos(tq_cfg *j, const cJSON *obj, tq_llama_config *c) {
    const cJSON *e = tq_cfg_item(obj, "eos_token_id");
    if (!e || j->st) return;
    int n = 0;
    if (cJSON_IsNumber(e)) {
        tq_cfg_int(j, obj, "eos_token_id", &c->eos_ids[0], 0, BIG);
        n = 1;
    } else if (cJSON_IsArray(e)) {
        for (const cJSON *v = e->child; v && !j->st; v = v->next, n++) {
            if (n >= TQ_LLAMA_MAX_EOS || !cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > BIG ||
                v->valuedouble != (int)v->valuedouble)
                tq_cfg_fail(j, TQ_E_FORMAT, "%s: \"eos_token_id\" must be an id or a list of at most %d ids in [0, %d]",
                            j->path, TQ_LLAMA_MAX_EOS, BIG);
            else c->eos_ids[n] = (int)v->valuedouble;
        }
    } else {
        tq_cfg_fail(j, TQ_E_FORMAT, "%s: \"eos_token_id\" must be an id or a list of ids", j->path);
    }
    if (!j->st) c->n_eos = n;
}

/* config.json's Hugging Face decoder keys beyond the shapes: the row, head_dim
 * (must be hidden_size / heads), partial rotary, rope_scaling, the sliding
 * window, EOS ids. */
static void read_hf_extra(tq_cfg *j, const tq_arch *a, tq_llama_config *c) {
    int hs = c->n_heads > 0 && c->dim % c->n_heads == 0 ? c->dim / c->n_heads : 0, hd = 0;
    if (tq_cfg_int(j, j->root, "head_dim", &hd, 1, BIG) && hs && hd != hs)
        tq_cfg_fail(j, TQ_E_UNSUPPORTED, "%s: \"head_dim\" is %d; the decoder needs hidden_size / num_attention_heads = %d",
                    j->path, hd, hs);
    float prf = 1;
    if (tq_cfg_float(j, j->root, "partial_rotary_factor", &prf, 1e-6, 1) && hs) {
        c->rope_dim = (int)(hs * prf);
        if (c->rope_dim < 2 || c->rope_dim % 2)
            tq_cfg_fail(j, TQ_E_UNSUPPORTED, "%s: \"partial_rotary_factor\" %g turns %d of %d values per head; the "
                        "decoder needs an even number >= 2", j->path, (double)prf, c->rope_dim, hs);
        if (c->rope_dim == hs) c->rope_dim = 0;
    }
    tq_cfg_float(j, j->root, "rope_theta", &c->rope_theta, 1, 1e12);
    const cJSON *rs = tq_cfg_item(j->root, "rope_scaling");
    if (rs && !j->st && hs) read_rope_scaling(j, rs, c, c->rope_dim ? c->rope_dim : hs);
    int on = 1;
    if (a->window_key) {
        if (a->window_switch) {
            on = 0;
            tq_cfg_bool(j, j->root, a->window_switch, &on);
        }
        if (on) tq_cfg_int(j, j->root, a->window_key, &c->sliding_window, 1, BIG);
    }
    read_eos(j, j->root, c);
}

tq_status tq_llama_gen_config_read(const char *path, tq_llama_config *c, tq_error *err) {
    tq_cfg j;
    if (tq_cfg_open(&j, path, 0, err)) return j.st;
    read_eos(&j, j.root, c);
    tq_cfg_close(&j);
    return j.st;
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
    st = tq_gguf_parse_map(m.data, m.size, &m, path, &g, err);   /* KVs pinned before they are read */
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
    /* the row: Hugging Face's config.json has hidden_size (then its
     * architectures / model_type pick the family), Meta's params.json dim */
    const tq_arch *a = tq_cfg_item(j.root, tq_arch_llama_hf.key_hint) ? hf_row(&j) : &tq_arch_llama2c;
    if (!a) { tq_cfg_close(&j); return j.st; }
    const tq_arch_keys *k = &a->keys;
    c->naming = (tq_llama_naming)a->id;
    c->norm_eps = a->def.eps;
    c->rope_theta = 10000.0f;
    c->rope_mscale = 1.0f;
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
    if (a != &tq_arch_llama2c && !j.st) read_hf_extra(&j, a, c);
    else tq_cfg_float(&j, j.root, "rope_theta", &c->rope_theta, 1, 1e12);
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
            /* generate's EOS ids: generation_config.json beside it, when there */
            char *g = st ? NULL : tq_path_join(dir, "generation_config.json");
            if (!st && !g) return tq_err(err, TQ_E_NOMEM, "out of memory");
            if (g && tq_file_exists(g)) st = tq_llama_gen_config_read(g, cfg, err);
            free(g);
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
