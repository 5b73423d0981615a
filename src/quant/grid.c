/*
 * grid.c — one codec setting's grid, block by block (grid.h).
 *
 * Rounding, written from each codec's documented formula (and checked
 * against tq_dequantize by tests/test_gptq.c):
 *   linear-sym     q = clamp(rne(x / s), -qmax, qmax); value q * s; stored
 *                  u = q + 2^(b-1) below 8 bits, the int8 byte at 8 bits
 *   linear-affine  u = clamp(rne(clamp(x / s, -umax-1, umax+1)) + z, 0, umax);
 *                  value (u - z) * s
 *   mlx            q = clamp(rint((x - bias) / s), 0, n); value s * q + bias,
 *                  with s and bias as stored (F16/BF16 rows: rounded)
 * A block whose scale is 0 (all zero) has code 0 (sym: the offset) and value 0.
 */
#include "quant/grid.h"
#include "codec/codec.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float rne(float x) {
    const float magic = 12582912.0f;
    return (x + magic) - magic;
}
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

static uint64_t elem_bytes(tq_dtype dt) {
    int64_t one = 1;
    return tq_nbytes(dt, 1, &one);
}

static float widen(const void *p, tq_dtype dt) {
    uint16_t h;
    float f;
    switch (dt) {
    case TQ_DTYPE_F16: memcpy(&h, p, 2); return tq_f16_to_f32(h);
    case TQ_DTYPE_BF16: memcpy(&h, p, 2); return tq_bf16_to_f32(h);
    case TQ_DTYPE_U8: return (float)*(const uint8_t *)p;
    default: memcpy(&f, p, 4); return f;
    }
}

void tq_grid_free(tq_grid *g) {
    if (!g) return;
    free(g->s);
    free(g->z);
    free(g->chosen);
    free(g->scratch);
    for (int a = 0; a < TQ_MAX_AUX; a++) free(g->auxb[a]);
    memset(g, 0, sizeof *g);
}

tq_status tq_grid_init(tq_grid *g, const tq_qparams *q, const char *tname, int64_t rows, int64_t cols, tq_error *err) {
    memset(g, 0, sizeof *g);
    const tq_codec_info *ci = tq_codec_by_id(q->codec);
    const char *cn = ci ? ci->name : "?";
    int kind = q->codec == TQ_CODEC_LINEAR_SYM ? 0 : q->codec == TQ_CODEC_LINEAR_AFFINE ? 1
             : (q->codec == TQ_CODEC_MLX || q->codec == TQ_CODEC_MLX_F16 || q->codec == TQ_CODEC_MLX_BF16) ? 2 : -1;
    if (kind < 0 || (q->gran != TQ_GRAN_CHANNEL && q->gran != TQ_GRAN_GROUP))
        return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": calibrated quantization needs linear-sym, linear-affine or "
                      "mlx at channel or group granularity (got %s, %s)", tname, cn,
                      q->gran == TQ_GRAN_TENSOR ? "per tensor" : q->gran == TQ_GRAN_CHANNEL ? "per channel" : "group");
    if (rows < 1 || cols < 1)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": shape [%lld, %lld] has no weights", tname, (long long)rows,
                      (long long)cols);
    g->na = tq_qparams_layout(q, rows, cols, &g->cd, g->cs, g->aux);
    if (g->na < 0)
        return tq_err(err, TQ_E_ARG, "tensor \"%s\": %s at %d bits does not fit shape [%lld, %lld]", tname, cn, q->bits,
                      (long long)rows, (long long)cols);
    g->q = *q;
    g->tname = tname;
    g->rows = rows;
    g->cols = cols;
    g->kind = kind;
    g->qmax = kind == 0 ? (1 << (q->bits - 1)) - 1 : (1 << q->bits) - 1;
    g->glen = q->gran == TQ_GRAN_CHANNEL ? cols : q->group;
    g->ng = (cols + g->glen - 1) / g->glen;
    size_t nb = (size_t)(rows * g->ng);
    g->s = calloc(nb, sizeof(float));
    g->z = calloc(nb, sizeof(float));
    g->chosen = calloc(nb, 1);
    g->scratch = malloc((size_t)cols * 4 + 16);
    bool oom = !g->s || !g->z || !g->chosen || !g->scratch;
    for (int a = 0; a < g->na; a++) {
        g->auxn[a] = tq_nbytes(g->aux[a].dtype, g->aux[a].ndim, g->aux[a].shape);
        g->auxb[a] = calloc(g->auxn[a] ? g->auxn[a] : 1, 1);
        oom |= !g->auxb[a];
    }
    if (oom) { tq_grid_free(g); return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", tname); }
    return TQ_OK;
}

tq_status tq_grid_choose(tq_grid *g, int64_t r, int64_t k, const float *x, tq_error *err) {
    int64_t len = tq_grid_block_len(g, k), idx = r * g->ng + k;
    tq_qparams q1 = g->q;   /* this block alone: one row, one group of len */
    q1.gran = TQ_GRAN_GROUP;
    q1.group = len;
    q1.pad = 0;
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(&q1, 1, len, &cd, cs, ad);
    if (na != g->na) return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": block of %lld has no layout", g->tname, (long long)len);
    uint8_t side[TQ_MAX_AUX][8];
    void *aux[TQ_MAX_AUX] = {0};
    for (int a = 0; a < na; a++) aux[a] = side[a];
    tq_status st = tq_quantize(&q1, g->tname, x, 1, len, g->scratch, aux, 0, err);
    if (st) return st;
    for (int a = 0; a < na; a++) {
        uint64_t eb = elem_bytes(g->aux[a].dtype);
        memcpy((uint8_t *)g->auxb[a] + (uint64_t)idx * eb, side[a], eb);
    }
    g->s[idx] = widen(side[0], g->aux[0].dtype);
    g->z[idx] = g->kind == 0 ? 0.0f : widen(side[1], g->aux[1].dtype);
    g->chosen[idx] = 1;
    return TQ_OK;
}

int tq_grid_code(const tq_grid *g, int64_t r, int64_t k, float x, float *v) {
    int64_t idx = r * g->ng + k;
    const float s = g->s[idx], z = g->z[idx];
    if (g->kind == 0) {
        const int off = g->q.bits == 8 ? 0 : 1 << (g->q.bits - 1);
        if (!(s > 0.0f)) { *v = 0.0f; return off; }
        float fq = (float)g->qmax, q = clampf(rne(x / s), -fq, fq);
        *v = q * s;
        return (int)q + off;
    }
    if (g->kind == 1) {
        if (!(s > 0.0f)) { *v = 0.0f; return 0; }
        float fu = (float)g->qmax;
        int u = (int)clampf(rne(clampf(x / s, -fu - 1, fu + 1)) + z, 0.0f, fu);
        *v = (float)(u - (int)z) * s;
        return u;
    }
    float n = (float)g->qmax, q = rintf((x - z) / s);
    q = q < 0.0f ? 0.0f : q > n ? n : q;
    if (q != q) q = 0.0f;
    *v = s * q + z;
    return (int)q;
}

tq_status tq_grid_emit(const tq_grid *g, const int *u, void *codes, void *const aux[TQ_MAX_AUX], tq_error *err) {
    for (int64_t i = 0; i < g->rows * g->ng; i++)
        if (!g->chosen[i])
            return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": block %lld (row %lld) was never chosen", g->tname,
                          (long long)i, (long long)(i / g->ng));
    const int b = g->q.bits;
    if (g->kind == 2) {   /* U32 words: each row a little-endian bit stream */
        const int64_t rb = g->cols * b / 8;
        memset(codes, 0, (size_t)(g->rows * rb));
        for (int64_t r = 0; r < g->rows; r++) {
            uint8_t *row = (uint8_t *)codes + r * rb;
            for (int64_t c = 0; c < g->cols; c++) {
                int64_t bit = c * b;
                for (int t = 0; t < b; t++, bit++)
                    if ((unsigned)u[r * g->cols + c] >> t & 1u) row[bit >> 3] |= (uint8_t)(1u << (bit & 7));
            }
        }
    } else {
        const int64_t rb = b == 8 ? g->cols : tq_packed_row_bytes(g->cols, b);
        uint8_t *row = malloc((size_t)g->cols);
        if (!row) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", g->tname);
        for (int64_t r = 0; r < g->rows; r++) {
            for (int64_t c = 0; c < g->cols; c++) {
                int q = u[r * g->cols + c];
                row[c] = g->kind == 0 && b == 8 ? (uint8_t)(int8_t)q : (uint8_t)q;
            }
            tq_pack_row(row, g->cols, b, (uint8_t *)codes + r * rb);
        }
        free(row);
    }
    for (int a = 0; a < g->na; a++) memcpy(aux[a], g->auxb[a], (size_t)g->auxn[a]);
    return TQ_OK;
}
