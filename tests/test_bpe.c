/* test_bpe.c — the byte-level BPE tokenizer's units: the byte alphabet, the
 * merge order, ignore_merges, added tokens (lookalikes, lstrip, rstrip,
 * single_word), unknown characters (unk, fuse_unk, byte fallback), lossy
 * decoding, split behaviours, the tq_tok row, tq_bpe_from_arrays, and a
 * corrupt-input matrix for tokenizer.json, merges.txt and the arrays, each
 * case expecting its own status and message. (Conformance with tokenizers:
 * test_bpe_reference.c.) */
#include "tq_test.h"
#include "core/internal.h"
#include "nn/tok/bpe.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <sys/stat.h>

/* A tokenizer.json with the given parts (NULL: the defaults below). */
static char *doc(const char *model_extra, const char *vocab, const char *merges, const char *added, const char *norm,
                 const char *pre, const char *post, const char *dec) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"model\":{\"type\":\"BPE\",\"vocab\":%s,\"merges\":%s%s},\"added_tokens\":%s,\"normalizer\":%s,"
             "\"pre_tokenizer\":%s,\"post_processor\":%s,\"decoder\":%s}",
             vocab ? vocab : "{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5,\"\\u0120\":6,\"\\u0120a\":7,\"<|x|>\":8}",
             merges ? merges : "[\"b c\",\"a b\",\"ab c\",\"\\u0120 a\"]", model_extra ? model_extra : "",
             added ? added : "[{\"id\":8,\"content\":\"<|x|>\",\"special\":true,\"normalized\":false}]",
             norm ? norm : "null", pre ? pre : "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}",
             post ? post : "null", dec ? dec : "{\"type\":\"ByteLevel\"}");
    return buf;
}

static tq_bpe *open_doc(const char *json, tq_error *err) { return tq_bpe_from_json(json, strlen(json), "t.json", err); }

/* ids of text as a string "1 2 3" */
static const char *enc(const tq_bpe *t, const char *text, int sp) {
    static char out[2048];
    int32_t *ids;
    int n;
    tq_error e = {0};
    out[0] = 0;
    if (tq_bpe_encode(t, text, strlen(text), sp, &ids, &n, &e)) { snprintf(out, sizeof out, "ERR %s", e.msg); return out; }
    size_t u = 0;
    for (int i = 0; i < n && u < sizeof out - 16; i++) u += (size_t)snprintf(out + u, sizeof out - u, "%s%d", i ? " " : "", ids[i]);
    free(ids);
    return out;
}

#define CHECK_ENC(t, text, sp, want) do { const char *got_ = enc((t), (text), (sp)); \
    CHECK_MSG(!strcmp(got_, (want)), "\"%s\": got \"%s\", want \"%s\"", (text), got_, (want)); } while (0)

static void units(void) {
    tq_error err = {0};
    TQ_CASE("byte alphabet: a bijection of 256 bytes, printable bytes themselves, the rest from U+0100 in order");
    int seen[512] = {0}, ok = 1;
    for (int b = 0; b < 256; b++) {
        uint32_t c = tq_bpe_byte_char((uint8_t)b);
        ok &= c < 512 && !seen[c] && tq_bpe_char_byte(c) == b;
        if (c < 512) seen[c] = 1;
    }
    CHECK(ok);
    CHECK_EQ_INT(tq_bpe_byte_char(' '), 0x120);   /* the "Ġ" of GPT-2 vocabularies */
    CHECK_EQ_INT(tq_bpe_byte_char('\n'), 0x10A);  /* "Ċ" */
    CHECK_EQ_INT(tq_bpe_byte_char(0), 0x100);
    CHECK_EQ_INT(tq_bpe_byte_char('A'), 'A');
    CHECK_EQ_INT(tq_bpe_byte_char(0xAD), 0x143);  /* the soft hyphen is the last of the 68 */
    CHECK_EQ_INT(tq_bpe_char_byte(' '), -1);
    CHECK_EQ_INT(tq_bpe_char_byte(0x144), -1);
    CHECK_EQ_INT(tq_bpe_char_byte(0xE9), 0xE9);

    TQ_CASE("merges: the lowest rank first, leftmost on ties; ignore_merges takes a whole-word token");
    tq_bpe *t = open_doc(doc(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (!t) return;
    CHECK_ENC(t, "abc", 0, "0 4");      /* "b c" (rank 0) before "a b": a + bc, no "a bc" merge */
    CHECK_ENC(t, "ab", 0, "3");
    CHECK_ENC(t, "a a", 0, "0 7");      /* " a" is Ġ a -> Ġa */
    CHECK_ENC(t, "", 1, "");
    CHECK_ENC(t, "x", 0, "");           /* no such character and no unk: dropped, as tokenizers does */
    CHECK(tq_bpe_encode(t, "\xc3", 1, 0, &(int32_t *){0}, &(int){0}, &err) == TQ_E_VALUE && strstr(err.msg, "byte 0"));
    CHECK_EQ_INT(tq_bpe_vocab_size(t), 9);
    CHECK(!strcmp(tq_bpe_token(t, 7), "\xc4\xa0" "a"));
    tq_bpe_free(t);
    t = open_doc(doc(",\"ignore_merges\":true", NULL, NULL, NULL, NULL, NULL, NULL, NULL), &err);
    CHECK_ENC(t, "abc", 0, "5");
    tq_bpe_free(t);
    /* overlapping pairs: leftmost first, then the pairs the merges made */
    t = open_doc(doc(NULL, "{\"a\":0,\"aa\":1,\"aaaa\":2}", "[\"a a\",\"aa aa\"]", "[]", NULL, "null", NULL, NULL), &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    CHECK_ENC(t, "aaaaaaa", 0, "2 1 0");
    CHECK_ENC(t, "aaa", 0, "1 0");
    tq_bpe_free(t);

    TQ_CASE("added tokens: matched in the raw text before the model; lookalikes are text");
    t = open_doc(doc(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), &err);
    CHECK_ENC(t, "a<|x|>b", 0, "0 8 1");
    CHECK_ENC(t, "<|x|><|x|>", 0, "8 8");
    CHECK_ENC(t, "<|x", 0, "");         /* <, |, x are not in this vocabulary */
    tq_bpe_free(t);
    const char *added = "[{\"id\":8,\"content\":\"<|x|>\",\"special\":true,\"lstrip\":true,\"rstrip\":true},"
                        "{\"id\":9,\"content\":\"ab\",\"single_word\":true,\"normalized\":false}]";
    t = open_doc(doc(NULL, NULL, NULL, added, NULL, NULL, NULL, NULL), &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    CHECK_ENC(t, "a  <|x|>  a", 0, "0 8 0"); /* the spaces around go with the token */
    CHECK_ENC(t, "ab abc", 0, "9 7 4");      /* "ab" alone is token 9; inside "abc" it is not */
    CHECK_EQ_INT(tq_bpe_vocab_size(t), 10);

    TQ_CASE("decode: bytes back from the alphabet, specials kept or skipped, invalid UTF-8 -> U+FFFD per subpart");
    char *s = NULL;
    size_t sl = 0;
    int32_t ids[] = {0, 8, 7, 9};
    CHECK_OK(tq_bpe_decode(t, ids, 4, 0, &s, &sl, &err), err);
    CHECK(s && !strcmp(s, "a<|x|> aab") && sl == 10);
    free(s);
    CHECK_OK(tq_bpe_decode(t, ids, 4, 1, &s, NULL, &err), err);
    CHECK(s && !strcmp(s, "a aab"));
    free(s);
    int32_t badid = 10;
    CHECK(tq_bpe_decode(t, &badid, 1, 0, &s, NULL, &err) == TQ_E_ARG && strstr(err.msg, "id 10"));
    tq_bpe_free(t);
    /* tokens of single bytes: E6 97 (a cut-short 3-byte sequence), FF, 41 */
    t = open_doc(doc(NULL, "{\"\\u00e6\":0,\"\\u0139\":1,\"\\u00ff\":2,\"A\":3}", "[]", "[]", NULL, NULL, NULL, NULL), &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    int32_t lossy[] = {0, 1, 2, 3, 0};
    CHECK_OK(tq_bpe_decode(t, lossy, 5, 0, &s, NULL, &err), err);
    CHECK_MSG(s && !strcmp(s, "\xEF\xBF\xBD\xEF\xBF\xBD" "A\xEF\xBF\xBD"), "got \"%s\"", s ? s : "");
    free(s);
    tq_bpe_free(t);

    TQ_CASE("unknown characters: unk, fuse_unk, byte fallback");
    const char *v = "{\"<unk>\":0,\"a\":1,\"<0xC3>\":2,\"<0xA9>\":3}";
    t = open_doc(doc(",\"unk_token\":\"<unk>\"", v, "[]", "[]", NULL, "null", NULL, NULL), &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    CHECK_ENC(t, "axya", 0, "1 0 0 1");
    CHECK_EQ_INT(tq_bpe_special(t, TQ_TOK_UNK), 0);
    tq_bpe_free(t);
    t = open_doc(doc(",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":true", v, "[]", "[]", NULL, "null",
                     NULL, NULL), &err);
    CHECK_ENC(t, "axya", 0, "1 0 1");
    CHECK_ENC(t, "a\xc3\xa9" "a", 0, "1 2 3 1"); /* é as its bytes */
    tq_bpe_free(t);

    TQ_CASE("split behaviours and Digits");
    static const struct { const char *beh; int invert; const char *want; } SPLITS[] = {
        {"Isolated", 0, "a|-|b|-|-|c"}, {"Removed", 0, "a|b|c"}, {"MergedWithPrevious", 0, "a-|b-|-|c"},
        {"MergedWithNext", 0, "a|-b|-|-c"}, {"Contiguous", 0, "a|-|b|--|c"}, {"Removed", 1, "-|-|-"},
    };
    for (size_t i = 0; i < sizeof SPLITS / sizeof SPLITS[0]; i++) {
        tq_bpe_pretok p = {0};
        CHECK_OK(tq_bpe_pre_split(&p, "-", 1, 1, TQ_BPE_ISOLATED, 0, "x", &err), err);
        p.step[0].behavior = 0;
        for (int k = 0; k < 5; k++)
            if (!strcmp(SPLITS[i].beh, (const char *[]){"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                                          "Contiguous"}[k])) p.step[0].behavior = (tq_bpe_behavior)k;
        p.step[0].invert = SPLITS[i].invert;
        tq_bpe_pieces out = {0};
        CHECK_OK(tq_bpe_pretokenize(&p, "a-b--c", 6, &out, &err), err);
        char got[64] = "";
        for (int k = 0; k < out.n; k++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s", k ? "|" : "",
                                                 (int)out.len[k], out.s[k]);
        CHECK_MSG(!strcmp(got, SPLITS[i].want), "%s invert %d: \"%s\", want \"%s\"", SPLITS[i].beh, SPLITS[i].invert, got,
                  SPLITS[i].want);
        tq_bpe_pieces_free(&out);
        tq_bpe_pretok_free(&p);
    }
    tq_bpe_pretok p = {0};
    CHECK_OK(tq_bpe_pre_digits(&p, 1, "x", &err), err);
    tq_bpe_pieces out = {0};
    CHECK_OK(tq_bpe_pretokenize(&p, "ab12\xd9\xa3z", 7, &out, &err), err); /* Arabic-Indic 3 is numeric too */
    CHECK_EQ_INT(out.n, 5);
    tq_bpe_pieces_free(&out);
    tq_bpe_pretok_free(&p);
    CHECK(tq_bpe_regex("llama3") && tq_bpe_regex("qwen2") && tq_bpe_regex("gpt2") && !tq_bpe_regex("nope"));
}

static void arrays(void) {
    tq_error err = {0};
    TQ_CASE("from arrays (GGUF gpt2 metadata): control tokens special, add_bos, the pre name's regex");
    const char *tok[] = {"<|endoftext|>", "a", "b", "ab", "\xc4\xa0", ("\xc4\xa0" "ab"), "1", "2", "12", "<u>"};
    int32_t types[] = {3, 1, 1, 1, 1, 1, 1, 1, 1, 4};
    const char *mer[] = {"a b", "\xc4\xa0 ab", "1 2"};
    tq_bpe_arrays a = {10, tok, NULL, types, 3, mer, NULL, 0, 0, -1, -1, 1, 0, "smollm"};
    tq_bpe *t = tq_bpe_from_arrays(&a, "arr", &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (!t) return;
    CHECK_ENC(t, "ab ab<|endoftext|>12<u>", 1, "0 3 5 0 6 7 9"); /* smollm: digits one by one */
    CHECK_EQ_INT(tq_bpe_special(t, TQ_TOK_BOS), 0);
    char *s;
    int32_t ids[] = {0, 3, 9};
    CHECK_OK(tq_bpe_decode(t, ids, 3, 1, &s, NULL, &err), err);
    CHECK(s && !strcmp(s, "ab<u>")); /* the user-defined token is not special */
    free(s);
    tq_bpe_free(t);
    a.pre = "gpt-2";
    t = tq_bpe_from_arrays(&a, "arr", &err);
    CHECK_ENC(t, "12", 0, "8");
    tq_bpe_free(t);

    TQ_CASE("from arrays: corrupt inputs, each its own error");
    static const struct { int what; const char *val; tq_status st; const char *msg; } BAD[] = {
        {0, "ab", TQ_E_FORMAT, "has no space"},
        {0, "a c", TQ_E_FORMAT, "its second token is not in the vocabulary"},
        {0, "b a", TQ_E_FORMAT, "the merged token"},
        {1, "jibberish", TQ_E_UNSUPPORTED, "pre-tokenizer \"jibberish\""},
        {2, "", TQ_E_FORMAT, "outside the 10 tokens"},
        {3, "", TQ_E_FORMAT, "add_eos is set but there is no EOS"},
        {4, "", TQ_E_FORMAT, "given twice"},
        {5, "", TQ_E_FORMAT, "not valid UTF-8"},
        {6, "", TQ_E_ARG, "no tokens"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        tq_bpe_arrays b = a;
        const char *m2[] = {"a b", BAD[i].val};
        const char *t2[10];
        memcpy(t2, tok, sizeof t2);
        b.pre = "gpt-2";
        if (BAD[i].what == 0) { b.merges = m2; b.n_merges = 2; }
        if (BAD[i].what == 1) b.pre = BAD[i].val;
        if (BAD[i].what == 2) b.bos = 10;
        if (BAD[i].what == 3) { b.add_eos = 1; b.eos = -1; }
        if (BAD[i].what == 5) { t2[2] = "\xff"; b.tokens = t2; }
        if (BAD[i].what == 6) b.n_tokens = 0;
        tq_bpe *bt = NULL;
        if (BAD[i].what == 4) {
            bt = tq_bpe_new("dup", &err);
            CHECK_OK(tq_bpe_add_token(bt, "a", 1, 3, &err), err);
            tq_status st = tq_bpe_add_token(bt, "b", 1, 3, &err);
            CHECK_ERR(st, err, BAD[i].st, BAD[i].msg);
            tq_bpe_free(bt);
            continue;
        }
        bt = tq_bpe_from_arrays(&b, "arr", &err);
        CHECK_MSG(bt == NULL, "case %zu accepted", i);
        CHECK_ERR(err.status, err, BAD[i].st, BAD[i].msg);
        tq_bpe_free(bt);
    }
}

static void corrupt_json(void) {
    TQ_CASE("tokenizer.json: corrupt or unsupported inputs, each its own error");
    static char cases[40][8192];
    static const struct { tq_status st; const char *msg; } WANT[] = {
        {TQ_E_FORMAT, "not a JSON object"}, {TQ_E_FORMAT, "no \"model\" object"}, {TQ_E_UNSUPPORTED, "is not BPE"},
        {TQ_E_FORMAT, "not a {token: id} object"}, {TQ_E_FORMAT, "the id is not an integer"},
        {TQ_E_FORMAT, "given twice"}, {TQ_E_FORMAT, "outside [0,"}, {TQ_E_FORMAT, "\"merges\" is not an array"},
        {TQ_E_FORMAT, "has no space"}, {TQ_E_FORMAT, "its first token is not in the vocabulary"},
        {TQ_E_FORMAT, "neither \"a b\" nor [a, b]"}, {TQ_E_FORMAT, "rejected at offset"},
        {TQ_E_UNSUPPORTED, "pre-tokenizer Whitespace"}, {TQ_E_UNSUPPORTED, "normalizer Lowercase"},
        {TQ_E_UNSUPPORTED, "decoder WordPiece"}, {TQ_E_UNSUPPORTED, "continuing_subword_prefix"},
        {TQ_E_UNSUPPORTED, "dropout"}, {TQ_E_FORMAT, "unk_token \"<zz>\" is not in the vocabulary"},
        {TQ_E_FORMAT, "an added token without"}, {TQ_E_FORMAT, "empty content"}, {TQ_E_FORMAT, "Split behavior \"Sideways\""},
        {TQ_E_FORMAT, "\"use_regex\" is not a boolean"}, {TQ_E_FORMAT, "TemplateProcessing piece"},
        {TQ_E_FORMAT, "post-processor adds id 99"}, {TQ_E_LIMIT, "more than 8 pre-tokenizer steps"},
        {TQ_E_FORMAT, "not valid UTF-8"}, {TQ_E_FORMAT, "empty"}, {TQ_E_UNSUPPORTED, "post-processor Weird"},
        {TQ_E_FORMAT, "Split needs"},
    };
    int k = 0;
    const char *D = "{\"type\":\"Digits\"}";
    snprintf(cases[k++], sizeof cases[0], "{\"model\": [1,");
    snprintf(cases[k++], sizeof cases[0], "{\"version\":\"1.0\"}");
    snprintf(cases[k++], sizeof cases[0], "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "[1]", NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "{\"a\":1.5}", NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "{\"a\":0,\"b\":0}", NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "{\"a\":-1}", NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, "{}", NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, "[\"ab\"]", NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, "[[\"q\",\"a\"]]", NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, "[[\"a\"]]", NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL,
             "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a\"},\"behavior\":\"Isolated\"}", NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, "{\"type\":\"Whitespace\"}", NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, "{\"type\":\"Lowercase\"}", NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, NULL, NULL, "{\"type\":\"WordPiece\"}"));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(",\"continuing_subword_prefix\":\"##\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(",\"dropout\":0.1", NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(",\"unk_token\":\"<zz>\"", NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, "[{\"id\":1}]", NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, "[{\"id\":1,\"content\":\"\"}]", NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL,
             "{\"type\":\"Split\",\"pattern\":{\"String\":\"a\"},\"behavior\":\"Sideways\"}", NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, "{\"type\":\"ByteLevel\",\"use_regex\":\"yes\"}",
                                          NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, NULL,
             "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<q>\"}}],\"special_tokens\":{}}", NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, NULL,
             "{\"type\":\"RobertaProcessing\",\"cls\":[\"<s>\",99],\"sep\":[\"</s>\",0]}", NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    {   /* nine Digits steps */
        char seq[512] = "{\"type\":\"Sequence\",\"pretokenizers\":[";
        for (int i = 0; i < 9; i++) snprintf(seq + strlen(seq), sizeof seq - strlen(seq), "%s%s", i ? "," : "", D);
        strcat(seq, "]}");
        snprintf(cases[k - 1], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, seq, NULL, NULL));
    }
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "{\"a\\u0000\":0}", "[]", "[]", NULL, NULL, NULL, NULL));
    /* cJSON keeps the bytes of a string as they are: an invalid UTF-8 token */
    memcpy(strstr(cases[k - 1], "a\\u0000"), "\xff" "\\u0041", 7);
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, "{}", "[]", "[]", NULL, NULL, NULL, NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, NULL, "{\"type\":\"Weird\"}", NULL));
    snprintf(cases[k++], sizeof cases[0], "%s", doc(NULL, NULL, NULL, NULL, NULL, "{\"type\":\"Split\",\"pattern\":{}}", NULL, NULL));
    CHECK_EQ_INT(k, (int)(sizeof WANT / sizeof WANT[0]));
    for (int i = 0; i < k; i++) {
        tq_error err = {0};
        tq_bpe *t = open_doc(cases[i], &err);
        CHECK_MSG(t == NULL, "case %d accepted: %s", i, cases[i]);
        CHECK_MSG(err.status == WANT[i].st && strstr(err.msg, WANT[i].msg) && strstr(err.msg, "t.json"),
                  "case %d: got %d \"%s\", want %d with \"%s\"", i, (int)err.status, err.msg, (int)WANT[i].st, WANT[i].msg);
        tq_bpe_free(t);
    }
}

static void files(void) {
    tq_error err = {0};
    char dir[600], p[700];
    TQ_CASE("the tq_tok row: a BPE tokenizer.json or vocab.json + merges.txt opens as \"bpe\"");
    snprintf(dir, sizeof dir, "%s/json", tq_t_tmpdir());
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    const char *post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|x|>\",\"type_id\":0}},"
                       "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<|x|>\":{\"id\":\"<|x|>\","
                       "\"ids\":[8],\"tokens\":[\"<|x|>\"]}}}";
    const char *d = doc(NULL, NULL, NULL, NULL, "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"}]}", NULL, post, NULL);
    tq_t_write(p, d, strlen(d));
    tq_tok *t = tq_tok_open_dir(dir, &err);
    CHECK_OK(t ? TQ_OK : err.status, err);
    if (t) {
        CHECK(!strcmp(tq_tok_kind_name(t), "bpe"));
        int32_t *ids;
        int n;
        CHECK_OK(tq_tok_encode(t, "\xef\xbd\x81" "bc", 5, 1, &ids, &n, &err), err); /* fullwidth a -> a (NFKC) */
        CHECK(n == 3 && ids[0] == 8 && ids[1] == 0 && ids[2] == 4);
        char *back;
        CHECK_OK(tq_tok_decode(t, ids, n, &back, NULL, &err), err);
        CHECK(back && !strcmp(back, "abc")); /* the special token skipped */
        free(back);
        free(ids);
        tq_tok_free(t);
    }

    snprintf(dir, sizeof dir, "%s/vm", tq_t_tmpdir());
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    const char *v = "{\"<s>\":0,\"</s>\":1,\"a\":2,\"b\":3,\"ab\":4,\"\\u0120\":5,\"\\u0120ab\":6}";
    tq_t_write(p, v, strlen(v));
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    const char *m = "#version: 0.2\na b\r\n\xc4\xa0 ab\n";
    tq_t_write(p, m, strlen(m));
    tq_bpe *b = tq_bpe_open_dir(dir, &err);
    CHECK_OK(b ? TQ_OK : err.status, err);
    if (b) {
        CHECK_ENC(b, "ab ab<mask>", 1, "0 4 6 9 1"); /* RoBERTa: <s> ... </s>; <unk> <pad> <mask> added as 7 8 9 */
        CHECK_EQ_INT(tq_bpe_special(b, TQ_TOK_MASK), 9);
        CHECK_EQ_INT(tq_bpe_special(b, TQ_TOK_PAD), 8);
        CHECK_EQ_INT(tq_bpe_special(b, TQ_TOK_CLS), 0);
        tq_bpe_free(b);
    }
    TQ_CASE("merges.txt and files: corrupt inputs, each its own error");
    static const struct { const char *merges; tq_status st; const char *msg; } BAD[] = {
        {"a b\na b c\n", TQ_E_FORMAT, "merges.txt:2: not \"a b\""},
        {"a b\n\nab x\n", TQ_E_FORMAT, "merges.txt:2: not"},
        {"a q\n", TQ_E_FORMAT, "merge 0 \"a q\": its second token"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        tq_t_write(p, BAD[i].merges, strlen(BAD[i].merges));
        b = tq_bpe_open_dir(dir, &err);
        CHECK(b == NULL);
        CHECK_ERR(err.status, err, BAD[i].st, BAD[i].msg);
        tq_bpe_free(b);
    }
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    tq_t_write(p, "{", 1);
    CHECK(tq_bpe_open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "vocab.json: not a JSON object");
    snprintf(dir, sizeof dir, "%s/empty", tq_t_tmpdir());
    mkdir(dir, 0755);
    CHECK(tq_bpe_open_dir(dir, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND, "no tokenizer.json or vocab.json + merges.txt");
}

void tq_tests(void) {
    units();
    arrays();
    corrupt_json();
    files();
}
