/*
 * codec.c — the helpers codecs share: scale blocks, bit packing, the sliced
 * row-range decode, and the names of the granularities. It knows no codec.
 */
#include "codec/codec.h"
#include <string.h>

static const char *const GRAN_NAMES[TQ_GRAN_COUNT] = {
    [TQ_GRAN_TENSOR] = "tensor", [TQ_GRAN_CHANNEL] = "channel", [TQ_GRAN_GROUP] = "group",
};

const char *tq_gran_name(tq_granularity g) {
    return (int)g >= 0 && (int)g < TQ_GRAN_COUNT ? GRAN_NAMES[g] : "?";
}

int tq_gran_from_name(const char *name) {
    for (int g = 0; name && g < TQ_GRAN_COUNT; g++)
        if (strcmp(name, GRAN_NAMES[g]) == 0) return g;
    return -1;
}

tq_status tq_codec_rows_sliced(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0,
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,
                               tq_error *err) {
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    memset(ad, 0, sizeof ad);
    int na = c->layout(p, rows, cols, &cd, cs, ad);
    if (na < 0) return tq_err(err, TQ_E_INTERNAL, "codec %s: no layout for a checked tensor", c->info.name);
    uint64_t crow = tq_nbytes(cd, 2, cs) / (uint64_t)rows;
    const void *sub_aux[TQ_MAX_AUX] = {0};
    for (int a = 0; a < na; a++) {
        if (!ad[a].per_row) { sub_aux[a] = aux[a]; continue; }
        uint64_t arow = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) / (uint64_t)rows;
        sub_aux[a] = (const uint8_t *)aux[a] + (uint64_t)r0 * arow;
    }
    return c->dequantize(p, r1 - r0, cols, (const uint8_t *)codes + (uint64_t)r0 * crow, sub_aux, out, err);
}

/* ---- shared block helpers -------------------------------------------------- */

int64_t tq_groups_per_row(const tq_qparams *p, int64_t cols, int64_t *glen) {
    if (p->gran == TQ_GRAN_GROUP) {
        *glen = p->group;
        return (cols + p->group - 1) / p->group;
    }
    *glen = cols;
    return 1;
}

void tq_block_shape(const tq_qparams *p, int64_t rows, int64_t cols, int *ndim, int64_t shape[2], int *per_row) {
    int64_t g;
    *per_row = p->gran != TQ_GRAN_TENSOR;
    switch (p->gran) {
    case TQ_GRAN_TENSOR: *ndim = 0; shape[0] = shape[1] = 0; break;
    case TQ_GRAN_CHANNEL: *ndim = 1; shape[0] = rows; shape[1] = 0; break;
    default: *ndim = 2; shape[0] = rows; shape[1] = tq_groups_per_row(p, cols, &g); break;
    }
}

int64_t tq_block_count(const tq_qparams *p, int64_t rows, int64_t cols) {
    int64_t g;
    return p->gran == TQ_GRAN_TENSOR ? 1 : p->gran == TQ_GRAN_CHANNEL ? rows : rows * tq_groups_per_row(p, cols, &g);
}

void tq_pair_shape(const tq_qparams *p, int64_t rows, tq_aux_desc *a) {
    a->per_row = p->gran != TQ_GRAN_TENSOR;
    if (!a->per_row) { a->ndim = 1; a->shape[0] = 2; a->shape[1] = 0; }
    else { a->ndim = 2; a->shape[0] = rows; a->shape[1] = 2; }
}

void tq_pack_row(const uint8_t *u, int64_t cols, int bits, uint8_t *dst) {
    if (bits == 8) { memcpy(dst, u, (size_t)cols); return; }
    if (bits == 4) {
        int64_t j = 0;
        for (; j + 1 < cols; j += 2) dst[j / 2] = (uint8_t)(u[j] | u[j + 1] << 4);
        if (j < cols) dst[j / 2] = u[j];
        return;
    }
    if (bits == 2) {
        int64_t j = 0;
        for (; j + 3 < cols; j += 4) dst[j / 4] = (uint8_t)(u[j] | u[j + 1] << 2 | u[j + 2] << 4 | u[j + 3] << 6);
        if (j < cols) {
            uint8_t b = 0;
            for (int k = 0; j + k < cols; k++) b |= (uint8_t)(u[j + k] << (2 * k));
            dst[j / 4] = b;
        }
        return;
    }
    int per = 8 / bits;
    int64_t nb = tq_packed_row_bytes(cols, bits);
    memset(dst, 0, (size_t)nb);
    for (int64_t j = 0; j < cols; j++)
        dst[j / per] |= (uint8_t)(u[j] << ((j % per) * bits));
}

void tq_unpack_row(const uint8_t *src, int64_t cols, int bits, uint8_t *u) {
    if (bits == 8) { memcpy(u, src, (size_t)cols); return; }
    if (bits == 4) {
        for (int64_t j = 0; j < cols; j++) u[j] = (uint8_t)((src[j >> 1] >> ((j & 1) * 4)) & 15);
        return;
    }
    int per = 8 / bits;
    uint8_t mask = (uint8_t)((1u << bits) - 1);
    for (int64_t j = 0; j < cols; j++) u[j] = (uint8_t)((src[j / per] >> ((j % per) * bits)) & mask);
}
