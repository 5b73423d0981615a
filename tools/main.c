/* main.c — the trueq command: dispatch to subcommands (tools/cmd_*.c). */
#include "cli.h"
#include <signal.h>
#include <string.h>

/* An interrupted run leaves nothing: remove temporaries, then die of the signal. */
static void on_signal(int sig) {
    tq_cleanup_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct { const char *name; int (*run)(int, char **); const char *summary; } command;

static const command COMMANDS[] = {
    {"convert", cmd_convert, "quantize a model into real low-bit storage (safetensors or .npz)"},
    {"inspect", cmd_inspect, "per-tensor ledger of a weight file; detects fake quantization"},
    {"codecs",  cmd_codecs,  "list the codecs with their bits, bytes per weight and layout"},
    {"synth",   cmd_synth,   "write the built-in DistilBERT-base-shaped test model"},
    {"verify",  cmd_verify,  "weight-level error of a quantized model against the original; grades"},
    {"selftest", cmd_selftest, "quantization-math checks of every codec on built-in vectors"},
    {"embed",   cmd_embed,   "sentence embeddings from a BERT/DistilBERT/MiniLM encoder"},
    {"classify", cmd_classify, "label and probabilities from a sequence-classification head"},
    {"compare", cmd_compare, "run original and quantized through the same forward pass; compare outputs"},
    {"compare-decoder", compare_decoder_main, "compare two Llama-style decoders: KL, top-1 agreement, perplexity, speed"},
    {"generate", cmd_generate, "continue a prompt with a Llama-style decoder (greedy or sampled)"},
    {"spectrum", cmd_spectrum, "WeightWatcher-faithful spectral analysis (alpha...), also per bit width"},
};

static void usage(FILE *f) {
    fprintf(f, "trueq %s — make transformer weights truly smaller, and prove what it cost\n\n"
               "usage: trueq COMMAND [ARGS...]   (trueq COMMAND --help for details)\n\ncommands:\n", tq_version());
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-16s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 usage error, 2 input invalid or run failed, 3 threshold violated\n");
}

int main(int argc, char **argv) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    if (argc < 2) { usage(stderr); return TQ_EXIT_USAGE; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "--version")) { printf("trueq %s\n", tq_version()); return 0; }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trueq: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return TQ_EXIT_USAGE;
}
