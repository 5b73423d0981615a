/*
 * synth.c — the built-in default model: a deterministic checkpoint with the
 * exact tensor names, shapes and config of Hugging Face's
 * DistilBertForSequenceClassification (distilbert-base, 3-label MNLI head).
 * The weights come from synth_gen.c (tq_synth_gen); synth_out.c writes them.
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
