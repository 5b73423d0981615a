/*
 * config.h — the one reader of JSON configuration files for src/nn/
 * (config.json, params.json, sentence-transformers and tokenizer files).
 *
 * A tq_cfg holds one parsed file. Getters read one key of an object of it:
 * an absent key (or JSON null) leaves *out unchanged and returns 0; a key of
 * the right type within range is stored and returns 1; anything else records
 * an error and returns 0. The first error sticks (c->st, c->err) and later
 * getters do nothing, so a reader calls them in a row and checks c->st once.
 * Every message names the file and the key, and says what the value was and
 * what is allowed:
 *   PATH: "KEY" is missing
 *   PATH: "KEY" must be an integer in [LO, HI], not a string
 *   PATH: "KEY" must be an integer in [LO, HI], not 1.5
 *   PATH: "KEY" is "VALUE"; supported: a, b, c
 */
#ifndef TQ_NN_CONFIG_H
#define TQ_NN_CONFIG_H
#include "trueq.h"
#include <cjson/cJSON.h>

typedef struct tq_cfg {
    cJSON      *root;   /* the parsed file, owned                           */
    const char *path;   /* borrowed: names the file in messages              */
    tq_status   st;     /* the first error, or TQ_OK                          */
    tq_error   *err;
} tq_cfg;

/** Read and parse path into c. allow_array: a top-level array is accepted
 *  too (else only an object). @return TQ_OK; errors of tq_read_file;
 *  TQ_E_FORMAT "PATH: not valid JSON" / "PATH: not a JSON object". On error
 *  c holds nothing to close (tq_cfg_close is still safe). */
tq_status tq_cfg_open(tq_cfg *c, const char *path, int allow_array, tq_error *err);
/** Parse text[0..len) already in memory; `path` names it in messages. */
tq_status tq_cfg_parse(tq_cfg *c, const char *path, const char *text, size_t len, int allow_array, tq_error *err);
void      tq_cfg_close(tq_cfg *c);

/** obj's member key, or NULL when absent or JSON null (obj NULL: NULL). */
const cJSON *tq_cfg_item(const cJSON *obj, const char *key);

/** Record an error (unless one is recorded already); returns c->st. */
tq_status tq_cfg_fail(tq_cfg *c, tq_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** 1 when key is present; else records "is missing" and returns 0. */
int tq_cfg_require(tq_cfg *c, const cJSON *obj, const char *key);
int tq_cfg_int(tq_cfg *c, const cJSON *obj, const char *key, int *out, int lo, int hi);
int tq_cfg_float(tq_cfg *c, const cJSON *obj, const char *key, float *out, double lo, double hi);
int tq_cfg_bool(tq_cfg *c, const cJSON *obj, const char *key, int *out);
/** *out borrows the string from c (valid until tq_cfg_close). */
int tq_cfg_string(tq_cfg *c, const cJSON *obj, const char *key, const char **out);
/** A string naming one of names[0..n): *out = values[i]; another string is
 *  TQ_E_UNSUPPORTED listing the names (values NULL: *out = i). */
int tq_cfg_choice(tq_cfg *c, const cJSON *obj, const char *key, const char *const *names, const int *values, int n,
                  int *out);
#endif
