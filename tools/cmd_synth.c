/* cmd_synth.c — `trueq synth OUTDIR`: write a deterministic synthetic checkpoint
 * (the built-in default model, or a family x shape of src/synth/synth_arch.c). */
#include "cli.h"
#include <string.h>

static const char SYNOPSIS[] =
    "OUTDIR [--arch A] [--shape S] [--dtype F32|F16|BF16] [--seed N] [--layers N] [--dim N] [--hidden N]\n"
    "                   [--heads N] [--vocab N] [--max-shard-size SIZE] [--dry-run] [--quiet]";
static const char DESCRIPTION[] =
    "Without --arch/--shape/--dtype: writes the built-in default model, a deterministic\n"
    "DistilBertForSequenceClassification checkpoint with Hugging Face tensor names\n"
    "(distilbert-base shape: 6 layers, dim 768, 12 heads, FFN 3072, vocab 30522, a 3-label\n"
    "MNLI head): OUTDIR/model.safetensors (F32, about 268 MB), config.json, vocab.txt and\n"
    "tokenizer_config.json. Weights are drawn to look trained (heavy tails, outlier\n"
    "channels, power-law spectra), not like an initialisation. Same seed, same bytes.\n"
    "\n"
    "--arch distilbert|bert|roberta (…ForSequenceClassification, MNLI head, with their\n"
    "tokenizer files) or llama|qwen2|phi3 (…ForCausalLM, config.json and\n"
    "generation_config.json; no tokenizer: generate them with --ids), --shape tiny|base\n"
    "(the family's base checkpoint: distilbert-base, bert-base, roberta-base, SmolLM2-135M,\n"
    "Qwen2.5-0.5B, Phi-3.5-mini) or phi3.5-mini (phi3: 3.8B parameters, 7.6 GB in BF16).\n"
    "Weights are streamed (one tensor in memory), sharded like save_pretrained (5 GB\n"
    "shards and model.safetensors.index.json) and the directory is committed whole.\n"
    "--dry-run prints what would be written and writes nothing.\n";

static const tqc_choice ARCHS[] = {{"distilbert", 1}, {"bert", 2}, {"roberta", 3}, {"llama", 4}, {"qwen2", 5},
                                   {"phi3", 6}, {NULL, 0}};
static const tqc_choice SHAPES[] = {{"tiny", 1}, {"base", 2}, {"phi3.5-mini", 3}, {NULL, 0}};
static const tqc_choice DTYPES[] = {{"F32", TQ_DTYPE_F32}, {"F16", TQ_DTYPE_F16}, {"BF16", TQ_DTYPE_BF16}, {NULL, 0}};

typedef struct synth_args {
    uint64_t seed, max_shard;
    int64_t layers, dim, hidden, heads, vocab;
    int arch, shape, dtype;
    bool dry_run, quiet;
} synth_args;

static void on_progress(void *ud, int64_t done, int64_t total, const char *name) {
    (void)ud;
    fprintf(stderr, "trueq synth: %lld/%lld %s\n", (long long)done, (long long)total, name);
}

static int run_model(const tqc_ctx *c, const synth_args *a) {
    tq_synth_model_options o;
    tq_synth_model_options_init(&o);
    o.arch = a->arch ? ARCHS[a->arch - 1].name : NULL;
    o.shape = a->shape ? SHAPES[a->shape - 1].name : NULL;
    if (a->dtype) o.dtype = (tq_dtype)a->dtype;
    if (tqc_given(&tqc_cmd_synth, c, "--seed")) o.seed = a->seed;
    if (a->max_shard) o.max_shard_bytes = a->max_shard;
    o.layers = (int)a->layers; o.dim = (int)a->dim; o.hidden = (int)a->hidden;
    o.heads = (int)a->heads; o.vocab = (int)a->vocab;
    o.dry_run = a->dry_run;
    if (!a->quiet && !a->dry_run) o.progress = on_progress;
    tq_synth_summary s;
    tq_error err;
    if (tq_synth_model(c->pos[0], &o, &s, &err)) return tqc_fail(c->cmd, &err);
    printf("%s %s: %lld tensors, %lld parameters, %llu tensor bytes, %llu file bytes, %d shard%s\n",
           a->dry_run ? "plan:" : "wrote", c->pos[0], (long long)s.n_tensors, (long long)s.n_params,
           (unsigned long long)s.data_bytes, (unsigned long long)s.file_bytes, s.n_shards, s.n_shards == 1 ? "" : "s");
    return TQC_EXIT_OK;
}

static int run(const tqc_ctx *c, void *va) {
    const synth_args *a = va;
    if (a->arch || a->shape || a->dtype || a->dry_run || a->max_shard) return run_model(c, a);
    tq_synth_options o;
    tq_synth_options_init(&o);
    if (tqc_given(&tqc_cmd_synth, c, "--seed")) o.seed = a->seed;
    if (a->layers) o.layers = (int)a->layers;
    if (a->dim) o.dim = (int)a->dim;
    if (a->hidden) o.hidden = (int)a->hidden;
    if (a->heads) o.heads = (int)a->heads;
    if (a->vocab) o.vocab = (int)a->vocab;
    tq_error err;
    if (tq_synth_distilbert(c->pos[0], &o, &err)) return tqc_fail(c->cmd, &err);
    fprintf(stderr, "trueq synth: wrote %s (model.safetensors, config.json, vocab.txt, tokenizer_config.json)\n", c->pos[0]);
    return TQC_EXIT_OK;
}

static const tqc_opt OPTS[] = {
    TQC_O_CHOICE("--arch", synth_args, arch, ARCHS, "family: distilbert, bert, roberta, llama, qwen2, phi3"),
    TQC_O_CHOICE("--shape", synth_args, shape, SHAPES, "tiny, base (default) or phi3.5-mini (phi3)"),
    TQC_O_CHOICE("--dtype", synth_args, dtype, DTYPES, "stored dtype (default F32)"),
    TQC_O_UINT("--seed", NULL, synth_args, seed, "N", "PRNG seed (default 1): same seed, same bytes"),
    TQC_O_INT("--layers", NULL, synth_args, layers, "N", 1, 1000000, "transformer layers (default: the shape's; 6)"),
    TQC_O_INT("--dim", NULL, synth_args, dim, "N", 1, 1000000, "hidden size (default: the shape's; 768)"),
    TQC_O_INT("--hidden", NULL, synth_args, hidden, "N", 1, 1000000, "FFN size (default: the shape's; 3072)"),
    TQC_O_INT("--heads", NULL, synth_args, heads, "N", 1, 1000000, "attention heads (default: the shape's; 12)"),
    TQC_O_INT("--vocab", NULL, synth_args, vocab, "N", 1, 1000000, "vocabulary size (default: the shape's; 30522)"),
    TQC_O_SIZE("--max-shard-size", synth_args, max_shard, "SIZE", 1, INT64_MAX,
               "data bytes per safetensors shard (default 5GB, as save_pretrained)"),
    TQC_O_FLAG("--dry-run", NULL, synth_args, dry_run, "print tensors, parameters and bytes; write nothing"),
    TQC_O_FLAG("--quiet", "-q", synth_args, quiet, "no progress on stderr"),
};

const tqc_command tqc_cmd_synth = {.name = "synth", .summary = "write a deterministic synthetic model (default: DistilBERT-base-shaped)",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = false,
    .min_pos = 1, .max_pos = 1, .pos_names = "OUTDIR", TQC_ARGS(synth_args, NULL), .run = run, .route = NULL};
