/* main.c — the trueq command: the command table, and dispatch (cli.h).
 * Adding a command = writing tools/cmd_<name>.c (its option table and run
 * function, bundled in a tqc_command) and adding one row here. */
#include "cli.h"
#include <signal.h>
#include <string.h>

/* An interrupted run leaves nothing: remove temporaries, then die of the signal. */
static void on_signal(int sig) {
    tq_cleanup_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

static const tqc_command *const COMMANDS[] = {
    &tqc_cmd_convert, &tqc_cmd_inspect, &tqc_cmd_codecs,  &tqc_cmd_synth,   &tqc_cmd_verify,
    &tqc_cmd_selftest, &tqc_cmd_embed,  &tqc_cmd_classify, &tqc_cmd_compare, &tqc_cmd_compare_decoder,
    &tqc_cmd_generate, &tqc_cmd_spectrum, &tqc_cmd_tokenize, &tqc_cmd_batch,
    &tqc_cmd_sweep,
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const tqc_command *find(const char *name) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, COMMANDS[i]->name)) return COMMANDS[i];
    return NULL;
}

static void usage(FILE *f) {
    fprintf(f, "trueq %s — make transformer weights truly smaller, and prove what it cost\n\n"
               "usage: trueq COMMAND [ARGS...]   (trueq COMMAND --help or trueq help COMMAND for details)\n\ncommands:\n",
            tq_version());
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-16s %s\n", COMMANDS[i]->name, COMMANDS[i]->summary);
    fprintf(f, "\nexit status: 0 ok, 1 usage error, 2 input invalid or run failed, 3 threshold violated\n");
}

int main(int argc, char **argv) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    if (argc < 2) { usage(stderr); return TQC_EXIT_USAGE; }
    const char *a = argv[1];
    if (!strcmp(a, "--version")) { printf("trueq %s\n%s\n%s\n", tq_version(), tq_kernels_info(), tq_blas_info()); return TQC_EXIT_OK; }
    if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help")) {
        if (argc < 3 || !strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return TQC_EXIT_OK; }
        const tqc_command *c = find(argv[2]);
        if (!c) { fprintf(stderr, "trueq: unknown command \"%s\" (see trueq --help)\n", argv[2]); return TQC_EXIT_USAGE; }
        tqc_help(c, stdout);
        return TQC_EXIT_OK;
    }
    const tqc_command *c = find(a);
    if (c) {
        int rc = tqc_main(c, argc - 1, argv + 1);
        if (tq_blas_fallback()) fprintf(stderr, "trueq: note: %s\n", tq_blas_info());   /* a slow or failed run says why */
        return rc;
    }
    fprintf(stderr, "trueq: unknown command \"%s\"\n\n", a);
    usage(stderr);
    return TQC_EXIT_USAGE;
}
