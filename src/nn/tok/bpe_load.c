/*
 * bpe_load.c — byte-level BPE tokenizers from their files, and the tq_tok
 * row: dir/tokenizer.json with model type "BPE" (tokenizers' own file), or
 * dir/vocab.json + dir/merges.txt (GPT-2 and RoBERTa checkpoints), with
 * dir/tokenizer_config.json naming the special tokens when present.
 * Contracts in bpe.h; what is read and every error in docs/tokenizer.md.
 */
#include "nn/tok/bpe.h"
#include "nn/tok/tok.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *get(const cJSON *j, const char *k) { return cJSON_GetObjectItemCaseSensitive(j, k); }

/* A boolean key: absent or null gives def. */
static tq_status jbool(const cJSON *j, const char *k, int def, int *v, const char *name, tq_error *err) {
    const cJSON *x = get(j, k);
    *v = def;
    if (!x || cJSON_IsNull(x)) return TQ_OK;
    if (!cJSON_IsBool(x)) return tq_err(err, TQ_E_FORMAT, "%s: \"%s\" is not a boolean", name, k);
    *v = cJSON_IsTrue(x);
    return TQ_OK;
}

/* A string key that must be absent, null or "" (what trueq does not run). */
static tq_status jempty(const cJSON *j, const char *k, const char *name, tq_error *err) {
    const cJSON *x = get(j, k);
    if (!x || cJSON_IsNull(x) || (cJSON_IsString(x) && !x->valuestring[0])) return TQ_OK;
    if (!cJSON_IsString(x)) return tq_err(err, TQ_E_FORMAT, "%s: model \"%s\" is not a string", name, k);
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: model %s \"%s\" is not supported", name, k, x->valuestring);
}

static const char *jtype(const cJSON *j) {
    const cJSON *t = get(j, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* ---- normalizer, pre-tokenizer, post-processor, decoder ----------------- */

/* A component of tokenizer.json (normalizer, pre_tokenizer, post_processor):
 * null, a {"type": T, ...} object read by the row for T, or a Sequence of
 * components under seq_key. Each component's rows are a table below. */
typedef struct {
    const char *type;
    tq_status (*read)(void *ctx, const cJSON *p, const char *name, tq_error *err);
} reader;
typedef struct { const char *what, *seq_key; const reader *rows; size_t n; } component;

static tq_status read_component(const component *k, const cJSON *p, void *ctx, const char *name, tq_error *err) {
    if (!p || cJSON_IsNull(p)) return TQ_OK;
    const char *ty = jtype(p);
    if (!ty) return tq_err(err, TQ_E_FORMAT, "%s: a %s without a \"type\" string", name, k->what);
    if (!strcmp(ty, "Sequence")) {
        const cJSON *l = get(p, k->seq_key);
        if (!cJSON_IsArray(l))
            return tq_err(err, TQ_E_FORMAT, "%s: Sequence %s without \"%s\"", name, k->what, k->seq_key);
        for (const cJSON *c = l->child; c; c = c->next) {
            tq_status st = read_component(k, c, ctx, name, err);
            if (st) return st;
        }
        return TQ_OK;
    }
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (!strcmp(ty, k->rows[i].type)) return k->rows[i].read(ctx, p, name, err);
        if (used < sizeof list) used += (size_t)snprintf(list + used, sizeof list - used, "%s, ", k->rows[i].type);
    }
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: %s %s is not supported (%sSequence)", name, k->what, ty, list);
}

/* normalizers: ctx is the tq_bpe_pretok */
static const struct { const char *name; tq_bpe_norm n; } NORMS[] = {
    {"NFC", TQ_BPE_NFC}, {"NFKC", TQ_BPE_NFKC}, {"NFD", TQ_BPE_NFD}, {"NFKD", TQ_BPE_NFKD}};

static tq_status norm_form(void *ctx, const cJSON *p, const char *name, tq_error *err) {
    size_t i = 0;
    while (i + 1 < sizeof NORMS / sizeof NORMS[0] && strcmp(jtype(p), NORMS[i].name)) i++;
    return tq_bpe_pre_norm(ctx, NORMS[i].n, name, err);
}

static const reader NORM_ROWS[] = {{"NFC", norm_form}, {"NFKC", norm_form}, {"NFD", norm_form}, {"NFKD", norm_form}};
static const component NORMALIZER = {"normalizer", "normalizers", NORM_ROWS, sizeof NORM_ROWS / sizeof NORM_ROWS[0]};

static const struct { const char *name; tq_bpe_behavior b; } BEHAVIORS[] = {
    {"Removed", TQ_BPE_REMOVED}, {"Isolated", TQ_BPE_ISOLATED}, {"MergedWithPrevious", TQ_BPE_MERGED_PREV},
    {"MergedWithNext", TQ_BPE_MERGED_NEXT}, {"Contiguous", TQ_BPE_CONTIGUOUS}};

/* pre-tokenizers, one reader per type; ctx is the tq_bpe_pretok. To
 * run another type: a step kind in bpe_pretok.c and one row here. */
static tq_status pre_bytelevel(void *pt, const cJSON *p, const char *name, tq_error *err) {
    int a, b;
    tq_status st;
    if ((st = jbool(p, "add_prefix_space", 1, &a, name, err)) || (st = jbool(p, "use_regex", 1, &b, name, err))) return st;
    return tq_bpe_pre_bytelevel(pt, a, b, name, err);
}

static tq_status pre_digits(void *pt, const cJSON *p, const char *name, tq_error *err) {
    int a;
    tq_status st = jbool(p, "individual_digits", 0, &a, name, err);
    return st ? st : tq_bpe_pre_digits(pt, a, name, err);
}

static tq_status pre_split(void *pt, const cJSON *p, const char *name, tq_error *err) {
    const cJSON *pat = get(p, "pattern"), *re = get(pat, "Regex"), *lit = get(pat, "String"), *beh = get(p, "behavior");
    const cJSON *src = cJSON_IsString(re) ? re : lit;
    int inv;
    if (!cJSON_IsString(src) || !cJSON_IsString(beh))
        return tq_err(err, TQ_E_FORMAT, "%s: Split needs \"pattern\" {\"Regex\"|\"String\": text} and \"behavior\"", name);
    tq_status st = jbool(p, "invert", 0, &inv, name, err);
    if (st) return st;
    for (size_t i = 0; i < sizeof BEHAVIORS / sizeof BEHAVIORS[0]; i++)
        if (!strcmp(beh->valuestring, BEHAVIORS[i].name))
            return tq_bpe_pre_split(pt, src->valuestring, strlen(src->valuestring), src == lit, BEHAVIORS[i].b, inv, name,
                                    err);
    return tq_err(err, TQ_E_FORMAT, "%s: Split behavior \"%s\" is not one of tokenizers'", name, beh->valuestring);
}

static const reader PRE_ROWS[] = {{"ByteLevel", pre_bytelevel}, {"Digits", pre_digits}, {"Split", pre_split}};
static const component PRE_TOKENIZER = {"pre-tokenizer", "pretokenizers", PRE_ROWS, sizeof PRE_ROWS / sizeof PRE_ROWS[0]};

/* The id of a post-processor's [token, id] pair. */
static tq_status pair_id(const cJSON *p, const char *k, int *id, const char *name, tq_error *err) {
    const cJSON *x = get(p, k), *i1 = cJSON_GetArrayItem(x, 1);
    if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) != 2 || !cJSON_IsNumber(i1))
        return tq_err(err, TQ_E_FORMAT, "%s: post-processor \"%s\" is not a [token, id] pair", name, k);
    *id = i1->valueint;
    return TQ_OK;
}

/* The ids each post-processor type puts around a single sequence: one
 * reader per type; ctx is a post_ids. */
typedef struct { int pre[8], npre, suf[8], nsuf; } post_ids;

static tq_status post_none(void *o, const cJSON *p, const char *name, tq_error *err) { return TQ_OK; }

static tq_status post_cls_sep(void *ctx, const cJSON *p, const char *name, tq_error *err) {
    post_ids *o = ctx;
    tq_status st = pair_id(p, "cls", &o->pre[0], name, err);
    if (!st) st = pair_id(p, "sep", &o->suf[0], name, err);
    o->npre = o->nsuf = 1;
    return st;
}

static tq_status post_template(void *ctx, const cJSON *p, const char *name, tq_error *err) {
    post_ids *o = ctx;
    const cJSON *single = get(p, "single"), *sp = get(p, "special_tokens");
    if (!cJSON_IsArray(single)) return tq_err(err, TQ_E_FORMAT, "%s: TemplateProcessing without \"single\"", name);
    int seen_seq = 0;
    for (const cJSON *c = single->child; c; c = c->next) {
        const cJSON *tok = get(get(c, "SpecialToken"), "id");
        if (get(c, "Sequence")) { seen_seq = 1; continue; }
        const cJSON *ids = cJSON_IsString(tok) ? get(get(sp, tok->valuestring), "ids") : NULL;
        if (!cJSON_IsArray(ids))
            return tq_err(err, TQ_E_FORMAT, "%s: TemplateProcessing piece without a Sequence or a known SpecialToken", name);
        for (const cJSON *i = ids->child; i; i = i->next) {
            int *n = seen_seq ? &o->nsuf : &o->npre, *v = seen_seq ? o->suf : o->pre;
            if (!cJSON_IsNumber(i) || *n >= 8) return tq_err(err, TQ_E_FORMAT, "%s: bad special_tokens ids", name);
            v[(*n)++] = i->valueint;
        }
    }
    return TQ_OK;
}

static const reader POST_ROWS[] = {{"ByteLevel", post_none}, {"RobertaProcessing", post_cls_sep},
                                   {"BertProcessing", post_cls_sep}, {"TemplateProcessing", post_template}};
static const component POST_PROCESSOR = {"post-processor", "processors", POST_ROWS, sizeof POST_ROWS / sizeof POST_ROWS[0]};

/* ---- special ids ----------------------------------------------------------- */

/* Conventional contents of special tokens, when tokenizer_config.json does
 * not name them. */
static const struct { const char *s; tq_tok_special k[2]; } CONVENTIONAL[] = {
    {"<s>", {TQ_TOK_BOS, TQ_TOK_CLS}},        {"</s>", {TQ_TOK_EOS, TQ_TOK_SEP}},
    {"<pad>", {TQ_TOK_PAD, TQ_TOK_PAD}},      {"<unk>", {TQ_TOK_UNK, TQ_TOK_UNK}},
    {"<mask>", {TQ_TOK_MASK, TQ_TOK_MASK}},   {"<|endoftext|>", {TQ_TOK_BOS, TQ_TOK_EOS}},
    {"<|begin_of_text|>", {TQ_TOK_BOS, TQ_TOK_BOS}}, {"<|end_of_text|>", {TQ_TOK_EOS, TQ_TOK_EOS}},
};
static const struct { const char *key; tq_tok_special k; } CONFIG_KEYS[] = {
    {"bos_token", TQ_TOK_BOS}, {"eos_token", TQ_TOK_EOS}, {"pad_token", TQ_TOK_PAD}, {"unk_token", TQ_TOK_UNK},
    {"cls_token", TQ_TOK_CLS}, {"sep_token", TQ_TOK_SEP}, {"mask_token", TQ_TOK_MASK}};

static void specials(tq_bpe *t, const cJSON *cfg) {
    for (size_t i = 0; i < sizeof CONVENTIONAL / sizeof CONVENTIONAL[0]; i++) {
        int id = tq_bpe_find(t, CONVENTIONAL[i].s, strlen(CONVENTIONAL[i].s));
        for (int k = 0; id >= 0 && k < 2; k++)
            if (tq_bpe_special(t, CONVENTIONAL[i].k[k]) < 0) tq_bpe_set_special(t, CONVENTIONAL[i].k[k], id);
    }
    for (size_t i = 0; cfg && i < sizeof CONFIG_KEYS / sizeof CONFIG_KEYS[0]; i++) {
        const cJSON *x = get(cfg, CONFIG_KEYS[i].key);
        if (cJSON_IsObject(x)) x = get(x, "content");
        if (cJSON_IsString(x)) tq_bpe_set_special(t, CONFIG_KEYS[i].k, tq_bpe_find(t, x->valuestring, strlen(x->valuestring)));
    }
}

/* ---- files ----------------------------------------------------------------- */

static cJSON *load_json(const char *path, const char *buf, size_t n, tq_error *err) {
    const char *end = buf;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
    if (!j || !cJSON_IsObject(j)) {
        size_t at = end >= buf && end <= buf + n ? (size_t)(end - buf) : 0;
        cJSON_Delete(j);
        tq_err(err, TQ_E_FORMAT, "%s: not a JSON object (parse stops near byte %zu)", path, at);
        return NULL;
    }
    return j;
}

static cJSON *read_json(const char *path, tq_error *err) {
    char *buf;
    size_t n;
    if (tq_read_file(path, &buf, &n, err)) return NULL;
    cJSON *j = load_json(path, buf, n, err);
    free(buf);
    return j;
}

/* {token: id} into the vocabulary. */
static tq_status vocab(tq_bpe *t, const cJSON *v, const char *name, tq_error *err) {
    if (!cJSON_IsObject(v)) return tq_err(err, TQ_E_FORMAT, "%s: the vocabulary is not a {token: id} object", name);
    for (const cJSON *c = v->child; c; c = c->next) {
        /* range first: casting a double beyond int64 to int64 is undefined (found by fuzz_bpe) */
        if (cJSON_IsNumber(c) && !(c->valuedouble > -9.2e18 && c->valuedouble < 9.2e18))
            return tq_err(err, TQ_E_FORMAT, "%s: token \"%.64s\": the id %.6g is out of range", name, c->string,
                          c->valuedouble);
        if (!cJSON_IsNumber(c) || c->valuedouble != (double)(int64_t)c->valuedouble)
            return tq_err(err, TQ_E_FORMAT, "%s: token \"%.64s\": the id is not an integer", name, c->string);
        tq_status st = tq_bpe_add_token(t, c->string, strlen(c->string), (int64_t)c->valuedouble, err);
        if (st) return st;
    }
    if (!v->child) return tq_err(err, TQ_E_FORMAT, "%s: the vocabulary is empty", name);
    return TQ_OK;
}

static tq_status json_merges(tq_bpe *t, const cJSON *m, const char *name, tq_error *err) {
    if (!cJSON_IsArray(m)) return tq_err(err, TQ_E_FORMAT, "%s: model \"merges\" is not an array", name);
    int rank = 0;
    for (const cJSON *c = m->child; c; c = c->next, rank++) {
        const char *a, *b;
        size_t al, bl;
        if (cJSON_IsString(c)) { /* "a b", split at the first space */
            a = c->valuestring;
            const char *sp = strchr(a, ' ');
            if (!sp) return tq_err(err, TQ_E_FORMAT, "%s: merge %d \"%.64s\" has no space", name, rank, a);
            al = (size_t)(sp - a);
            b = sp + 1;
            bl = strlen(b);
        } else if (cJSON_IsArray(c) && cJSON_GetArraySize(c) == 2 && cJSON_IsString(c->child) &&
                   cJSON_IsString(c->child->next)) {
            a = c->child->valuestring;
            b = c->child->next->valuestring;
            al = strlen(a);
            bl = strlen(b);
        } else {
            return tq_err(err, TQ_E_FORMAT, "%s: merge %d is neither \"a b\" nor [a, b]", name, rank);
        }
        tq_status st = tq_bpe_add_merge(t, a, al, b, bl, rank, err);
        if (st) return st;
    }
    return TQ_OK;
}

static tq_status added_tokens(tq_bpe *t, const cJSON *l, const char *name, tq_error *err) {
    if (!l || cJSON_IsNull(l)) return TQ_OK;
    if (!cJSON_IsArray(l)) return tq_err(err, TQ_E_FORMAT, "%s: \"added_tokens\" is not an array", name);
    for (const cJSON *c = l->child; c; c = c->next) {
        const cJSON *id = get(c, "id"), *s = get(c, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(s))
            return tq_err(err, TQ_E_FORMAT, "%s: an added token without a numeric \"id\" and a \"content\" string", name);
        tq_bpe_added a = {s->valuestring, strlen(s->valuestring), id->valueint, 0, 0, 0, 0, 0};
        tq_status st;
        if ((st = jbool(c, "special", 0, &a.special, name, err)) || (st = jbool(c, "lstrip", 0, &a.lstrip, name, err)) ||
            (st = jbool(c, "rstrip", 0, &a.rstrip, name, err)) ||
            (st = jbool(c, "single_word", 0, &a.single_word, name, err)) ||
            (st = jbool(c, "normalized", !a.special, &a.normalized, name, err)) || (st = tq_bpe_add_added(t, &a, err)))
            return st;
    }
    return TQ_OK;
}

static tq_status from_json(tq_bpe *t, const cJSON *j, const char *name, tq_error *err) {
    const cJSON *m = get(j, "model");
    if (!cJSON_IsObject(m)) return tq_err(err, TQ_E_FORMAT, "%s: no \"model\" object", name);
    const char *ty = jtype(m);
    if (ty ? strcmp(ty, "BPE") != 0 : !get(m, "merges"))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: model %s is not BPE", name, ty ? ty : "(no type)");
    tq_bpe_model_opts mo = {-1, 0, 0, 0};
    tq_status st;
    const cJSON *dropout = get(m, "dropout"), *unk = get(m, "unk_token");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: BPE dropout (random merges) is not supported", name);
    if ((st = jempty(m, "continuing_subword_prefix", name, err)) || (st = jempty(m, "end_of_word_suffix", name, err)) ||
        (st = jbool(m, "fuse_unk", 0, &mo.fuse_unk, name, err)) ||
        (st = jbool(m, "byte_fallback", 0, &mo.byte_fallback, name, err)) ||
        (st = jbool(m, "ignore_merges", 0, &mo.ignore_merges, name, err)) || (st = vocab(t, get(m, "vocab"), name, err)) ||
        (st = json_merges(t, get(m, "merges"), name, err)) || (st = added_tokens(t, get(j, "added_tokens"), name, err)) ||
        (st = read_component(&NORMALIZER, get(j, "normalizer"), tq_bpe_pre(t), name, err)) ||
        (st = read_component(&PRE_TOKENIZER, get(j, "pre_tokenizer"), tq_bpe_pre(t), name, err)))
        return st;
    if (unk && !cJSON_IsNull(unk)) {
        if (!cJSON_IsString(unk)) return tq_err(err, TQ_E_FORMAT, "%s: model \"unk_token\" is not a string", name);
        mo.unk = tq_bpe_id(t, unk->valuestring, strlen(unk->valuestring));
        if (mo.unk < 0) return tq_err(err, TQ_E_FORMAT, "%s: unk_token \"%.64s\" is not in the vocabulary", name, unk->valuestring);
        tq_bpe_set_special(t, TQ_TOK_UNK, mo.unk);
    }
    tq_bpe_set_model(t, &mo);
    post_ids ids = {{0}, 0, {0}, 0};
    if ((st = read_component(&POST_PROCESSOR, get(j, "post_processor"), &ids, name, err)) ||
        (st = tq_bpe_set_post(t, ids.pre, ids.npre, ids.suf, ids.nsuf, err)))
        return st;
    const cJSON *d = get(j, "decoder");
    const char *dt = d && !cJSON_IsNull(d) ? jtype(d) : "";
    if (!dt || (*dt && strcmp(dt, "ByteLevel")))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: decoder %s is not supported (ByteLevel or none)", name, dt ? dt : "?");
    tq_bpe_set_decoder(t, *dt != 0);
    return TQ_OK;
}

tq_bpe *tq_bpe_from_json(const char *json, size_t len, const char *name, tq_error *err) {
    cJSON *j = load_json(name, json, len, err);
    if (!j) return NULL;
    tq_bpe *t = tq_bpe_new(name, err);
    tq_status st = t ? from_json(t, j, name, err) : TQ_E_NOMEM;
    if (!st) st = tq_bpe_finish(t, err);
    if (!st) specials(t, NULL);
    cJSON_Delete(j);
    if (st) { tq_bpe_free(t); return NULL; }
    return t;
}

/* merges.txt: one "a b" per line (exactly one space), "#version" lines
 * skipped, "\n" or "\r\n" ending a line. */
static tq_status merges_txt(tq_bpe *t, const char *buf, size_t n, const char *name, tq_error *err) {
    int rank = 0, line = 0;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && buf[e] != '\n') e++;
        size_t l = e - i;
        if (l && buf[i + l - 1] == '\r') l--;
        line++;
        if (!(l >= 8 && !memcmp(buf + i, "#version", 8))) {
            const char *sp = memchr(buf + i, ' ', l);
            if (!sp || memchr(sp + 1, ' ', l - (size_t)(sp - (buf + i)) - 1))
                return tq_err(err, TQ_E_FORMAT, "%s:%d: not \"a b\" (two tokens, one space)", name, line);
            tq_status st = tq_bpe_add_merge(t, buf + i, (size_t)(sp - (buf + i)), sp + 1, l - (size_t)(sp - (buf + i)) - 1,
                                            rank++, err);
            if (st) return tq_err_prefix(err, st, "%s:%d", name, line);
        }
        i = e + 1;
    }
    return TQ_OK;
}

/* GPT-2 / RoBERTa from vocab.json + merges.txt, set up as transformers'
 * GPT2TokenizerFast / RobertaTokenizerFast convert them. */
static tq_status from_vocab_merges(tq_bpe *t, const char *vpath, const char *mpath, const cJSON *cfg, tq_error *err) {
    cJSON *v = read_json(vpath, err);
    if (!v) return err ? err->status : TQ_E_FORMAT;
    tq_status st = vocab(t, v, vpath, err);
    cJSON_Delete(v);
    char *buf = NULL;
    size_t n = 0;
    if (!st) st = tq_read_file(mpath, &buf, &n, err);
    if (!st) st = merges_txt(t, buf, n, mpath, err);
    free(buf);
    int prefix = 0;
    if (!st) st = jbool(cfg, "add_prefix_space", 0, &prefix, "tokenizer_config.json", err);
    if (!st) st = tq_bpe_pre_bytelevel(tq_bpe_pre(t), prefix, 1, vpath, err);
    if (st) return st;
    /* transformers' special tokens, in its order (bos, eos, unk, pad, mask);
     * one missing from vocab.json is added with the next free id */
    int roberta = tq_bpe_id(t, "<s>", 3) >= 0 && tq_bpe_id(t, "</s>", 4) >= 0;
    static const char *const SPECIAL[] = {"<s>", "</s>", "<unk>", "<pad>", "<mask>", "<|endoftext|>"};
    for (size_t i = roberta ? 0 : 5; i < (roberta ? 5u : 6u); i++) {
        int id = tq_bpe_id(t, SPECIAL[i], strlen(SPECIAL[i]));
        tq_bpe_added a = {(char *)SPECIAL[i], strlen(SPECIAL[i]), id >= 0 ? id : tq_bpe_vocab_size(t), 1, 0, i == 4, 0, 0};
        if ((st = tq_bpe_add_added(t, &a, err))) return st;
    }
    if (roberta) {
        int cls = tq_bpe_id(t, "<s>", 3), sep = tq_bpe_id(t, "</s>", 4);
        st = tq_bpe_set_post(t, &cls, 1, &sep, 1, err);
    }
    return st;
}

tq_bpe *tq_bpe_open_dir(const char *dir, tq_error *err) {
    char *tj = tq_path_join(dir, "tokenizer.json"), *vj = tq_path_join(dir, "vocab.json");
    char *mt = tq_path_join(dir, "merges.txt"), *tc = tq_path_join(dir, "tokenizer_config.json");
    tq_bpe *t = NULL;
    cJSON *cfg = NULL, *j = NULL;
    tq_status st = TQ_OK;
    if (!tj || !vj || !mt || !tc) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto done; }
    int has_tj = tq_file_exists(tj), has_vm = tq_file_exists(vj) && tq_file_exists(mt);
    if (!has_tj && !has_vm) {
        tq_err(err, TQ_E_NOTFOUND, "%s: no tokenizer.json or vocab.json + merges.txt", dir);
        goto done;
    }
    if (tq_file_exists(tc) && !(cfg = read_json(tc, err))) goto done;
    if (has_tj && !(j = read_json(tj, err))) goto done;
    if (!(t = tq_bpe_new(has_tj ? tj : vj, err))) goto done;
    st = has_tj ? from_json(t, j, tj, err) : from_vocab_merges(t, vj, mt, cfg, err);
    if (!st) st = tq_bpe_finish(t, err);
    if (!st) specials(t, cfg);
    if (st) { tq_bpe_free(t); t = NULL; }
done:
    cJSON_Delete(cfg);
    cJSON_Delete(j);
    free(tj); free(vj); free(mt); free(tc);
    return t;
}

/* ---- the tq_tok row ---------------------------------------------------------- */

static void bpei_free(void *impl) { tq_bpe_free(impl); }
static int bpei_vocab(const void *impl) { return tq_bpe_vocab_size(impl); }
static int bpei_special(const void *impl, tq_tok_special s) { return tq_bpe_special(impl, s); }
static tq_status bpei_encode(const void *impl, const char *text, size_t len, int sp, int32_t **ids, int *n,
                             tq_error *err) {
    return tq_bpe_encode(impl, text, len, sp, ids, n, err);
}
/* as tokenizers' decode(skip_special_tokens=True) */
static tq_status bpei_decode(const void *impl, const int32_t *ids, int n, char **text, size_t *len, tq_error *err) {
    return tq_bpe_decode(impl, ids, n, 1, text, len, err);
}
static void *bpei_open(const char *dir, tq_error *err) { return tq_bpe_open_dir(dir, err); }

static const char *bpei_token(const void *impl, int id, size_t *len) {
    const char *p = tq_bpe_token(impl, id);
    *len = p ? strlen(p) : 0;
    return p;
}

const tq_tok_vt tq_tok_bpe_vt = {bpei_free, bpei_vocab, bpei_special, bpei_encode, bpei_decode, bpei_token, NULL};
const tq_tok_kind tq_tok_bpe = {"bpe", "a BPE tokenizer.json or vocab.json + merges.txt", bpei_open, &tq_tok_bpe_vt, 0};
