/*
 * table.c — the codec trait table: one registration line per codec, and the
 * lookups over it. To add a codec: write src/codec/<name>.c defining a
 * `tq_codec_impl` row (codec.h), give it a stable id in trueq.h's
 * tq_codec_id, and add one X(...) line to TQ_CODECS below.
 */
#include "codec/codec.h"
#include <string.h>
#include <strings.h>

/* X(id, row): every codec of the library. */
#define TQ_CODECS(X)                                   \
    X(TQ_CODEC_LINEAR_SYM,    tq_codec_linear_sym)     \
    X(TQ_CODEC_LINEAR_AFFINE, tq_codec_linear_affine)  \
    X(TQ_CODEC_QINS_LOG,      tq_codec_qins_log)       \
    X(TQ_CODEC_QINS_LOG_2B,   tq_codec_qins_log_2b)    \
    X(TQ_CODEC_QINS_RATIONAL, tq_codec_qins_rational)  \
    X(TQ_CODEC_NF4,           tq_codec_nf4)            \
    X(TQ_CODEC_GGML,          tq_codec_ggml)           \
    X(TQ_CODEC_MLX,           tq_codec_mlx)            \
    X(TQ_CODEC_GPTQ,          tq_codec_gptq)           \
    X(TQ_CODEC_GPTQ_V2,       tq_codec_gptq_v2)        \
    X(TQ_CODEC_MLX_F16,       tq_codec_mlx_f16)        \
    X(TQ_CODEC_MLX_BF16,      tq_codec_mlx_bf16)        \
    X(TQ_CODEC_AWQ,           tq_codec_awq)            \
    X(TQ_CODEC_CT_PACK,       tq_codec_ct_pack)        \
    X(TQ_CODEC_CT_PACK_ASYM,  tq_codec_ct_pack_asym)   \
    X(TQ_CODEC_CT_INT,        tq_codec_ct_int)         \
    X(TQ_CODEC_CT_INT_ASYM,   tq_codec_ct_int_asym)    \
    X(TQ_CODEC_CT_FP8,        tq_codec_ct_fp8)         \
    X(TQ_CODEC_BNB_NF4,       tq_codec_bnb_nf4)        \
    X(TQ_CODEC_BNB_FP4,       tq_codec_bnb_fp4)        \
    X(TQ_CODEC_BNB_NF4_DQ,    tq_codec_bnb_nf4_dq)     \
    X(TQ_CODEC_BNB_FP4_DQ,    tq_codec_bnb_fp4_dq)     \
    X(TQ_CODEC_BNB_INT8,      tq_codec_bnb_int8)       \
    X(TQ_CODEC_MLX_MXFP4,     tq_codec_mlx_mxfp4)      \
    X(TQ_CODEC_MLX_MXFP8,     tq_codec_mlx_mxfp8)

#define TQ_DECLARE_ROW(id, row) extern const tq_codec_impl row;
TQ_CODECS(TQ_DECLARE_ROW)
#undef TQ_DECLARE_ROW

#define TQ_ROW(id, row) [id] = &row,
static const tq_codec_impl *const TQ_CODEC_TABLE[TQ_CODEC_COUNT] = {TQ_CODECS(TQ_ROW)};
#undef TQ_ROW

_Static_assert(sizeof TQ_CODEC_TABLE / sizeof TQ_CODEC_TABLE[0] == TQ_CODEC_COUNT,
               "one table slot per codec id");

const tq_codec_impl *tq_codec_impl_get(tq_codec_id id) {
    return ((int)id > 0 && id < TQ_CODEC_COUNT) ? TQ_CODEC_TABLE[id] : NULL;
}

int tq_codec_count(void) {
    int n = 0;
    for (int i = 1; i < TQ_CODEC_COUNT; i++) n += TQ_CODEC_TABLE[i] != NULL;
    return n;
}

const tq_codec_info *tq_codec_at(int i) {
    for (int k = 1; k < TQ_CODEC_COUNT; k++)
        if (TQ_CODEC_TABLE[k] && i-- == 0) return &TQ_CODEC_TABLE[k]->info;
    return NULL;
}

const tq_codec_info *tq_codec_by_id(tq_codec_id id) {
    const tq_codec_impl *c = tq_codec_impl_get(id);
    return c ? &c->info : NULL;
}

const tq_codec_info *tq_codec_by_name(const char *name) {
    if (!name) return NULL;
    for (int k = 1; k < TQ_CODEC_COUNT; k++)
        if (TQ_CODEC_TABLE[k] && strcasecmp(TQ_CODEC_TABLE[k]->info.name, name) == 0) return &TQ_CODEC_TABLE[k]->info;
    for (int k = 1; k < TQ_CODEC_COUNT; k++)
        for (const char *const *a = TQ_CODEC_TABLE[k] ? TQ_CODEC_TABLE[k]->aliases : NULL; a && *a; a++)
            if (strcasecmp(*a, name) == 0) return &TQ_CODEC_TABLE[k]->info;
    return NULL;
}

/* the n-th name of row k: 0 = its name, then its aliases; NULL past the end */
static const char *name_at(const tq_codec_impl *c, int n) {
    if (n == 0) return c->info.name;
    for (const char *const *a = c->aliases; a && *a; a++)
        if (--n == 0) return *a;
    return NULL;
}

/* p is a configuration row c accepts (bits, granularity, group, layout) */
static bool accepts(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols) {
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    memset(ad, 0, sizeof ad);
    return p->codec == c->info.id && p->bits >= 1 && p->bits <= 16 && (c->info.bits_mask & (1u << p->bits)) &&
           (int)p->gran >= 0 && p->gran < TQ_GRAN_COUNT && (c->info.gran_mask & (1u << p->gran)) &&
           (p->gran == TQ_GRAN_GROUP ? p->group > 0 && (cols % p->group == 0 || p->pad) : p->group == 0) &&
           c->layout(p, rows, cols, &cd, cs, ad) >= 0;
}

static tq_status check_row(int k, const tq_codec_impl *c, tq_error *err) {
    const tq_codec_info *ci = &c->info;
    const char *nm = ci->name ? ci->name : "?";
    if ((int)ci->id != k) return tq_err(err, TQ_E_INTERNAL, "codec table: row %d (%s) has id %d", k, nm, (int)ci->id);
    if (ci->decode_only) {
        /* a foreign layout read only: no quantize, no self-test (its known
         * answers are its tool's own decodes, tests/test_qlayout.c) */
        if (!ci->name || !ci->summary || !ci->layout || !c->layout || c->quantize || !c->dequantize ||
            !c->dequantize_rows || !c->block_range || c->selftest)
            return tq_err(err, TQ_E_INTERNAL, "codec table: decode-only row %d (%s) has the wrong traits", k, nm);
        return TQ_OK;
    }
    const tq_codec_selftest *ts = c->selftest;
    /* side-tensor codecs: block_range, block(), weight(); in-block codecs:
     * block_range_codes, code_bytes(), known answers */
    bool side = ts && ts->block && ts->weight && c->block_range && !c->block_range_codes;
    bool inblock = ts && !ts->block && !ts->weight && !c->block_range && c->block_range_codes && ts->code_bytes &&
                   ts->known && ts->nknown > 0 && ts->cols > 0;
    if (!ci->name || !ci->summary || !ci->layout || !c->layout || !c->quantize || !c->dequantize ||
        !c->dequantize_rows || !(side || inblock) || ts->ncases < 1 || !ts->cases ||
        ts->side_bytes_per_block < 0 || ts->side_bytes_per_weight < 0)
        return tq_err(err, TQ_E_INTERNAL, "codec table: row %d (%s) lacks a trait", k, nm);
    if (ci->default_bits < 1 || ci->default_bits > 16 || !(ci->bits_mask & (1u << ci->default_bits)))
        return tq_err(err, TQ_E_INTERNAL, "codec table: %s: default bits %d not supported", nm, ci->default_bits);
    for (int b = ci->default_bits + 1; b <= 16; b++)
        if (ci->bits_mask & (1u << b))
            return tq_err(err, TQ_E_INTERNAL, "codec table: %s: default bits %d are not its widest (%d)", nm,
                          ci->default_bits, b);
    tq_qparams dp = {ci->id, ci->default_bits, ci->default_gran, ci->default_group, 0, 0.0f, ci->default_ggml_type, 0};
    if (!accepts(c, &dp, 4, ci->default_group > 0 ? 4 * ci->default_group : 64))
        return tq_err(err, TQ_E_INTERNAL, "codec table: %s: defaults %d bits, %s, group %lld are not valid", nm,
                      ci->default_bits, tq_gran_name(ci->default_gran), (long long)ci->default_group);
    int64_t cols = ts->cols > 0 ? ts->cols : 64;
    for (int i = 0; i < ts->ncases; i++) {
        const tq_qparams *q = &ts->cases[i].q;
        if (!accepts(c, q, 6, cols) || !ts->cases[i].tag)
            return tq_err(err, TQ_E_INTERNAL, "codec table: %s: self-test case %d is not valid for it", nm, i);
    }
    for (int i = 0; inblock && i < ts->nknown; i++)
        if (!accepts(c, &ts->known[i].q, 1, ts->known[i].cols) || !ts->known[i].build || !ts->known[i].tag)
            return tq_err(err, TQ_E_INTERNAL, "codec table: %s: known-answer block %d is not valid for it", nm, i);
    return TQ_OK;
}

tq_status tq_codec_table_check(tq_error *err) {
    for (int k = 1; k < TQ_CODEC_COUNT; k++) {
        if (!TQ_CODEC_TABLE[k]) return tq_err(err, TQ_E_INTERNAL, "codec table: id %d has no row", k);
        tq_status st = check_row(k, TQ_CODEC_TABLE[k], err);
        if (st) return st;
    }
    /* every name and alias names one codec */
    for (int k = 1; k < TQ_CODEC_COUNT; k++)
        for (int n = 0; name_at(TQ_CODEC_TABLE[k], n); n++)
            for (int j = k; j < TQ_CODEC_COUNT; j++)
                for (int m = j == k ? n + 1 : 0; name_at(TQ_CODEC_TABLE[j], m); m++)
                    if (strcasecmp(name_at(TQ_CODEC_TABLE[k], n), name_at(TQ_CODEC_TABLE[j], m)) == 0)
                        return tq_err(err, TQ_E_INTERNAL, "codec table: the name \"%s\" is used by %s and by %s",
                                      name_at(TQ_CODEC_TABLE[k], n), TQ_CODEC_TABLE[k]->info.name,
                                      TQ_CODEC_TABLE[j]->info.name);
    return TQ_OK;
}
