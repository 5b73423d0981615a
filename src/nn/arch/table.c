/*
 * table.c — the model-family table and name resolution (table.h).
 */
#include "nn/arch/table.h"
#include <stdio.h>
#include <string.h>

/* One row per family; detection tries them in this order. */
static const tq_arch *const TABLE[] = {
    &tq_arch_bert,
    &tq_arch_distilbert,
    &tq_arch_roberta,       /* after BERT: a bare RobertaModel's names are BERT's */
    &tq_arch_llama2c,
    &tq_arch_llama_hf,
    &tq_arch_llama_gguf,
    &tq_arch_qwen2,         /* after llama-hf: same names; config.json picks these */
    &tq_arch_phi3,
    &tq_arch_mistral,
};
#define N_ROWS ((int)(sizeof TABLE / sizeof TABLE[0]))

int tq_arch_count(void) { return N_ROWS; }
const tq_arch *tq_arch_at(int i) { return i >= 0 && i < N_ROWS ? TABLE[i] : NULL; }

const tq_arch *tq_arch_by_id(tq_family f, int id) {
    for (int i = 0; i < N_ROWS; i++)
        if (TABLE[i]->family == f && TABLE[i]->id == id) return TABLE[i];
    return NULL;
}

const tq_arch *tq_arch_by_name(const char *name) {
    for (int i = 0; name && i < N_ROWS; i++)
        if (!strcmp(TABLE[i]->name, name)) return TABLE[i];
    return NULL;
}

const tq_arch *tq_arch_by_model_type(tq_family f, const char *mt) {
    for (int i = 0; mt && i < N_ROWS; i++)
        if (TABLE[i]->family == f && TABLE[i]->model_type && !strcmp(TABLE[i]->model_type, mt)) return TABLE[i];
    return NULL;
}

/* Layer roles: their names hold the layer index. */
static int layer_role(tq_role r) {
    return r >= TQ_R_ATT_NORM && r <= TQ_R_FFN_GATE_UP;
}

int tq_arch_name(const tq_arch *a, const char *prefix, tq_role r, int layer, int bias, char *buf, size_t cap) {
    buf[0] = 0;
    if ((unsigned)r >= TQ_R_COUNT || !a->tensor[r] || (bias && !(a->bias & TQ_ROLE_BIT(r)))) return 0;
    const char *pre = (a->raw & TQ_ROLE_BIT(r)) || !prefix ? "" : prefix;
    char base[200];
    if (layer_role(r)) {
        /* the template holds one %d (tq_arch_incomplete checks it) */
        const char *d = strstr(a->tensor[r], "%d");
        snprintf(base, sizeof base, "%.*s%d%s", (int)(d - a->tensor[r]), a->tensor[r], layer, d + 2);
    } else {
        snprintf(base, sizeof base, "%s", a->tensor[r]);
    }
    snprintf(buf, cap, "%s%s%s", pre, base, bias ? ".bias" : ".weight");
    return 1;
}

const tq_tensor *tq_arch_find(const tq_model *m, const tq_arch *a, const char *prefix, tq_role r, int layer, int bias) {
    char name[256];
    return tq_arch_name(a, prefix, r, layer, bias, name, sizeof name) ? tq_model_find(m, name) : NULL;
}

const char *tq_arch_prefix(const tq_model *m, const tq_arch *a) {
    for (int i = 0; i < 4 && a->prefixes[i]; i++) {
        const char *p = a->prefixes[i];
        if (!tq_arch_find(m, a, p, TQ_R_TOK_EMB, 0, 0)) continue;
        if (tq_arch_find(m, a, p, a->detect, 0, 0) || tq_arch_find(m, a, p, TQ_R_QKV, 0, 0)) return p;
    }
    return NULL;
}

const tq_arch *tq_arch_detect(const tq_model *m, tq_family f, const char **prefix) {
    for (int i = 0; i < N_ROWS; i++) {
        if (TABLE[i]->family != f) continue;
        const char *p = tq_arch_prefix(m, TABLE[i]);
        if (p) {
            if (prefix) *prefix = p;
            return TABLE[i];
        }
    }
    return NULL;
}

static int count_d(const char *s) {
    int n = 0;
    for (const char *p = s; (p = strchr(p, '%')); p++) {
        if (p[1] != 'd') return -1;
        n++;
    }
    return n;
}

const char *tq_arch_incomplete(const tq_arch *a) {
    if (!a || !a->name || !*a->name || !a->title) return "no name or title";
    if (a->family != TQ_FAMILY_ENCODER && a->family != TQ_FAMILY_DECODER) return "no family";
    const tq_arch_keys *k = &a->keys;
    if (!k->dim || !k->n_layers || !k->n_heads || !k->hidden_dim || !k->vocab || !k->max_pos) return "a config key missing";
    if (!a->prefixes[0]) return "no prefix list (\"\" at least)";
    if (!a->tensor[TQ_R_TOK_EMB]) return "no token embeddings";
    if (!a->tensor[TQ_R_O]) return "no attention output";
    if (!((a->tensor[TQ_R_Q] && a->tensor[TQ_R_K] && a->tensor[TQ_R_V]) || a->tensor[TQ_R_QKV])) return "no q/k/v";
    if (!a->tensor[a->detect]) return "the detect role has no name";
    if (!a->tensor[TQ_R_ATT_NORM] || !a->tensor[TQ_R_FFN_NORM]) return "a block norm missing";
    if (!a->tensor[TQ_R_FFN_DOWN] || !(a->tensor[TQ_R_FFN_UP] || a->tensor[TQ_R_FFN_GATE_UP])) return "no feed-forward";
    if (a->act == TQ_ACTK_SILU_GATED && !a->tensor[TQ_R_FFN_GATE] && !a->tensor[TQ_R_FFN_GATE_UP]) return "gated without a gate";
    if (a->norm != TQ_NORM_LAYER && a->norm != TQ_NORM_RMS) return "no norm kind";
    if (a->norm_place != TQ_NORM_POST && a->norm_place != TQ_NORM_PRE) return "no norm place";
    if (a->pos < TQ_POS_ABSOLUTE || a->pos > TQ_POS_ABSOLUTE_PADDED) return "no position kind";
    if ((a->pos == TQ_POS_ABSOLUTE || a->pos == TQ_POS_ABSOLUTE_PADDED) && !a->tensor[TQ_R_POS_EMB])
        return "absolute positions without a table";
    if (a->head < TQ_HEAD_POOLER_TANH || a->head > TQ_HEAD_DENSE_TANH) return "no head kind";
    if ((a->head == TQ_HEAD_PRE_RELU || a->head == TQ_HEAD_DENSE_TANH) && a->tensor[TQ_R_CLS] && !a->tensor[TQ_R_PRE_CLS])
        return "a two-matrix head without its first matrix";
    if (a->head == TQ_HEAD_LM && !a->tensor[TQ_R_FINAL_NORM]) return "an LM head without a final norm";
    if (a->family == TQ_FAMILY_ENCODER && !a->tensor[TQ_R_EMB_NORM]) return "an encoder without an embedding norm";
    if (a->norm == TQ_NORM_LAYER && !(a->bias & TQ_ROLE_BIT(TQ_R_ATT_NORM))) return "LayerNorm without a bias";
    for (int r = 0; r < TQ_R_COUNT; r++) {
        if (!a->tensor[r]) continue;
        int n = count_d(a->tensor[r]);
        if (n != (layer_role((tq_role)r) ? 1 : 0)) return "a layer role without exactly one %d, or another with one";
    }
    return NULL;
}
