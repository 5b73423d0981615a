/* The tokenizer interface (src/nn/tok/): both kinds through the same calls,
 * giving the ids of their direct APIs; the loader picks the kind from files. */
#include "tq_test.h"
#include "trueq_nn.h"
#include "trueq_llama.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *VOCAB = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n,\n";

/* Round trip through the interface; returns the ids (caller frees). */
static int32_t *through(const tq_tok *t, const char *text, int specials, int *n, char **back) {
    tq_error err = {0};
    int32_t *ids = NULL;
    CHECK_OK(tq_tok_encode(t, text, strlen(text), specials, &ids, n, &err), err);
    size_t len = 0;
    CHECK_OK(tq_tok_decode(t, ids, *n, back, &len, &err), err);
    CHECK(*back && strlen(*back) == len);
    return ids;
}

void tq_tests(void) {
    tq_error err = {0};
    char dir[600];

    TQ_CASE("loader: a directory without tokenizer files names every kind's files");
    snprintf(dir, sizeof dir, "%s/none", tq_t_tmpdir());
    mkdir(dir, 0755);
    CHECK(tq_tok_open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "vocab.txt");
    CHECK(strstr(err.msg, "tokenizer.model") != NULL);
    CHECK(tq_tok_open_dir(NULL, &err) == NULL && err.status == TQ_E_ARG);
    tq_tok_free(NULL);

    TQ_CASE("wordpiece through the interface: the ids of tq_wp_encode, specials, decode");
    snprintf(dir, sizeof dir, "%s/wp", tq_t_tmpdir());
    mkdir(dir, 0755);
    char p[700];
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    tq_t_write(p, VOCAB, strlen(VOCAB));
    tq_tok *t = tq_tok_open_dir(dir, &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (!t) return;
    CHECK(!strcmp(tq_tok_kind_name(t), "wordpiece"));
    CHECK_EQ_INT(tq_tok_vocab_size(t), 9);
    /* the line numbers of vocab.txt, by tq_tok_special; no BOS/EOS in BERT */
    static const int want_sp[TQ_TOK_SPECIAL_COUNT + 1] = {[TQ_TOK_BOS] = -1, [TQ_TOK_EOS] = -1, [TQ_TOK_PAD] = 0,
        [TQ_TOK_UNK] = 1, [TQ_TOK_CLS] = 2, [TQ_TOK_SEP] = 3, [TQ_TOK_MASK] = 4, [TQ_TOK_SPECIAL_COUNT] = -1};
    for (int k = 0; k <= TQ_TOK_SPECIAL_COUNT; k++)
        CHECK_MSG(tq_tok_special_id(t, (tq_tok_special)k) == want_sp[k], "special %d: id %d, want %d", k,
                  tq_tok_special_id(t, (tq_tok_special)k), want_sp[k]);
    tq_wordpiece *wp = tq_wp_open_dir(dir, &err);
    tq_wp_encoding e = {0};
    CHECK_OK(tq_wp_encode(wp, "Hello worlds, zebra", NULL, 0, &e, &err), err);
    int n = 0;
    char *back = NULL;
    int32_t *ids = through(t, "Hello worlds, zebra", 1, &n, &back);
    CHECK_EQ_INT(n, e.n);
    CHECK(n == e.n && !memcmp(ids, e.ids, sizeof(int32_t) * (size_t)n));
    CHECK_EQ_INT(n, 7);   /* [CLS] hello world ##s , [UNK] [SEP] */
    CHECK_MSG(!strcmp(back, "hello worlds , [UNK]"), "decoded \"%s\"", back);
    free(ids); free(back);
    ids = through(t, "Hello worlds, zebra", 0, &n, &back);
    CHECK(n == e.n - 2 && !memcmp(ids, e.ids + 1, sizeof(int32_t) * (size_t)n));
    free(ids); free(back);
    int32_t bad = 9;
    CHECK(tq_tok_decode(t, &bad, 1, &back, NULL, &err) == TQ_E_ARG && strstr(err.msg, "id 9"));
    CHECK(tq_tok_encode(t, "\xff", 1, 1, &ids, &n, &err) == TQ_E_VALUE);
    tq_wp_encoding_free(&e);
    tq_wp_free(wp);
    tq_tok_free(t);

    TQ_CASE("sentencepiece through the interface: the ids of tq_spm_encode (BOS), decode");
    const char *md = tq_t_models_dir();
    if (!md) TQ_SKIP("stories260k not found");
    snprintf(dir, sizeof dir, "%s/stories260k", md);
    t = tq_tok_open_dir(dir, &err);
    if (!t) TQ_SKIP("cannot open the stories260k tokenizer");
    CHECK(!strcmp(tq_tok_kind_name(t), "sentencepiece"));
    CHECK_EQ_INT(tq_tok_vocab_size(t), 512);
    CHECK_EQ_INT(tq_tok_special_id(t, TQ_TOK_BOS), 1);
    CHECK_EQ_INT(tq_tok_special_id(t, TQ_TOK_EOS), 2);
    CHECK_EQ_INT(tq_tok_special_id(t, TQ_TOK_CLS), -1);
    tq_spm *s = tq_spm_open_dir(dir, &err);
    const char *text = "Once upon a time, there was a little girl.";
    int *sid = NULL, sn = 0;
    CHECK_OK(tq_spm_encode(s, text, strlen(text), 1, 0, &sid, &sn, &err), err);
    ids = through(t, text, 1, &n, &back);
    CHECK_EQ_INT(n, sn);
    int same = n == sn;
    for (int i = 0; same && i < n; i++) same = ids[i] == sid[i];
    CHECK(same && ids[0] == 1);
    CHECK_MSG(!strcmp(back, text), "decoded \"%s\"", back);
    free(ids); free(back); free(sid);
    tq_spm_free(s);
    tq_tok_free(t);
}
