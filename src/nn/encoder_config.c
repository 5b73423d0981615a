/*
 * encoder_config.c — read a BERT / DistilBERT configuration (Hugging Face
 * config.json) and the sentence-transformers files beside it, and recognise
 * encoder checkpoints by their tensor names.
 *
 * The family row (nn/arch/) names the keys and gives transformers' defaults
 * (BertConfig / DistilBertConfig) for absent ones; a key that is present
 * with a wrong type or value is an error naming the file, the key, the value
 * and the range (nn/config.h).
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "nn/config.h"
#include "nn/arch/table.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1 << 24)

/* id2label: {"0": "name", ...} with keys exactly 0..n-1. Names longer than
 * TQ_ENC_LABEL_LEN - 1 bytes are cut there. */
static void get_labels(tq_cfg *j, tq_enc_config *c) {
    const cJSON *v = tq_cfg_item(j->root, "id2label");
    if (j->st || !v) return;
    if (!cJSON_IsObject(v)) { tq_cfg_fail(j, TQ_E_FORMAT, "\"id2label\" must be an object"); return; }
    int n = cJSON_GetArraySize(v);
    if (n > TQ_ENC_MAX_LABELS) {
        tq_cfg_fail(j, TQ_E_LIMIT, "\"id2label\" has %d labels, at most %d are supported", n, TQ_ENC_MAX_LABELS);
        return;
    }
    unsigned char seen[TQ_ENC_MAX_LABELS] = {0};
    for (const cJSON *e = v->child; e; e = e->next) {
        char *end;
        long id = strtol(e->string, &end, 10);
        if (!*e->string || *end || id < 0 || id >= n || seen[id] || !cJSON_IsString(e)) {
            tq_cfg_fail(j, TQ_E_FORMAT, "\"id2label\" entry \"%s\" must map an id in [0, %d), once, to a string",
                        e->string, n);
            return;
        }
        seen[id] = 1;
        snprintf(c->labels[id], TQ_ENC_LABEL_LEN, "%s", e->valuestring);
    }
    c->n_labels = n;
}

/* The family row: model_type names it, else a key only that family has. */
static const tq_arch *which_arch(tq_cfg *j) {
    const char *mt = NULL;
    if (tq_cfg_string(j, j->root, "model_type", &mt)) {
        const tq_arch *a = tq_arch_by_model_type(TQ_FAMILY_ENCODER, mt);
        if (!a && (!strcmp(mt, "xlm-roberta") || !strcmp(mt, "xlm_roberta"))) {
            tq_cfg_fail(j, TQ_E_UNSUPPORTED, "\"model_type\" is \"%s\": XLM-RoBERTa is not supported (its tokenizer is "
                        "a sentencepiece Unigram model, which trueq does not tokenize; RoBERTa's byte-level BPE is "
                        "\"roberta\")", mt);
            return NULL;
        }
        if (!a) {
            char list[128] = "";
            size_t used = 0;
            for (int i = 0; i < tq_arch_count() && used < sizeof list; i++)
                if (tq_arch_at(i)->family == TQ_FAMILY_ENCODER && tq_arch_at(i)->model_type)
                    used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", used ? " and " : "",
                                             tq_arch_at(i)->model_type);
            tq_cfg_fail(j, TQ_E_UNSUPPORTED, "\"model_type\" is \"%s\"; the encoder runs %s", mt, list);
        }
        return a;
    }
    if (j->st) return NULL;
    /* no model_type: the first row whose own keys (a hint and its width) are there */
    for (int i = 0; i < tq_arch_count(); i++) {
        const tq_arch *a = tq_arch_at(i);
        if (a->family == TQ_FAMILY_ENCODER && a->key_hint && tq_cfg_item(j->root, a->key_hint) && tq_cfg_item(j->root, a->keys.dim))
            return a;
    }
    tq_cfg_fail(j, TQ_E_FORMAT, "no \"model_type\", and neither BERT's \"hidden_size\" nor DistilBERT's "
                "\"dim\"/\"n_layers\": not an encoder configuration");
    return NULL;
}

static tq_status read_config(const char *path, tq_enc_config *c, tq_error *err) {
    tq_cfg j;
    if (tq_cfg_open(&j, path, 0, err)) return j.st;
    const tq_arch *a = which_arch(&j);
    if (!a) { tq_cfg_close(&j); return j.st; }
    c->arch = (tq_enc_arch)a->id;
    /* transformers' defaults, then the row's keys */
    const tq_arch_defaults *d = &a->def;
    const tq_arch_keys *k = &a->keys;
    c->vocab_size = d->vocab; c->dim = d->dim; c->n_layers = d->n_layers; c->n_heads = d->n_heads;
    c->hidden_dim = d->hidden_dim; c->max_pos = d->max_pos; c->ln_eps = d->eps; c->act = (tq_enc_act)d->act;
    c->pad_token_id = d->pad; c->type_vocab_size = d->type_vocab;
    tq_cfg_int(&j, j.root, k->vocab, &c->vocab_size, 1, BIG);
    tq_cfg_int(&j, j.root, k->max_pos, &c->max_pos, 1, BIG);
    tq_cfg_int(&j, j.root, "pad_token_id", &c->pad_token_id, 0, BIG);
    tq_cfg_int(&j, j.root, k->dim, &c->dim, 1, BIG);
    tq_cfg_int(&j, j.root, k->n_layers, &c->n_layers, 1, 4096);
    tq_cfg_int(&j, j.root, k->n_heads, &c->n_heads, 1, 65536);
    tq_cfg_int(&j, j.root, k->hidden_dim, &c->hidden_dim, 1, BIG);
    if (k->type_vocab) tq_cfg_int(&j, j.root, k->type_vocab, &c->type_vocab_size, 1, BIG);
    if (k->eps) tq_cfg_float(&j, j.root, k->eps, &c->ln_eps, 0, 1);
    static const char *const act_names[] = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu"};
    static const int act_vals[] = {TQ_ACT_GELU, TQ_ACT_GELU_TANH, TQ_ACT_GELU_TANH, TQ_ACT_RELU};
    int act = (int)c->act;
    if (k->act && tq_cfg_choice(&j, j.root, k->act, act_names, act_vals, 4, &act)) c->act = (tq_enc_act)act;
    if (k->pos_type) {   /* only learned absolute positions are run */
        static const char *const pe[] = {"absolute"};
        int dummy;
        tq_cfg_choice(&j, j.root, k->pos_type, pe, NULL, 1, &dummy);
    }
    get_labels(&j, c);
    /* which head: the architectures transformers saved the model as */
    c->head = 0;
    const cJSON *ar = tq_cfg_item(j.root, "architectures");
    if (!j.st && ar) {
        if (!cJSON_IsArray(ar)) tq_cfg_fail(&j, TQ_E_FORMAT, "\"architectures\" must be an array of names");
        for (const cJSON *e = ar->child; !j.st && e; e = e->next) {
            if (!cJSON_IsString(e)) { tq_cfg_fail(&j, TQ_E_FORMAT, "\"architectures\" must be an array of names"); break; }
            size_t n = strlen(e->valuestring), kl = strlen("ForSequenceClassification");
            int seq = n >= kl && !strcmp(e->valuestring + n - kl, "ForSequenceClassification");
            if (seq) c->head = 1;
            else if (c->head == 0) c->head = -1;
        }
    }
    static const char *const problems[] = {"single_label_classification", "multi_label_classification", "regression"};
    const cJSON *pt = tq_cfg_item(j.root, "problem_type");
    if (!j.st && pt) {
        int i = 0;
        while (cJSON_IsString(pt) && i < 3 && strcmp(pt->valuestring, problems[i])) i++;
        if (!cJSON_IsString(pt) || i == 3)
            tq_cfg_fail(&j, TQ_E_FORMAT, "\"problem_type\" must be \"single_label_classification\", "
                        "\"multi_label_classification\" or \"regression\"");
        else c->multi_label = i == 1;
    }
    if (!j.st && cJSON_IsTrue(tq_cfg_item(j.root, "is_decoder")))
        tq_cfg_fail(&j, TQ_E_UNSUPPORTED, "\"is_decoder\" is true (causal attention); the encoder runs "
                    "bidirectional attention only");
    tq_cfg_close(&j);
    if (j.st) return j.st;
    if (c->pad_token_id >= c->vocab_size)
        return tq_err(err, TQ_E_FORMAT, "%s: \"pad_token_id\" %d is outside the vocabulary [0, %d)", path,
                      c->pad_token_id, c->vocab_size);
    if (c->dim % c->n_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: \"%s\" %d is not divisible by \"%s\" %d", path, k->dim, c->dim,
                      k->n_heads, c->n_heads);
    return TQ_OK;
}

/* sentence-transformers: the Pooling module's config gives the pooling mode. */
static tq_status read_pooling(const char *path, tq_enc_config *c, tq_error *err) {
    tq_cfg j;
    if (tq_cfg_open(&j, path, 1, err)) return j.st;
    static const char *const modes[] = {"pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                                        "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                        "pooling_mode_lasttoken"};
    int on[6] = {0}, n_on = 0;
    for (int i = 0; i < 6; i++) {
        tq_cfg_bool(&j, j.root, modes[i], &on[i]);
        n_on += on[i];
    }
    tq_cfg_close(&j);
    if (j.st) return j.st;
    if (n_on != 1 || !(on[0] || on[1]))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: only one of \"pooling_mode_cls_token\" or \"pooling_mode_mean_tokens\" "
                      "set is supported", path);
    c->pooling = on[0] ? TQ_POOL_CLS : TQ_POOL_MEAN;
    return TQ_OK;
}

static tq_status read_sentence_transformers(const char *dir, tq_enc_config *c, tq_error *err) {
    tq_status st = TQ_OK;
    char *mpath = tq_path_join(dir, "modules.json");
    char *pool = NULL, *sb = tq_path_join(dir, "sentence_bert_config.json");
    if (!mpath || !sb) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
    if (tq_file_exists(mpath)) {
        tq_cfg cj;
        if ((st = tq_cfg_open(&cj, mpath, 1, err))) goto out;
        const cJSON *j = cj.root;
        if (!cJSON_IsArray(j)) st = tq_err(err, TQ_E_FORMAT, "%s: must be an array of modules", mpath);
        for (const cJSON *m = j->child; !st && m; m = m->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "path");
            if (!cJSON_IsString(type) || !cJSON_IsString(p)) {
                st = tq_err(err, TQ_E_FORMAT, "%s: every module needs string \"type\" and \"path\"", mpath);
                break;
            }
            const char *t = type->valuestring, *dot = strrchr(t, '.');
            const char *base = dot ? dot + 1 : t;
            if (!strcmp(base, "Normalize")) c->normalize = 1;
            else if (!strcmp(base, "Pooling") && !pool) {
                char *pd = tq_path_join(dir, p->valuestring);
                pool = pd ? tq_path_join(pd, "config.json") : NULL;
                free(pd);
                if (!pool) st = tq_err(err, TQ_E_NOMEM, "out of memory");
            } else if (strcmp(base, "Transformer") != 0)
                /* Dense, LayerNorm, ... change the vector: skipping them would
                 * give a different embedding, so refuse */
                st = tq_err(err, TQ_E_UNSUPPORTED, "%s: module \"%s\" is not supported (trueq runs Transformer, one "
                            "Pooling and Normalize)", mpath, t);
        }
        tq_cfg_close(&cj);
        if (st) goto out;
    } else {
        pool = tq_path_join(dir, "1_Pooling/config.json");
        if (!pool) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
    }
    if (pool && tq_file_exists(pool) && (st = read_pooling(pool, c, err))) goto out;
    if (tq_file_exists(sb)) {
        tq_cfg cj;
        if ((st = tq_cfg_open(&cj, sb, 1, err))) goto out;
        tq_cfg_int(&cj, cj.root, "max_seq_length", &c->seq_limit, 1, BIG);
        st = cj.st;
        tq_cfg_close(&cj);
    }
out:
    free(mpath); free(pool); free(sb);
    return st;
}

tq_status tq_enc_config_find(const char *dir, tq_enc_config *cfg, tq_error *err) {
    memset(cfg, 0, sizeof *cfg);
    char *p = tq_path_join(dir, "config.json");
    if (!p) return tq_err(err, TQ_E_NOMEM, "out of memory");
    if (!tq_file_exists(p)) {
        free(p);
        return tq_err(err, TQ_E_NOTFOUND, "%s: no config.json describes the encoder", dir);
    }
    tq_status st = read_config(p, cfg, err);
    free(p);
    if (!st) st = read_sentence_transformers(dir, cfg, err);
    if (st) memset(cfg, 0, sizeof *cfg);
    return st;
}

const char *tq_enc_arch_name(tq_enc_arch a) {
    const tq_arch *r = tq_arch_by_id(TQ_FAMILY_ENCODER, (int)a);
    return r ? r->title : "unknown";
}

int tq_enc_detect(const tq_model *m) {
    const tq_arch *a = tq_arch_detect(m, TQ_FAMILY_ENCODER, NULL);
    return a ? a->id : 0;
}
