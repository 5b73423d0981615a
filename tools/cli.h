/*
 * cli.h — shared pieces of the trueq command line.
 *
 * Each subcommand lives in tools/cmd_<name>.c and exports
 *     int cmd_<name>(int argc, char **argv);     (argv[0] is the subcommand)
 * returning the process exit status. Exit codes: 0 ok, 1 usage, 2 input or
 * run failed, 3 a verification threshold was violated.
 * Results go to stdout (text or --json); progress and errors go to stderr.
 */
#ifndef TQ_CLI_H
#define TQ_CLI_H
#include "trueq.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { TQ_EXIT_OK = 0, TQ_EXIT_USAGE = 1, TQ_EXIT_FAIL = 2, TQ_EXIT_THRESHOLD = 3 };

/* Option parsing: options may appear anywhere; "--" ends them.
 * Usage:
 *   tq_args a; tq_args_init(&a, argc, argv);
 *   while (tq_args_next(&a)) {
 *       if (tq_args_flag(&a, "--json")) json = true;
 *       else if (tq_args_value(&a, "-o", "--output", &out)) {}
 *       else if (!tq_args_positional(&a, &pos)) return tq_args_unknown(&a, usage);
 *   }
 *   if (a.error) return TQ_EXIT_USAGE;                                      */
typedef struct tq_args {
    int argc; char **argv; int i; bool done_opts; bool error;
    const char *cur;
    const char *pos[32]; int npos;
} tq_args;
void tq_args_init(tq_args *a, int argc, char **argv);
bool tq_args_next(tq_args *a);
bool tq_args_flag(tq_args *a, const char *name);
/** --name VALUE or --name=VALUE (short may be NULL). */
bool tq_args_value(tq_args *a, const char *short_name, const char *name, const char **val);
/** A positional argument: stored in a->pos. */
bool tq_args_positional(tq_args *a);
int  tq_args_unknown(tq_args *a, const char *cmd);

/** Print "trueq CMD: message" to stderr and return TQ_EXIT_FAIL. */
int  tq_cli_fail(const char *cmd, const tq_error *err);
int  tq_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** "253.0 MB" style (decimal units, as `ls -h --si`), into buf. */
const char *tq_fmt_bytes(uint64_t b, char *buf, size_t cap);
/** A whole decimal number / a number in [lo, hi]; false on junk, overflow or out of range. */
bool tq_parse_long(const char *s, long lo, long hi, long *out);
bool tq_parse_double(const char *s, double lo, double hi, double *out);
/** Parse "125MB", "1.5GiB", "1000000" into bytes. */
bool tq_parse_size(const char *s, uint64_t *out);
/** Progress line on stderr when it is a terminal: "label  i/n". */
void tq_progress(const char *label, int64_t i, int64_t n);
void tq_progress_done(void);
bool tq_stderr_is_tty(void);
/** Write a number to f as JSON: %.9g, or null when NaN or infinite (JSON has
 *  no such numbers). */
void tq_json_num(FILE *f, double v);
/** Write a JSON string literal to f. */
void tq_json_str(FILE *f, const char *s);

/* subcommands */
int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_codecs(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
/* inspect.c: print a ledger (text or JSON); rows = per-tensor lines */
typedef struct tq_ledger tq_ledger;
int tq_cli_print_ledger(const tq_model *m, const tq_ledger *l, FILE *f, bool json, bool rows);
int cmd_generate(int argc, char **argv);
/* `trueq compare ORIG QUANT` for Llama-style decoders (argv[0] is "compare"). */
int compare_decoder_main(int argc, char **argv);
/* 1 when the model at path is a Llama-style decoder (so compare goes to compare_decoder_main). */
int compare_decoder_applies(const char *path);
int cmd_spectrum(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_classify(int argc, char **argv);
/* `trueq compare`: encoders here, decoders handed to compare_decoder_main. */
int cmd_compare(int argc, char **argv);
#endif
