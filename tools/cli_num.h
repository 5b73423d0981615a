/*
 * cli_num.h — the command line's one number parser, its sizes, the names of
 * granularities, byte formatting and the progress line (cli_num.c).
 */
#ifndef TQC_CLI_NUM_H
#define TQC_CLI_NUM_H
#include "trueq.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- numbers: the one parser of the CLI ---------------------------------- */

/** What a number parse found. */
typedef enum tqc_num_status {
    TQC_NUM_OK = 0,
    TQC_NUM_JUNK,     /* not a number of the wanted kind ("12abc", "1e3" for an integer, "") */
    TQC_NUM_RANGE,    /* a number, but outside [lo, hi] (overflow included; "-1" for unsigned) */
} tqc_num_status;

/** A decimal integer: optional '-', then digits only (no spaces, '+', hex or
 *  exponent); TQC_NUM_RANGE when outside [lo, hi] or beyond int64. */
tqc_num_status tqc_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
/** A decimal unsigned integer: digits only; "-1" is TQC_NUM_RANGE. */
tqc_num_status tqc_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/** The integer token at *p, ending at a byte of delims or at the end of the
 *  string; *p moves past it. TQC_NUM_JUNK: empty, or not an integer;
 *  TQC_NUM_RANGE: beyond int64. */
tqc_num_status tqc_scan_i64(const char **p, const char *delims, int64_t *out);
/** A finite decimal number ("1e3", "0.5"; no hex, inf or nan) in [lo, hi]. */
tqc_num_status tqc_parse_f64(const char *s, double lo, double hi, double *out);
/** A size: a number with an optional unit B, k/kB, M/MB, G/GB (decimal) or
 *  KiB, MiB, GiB ("125MB", "1.5GiB", "1000000"), in [lo, hi] bytes. */
tqc_num_status tqc_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* ---- names spelled once -------------------------------------------------- */

/** A granularity as the CLI writes it: tensor, channel (alias row), group
 *  (group 64) or group:N / group=N. */
typedef struct tqc_gran { tq_granularity gran; int64_t group; } tqc_gran;
/** The name of a granularity ("tensor", "channel", "group"); "?" otherwise. */
const char *tqc_gran_name(tq_granularity g);
/** Parse a granularity. TQC_NUM_RANGE: a group size outside [1, 2^40]. */
tqc_num_status tqc_gran_parse(const char *s, tqc_gran *out);
/** "tensor,channel,group" for the granularities set in a codec's gran_mask. */
void tqc_gran_list(unsigned mask, char *buf, size_t cap);

/* ---- formatting, progress ------------------------------------------------ */

/** "253.0 MB" style (decimal units, as `ls -h --si`), into buf. */
const char *tqc_fmt_bytes(uint64_t b, char *buf, size_t cap);
/** "[768, 3072]" (sep ", ") or "[768,3072]" (sep ","), into buf. */
const char *tqc_fmt_shape(const int64_t *shape, int ndim, const char *sep, char *buf, size_t cap);
/** Progress line on stderr when it is a terminal: "label  i/n". */
void tqc_progress(const char *label, int64_t i, int64_t n);
void tqc_progress_done(void);
bool tqc_stderr_is_tty(void);

#endif
