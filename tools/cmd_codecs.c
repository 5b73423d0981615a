/* cmd_codecs.c — placeholder, replaced in this session. */
#include "cli.h"
int cmd_codecs(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "trueq codecs: not built yet\n"); return TQ_EXIT_FAIL; }
