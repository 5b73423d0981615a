/* cmd_synth.c — placeholder, replaced in this session. */
#include "cli.h"
int cmd_synth(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "trueq synth: not built yet\n"); return TQ_EXIT_FAIL; }
