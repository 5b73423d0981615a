/* cmd_synth.c — `trueq synth OUTDIR`: write the built-in default model. */
#include "cli.h"

static const char SYNOPSIS[] =
    "OUTDIR [--seed N] [--layers N] [--dim N] [--hidden N] [--heads N] [--vocab N]";
static const char DESCRIPTION[] =
    "Writes a deterministic DistilBertForSequenceClassification checkpoint with Hugging Face\n"
    "tensor names (distilbert-base shape: 6 layers, dim 768, 12 heads, FFN 3072, vocab 30522,\n"
    "a 3-label MNLI head): OUTDIR/model.safetensors (F32, about 268 MB), config.json,\n"
    "vocab.txt and tokenizer_config.json. Weights are drawn to look trained (heavy tails,\n"
    "outlier channels, power-law spectra), not like an initialisation. Same seed, same bytes.\n";

typedef struct synth_args { uint64_t seed; int64_t layers, dim, hidden, heads, vocab; } synth_args;

static int run(const tqc_ctx *c, void *va) {
    const synth_args *a = va;
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
    TQC_O_UINT("--seed", NULL, synth_args, seed, "N", "PRNG seed (default 1): same seed, same bytes"),
    TQC_O_INT("--layers", NULL, synth_args, layers, "N", 1, 1000000, "transformer layers (default 6)"),
    TQC_O_INT("--dim", NULL, synth_args, dim, "N", 1, 1000000, "hidden size (default 768)"),
    TQC_O_INT("--hidden", NULL, synth_args, hidden, "N", 1, 1000000, "FFN size (default 3072)"),
    TQC_O_INT("--heads", NULL, synth_args, heads, "N", 1, 1000000, "attention heads (default 12)"),
    TQC_O_INT("--vocab", NULL, synth_args, vocab, "N", 1, 1000000, "vocabulary size (default 30522)"),
};

const tqc_command tqc_cmd_synth = {.name = "synth", .summary = "write the built-in DistilBERT-base-shaped test model",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = false,
    .min_pos = 1, .max_pos = 1, .pos_names = "OUTDIR", TQC_ARGS(synth_args, NULL), .run = run, .route = NULL};
