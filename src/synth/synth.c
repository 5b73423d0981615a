/*
 * synth.c — the built-in default model: a deterministic checkpoint with the
 * exact tensor names, shapes and config of Hugging Face's
 * DistilBertForSequenceClassification (distilbert-base, 3-label MNLI head).
 *
 * Weight statistics imitate a trained model rather than an initialisation:
 *   - matrices: Gaussian entries (std 0.04) in a scale mixture (3% of entries
 *     with 4x the scale: heavy tails), a few outlier input channels (x6), plus
 *     a low-rank component U diag(s) V^T with power-law s_k ~ k^-0.7, so the
 *     spectra are heavy-tailed like trained layers;
 *   - word embeddings std 0.05 with frequent (low-id) tokens larger; position
 *     embeddings smooth in the position;
 *   - LayerNorm gains ~ N(0.9, 0.08), biases ~ N(0, 0.02).
 * Each tensor is drawn from its own stream, seeded by (seed, name), so the
 * output is byte-identical for a given seed on a given machine.
 */
#include "io/container.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tq_synth_options_init(tq_synth_options *o) {
    o->seed = 1; o->layers = 6; o->dim = 768; o->hidden = 3072; o->heads = 12; o->vocab = 30522; o->max_pos = 512;
}

typedef struct rng { uint64_t s[4]; } rng;
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t next(rng *r) {   /* xoshiro256** */
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
static void seed_rng(rng *r, uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (int i = 0; i < 4; i++) {   /* splitmix64 */
        uint64_t z = (h += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        r->s[i] = z ^ (z >> 31);
    }
}
static double uni(rng *r) { return ((next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static void gauss2(rng *r, float *a, float *b) {
    double u1 = uni(r), u2 = uni(r), m = sqrt(-2.0 * log(u1));
    *a = (float)(m * cos(6.283185307179586 * u2));
    *b = (float)(m * sin(6.283185307179586 * u2));
}
static void fill_gauss(rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i += 2) {
        float a, b;
        gauss2(r, &a, &b);
        x[i] = mean + std * a;
        if (i + 1 < n) x[i + 1] = mean + std * b;
    }
}

static tq_status gen_matrix(rng *r, float *w, int64_t rows, int64_t cols, float std, tq_error *err) {
    fill_gauss(r, w, rows * cols, 0.0f, std);
    for (int64_t i = 0; i < rows * cols; i++)          /* scale mixture: heavy tails */
        if ((next(r) & 1023) < 31) w[i] *= 4.0f;
    for (int k = 0; k < 4; k++) {                      /* outlier input channels */
        int64_t c = (int64_t)(next(r) % (uint64_t)cols);
        for (int64_t i = 0; i < rows; i++) w[i * cols + c] *= 6.0f;
    }
    int64_t rank = 24;                                 /* power-law low-rank part */
    float *U = malloc(sizeof(float) * (size_t)(rows * rank)), *V = malloc(sizeof(float) * (size_t)(cols * rank));
    if (!U || !V) { free(U); free(V); return tq_err(err, TQ_E_NOMEM, "synth: out of memory"); }
    fill_gauss(r, U, rows * rank, 0.0f, 1.0f);
    fill_gauss(r, V, cols * rank, 0.0f, 1.0f);
    double base = 2.5 * std * sqrt((double)(rows > cols ? rows : cols)) / sqrt((double)rows * (double)cols);
    for (int64_t k = 0; k < rank; k++) {
        float s = (float)(base * pow((double)(k + 1), -0.7));
        for (int64_t i = 0; i < rows; i++) U[i * rank + k] *= s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)rank, 1.0f, U, (int)rank, V,
                (int)rank, 1.0f, w, (int)cols);
    free(U); free(V);
    return TQ_OK;
}

typedef enum { K_MATRIX, K_BIAS, K_GAIN, K_WORDEMB, K_POSEMB } kind;
typedef struct spec { char name[128]; int64_t rows, cols; kind k; float std; } spec;

static int build_specs(const tq_synth_options *o, spec *s) {
    int n = 0;
#define ADD(nm, r, c, kk, sd) do { snprintf(s[n].name, sizeof s[n].name, "%s", nm); s[n].rows = (r); s[n].cols = (c); s[n].k = (kk); s[n].std = (sd); n++; } while (0)
    ADD("distilbert.embeddings.word_embeddings.weight", o->vocab, o->dim, K_WORDEMB, 0.05f);
    ADD("distilbert.embeddings.position_embeddings.weight", o->max_pos, o->dim, K_POSEMB, 0.02f);
    ADD("distilbert.embeddings.LayerNorm.weight", 0, o->dim, K_GAIN, 0);
    ADD("distilbert.embeddings.LayerNorm.bias", 0, o->dim, K_BIAS, 0.02f);
    char nm[128];
    for (int l = 0; l < o->layers; l++) {
        static const char *const lin[] = {"q_lin", "k_lin", "v_lin", "out_lin"};
        for (int k = 0; k < 4; k++) {
            snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.attention.%s.weight", l, lin[k]);
            ADD(nm, o->dim, o->dim, K_MATRIX, 0.04f);
            snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.attention.%s.bias", l, lin[k]);
            ADD(nm, 0, o->dim, K_BIAS, 0.02f);
        }
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.sa_layer_norm.weight", l); ADD(nm, 0, o->dim, K_GAIN, 0);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.sa_layer_norm.bias", l); ADD(nm, 0, o->dim, K_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin1.weight", l); ADD(nm, o->hidden, o->dim, K_MATRIX, 0.04f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin1.bias", l); ADD(nm, 0, o->hidden, K_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin2.weight", l); ADD(nm, o->dim, o->hidden, K_MATRIX, 0.03f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin2.bias", l); ADD(nm, 0, o->dim, K_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.output_layer_norm.weight", l); ADD(nm, 0, o->dim, K_GAIN, 0);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.output_layer_norm.bias", l); ADD(nm, 0, o->dim, K_BIAS, 0.02f);
    }
    ADD("pre_classifier.weight", o->dim, o->dim, K_MATRIX, 0.04f);
    ADD("pre_classifier.bias", 0, o->dim, K_BIAS, 0.02f);
    ADD("classifier.weight", 3, o->dim, K_MATRIX, 0.04f);
    ADD("classifier.bias", 0, 3, K_BIAS, 0.02f);
#undef ADD
    return n;
}

static tq_status gen_tensor(const tq_synth_options *o, const spec *s, float *w, tq_error *err) {
    rng r;
    seed_rng(&r, o->seed, s->name);
    int64_t n = s->rows ? s->rows * s->cols : s->cols;
    switch (s->k) {
    case K_MATRIX: return gen_matrix(&r, w, s->rows, s->cols, s->std, err);
    case K_BIAS: fill_gauss(&r, w, n, 0.0f, s->std); return TQ_OK;
    case K_GAIN: fill_gauss(&r, w, n, 0.9f, 0.08f); return TQ_OK;
    case K_WORDEMB:
        fill_gauss(&r, w, n, 0.0f, s->std);
        for (int64_t i = 0; i < s->rows; i++) {      /* frequent tokens (low ids past specials) have larger norms */
            float f = i < 1000 ? 1.6f : i < 10000 ? 1.0f : 0.8f;
            for (int64_t c = 0; c < s->cols; c++) w[i * s->cols + c] *= f;
        }
        return TQ_OK;
    case K_POSEMB: {
        float *base = malloc(sizeof(float) * (size_t)s->cols);
        if (!base) return tq_err(err, TQ_E_NOMEM, "synth: out of memory");
        fill_gauss(&r, base, s->cols, 0.0f, s->std);
        for (int64_t p = 0; p < s->rows; p++)
            for (int64_t c = 0; c < s->cols; c++) {
                float a, b;
                gauss2(&r, &a, &b);
                w[p * s->cols + c] = base[c] * (float)cos(0.01 * (double)p * (double)(c % 17 + 1)) + 0.005f * a;
            }
        free(base);
        return TQ_OK;
    }
    }
    return TQ_OK;
}

/* A small WordPiece vocabulary: BERT's special-token ids, characters, common
 * English words and suffixes written for trueq, padded with [unusedN]. */
static const char *const WORDS[] = {
    "the", "a", "an", "and", "or", "but", "not", "no", "is", "are", "was", "were", "be", "been", "has", "have", "had",
    "do", "does", "did", "will", "would", "can", "could", "should", "may", "might", "must", "of", "to", "in", "on",
    "at", "by", "for", "with", "from", "about", "into", "over", "after", "before", "under", "between", "through",
    "i", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "its", "our",
    "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "when", "where", "why", "how",
    "all", "some", "many", "much", "more", "most", "few", "other", "one", "two", "three", "four", "five", "first",
    "last", "new", "old", "good", "bad", "big", "small", "long", "short", "high", "low", "young", "great", "little",
    "man", "woman", "men", "women", "child", "children", "people", "person", "dog", "cat", "house", "car", "city",
    "world", "day", "night", "year", "time", "way", "water", "food", "book", "music", "game", "school", "work",
    "play", "plays", "playing", "played", "run", "runs", "running", "walk", "walks", "walking", "eat", "eats",
    "eating", "sleep", "sleeping", "sit", "sitting", "stand", "standing", "read", "reading", "write", "writing",
    "see", "sees", "saw", "look", "looking", "go", "goes", "going", "went", "come", "came", "make", "made", "take",
    "took", "give", "gave", "say", "said", "think", "know", "like", "love", "want", "need", "use", "find", "tell",
    "street", "park", "beach", "table", "guitar", "piano", "ball", "field", "red", "blue", "green", "black", "white",
    "happy", "sad", "outside", "inside", "together", "alone", "very", "also", "only", "just", "still", "never",
    "always", "often", "today", "yesterday", "tomorrow", "model", "weights", "quantization", "bits", "byte", "bytes",
    NULL};
static const char *const SUFFIXES[] = {"s", "es", "ed", "ing", "er", "est", "ly", "ion", "tion", "ment", "ness",
                                       "able", "al", "ful", "less", "ize", "ise", NULL};

static tq_status write_vocab(const char *dir, int vocab, tq_error *err) {
    tq_sb b = {0};
    int n = 0;
    tq_sb_puts(&b, "[PAD]\n"); n++;
    for (int i = 0; i < 99; i++, n++) tq_sb_printf(&b, "[unused%d]\n", i);
    tq_sb_puts(&b, "[UNK]\n[CLS]\n[SEP]\n[MASK]\n"); n += 4;
    for (int c = 33; c < 127; c++, n++) { if (c >= 'A' && c <= 'Z') { tq_sb_printf(&b, "[unused%d]\n", 99 + c); continue; } tq_sb_printf(&b, "%c\n", c); }
    for (int c = 'a'; c <= 'z'; c++, n++) tq_sb_printf(&b, "##%c\n", c);
    for (int c = '0'; c <= '9'; c++, n++) tq_sb_printf(&b, "##%c\n", c);
    for (int i = 0; WORDS[i]; i++) if (WORDS[i][1]) { tq_sb_printf(&b, "%s\n", WORDS[i]); n++; }
    for (int i = 0; SUFFIXES[i]; i++, n++) tq_sb_printf(&b, "##%s\n", SUFFIXES[i]);
    for (int i = 1000; n < vocab; i++, n++) tq_sb_printf(&b, "[unused%d]\n", i);
    if (b.oom) { tq_sb_free(&b); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    char *p = tq_path_join(dir, "vocab.txt");
    tq_status st = p ? tq_write_file_atomic(p, b.s, b.len, err) : tq_err(err, TQ_E_NOMEM, "out of memory");
    free(p);
    tq_sb_free(&b);
    return st;
}

static tq_status write_text(const char *dir, const char *name, const char *text, tq_error *err) {
    char *p = tq_path_join(dir, name);
    if (!p) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st = tq_write_file_atomic(p, text, strlen(text), err);
    free(p);
    return st;
}

tq_status tq_synth_distilbert(const char *outdir, const tq_synth_options *o, tq_error *err) {
    if (o->layers < 1 || o->dim < 8 || o->heads < 1 || o->dim % o->heads || o->hidden < 1 || o->vocab < 512 || o->max_pos < 2)
        return tq_err(err, TQ_E_ARG, "synth: invalid dimensions (layers %d, dim %d, heads %d, hidden %d, vocab %d, max_pos %d)",
                      o->layers, o->dim, o->heads, o->hidden, o->vocab, o->max_pos);
    if (!tq_is_dir(outdir) && mkdir(outdir, 0755) != 0)
        return tq_err(err, TQ_E_IO, "%s: cannot create directory", outdir);
    int cap = 8 + o->layers * 16;
    spec *s = calloc((size_t)cap, sizeof *s);
    tq_wentry *we = calloc((size_t)cap, sizeof *we);
    if (!s || !we) { free(s); free(we); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    int n = build_specs(o, s);
    int64_t maxn = 0;
    for (int i = 0; i < n; i++) {
        we[i].name = s[i].name;
        we[i].dtype = TQ_DTYPE_F32;
        if (s[i].rows) { we[i].ndim = 2; we[i].shape[0] = s[i].rows; we[i].shape[1] = s[i].cols; }
        else { we[i].ndim = 1; we[i].shape[0] = s[i].cols; }
        int64_t k = s[i].rows ? s[i].rows * s[i].cols : s[i].cols;
        if (k > maxn) maxn = k;
    }
    static const char *const mk[] = {"format"}, *const mv[] = {"pt"};
    char *path = tq_path_join(outdir, "model.safetensors");
    float *buf = malloc(sizeof(float) * (size_t)maxn);
    tq_writer *w = path && buf ? tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, n, mk, mv, 1, err) : NULL;
    tq_status st = TQ_OK;
    if (!path || !buf) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    else if (!w) st = err ? err->status : TQ_E_IO;
    for (int i = 0; !st && i < n; i++) {
        int64_t k = s[i].rows ? s[i].rows * s[i].cols : s[i].cols;
        if (!(st = gen_tensor(o, &s[i], buf, err))) st = tq_writer_put(w, i, buf, (uint64_t)k * 4, err);
    }
    if (!st) st = tq_writer_finish(w, err);
    tq_writer_free(w);
    free(buf); free(path); free(s); free(we);
    if (st) return st;

    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\n  \"_name_or_path\": \"trueq-synthetic-distilbert-base-mnli\",\n"
             "  \"activation\": \"gelu\",\n  \"architectures\": [\"DistilBertForSequenceClassification\"],\n"
             "  \"attention_dropout\": 0.1,\n  \"dim\": %d,\n  \"dropout\": 0.1,\n  \"hidden_dim\": %d,\n"
             "  \"id2label\": {\"0\": \"entailment\", \"1\": \"neutral\", \"2\": \"contradiction\"},\n"
             "  \"initializer_range\": 0.02,\n"
             "  \"label2id\": {\"contradiction\": 2, \"entailment\": 0, \"neutral\": 1},\n"
             "  \"max_position_embeddings\": %d,\n  \"model_type\": \"distilbert\",\n  \"n_heads\": %d,\n"
             "  \"n_layers\": %d,\n  \"pad_token_id\": 0,\n  \"qa_dropout\": 0.1,\n  \"seq_classif_dropout\": 0.2,\n"
             "  \"sinusoidal_pos_embds\": false,\n  \"tie_weights_\": true,\n  \"torch_dtype\": \"float32\",\n"
             "  \"trueq_synthetic\": {\"seed\": %llu},\n  \"vocab_size\": %d\n}\n",
             o->dim, o->hidden, o->max_pos, o->heads, o->layers, (unsigned long long)o->seed, o->vocab);
    if ((st = write_text(outdir, "config.json", cfg, err))) return st;
    if ((st = write_vocab(outdir, o->vocab, err))) return st;
    return write_text(outdir, "tokenizer_config.json",
                      "{\n  \"do_lower_case\": true,\n  \"model_max_length\": 512,\n  \"tokenizer_class\": \"DistilBertTokenizer\",\n"
                      "  \"cls_token\": \"[CLS]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
                      "  \"unk_token\": \"[UNK]\",\n  \"mask_token\": \"[MASK]\"\n}\n", err);
}
