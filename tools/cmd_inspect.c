/* cmd_inspect.c — placeholder, replaced in this session. */
#include "cli.h"
int cmd_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "trueq inspect: not built yet\n"); return TQ_EXIT_FAIL; }
