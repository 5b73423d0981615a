/* test_spm.c — the llama2.c sentencepiece-style tokenizer: hand-traced
 * encodings on a small vocabulary and on stories260k's tok512.bin, decoding
 * rules, round trips and malformed files. */
#include "tq_test.h"
#include "trueq_llama.h"
#include <stdint.h>
#include <stdlib.h>

/* ---- a tokenizer file built in memory ----------------------------------- */
typedef struct { uint8_t *b; size_t n, cap; } buf;
static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->b = realloc(b->b, b->cap); }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put_i32(buf *b, int32_t v) { uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)}; put(b, x, 4); }
static void put_f32(buf *b, float f) { uint32_t u; memcpy(&u, &f, 4); put_i32(b, (int32_t)u); }
static void put_piece(buf *b, const char *s, float score) { put_f32(b, score); put_i32(b, (int32_t)strlen(s)); put(b, s, strlen(s)); }

/* ids: 0 <unk>, 1 BOS, 2 EOS, 3..258 <0x00>..<0xFF>, then: */
enum { SP = 259, A, B, C, AB, BC, SP_A, ABC, AA };
static buf small_vocab(void) {
    buf b = {0};
    put_i32(&b, 8);
    put_piece(&b, "<unk>", 0); put_piece(&b, "\n<s>\n", 0); put_piece(&b, "\n</s>\n", 0);
    for (int i = 0; i < 256; i++) { char p[8]; snprintf(p, sizeof p, "<0x%02X>", i); put_piece(&b, p, 0); }
    put_piece(&b, " ", -20);  put_piece(&b, "a", -21); put_piece(&b, "b", -22); put_piece(&b, "c", -23);
    put_piece(&b, "ab", -1);  put_piece(&b, "bc", -0.5f); put_piece(&b, " a", -3); put_piece(&b, "abc", -2);
    put_piece(&b, "aa", -1);
    return b;
}

static int eq_ids(const int *got, int n, const int *want, int wn) {
    if (n != wn) { fprintf(stderr, "  got %d ids, want %d:", n, wn); for (int i = 0; i < n; i++) fprintf(stderr, " %d", got[i]); fputc('\n', stderr); return 0; }
    for (int i = 0; i < n; i++) if (got[i] != want[i]) { fprintf(stderr, "  id %d: got %d want %d\n", i, got[i], want[i]); return 0; }
    return 1;
}

static int enc_is(const tq_spm *t, const char *text, int bos, int eos, const int *want, int wn) {
    int *ids = NULL, n = 0;
    tq_error err = {0};
    if (tq_spm_encode(t, text, strlen(text), bos, eos, &ids, &n, &err)) { fprintf(stderr, "  %s\n", err.msg); return 0; }
    int ok = eq_ids(ids, n, want, wn);
    free(ids);
    return ok;
}

static void t_small(void) {
    buf b = small_vocab();
    tq_error err = {0};
    tq_spm *t = tq_spm_open_mem(b.b, b.n, "small", &err);
    free(b.b);
    TQ_CASE("spm: reads every piece and score");
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (!t) return;
    CHECK_EQ_INT(tq_spm_count(t), AA + 1);
    int len;
    CHECK(strcmp(tq_spm_piece(t, ABC, &len), "abc") == 0 && len == 3);
    CHECK_NEAR(tq_spm_score(t, BC), -0.5, 0);
    CHECK_EQ_INT(tq_spm_find(t, "<0x41>", 6), 3 + 0x41);
    CHECK_EQ_INT(tq_spm_find(t, "zz", 2), -1);

    TQ_CASE("spm: merges by best score, not left to right");
    /* " abc" -> [' ','a','b','c']; pairs ' a' -3, 'ab' -1, 'bc' -0.5: 'bc' first;
     * then ' a' -3, 'abc' -2: 'abc'; ' abc' is no piece. */
    CHECK(enc_is(t, "abc", 0, 0, (int[]){SP, ABC}, 2));
    /* "ab" -> ' ','a','b': 'ab' -1 beats ' a' -3 -> [' ', 'ab'] */
    CHECK(enc_is(t, "ab", 0, 0, (int[]){SP, AB}, 2));
    /* "a" -> ' ','a' -> ' a' */
    CHECK(enc_is(t, "a", 1, 1, (int[]){1, SP_A, 2}, 3));

    TQ_CASE("spm: equal scores merge the leftmost pair");
    /* " aaa": ' a' -3, 'aa' -1 (twice): the first 'aa' -> [' ', 'aa', 'a'] */
    CHECK(enc_is(t, "aaa", 0, 0, (int[]){SP, AA, A}, 3));

    TQ_CASE("spm: byte fallback for characters with no piece");
    /* 'x' = 0x78 -> <0x78> = id 3 + 0x78; 'é' = C3 A9 -> two byte pieces */
    CHECK(enc_is(t, "x", 0, 0, (int[]){SP, 3 + 0x78}, 2));
    CHECK(enc_is(t, "\xC3\xA9" "a", 0, 0, (int[]){SP, 3 + 0xC3, 3 + 0xA9, A}, 4));
    CHECK(enc_is(t, "", 1, 0, (int[]){1}, 1));   /* empty: no dummy prefix */

    TQ_CASE("spm: decode drops the space after BOS and turns <0xNN> into bytes");
    const char *p = tq_spm_decode(t, 1, SP_A, &len);
    CHECK(len == 1 && p[0] == 'a');
    p = tq_spm_decode(t, A, SP_A, &len);
    CHECK(len == 2 && memcmp(p, " a", 2) == 0);
    p = tq_spm_decode(t, A, 3 + 0xC3, &len);
    CHECK(len == 1 && (unsigned char)p[0] == 0xC3);
    p = tq_spm_decode(t, A, 3, &len);   /* <0x00> is one NUL byte */
    CHECK(len == 1 && p[0] == 0);
    CHECK(tq_spm_decode(t, A, 9999, &len) == NULL);
    tq_spm_free(t);

    TQ_CASE("spm: a piece with an inner space merges across words");
    b = small_vocab();
    put_piece(&b, " b", -4);     /* id AA + 1 */
    put_piece(&b, "a b", -0.1f); /* id AA + 2: words can no longer merge apart */
    t = tq_spm_open_mem(b.b, b.n, "small2", &err);
    free(b.b);
    CHECK(t != NULL);
    if (!t) return;
    /* " ca b" -> [' ','c','a',' ','b']: only ' b' (-4) is a piece, then 'a'+' b' = 'a b' (-0.1);
     * ' c', 'ca', 'a ' are no pieces -> [' ', 'c', 'a b'] */
    CHECK(enc_is(t, "ca b", 0, 0, (int[]){SP, C, AA + 2}, 3));
    tq_spm_free(t);
}

static void t_corrupt(void) {
    tq_error err = {0};
    buf b = {0};
    TQ_CASE("spm: malformed files are refused with a reason");
    put(&b, "ab", 2);
    CHECK(tq_spm_open_mem(b.b, b.n, "short.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "short.bin");
    b.n = 0; put_i32(&b, -1);
    CHECK(tq_spm_open_mem(b.b, b.n, "neg.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "max_token_length -1");
    b.n = 0; put_i32(&b, 4); put_f32(&b, 0); put_i32(&b, 5); put(&b, "hello", 5);
    CHECK(tq_spm_open_mem(b.b, b.n, "long.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "token 0: length 5");
    b.n = 0; put_i32(&b, 4); put_f32(&b, 0); put_i32(&b, 1); put(&b, "a", 1); put_f32(&b, 0); put_i32(&b, 3); put(&b, "a", 1);
    CHECK(tq_spm_open_mem(b.b, b.n, "trunc.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "token 1: 3 bytes");
    b.n = 0; put_i32(&b, 4); put_f32(&b, NAN); put_i32(&b, 1); put(&b, "a", 1);
    CHECK(tq_spm_open_mem(b.b, b.n, "nan.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "not finite");
    b.n = 0; put_i32(&b, 4); put_f32(&b, 0); put_i32(&b, 1);
    CHECK(tq_spm_open_mem(b.b, b.n, "half.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "half.bin");
    b.n = 0; put_i32(&b, 4);
    CHECK(tq_spm_open_mem(b.b, b.n, "empty.bin", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "no tokens");
    CHECK(tq_spm_open("/nonexistent/tok.bin", &err) == NULL);
    CHECK_EQ_INT(err.status, TQ_E_IO);

    TQ_CASE("spm: a vocabulary without bytes or <unk> cannot encode unknown bytes");
    b.n = 0; put_i32(&b, 4); put_piece(&b, " ", 0); put_piece(&b, "a", 0);
    tq_spm *t = tq_spm_open_mem(b.b, b.n, "tiny.bin", &err);
    CHECK(t != NULL);
    if (t) {
        int *ids, n;
        CHECK_ERR(tq_spm_encode(t, "az", 2, 0, 0, &ids, &n, &err), err, TQ_E_UNSUPPORTED, "0x7A");
        CHECK(ids == NULL);
        tq_spm_free(t);
    }
    free(b.b);
}

static void t_tok512(void) {
    const char *md = tq_t_models_dir();
    TQ_CASE("tok512: known ids traced by hand from its entries");
    if (!md) TQ_SKIP("no models dir (set TRUEQ_MODELS)");
    char path[1200];
    snprintf(path, sizeof path, "%s/stories260k/tok512.bin", md);
    tq_error err = {0};
    tq_spm *t = tq_spm_open(path, &err);
    if (!t) TQ_SKIP("stories260k/tok512.bin absent");
    CHECK_EQ_INT(tq_spm_count(t), 512);
    int len;
    CHECK(strcmp(tq_spm_piece(t, 265, &len), " the") == 0);
    /* " the": pairs ' t' (259, score 0) then 'he' (260, -1) then ' the' (265, -6) */
    CHECK(enc_is(t, "the", 0, 0, (int[]){265}, 1));
    /* " Once upon a time": merges in score order ' t' 0, ' a' -2, 'im' -29, 'on' -30,
     * ' u' -59, ' O' -60, ' On' -62, 'ce' -72, ' up' -91, 'ime' -110, ' time' -119,
     * ' Once' -144, ' upon' -148 (On, nc, po, ti... are no pieces) */
    CHECK(enc_is(t, "Once upon a time", 1, 0, (int[]){1, 403, 407, 261, 378}, 5));
    /* " Hi!": ' H' (320) merges; ' Hi', 'Hi', 'i!' are no pieces */
    CHECK(enc_is(t, "Hi!", 0, 0, (int[]){320, 417, 443}, 3));
    /* U+1F600 has no piece: F0 9F 98 80 -> <0xNN> = 3 + NN, after the lone ' ' (410) */
    CHECK(enc_is(t, "\xF0\x9F\x98\x80", 0, 0, (int[]){410, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80}, 5));

    TQ_CASE("tok512: decode(BOS + encode(text)) == text");
    static const char *texts[] = {
        "Once upon a time, there was a little girl named Lily.",
        "  two leading spaces\nand a newline",
        "Caf\xC3\xA9 \xE2\x80\x9Cquotes\xE2\x80\x9D and an emoji \xF0\x9F\x98\x80 and tabs\t!",
        "x", "Lily's mom said, \"Lily, let's go to the park.\"",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int *ids, n;
        char *back;
        size_t blen;
        CHECK_OK(tq_spm_encode(t, texts[i], strlen(texts[i]), 1, 1, &ids, &n, &err), err);
        CHECK_OK(tq_spm_detokenize(t, ids, n, &back, &blen, &err), err);
        CHECK_MSG(blen == strlen(texts[i]) && memcmp(back, texts[i], blen) == 0, "\"%s\" came back as \"%s\"", texts[i], back);
        free(ids);
        free(back);
    }

    TQ_CASE("tok512: a long text encodes in linear time and round-trips");
    size_t big = 200000, bl = 0;
    char *text = malloc(big + 1);
    static const char *const words[] = {"Once", "upon", "a", "time,", "Lily", "and", "Tom", "played", "in",
                                        "the", "park.", "\"Look!\"", "said", "Mom.", "\n"};
    uint64_t rs = 5;
    while (bl + 16 < big) {
        const char *w = words[tq_t_rand(&rs) % 15];
        size_t wl = strlen(w);
        memcpy(text + bl, w, wl);
        bl += wl;
        text[bl++] = ' ';
    }
    text[bl] = 0;
    int *ids, n, *ids2, n2;
    char *back;
    size_t blen;
    CHECK_OK(tq_spm_encode(t, text, bl, 1, 0, &ids, &n, &err), err);
    CHECK(n > 1000 && n < (int)bl / 2);
    CHECK_OK(tq_spm_detokenize(t, ids, n, &back, &blen, &err), err);
    CHECK(blen == bl && memcmp(back, text, bl) == 0);

    TQ_CASE("tok512: splitting at spaces gives the ids of one whole-text merge");
    /* the same vocabulary plus a piece "\x01 \x01" that no text here can form:
     * it has an inner space, so that tokenizer merges the whole text at once */
    FILE *f = fopen(path, "rb");
    buf raw = {0};
    char chunk[4096];
    size_t got;
    while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0) put(&raw, chunk, got);
    if (f) fclose(f);
    put_piece(&raw, "\x01 \x01", -1000);
    tq_spm *whole = tq_spm_open_mem(raw.b, raw.n, "tok512+inner-space", &err);
    free(raw.b);
    CHECK(whole != NULL);
    if (whole) {
        int *w_ids, wn;
        size_t part = 3000;   /* quadratic for the whole-text tokenizer: keep it short */
        while (text[part] != ' ') part--;
        CHECK_OK(tq_spm_encode(t, text, part, 1, 0, &ids2, &n2, &err), err);
        CHECK_OK(tq_spm_encode(whole, text, part, 1, 0, &w_ids, &wn, &err), err);
        CHECK(eq_ids(ids2, n2, w_ids, wn));
        free(w_ids);
        free(ids2);
        tq_spm_free(whole);
    }
    free(ids);
    free(back);
    free(text);
    tq_spm_free(t);
}

void tq_tests(void) {
    t_small();
    t_corrupt();
    t_tok512();
}
