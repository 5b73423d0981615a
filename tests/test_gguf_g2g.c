/*
 * test_gguf_g2g.c — GGUF -> GGUF: the tokenizer.ggml.* metadata of a GGUF
 * input copied as stored (tq_gguf_tok_copy, src/convert/gguf_tokenizer.c).
 *   - every tokenizer.* KV (tokenizer.ggml.*, tokenizer.chat_template), in
 *     the input's order, nothing else; string
 *     arrays as NUL-terminated copies, numeric arrays intact; written again
 *     and re-parsed, the values are the input's;
 *   - the refusals, each with its status and a message naming the key:
 *     no tokenizer.ggml.tokens, tokens not a string array, more keys than
 *     TQ_GGUF_TOK_MAX_KV, a NUL byte inside a token or a string value.
 * The whole conversion on a real file is tests/cli/gguf_g2g.sh (llama.cpp).
 */
#include "tq_test.h"
#include "convert/gguf_tokenizer.h"
#include "io/gguf.h"
#include <stdlib.h>

static const char *const TOKS[] = {"<unk>", "a\xe2\x96\x81\x62", "cXd"};   /* "a▁b" */
static const float SCORES[] = {0.0f, -1.5f, 2.25f};

/* A GGUF image of n_extra + the base KVs; *img malloc'd. */
static tq_status image(const tq_gguf_wkv *extra, int n_extra, int base, uint8_t **img, uint64_t *size) {
    tq_gguf_wkv kv[48];
    int n = 0;
    memset(kv, 0, sizeof kv);
    kv[n].key = "general.architecture"; kv[n].type = TQ_GGUF_STRING; kv[n].str = "llama"; kv[n].str_len = 5; n++;
    if (base) {
        kv[n].key = "tokenizer.ggml.model"; kv[n].type = TQ_GGUF_STRING; kv[n].str = "gpt2"; kv[n].str_len = 4; n++;
        kv[n].key = "tokenizer.ggml.tokens"; kv[n].type = TQ_GGUF_ARRAY; kv[n].elem_type = TQ_GGUF_STRING;
        kv[n].count = 3; kv[n].strs = TOKS; n++;
        kv[n].key = "llama.block_count"; kv[n].type = TQ_GGUF_UINT32; kv[n].num.u = 2; n++;
        kv[n].key = "tokenizer.ggml.scores"; kv[n].type = TQ_GGUF_ARRAY; kv[n].elem_type = TQ_GGUF_FLOAT32;
        kv[n].count = 3; kv[n].elems = SCORES; n++;
        kv[n].key = "tokenizer.ggml.bos_token_id"; kv[n].type = TQ_GGUF_UINT32; kv[n].num.u = 1; n++;
    }
    for (int i = 0; i < n_extra; i++) kv[n++] = extra[i];
    tq_error e;
    return tq_gguf_write_mem(kv, n, NULL, 0, img, size, &e);
}

/* tq_gguf_tok_copy over an image; with nul_in, the second byte of its first occurrence in the image set to 0. */
static tq_status copy_of(uint8_t *img, uint64_t size, const char *nul_in, tq_gguf_tok *t, tq_error *e) {
    if (nul_in) {
        size_t l = strlen(nul_in);
        for (uint64_t i = 0; i + l <= size; i++)
            if (memcmp(img + i, nul_in, l) == 0) { img[i + 1] = 0; break; }
    }
    tq_gguf g;
    tq_status st = tq_gguf_parse(img, size, "in.gguf", &g, e);
    if (st) return st;
    st = tq_gguf_tok_copy(&g, "in.gguf", t, e);
    tq_gguf_tok_free(t);
    tq_gguf_free(&g);
    return st;
}

void tq_tests(void) {
    TQ_CASE("every tokenizer.* KV, in order, values intact, written again");
    uint8_t *img = NULL, *img2 = NULL;
    uint64_t size = 0, size2 = 0;
    tq_error e;
    tq_gguf_wkv tmpl = {0};
    tmpl.key = "tokenizer.chat_template"; tmpl.type = TQ_GGUF_STRING; tmpl.str = "{{ x }}"; tmpl.str_len = 7;
    CHECK_EQ_INT(image(&tmpl, 1, 1, &img, &size), TQ_OK);
    tq_gguf g, g2;
    tq_status st = tq_gguf_parse(img, size, "in.gguf", &g, &e);
    CHECK_OK(st, e);
    tq_gguf_tok t;
    st = tq_gguf_tok_copy(&g, "in.gguf", &t, &e);
    CHECK_OK(st, e);
    CHECK_EQ_INT(t.n, 5);
    CHECK_EQ_INT(t.count, 3);
    static const char *const want[] = {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                                       "tokenizer.ggml.bos_token_id", "tokenizer.chat_template"};
    for (int i = 0; i < 5 && i < t.n; i++) CHECK_MSG(strcmp(t.kv[i].key, want[i]) == 0, "kv %d is %s", i, t.kv[i].key);
    if (t.n == 5) {
        for (int i = 0; i < 3; i++) CHECK(strcmp(t.kv[1].strs[i], TOKS[i]) == 0);
        CHECK(t.kv[0].str_len == 4 && memcmp(t.kv[0].str, "gpt2", 4) == 0);
        CHECK(memcmp(t.kv[2].elems, SCORES, sizeof SCORES) == 0 && t.kv[2].elem_type == TQ_GGUF_FLOAT32);
        CHECK_EQ_INT(t.kv[3].num.u, 1);
        st = tq_gguf_write_mem(t.kv, t.n, NULL, 0, &img2, &size2, &e);
        CHECK_OK(st, e);
        st = st ? st : tq_gguf_parse(img2, size2, "out.gguf", &g2, &e);
        CHECK_OK(st, e);
        if (!st) {
            CHECK_EQ_INT(g2.n_kv, 5);
            for (int i = 0; i < 5 && i < g2.n_kv; i++) {
                int64_t k = tq_gguf_find_kv(&g, g2.kv[i].key);
                CHECK(k >= 0 && g.kv[k].nbytes == g2.kv[i].nbytes &&
                      memcmp(img + g.kv[k].offset, img2 + g2.kv[i].offset, (size_t)g2.kv[i].nbytes) == 0);
            }
            tq_gguf_free(&g2);
        }
    }
    tq_gguf_tok_free(&t);
    tq_gguf_free(&g);
    free(img); free(img2);

    TQ_CASE("refusals: status and the key named");
    img = NULL;
    CHECK_EQ_INT(image(NULL, 0, 0, &img, &size), TQ_OK);
    st = copy_of(img, size, NULL, &t, &e);
    CHECK_ERR(st, e, TQ_E_NOTFOUND, "tokenizer.ggml.tokens");
    free(img);

    static const uint32_t ids[] = {1, 2, 3};
    tq_gguf_wkv bad = {0};
    bad.key = "tokenizer.ggml.tokens"; bad.type = TQ_GGUF_ARRAY; bad.elem_type = TQ_GGUF_UINT32; bad.count = 3; bad.elems = ids;
    CHECK_EQ_INT(image(&bad, 1, 0, &img, &size), TQ_OK);
    st = copy_of(img, size, NULL, &t, &e);
    CHECK_ERR(st, e, TQ_E_NOTFOUND, "string array");
    free(img);

    tq_gguf_wkv many[TQ_GGUF_TOK_MAX_KV];
    char keys[TQ_GGUF_TOK_MAX_KV][40];
    for (int i = 0; i < TQ_GGUF_TOK_MAX_KV - 3; i++) {
        snprintf(keys[i], sizeof keys[i], "tokenizer.ggml.extra_%02d", i);
        memset(&many[i], 0, sizeof many[i]);
        many[i].key = keys[i]; many[i].type = TQ_GGUF_UINT32; many[i].num.u = (uint64_t)i;
    }
    CHECK_EQ_INT(image(many, TQ_GGUF_TOK_MAX_KV - 4, 1, &img, &size), TQ_OK);   /* exactly the limit */
    st = copy_of(img, size, NULL, &t, &e);
    CHECK_OK(st, e);
    free(img);
    CHECK_EQ_INT(image(many, TQ_GGUF_TOK_MAX_KV - 3, 1, &img, &size), TQ_OK);   /* one over */
    st = copy_of(img, size, NULL, &t, &e);
    CHECK_ERR(st, e, TQ_E_LIMIT, "tokenizer.ggml.extra_28");
    free(img);

    CHECK_EQ_INT(image(NULL, 0, 1, &img, &size), TQ_OK);
    st = copy_of(img, size, "cXd", &t, &e);
    CHECK_ERR(st, e, TQ_E_UNSUPPORTED, "\"tokenizer.ggml.tokens\" holds a NUL byte");
    free(img);

    tq_gguf_wkv s = {0};
    s.key = "general.name"; s.type = TQ_GGUF_STRING; s.str = "x"; s.str_len = 1;   /* not copied */
    tq_gguf_wkv pre = {0};
    pre.key = "tokenizer.ggml.pre"; pre.type = TQ_GGUF_STRING; pre.str = "sXmollm"; pre.str_len = 7;
    tq_gguf_wkv two[2] = {s, pre};
    CHECK_EQ_INT(image(two, 2, 1, &img, &size), TQ_OK);
    st = copy_of(img, size, "sXmollm", &t, &e);
    CHECK_ERR(st, e, TQ_E_UNSUPPORTED, "\"tokenizer.ggml.pre\" holds a NUL byte");
    free(img);
}
