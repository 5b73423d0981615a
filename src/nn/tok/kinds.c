/*
 * kinds.c — the table of tokenizer kinds and the one interface over them
 * (tq_tok in trueq_nn.h; rows in nn/tok/tok.h).
 *
 * To add a tokenizer: write src/nn/tok/NAME.c implementing a tq_tok_vt and
 * its tq_tok_kind row, declare the row in tok.h, add it to KINDS below, and
 * add tests (tests/test_nn_tok.c runs every kind through the same calls).
 */
#include "core/internal.h"
#include "nn/tok/tok.h"
#include "nn/config.h"
#include "trueq_llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tq_tok_kind *const KINDS[] = {
    &tq_tok_wordpiece,
    &tq_tok_sentencepiece,
    &tq_tok_bpe,            /* a BPE tokenizer.json, or vocab.json + merges.txt */
    &tq_tok_gguf_spm,       /* a GGUF file's tokenizer.ggml.* (or the one *.gguf in a directory): llama */
    &tq_tok_gguf_bpe,       /* last: the same for gpt2 (byte-level BPE) */
};
#define N_KINDS ((int)(sizeof KINDS / sizeof KINDS[0]))

struct tq_tok {
    const tq_tok_kind *kind;
    void              *impl;
};

/* Tokenizer models no row reads, refused by name when no kind took the
 * directory: tokenizer.json's model.type and what carries it. */
static const struct { const char *type, *what; } REFUSED[] = {
    {"Unigram", "a sentencepiece Unigram model (XLM-RoBERTa's, T5's, ALBERT's)"},
    {"WordLevel", "a WordLevel model"},
};

/* sentencepiece model files other than tokenizer.model (which the
 * sentencepiece row reads): XLM-RoBERTa's, T5's and ALBERT's names. */
static const char *const SPM_OTHER[] = {"sentencepiece.bpe.model", "spiece.model"};

/* 1 (err set) when one of SPM_OTHER in dir is a model the sentencepiece
 * reader refuses (a Unigram one): its message names the file. */
static int refused_spm(const char *dir, tq_error *err) {
    for (size_t i = 0; i < sizeof SPM_OTHER / sizeof SPM_OTHER[0]; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, SPM_OTHER[i]) >= sizeof path) continue;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fclose(f);
        tq_error e = {0};
        tq_spm *t = tq_spm_open(path, &e);
        if (!t && e.status == TQ_E_UNSUPPORTED) { if (err) *err = e; return 1; }
        tq_spm_free(t);
    }
    return 0;
}

/* 1 (err set) when dir/tokenizer.json holds a model type of REFUSED. */
static int refused_model(const char *dir, tq_error *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    tq_cfg c;
    tq_error e = {0};
    if (tq_cfg_open(&c, path, 0, &e)) return 0;
    const cJSON *m = tq_cfg_item(c.root, "model"), *ty = m ? tq_cfg_item(m, "type") : NULL;
    int hit = 0;
    for (size_t i = 0; cJSON_IsString(ty) && !hit && i < sizeof REFUSED / sizeof REFUSED[0]; i++)
        if (strcmp(ty->valuestring, REFUSED[i].type) == 0) {
            tq_err(err, TQ_E_UNSUPPORTED, "%s: model \"%s\" is %s, which trueq does not tokenize (it runs "
                   "WordPiece, byte-level BPE and sentencepiece BPE tokenizers)", path, REFUSED[i].type,
                   REFUSED[i].what);
            hit = 1;
        }
    tq_cfg_close(&c);
    return hit;
}

tq_tok *tq_tok_open_dir(const char *dir, tq_error *err) {
    if (!dir) { tq_err(err, TQ_E_ARG, "tokenizer: no directory (NULL)"); return NULL; }
    tq_error refused = {0};   /* the first kind that found its file but refuses it (a Unigram tokenizer.model) */
    for (int i = 0; i < N_KINDS; i++) {
        tq_error e = {0};
        void *impl = KINDS[i]->open(dir, &e);
        if (!impl) {
            /* none of this kind's files, or another kind's: try the next */
            if (e.status == TQ_E_UNSUPPORTED && KINDS[i]->refuses && !refused.status) refused = e;
            if (e.status == TQ_E_NOTFOUND || e.status == TQ_E_UNSUPPORTED) continue;
            if (err) *err = e;
            return NULL;
        }
        tq_tok *t = malloc(sizeof *t);
        if (!t) {
            KINDS[i]->vt->free(impl);
            tq_err(err, TQ_E_NOMEM, "out of memory");
            return NULL;
        }
        t->kind = KINDS[i];
        t->impl = impl;
        return t;
    }
    if (refused_model(dir, err)) return NULL;
    if (refused.status) { if (err) *err = refused; return NULL; }
    if (refused_spm(dir, err)) return NULL;
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < N_KINDS && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s (%s)", i ? ", " : "", KINDS[i]->files,
                                 KINDS[i]->name);
    tq_err(err, TQ_E_NOTFOUND, "%s: no tokenizer: none of %s", dir, list);
    return NULL;
}

void tq_tok_free(tq_tok *t) {
    if (!t) return;
    t->kind->vt->free(t->impl);
    free(t);
}

const char *tq_tok_kind_name(const tq_tok *t) { return t ? t->kind->name : NULL; }
int tq_tok_vocab_size(const tq_tok *t) { return t ? t->kind->vt->vocab_size(t->impl) : 0; }

int tq_tok_special_id(const tq_tok *t, tq_tok_special s) {
    if (!t || s < 0 || s >= TQ_TOK_SPECIAL_COUNT) return -1;
    return t->kind->vt->special(t->impl, s);
}

tq_status tq_tok_encode(const tq_tok *t, const char *text, size_t len, int specials, int32_t **ids, int *n,
                        tq_error *err) {
    *ids = NULL;
    *n = 0;
    if (!t || (!text && len)) return tq_err(err, TQ_E_ARG, "tokenizer: no tokenizer or no text (NULL)");
    return t->kind->vt->encode(t->impl, text ? text : "", len, specials, ids, n, err);
}

tq_status tq_tok_decode(const tq_tok *t, const int32_t *ids, int n, char **text, size_t *len, tq_error *err) {
    *text = NULL;
    if (!t || n < 0 || (!ids && n)) return tq_err(err, TQ_E_ARG, "tokenizer: no tokenizer or no ids");
    return t->kind->vt->decode(t->impl, ids, n, text, len, err);
}

const char *tq_tok_piece(const tq_tok *t, int id, size_t *len) {
    size_t l = 0;
    const char *p = t && t->kind->vt->token ? t->kind->vt->token(t->impl, id, &l) : NULL;
    if (len) *len = p ? l : 0;
    return p;
}

/* One malloc'd encoding of n ids (type ids 0). */
static tq_status enc_alloc(tq_wp_encoding *out, int n, tq_error *err) {
    out->ids = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    out->type_ids = calloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
    if (!out->ids || !out->type_ids) {
        tq_wp_encoding_free(out);
        return tq_err(err, TQ_E_NOMEM, "tokenizer: out of memory for %d tokens", n);
    }
    out->n = n;
    return TQ_OK;
}

/* Without a pair of its own, a kind's encoding: one text with its own
 * specials (a <s> ... </s> one cut keeping its </s>), or the RoBERTa pair
 * <s> a </s></s> b </s> when it has CLS and SEP, truncated LongestFirst. */
static tq_status generic_pair(const tq_tok *t, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                              tq_error *err) {
    int cls = tq_tok_special_id(t, TQ_TOK_CLS), sep = tq_tok_special_id(t, TQ_TOK_SEP);
    int32_t *ia = NULL, *ib = NULL;
    int na = 0, nb = 0;
    tq_status st;
    if (!b) {
        if ((st = tq_tok_encode(t, a, strlen(a), 1, &ia, &na, err))) return st;
        int cut = max_len > 0 && na > max_len;
        int keep_sep = cut && cls >= 0 && sep >= 0 && max_len >= 2 && ia[0] == cls && ia[na - 1] == sep;
        if (cut) {
            if (keep_sep) ia[max_len - 1] = sep;
            na = max_len;
        }
        if (!(st = enc_alloc(out, na, err))) memcpy(out->ids, ia, sizeof(int32_t) * (size_t)na);
        free(ia);
        return st;
    }
    if (cls < 0 || sep < 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "tokenizer (%s): no CLS and SEP tokens, so no sentence-pair format",
                      t->kind->name);
    if (max_len > 0 && max_len < 4)
        return tq_err(err, TQ_E_ARG, "max_len %d leaves no room for the 4 special tokens of a pair", max_len);
    st = tq_tok_encode(t, a, strlen(a), 0, &ia, &na, err);
    if (!st) st = tq_tok_encode(t, b, strlen(b), 0, &ib, &nb, err);
    if (!st) {
        if (max_len > 0) tq_tok_truncate_pair(max_len - 4, &na, &nb);
        st = enc_alloc(out, na + nb + 4, err);
    }
    if (!st) {
        int k = 0;
        out->ids[k++] = cls;
        for (int i = 0; i < na; i++) out->ids[k++] = ia[i];
        out->ids[k++] = sep;
        out->ids[k++] = sep;
        for (int i = 0; i < nb; i++) out->ids[k++] = ib[i];
        out->ids[k++] = sep;
    }
    free(ia);
    free(ib);
    return st;
}

tq_status tq_tok_encode_pair(const tq_tok *t, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                             tq_error *err) {
    if (out) *out = (tq_wp_encoding){0, NULL, NULL};
    if (!t || !a || !out || max_len < 0) return tq_err(err, TQ_E_ARG, "tokenizer: no tokenizer, text or output (NULL)");
    if (b && !*b) b = NULL;   /* as transformers: an empty text_pair is none */
    if (t->kind->vt->pair) return t->kind->vt->pair(t->impl, a, b, max_len, out, err);
    return generic_pair(t, a, b, max_len, out, err);
}
