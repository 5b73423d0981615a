/* test_encoder_reference.c — the encoder against Hugging Face transformers.
 *
 * Needs the reference environment of tests/py/hf_venv.sh (transformers
 * 4.46.3 over Debian's torch, and all-MiniLM-L6-v2's real weights); skipped
 * (77) with a message without it. The test makes deterministic padded
 * batches of token ids (and token types for BERT), tests/py/encoder_reference.py
 * runs transformers on the same weights and ids, and the outputs must agree
 * to 1e-4 (max abs) in the last hidden state (every position, padding
 * included), the sentence embedding and the logits:
 *   (a) all-MiniLM-L6-v2 (BertModel): hidden + mean-pooled, L2-normalised
 *       embedding as sentence-transformers computes it;
 *   (b) a small synthetic DistilBertForSequenceClassification (trueq synth);
 *   (c) a small BertForSequenceClassification made by transformers itself
 *       (seeded, gelu_new, save_pretrained safetensors);
 *   (d) an int8 trueq copy of MiniLM: close to transformers' float32
 *       outputs, but not identical;
 *   (e) small RobertaForSequenceClassification models made by transformers
 *       (seeded, float32 and bfloat16, with a byte-level BPE tokenizer
 *       trained by `tokenizers`): hidden states, mean-pooled embeddings,
 *       logits and labels; the tokenizer's ids (single texts and pairs)
 *       equal AutoTokenizer's;
 *   (f) classifiers of the seeds' shapes: a roberta-base-shaped (12 x 768,
 *       bfloat16, made once by transformers and cached under
 *       ~/.cache/trueq/enc-ref/) and a distilbert-base-MNLI-shaped one
 *       (trueq synth's default shape): logits and labels. */
#include "tq_test.h"
#include "core/internal.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <unistd.h>

#define TOL 1e-4

typedef struct bspec { int batch, seq; const int *len; int types; } bspec;

/* ids of batch k: [CLS]=101-like first token (RoBERTa: <s> 0), random ids,
 * [SEP]-like last real token (</s> 2), pad_token_id after; types 0 for the
 * first half of the real tokens, 1 after. */
static void make_batch(const bspec *bs, const tq_enc_config *c, uint64_t seed, int32_t *ids, int32_t *types,
                       int32_t *mask) {
    uint64_t rng = seed;
    int vocab = c->vocab_size, rob = c->arch == TQ_ENC_ROBERTA;
    int first = rob ? 0 : 101 % vocab, last = rob ? 2 : 102 % vocab;
    for (int s = 0; s < bs->batch; s++)
        for (int p = 0; p < bs->seq; p++) {
            int i = s * bs->seq + p, n = bs->len[s];
            int real = p < n;
            ids[i] = !real ? c->pad_token_id : p == 0 ? first : p == n - 1 ? last
                                                     : (int32_t)(200 + tq_t_rand(&rng) % (uint32_t)(vocab - 200));
            types[i] = bs->types && real && p >= n / 2;
            mask[i] = real;
        }
}

static void json_ints(FILE *f, const int32_t *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", (int)v[i]);
    fputc(']', f);
}

static float *read_floats(const char *path, size_t *n) {
    char *s;
    size_t len;
    if (tq_read_file(path, &s, &len, NULL)) return NULL;
    *n = len / sizeof(float);
    return (float *)(void *)s;   /* malloc'd: aligned for float */
}

static double maxabs(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (!(d <= m)) m = d; }
    return m;
}

typedef struct result { double hidden, pooled, logits; int top1_differ; } result;

/* Run transformers (kind "sentence" / "classify") on the batches, then the
 * encoder(s) on the same ids; diffs of encoder e against transformers. */
static int compare(const char *py, const char *ref_dir, const char *kind, tq_enc *e, const bspec *bs, int nb,
                   const char *tag, result *r) {
    const tq_enc_config *c = tq_enc_config_of(e);
    char in[1024], out[1024], cmd[4096];
    snprintf(in, sizeof in, "%s", tq_t_path("ref_in.json"));
    snprintf(out, sizeof out, "%s", tq_t_path("ref_out.bin"));
    int32_t *ids[8], *types[8], *mask[8];
    FILE *f = fopen(in, "w");
    fprintf(f, "{\"kind\": \"%s\", \"batches\": [", kind);
    for (int k = 0; k < nb; k++) {
        int n = bs[k].batch * bs[k].seq;
        ids[k] = malloc(sizeof(int32_t) * (size_t)n);
        types[k] = malloc(sizeof(int32_t) * (size_t)n);
        mask[k] = malloc(sizeof(int32_t) * (size_t)n);
        make_batch(&bs[k], c, 1000 + (uint64_t)k, ids[k], types[k], mask[k]);
        fprintf(f, "%s{\"batch\": %d, \"seq\": %d, \"ids\": ", k ? ", " : "", bs[k].batch, bs[k].seq);
        json_ints(f, ids[k], n);
        fprintf(f, ", \"types\": ");
        if (bs[k].types) json_ints(f, types[k], n); else fprintf(f, "null");
        fprintf(f, ", \"mask\": ");
        json_ints(f, mask[k], n);
        fputc('}', f);
    }
    fprintf(f, "]}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/encoder_reference.py' run '%s' '%s' '%s' 2>&1", py,
             getenv("TQ_SOURCE_DIR"), ref_dir, in, out);
    char *log = NULL;
    int rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "%s: encoder_reference.py failed: %s", tag, log ? log : "");
    free(log);
    size_t nref = 0;
    float *ref = rc ? NULL : read_floats(out, &nref);
    *r = (result){0, 0, 0, 0};
    size_t off = 0;
    int sentence = !strcmp(kind, "sentence"), ok = ref != NULL;
    for (int k = 0; ok && k < nb; k++) {
        size_t T = (size_t)bs[k].batch * bs[k].seq, D = (size_t)c->dim, B = (size_t)bs[k].batch;
        size_t NL = (size_t)c->n_labels;
        size_t need = T * D + (sentence ? B * D : B * NL);
        if (off + need > nref) { CHECK_MSG(0, "%s: reference output too short", tag); ok = 0; break; }
        float *hid = malloc(sizeof(float) * T * D), *pool = malloc(sizeof(float) * B * D), *lg = malloc(sizeof(float) * B * 64);
        tq_enc_batch b = {bs[k].batch, bs[k].seq, ids[k], bs[k].types ? types[k] : NULL, mask[k]};
        tq_enc_out o = {.hidden = hid, .pooled = sentence ? pool : NULL, .logits = sentence ? NULL : lg};
        tq_error err = {0};
        CHECK_OK(tq_enc_forward(e, &b, &o, &err), err);
        r->hidden = fmax(r->hidden, maxabs(hid, ref + off, T * D));
        off += T * D;
        if (sentence) { r->pooled = fmax(r->pooled, maxabs(pool, ref + off, B * D)); off += B * D; }
        else {
            r->logits = fmax(r->logits, maxabs(lg, ref + off, B * NL));
            for (size_t q = 0; q < B; q++) {   /* the label each side gives */
                size_t ia = 0, ib = 0;
                for (size_t l = 1; l < NL; l++) {
                    if (lg[q * NL + l] > lg[q * NL + ia]) ia = l;
                    if (ref[off + q * NL + l] > ref[off + q * NL + ib]) ib = l;
                }
                r->top1_differ += ia != ib;
            }
            off += B * NL;
        }
        free(hid); free(pool); free(lg);
    }
    CHECK_MSG(!ok || off == nref, "%s: %zu reference floats, %zu used", tag, nref, off);
    printf("  %s: max |trueq - transformers|: last_hidden_state %.3g, %s %.3g\n", tag, r->hidden,
           sentence ? "sentence embedding" : "logits", sentence ? r->pooled : r->logits);
    for (int k = 0; k < nb; k++) { free(ids[k]); free(types[k]); free(mask[k]); }
    free(ref);
    return ok ? 0 : -1;
}

/* The tokenizer of dir (tq_tok_encode_pair, as embed / classify / tokenize
 * use it) against AutoTokenizer on a varied set of texts and pairs. */
static void tok_check(const char *py, const char *src, const char *dir, const char *tag) {
    char cmd[8192];
    tq_error err = {0};
    static const char *const T[][2] = {
        {"Hello world!", NULL}, {"Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9", NULL},
        {"\xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 emoji", NULL}, {"numbers 12345 and 3.14", NULL},
        {"  spaces   and\ttabs\n", NULL}, {"def f(x): return x ** 2", NULL}, {"<s> lookalike </s><mask>", NULL},
        {"", NULL}, {"The quick brown fox.", "jumps over the lazy dog"}, {"Hello", "world"},
        {"a pair with <pad> inside", "\xc3\xa9t\xc3\xa9"}, {"[CLS] lookalike [SEP] [MASK]", NULL},
        {"Don't stop-believing!!", NULL}, {"\xc3\x9c" "BER stra\xc3\x9f" "e \xe4\xb8\xad\xe6\x96\x87", "x"}};
    const int NT = (int)(sizeof T / sizeof T[0]);
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s", tq_t_path("tok_in.json"));
    snprintf(out, sizeof out, "%s", tq_t_path("tok_out.json"));
    FILE *f = fopen(in, "w");
    fputc('[', f);
    for (int i = 0; i < NT; i++) {
        fprintf(f, "%s[\"", i ? "," : "");
        for (const char *p = T[i][0]; *p; p++) fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? "\\u%04x" : "%c", *p);
        fputc('"', f);
        if (T[i][1]) fprintf(f, ",\"%s\"]", T[i][1]); else fprintf(f, ",null]");
    }
    fputs("]\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/encoder_reference.py' tokenize '%s' '%s' '%s' 2>&1", py, src, dir, in,
             out);
    char *log = NULL;
    int rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "tokenize: %s", log ? log : "");
    free(log);
    char *js = NULL;
    size_t jn = 0;
    tq_tok *t = tq_tok_open_dir(dir, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!rc && t && !tq_read_file(out, &js, &jn, NULL)) {
        const char *p = js;
        for (int i = 0; i < NT; i++) {
            tq_wp_encoding enc;
            CHECK_OK(tq_tok_encode_pair(t, T[i][0], T[i][1], 0, &enc, &err), err);
            p = strchr(p, '[');
            if (i == 0) p = strchr(p + 1, '[');
            int k = 0, same = p != NULL;
            for (p = p ? p + 1 : js + jn; same && *p && *p != ']'; k++) {
                long v = strtol(p, (char **)&p, 10);
                same = k < enc.n && v == enc.ids[k];
                while (*p == ',' || *p == ' ') p++;
            }
            CHECK_MSG(same && k == enc.n, "%s text %d (\"%s\"): trueq's %d ids differ from AutoTokenizer's", tag, i,
                      T[i][0], enc.n);
            tq_wp_encoding_free(&enc);
        }
    }
    free(js);
    tq_tok_free(t);
    printf("  %s tokenizer: ids of %d texts and pairs compared with AutoTokenizer's\n", tag, NT);
}

static tq_enc *open_enc(const char *weights, const char *cfg_dir) {
    tq_error err = {0};
    tq_enc_config c;
    tq_model *m = tq_model_open(weights, &err);
    tq_enc *e = NULL;
    if (m && !tq_enc_config_find(cfg_dir, &c, &err)) e = tq_enc_open(m, &c, &err);
    CHECK_MSG(e != NULL, "%s: %s", weights, err.msg);
    tq_model_close(m);
    return e;
}

void tq_tests(void) {
    TQ_CASE("encoder reference: set up transformers");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) TQ_SKIP("TQ_SOURCE_DIR is not set (run through ctest)");
    char cmd[12288], *env = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/hf_venv.sh' 2>/dev/null", src);
    int rc = tq_t_run(cmd, &env);
    if (rc != 0 || !env) { free(env); TQ_SKIP("no transformers reference environment (tests/py/hf_venv.sh)"); }
    char py[1024] = "", minilm[1024] = "";
    char *nl = strchr(env, '\n');
    if (nl) {
        snprintf(py, sizeof py, "%.*s", (int)(nl - env), env);
        snprintf(minilm, sizeof minilm, "%s", nl + 1);
        size_t n = strlen(minilm);
        while (n && (minilm[n - 1] == '\n' || minilm[n - 1] == '\r')) minilm[--n] = 0;
    }
    free(env);
    if (!py[0]) TQ_SKIP("hf_venv.sh gave no python");
    CHECK(1);

    result r;
    static const int l_a[] = {20, 7, 1, 13}, l_b[] = {37, 37, 9}, l_full[] = {128, 128};
    TQ_CASE("encoder reference: (a) all-MiniLM-L6-v2 hidden states and sentence embeddings");
    if (!minilm[0]) {
        printf("  skipped: all-MiniLM-L6-v2 is not available (hf_venv.sh)\n");
    } else {
        const bspec bs[] = {{4, 20, l_a, 1}, {3, 37, l_b, 0}, {2, 128, l_full, 1}};
        tq_enc *e = open_enc(minilm, minilm);
        if (e) {
            const tq_enc_config *c = tq_enc_config_of(e);
            CHECK(c->arch == TQ_ENC_BERT && c->dim == 384 && c->n_layers == 6 && c->pooling == TQ_POOL_MEAN &&
                  c->normalize == 1 && c->seq_limit == 256 && !tq_enc_has_head(e));
            if (!compare(py, minilm, "sentence", e, bs, 3, "all-MiniLM-L6-v2", &r)) {
                CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
                CHECK_MSG(r.pooled <= TOL, "embedding %g", r.pooled);
            }
        }

        TQ_CASE("encoder reference: (a) the MiniLM WordPiece tokenizer's ids equal AutoTokenizer's, single and pairs");
        tok_check(py, src, minilm, "MiniLM");

        TQ_CASE("encoder reference: (d) an int8 trueq copy of MiniLM is close to transformers, not identical");
        char q8[1200];
        snprintf(q8, sizeof q8, "%s/minilm-int8", tq_t_tmpdir());
        snprintf(cmd, sizeof cmd, "'%s' convert '%s' -o '%s' --bits 8 >/dev/null 2>&1", getenv("TQ_CLI"), minilm, q8);
        CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
        tq_enc *e8 = open_enc(q8, minilm);
        if (e && e8 && !compare(py, minilm, "sentence", e8, bs, 3, "int8 MiniLM", &r)) {
            /* MiniLM's hidden states have outlier features of magnitude ~10:
             * the embedding (unit norm) is the measure of "close" */
            CHECK_MSG(r.hidden > 1e-3 && r.hidden < 4.0, "int8 hidden differs by %g", r.hidden);
            CHECK_MSG(r.pooled > 1e-5 && r.pooled < 0.02, "int8 embedding differs by %g", r.pooled);
        }
        tq_enc_free(e8);
        tq_enc_free(e);
    }

    TQ_CASE("encoder reference: (b) synthetic DistilBertForSequenceClassification logits");
    {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/distil", tq_t_tmpdir());
        tq_synth_options so;
        tq_synth_options_init(&so);
        so.layers = 3; so.dim = 96; so.hidden = 192; so.heads = 4; so.vocab = 800; so.max_pos = 130;
        tq_error err = {0};
        CHECK_OK(tq_synth_distilbert(dir, &so, &err), err);
        const bspec bs[] = {{4, 20, l_a, 0}, {2, 128, l_full, 0}};
        tq_enc *e = open_enc(dir, dir);
        if (e && !compare(py, dir, "classify", e, bs, 2, "synthetic DistilBERT", &r)) {
            CHECK(tq_enc_has_head(e) && tq_enc_config_of(e)->n_labels == 3);
            CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
            CHECK_MSG(r.logits <= TOL, "logits %g", r.logits);
        }
        tq_enc_free(e);
    }

    TQ_CASE("encoder reference: (c) BertForSequenceClassification saved by transformers");
    {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/bertcls", tq_t_tmpdir());
        snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/encoder_reference.py' make-bert '%s' 2>&1", py, src, dir);
        char *log = NULL;
        rc = tq_t_run(cmd, &log);
        CHECK_MSG(rc == 0, "make-bert: %s", log ? log : "");
        free(log);
        const bspec bs[] = {{4, 20, l_a, 1}, {3, 37, l_b, 1}};
        tq_enc *e = rc ? NULL : open_enc(dir, dir);
        if (e && !compare(py, dir, "classify", e, bs, 2, "BERT classifier", &r)) {
            const tq_enc_config *c = tq_enc_config_of(e);
            CHECK(c->act == TQ_ACT_GELU_TANH && c->n_labels == 3 && !strcmp(c->labels[2], "pos"));
            CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
            CHECK_MSG(r.logits <= TOL, "logits %g", r.logits);
        }
        tq_enc_free(e);
    }

    TQ_CASE("encoder reference: (e) RobertaForSequenceClassification saved by transformers, float32 and bfloat16");
    static const char *const dtypes[] = {"float32", "bfloat16"};
    for (int d = 0; d < 2; d++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/roberta-%s", tq_t_tmpdir(), dtypes[d]);
        snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/encoder_reference.py' make-roberta '%s' tiny %s 2>&1", py, src, dir,
                 dtypes[d]);
        char *log = NULL;
        rc = tq_t_run(cmd, &log);
        CHECK_MSG(rc == 0, "make-roberta: %s", log ? log : "");
        free(log);
        static const int l_r[] = {20, 7, 1, 13}, l_r2[] = {60, 60, 9};
        const bspec bs[] = {{4, 20, l_r, 0}, {3, 60, l_r2, 0}};
        tq_enc *e = rc ? NULL : open_enc(dir, dir);
        if (!e) continue;
        const tq_enc_config *c = tq_enc_config_of(e);
        CHECK(c->arch == TQ_ENC_ROBERTA && c->pad_token_id == 1 && c->max_pos == 82 && c->type_vocab_size == 1 &&
              c->n_labels == 3 && !strcmp(c->labels[2], "pos") && fabsf(c->ln_eps - 1e-5f) < 1e-9f);
        if (!compare(py, dir, "classify", e, bs, 2, d ? "RoBERTa classifier (bf16)" : "RoBERTa classifier", &r)) {
            CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
            CHECK_MSG(r.logits <= TOL, "logits %g", r.logits);
            CHECK_EQ_INT(r.top1_differ, 0);
        }
        if (!compare(py, dir, "sentence", e, bs, 2, "RoBERTa mean-pooled", &r)) {
            CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
            CHECK_MSG(r.pooled <= TOL, "embedding %g", r.pooled);
        }
        /* a batch longer than the positions allow (82 - padding_idx 1 - 1) is refused */
        int32_t ids[81] = {0};
        tq_enc_batch b = {1, 81, ids, NULL, NULL};
        float hid[81 * 96];
        tq_enc_out o = {.hidden = hid};
        tq_error err = {0};
        CHECK_EQ_INT(tq_enc_forward(e, &b, &o, &err), TQ_E_ARG);
        CHECK_MSG(strstr(err.msg, "beyond 80") != NULL, "%s", err.msg);
        tq_enc_free(e);
        if (d) continue;

        TQ_CASE("encoder reference: (e) the RoBERTa tokenizer's ids equal AutoTokenizer's, single and pairs");
        tok_check(py, src, dir, "RoBERTa");
    }

    TQ_CASE("encoder reference: (f) roberta-base-shaped and distilbert-MNLI-shaped classifiers");
    {
        char dir[1200], tmp[1300];
        const char *home = getenv("HOME");
        snprintf(dir, sizeof dir, "%s/.cache/trueq/enc-ref/roberta-base-bf16", home ? home : "/root");
        snprintf(tmp, sizeof tmp, "%s.tmp%d", dir, (int)getpid());
        char marker[1300];
        snprintf(marker, sizeof marker, "%s/model.safetensors", dir);
        if (!tq_file_exists(marker)) {   /* made once, then cached */
            snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && '%s' '%s/tests/py/encoder_reference.py' make-roberta "
                     "'%s' base bfloat16 2>&1 && { mv -T '%s' '%s' 2>/dev/null || rm -rf '%s'; }", dir, py, src, tmp,
                     tmp, dir, tmp);
            char *log = NULL;
            rc = tq_t_run(cmd, &log);
            CHECK_MSG(rc == 0, "make-roberta base: %s", log ? log : "");
            free(log);
        }
        static const int l_r[] = {24, 9}, l_r2[] = {64, 40};
        const bspec bs[] = {{2, 24, l_r, 0}, {2, 64, l_r2, 0}};
        tq_enc *e = open_enc(dir, dir);
        if (e) {
            const tq_enc_config *c = tq_enc_config_of(e);
            CHECK(c->arch == TQ_ENC_ROBERTA && c->dim == 768 && c->n_layers == 12 && c->vocab_size == 50265 &&
                  c->max_pos == 514 && c->n_labels == 2 && !strcmp(c->labels[1], "POSITIVE"));
            if (!compare(py, dir, "classify", e, bs, 2, "roberta-base-shaped classifier", &r)) {
                CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
                CHECK_MSG(r.logits <= TOL, "logits %g", r.logits);
                CHECK_EQ_INT(r.top1_differ, 0);
            }
            tq_enc_free(e);
        }
        snprintf(dir, sizeof dir, "%s/distil-mnli", tq_t_tmpdir());
        tq_synth_options so;
        tq_synth_options_init(&so);   /* distilbert-base-uncased-mnli's shape */
        tq_error err = {0};
        CHECK_OK(tq_synth_distilbert(dir, &so, &err), err);
        const bspec bd[] = {{2, 24, l_r, 0}, {2, 64, l_r2, 0}};
        e = open_enc(dir, dir);
        if (e) {
            const tq_enc_config *c = tq_enc_config_of(e);
            CHECK(c->arch == TQ_ENC_DISTILBERT && c->dim == 768 && c->n_layers == 6 && c->n_labels == 3);
            if (!compare(py, dir, "classify", e, bd, 2, "distilbert-MNLI-shaped classifier", &r)) {
                CHECK_MSG(r.hidden <= TOL, "hidden %g", r.hidden);
                CHECK_MSG(r.logits <= TOL, "logits %g", r.logits);
                CHECK_EQ_INT(r.top1_differ, 0);
            }
            tq_enc_free(e);
        }
    }
}
