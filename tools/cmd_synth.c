/* cmd_synth.c — `trueq synth OUTDIR`: write the built-in default model. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq synth OUTDIR [--seed N] [--layers N] [--dim N] [--hidden N] [--heads N] [--vocab N]\n\n"
    "Writes a deterministic DistilBertForSequenceClassification checkpoint with Hugging Face\n"
    "tensor names (distilbert-base shape: 6 layers, dim 768, 12 heads, FFN 3072, vocab 30522,\n"
    "a 3-label MNLI head): OUTDIR/model.safetensors (F32, about 268 MB), config.json,\n"
    "vocab.txt and tokenizer_config.json. Weights are drawn to look trained (heavy tails,\n"
    "outlier channels, power-law spectra), not like an initialisation. Same seed, same bytes.\n";

static bool parse_int(const char *s, int *v) {
    char *e;
    long x = strtol(s, &e, 10);
    if (*e || x <= 0 || x > 1000000) return false;
    *v = (int)x;
    return true;
}

int cmd_synth(int argc, char **argv) {
    tq_synth_options o;
    tq_synth_options_init(&o);
    tq_args a;
    tq_args_init(&a, argc, argv);
    const char *v;
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (tq_args_value(&a, NULL, "--seed", &v)) { char *e; o.seed = strtoull(v, &e, 10); if (*e) return tq_cli_usage_error("synth", "--seed needs an integer"); }
        else if (tq_args_value(&a, NULL, "--layers", &v)) { if (!parse_int(v, &o.layers)) return tq_cli_usage_error("synth", "bad --layers %s", v); }
        else if (tq_args_value(&a, NULL, "--dim", &v)) { if (!parse_int(v, &o.dim)) return tq_cli_usage_error("synth", "bad --dim %s", v); }
        else if (tq_args_value(&a, NULL, "--hidden", &v)) { if (!parse_int(v, &o.hidden)) return tq_cli_usage_error("synth", "bad --hidden %s", v); }
        else if (tq_args_value(&a, NULL, "--heads", &v)) { if (!parse_int(v, &o.heads)) return tq_cli_usage_error("synth", "bad --heads %s", v); }
        else if (tq_args_value(&a, NULL, "--vocab", &v)) { if (!parse_int(v, &o.vocab)) return tq_cli_usage_error("synth", "bad --vocab %s", v); }
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, "synth");
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 1) { fputs(USAGE, stderr); return TQ_EXIT_USAGE; }
    tq_error err;
    if (tq_synth_distilbert(a.pos[0], &o, &err)) return tq_cli_fail("synth", &err);
    fprintf(stderr, "trueq synth: wrote %s (model.safetensors, config.json, vocab.txt, tokenizer_config.json)\n", a.pos[0]);
    return 0;
}
