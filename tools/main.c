/* main.c — the trueq command: dispatch to subcommands (tools/cmd_*.c). */
#include "cli.h"
#include <string.h>

typedef struct { const char *name; int (*run)(int, char **); const char *summary; } command;

static const command COMMANDS[] = {
    {"convert", cmd_convert, "quantize a model into real low-bit storage (safetensors or .npz)"},
    {"inspect", cmd_inspect, "per-tensor ledger of a weight file; detects fake quantization"},
    {"codecs",  cmd_codecs,  "list the codecs with their bits, bytes per weight and layout"},
    {"synth",   cmd_synth,   "write the built-in DistilBERT-base-shaped test model"},
    {"spectrum", cmd_spectrum, "WeightWatcher-faithful spectral analysis (alpha...), also per bit width"},
};

static void usage(FILE *f) {
    fprintf(f, "trueq %s — make transformer weights truly smaller, and prove what it cost\n\n"
               "usage: trueq COMMAND [ARGS...]   (trueq COMMAND --help for details)\n\ncommands:\n", tq_version());
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 usage error, 2 input invalid or run failed, 3 threshold violated\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return TQ_EXIT_USAGE; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "--version")) { printf("trueq %s\n", tq_version()); return 0; }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trueq: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return TQ_EXIT_USAGE;
}
