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
 * Each tensor is drawn from its own stream, seeded by (seed, name). Only IEEE
 * +, -, *, / and sqrt are used, in a fixed order (no libm transcendental
 * functions, whose results vary between CPU-specific variants, and no BLAS,
 * whose summation order varies with threads and kernels), so the output is
 * byte-identical for a given seed on any machine.
 */
#include "synth/synth_internal.h"
#include "io/container.h"
#include <stdarg.h>
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
/* An approximately normal variate from the sum of four uniforms (Irwin-Hall,
 * rescaled to unit variance): arithmetic only, so it is the same everywhere. */
static float gauss1(rng *r) {
    double t = uni(r) + uni(r) + uni(r) + uni(r) - 2.0;
    return (float)(t * 1.7320508075688772);   /* sqrt(12/4) */
}
static void fill_gauss(rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i++) x[i] = mean + std * gauss1(r);
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
    fill_gauss(r, U, rows * rank, 0.0f, 1.0f);        /* U [rows, rank] */
    fill_gauss(r, V, rank * cols, 0.0f, 1.0f);        /* V [rank, cols] */
    double base = 2.5 * std * sqrt((double)(rows > cols ? rows : cols)) / sqrt((double)rows * (double)cols);
    for (int64_t k = 0; k < rank; k++) {
        double kk = (double)(k + 1);
        float s = (float)(base / sqrt(sqrt(kk * kk * kk)));   /* s_k = base * k^-3/4 */
        for (int64_t i = 0; i < rows; i++) U[i * rank + k] *= s;
    }
    /* W += U V, in a fixed order (k outer per row, columns inner: vectorizes) */
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < rank; k++) {
            const float u = U[i * rank + k];
            const float *v = V + k * cols;
            float *wr = w + i * cols;
            for (int64_t c = 0; c < cols; c++) wr[c] += u * v[c];
        }
    free(U); free(V);
    return TQ_OK;
}

void tq_synth_add(tq_synth_spec *s, int *n, int64_t rows, int64_t cols, tq_synth_kind k, float std, const char *fmt, ...) {
    tq_synth_spec *e = &s[(*n)++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    e->rows = rows; e->cols = cols; e->k = k; e->std = std;
}

int tq_synth_distilbert_specs(const tq_synth_options *o, tq_synth_spec *s) {
    int n = 0;
#define ADD(nm, r, c, kk, sd) tq_synth_add(s, &n, (r), (c), (kk), (sd), "%s", nm)
    ADD("distilbert.embeddings.word_embeddings.weight", o->vocab, o->dim, TQ_SK_WORDEMB, 0.05f);
    ADD("distilbert.embeddings.position_embeddings.weight", o->max_pos, o->dim, TQ_SK_POSEMB, 0.02f);
    ADD("distilbert.embeddings.LayerNorm.weight", 0, o->dim, TQ_SK_GAIN, 0);
    ADD("distilbert.embeddings.LayerNorm.bias", 0, o->dim, TQ_SK_BIAS, 0.02f);
    char nm[128];
    for (int l = 0; l < o->layers; l++) {
        static const char *const lin[] = {"q_lin", "k_lin", "v_lin", "out_lin"};
        for (int k = 0; k < 4; k++) {
            snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.attention.%s.weight", l, lin[k]);
            ADD(nm, o->dim, o->dim, TQ_SK_MATRIX, 0.04f);
            snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.attention.%s.bias", l, lin[k]);
            ADD(nm, 0, o->dim, TQ_SK_BIAS, 0.02f);
        }
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.sa_layer_norm.weight", l); ADD(nm, 0, o->dim, TQ_SK_GAIN, 0);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.sa_layer_norm.bias", l); ADD(nm, 0, o->dim, TQ_SK_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin1.weight", l); ADD(nm, o->hidden, o->dim, TQ_SK_MATRIX, 0.04f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin1.bias", l); ADD(nm, 0, o->hidden, TQ_SK_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin2.weight", l); ADD(nm, o->dim, o->hidden, TQ_SK_MATRIX, 0.03f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.ffn.lin2.bias", l); ADD(nm, 0, o->dim, TQ_SK_BIAS, 0.02f);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.output_layer_norm.weight", l); ADD(nm, 0, o->dim, TQ_SK_GAIN, 0);
        snprintf(nm, sizeof nm, "distilbert.transformer.layer.%d.output_layer_norm.bias", l); ADD(nm, 0, o->dim, TQ_SK_BIAS, 0.02f);
    }
    ADD("pre_classifier.weight", o->dim, o->dim, TQ_SK_MATRIX, 0.04f);
    ADD("pre_classifier.bias", 0, o->dim, TQ_SK_BIAS, 0.02f);
    ADD("classifier.weight", 3, o->dim, TQ_SK_MATRIX, 0.04f);
    ADD("classifier.bias", 0, 3, TQ_SK_BIAS, 0.02f);
    return n;
}

tq_status tq_synth_gen(uint64_t seed, const tq_synth_spec *s, float *w, tq_error *err) {
    rng r;
    seed_rng(&r, seed, s->name);
    int64_t n = s->rows ? s->rows * s->cols : s->cols;
    switch (s->k) {
    case TQ_SK_MATRIX: return gen_matrix(&r, w, s->rows, s->cols, s->std, err);
    case TQ_SK_BIAS: fill_gauss(&r, w, n, 0.0f, s->std); return TQ_OK;
    case TQ_SK_GAIN: fill_gauss(&r, w, n, 0.9f, 0.08f); return TQ_OK;
    case TQ_SK_WORDEMB:
        fill_gauss(&r, w, n, 0.0f, s->std);
        for (int64_t i = 0; i < s->rows; i++) {      /* frequent tokens (low ids past specials) have larger norms */
            float f = i < 1000 ? 1.6f : i < 10000 ? 1.0f : 0.8f;
            for (int64_t c = 0; c < s->cols; c++) w[i * s->cols + c] *= f;
        }
        return TQ_OK;
    case TQ_SK_POSEMB: {
        /* smooth in the position: a per-channel base times a triangle wave */
        float *base = malloc(sizeof(float) * (size_t)s->cols);
        if (!base) return tq_err(err, TQ_E_NOMEM, "synth: out of memory");
        fill_gauss(&r, base, s->cols, 0.0f, s->std);
        for (int64_t p = 0; p < s->rows; p++)
            for (int64_t c = 0; c < s->cols; c++) {
                int64_t period = 2 * (c % 17 + 8);
                double ph = (double)(p % period) / (double)period;          /* [0, 1) */
                double tri = ph < 0.5 ? 4.0 * ph - 1.0 : 3.0 - 4.0 * ph;   /* [-1, 1] */
                w[p * s->cols + c] = base[c] * (float)tri + 0.005f * gauss1(&r);
            }
        free(base);
        return TQ_OK;
    }
    }
    return TQ_OK;
}

static void distilbert_config(tq_sb *b, const tq_synth_options *o, const char *torch_dtype) {
    tq_sb_printf(b,
             "{\n  \"_name_or_path\": \"trueq-synthetic-distilbert-base-mnli\",\n"
             "  \"activation\": \"gelu\",\n  \"architectures\": [\"DistilBertForSequenceClassification\"],\n"
             "  \"attention_dropout\": 0.1,\n  \"dim\": %d,\n  \"dropout\": 0.1,\n  \"hidden_dim\": %d,\n"
             "  \"id2label\": {\"0\": \"entailment\", \"1\": \"neutral\", \"2\": \"contradiction\"},\n"
             "  \"initializer_range\": 0.02,\n"
             "  \"label2id\": {\"contradiction\": 2, \"entailment\": 0, \"neutral\": 1},\n"
             "  \"max_position_embeddings\": %d,\n  \"model_type\": \"distilbert\",\n  \"n_heads\": %d,\n"
             "  \"n_layers\": %d,\n  \"pad_token_id\": 0,\n  \"qa_dropout\": 0.1,\n  \"seq_classif_dropout\": 0.2,\n"
             "  \"sinusoidal_pos_embds\": false,\n  \"tie_weights_\": true,\n  \"torch_dtype\": \"%s\",\n"
             "  \"trueq_synthetic\": {\"seed\": %llu},\n  \"vocab_size\": %d\n}\n",
             o->dim, o->hidden, o->max_pos, o->heads, o->layers, torch_dtype, (unsigned long long)o->seed, o->vocab);
}

tq_status tq_synth_distilbert(const char *outdir, const tq_synth_options *o, tq_error *err) {
    if (o->layers < 1 || o->dim < 8 || o->heads < 1 || o->dim % o->heads || o->hidden < 1 || o->vocab < 512 || o->max_pos < 2)
        return tq_err(err, TQ_E_ARG, "synth: invalid dimensions (layers %d, dim %d, heads %d, hidden %d, vocab %d, max_pos %d)",
                      o->layers, o->dim, o->heads, o->hidden, o->vocab, o->max_pos);
    if (!tq_is_dir(outdir) && mkdir(outdir, 0755) != 0)
        return tq_err(err, TQ_E_IO, "%s: cannot create directory", outdir);
    tq_synth_spec *s = calloc((size_t)(8 + o->layers * 16), sizeof *s);
    if (!s) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int n = tq_synth_distilbert_specs(o, s);
    tq_status st = tq_synth_write_weights(outdir, s, n, o->seed, TQ_DTYPE_F32, UINT64_MAX, NULL, NULL, NULL, err);
    free(s);
    if (st) return st;
    return tq_synth_distilbert_files(outdir, o, "float32", err);
}

tq_status tq_synth_distilbert_files(const char *dir, const tq_synth_options *o, const char *torch_dtype, tq_error *err) {
    tq_sb b = {0};
    distilbert_config(&b, o, torch_dtype);
    tq_status st = b.oom ? tq_err(err, TQ_E_NOMEM, "out of memory") : tq_synth_write_text(dir, "config.json", b.s, err);
    tq_sb_free(&b);
    if (st) return st;
    if ((st = tq_synth_write_wordpiece(dir, o->vocab, err))) return st;
    return tq_synth_write_text(dir, "tokenizer_config.json",
                      "{\n  \"do_lower_case\": true,\n  \"model_max_length\": 512,\n  \"tokenizer_class\": \"DistilBertTokenizer\",\n"
                      "  \"cls_token\": \"[CLS]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
                      "  \"unk_token\": \"[UNK]\",\n  \"mask_token\": \"[MASK]\"\n}\n", err);
}
