/*
 * cli_json.h — the small streaming JSON writer of every --json output (cli_json.c).
 */
#ifndef TQC_CLI_JSON_H
#define TQC_CLI_JSON_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- JSON writer --------------------------------------------------------- */

/**
 * A streaming JSON writer: commas and separators are its business.
 *   tqc_json j; tqc_json_init(&j, stdout, TQC_JSON_SPACED, 9);
 *   tqc_json_begin_object(&j); tqc_json_key(&j, "n"); tqc_json_int(&j, 3);
 *   tqc_json_end_object(&j);           (a newline after the outermost value)
 * Numbers: %.*g with the writer's digits; null when NaN or infinite (JSON has
 * no such numbers). Strings are escaped (quote, backslash, control bytes).
 */
typedef enum tqc_json_style { TQC_JSON_COMPACT, TQC_JSON_SPACED } tqc_json_style;
#define TQC_JSON_DEPTH 16
typedef struct tqc_json {
    FILE          *f;
    tqc_json_style style;
    int            digits;
    int            depth;
    bool           first[TQC_JSON_DEPTH];   /* nothing written yet at this level */
    bool           after_key;
} tqc_json;
void tqc_json_init(tqc_json *j, FILE *f, tqc_json_style style, int digits);
void tqc_json_begin_object(tqc_json *j);
void tqc_json_end_object(tqc_json *j);
void tqc_json_begin_array(tqc_json *j);
void tqc_json_end_array(tqc_json *j);
void tqc_json_key(tqc_json *j, const char *key);
void tqc_json_str(tqc_json *j, const char *s);     /* NULL writes null */
void tqc_json_num(tqc_json *j, double v);
/** A number with this many significant digits (%.*g). */
void tqc_json_numg(tqc_json *j, double v, int digits);
/** A number with this many decimals (%.*f). */
void tqc_json_fixed(tqc_json *j, double v, int decimals);
void tqc_json_int(tqc_json *j, int64_t v);
void tqc_json_uint(tqc_json *j, uint64_t v);
void tqc_json_bool(tqc_json *j, bool v);
void tqc_json_null(tqc_json *j);
/* key + value in one call */
void tqc_json_kstr(tqc_json *j, const char *key, const char *s);
void tqc_json_knum(tqc_json *j, const char *key, double v);
void tqc_json_kint(tqc_json *j, const char *key, int64_t v);
void tqc_json_kuint(tqc_json *j, const char *key, uint64_t v);
void tqc_json_kbool(tqc_json *j, const char *key, bool v);
/**
 * Several members of the current object in one call, as named by spec:
 * space-separated "key:T" where T is
 *   s  const char * (NULL: null)          d  int        b  int as a bool
 *   l  long long     u  unsigned long long
 *   f  double, the writer's digits; fN: N significant digits; xN: N decimals
 * and the values follow in order, as for printf (pass exactly these types).
 *   tqc_json_fields(&j, "n:l mse:f grade:s", (long long)m->n, m->mse, g);
 */
void tqc_json_fields(tqc_json *j, const char *spec, ...);
/** An int64 array [a, b, ...]. */
void tqc_json_ints(tqc_json *j, const int64_t *v, int n);

#endif
