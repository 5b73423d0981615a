/*
 * cli.h — the table-driven trueq command line (prefix tqc_/TQC_, never the
 * library's tq_).
 *
 * A command is one file, tools/cmd_<name>.c, holding in this order
 *   - its help texts: SYNOPSIS, DESCRIPTION (and EPILOG, examples);
 *   - a struct of its option values, with a static const DEFAULTS instance;
 *   - a run function int run(const tqc_ctx *c, void *args);
 *   - a table of tqc_opt rows OPTS (name, kind, range, help, offset in that
 *     struct), one row per option;
 *   - a const tqc_command tqc_cmd_<name> bundling them (declared below) and
 *     listed in the command table of main.c.
 * main.c hands argv to tqc_main, which parses it against the table
 * (tqc_parse) and calls run with the filled struct. Parsing, range errors,
 * positional counts, --help and --json all come from the table, worded one
 * way:
 *   trueq CMD: --bits: 9 is out of range [2, 8] (see trueq CMD --help)
 *   trueq CMD: unknown option --foo (see trueq CMD --help)
 *   trueq CMD: expected ORIG QUANT, got 1 argument (see trueq CMD --help)
 *
 * Exit codes: 0 ok, 1 usage, 2 input or run failed, 3 a threshold violated.
 * Results go to stdout (text or --json); progress and errors go to stderr.
 */
#ifndef TQC_CLI_H
#define TQC_CLI_H
#include "cli_json.h"
#include "cli_num.h"
#include "trueq.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { TQC_EXIT_OK = 0, TQC_EXIT_USAGE = 1, TQC_EXIT_FAIL = 2, TQC_EXIT_THRESHOLD = 3 };

/* ---- option tables ------------------------------------------------------- */

typedef enum tqc_kind {
    TQC_FLAG,     /* bool: present or not                                        */
    TQC_STR,      /* const char *: the value as given                            */
    TQC_LIST,     /* tqc_list: a repeatable string option                        */
    TQC_INT,      /* int64_t in [lo, hi]                                         */
    TQC_UINT,     /* uint64_t in [0, UINT64_MAX] (seeds)                         */
    TQC_F64,      /* double in [dlo, dhi]                                        */
    TQC_SIZE,     /* uint64_t bytes in [lo, hi], "125MB"                         */
    TQC_CHOICE,   /* int: the value of the matching row of choices               */
    TQC_GRAN,     /* tqc_gran                                                    */
    TQC_CODEC,    /* const tq_codec_info *: a codec of tq_codec_by_name          */
    TQC_SET,      /* int: store ival (e.g. --no-normalize stores 0)              */
    TQC_FORMAT,   /* const tq_format_info *: a format of tq_format_by_name whose
                     caps include ival (TQ_FORMAT_CAN_WRITE)                      */
    TQC_THREADS,  /* no storage: an int in [lo, hi] given to tq_set_threads      */
} tqc_kind;

/** One value of a TQC_CHOICE option; a table ends with a NULL name. */
typedef struct tqc_choice { const char *name; int value; } tqc_choice;

#define TQC_LIST_MAX 64
typedef struct tqc_list { const char *v[TQC_LIST_MAX]; int n; } tqc_list;

/** One option. off: offsetof the value in the command's argument struct. */
typedef struct tqc_opt {
    const char       *name;      /* "--bits"                                  */
    const char       *short_name;/* "-o" or NULL                              */
    tqc_kind          kind;
    size_t            off;
    const char       *metavar;   /* "N" in the help ("--bits N"); NULL: kind's */
    const char       *help;      /* one or more lines ('\n' continues)         */
    int64_t           lo, hi;    /* TQC_INT, TQC_SIZE range                    */
    double            dlo, dhi;  /* TQC_F64 range                              */
    const tqc_choice *choices;   /* TQC_CHOICE                                 */
    int               ival;      /* TQC_SET                                    */
} tqc_opt;

/* Rows, so that tables read as one line per option. */
#define TQC_O_FLAG(n, s, T, f, h)        {n, s, TQC_FLAG, offsetof(T, f), NULL, h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_SET(n, T, f, v, h)         {n, NULL, TQC_SET, offsetof(T, f), NULL, h, 0, 0, 0, 0, NULL, v}
#define TQC_O_STR(n, s, T, f, m, h)      {n, s, TQC_STR, offsetof(T, f), m, h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_LIST(n, T, f, m, h)        {n, NULL, TQC_LIST, offsetof(T, f), m, h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_INT(n, s, T, f, m, a, b, h) {n, s, TQC_INT, offsetof(T, f), m, h, a, b, 0, 0, NULL, 0}
#define TQC_O_UINT(n, s, T, f, m, h)     {n, s, TQC_UINT, offsetof(T, f), m, h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_F64(n, s, T, f, m, a, b, h) {n, s, TQC_F64, offsetof(T, f), m, h, 0, 0, a, b, NULL, 0}
#define TQC_O_SIZE(n, T, f, m, a, b, h)  {n, NULL, TQC_SIZE, offsetof(T, f), m, h, a, b, 0, 0, NULL, 0}
#define TQC_O_CHOICE(n, T, f, c, h)      {n, NULL, TQC_CHOICE, offsetof(T, f), NULL, h, 0, 0, 0, 0, c, 0}
#define TQC_O_GRAN(n, T, f, h)           {n, NULL, TQC_GRAN, offsetof(T, f), "G", h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_CODEC(n, T, f, h)          {n, NULL, TQC_CODEC, offsetof(T, f), "NAME", h, 0, 0, 0, 0, NULL, 0}
#define TQC_O_FORMAT(n, T, f, caps, h)   {n, NULL, TQC_FORMAT, offsetof(T, f), NULL, h, 0, 0, 0, 0, NULL, (int)(caps)}
/* --threads N of the forward-pass commands (one row in each table). */
#define TQC_O_THREADS {"--threads", "-j", TQC_THREADS, 0, "N", \
    "forward-pass threads (default: TRUEQ_THREADS, else OPENBLAS_NUM_THREADS);\n" \
    "outputs are the same bytes for any N", 1, 64, 0, 0, NULL, 0}

#define TQC_MAX_OPTS 32
#define TQC_MAX_POS  32

/** What run gets besides its argument struct. */
typedef struct tqc_ctx {
    const char *cmd;                 /* the command as typed ("compare")       */
    const char *pos[TQC_MAX_POS];    /* positional arguments                   */
    int         npos;
    bool        json;                /* --json (commands with has_json)        */
    bool        given[TQC_MAX_OPTS]; /* given[i]: option i of the table given  */
} tqc_ctx;

typedef struct tqc_command tqc_command;
struct tqc_command {
    const char    *name;
    const char    *summary;          /* one line, for trueq --help             */
    const char    *synopsis;         /* after "usage: trueq NAME " (positionals, option sketch) */
    const char    *description;      /* the paragraph(s) after the usage line  */
    const char    *epilog;           /* after the options (examples); may be NULL */
    const tqc_opt *opts;
    int            nopts;
    bool           has_json;         /* adds --json, stored in tqc_ctx.json    */
    int            min_pos, max_pos; /* max_pos -1: no limit                   */
    const char    *pos_names;        /* for the count error: "ORIG QUANT"      */
    size_t         args_size;
    const void    *defaults;         /* copied into the argument struct first  */
    int          (*run)(const tqc_ctx *c, void *args);
    /** Optional: pick another command to parse and run argv with (compare
     *  hands decoders to compare-decoder). NULL or returning self: none. */
    const tqc_command *(*route)(int argc, char **argv);
};

/* In a tqc_command initializer: the option table, the argument struct. */
#define TQC_OPTS(table) .opts = table, .nopts = (int)(sizeof table / sizeof table[0])
#define TQC_ARGS(T, defaults_ptr) .args_size = sizeof(T), .defaults = defaults_ptr

/** Index of opts row named name ("--bits"), or -1. */
int  tqc_opt_index(const tqc_command *cmd, const char *name);
/** Whether the option named name was given. */
bool tqc_given(const tqc_command *cmd, const tqc_ctx *c, const char *name);
/**
 * Parse argv (argv[0] is the command name as typed) into args (args_size
 * bytes, filled from defaults first) and c. Options may come anywhere, as
 * "--x V" or "--x=V"; "--" ends them.
 * @return -1 to go on and run; else the exit status (0 after --help, 1 after
 *         a usage error, printed to stderr).
 */
int  tqc_parse(const tqc_command *cmd, int argc, char **argv, tqc_ctx *c, void *args);
/** The --help text generated from the table. */
void tqc_help(const tqc_command *cmd, FILE *f);
/** Parse and run: what main.c calls for every command (follows route). */
int  tqc_main(const tqc_command *cmd, int argc, char **argv);
/** The first argument of argv that is neither an option nor an option's
 *  value under cmd's table (NULL: none). */
const char *tqc_first_positional(const tqc_command *cmd, int argc, char **argv);

/* ---- messages ------------------------------------------------------------ */

/** "trueq CMD: STATUS: message" on stderr; returns TQC_EXIT_FAIL. */
int  tqc_fail(const char *cmd, const tq_error *err);
/** "trueq CMD: message (see trueq CMD --help)" on stderr; returns TQC_EXIT_USAGE. */
int  tqc_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** "trueq CMD: message" on stderr; returns TQC_EXIT_FAIL. */
int  tqc_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the commands (one tqc_command each; main.c lists them) -------------- */

extern const tqc_command tqc_cmd_batch, tqc_cmd_convert, tqc_cmd_inspect, tqc_cmd_codecs, tqc_cmd_synth, tqc_cmd_verify,
    tqc_cmd_selftest, tqc_cmd_embed, tqc_cmd_classify, tqc_cmd_compare, tqc_cmd_compare_decoder,
    tqc_cmd_generate, tqc_cmd_spectrum, tqc_cmd_tokenize, tqc_cmd_sweep;

/* inspect: print a ledger (text or JSON); rows = per-tensor lines */
typedef struct tq_ledger tq_ledger;
int tqc_print_ledger(const tq_model *m, const tq_ledger *l, FILE *f, bool json, bool rows);
/* compare_decoder.c: 1 when the model at path is a Llama-style decoder */
int tqc_is_decoder(const char *path);
#endif
