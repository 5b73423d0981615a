/* test_wordpiece.c — the WordPiece tokenizer on a small hand-written
 * vocabulary (written to the test's temporary directory): known ids worked
 * out by hand for each normalisation and splitting rule, truncation, special
 * tokens in text; then a matrix of corrupt or edge inputs, each with the
 * status and message it must give. */
#include "tq_test.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <sys/stat.h>

/* ids are the line numbers from 0 */
static const char VOCAB[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"      /* 0-4 */
    "cafe\nnaive\nun\n##aff\n##able\n"           /* 5-9 */
    "!\n,\n.\n\xe6\x88\x91\n\xe7\x88\xb1\n"      /* 10-14: ! , . 我 爱 */
    "hello\nworld\n##s\na\n##a\n"                /* 15-19 */
    "b\nx\n##x\nangstrom\ni\n";                  /* 20-24 */

static tq_wordpiece *open_vocab(const char *name, const char *text, const tq_wp_options *o, tq_error *err) {
    const char *p = tq_t_path(name);
    tq_t_write(p, text, strlen(text));
    return tq_wp_open_vocab(p, o, err);
}

/* Encode and compare with want[0..n); types: NULL = all 0. */
static void expect(const tq_wordpiece *t, const char *a, const char *b, int max_len, const int *want, int n,
                   const int *types) {
    tq_error err = {0};
    tq_wp_encoding e;
    tq_status st = tq_wp_encode(t, a, b, max_len, &e, &err);
    CHECK_OK(st, err);
    if (st) return;
    int same = e.n == n;
    for (int i = 0; same && i < n; i++) same = e.ids[i] == want[i] && e.type_ids[i] == (types ? types[i] : 0);
    if (!same) {
        fprintf(stderr, "  \"%s\" / \"%s\": got", a, b ? b : "(none)");
        for (int i = 0; i < e.n; i++) fprintf(stderr, " %d:%d", e.ids[i], e.type_ids[i]);
        fprintf(stderr, "\n  want");
        for (int i = 0; i < n; i++) fprintf(stderr, " %d:%d", want[i], types ? types[i] : 0);
        fputc('\n', stderr);
    }
    CHECK_MSG(same, "ids of \"%s\"", a);
    tq_wp_encoding_free(&e);
}
#define EXPECT(t, a, b, max_len, ...) do { static const int w_[] = {__VA_ARGS__}; \
    expect(t, a, b, max_len, w_, (int)(sizeof w_ / sizeof w_[0]), NULL); } while (0)

static void expect_err(const tq_wordpiece *t, const char *a, const char *b, int max_len, tq_status want, const char *frag) {
    tq_error err = {0};
    tq_wp_encoding e;
    tq_status st = tq_wp_encode(t, a, b, max_len, &e, &err);
    CHECK_ERR(st, err, want, frag);
    CHECK(e.n == 0 && e.ids == NULL);
    tq_wp_encoding_free(&e);
}

/* Open a directory holding the given files (NULL text: absent); check the
 * status and message. */
static tq_wordpiece *open_dir_files(const char *dir, const char *vocab, const char *tj, const char *cfg, tq_error *err) {
    char path[1024];
    mkdir(tq_t_path(dir), 0755);
    const char *names[3] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json"}, *texts[3] = {vocab, tj, cfg};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tq_t_path(dir), names[i]);
        if (texts[i]) tq_t_write(path, texts[i], strlen(texts[i]));
        else remove(path);
    }
    return tq_wp_open_dir(tq_t_path(dir), err);
}

static void dir_err(const char *dir, const char *vocab, const char *tj, const char *cfg, tq_status want, const char *frag) {
    tq_error err = {0};
    tq_wordpiece *t = open_dir_files(dir, vocab, tj, cfg, &err);
    CHECK_MSG(t == NULL, "%s opened", dir);
    CHECK_ERR(err.status, err, want, frag);
    tq_wp_free(t);
}

static const char TJ_HEAD[] = "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 4, \"content\": \"[MASK]\"}],";
static const char TJ_MODEL[] =
    "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\","
    " \"max_input_chars_per_word\": 5, \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3,"
    " \"[MASK]\": 4, \"hello\": 5, \"Hello\": 6, \"##s\": 7, \"caf\\u00e9\": 8, \"cafe\": 9}}}";

void tq_tests(void) {
    tq_error err = {0};
    TQ_CASE("wordpiece: vocabulary lookups");
    tq_wordpiece *t = open_vocab("vocab.txt", VOCAB, NULL, &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (!t) return;
    CHECK_EQ_INT(tq_wp_vocab_size(t), 25);
    CHECK_EQ_INT(tq_wp_unk(t), 1);
    CHECK_EQ_INT(tq_wp_cls(t), 2);
    CHECK_EQ_INT(tq_wp_sep(t), 3);
    CHECK_EQ_INT(tq_wp_pad(t), 0);
    CHECK_EQ_INT(tq_wp_id(t, "##able"), 9);
    CHECK_EQ_INT(tq_wp_id(t, "able"), -1);
    CHECK_EQ_INT(tq_wp_id(t, "\xe7\x88\xb1"), 14);
    CHECK(tq_wp_token(t, 24) && strcmp(tq_wp_token(t, 24), "i") == 0);
    CHECK(tq_wp_token(t, 25) == NULL && tq_wp_token(t, -1) == NULL);

    TQ_CASE("wordpiece: lower-casing, accents, punctuation, continuations");
    EXPECT(t, "Hello, World!", NULL, 0, 2, 15, 11, 16, 10, 3);
    EXPECT(t, "Caf\xc3\xa9 NA\xc3\x8f" "VE \xc3\x85ngstr\xc3\xb6m", NULL, 0, 2, 5, 6, 23, 3); /* Café NAÏVE Ångström */
    EXPECT(t, "cafe\xcc\x81", NULL, 0, 2, 5, 3);                /* e + combining acute */
    EXPECT(t, "unaffable worlds", NULL, 0, 2, 7, 8, 9, 16, 17, 3);
    EXPECT(t, "hello.world", NULL, 0, 2, 15, 12, 16, 3);
    EXPECT(t, "helloz b", NULL, 0, 2, 1, 20, 3);              /* no piece for z: the whole word */
    EXPECT(t, "unable unaff unz unx", NULL, 0, 2, 7, 9, 7, 8, 1, 7, 22, 3); /* no ##z */
    EXPECT(t, "", NULL, 0, 2, 3);
    EXPECT(t, "  \t\n ", NULL, 0, 2, 3);
    EXPECT(t, "\xc4\xb0", NULL, 0, 2, 24, 3);                 /* İ: NFD I + dot, dot dropped, lower i */

    TQ_CASE("wordpiece: CJK ideographs, cleaning, whitespace");
    EXPECT(t, "\xe6\x88\x91\xe7\x88\xb1x", NULL, 0, 2, 13, 14, 21, 3);          /* 我爱x */
    EXPECT(t, "hel\x01lo\xe2\x80\x8b wor\xef\xbf\xbdld", NULL, 0, 2, 15, 16, 3); /* ^A, ZWSP, U+FFFD dropped */
    EXPECT(t, "hello\xe3\x80\x80world\xc2\xa0x\rb", NULL, 0, 2, 15, 16, 21, 20, 3); /* ideographic space, nbsp */
    EXPECT(t, "hello\xc2\x85world", NULL, 0, 2, 1, 3);        /* U+0085 is Cc: dropped, not a space */

    TQ_CASE("wordpiece: long words and special tokens in text");
    char word[256];
    memset(word, 'a', 100);
    word[100] = 0;
    int want[102];
    want[0] = 2; want[1] = 18;
    for (int i = 2; i < 101; i++) want[i] = 19;
    want[101] = 3;
    expect(t, word, NULL, 0, want, 102, NULL);               /* a ##a x 99 */
    memcpy(word, "\xc3\xa0", 2);                              /* 100 characters, 101 bytes */
    memset(word + 2, 'a', 99);
    word[101] = 0;
    expect(t, word, NULL, 0, want, 102, NULL);
    memset(word, 'a', 101);
    word[101] = 0;
    EXPECT(t, word, NULL, 0, 2, 1, 3);                       /* 101 characters */
    EXPECT(t, "x[MASK]x [CLS][SEP]", NULL, 0, 2, 21, 4, 21, 2, 3, 3);
    EXPECT(t, "[mask] [MASK", NULL, 0, 2, 1, 1, 1, 1, 1, 3);   /* [ mask ] [ MASK: no literal */

    TQ_CASE("wordpiece: pairs and LongestFirst truncation");
    {
        static const int w[] = {2, 15, 3, 16, 3}, ty[] = {0, 0, 0, 1, 1};
        expect(t, "hello", "world", 0, w, 5, ty);
        expect(t, "hello", "world", 5, w, 5, ty);
    }
    EXPECT(t, "a a a a a", NULL, 4, 2, 18, 18, 3);
    EXPECT(t, "a a a a a", NULL, 2, 2, 3);
    {   /* 5 + 2 in 4 places: the shorter b keeps 2 */
        static const int w[] = {2, 18, 18, 3, 20, 20, 3}, ty[] = {0, 0, 0, 0, 1, 1, 1};
        expect(t, "a a a a a", "b b", 7, w, 7, ty);
    }
    {   /* 6 + 6 in 5: a (the shorter on a tie) floor(5/2), b the rest */
        static const int w[] = {2, 21, 21, 3, 20, 20, 20, 3}, ty[] = {0, 0, 0, 0, 1, 1, 1, 1};
        expect(t, "x x x x x x", "b b b b b b", 8, w, 8, ty);
    }
    {   /* 10 + 5 in 7: the shorter b gets floor(7/2) = 3, the longer a 4 */
        static const int w[] = {2, 18, 18, 18, 18, 3, 20, 20, 20, 3}, ty[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
        expect(t, "a a a a a a a a a a", "b b b b b", 10, w, 10, ty);
    }
    {   /* 3 + 10 in 7: the shorter a keeps 3, b gets 4 */
        static const int w[] = {2, 18, 18, 18, 3, 20, 20, 20, 20, 3}, ty[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
        expect(t, "a a a", "b b b b b b b b b b", 10, w, 10, ty);
    }
    {   /* an empty b is no pair (transformers' __call__) */
        static const int w[] = {2, 15, 3};
        expect(t, "hello", "", 0, w, 3, NULL);
    }
    {   /* pair with max_len 3: only the specials */
        static const int w[] = {2, 3, 3}, ty[] = {0, 0, 1};
        expect(t, "hello", "world", 3, w, 3, ty);
    }

    TQ_CASE("wordpiece: encode errors");
    expect_err(t, "hello", NULL, 1, TQ_E_ARG, "max_len 1");
    expect_err(t, "hello", "world", 2, TQ_E_ARG, "max_len 2");
    expect_err(t, "hello", NULL, -5, TQ_E_ARG, "max_len -5");
    expect_err(t, "ab\xff" "cd", NULL, 0, TQ_E_VALUE, "text a: invalid UTF-8 at byte offset 2");
    expect_err(t, "ok", "hello \xe6\x88", 0, TQ_E_VALUE, "text b: invalid UTF-8 at byte offset 6");
    expect_err(t, "\xed\xa0\x80", NULL, 0, TQ_E_VALUE, "offset 0");             /* a surrogate */
    expect_err(t, "x\xc0\xafy", NULL, 0, TQ_E_VALUE, "offset 1");                /* overlong '/' */
    expect_err(NULL, "x", NULL, 0, TQ_E_ARG, "NULL");

    TQ_CASE("wordpiece: long input stays linear");
    {
        size_t n = 4 << 20;
        char *big = malloc(n + 1);
        for (size_t i = 0; i < n; i++) big[i] = "hello "[i % 6];
        big[n] = 0;
        tq_wp_encoding e;
        CHECK_OK(tq_wp_encode(t, big, NULL, 1 << 30, &e, &err), err);
        CHECK_EQ_INT(e.n, (int)((n + 5) / 6) + 2);
        tq_wp_encoding_free(&e);
        memset(big, 'a', n);                                  /* one 4 MiB word */
        CHECK_OK(tq_wp_encode(t, big, NULL, 0, &e, &err), err);
        CHECK(e.n == 3 && e.ids[1] == 1);
        tq_wp_encoding_free(&e);
        free(big);
    }
    tq_wp_free(t);

    TQ_CASE("wordpiece: options");
    tq_wp_options o;
    tq_wp_options_init(&o);
    CHECK(o.do_lower_case == 1 && o.strip_accents == -1 && o.tokenize_chinese_chars == 1 && o.max_len == 512);
    o.strip_accents = 0;                                      /* lower-case but keep accents */
    t = open_vocab("v1.txt", VOCAB, &o, &err);
    CHECK(t != NULL);
    if (t) EXPECT(t, "Caf\xc3\xa9 CAFE", NULL, 0, 2, 1, 5, 3);
    tq_wp_free(t);
    tq_wp_options_init(&o);
    o.do_lower_case = 0;                                      /* and accents follow: kept */
    o.tokenize_chinese_chars = 0;
    o.max_len = 4;
    t = open_vocab("v2.txt", VOCAB, &o, &err);
    CHECK(t != NULL);
    if (t) {
        EXPECT(t, "Hello hello na\xc3\xafve", NULL, 0, 2, 1, 15, 3);           /* max_len 4 from the options */
        EXPECT(t, "\xe6\x88\x91\xe7\x88\xb1 x", NULL, 8, 2, 1, 21, 3);       /* 我爱 one word: 爱 has no ## */
    }
    tq_wp_free(t);
    o.strip_accents = 7;
    CHECK(open_vocab("v3.txt", VOCAB, &o, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "strip_accents 7");

    TQ_CASE("wordpiece: vocab.txt quirks (duplicates, CRLF)");
    t = open_vocab("dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n##c\nab\nx", NULL, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(tq_wp_vocab_size(t), 8);
        CHECK_EQ_INT(tq_wp_id(t, "ab"), 6);                   /* the later line wins, as in transformers */
        CHECK(strcmp(tq_wp_token(t, 4), "ab") == 0);
        EXPECT(t, "ab abc x", NULL, 0, 2, 6, 6, 5, 7, 3);
    }
    tq_wp_free(t);
    t = open_vocab("crlf.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r[SEP]\r\nhello\r\n", NULL, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(tq_wp_vocab_size(t), 5);
        EXPECT(t, "HELLO", NULL, 0, 2, 4, 3);
    }
    tq_wp_free(t);

    TQ_CASE("wordpiece: corrupt vocab.txt");
    CHECK(tq_wp_open_vocab(tq_t_path("absent.txt"), NULL, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "absent.txt");
    CHECK(open_vocab("empty.txt", "", NULL, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "empty.txt: empty vocabulary");
    static const char *const need[4] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]"};
    for (int i = 0; i < 4; i++) {
        char v[128] = "", frag[64];
        for (int k = 0; k < 4; k++)
            if (k != i) { strcat(v, need[k]); strcat(v, "\n"); }
        strcat(v, "hello\n");
        CHECK(open_vocab("lack.txt", v, NULL, &err) == NULL);
        snprintf(frag, sizeof frag, "lack.txt: the vocabulary has no %s", need[i]);
        CHECK_ERR(err.status, err, TQ_E_FORMAT, frag);
    }
    CHECK(open_vocab("utf8.txt", "[PAD]\n[UNK]\nab\xe9z\n[CLS]\n[SEP]\n", NULL, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "utf8.txt:3: invalid UTF-8 at byte 2");
    {
        static const char nul[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\0y\n";
        const char *p = tq_t_path("nul.txt");
        tq_t_write(p, nul, sizeof nul - 1);
        CHECK(tq_wp_open_vocab(p, NULL, &err) == NULL);
        CHECK_ERR(err.status, err, TQ_E_FORMAT, "nul.txt:5: NUL byte");
    }

    TQ_CASE("wordpiece: model directories");
    char tj[2048];
    snprintf(tj, sizeof tj, "%s%s", TJ_HEAD, TJ_MODEL);
    /* tokenizer.json alone: its vocabulary, normalizer defaults, max 5 characters a word */
    t = open_dir_files("d_json", NULL, tj, NULL, &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (t) {
        CHECK_EQ_INT(tq_wp_vocab_size(t), 10);
        EXPECT(t, "Hello caf\xc3\xa9 x[MASK]", NULL, 0, 2, 5, 9, 1, 4, 3);
        EXPECT(t, "hello hellos", NULL, 0, 2, 5, 1, 3);        /* "hellos": 6 characters, the limit is 5 */
    }
    tq_wp_free(t);
    /* tokenizer_config.json overrides the normalizer */
    t = open_dir_files("d_cfg", NULL, tj, "{\"do_lower_case\": false, \"model_max_length\": 3}", &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (t) EXPECT(t, "Hello hello", NULL, 0, 2, 6, 3);
    tq_wp_free(t);
    snprintf(tj, sizeof tj, "%s \"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": false, \"strip_accents\": null},"
             "%s", TJ_HEAD, TJ_MODEL);
    t = open_dir_files("d_norm", NULL, tj, NULL, &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    /* transformers' BertTokenizerFast ignores the normalizer's flags: without a
     * tokenizer_config.json it lower-cases and strips accents (its defaults) */
    if (t) EXPECT(t, "Hello caf\xc3\xa9", NULL, 0, 2, 5, 9, 3);
    tq_wp_free(t);
    /* vocab.txt is preferred; tokenizer_config.json still applies */
    t = open_dir_files("d_both", VOCAB, NULL, "{\"do_lower_case\": false, \"strip_accents\": null}", &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (t) EXPECT(t, "Hello hello", NULL, 0, 2, 1, 15, 3);
    tq_wp_free(t);

    TQ_CASE("wordpiece: corrupt model directories");
    dir_err("e_none", NULL, NULL, NULL, TQ_E_NOTFOUND, "no vocab.txt or tokenizer.json");
    dir_err("e_json", NULL, "{\"model\": {\"vocab\": {", NULL, TQ_E_FORMAT, "tokenizer.json: not a JSON object");
    dir_err("e_arr", NULL, "[1, 2]", NULL, TQ_E_FORMAT, "tokenizer.json: not a JSON object");
    dir_err("e_nomodel", NULL, "{\"version\": \"1.0\"}", NULL, TQ_E_FORMAT, "no \"model\" object");
    dir_err("e_bpe", NULL, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", NULL, TQ_E_UNSUPPORTED, "BPE");
    dir_err("e_dupid", NULL, "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 0}}}", NULL, TQ_E_FORMAT,
            "model.vocab[\"[CLS]\"]: id is not a unique integer");
    dir_err("e_badid", NULL, "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 7.5}}}", NULL, TQ_E_FORMAT, "[0, 2)");
    dir_err("e_nospec", NULL, "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2}}}", NULL, TQ_E_FORMAT,
            "tokenizer.json: the vocabulary has no [PAD]");
    snprintf(tj, sizeof tj, "{\"normalizer\": {\"type\": \"Lowercase\"}, %s", TJ_MODEL);
    dir_err("e_norm", NULL, tj, NULL, TQ_E_UNSUPPORTED, "normalizer Lowercase is not a BertNormalizer");
    snprintf(tj, sizeof tj, "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": 1}, %s", TJ_MODEL);
    dir_err("e_normkey", NULL, tj, NULL, TQ_E_FORMAT, "\"lowercase\" is not a boolean");
    snprintf(tj, sizeof tj, "{\"added_tokens\": [{\"id\": 4, \"content\": \"[NEW]\"}], %s", TJ_MODEL);
    dir_err("e_added", NULL, tj, NULL, TQ_E_UNSUPPORTED, "added token \"[NEW]\"");
    snprintf(tj, sizeof tj, "{%s", TJ_MODEL);
    dir_err("e_cfg", NULL, tj, "{\"do_lower_case\": tru", TQ_E_FORMAT, "tokenizer_config.json: not a JSON object");
    dir_err("e_cfgkey", VOCAB, NULL, "{\"do_lower_case\": \"yes\"}", TQ_E_FORMAT,
            "tokenizer_config.json: \"do_lower_case\" is not a boolean");
    dir_err("e_cfglen", VOCAB, NULL, "{\"model_max_length\": 1}", TQ_E_FORMAT, "\"model_max_length\" is not an integer >= 2");
    dir_err("e_vocab", "[PAD]\n[UNK]\n[CLS]\n", NULL, NULL, TQ_E_FORMAT, "vocab.txt: the vocabulary has no [SEP]");
    {   /* a huge model_max_length ("no limit") is clamped, not an error */
        tq_wordpiece *h = open_dir_files("d_huge", VOCAB, NULL, "{\"model_max_length\": 1e30}", &err);
        CHECK_OK(h ? TQ_OK : err.status, err);
        tq_wp_free(h);
    }
}
