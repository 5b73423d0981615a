/*
 * encoder_config.c — read a BERT / DistilBERT configuration (Hugging Face
 * config.json) and the sentence-transformers files beside it, and recognise
 * encoder checkpoints by their tensor names.
 *
 * Absent keys take transformers' defaults (BertConfig / DistilBertConfig);
 * a key that is present with a wrong type or value is an error naming the
 * file and the key.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1 << 24)

/* Integer key: absent -> *out unchanged; present -> checked and stored. */
static void get_int(const cJSON *j, const char *key, int *out, int lo, int hi, const char *path, tq_status *st,
                    tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (*st || !v || cJSON_IsNull(v)) return;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        *st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be an integer in [%d, %d]", path, key, lo, hi);
        return;
    }
    *out = (int)v->valuedouble;
}

static void get_float(const cJSON *j, const char *key, float *out, double lo, double hi, const char *path,
                      tq_status *st, tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (*st || !v || cJSON_IsNull(v)) return;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        *st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be a number in [%g, %g]", path, key, lo, hi);
        return;
    }
    *out = (float)v->valuedouble;
}

static void get_act(const cJSON *j, const char *key, tq_enc_act *out, const char *path, tq_status *st, tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (*st || !v || cJSON_IsNull(v)) return;
    if (!cJSON_IsString(v)) { *st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be a string", path, key); return; }
    const char *s = v->valuestring;
    if (!strcmp(s, "gelu")) *out = TQ_ACT_GELU;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh")) *out = TQ_ACT_GELU_TANH;
    else if (!strcmp(s, "relu")) *out = TQ_ACT_RELU;
    else *st = tq_err(err, TQ_E_UNSUPPORTED, "%s: \"%s\" is \"%s\"; supported: gelu, gelu_new, gelu_pytorch_tanh, relu",
                      path, key, s);
}

/* id2label: {"0": "name", ...} with keys exactly 0..n-1. Names longer than
 * TQ_ENC_LABEL_LEN - 1 bytes are cut there. */
static void get_labels(const cJSON *j, tq_enc_config *c, const char *path, tq_status *st, tq_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    if (*st || !v || cJSON_IsNull(v)) return;
    if (!cJSON_IsObject(v)) { *st = tq_err(err, TQ_E_FORMAT, "%s: \"id2label\" must be an object", path); return; }
    int n = cJSON_GetArraySize(v);
    if (n > TQ_ENC_MAX_LABELS) {
        *st = tq_err(err, TQ_E_LIMIT, "%s: \"id2label\" has %d labels, at most %d are supported", path, n, TQ_ENC_MAX_LABELS);
        return;
    }
    unsigned char seen[TQ_ENC_MAX_LABELS] = {0};
    for (const cJSON *e = v->child; e; e = e->next) {
        char *end;
        long id = strtol(e->string, &end, 10);
        if (!*e->string || *end || id < 0 || id >= n || seen[id] || !cJSON_IsString(e)) {
            *st = tq_err(err, TQ_E_FORMAT, "%s: \"id2label\" entry \"%s\" must map an id in [0, %d), once, to a string",
                         path, e->string, n);
            return;
        }
        seen[id] = 1;
        snprintf(c->labels[id], TQ_ENC_LABEL_LEN, "%s", e->valuestring);
    }
    c->n_labels = n;
}

static cJSON *read_json(const char *path, tq_status *st, tq_error *err) {
    char *text;
    size_t len;
    if ((*st = tq_read_file(path, &text, &len, err))) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        *st = tq_err(err, TQ_E_FORMAT, "%s: not valid JSON", path);
        return NULL;
    }
    return j;
}

static tq_status read_config(const char *path, tq_enc_config *c, tq_error *err) {
    tq_status st = TQ_OK;
    cJSON *j = read_json(path, &st, err);
    if (!j) return st;
    if (!cJSON_IsObject(j)) { cJSON_Delete(j); return tq_err(err, TQ_E_FORMAT, "%s: not a JSON object", path); }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (mt && !cJSON_IsString(mt)) st = tq_err(err, TQ_E_FORMAT, "%s: \"model_type\" must be a string", path);
    else if (mt && !strcmp(mt->valuestring, "bert")) c->arch = TQ_ENC_BERT;
    else if (mt && !strcmp(mt->valuestring, "distilbert")) c->arch = TQ_ENC_DISTILBERT;
    else if (mt) st = tq_err(err, TQ_E_UNSUPPORTED, "%s: \"model_type\" is \"%s\"; the encoder runs \"bert\" and \"distilbert\"",
                             path, mt->valuestring);
    else if (cJSON_GetObjectItemCaseSensitive(j, "hidden_size")) c->arch = TQ_ENC_BERT;
    else if (cJSON_GetObjectItemCaseSensitive(j, "dim") && cJSON_GetObjectItemCaseSensitive(j, "n_layers")) c->arch = TQ_ENC_DISTILBERT;
    else st = tq_err(err, TQ_E_FORMAT, "%s: no \"model_type\", and neither BERT's \"hidden_size\" nor DistilBERT's "
                     "\"dim\"/\"n_layers\": not an encoder configuration", path);
    if (st) { cJSON_Delete(j); return st; }

    /* transformers' defaults */
    c->vocab_size = 30522; c->dim = 768; c->n_layers = c->arch == TQ_ENC_BERT ? 12 : 6; c->n_heads = 12;
    c->hidden_dim = 3072; c->max_pos = 512; c->ln_eps = 1e-12f; c->act = TQ_ACT_GELU; c->pad_token_id = 0;
    c->type_vocab_size = c->arch == TQ_ENC_BERT ? 2 : 0;
    get_int(j, "vocab_size", &c->vocab_size, 1, BIG, path, &st, err);
    get_int(j, "max_position_embeddings", &c->max_pos, 1, BIG, path, &st, err);
    get_int(j, "pad_token_id", &c->pad_token_id, 0, BIG, path, &st, err);
    if (c->arch == TQ_ENC_BERT) {
        get_int(j, "hidden_size", &c->dim, 1, BIG, path, &st, err);
        get_int(j, "num_hidden_layers", &c->n_layers, 1, 4096, path, &st, err);
        get_int(j, "num_attention_heads", &c->n_heads, 1, 65536, path, &st, err);
        get_int(j, "intermediate_size", &c->hidden_dim, 1, BIG, path, &st, err);
        get_int(j, "type_vocab_size", &c->type_vocab_size, 1, BIG, path, &st, err);
        get_float(j, "layer_norm_eps", &c->ln_eps, 0, 1, path, &st, err);
        get_act(j, "hidden_act", &c->act, path, &st, err);
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type");
        if (!st && pe && !cJSON_IsNull(pe)) {
            if (!cJSON_IsString(pe)) st = tq_err(err, TQ_E_FORMAT, "%s: \"position_embedding_type\" must be a string", path);
            else if (strcmp(pe->valuestring, "absolute") != 0)
                st = tq_err(err, TQ_E_UNSUPPORTED, "%s: \"position_embedding_type\" is \"%s\"; only \"absolute\" is supported",
                            path, pe->valuestring);
        }
    } else {
        get_int(j, "dim", &c->dim, 1, BIG, path, &st, err);
        get_int(j, "n_layers", &c->n_layers, 1, 4096, path, &st, err);
        get_int(j, "n_heads", &c->n_heads, 1, 65536, path, &st, err);
        get_int(j, "hidden_dim", &c->hidden_dim, 1, BIG, path, &st, err);
        get_act(j, "activation", &c->act, path, &st, err);
    }
    get_labels(j, c, path, &st, err);
    /* which head: the architectures transformers saved the model as */
    c->head = 0;
    const cJSON *ar = cJSON_GetObjectItemCaseSensitive(j, "architectures");
    if (!st && ar && !cJSON_IsNull(ar)) {
        if (!cJSON_IsArray(ar)) st = tq_err(err, TQ_E_FORMAT, "%s: \"architectures\" must be an array of names", path);
        for (const cJSON *a = ar ? ar->child : NULL; !st && a; a = a->next) {
            if (!cJSON_IsString(a)) { st = tq_err(err, TQ_E_FORMAT, "%s: \"architectures\" must be an array of names", path); break; }
            size_t n = strlen(a->valuestring), k = strlen("ForSequenceClassification");
            int seq = n >= k && !strcmp(a->valuestring + n - k, "ForSequenceClassification");
            if (seq) c->head = 1;
            else if (c->head == 0) c->head = -1;
        }
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(j, "problem_type");
    if (!st && pt && !cJSON_IsNull(pt)) {
        if (!cJSON_IsString(pt) || (strcmp(pt->valuestring, "single_label_classification") &&
                                    strcmp(pt->valuestring, "multi_label_classification") &&
                                    strcmp(pt->valuestring, "regression")))
            st = tq_err(err, TQ_E_FORMAT, "%s: \"problem_type\" must be \"single_label_classification\", "
                        "\"multi_label_classification\" or \"regression\"", path);
        else c->multi_label = !strcmp(pt->valuestring, "multi_label_classification");
    }
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(j, "is_decoder");
    if (!st && cJSON_IsTrue(dec))
        st = tq_err(err, TQ_E_UNSUPPORTED, "%s: \"is_decoder\" is true (causal attention); the encoder runs "
                    "bidirectional attention only", path);
    cJSON_Delete(j);
    if (st) return st;
    if (c->pad_token_id >= c->vocab_size)
        return tq_err(err, TQ_E_FORMAT, "%s: \"pad_token_id\" %d is outside the vocabulary [0, %d)", path,
                      c->pad_token_id, c->vocab_size);
    if (c->dim % c->n_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: \"%s\" %d is not divisible by \"%s\" %d", path,
                      c->arch == TQ_ENC_BERT ? "hidden_size" : "dim", c->dim,
                      c->arch == TQ_ENC_BERT ? "num_attention_heads" : "n_heads", c->n_heads);
    return TQ_OK;
}

/* sentence-transformers: the Pooling module's config gives the pooling mode. */
static tq_status read_pooling(const char *path, tq_enc_config *c, tq_error *err) {
    tq_status st = TQ_OK;
    cJSON *j = read_json(path, &st, err);
    if (!j) return st;
    static const char *const modes[] = {"pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                                        "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                        "pooling_mode_lasttoken"};
    int on[6] = {0}, n_on = 0;
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, modes[i]);
        if (v && !cJSON_IsBool(v)) { st = tq_err(err, TQ_E_FORMAT, "%s: \"%s\" must be true or false", path, modes[i]); break; }
        on[i] = cJSON_IsTrue(v);
        n_on += on[i];
    }
    cJSON_Delete(j);
    if (st) return st;
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
        cJSON *j = read_json(mpath, &st, err);
        if (!j) goto out;
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
        cJSON_Delete(j);
        if (st) goto out;
    } else {
        pool = tq_path_join(dir, "1_Pooling/config.json");
        if (!pool) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
    }
    if (pool && tq_file_exists(pool) && (st = read_pooling(pool, c, err))) goto out;
    if (tq_file_exists(sb)) {
        cJSON *j = read_json(sb, &st, err);
        if (!j) goto out;
        get_int(j, "max_seq_length", &c->seq_limit, 1, BIG, sb, &st, err);
        cJSON_Delete(j);
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

int tq_enc_detect(const tq_model *m) {
    static const char *const pre[] = {"", "bert.", "distilbert."};
    char a[128], b[128];
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%sembeddings.word_embeddings.weight", pre[i]);
        if (!tq_model_find(m, a)) continue;
        snprintf(b, sizeof b, "%sencoder.layer.0.attention.self.query.weight", pre[i]);
        if (tq_model_find(m, b)) return TQ_ENC_BERT;
        snprintf(b, sizeof b, "%stransformer.layer.0.attention.q_lin.weight", pre[i]);
        if (tq_model_find(m, b)) return TQ_ENC_DISTILBERT;
    }
    return 0;
}
