/*
 * gguf_policy.c — what `--type T` means and which ggml type each tensor gets,
 * exactly as llama.cpp's llama-quantize decides without an importance matrix
 * (FORMATS.md §3.7-3.8; checked against llama.cpp itself by
 * tests/py/gguf_write_llamacpp.py).
 *
 * A tensor's type is decided in four steps:
 *   1. never quantized (stored F32): fewer than 2 dimensions, a name not ending
 *      in "weight", or a name in NEVER (norms, BERT positions and token types,
 *      MoE routers, ...);
 *   2. the file type's base type, or the output rule: output.weight (and
 *      token_embd.weight when the file has no output.weight) becomes Q8_0 when
 *      ne[0] is not a multiple of the base block size, else Q6_K unless the
 *      base is Q8_0;
 *   3. the mixture rules of RULES for the file type and the tensor's category
 *      (attn_v, ffn_down, attn_output, attn_qkv);
 *   4. the shape fallback when ne[0] is not a multiple of the chosen type's
 *      block size (FALLBACK), and F16 when even that does not fit.
 * Not modelled (they never apply to the families trueq writes): falcon's and
 * 8-expert MoE rules, the 70B bump of attn_v, the IQ and TQ file types.
 */
#include "convert/gguf_policy.h"
#include "ggml/ggml_types.h"
#include <stdio.h>
#include <string.h>

/* ===== file types ========================================================== */

static const tq_gguf_ftype FTYPES[] = {
    {"F32", NULL, 0, TQ_GGML_F32},
    {"F16", NULL, 1, TQ_GGML_F16},
    {"BF16", NULL, 32, TQ_GGML_BF16},
    {"Q8_0", NULL, 7, TQ_GGML_Q8_0},
    {"Q4_0", NULL, 2, TQ_GGML_Q4_0},
    {"Q4_1", NULL, 3, TQ_GGML_Q4_1},
    {"Q5_0", NULL, 8, TQ_GGML_Q5_0},
    {"Q5_1", NULL, 9, TQ_GGML_Q5_1},
    {"Q2_K", NULL, 10, TQ_GGML_Q2_K},
    {"Q3_K", "Q3_K_M", 12, TQ_GGML_Q3_K},
    {"Q4_K", "Q4_K_M", 15, TQ_GGML_Q4_K},
    {"Q5_K", "Q5_K_M", 17, TQ_GGML_Q5_K},
    {"Q6_K", NULL, 18, TQ_GGML_Q6_K},
};
#define N_FTYPES (sizeof FTYPES / sizeof FTYPES[0])

const tq_gguf_ftype *tq_gguf_ftype_by_name(const char *name) {
    for (size_t i = 0; name && i < N_FTYPES; i++)
        if (strcmp(FTYPES[i].name, name) == 0 || (FTYPES[i].alias && strcmp(FTYPES[i].alias, name) == 0)) return &FTYPES[i];
    return NULL;
}

const char *tq_gguf_ftype_names(char *buf, size_t cap) {
    size_t o = 0;
    if (cap) buf[0] = 0;
    for (size_t i = 0; i < N_FTYPES && o < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i == 0 ? "" : i + 1 == N_FTYPES ? " or " : ", ", FTYPES[i].name);
        if (w < 0) break;
        o += (size_t)w;
    }
    return buf;
}

/* ===== step 1: never quantized ============================================= */

/* Substrings (kind 0) or exact names (kind 1) llama-quantize always copies. */
static const struct { int exact; const char *s; } NEVER[] = {
    {0, "_norm.weight"}, {0, "ffn_gate_inp.weight"}, {1, "position_embd.weight"}, {1, "token_types.weight"},
    {0, "ssm_conv1d.weight"}, {0, "attn_rel_b.weight"}, {0, "pos_embd"},
};

/* ===== step 3: mixture rules =============================================== */

typedef enum { CAT_OTHER, CAT_OUTPUT, CAT_ATTN_V, CAT_FFN_DOWN, CAT_ATTN_OUT, CAT_ATTN_QKV } category;
typedef enum {
    C_ALWAYS,     /* then                                                       */
    C_MORE_BITS,  /* then when use_more_bits(i, n), else unchanged               */
    C_FIRST,      /* then when i < arg, else other                               */
    C_N_DIV,      /* then when i < n / arg, else other                           */
    C_GQA,        /* then when n_heads / n_kv_heads >= arg, else other           */
} condition;

static const struct { const char *pat; category cat; } CATEGORIES[] = {
    {"attn_v.weight", CAT_ATTN_V}, {"ffn_down", CAT_FFN_DOWN}, {"attn_output.weight", CAT_ATTN_OUT},
    {"attn_qkv.weight", CAT_ATTN_QKV},
};

/* other = -1: leave the type as it is. */
static const struct { int ftype; category cat; condition cond; int arg, then, other; } RULES[] = {
    {10, CAT_ATTN_V, C_GQA, 4, TQ_GGML_Q4_K, TQ_GGML_Q3_K},
    {10, CAT_FFN_DOWN, C_ALWAYS, 0, TQ_GGML_Q3_K, -1},
    {10, CAT_ATTN_OUT, C_ALWAYS, 0, TQ_GGML_Q3_K, -1},
    {12, CAT_ATTN_V, C_FIRST, 2, TQ_GGML_Q5_K, TQ_GGML_Q4_K},
    {12, CAT_FFN_DOWN, C_N_DIV, 16, TQ_GGML_Q5_K, TQ_GGML_Q4_K},
    {12, CAT_ATTN_OUT, C_ALWAYS, 0, TQ_GGML_Q4_K, -1},
    {12, CAT_ATTN_QKV, C_ALWAYS, 0, TQ_GGML_Q4_K, -1},
    {15, CAT_ATTN_V, C_MORE_BITS, 0, TQ_GGML_Q6_K, -1},
    {15, CAT_FFN_DOWN, C_MORE_BITS, 0, TQ_GGML_Q6_K, -1},
    {15, CAT_ATTN_QKV, C_ALWAYS, 0, TQ_GGML_Q5_K, -1},
    {17, CAT_ATTN_V, C_MORE_BITS, 0, TQ_GGML_Q6_K, -1},
    {17, CAT_FFN_DOWN, C_MORE_BITS, 0, TQ_GGML_Q6_K, -1},
    {17, CAT_ATTN_QKV, C_ALWAYS, 0, TQ_GGML_Q6_K, -1},
};

/* ===== step 4: shape fallbacks ============================================= */

static const struct { int from, to; } FALLBACK[] = {
    {TQ_GGML_Q2_K, TQ_GGML_Q4_0}, {TQ_GGML_Q3_K, TQ_GGML_Q4_0}, {TQ_GGML_Q4_K, TQ_GGML_Q5_0},
    {TQ_GGML_Q5_K, TQ_GGML_Q5_1}, {TQ_GGML_Q6_K, TQ_GGML_Q8_0},
};

/* llama.cpp's use_more_bits: the first and last eighth of the layers and
 * every third one between. */
static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int64_t block_of(int t) { const tq_ggml_type_info *ti = tq_ggml_type(t); return ti ? ti->block : 1; }
static const char *tname(int t) { const tq_ggml_type_info *ti = tq_ggml_type(t); return ti ? ti->name : "?"; }

static int rule_applies(const tq_gguf_policy *pol, condition c, int arg, int i, int n) {
    switch (c) {
    case C_ALWAYS: return 1;
    case C_MORE_BITS: return use_more_bits(i, n);
    case C_FIRST: return i < arg;
    case C_N_DIV: return i < n / arg;
    case C_GQA: return pol->n_gqa >= arg;
    }
    return 0;
}

int tq_gguf_policy_type(tq_gguf_policy *pol, const char *name, int n_dims, const int64_t *ne, int force, char *rule,
                        size_t cap) {
    const tq_gguf_ftype *ft = pol->ft;
    int nd = n_dims;
    while (nd > 1 && ne[nd - 1] == 1) nd--;      /* ggml_n_dims */
    size_t len = strlen(name);
    if (force < 0) { snprintf(rule, cap, "kept F32: --exclude"); return TQ_GGML_F32; }
    if (!force) {
        if (nd < 2) { snprintf(rule, cap, "kept F32: %d-D tensor (llama.cpp never quantizes these)", nd); return TQ_GGML_F32; }
        if (len < 6 || strcmp(name + len - 6, "weight") != 0) { snprintf(rule, cap, "kept F32: not a weight"); return TQ_GGML_F32; }
        for (size_t k = 0; k < sizeof NEVER / sizeof NEVER[0]; k++)
            if (NEVER[k].exact ? strcmp(name, NEVER[k].s) == 0 : strstr(name, NEVER[k].s) != NULL) {
                snprintf(rule, cap, "kept F32: llama.cpp never quantizes *%s*", NEVER[k].s);
                return TQ_GGML_F32;
            }
    }
    int t = ft->base;
    const char *why = force > 0 ? "--include" : "base type";
    if (tq_ggml_type(t)->block > 1 && !force) {      /* the per-tensor rules apply to quantized file types only */
        category cat = CAT_OTHER;
        if (strcmp(name, "output.weight") == 0 || (!pol->has_output && strcmp(name, "token_embd.weight") == 0)) cat = CAT_OUTPUT;
        for (size_t k = 0; cat == CAT_OTHER && k < sizeof CATEGORIES / sizeof CATEGORIES[0]; k++)
            if (strstr(name, CATEGORIES[k].pat)) cat = CATEGORIES[k].cat;
        int i = 0, n = pol->n_layers;
        if (cat == CAT_ATTN_V) { i = pol->i_attn_v++; n = pol->n_attn_v; }
        if (cat == CAT_FFN_DOWN) i = pol->i_ffn_down++;
        if (cat == CAT_OUTPUT) {
            if (ne[0] % block_of(t)) { t = TQ_GGML_Q8_0; why = "output rule (ne[0] not a multiple of the block)"; }
            else if (t != TQ_GGML_Q8_0) { t = TQ_GGML_Q6_K; why = "output rule"; }
        }
        for (size_t k = 0; k < sizeof RULES / sizeof RULES[0]; k++) {
            if (RULES[k].ftype != ft->ftype || RULES[k].cat != cat) continue;
            if (rule_applies(pol, RULES[k].cond, RULES[k].arg, i, n)) { t = RULES[k].then; why = "mixture rule"; }
            else if (RULES[k].other >= 0) { t = RULES[k].other; why = "mixture rule"; }
        }
    }
    if (ne[0] % block_of(t)) {
        int from = t;
        t = TQ_GGML_F16;
        for (size_t k = 0; k < sizeof FALLBACK / sizeof FALLBACK[0]; k++)
            if (FALLBACK[k].from == from) t = FALLBACK[k].to;
        if (ne[0] % block_of(t)) t = TQ_GGML_F16;
        snprintf(rule, cap, "%s %s, ne[0] = %lld not a multiple of %lld: fallback %s", why, tname(from), (long long)ne[0],
                 (long long)block_of(from), tname(t));
        return t;
    }
    snprintf(rule, cap, "%s %s", why, tname(t));
    return t;
}
