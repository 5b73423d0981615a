/*
 * wordpiece.c — the BERT WordPiece tokenizer (see include/trueq_nn.h and
 * docs/tokenizer.md), matching Hugging Face's BertTokenizerFast
 * (tokenizers 0.20: BertNormalizer, BertPreTokenizer, WordPiece,
 * TemplateProcessing, LongestFirst truncation).
 *
 * Pipeline of one text:
 *   1. special tokens ([CLS], [MASK], ... and tokenizer.json's added tokens)
 *      are matched in the raw text, leftmost-longest, and kept whole;
 *   2. every other stretch is normalised one code point at a time: clean
 *      (drop U+0000, U+FFFD, Cc/Cf/Co/Cs except \t\n\r; White_Space -> ' '),
 *      CJK ideographs padded with spaces, NFD + drop Mn, lower-case;
 *   3. the normalised code points are cut into words at spaces, and every
 *      punctuation character is a word of its own;
 *   4. each word becomes greedy longest-match-first pieces ("##" before every
 *      piece but the first), or one [UNK].
 * The vocabulary lives in one open-addressing hash table keyed by the token
 * bytes; WordPiece looks up prefix + substring without building strings.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include "nn/tok/tok.h"
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define WP_MAX_SPECIAL 64           /* literal special / added tokens kept     */
#define WP_MAX_PREFIX 15            /* continuing_subword_prefix bytes         */
#define WP_MAX_FILE (1u << 30)      /* a sanity limit on vocabulary files      */
#define WP_MAX_TEXT (1 << 28)       /* bytes of one text to encode             */

struct tq_wordpiece {
    int       n;            /* ids 0..n-1 (vocab.txt: one per line)           */
    char     *arena;        /* every token, NUL-terminated                    */
    uint32_t *off, *len;    /* [n] token i = arena + off[i], len[i] bytes     */
    int32_t  *slot;         /* [mask + 1] hash table of ids, -1 empty         */
    uint32_t  mask;
    uint32_t  max_tok;      /* longest token, bytes                           */
    int       unk, cls, sep, pad;
    char      prefix[WP_MAX_PREFIX + 1];
    int       prefix_len;
    int       max_chars;    /* max_input_chars_per_word                       */
    tq_wp_options opt;
    int       n_special;    /* literal tokens matched in raw text             */
    int32_t   special[WP_MAX_SPECIAL];
    uint8_t   special_first[256]; /* 1: some special token starts with the byte */
};

void tq_wp_options_init(tq_wp_options *o) {
    o->do_lower_case = 1;
    o->strip_accents = -1;
    o->tokenize_chinese_chars = 1;
    o->max_len = 512;
}

void tq_wp_free(tq_wordpiece *t) {
    if (!t) return;
    free(t->arena);
    free(t->off);
    free(t->len);
    free(t->slot);
    free(t);
}

void tq_wp_encoding_free(tq_wp_encoding *e) {
    if (!e) return;
    free(e->ids);
    free(e->type_ids);
    e->ids = e->type_ids = NULL;
    e->n = 0;
}

/* ---- the vocabulary ------------------------------------------------------ */

/* FNV-1a over pre then s. */
static uint32_t wp_hash(const char *pre, size_t pl, const char *s, size_t sl) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < pl; i++) h = (h ^ (uint8_t)pre[i]) * 16777619u;
    for (size_t i = 0; i < sl; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Id of the token pre + s, or -1. */
static int wp_find(const tq_wordpiece *t, const char *pre, size_t pl, const char *s, size_t sl) {
    if (pl + sl > t->max_tok) return -1;
    for (uint32_t h = wp_hash(pre, pl, s, sl) & t->mask;; h = (h + 1) & t->mask) {
        int32_t id = t->slot[h];
        if (id < 0) return -1;
        const char *tok = t->arena + t->off[id];
        if (t->len[id] == pl + sl && (!pl || memcmp(tok, pre, pl) == 0) && memcmp(tok + pl, s, sl) == 0) return id;
    }
}

/* Build the hash table once arena/off/len hold n tokens. A token that stands
 * on several lines maps to its last id (as transformers' load_vocab does).
 * @return 0, or -1 out of memory. */
static int wp_index(tq_wordpiece *t) {
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)t->n) cap *= 2;
    t->slot = malloc(sizeof(int32_t) * cap);
    if (!t->slot) return -1;
    memset(t->slot, 0xff, sizeof(int32_t) * cap);
    t->mask = cap - 1;
    for (int id = 0; id < t->n; id++) {
        const char *tok = t->arena + t->off[id];
        if (t->len[id] > t->max_tok) t->max_tok = t->len[id];
        uint32_t h = wp_hash(NULL, 0, tok, t->len[id]) & t->mask;
        while (t->slot[h] >= 0 && !(t->len[t->slot[h]] == t->len[id] && memcmp(t->arena + t->off[t->slot[h]], tok, t->len[id]) == 0))
            h = (h + 1) & t->mask;
        t->slot[h] = id;
    }
    return 0;
}

int tq_wp_max_len(const tq_wordpiece *t) { return t ? t->opt.max_len : 0; }

int tq_wp_vocab_size(const tq_wordpiece *t) { return t ? t->n : 0; }
int tq_wp_id(const tq_wordpiece *t, const char *token) {
    return t && token ? wp_find(t, NULL, 0, token, strlen(token)) : -1;
}
const char *tq_wp_token(const tq_wordpiece *t, int id) {
    return t && id >= 0 && id < t->n ? t->arena + t->off[id] : NULL;
}
int tq_wp_cls(const tq_wordpiece *t) { return t->cls; }
int tq_wp_sep(const tq_wordpiece *t) { return t->sep; }
int tq_wp_pad(const tq_wordpiece *t) { return t->pad; }
int tq_wp_unk(const tq_wordpiece *t) { return t->unk; }

/* Add id to the literal special tokens (once). */
static tq_status wp_add_special(tq_wordpiece *t, int id, const char *name, tq_error *err) {
    if (id < 0 || t->len[id] == 0) return TQ_OK;
    for (int i = 0; i < t->n_special; i++)
        if (t->special[i] == id) return TQ_OK;
    if (t->n_special == WP_MAX_SPECIAL)
        return tq_err(err, TQ_E_LIMIT, "%s: more than %d special/added tokens", name, WP_MAX_SPECIAL);
    t->special[t->n_special++] = id;
    t->special_first[(uint8_t)t->arena[t->off[id]]] = 1;
    return TQ_OK;
}

/* Index the vocabulary, find the required specials, register the literal
 * specials. name: the file, for messages. */
static tq_status wp_finish(tq_wordpiece *t, const char *name, tq_error *err) {
    if (wp_index(t)) return tq_err(err, TQ_E_NOMEM, "%s: out of memory for %d tokens", name, t->n);
    static const char *const req[4] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]"};
    int *dst[4] = {&t->unk, &t->cls, &t->sep, &t->pad};
    for (int i = 0; i < 4; i++) {
        *dst[i] = tq_wp_id(t, req[i]);
        if (*dst[i] < 0) return tq_err(err, TQ_E_FORMAT, "%s: the vocabulary has no %s token", name, req[i]);
    }
    static const char *const lit[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++) {
        tq_status st = wp_add_special(t, tq_wp_id(t, lit[i]), name, err);
        if (st) return st;
    }
    return TQ_OK;
}

static tq_wordpiece *wp_alloc(int n, size_t arena_bytes, const tq_wp_options *o) {
    tq_wordpiece *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n = n;
    t->arena = malloc(arena_bytes ? arena_bytes : 1);
    t->off = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    t->len = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    if (!t->arena || !t->off || !t->len) { tq_wp_free(t); return NULL; }
    memcpy(t->prefix, "##", 3);
    t->prefix_len = 2;
    t->max_chars = 100;
    if (o) t->opt = *o;
    else tq_wp_options_init(&t->opt);
    return t;
}

/* Byte offset of the first invalid UTF-8 sequence in s[0..n), or -1. */
static long long utf8_bad(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return (long long)i;
        i += (size_t)k;
    }
    return -1;
}

/* Lines of vocab.txt as Python's text mode reads them (universal newlines:
 * "\n", "\r\n" and "\r" end a line; a final line needs no terminator). */
static tq_wordpiece *wp_from_lines(const char *buf, size_t size, const char *name, const tq_wp_options *o,
                                   tq_error *err) {
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\r' && i + 1 < size && buf[i + 1] == '\n') i++;
        if (buf[i] == '\n' || buf[i] == '\r' || i + 1 == size) lines++;
    }
    if (lines == 0) { tq_err(err, TQ_E_FORMAT, "%s: empty vocabulary (no lines)", name); return NULL; }
    if (lines >= INT_MAX / 2) { tq_err(err, TQ_E_LIMIT, "%s: %zu lines, more than %d", name, lines, INT_MAX / 2); return NULL; }
    tq_wordpiece *t = wp_alloc((int)lines, size + lines, o);
    if (!t) { tq_err(err, TQ_E_NOMEM, "%s: out of memory for %zu tokens", name, lines); return NULL; }
    size_t pos = 0, w = 0;
    for (int id = 0; id < t->n; id++) {
        size_t e = pos;
        while (e < size && buf[e] != '\n' && buf[e] != '\r') e++;
        const void *nul = memchr(buf + pos, 0, e - pos);
        if (nul) {
            tq_err(err, TQ_E_FORMAT, "%s:%d: NUL byte in the token at byte %zu of the line", name, id + 1,
                   (size_t)((const char *)nul - (buf + pos)));
            tq_wp_free(t);
            return NULL;
        }
        long long bad = utf8_bad((const uint8_t *)buf + pos, e - pos);
        if (bad >= 0) {
            tq_err(err, TQ_E_FORMAT, "%s:%d: invalid UTF-8 at byte %lld of the line", name, id + 1, bad);
            tq_wp_free(t);
            return NULL;
        }
        t->off[id] = (uint32_t)w;
        t->len[id] = (uint32_t)(e - pos);
        memcpy(t->arena + w, buf + pos, e - pos);
        w += e - pos;
        t->arena[w++] = 0;
        if (e < size && buf[e] == '\r' && e + 1 < size && buf[e + 1] == '\n') e++;
        pos = e + 1;
    }
    tq_status st = wp_finish(t, name, err);
    if (st) { tq_wp_free(t); return NULL; }
    return t;
}

static tq_status wp_read(const char *path, char **buf, size_t *size, tq_error *err) {
    if (!tq_file_exists(path)) return tq_err(err, TQ_E_NOTFOUND, "%s: no such file", path);
    tq_status st = tq_read_file(path, buf, size, err);
    if (st) return st;
    if (*size > WP_MAX_FILE) {
        free(*buf);
        *buf = NULL;
        return tq_err(err, TQ_E_LIMIT, "%s: %zu bytes, more than %u", path, *size, WP_MAX_FILE);
    }
    return TQ_OK;
}

tq_wordpiece *tq_wp_open_vocab(const char *path, const tq_wp_options *o, tq_error *err) {
    if (!path) { tq_err(err, TQ_E_ARG, "tq_wp_open_vocab: no path"); return NULL; }
    if (o && (o->strip_accents < -1 || o->strip_accents > 1 || o->max_len < 0)) {
        tq_err(err, TQ_E_ARG, "%s: invalid options (strip_accents %d, max_len %d)", path, o->strip_accents, o->max_len);
        return NULL;
    }
    char *buf;
    size_t size;
    if (wp_read(path, &buf, &size, err)) return NULL;
    tq_wordpiece *t = wp_from_lines(buf, size, path, o, err);
    free(buf);
    return t;
}

/* ---- tokenizer.json / tokenizer_config.json ------------------------------ */

/* A boolean key: 1/0 into *v, left alone when absent; null is "absent" unless
 * null_val != -2, in which case *v = null_val. */
static tq_status json_bool(const cJSON *j, const char *key, int null_val, int *v, const char *name, tq_error *err) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!x) return TQ_OK;
    if (cJSON_IsNull(x)) {
        if (null_val != -2) *v = null_val;
        return TQ_OK;
    }
    if (!cJSON_IsBool(x)) return tq_err(err, TQ_E_FORMAT, "%s: \"%s\" is not a boolean", name, key);
    *v = cJSON_IsTrue(x) ? 1 : 0;
    return TQ_OK;
}

static tq_status json_load(const char *path, cJSON **out, tq_error *err) {
    char *buf;
    size_t size;
    tq_status st = wp_read(path, &buf, &size, err);
    if (st) return st;
    const char *end = buf;
    *out = cJSON_ParseWithLengthOpts(buf, size, &end, 0); /* end: no global error pointer */
    if (!*out || !cJSON_IsObject(*out)) {
        size_t at = end >= buf && end <= buf + size ? (size_t)(end - buf) : 0;
        cJSON_Delete(*out);
        *out = NULL;
        free(buf);
        return tq_err(err, TQ_E_FORMAT, "%s: not a JSON object (parse stops near byte %zu)", path, at);
    }
    free(buf);
    return TQ_OK;
}

/* tokenizer_config.json: do_lower_case, strip_accents, tokenize_chinese_chars,
 * model_max_length (values beyond INT_MAX, as 1e30, mean "no limit"). */
static tq_status apply_config(const char *path, tq_wp_options *o, tq_error *err) {
    cJSON *j;
    tq_status st = json_load(path, &j, err);
    if (st) return st;
    if (!st) st = json_bool(j, "do_lower_case", -2, &o->do_lower_case, path, err);
    if (!st) st = json_bool(j, "strip_accents", -1, &o->strip_accents, path, err);
    if (!st) st = json_bool(j, "tokenize_chinese_chars", -2, &o->tokenize_chinese_chars, path, err);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model_max_length");
    if (!st && m && !cJSON_IsNull(m)) {
        if (!cJSON_IsNumber(m) || !(m->valuedouble >= 2) || m->valuedouble != floor(m->valuedouble))
            st = tq_err(err, TQ_E_FORMAT, "%s: \"model_max_length\" is not an integer >= 2", path);
        else
            o->max_len = m->valuedouble >= INT_MAX ? INT_MAX : (int)m->valuedouble;
    }
    cJSON_Delete(j);
    return st;
}

/* The BertNormalizer of tokenizer.json into o. */
static tq_status apply_normalizer(const cJSON *j, const char *path, tq_wp_options *o, tq_error *err) {
    const cJSON *nz = cJSON_GetObjectItemCaseSensitive(j, "normalizer");
    if (!nz) return TQ_OK;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(nz, "type");
    if (!cJSON_IsObject(nz) || !cJSON_IsString(ty) || strcmp(ty->valuestring, "BertNormalizer") != 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: normalizer %s is not a BertNormalizer", path,
                      cJSON_IsString(ty) ? ty->valuestring : "(without type)");
    int clean = 1;
    tq_status st = json_bool(nz, "clean_text", -2, &clean, path, err);
    if (!st && !clean) st = tq_err(err, TQ_E_UNSUPPORTED, "%s: normalizer.clean_text false is not supported", path);
    if (!st) st = json_bool(nz, "handle_chinese_chars", -2, &o->tokenize_chinese_chars, path, err);
    if (!st) st = json_bool(nz, "strip_accents", -1, &o->strip_accents, path, err);
    if (!st) st = json_bool(nz, "lowercase", -2, &o->do_lower_case, path, err);
    return st;
}

/* continuing_subword_prefix and max_input_chars_per_word of model into t. */
static tq_status json_wp_params(const cJSON *model, const char *path, tq_wordpiece *t, tq_error *err) {
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (pre && (!cJSON_IsString(pre) || strlen(pre->valuestring) > WP_MAX_PREFIX))
        return tq_err(err, TQ_E_FORMAT, "%s: model.continuing_subword_prefix is not a string of at most %d bytes", path,
                      WP_MAX_PREFIX);
    if (mx && (!cJSON_IsNumber(mx) || !(mx->valuedouble >= 0) || mx->valuedouble != floor(mx->valuedouble)))
        return tq_err(err, TQ_E_FORMAT, "%s: model.max_input_chars_per_word is not an integer >= 0", path);
    if (pre) {
        t->prefix_len = (int)strlen(pre->valuestring);
        memcpy(t->prefix, pre->valuestring, (size_t)t->prefix_len + 1);
    }
    if (mx) t->max_chars = mx->valuedouble > INT_MAX ? INT_MAX : (int)mx->valuedouble;
    return TQ_OK;
}

/* model.vocab of tokenizer.json: {token: id}, ids a permutation of 0..n-1. */
static tq_wordpiece *wp_from_json_vocab(const cJSON *model, const char *path, const tq_wp_options *o, tq_error *err) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (ty && (!cJSON_IsString(ty) || strcmp(ty->valuestring, "WordPiece") != 0)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: model.type %s is not WordPiece", path, cJSON_IsString(ty) ? ty->valuestring : "(not a string)");
        return NULL;
    }
    if (!cJSON_IsObject(v) || !v->child) { tq_err(err, TQ_E_FORMAT, "%s: model.vocab is not a non-empty object", path); return NULL; }
    int n = cJSON_GetArraySize(v);
    size_t bytes = 0;
    for (const cJSON *e = v->child; e; e = e->next) bytes += strlen(e->string) + 1;
    tq_wordpiece *t = wp_alloc(n, bytes, o);
    if (!t) { tq_err(err, TQ_E_NOMEM, "%s: out of memory for %d tokens", path, n); return NULL; }
    memset(t->off, 0xff, sizeof(uint32_t) * (size_t)n);
    size_t w = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d < n && d == floor(d)) || t->off[(int)d] != UINT32_MAX) {
            tq_err(err, TQ_E_FORMAT, "%s: model.vocab[\"%.200s\"]: id is not a unique integer in [0, %d)", path, e->string, n);
            tq_wp_free(t);
            return NULL;
        }
        size_t l = strlen(e->string);
        t->off[(int)d] = (uint32_t)w;
        t->len[(int)d] = (uint32_t)l;
        memcpy(t->arena + w, e->string, l + 1);
        w += l + 1;
    }
    if (json_wp_params(model, path, t, err)) { tq_wp_free(t); return NULL; }
    return t;
}

/* added_tokens of tokenizer.json (those the vocabulary holds) become
 * literal tokens. */
static tq_status apply_added(tq_wordpiece *t, const cJSON *j, const char *path, tq_error *err) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    if (!a || cJSON_IsNull(a)) return TQ_OK;
    if (!cJSON_IsArray(a)) return tq_err(err, TQ_E_FORMAT, "%s: added_tokens is not an array", path);
    int k = 0;
    for (const cJSON *e = a->child; e; e = e->next, k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsString(c) || !cJSON_IsNumber(id))
            return tq_err(err, TQ_E_FORMAT, "%s: added_tokens[%d] lacks a string content or a numeric id", path, k);
        int have = tq_wp_id(t, c->valuestring);
        if (have < 0 || have != id->valuedouble)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: added token \"%.200s\" (id %g) is not in the WordPiece vocabulary", path,
                          c->valuestring, id->valuedouble);
        tq_status st = wp_add_special(t, have, path, err);
        if (st) return st;
    }
    return TQ_OK;
}

tq_wordpiece *tq_wp_open_dir(const char *dir, tq_error *err) {
    if (!dir) { tq_err(err, TQ_E_ARG, "tq_wp_open_dir: no directory"); return NULL; }
    char *vocab = tq_path_join(dir, "vocab.txt"), *tj = tq_path_join(dir, "tokenizer.json");
    char *cfg = tq_path_join(dir, "tokenizer_config.json");
    tq_wordpiece *t = NULL;
    cJSON *j = NULL;
    tq_wp_options o;
    tq_wp_options_init(&o);
    if (!vocab || !tj || !cfg) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto done; }
    int have_vocab = tq_file_exists(vocab), have_tj = tq_file_exists(tj);
    if (!have_vocab && !have_tj) {
        tq_err(err, TQ_E_NOTFOUND, "%s: no vocab.txt or tokenizer.json", dir);
        goto done;
    }
    if (have_tj) {
        /* The normalizer is checked (a BertNormalizer that cleans text), but
         * its flags are not used: transformers' BertTokenizerFast replaces
         * lowercase / strip_accents / handle_chinese_chars with the values of
         * tokenizer_config.json or its own defaults (True, None, True). */
        tq_wp_options ignored = o;
        if (json_load(tj, &j, err) || apply_normalizer(j, tj, &ignored, err)) goto done;
    }
    if (tq_file_exists(cfg) && apply_config(cfg, &o, err)) goto done;
    if (have_vocab) {
        t = tq_wp_open_vocab(vocab, &o, err);
        /* the WordPiece parameters still come from tokenizer.json */
        const cJSON *model = j ? cJSON_GetObjectItemCaseSensitive(j, "model") : NULL;
        if (t && cJSON_IsObject(model) && json_wp_params(model, tj, t, err)) { tq_wp_free(t); t = NULL; }
    } else {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
        if (!cJSON_IsObject(model)) { tq_err(err, TQ_E_FORMAT, "%s: no \"model\" object", tj); goto done; }
        t = wp_from_json_vocab(model, tj, &o, err);
        if (t && wp_finish(t, tj, err)) { tq_wp_free(t); t = NULL; }
    }
    if (t && j && apply_added(t, j, tj, err)) { tq_wp_free(t); t = NULL; }
done:
    cJSON_Delete(j);
    free(vocab);
    free(tj);
    free(cfg);
    return t;
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct ids_buf { int32_t *v; int n, cap; int oom; } ids_buf;

static void ids_push(ids_buf *b, int32_t id) {
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        int32_t *nv = b->oom || cap < 0 ? NULL : realloc(b->v, sizeof(int32_t) * (size_t)cap);
        if (!nv) { b->oom = 1; return; }
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = id;
}

/* One word being assembled from normalised code points. */
typedef struct word_buf {
    char  *s;
    size_t len, cap;
    int    chars;
    int    oom;
} word_buf;

static void word_put(word_buf *w, int32_t cp) {
    if (w->cap - w->len < 4) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        char *ns = w->oom ? NULL : realloc(w->s, cap);
        if (!ns) { w->oom = 1; return; }
        w->s = ns;
        w->cap = cap;
    }
    w->len += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)w->s + w->len);
    w->chars++;
}

/* WordPiece of the finished word: greedy longest match first, every piece
 * after the first carrying the prefix; any unmatched rest makes the whole
 * word [UNK], and so does a word of more than max_chars characters. */
static void word_flush(const tq_wordpiece *t, word_buf *w, ids_buf *out) {
    if (w->len == 0) return;
    if (w->chars > t->max_chars) {
        ids_push(out, t->unk);
    } else {
        int mark = out->n;
        size_t start = 0;
        while (start < w->len) {
            size_t pl = start ? (size_t)t->prefix_len : 0, end = w->len;
            if (end - start + pl > t->max_tok) end = start + (t->max_tok > pl ? t->max_tok - pl : 0);
            int id = -1;
            for (; end > start; end--) {
                if (end < w->len && ((uint8_t)w->s[end] & 0xC0) == 0x80) continue; /* inside a character */
                if ((id = wp_find(t, t->prefix, pl, w->s + start, end - start)) >= 0) break;
            }
            if (id < 0) { out->n = mark; ids_push(out, t->unk); break; }
            ids_push(out, id);
            start = end;
        }
    }
    w->len = 0;
    w->chars = 0;
}

/* Rust's char::is_whitespace (the White_Space property). */
static int is_ws(int32_t c) {
    return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* What clean_text drops: tokenizers' is_control (categories Cc, Cf, Co, Cs,
 * but not \t \n \r; unassigned code points are kept). */
static int is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CS;
}

/* BertPreTokenizer's punctuation: ASCII punctuation or a Unicode P* category. */
static int is_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* The CJK ideograph blocks of BERT's _is_chinese_char. */
static int is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* A normalised code point reaches the pre-tokenizer. */
static void pretok(const tq_wordpiece *t, word_buf *w, ids_buf *out, int32_t c) {
    if (is_ws(c)) {
        word_flush(t, w, out);
    } else if (is_punct(c)) {
        word_flush(t, w, out);
        word_put(w, c);
        word_flush(t, w, out);
    } else {
        word_put(w, c);
    }
}

/* Strip accents and lower-case one code point, as the normalizer's later
 * steps do, and hand the results on. */
static void accents_lower(const tq_wordpiece *t, word_buf *w, ids_buf *out, int32_t c, int strip) {
    utf8proc_int32_t d[32];
    int n = 1;
    d[0] = c;
    if (strip) {
        int last = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, &last);
        n = k > 0 && k <= 32 ? (int)k : 1;
        if (n == 1 && k != 1) d[0] = c;
    }
    for (int i = 0; i < n; i++) {
        if (strip && utf8proc_category(d[i]) == UTF8PROC_CATEGORY_MN) continue;
        if (!t->opt.do_lower_case) { pretok(t, w, out, d[i]); continue; }
        if (d[i] == 0x130) { /* the one full lower-case mapping of two code points */
            pretok(t, w, out, 'i');
            pretok(t, w, out, 0x307);
            continue;
        }
        pretok(t, w, out, utf8proc_tolower(d[i]));
    }
}

/* Normalise and tokenise s[0..n) (valid UTF-8, no special token inside). */
static void encode_span(const tq_wordpiece *t, const uint8_t *s, size_t n, word_buf *w, ids_buf *out) {
    int strip = t->opt.strip_accents < 0 ? t->opt.do_lower_case : t->opt.strip_accents;
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
        i += k > 0 ? (size_t)k : 1;
        if (k <= 0 || c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_ws(c)) c = ' ';
        if (t->opt.tokenize_chinese_chars && is_cjk(c)) {
            word_flush(t, w, out);
            accents_lower(t, w, out, c, strip);
            word_flush(t, w, out);
        } else {
            accents_lower(t, w, out, c, strip);
        }
    }
    word_flush(t, w, out);
}

/* Length of the longest special token at s[0..n), 0 if none; its id in *id. */
static size_t match_special(const tq_wordpiece *t, const char *s, size_t n, int *id) {
    size_t best = 0;
    for (int i = 0; i < t->n_special; i++) {
        int sid = t->special[i];
        size_t l = t->len[sid];
        if (l > best && l <= n && memcmp(s, t->arena + t->off[sid], l) == 0) { best = l; *id = sid; }
    }
    return best;
}

static tq_status encode_text(const tq_wordpiece *t, const char *text, const char *which, ids_buf *out, tq_error *err) {
    size_t n = strlen(text);
    if (n > WP_MAX_TEXT) return tq_err(err, TQ_E_LIMIT, "text %s: %zu bytes, more than %d", which, n, WP_MAX_TEXT);
    long long bad = utf8_bad((const uint8_t *)text, n);
    if (bad >= 0)
        return tq_err(err, TQ_E_VALUE, "text %s: invalid UTF-8 at byte offset %lld (byte 0x%02X)", which, bad,
                      (unsigned)(uint8_t)text[bad]);
    word_buf w = {0};
    size_t seg = 0;
    for (size_t i = 0; i < n;) {
        int id = -1;
        size_t l = t->special_first[(uint8_t)text[i]] ? match_special(t, text + i, n - i, &id) : 0;
        if (!l) { i++; continue; }
        encode_span(t, (const uint8_t *)text + seg, i - seg, &w, out);
        ids_push(out, id);
        i += l;
        seg = i;
    }
    encode_span(t, (const uint8_t *)text + seg, n - seg, &w, out);
    int oom = w.oom || out->oom;
    free(w.s);
    return oom ? tq_err(err, TQ_E_NOMEM, "text %s: out of memory", which) : TQ_OK;
}

void tq_tok_truncate_pair(int m, int *na, int *nb) {
    if (*nb < 0) {
        if (*na > m) *na = m;
        return;
    }
    if ((long long)*na + *nb <= m) return;
    int swap = *na > *nb, n1 = swap ? *nb : *na, n2;
    n2 = n1 > m ? n1 : (n1 > m - n1 ? n1 : m - n1);
    if ((long long)n1 + n2 > m) { n1 = m / 2; n2 = n1 + m % 2; }
    if (swap) { int x = n1; n1 = n2; n2 = x; }
    if (*na > n1) *na = n1;
    if (*nb > n2) *nb = n2;
}

tq_status tq_wp_encode(const tq_wordpiece *t, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                       tq_error *err) {
    if (out) *out = (tq_wp_encoding){0, NULL, NULL};
    if (!t || !a || !out) return tq_err(err, TQ_E_ARG, "tq_wp_encode: NULL tokenizer, text or output");
    if (max_len == 0) max_len = t->opt.max_len;
    if (b && !*b) b = NULL; /* transformers' __call__ drops an empty text_pair */
    int specials = b ? 3 : 2;
    if (max_len < specials)
        return tq_err(err, TQ_E_ARG, "max_len %d leaves no room for the %d special tokens of %s", max_len, specials,
                      b ? "a pair" : "one text");
    ids_buf ia = {0}, ib = {0};
    tq_status st = encode_text(t, a, "a", &ia, err);
    if (!st && b) st = encode_text(t, b, "b", &ib, err);
    if (st) { free(ia.v); free(ib.v); return st; }
    /* Truncation as tokenizers' LongestFirst: when the pair does not fit,
     * tq_tok_truncate_pair, over the m = max_len - specials places. */
    int na = ia.n, nb = b ? ib.n : -1;
    tq_tok_truncate_pair(max_len - specials, &na, &nb);
    int total = na + (b ? nb : 0) + specials;
    out->ids = malloc(sizeof(int32_t) * (size_t)total);
    out->type_ids = malloc(sizeof(int32_t) * (size_t)total);
    if (!out->ids || !out->type_ids) {
        free(ia.v);
        free(ib.v);
        tq_wp_encoding_free(out);
        return tq_err(err, TQ_E_NOMEM, "out of memory for %d tokens", total);
    }
    int k = 0;
    out->ids[k] = t->cls; out->type_ids[k++] = 0;
    for (int i = 0; i < na; i++) { out->ids[k] = ia.v[i]; out->type_ids[k++] = 0; }
    out->ids[k] = t->sep; out->type_ids[k++] = 0;
    if (b) {
        for (int i = 0; i < nb; i++) { out->ids[k] = ib.v[i]; out->type_ids[k++] = 1; }
        out->ids[k] = t->sep; out->type_ids[k++] = 1;
    }
    out->n = k;
    free(ia.v);
    free(ib.v);
    return TQ_OK;
}

/* ---- the tokenizer interface (nn/tok/tok.h) ---------------------------------- */

static void wpi_free(void *impl) { tq_wp_free(impl); }
static int wpi_vocab(const void *impl) { return tq_wp_vocab_size(impl); }

static int wpi_special(const void *impl, tq_tok_special s) {
    const tq_wordpiece *t = impl;
    switch (s) {
    case TQ_TOK_CLS: return t->cls;
    case TQ_TOK_SEP: return t->sep;
    case TQ_TOK_PAD: return t->pad;
    case TQ_TOK_UNK: return t->unk;
    case TQ_TOK_MASK: return tq_wp_id(t, "[MASK]");
    default: return -1;
    }
}

/* tq_wp_encode of one text (truncated to the tokenizer's max_len); without
 * specials the [CLS] and [SEP] it adds are dropped. */
static tq_status wpi_encode(const void *impl, const char *text, size_t len, int specials, int32_t **ids, int *n,
                            tq_error *err) {
    char *s = malloc(len + 1);
    if (!s) return tq_err(err, TQ_E_NOMEM, "wordpiece: out of memory for a text of %zu bytes", len);
    memcpy(s, text, len);
    s[len] = 0;
    if (memchr(text, 0, len)) { free(s); return tq_err(err, TQ_E_VALUE, "wordpiece: the text holds a NUL byte"); }
    tq_wp_encoding e = {0};
    tq_status st = tq_wp_encode(impl, s, NULL, 0, &e, err);
    free(s);
    if (st) return st;
    int skip = specials ? 0 : 1;
    *n = e.n - 2 * skip;
    *ids = malloc(sizeof(int32_t) * (size_t)(*n > 0 ? *n : 1));
    if (!*ids) { tq_wp_encoding_free(&e); return tq_err(err, TQ_E_NOMEM, "wordpiece: out of memory"); }
    memcpy(*ids, e.ids + skip, sizeof(int32_t) * (size_t)*n);
    tq_wp_encoding_free(&e);
    return TQ_OK;
}

/* Tokens joined by spaces, a continuation ("##" piece) glued to the one
 * before, [CLS] [SEP] [PAD] dropped (no further clean-up of spaces). */
static tq_status wpi_decode(const void *impl, const int32_t *ids, int n, char **text, size_t *len, tq_error *err) {
    const tq_wordpiece *t = impl;
    size_t cap = 1, used = 0;
    for (int i = 0; i < n; i++) {
        const char *p = tq_wp_token(t, ids[i]);
        if (!p) return tq_err(err, TQ_E_ARG, "wordpiece: id %d at %d is outside [0, %d)", ids[i], i, t->n);
        cap += strlen(p) + 1;
    }
    char *out = malloc(cap);
    if (!out) return tq_err(err, TQ_E_NOMEM, "wordpiece: out of memory");
    for (int i = 0; i < n; i++) {
        if (ids[i] == t->cls || ids[i] == t->sep || ids[i] == t->pad) continue;
        const char *p = tq_wp_token(t, ids[i]);
        int cont = t->prefix_len && !strncmp(p, t->prefix, (size_t)t->prefix_len);
        if (cont) p += t->prefix_len;
        else if (used) out[used++] = ' ';
        size_t pl = strlen(p);
        memcpy(out + used, p, pl);
        used += pl;
    }
    out[used] = 0;
    *text = out;
    if (len) *len = used;
    return TQ_OK;
}

static void *wpi_open(const char *dir, tq_error *err) { return tq_wp_open_dir(dir, err); }

static const char *wpi_token(const void *impl, int id, size_t *len) {
    const char *p = tq_wp_token(impl, id);
    *len = p ? strlen(p) : 0;
    return p;
}

/* tq_wp_encode, never beyond the tokenizer's own max_len */
static tq_status wpi_pair(const void *impl, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                          tq_error *err) {
    const tq_wordpiece *t = impl;
    return tq_wp_encode(t, a, b, max_len && max_len < t->opt.max_len ? max_len : 0, out, err);
}

static const tq_tok_vt WP_VT = {wpi_free, wpi_vocab, wpi_special, wpi_encode, wpi_decode, wpi_token, wpi_pair};
const tq_tok_kind tq_tok_wordpiece = {"wordpiece", "vocab.txt or a WordPiece tokenizer.json", wpi_open, &WP_VT, 0};
