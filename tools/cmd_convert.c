/* cmd_convert.c — placeholder, replaced in this session. */
#include "cli.h"
int cmd_convert(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "trueq convert: not built yet\n"); return TQ_EXIT_FAIL; }
