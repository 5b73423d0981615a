/*
 * gguf_kv.h — typed, range-checked reads of GGUF metadata for src/nn/ (the
 * GGUF counterpart of config.h's JSON getters; internal).
 *
 * A tq_gkv reads the KVs of one parsed file (io/gguf.h). Keys are looked up
 * as prefix + key (prefix "" or e.g. "llama."). The getters follow
 * config.h's rules: an absent key leaves *out unchanged and returns 0; a key
 * of an accepted type within range is stored and returns 1; anything else
 * records an error and returns 0. The first error sticks (k->c.st, k->c.err)
 * and later getters do nothing, so a reader calls them in a row and checks k->st
 * once (the same error state as config.h's, so tq_cfg_fail records more).
 * Every message names the file and the full key:
 *   PATH: GGUF key "llama.block_count" is missing
 *   PATH: GGUF key "K" must be an integer in [LO, HI], not STRING
 *   PATH: GGUF key "K" must be an integer in [LO, HI], not 0
 *   PATH: GGUF key "K" must be an array of INT32 with N elements, not ...
 */
#ifndef TQ_NN_GGUF_KV_H
#define TQ_NN_GGUF_KV_H
#include "io/gguf.h"
#include "nn/config.h"

typedef struct tq_gkv {
    tq_cfg         c;       /* config.h's error state: c.path names the file,
                               c.st the first error (c.root unused, NULL);
                               record errors with tq_cfg_fail(&k->c, ...)  */
    const tq_gguf *g;       /* borrowed                                   */
    const char    *prefix;  /* put before every key ("" for none)          */
} tq_gkv;

/** A reader over g (prefix NULL: ""). */
tq_gkv tq_gkv_init(const tq_gguf *g, const char *path, const char *prefix, tq_error *err);
/** prefix + key into buf (the name messages give). */
const char *tq_gkv_name(const tq_gkv *k, const char *key, char *buf, size_t cap);
/** The value of prefix + key, or NULL when absent. */
const tq_gguf_value *tq_gkv_find(const tq_gkv *k, const char *key);
/** 1 when present; else records "is missing" and returns 0. */
int tq_gkv_require(tq_gkv *k, const char *key);
/** Any integer value type (UINT8..INT64) in [lo, hi]. */
int tq_gkv_int(tq_gkv *k, const char *key, int64_t *out, int64_t lo, int64_t hi);
/** FLOAT32 or FLOAT64 in [lo, hi] (finite). */
int tq_gkv_float(tq_gkv *k, const char *key, double *out, double lo, double hi);
int tq_gkv_bool(tq_gkv *k, const char *key, int *out);
/** A STRING; *out views the image (not NUL-terminated). */
int tq_gkv_string(tq_gkv *k, const char *key, tq_gguf_str *out);
/** An ARRAY of elem_type elements (count elements when count > 0). */
int tq_gkv_array(tq_gkv *k, const char *key, tq_gguf_vtype elem_type, uint64_t count, const tq_gguf_value **out);
/** 1 when the string s equals the NUL-terminated lit. */
int tq_gkv_str_is(tq_gguf_str s, const char *lit);
#endif
