/*
 * synth_arch.c — `trueq synth --arch A --shape S --dtype T`: the table of
 * synthetic families (tensor list with Hugging Face names, config.json,
 * generation_config.json for decoders, tokenizer files for encoders) and of
 * their shapes. The weights come from synth.c's generator, streamed by
 * synth_out.c; the directory is staged and committed whole (core/outdir.c).
 *
 * Shapes: tiny (tests), base (distilbert-base, bert-base, roberta-base,
 * SmolLM2-135M, Qwen2.5-0.5B, Phi-3.5-mini) and phi3.5-mini (phi3 only:
 * hidden 3072, 32 layers, 32 heads, FFN 8192, vocab 32064, fused qkv_proj
 * and gate_up_proj, longrope with 48 short and 48 long factors over
 * original_max_position_embeddings 4096: 3,821,079,552 parameters).
 */
#include "synth/synth_internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *arch, *shape;
    int layers, dim, heads, kv_heads, hidden, vocab, max_pos;
    int type_vocab;     /* encoders                          */
    int tied;           /* decoders: lm_head tied to embed   */
    int orig_pos;       /* phi3: longrope's original length  */
    double rope_theta;
    int bos, eos;
} shape;

static const shape SHAPES[] = {
    {"distilbert", "tiny", 2, 64, 4, 4, 128, 1024, 128, 0, 0, 0, 0, 0, 0},
    {"distilbert", "base", 6, 768, 12, 12, 3072, 30522, 512, 0, 0, 0, 0, 0, 0},
    {"bert", "tiny", 2, 64, 4, 4, 128, 1024, 128, 2, 0, 0, 0, 0, 0},
    {"bert", "base", 12, 768, 12, 12, 3072, 30522, 512, 2, 0, 0, 0, 0, 0},
    {"roberta", "tiny", 2, 64, 4, 4, 128, 1024, 130, 1, 0, 0, 0, 0, 2},
    {"roberta", "base", 12, 768, 12, 12, 3072, 50265, 514, 1, 0, 0, 0, 0, 2},
    {"llama", "tiny", 2, 64, 4, 2, 128, 512, 256, 0, 1, 0, 10000.0, 1, 2},
    {"llama", "base", 30, 576, 9, 3, 1536, 49152, 8192, 0, 1, 0, 100000.0, 1, 2},
    {"qwen2", "tiny", 2, 64, 4, 2, 128, 512, 256, 0, 1, 0, 1000000.0, 1, 2},
    {"qwen2", "base", 24, 896, 14, 2, 4864, 151936, 32768, 0, 1, 0, 1000000.0, 151643, 151645},
    {"phi3", "tiny", 2, 64, 4, 4, 128, 512, 1024, 0, 0, 256, 10000.0, 1, 2},
    {"phi3", "base", 32, 3072, 32, 32, 8192, 32064, 131072, 0, 0, 4096, 10000.0, 1, 32000},
    {"phi3", "phi3.5-mini", 32, 3072, 32, 32, 8192, 32064, 131072, 0, 0, 4096, 10000.0, 1, 32000},
};
#define N_SHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

static const char *torch_dtype(tq_dtype t) {
    return t == TQ_DTYPE_BF16 ? "bfloat16" : t == TQ_DTYPE_F16 ? "float16" : "float32";
}

/* ---- encoders: BERT / RoBERTa *ForSequenceClassification (MNLI head) ------ */

static int encoder_specs(const shape *h, int roberta, tq_synth_spec *s) {
    int n = 0;
    const char *p = roberta ? "roberta." : "bert.";
    tq_synth_add(s, &n, h->vocab, h->dim, TQ_SK_WORDEMB, 0.05f, "%sembeddings.word_embeddings.weight", p);
    tq_synth_add(s, &n, h->max_pos, h->dim, TQ_SK_POSEMB, 0.02f, "%sembeddings.position_embeddings.weight", p);
    tq_synth_add(s, &n, h->type_vocab, h->dim, TQ_SK_BIAS, 0.02f, "%sembeddings.token_type_embeddings.weight", p);
    tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "%sembeddings.LayerNorm.weight", p);
    tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "%sembeddings.LayerNorm.bias", p);
    static const char *const att[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                      "attention.output.dense"};
    for (int l = 0; l < h->layers; l++) {
        for (int k = 0; k < 4; k++) {
            tq_synth_add(s, &n, h->dim, h->dim, TQ_SK_MATRIX, 0.04f, "%sencoder.layer.%d.%s.weight", p, l, att[k]);
            tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "%sencoder.layer.%d.%s.bias", p, l, att[k]);
        }
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "%sencoder.layer.%d.attention.output.LayerNorm.weight", p, l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "%sencoder.layer.%d.attention.output.LayerNorm.bias", p, l);
        tq_synth_add(s, &n, h->hidden, h->dim, TQ_SK_MATRIX, 0.04f, "%sencoder.layer.%d.intermediate.dense.weight", p, l);
        tq_synth_add(s, &n, 0, h->hidden, TQ_SK_BIAS, 0.02f, "%sencoder.layer.%d.intermediate.dense.bias", p, l);
        tq_synth_add(s, &n, h->dim, h->hidden, TQ_SK_MATRIX, 0.03f, "%sencoder.layer.%d.output.dense.weight", p, l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "%sencoder.layer.%d.output.dense.bias", p, l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "%sencoder.layer.%d.output.LayerNorm.weight", p, l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "%sencoder.layer.%d.output.LayerNorm.bias", p, l);
    }
    if (roberta) {   /* RobertaForSequenceClassification: no pooler, dense -> tanh -> out_proj */
        tq_synth_add(s, &n, h->dim, h->dim, TQ_SK_MATRIX, 0.04f, "classifier.dense.weight");
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "classifier.dense.bias");
        tq_synth_add(s, &n, 3, h->dim, TQ_SK_MATRIX, 0.04f, "classifier.out_proj.weight");
        tq_synth_add(s, &n, 0, 3, TQ_SK_BIAS, 0.02f, "classifier.out_proj.bias");
    } else {
        tq_synth_add(s, &n, h->dim, h->dim, TQ_SK_MATRIX, 0.04f, "bert.pooler.dense.weight");
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_BIAS, 0.02f, "bert.pooler.dense.bias");
        tq_synth_add(s, &n, 3, h->dim, TQ_SK_MATRIX, 0.04f, "classifier.weight");
        tq_synth_add(s, &n, 0, 3, TQ_SK_BIAS, 0.02f, "classifier.bias");
    }
    return n;
}

static tq_status encoder_files(const char *dir, const shape *h, int roberta, tq_dtype dt, uint64_t seed, tq_error *err) {
    tq_sb b = {0};
    tq_sb_printf(&b,
                 "{\n  \"_name_or_path\": \"trueq-synthetic-%s-%s-mnli\",\n  \"architectures\": [\"%s\"],\n"
                 "  \"attention_probs_dropout_prob\": 0.1,\n%s  \"classifier_dropout\": null,\n%s"
                 "  \"hidden_act\": \"gelu\",\n  \"hidden_dropout_prob\": 0.1,\n  \"hidden_size\": %d,\n"
                 "  \"id2label\": {\"0\": \"entailment\", \"1\": \"neutral\", \"2\": \"contradiction\"},\n"
                 "  \"initializer_range\": 0.02,\n  \"intermediate_size\": %d,\n"
                 "  \"label2id\": {\"contradiction\": 2, \"entailment\": 0, \"neutral\": 1},\n"
                 "  \"layer_norm_eps\": %s,\n  \"max_position_embeddings\": %d,\n  \"model_type\": \"%s\",\n"
                 "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n  \"pad_token_id\": %d,\n"
                 "  \"position_embedding_type\": \"absolute\",\n  \"torch_dtype\": \"%s\",\n"
                 "  \"trueq_synthetic\": {\"seed\": %llu},\n  \"type_vocab_size\": %d,\n  \"vocab_size\": %d\n}\n",
                 roberta ? "roberta" : "bert", h->shape,
                 roberta ? "RobertaForSequenceClassification" : "BertForSequenceClassification",
                 roberta ? "  \"bos_token_id\": 0,\n" : "", roberta ? "  \"eos_token_id\": 2,\n" : "", h->dim, h->hidden,
                 roberta ? "1e-05" : "1e-12", h->max_pos, roberta ? "roberta" : "bert", h->heads, h->layers,
                 roberta ? 1 : 0, torch_dtype(dt), (unsigned long long)seed, h->type_vocab, h->vocab);
    tq_status st = b.oom ? tq_err(err, TQ_E_NOMEM, "out of memory") : tq_synth_write_text(dir, "config.json", b.s, err);
    tq_sb_free(&b);
    if (st) return st;
    if (!roberta) {
        if ((st = tq_synth_write_wordpiece(dir, h->vocab, err))) return st;
        return tq_synth_write_text(dir, "tokenizer_config.json",
                                   "{\n  \"do_lower_case\": true,\n  \"model_max_length\": 512,\n  \"tokenizer_class\": \"BertTokenizer\",\n"
                                   "  \"cls_token\": \"[CLS]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
                                   "  \"unk_token\": \"[UNK]\",\n  \"mask_token\": \"[MASK]\"\n}\n", err);
    }
    if ((st = tq_synth_write_bytebpe(dir, h->vocab, err))) return st;
    return tq_synth_write_text(dir, "tokenizer_config.json",
                               "{\n  \"add_prefix_space\": false,\n  \"model_max_length\": 512,\n  \"tokenizer_class\": \"RobertaTokenizer\",\n"
                               "  \"bos_token\": \"<s>\",\n  \"eos_token\": \"</s>\",\n  \"cls_token\": \"<s>\",\n  \"sep_token\": \"</s>\",\n"
                               "  \"pad_token\": \"<pad>\",\n  \"unk_token\": \"<unk>\",\n  \"mask_token\": \"<mask>\"\n}\n", err);
}

/* ---- decoders: LlamaForCausalLM / Qwen2ForCausalLM / Phi3ForCausalLM -------- */

typedef enum { DEC_LLAMA, DEC_QWEN2, DEC_PHI3 } dec_kind;

static int decoder_specs(const shape *h, dec_kind k, tq_synth_spec *s) {
    int n = 0, hd = h->dim / h->heads, kv = h->kv_heads * hd;
    tq_synth_add(s, &n, h->vocab, h->dim, TQ_SK_WORDEMB, 0.02f, "model.embed_tokens.weight");
    for (int l = 0; l < h->layers; l++) {
        if (k == DEC_PHI3) {
            tq_synth_add(s, &n, h->dim + 2 * kv, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.self_attn.qkv_proj.weight", l);
        } else {
            static const char *const qkv[] = {"q_proj", "k_proj", "v_proj"};
            for (int j = 0; j < 3; j++) {
                tq_synth_add(s, &n, j ? kv : h->dim, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.self_attn.%s.weight", l, qkv[j]);
                if (k == DEC_QWEN2)
                    tq_synth_add(s, &n, 0, j ? kv : h->dim, TQ_SK_BIAS, 0.02f, "model.layers.%d.self_attn.%s.bias", l, qkv[j]);
            }
        }
        tq_synth_add(s, &n, h->dim, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.self_attn.o_proj.weight", l);
        if (k == DEC_PHI3) {
            tq_synth_add(s, &n, 2 * h->hidden, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.mlp.gate_up_proj.weight", l);
        } else {
            tq_synth_add(s, &n, h->hidden, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.mlp.gate_proj.weight", l);
            tq_synth_add(s, &n, h->hidden, h->dim, TQ_SK_MATRIX, 0.02f, "model.layers.%d.mlp.up_proj.weight", l);
        }
        tq_synth_add(s, &n, h->dim, h->hidden, TQ_SK_MATRIX, 0.02f, "model.layers.%d.mlp.down_proj.weight", l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "model.layers.%d.input_layernorm.weight", l);
        tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "model.layers.%d.post_attention_layernorm.weight", l);
    }
    tq_synth_add(s, &n, 0, h->dim, TQ_SK_GAIN, 0, "model.norm.weight");
    if (!h->tied) tq_synth_add(s, &n, h->vocab, h->dim, TQ_SK_MATRIX, 0.02f, "lm_head.weight");
    return n;
}

/* longrope factors (head_dim / 2 of each): smooth, rising with the pair index */
static void rope_factors(tq_sb *b, const char *key, int nf, double top) {
    tq_sb_printf(b, "    \"%s\": [", key);
    for (int i = 0; i < nf; i++) {
        double x = nf > 1 ? (double)i / (nf - 1) : 0.0;
        tq_sb_printf(b, "%s%.6g", i ? ", " : "", 1.0 + (top - 1.0) * x * x);
    }
    tq_sb_puts(b, "]");
}

static tq_status decoder_files(const char *dir, const shape *h, dec_kind k, tq_dtype dt, uint64_t seed, tq_error *err) {
    static const char *const ARCHS[] = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Phi3ForCausalLM"};
    static const char *const TYPES[] = {"llama", "qwen2", "phi3"};
    tq_sb b = {0};
    tq_sb_printf(&b,
                 "{\n  \"_name_or_path\": \"trueq-synthetic-%s-%s\",\n  \"architectures\": [\"%s\"],\n"
                 "  \"attention_bias\": %s,\n  \"attention_dropout\": 0.0,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n"
                 "  \"hidden_act\": \"silu\",\n  \"hidden_size\": %d,\n  \"initializer_range\": 0.02,\n"
                 "  \"intermediate_size\": %d,\n  \"max_position_embeddings\": %d,\n  \"model_type\": \"%s\",\n"
                 "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n  \"num_key_value_heads\": %d,\n"
                 "  \"rms_norm_eps\": %s,\n  \"rope_theta\": %.1f,\n  \"tie_word_embeddings\": %s,\n"
                 "  \"torch_dtype\": \"%s\",\n  \"trueq_synthetic\": {\"seed\": %llu},\n  \"use_cache\": true,\n"
                 "  \"vocab_size\": %d",
                 TYPES[k], h->shape, ARCHS[k], k == DEC_QWEN2 ? "true" : "false", h->bos, h->eos, h->dim, h->hidden,
                 h->max_pos, TYPES[k], h->heads, h->layers, h->kv_heads, k == DEC_LLAMA ? "1e-05" : "1e-06",
                 h->rope_theta, h->tied ? "true" : "false", torch_dtype(dt), (unsigned long long)seed, h->vocab);
    if (k == DEC_QWEN2)
        tq_sb_printf(&b, ",\n  \"max_window_layers\": %d,\n  \"sliding_window\": %d,\n  \"use_sliding_window\": false",
                     h->layers, h->max_pos);
    if (k == DEC_PHI3) {
        int nf = h->dim / h->heads / 2;
        tq_sb_printf(&b, ",\n  \"original_max_position_embeddings\": %d,\n  \"pad_token_id\": %d,\n"
                     "  \"resid_pdrop\": 0.0,\n  \"embd_pdrop\": 0.0,\n  \"rope_scaling\": {\n", h->orig_pos, h->eos);
        rope_factors(&b, "long_factor", nf, 40.0);
        tq_sb_puts(&b, ",\n");
        rope_factors(&b, "short_factor", nf, 1.1);
        tq_sb_printf(&b, ",\n    \"type\": \"longrope\"\n  },\n  \"sliding_window\": %d", h->max_pos * 2);
    }
    tq_sb_puts(&b, "\n}\n");
    tq_status st = b.oom ? tq_err(err, TQ_E_NOMEM, "out of memory") : tq_synth_write_text(dir, "config.json", b.s, err);
    tq_sb_free(&b);
    if (st) return st;
    char gen[256];
    snprintf(gen, sizeof gen, "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d\n}\n",
             h->bos, h->eos);
    return tq_synth_write_text(dir, "generation_config.json", gen, err);
}

/* ---- the family table --------------------------------------------------------- */

static const char *const ARCH_NAMES[] = {"distilbert", "bert", "roberta", "llama", "qwen2", "phi3"};
#define N_ARCHS ((int)(sizeof ARCH_NAMES / sizeof ARCH_NAMES[0]))
static const char *const SHAPE_NAMES[] = {"tiny", "base", "phi3.5-mini"};

const char *tq_synth_arch_name(int i) { return i >= 0 && i < N_ARCHS ? ARCH_NAMES[i] : NULL; }
const char *tq_synth_shape_name(int i) { return i >= 0 && i < 3 ? SHAPE_NAMES[i] : NULL; }

void tq_synth_model_options_init(tq_synth_model_options *o) {
    memset(o, 0, sizeof *o);
    o->arch = "distilbert";
    o->shape = "base";
    o->dtype = TQ_DTYPE_F32;
    o->seed = 1;
    o->max_shard_bytes = 5000000000ull;
}

static tq_status resolve(const tq_synth_model_options *o, shape *h, int *arch, tq_error *err) {
    const char *an = o->arch ? o->arch : (o->shape && strcmp(o->shape, "phi3.5-mini") == 0 ? "phi3" : "distilbert");
    const char *sn = o->shape ? o->shape : "base";
    *arch = -1;
    for (int i = 0; i < N_ARCHS; i++) if (strcmp(an, ARCH_NAMES[i]) == 0) *arch = i;
    if (*arch < 0) return tq_err(err, TQ_E_ARG, "synth: unknown --arch %s (distilbert, bert, roberta, llama, qwen2, phi3)", an);
    const shape *row = NULL;
    for (int i = 0; i < N_SHAPES; i++)
        if (strcmp(SHAPES[i].arch, an) == 0 && strcmp(SHAPES[i].shape, sn) == 0) row = &SHAPES[i];
    if (!row) return tq_err(err, TQ_E_ARG, "synth: --arch %s has no shape %s (%s)", an, sn,
                            *arch == 5 ? "tiny, base, phi3.5-mini" : "tiny, base");
    *h = *row;
    if (o->layers) h->layers = o->layers;
    if (o->dim) h->dim = o->dim;
    if (o->hidden) h->hidden = o->hidden;
    if (o->vocab) h->vocab = o->vocab;
    if (o->heads) {
        h->heads = o->heads;
        if (h->kv_heads > h->heads || h->heads % h->kv_heads || *arch == 5) h->kv_heads = h->heads;
    }
    if (*arch != 5 && *arch >= 3 && h->eos >= h->vocab) { h->bos = 1; h->eos = 2; }
    if (*arch == 5 && h->eos >= h->vocab) h->eos = 2;
    int min_vocab = *arch == 2 ? 261 : *arch >= 3 ? 3 : 512;
    if (h->layers < 1 || h->dim < 8 || h->heads < 1 || h->dim % h->heads || (h->dim / h->heads) % 2 || h->hidden < 1 ||
        h->vocab < min_vocab || h->layers > 100000)
        return tq_err(err, TQ_E_ARG, "synth: invalid dimensions for %s (layers %d, dim %d, heads %d, hidden %d, vocab %d; "
                      "dim must be a multiple of heads with an even head size, vocab at least %d)",
                      an, h->layers, h->dim, h->heads, h->hidden, h->vocab, min_vocab);
    if (o->dtype != TQ_DTYPE_F32 && o->dtype != TQ_DTYPE_F16 && o->dtype != TQ_DTYPE_BF16)
        return tq_err(err, TQ_E_ARG, "synth: --dtype %s is not one of F32, F16, BF16", tq_dtype_name(o->dtype));
    return TQ_OK;
}

tq_status tq_synth_model(const char *outdir, const tq_synth_model_options *o, tq_synth_summary *sum, tq_error *err) {
    shape h = {0};
    int arch = -1;
    tq_status st = resolve(o, &h, &arch, err);
    if (st) return st;
    tq_synth_options d;   /* distilbert: its own spec list and files (the default model) */
    tq_synth_options_init(&d);
    d.seed = o->seed; d.layers = h.layers; d.dim = h.dim; d.hidden = h.hidden; d.heads = h.heads; d.vocab = h.vocab;
    d.max_pos = h.max_pos;
    tq_synth_spec *s = calloc((size_t)(16 + h.layers * 20), sizeof *s);
    if (!s) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int n = arch == 0 ? tq_synth_distilbert_specs(&d, s) : arch <= 2 ? encoder_specs(&h, arch == 2, s)
                                                         : decoder_specs(&h, (dec_kind)(arch - 3), s);
    uint64_t shard = o->max_shard_bytes ? o->max_shard_bytes : 5000000000ull;
    if (o->dry_run) {
        st = tq_synth_write_weights(NULL, s, n, o->seed, o->dtype, shard, NULL, NULL, sum, err);
        free(s);
        return st;
    }
    tq_outdir od;
    if ((st = tq_outdir_begin(&od, outdir, err))) { free(s); return st; }
    const char *dir = od.stage;
    st = tq_synth_write_weights(dir, s, n, o->seed, o->dtype, shard, o->progress, o->progress_ud, sum, err);
    free(s);
    if (!st) st = arch == 0 ? tq_synth_distilbert_files(dir, &d, torch_dtype(o->dtype), err)
                 : arch <= 2 ? encoder_files(dir, &h, arch == 2, o->dtype, o->seed, err)
                             : decoder_files(dir, &h, (dec_kind)(arch - 3), o->dtype, o->seed, err);
    if (!st) st = tq_outdir_commit(&od, err);
    if (st) { tq_outdir_fix_message(&od, err); tq_outdir_abort(&od); }
    return st;
}
