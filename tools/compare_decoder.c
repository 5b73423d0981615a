/* placeholder */
#include "cli.h"
int compare_decoder_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
int compare_decoder_applies(const char *path) { (void)path; return 0; }
