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

tq_tok *tq_tok_open_dir(const char *dir, tq_error *err) {
    if (!dir) { tq_err(err, TQ_E_ARG, "tokenizer: no directory (NULL)"); return NULL; }
    for (int i = 0; i < N_KINDS; i++) {
        tq_error e = {0};
        void *impl = KINDS[i]->open(dir, &e);
        if (!impl) {
            /* none of this kind's files, or another kind's: try the next */
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
