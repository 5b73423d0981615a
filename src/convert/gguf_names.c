/*
 * gguf_names.c — model families as llama.cpp names them: one row per trueq
 * family (a src/nn/arch row) with the GGUF architecture, the GGUF name of
 * every tensor role, whether q/k rows are permuted, the tokenizer model and
 * the hyper-parameter keys (FORMATS.md §2.4-2.5).
 *
 * The q/k permutation: Hugging Face checkpoints rotate the halves of each
 * head (pairs j, j + head_size/2); llama.cpp's `llama` graph, like Meta's
 * original weights and llama2.c, rotates interleaved pairs (2j, 2j+1). So
 * rows of q_proj (n_heads heads) and k_proj (n_kv_heads heads) from HF names
 * are reordered as convert_hf_to_gguf.py does: within a head of R rows, new
 * row 2p + s is old row s*R/2 + p. llama2.c / Meta names are not permuted.
 *
 * To add a family: one row in FAMILIES (its arch row name, GGUF arch, role
 * names and key table), and a test in tests/test_gguf_convert.c.
 */
#include "convert/gguf_names.h"
#include "nn/arch/table.h"
#include "nn/llama_gguf.h"
#include "trueq_llama.h"
#include "trueq_nn.h"
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum { HP_U32, HP_F32, HP_FALSE } hp_type;   /* HP_FALSE: a BOOL written as false */
/* suffix: the key after "{arch}."; a suffix starting with '/' is the whole key. */
typedef struct hp_key { const char *suffix; hp_type type; size_t off; } hp_key;

#define HP(s, t, f) {s, t, offsetof(tq_gguf_hparams, f)}
static const hp_key LLAMA_KEYS[] = {
    HP("context_length", HP_U32, ctx), HP("embedding_length", HP_U32, dim), HP("block_count", HP_U32, n_layers),
    HP("feed_forward_length", HP_U32, hidden), HP("attention.head_count", HP_U32, n_heads),
    HP("attention.head_count_kv", HP_U32, n_kv_heads), HP("rope.freq_base", HP_F32, rope_theta),
    HP("attention.layer_norm_rms_epsilon", HP_F32, eps), HP("vocab_size", HP_U32, vocab),
    HP("rope.dimension_count", HP_U32, head_dim), {NULL, HP_U32, 0}};
static const hp_key BERT_KEYS[] = {
    HP("context_length", HP_U32, ctx), HP("embedding_length", HP_U32, dim), HP("feed_forward_length", HP_U32, hidden),
    HP("block_count", HP_U32, n_layers), HP("attention.head_count", HP_U32, n_heads),
    HP("attention.layer_norm_epsilon", HP_F32, eps), HP("attention.causal", HP_FALSE, dim),
    HP("pooling_type", HP_U32, pooling), HP("/tokenizer.ggml.token_type_count", HP_U32, type_vocab), {NULL, HP_U32, 0}};

typedef tq_status (*hp_reader)(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err);
static tq_status llama_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err);
static tq_status bert_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err);
static tq_status gguf_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err);

struct tq_gguf_family {
    const char   *arch_row;     /* the src/nn/arch row                          */
    tq_family     nn_family;
    const char   *gguf_arch;    /* general.architecture                         */
    const char   *tokenizer;    /* tokenizer.ggml.model                         */
    int           permute_qk;   /* HF rotate-half -> interleaved pairs          */
    const char   *names[TQ_R_COUNT]; /* GGUF name without ".weight"/".bias"     */
    uint32_t      dropped;      /* roles llama.cpp's graph does not read: not written */
    const char   *skip_suffix;  /* source tensors not written (buffers)         */
    const hp_key *keys;         /* {arch}.* keys                                */
    hp_reader     hparams;      /* where the hyper-parameters come from          */
};

#define LLAMA_NAMES                                                                                              \
    [TQ_R_TOK_EMB] = "token_embd", [TQ_R_ATT_NORM] = "blk.%d.attn_norm", [TQ_R_Q] = "blk.%d.attn_q",               \
    [TQ_R_K] = "blk.%d.attn_k", [TQ_R_V] = "blk.%d.attn_v", [TQ_R_O] = "blk.%d.attn_output",                       \
    [TQ_R_FFN_NORM] = "blk.%d.ffn_norm", [TQ_R_FFN_GATE] = "blk.%d.ffn_gate", [TQ_R_FFN_UP] = "blk.%d.ffn_up",     \
    [TQ_R_FFN_DOWN] = "blk.%d.ffn_down", [TQ_R_FINAL_NORM] = "output_norm", [TQ_R_OUTPUT] = "output"

/* llama.cpp's `bert` layout (BERT and DistilBERT, as convert_hf_to_gguf.py
 * writes both): post-norms after attention and after the FFN. */
#define BERT_NAMES                                                                                               \
    [TQ_R_TOK_EMB] = "token_embd", [TQ_R_TYPE_EMB] = "token_types", [TQ_R_POS_EMB] = "position_embd",            \
    [TQ_R_EMB_NORM] = "token_embd_norm", [TQ_R_Q] = "blk.%d.attn_q", [TQ_R_K] = "blk.%d.attn_k",                   \
    [TQ_R_V] = "blk.%d.attn_v", [TQ_R_O] = "blk.%d.attn_output", [TQ_R_ATT_NORM] = "blk.%d.attn_output_norm",      \
    [TQ_R_FFN_UP] = "blk.%d.ffn_up", [TQ_R_FFN_DOWN] = "blk.%d.ffn_down", [TQ_R_FFN_NORM] = "blk.%d.layer_output_norm"
#define BERT_DROPPED (TQ_ROLE_BIT(TQ_R_POOLER) | TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS))

static const tq_gguf_family FAMILIES[] = {
    {"llama2c", TQ_FAMILY_DECODER, "llama", "llama", 0, {LLAMA_NAMES}, 0, NULL, LLAMA_KEYS, llama_hparams},
    /* GGUF input (GGUF -> GGUF): already in llama.cpp's names and row order */
    {"llama-gguf", TQ_FAMILY_DECODER, "llama", "llama", 0, {LLAMA_NAMES}, 0, NULL, LLAMA_KEYS, gguf_hparams},
    {"llama-hf", TQ_FAMILY_DECODER, "llama", "llama", 1, {LLAMA_NAMES}, 0, "rotary_emb.inv_freq", LLAMA_KEYS, llama_hparams},
    {"bert", TQ_FAMILY_ENCODER, "bert", "bert", 0, {BERT_NAMES}, BERT_DROPPED, "position_ids", BERT_KEYS, bert_hparams},
    {"distilbert", TQ_FAMILY_ENCODER, "bert", "bert", 0, {BERT_NAMES}, BERT_DROPPED, NULL, BERT_KEYS, bert_hparams},
};
#define N_FAMILIES (sizeof FAMILIES / sizeof FAMILIES[0])

const char *tq_gguf_family_arch(const tq_gguf_family *f) { return f->gguf_arch; }
const char *tq_gguf_family_tokenizer(const tq_gguf_family *f) { return f->tokenizer; }

const tq_gguf_family *tq_gguf_family_detect(const tq_model *m, const char **prefix, tq_error *err) {
    for (size_t i = 0; i < N_FAMILIES; i++) {
        const tq_arch *a = tq_arch_by_name(FAMILIES[i].arch_row);
        const char *p = a ? tq_arch_prefix(m, a) : NULL;
        if (p) { *prefix = p; return &FAMILIES[i]; }
    }
    char names[256];
    size_t o = 0;
    for (size_t i = 0; i < N_FAMILIES && o < sizeof names; i++) {
        const tq_arch *a = tq_arch_by_name(FAMILIES[i].arch_row);
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "", a ? a->title : FAMILIES[i].arch_row);
    }
    tq_err(err, TQ_E_UNSUPPORTED, "%s: not a model family trueq writes as GGUF (%s)", tq_model_path(m), names);
    return NULL;
}

static int is_layer_name(const char *s) { return strstr(s, "%d") != NULL; }

tq_status tq_gguf_family_map(const tq_gguf_family *f, const tq_model *m, const char *prefix, const tq_tensor *t,
                             int n_heads, int n_kv_heads, int n_layers, tq_gguf_map *out, tq_error *err) {
    const tq_arch *a = tq_arch_by_name(f->arch_row);
    memset(out, 0, sizeof *out);
    size_t len = strlen(t->name), sl = f->skip_suffix ? strlen(f->skip_suffix) : 0;
    if (sl && len >= sl && strcmp(t->name + len - sl, f->skip_suffix) == 0) return TQ_OK;
    char buf[256];
    for (int r = 0; r < TQ_R_COUNT; r++) {
        if (!a->tensor[r]) continue;
        int layered = is_layer_name(a->tensor[r]), nl = layered ? n_layers : 1;
        for (int l = 0; l < nl; l++)
            for (int bias = 0; bias < 2; bias++) {
                if (!tq_arch_name(a, prefix, (tq_role)r, l, bias, buf, sizeof buf) || strcmp(buf, t->name) != 0) continue;
                if (f->dropped & TQ_ROLE_BIT(r)) return TQ_OK;   /* out->name "": not written */
                if (!f->names[r])
                    return tq_err(err, TQ_E_UNSUPPORTED, "%s: tensor \"%s\" has no place in llama.cpp's %s layout",
                                  tq_model_path(m), t->name, f->gguf_arch);
                char base[64];
                if (layered) {
                    const char *d = strstr(f->names[r], "%d");
                    snprintf(base, sizeof base, "%.*s%d%s", (int)(d - f->names[r]), f->names[r], l, d + 2);
                } else {
                    snprintf(base, sizeof base, "%s", f->names[r]);
                }
                if (strlen(base) + 7 > TQ_GGUF_MAX_NAME)
                    return tq_err(err, TQ_E_LIMIT, "tensor \"%s\": GGUF name %s is too long", t->name, base);
                memcpy(out->name, base, strlen(base));
                memcpy(out->name + strlen(base), bias ? ".bias" : ".weight", bias ? 6 : 8);
                if (f->permute_qk && (r == TQ_R_Q || r == TQ_R_K)) out->permute_heads = r == TQ_R_Q ? n_heads : n_kv_heads;
                return TQ_OK;
            }
    }
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: tensor \"%s\" is not one of the %s roles trueq knows (no GGUF name for it)",
                  tq_model_path(m), t->name, a->title);
}

static int64_t rows_of(const tq_model *m, const tq_arch *a, const char *prefix, tq_role r) {
    const tq_tensor *t = tq_arch_find(m, a, prefix, r, 0, 0);
    return t && t->ndim == 2 ? t->shape[0] : 0;
}

static void llama_fill(const tq_model *m, const tq_arch *a, const char *prefix, const tq_llama_config *cfg,
                       tq_gguf_hparams *hp) {
    tq_llama_config c = *cfg;
    hp->dim = c.dim; hp->n_layers = c.n_layers; hp->n_heads = c.n_heads;
    hp->n_kv_heads = c.n_kv_heads ? c.n_kv_heads : c.n_heads;
    hp->hidden = c.hidden_dim ? c.hidden_dim : (int)rows_of(m, a, prefix, TQ_R_FFN_GATE);
    hp->vocab = c.vocab_size ? c.vocab_size : (int)rows_of(m, a, prefix, TQ_R_TOK_EMB);
    hp->ctx = c.max_seq_len; hp->eps = c.norm_eps; hp->rope_theta = c.rope_theta;
}

static tq_status llama_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err) {
    tq_llama_config c;
    tq_status st = tq_llama_config_find(tq_model_dir(m), &c, err);
    if (st) return tq_err_prefix(err, st, "GGUF output needs the model's configuration");
    llama_fill(m, a, prefix, &c, hp);
    return TQ_OK;
}

/* A GGUF input: the llama.* KVs as the GGUF config reader takes them. */
static tq_status gguf_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err) {
    const tq_gguf *g = tq_model_gguf(m);
    if (!g) return tq_err(err, TQ_E_UNSUPPORTED, "%s: llama.cpp tensor names outside a GGUF file", tq_model_path(m));
    tq_llama_config c;
    tq_status st = tq_llama_config_gguf(g, tq_model_path(m), &c, err);
    if (st) return tq_err_prefix(err, st, "GGUF output needs the model's configuration");
    llama_fill(m, a, prefix, &c, hp);
    return TQ_OK;
}

static tq_status bert_hparams(const tq_model *m, const tq_arch *a, const char *prefix, tq_gguf_hparams *hp, tq_error *err) {
    tq_enc_config c;
    tq_status st = tq_enc_config_find(tq_model_dir(m), &c, err);
    if (st) return tq_err_prefix(err, st, "GGUF output needs the model's configuration");
    hp->dim = c.dim; hp->n_layers = c.n_layers; hp->n_heads = hp->n_kv_heads = c.n_heads;
    hp->hidden = c.hidden_dim;
    hp->vocab = c.vocab_size ? c.vocab_size : (int)rows_of(m, a, prefix, TQ_R_TOK_EMB);
    hp->ctx = c.max_pos; hp->eps = c.ln_eps;
    hp->type_vocab = c.type_vocab_size > 0 ? c.type_vocab_size : 1;   /* DistilBERT: 1, as convert_hf_to_gguf.py writes */
    hp->pooling = c.pooling == TQ_POOL_CLS ? 2 : 1;   /* llama.cpp's pooling_type: 1 mean, 2 CLS */
    return TQ_OK;
}

tq_status tq_gguf_family_hparams(const tq_gguf_family *f, const tq_model *m, const char *prefix, tq_gguf_hparams *hp,
                                 tq_error *err) {
    memset(hp, 0, sizeof *hp);
    tq_status st = f->hparams(m, tq_arch_by_name(f->arch_row), prefix, hp, err);
    if (st) return st;
    if (hp->dim <= 0 || hp->n_heads <= 0 || hp->dim % hp->n_heads || hp->n_layers <= 0 || hp->hidden <= 0 || hp->vocab <= 0 ||
        hp->n_kv_heads <= 0 || hp->n_heads % hp->n_kv_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: incomplete configuration (dim %d, heads %d/%d, layers %d, hidden %d, vocab %d)",
                      tq_model_dir(m), hp->dim, hp->n_heads, hp->n_kv_heads, hp->n_layers, hp->hidden, hp->vocab);
    hp->head_dim = hp->dim / hp->n_heads;
    return TQ_OK;
}

int tq_gguf_family_kvs(const tq_gguf_family *f, const tq_gguf_hparams *hp, char keys[][64], tq_gguf_wkv *kv) {
    int n = 0;
    for (const hp_key *k = f->keys; k->suffix && n < TQ_GGUF_FAMILY_MAX_KV; k++, n++) {
        if (k->suffix[0] == '/') snprintf(keys[n], 64, "%s", k->suffix + 1);
        else snprintf(keys[n], 64, "%s.%s", f->gguf_arch, k->suffix);
        memset(&kv[n], 0, sizeof kv[n]);
        kv[n].key = keys[n];
        if (k->type == HP_U32) { kv[n].type = TQ_GGUF_UINT32; kv[n].num.u = (uint64_t)*(const int *)((const char *)hp + k->off); }
        else if (k->type == HP_F32) { kv[n].type = TQ_GGUF_FLOAT32; kv[n].num.f = *(const float *)((const char *)hp + k->off); }
        else { kv[n].type = TQ_GGUF_BOOL; kv[n].num.u = 0; }
    }
    return n;
}
