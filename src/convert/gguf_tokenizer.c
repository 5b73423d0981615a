/*
 * gguf_tokenizer.c — tokenizer.ggml.* metadata from a model directory's
 * tokenizer, for GGUF output (FORMATS.md §2.4).
 *
 * Model "llama" (sentencepiece): the llama2.c tok*.bin / tokenizer.bin or a
 * sentencepiece tokenizer.model (through tq_spm). Written as llama.cpp's
 * converter writes them: tokens with the plain spaces turned back into
 * U+2581, scores, token_type (1 normal, 2 unknown, 3 control, 6 byte for
 * "<0xNN>"), bos 1, eos 2, unknown 0. Id 0 is the unknown piece, 1 and 2 are
 * control; in a tokenizer.model, other pieces text cannot form (control,
 * unused) are control.
 *
 * Model "bert" (WordPiece vocab.txt, through tq_wordpiece): llama.cpp's
 * phantom-space vocabulary, as convert_hf_to_gguf.py writes it: "##x" becomes
 * "x", a bracketed special "[X]" stays, every other token gets a leading
 * U+2581; [UNK] is type 2, the other bracketed tokens type 3; the ids of
 * [UNK], [SEP], [PAD] and [CLS] (as BOS) and [MASK] when present. An id
 * whose token repeats one the tokenizer maps elsewhere becomes "[PAD<id>]",
 * type 5 (unused), as convert_hf_to_gguf.py writes ids its vocab lost.
 */
#include "convert/gguf_tokenizer.h"
#include "trueq_llama.h"
#include "trueq_nn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_byte_piece(const char *p, int len) {
    static const char hex[] = "0123456789ABCDEF";
    return len == 6 && memcmp(p, "<0x", 3) == 0 && strchr(hex, p[3]) && strchr(hex, p[4]) && p[5] == '>';
}

/* The piece with ' ' as U+2581 (E2 96 81), NUL-terminated; NULL on OOM. */
static char *gguf_piece(const char *p, int len) {
    int sp = 0;
    for (int i = 0; i < len; i++) sp += p[i] == ' ';
    char *s = malloc((size_t)len + 2 * (size_t)sp + 1), *o = s;
    if (!s) return NULL;
    for (int i = 0; i < len; i++) {
        if (p[i] == ' ') { *o++ = (char)0xE2; *o++ = (char)0x96; *o++ = (char)0x81; }
        else *o++ = p[i];
    }
    *o = 0;
    return s;
}

void tq_gguf_tok_free(tq_gguf_tok *t) {
    if (!t) return;
    for (int i = 0; t->tokens && i < t->count; i++) free(t->tokens[i]);
    free(t->tokens); free(t->scores); free(t->types);
    for (int i = 0; i < t->n_own; i++) free(t->own[i]);
    memset(t, 0, sizeof *t);
}

static void add_u32(tq_gguf_tok *t, const char *key, uint32_t v) {
    tq_gguf_wkv *kv = &t->kv[t->n++];
    memset(kv, 0, sizeof *kv);
    kv->key = key; kv->type = TQ_GGUF_UINT32; kv->num.u = v;
}

static void add_array(tq_gguf_tok *t, const char *key, tq_gguf_vtype et, const void *elems, const char *const *strs) {
    tq_gguf_wkv *kv = &t->kv[t->n++];
    memset(kv, 0, sizeof *kv);
    kv->key = key; kv->type = TQ_GGUF_ARRAY; kv->elem_type = et; kv->count = (uint64_t)t->count;
    kv->elems = elems; kv->strs = strs;
}

static tq_status alloc_tokens(tq_gguf_tok *t, int n) {
    t->count = n;
    t->tokens = calloc((size_t)(n ? n : 1), sizeof *t->tokens);
    t->scores = calloc((size_t)(n ? n : 1), sizeof *t->scores);
    t->types = calloc((size_t)(n ? n : 1), sizeof *t->types);
    return t->tokens && t->scores && t->types ? TQ_OK : TQ_E_NOMEM;
}

static void add_model(tq_gguf_tok *t, const char *model) {
    tq_gguf_wkv *kv = &t->kv[t->n++];
    memset(kv, 0, sizeof *kv);
    kv->key = "tokenizer.ggml.model"; kv->type = TQ_GGUF_STRING; kv->str = model; kv->str_len = strlen(model);
}

static tq_status build_bert(const char *dir, tq_gguf_tok *t, tq_error *err) {
    tq_wordpiece *wp = tq_wp_open_dir(dir, err);
    if (!wp) return err ? err->status : TQ_E_NOTFOUND;
    int n = tq_wp_vocab_size(wp);
    if (alloc_tokens(t, n)) { tq_wp_free(wp); return tq_err(err, TQ_E_NOMEM, "out of memory for %d tokens", n); }
    for (int i = 0; i < n; i++) {
        const char *w = tq_wp_token(wp, i);
        size_t len = w ? strlen(w) : 0;
        int special = len >= 2 && w[0] == '[' && w[len - 1] == ']';
        char *s = malloc(len + 24);
        if (!s) { tq_wp_free(wp); return tq_err(err, TQ_E_NOMEM, "out of memory for %d tokens", n); }
        if (w && tq_wp_id(wp, w) != i) {   /* a repeated token: the tokenizer never gives this id */
            snprintf(s, len + 24, "[PAD%d]", i);
            t->tokens[i] = s;
            t->types[i] = 5;
            continue;
        }
        if (special) memcpy(s, w, len + 1);
        else if (len >= 2 && w[0] == '#' && w[1] == '#') memcpy(s, w + 2, len - 1);
        else { memcpy(s, "\xe2\x96\x81", 3); memcpy(s + 3, w ? w : "", len + 1); }
        t->tokens[i] = s;
        t->types[i] = i == tq_wp_unk(wp) ? 2 : special ? 3 : 1;
    }
    add_model(t, "bert");
    add_array(t, "tokenizer.ggml.tokens", TQ_GGUF_STRING, NULL, (const char *const *)t->tokens);
    add_array(t, "tokenizer.ggml.token_type", TQ_GGUF_INT32, t->types, NULL);
    static const char *const keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.unknown_token_id",
                                       "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.padding_token_id"};
    int ids[4] = {tq_wp_cls(wp), tq_wp_unk(wp), tq_wp_sep(wp), tq_wp_pad(wp)};
    for (int k = 0; k < 4; k++) if (ids[k] >= 0) add_u32(t, keys[k], (uint32_t)ids[k]);
    int mask = tq_wp_id(wp, "[MASK]");
    if (mask >= 0) add_u32(t, "tokenizer.ggml.mask_token_id", (uint32_t)mask);
    tq_wp_free(wp);
    return TQ_OK;
}

tq_status tq_gguf_tok_build(const char *dir, const char *model, tq_gguf_tok *t, tq_error *err) {
    memset(t, 0, sizeof *t);
    if (strcmp(model, "bert") == 0) {
        tq_status st = build_bert(dir, t, err);
        if (st) tq_gguf_tok_free(t);
        return st;
    }
    if (strcmp(model, "llama") != 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "tokenizer model %s: trueq writes \"llama\" and \"bert\" tokenizers", model);
    tq_spm *sp = tq_spm_open_dir(dir, err);
    if (!sp) return err ? err->status : TQ_E_NOTFOUND;
    int n = tq_spm_count(sp);
    if (alloc_tokens(t, n)) goto oom;
    for (int i = 0; i < n; i++) {
        int len = 0;
        const char *p = tq_spm_piece(sp, i, &len);
        if (!(t->tokens[i] = gguf_piece(p ? p : "", p ? len : 0))) goto oom;
        if (memchr(p ? p : "", 0, (size_t)(p ? len : 0))) {
            tq_spm_free(sp);
            tq_gguf_tok_free(t);
            return tq_err(err, TQ_E_FORMAT, "%s: token %d holds a NUL byte; GGUF strings are written as C strings", dir, i);
        }
        t->scores[i] = tq_spm_score(sp, i);
        int type = 1;
        if (i == 0) type = 2;
        else if (i == TQ_SPM_BOS || i == TQ_SPM_EOS) type = 3;
        else if (is_byte_piece(p, len)) type = 6;
        else if (tq_spm_find(sp, p, len) != i && tq_spm_find(sp, p, len) < 0) type = 3;
        t->types[i] = type;
    }
    tq_spm_free(sp);
    add_model(t, "llama");
    add_array(t, "tokenizer.ggml.tokens", TQ_GGUF_STRING, NULL, (const char *const *)t->tokens);
    add_array(t, "tokenizer.ggml.scores", TQ_GGUF_FLOAT32, t->scores, NULL);
    add_array(t, "tokenizer.ggml.token_type", TQ_GGUF_INT32, t->types, NULL);
    add_u32(t, "tokenizer.ggml.bos_token_id", TQ_SPM_BOS);
    add_u32(t, "tokenizer.ggml.eos_token_id", TQ_SPM_EOS);
    add_u32(t, "tokenizer.ggml.unknown_token_id", 0);
    return TQ_OK;
oom:
    tq_spm_free(sp);
    tq_gguf_tok_free(t);
    return tq_err(err, TQ_E_NOMEM, "out of memory for %d tokens", n);
}

/* ===== GGUF input: the tokenizer.* KVs as they are ======================= */

/* The n strings of src as NUL-terminated copies in one allocation (the
 * pointer table first, then the bytes); NULL on OOM or a NUL inside one (*nul). */
static char **copy_strs(const tq_gguf_str *src, uint64_t n, int *nul) {
    size_t bytes = 0;
    *nul = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (memchr(src[i].s, 0, (size_t)src[i].len)) { *nul = 1; return NULL; }
        bytes += (size_t)src[i].len + 1;
    }
    char **tab = malloc(sizeof(char *) * (size_t)(n ? n : 1) + bytes);
    if (!tab) return NULL;
    char *o = (char *)(tab + n);
    for (uint64_t i = 0; i < n; i++) {
        tab[i] = o;
        memcpy(o, src[i].s, (size_t)src[i].len);
        o += src[i].len;
        *o++ = 0;
    }
    return tab;
}

tq_status tq_gguf_wkv_of(const tq_gguf_kv *s, const char *path, tq_gguf_wkv *kv, void **own, tq_error *err) {
    memset(kv, 0, sizeof *kv);
    *own = NULL;
    kv->key = s->key;
    kv->type = s->v.type;
    kv->num.u = s->v.num.u;
    if (s->v.type == TQ_GGUF_STRING) {
        if (memchr(s->v.str.s, 0, (size_t)s->v.str.len)) goto nul;
        kv->str = s->v.str.s;
        kv->str_len = s->v.str.len;
    } else if (s->v.type == TQ_GGUF_ARRAY) {
        kv->elem_type = s->v.elem_type;
        kv->count = s->v.count;
        if (s->v.elem_type == TQ_GGUF_ARRAY)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: GGUF key \"%s\" is an array of arrays; trueq does not write those",
                          path, s->key);
        if (s->v.elem_type == TQ_GGUF_STRING) {
            int nul = 0;
            char **tab = copy_strs(s->v.strs, s->v.count, &nul);
            if (nul) goto nul;
            if (!tab) return tq_err(err, TQ_E_NOMEM, "%s: out of memory for \"%s\"", path, s->key);
            *own = tab;
            kv->strs = (const char *const *)tab;
        } else {
            kv->elems = s->v.elems;
        }
    }
    return TQ_OK;
nul:
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: GGUF key \"%s\" holds a NUL byte; GGUF strings are written as C strings",
                  path, s->key);
}

tq_status tq_gguf_tok_copy(const tq_gguf *g, const char *path, tq_gguf_tok *t, tq_error *err) {
    static const char pfx[] = "tokenizer.";   /* tokenizer.ggml.* and tokenizer.chat_template */
    memset(t, 0, sizeof *t);
    int64_t tok = tq_gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (tok < 0 || g->kv[tok].v.type != TQ_GGUF_ARRAY || g->kv[tok].v.elem_type != TQ_GGUF_STRING)
        return tq_err(err, TQ_E_NOTFOUND, "%s: no tokenizer.ggml.tokens string array", path);
    for (int64_t i = 0; i < g->n_kv; i++) {
        const tq_gguf_kv *s = &g->kv[i];
        if (strncmp(s->key, pfx, sizeof pfx - 1) != 0) continue;
        if (t->n == TQ_GGUF_TOK_MAX_KV) {
            tq_gguf_tok_free(t);
            return tq_err(err, TQ_E_LIMIT, "%s: more than %d tokenizer.* keys (at \"%s\")", path, TQ_GGUF_TOK_MAX_KV, s->key);
        }
        void *own;
        tq_status st = tq_gguf_wkv_of(s, path, &t->kv[t->n], &own, err);
        if (st) { tq_gguf_tok_free(t); return st; }
        if (own) t->own[t->n_own++] = own;
        if (i == tok) t->count = (int)s->v.count;
        t->n++;
    }
    return TQ_OK;
}
