/*
 * kern.c — THE KERNEL TABLE: one row per (weight kind, ISA); the ISA choice,
 * preparation of kept matrices and on-the-fly activation quantization
 * (kern.h).
 */
#include "core/wmem.h"
#include "kern/kern.h"
#include "kern/kern_impl.h"
#include "kern/gemm_i8_amx.h"
#include "codec/codec.h"
#include "ggml/ggml_types.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Activation formats (quantize_row): one scale per row; ggml's Q8_0 blocks
 * of 32; float32 copies; ggml's Q8_K blocks of 256; ggml's Q8_1 blocks;
 * float copies rounded to float16 / bfloat16 (ggml's F16 / BF16 rows). */
enum { ACT_ROW, ACT_BLOCK, ACT_F32, ACT_K, ACT_Q81, ACT_F16, ACT_BF16 };
/* The formats of float values (d holds kpad of them per row). */
static int act_float(int act) { return act == ACT_F32 || act == ACT_F16 || act == ACT_BF16; }

typedef struct krow {
    tq_kwkind  kind;
    tq_kisa    isa;
    int        packed;   /* I8 rows packed in TQ_KROWS-row blocks       */
    int        act;      /* ACT_ROW / ACT_BLOCK                         */
    int        offset;   /* activations as q + 128 (VNNI), else |q|     */
    tq_kern_fn fn;
} krow;

/* One line per (kind, ISA): a kind a row lacks for an ISA runs the best row
 * below it (AVX-512 runs the AVX2 ggml kernels). */
static const krow ROWS[] = {
    {TQ_KW_I8,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_i8_portable},
    {TQ_KW_Q8_0, TQ_KISA_PORTABLE, 0, ACT_BLOCK, 0, tq_kern_q8_0_portable},
    {TQ_KW_Q4_0, TQ_KISA_PORTABLE, 0, ACT_BLOCK, 0, tq_kern_q4_0_portable},
    {TQ_KW_Q4_1, TQ_KISA_PORTABLE, 0, ACT_Q81,   0, tq_kern_q51_portable},
    {TQ_KW_L4,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_lin_portable},
    {TQ_KW_A4,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_lin_portable},
    {TQ_KW_A8,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_lin_portable},
    {TQ_KW_M4,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_lin_portable},
    {TQ_KW_M8,   TQ_KISA_PORTABLE, 0, ACT_ROW,   0, tq_kern_lin_portable},
    {TQ_KW_Q4_K, TQ_KISA_PORTABLE, 0, ACT_K,     0, tq_kern_k45_portable},
    {TQ_KW_Q5_K, TQ_KISA_PORTABLE, 0, ACT_K,     0, tq_kern_k45_portable},
    {TQ_KW_Q6_K, TQ_KISA_PORTABLE, 0, ACT_K,     0, tq_kern_q6_k_portable},
    {TQ_KW_NF4,  TQ_KISA_PORTABLE, 0, ACT_F32,   0, tq_kern_nf4_portable},
    {TQ_KW_F16,  TQ_KISA_PORTABLE, 0, ACT_F32,   0, tq_kern_half_portable},
    {TQ_KW_BF16, TQ_KISA_PORTABLE, 0, ACT_F32,   0, tq_kern_half_portable},
    {TQ_KW_F16R, TQ_KISA_PORTABLE, 0, ACT_F16,   0, tq_kern_half_portable},
    {TQ_KW_BF16R, TQ_KISA_PORTABLE, 0, ACT_BF16, 0, tq_kern_half_portable},
    {TQ_KW_Q5_0, TQ_KISA_PORTABLE, 0, ACT_BLOCK, 0, tq_kern_q51_portable},
    {TQ_KW_Q5_1, TQ_KISA_PORTABLE, 0, ACT_Q81,   0, tq_kern_q51_portable},
#if defined(__x86_64__)
    {TQ_KW_I8,   TQ_KISA_AVX2,     1, ACT_ROW,   0, tq_gemm_i8_avx2_row},
    {TQ_KW_Q8_0, TQ_KISA_AVX2,     0, ACT_BLOCK, 0, tq_kern_q8_0_avx2},
    {TQ_KW_Q4_0, TQ_KISA_AVX2,     0, ACT_BLOCK, 0, tq_kern_q4_0_avx2},
    {TQ_KW_Q4_1, TQ_KISA_AVX2,     0, ACT_Q81,   0, tq_kern_q4_1_avx2},
    {TQ_KW_L4,   TQ_KISA_AVX2,     0, ACT_ROW,   0, tq_kern_lin_avx2},
    {TQ_KW_A4,   TQ_KISA_AVX2,     0, ACT_ROW,   0, tq_kern_lin_avx2},
    {TQ_KW_A8,   TQ_KISA_AVX2,     0, ACT_ROW,   0, tq_kern_lin_avx2},
    {TQ_KW_M4,   TQ_KISA_AVX2,     0, ACT_ROW,   0, tq_kern_lin_avx2},
    {TQ_KW_M8,   TQ_KISA_AVX2,     0, ACT_ROW,   0, tq_kern_lin_avx2},
    {TQ_KW_Q4_K, TQ_KISA_AVX2,     0, ACT_K,     0, tq_kern_k45_avx2},
    {TQ_KW_Q5_K, TQ_KISA_AVX2,     0, ACT_K,     0, tq_kern_k45_avx2},
    {TQ_KW_Q6_K, TQ_KISA_AVX2,     0, ACT_K,     0, tq_kern_q6_k_avx2},
    {TQ_KW_NF4,  TQ_KISA_AVX2,     0, ACT_F32,   0, tq_kern_nf4_avx2},
    {TQ_KW_F16,  TQ_KISA_AVX2,     0, ACT_F32,   0, tq_kern_half_avx2},
    {TQ_KW_BF16, TQ_KISA_AVX2,     0, ACT_F32,   0, tq_kern_half_avx2},
    {TQ_KW_F16R, TQ_KISA_AVX2,     0, ACT_F16,   0, tq_kern_half_avx2},
    {TQ_KW_BF16R, TQ_KISA_AVX2,    0, ACT_BF16,  0, tq_kern_half_avx2},
    {TQ_KW_I8,   TQ_KISA_AVX512,   1, ACT_ROW,   1, tq_kern_i8_avx512},
    {TQ_KW_Q8_0, TQ_KISA_AVX512,   0, ACT_BLOCK, 0, tq_kern_q8_0_avx512},
    {TQ_KW_Q4_0, TQ_KISA_AVX512,   0, ACT_BLOCK, 0, tq_kern_q4_0_avx512},
#endif
#if defined(__aarch64__)
    {TQ_KW_I8,   TQ_KISA_NEON,     0, ACT_ROW,   0, tq_kern_i8_neon},
    {TQ_KW_Q8_0, TQ_KISA_NEON,     0, ACT_BLOCK, 0, tq_kern_q8_0_neon},
    {TQ_KW_Q4_0, TQ_KISA_NEON,     0, ACT_BLOCK, 0, tq_kern_q4_0_neon},
#endif
};
#define NROWS (sizeof ROWS / sizeof ROWS[0])

static const char *const ISA_NAMES[TQ_KISA_COUNT] = {"portable", "avx2", "avx512", "neon"};

const char *tq_kern_isa_name(tq_kisa isa) { return isa >= 0 && isa < TQ_KISA_COUNT ? ISA_NAMES[isa] : "?"; }

int tq_kern_isa_supported(tq_kisa isa) {
    switch (isa) {
    case TQ_KISA_PORTABLE: return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case TQ_KISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TQ_KISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
#if defined(__aarch64__)
    case TQ_KISA_NEON: return 1;
#endif
    default: return 0;
    }
}

static tq_kisa best_isa(void) {
    for (int i = TQ_KISA_COUNT - 1; i > 0; i--)
        if (tq_kern_isa_supported((tq_kisa)i)) return (tq_kisa)i;
    return TQ_KISA_PORTABLE;
}

tq_kisa tq_kern_isa(int *off) {
    const char *e = getenv("TRUEQ_ISA");
    if (off) *off = e && !strcmp(e, "decode");
    tq_kisa best = best_isa();
    for (int i = 0; e && i < TQ_KISA_COUNT; i++)
        if (!strcmp(e, ISA_NAMES[i])) return i <= (int)best && tq_kern_isa_supported((tq_kisa)i) ? (tq_kisa)i : best;
    return best;
}

const char *tq_kern_describe(void) {
    static char line[160];
    int off;
    tq_kisa isa = tq_kern_isa(&off);
    const char *e = getenv("TRUEQ_ISA");
    if (off) snprintf(line, sizeof line, "kernels: off (TRUEQ_ISA=decode: stored codes decoded to float, sgemm)");
    else snprintf(line, sizeof line, "kernels: %s%s (%s; best here %s%s)", ISA_NAMES[isa],
                  tq_gemm_i8_amx_on() ? " + amx-int8" : "", e && *e ? "TRUEQ_ISA" : "detected", ISA_NAMES[best_isa()],
                  tq_gemm_i8_amx_supported() ? " + amx-int8" : "");
    return line;
}

const char *tq_kernels_info(void) { return tq_kern_describe(); }

/* The row for (kind, isa), or the best one below isa. */
static const krow *row_for(tq_kwkind kind, tq_kisa isa) {
    const krow *best = NULL;
    for (size_t i = 0; i < NROWS; i++)
        if (ROWS[i].kind == kind && ROWS[i].isa <= isa && (!best || ROWS[i].isa > best->isa)) best = &ROWS[i];
    return best;
}

static const krow *row_of(const tq_kmat *k) { return k->fn; }

void tq_kern_release(tq_kmat *k) {
    if (!k) return;
    tq_wmem_free(k->packed);
    free(k->pscale);
    free(k->psum);
    memset(k, 0, sizeof *k);
}

/* The sizes pack_i8 allocates: packed rows (a multiple of 64) and scales/sums. */
static size_t packed_bytes(const tq_kmat *k) {
    int64_t rb = (k->rows + TQ_KROWS - 1) / TQ_KROWS;
    size_t pb = (size_t)(rb * k->k4 * TQ_KROWS * 4);
    return (pb + 63) / 64 * 64;
}
static size_t side_count(const tq_kmat *k) { return (size_t)((k->rows + TQ_KROWS - 1) / TQ_KROWS * k->ngroups * TQ_KROWS); }

uint64_t tq_kern_bytes(const tq_kmat *k) {
    return k && k->packed ? packed_bytes(k) + side_count(k) * (sizeof(float) + sizeof(int32_t)) : 0;
}

/* I8 rows into the packed layout of the vector paths (kern.h). */
static int pack_i8(tq_kmat *k) {
    int64_t ng = k->ngroups;
    size_t pb = packed_bytes(k), sb = side_count(k);
    k->packed = tq_wmem_calloc(pb);   /* huge pages: every product streams it (core/wmem.h) */
    k->pscale = calloc(sb ? sb : 1, sizeof(float));
    k->psum = calloc(sb ? sb : 1, sizeof(int32_t));
    if (!k->packed || !k->pscale || !k->psum) return -1;
    for (int64_t r = 0; r < k->rows; r++) {
        const int8_t *src = (const int8_t *)k->codes + r * k->row_bytes;
        int64_t b = r / TQ_KROWS, l = r % TQ_KROWS;
        for (int64_t c = 0; c < k->cols; c++)
            k->packed[((b * k->k4 + c / 4) * TQ_KROWS + l) * 4 + c % 4] = src[c];
        for (int64_t g = 0; g < ng; g++) {
            int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols;
            int32_t s = 0;
            for (int64_t c = c0; c < c1; c++) s += src[c];
            k->pscale[(b * ng + g) * TQ_KROWS + l] = k->scale[r * k->sstride + g];
            k->psum[(b * ng + g) * TQ_KROWS + l] = s;
        }
    }
    return 0;
}

/* Scales along a row for the grouped kinds (I8 and the 4/8-bit codecs). */
static void set_groups(tq_kmat *k, const tq_qparams *q, int64_t cols) {
    if (q->gran == TQ_GRAN_TENSOR) { k->sstride = 0; k->ngroups = 1; k->glen = cols; }
    else if (q->gran == TQ_GRAN_CHANNEL) { k->sstride = 1; k->ngroups = 1; k->glen = cols; }
    else { k->ngroups = tq_groups_per_row(q, cols, &k->glen); k->sstride = k->ngroups; }
}

/* The NF4 code book, as the codec decodes codes 0..15 at absmax 1. */
static int nf4_lut(tq_kmat *k, const tq_qparams *q) {
    uint8_t codes[8];
    for (int i = 0; i < 8; i++) codes[i] = (uint8_t)(2 * i | (2 * i + 1) << 4);
    float one = 1.0f;
    const void *aux[TQ_MAX_AUX] = {&one};
    tq_qparams p = *q;
    p.gran = TQ_GRAN_TENSOR;
    p.group = 0;
    p.pad = 0;
    return tq_dequantize(&p, 1, 16, codes, aux, k->lut, NULL) ? -1 : 0;
}

/* The kind of a codec/layout, with its side tensors; 0 when none. */
static int kind_of(tq_kmat *k, const tq_qparams *q, int64_t cols, const void *const *aux) {
    int ggml = q->codec == TQ_CODEC_GGML, lin = q->codec == TQ_CODEC_LINEAR_SYM || q->codec == TQ_CODEC_LINEAR_AFFINE;
    /* ggml's blocks of 32: kind and bytes per block */
    static const struct { int type; tq_kwkind kind; int bytes; } B32[] = {
        {TQ_GGML_Q8_0, TQ_KW_Q8_0, 34}, {TQ_GGML_Q4_0, TQ_KW_Q4_0, 18}, {TQ_GGML_Q4_1, TQ_KW_Q4_1, 20},
        {TQ_GGML_Q5_0, TQ_KW_Q5_0, 22}, {TQ_GGML_Q5_1, TQ_KW_Q5_1, 24}};
    for (size_t i = 0; ggml && cols % 32 == 0 && i < sizeof B32 / sizeof B32[0]; i++)
        if ((int)q->ggml_type == B32[i].type) {
            k->kind = B32[i].kind;
            k->row_bytes = cols / 32 * B32[i].bytes;
            return 1;
        }
    if (ggml && cols % 256 == 0 && (q->ggml_type == TQ_GGML_Q4_K || q->ggml_type == TQ_GGML_Q5_K || q->ggml_type == TQ_GGML_Q6_K)) {
        k->kind = q->ggml_type == TQ_GGML_Q4_K ? TQ_KW_Q4_K : q->ggml_type == TQ_GGML_Q5_K ? TQ_KW_Q5_K : TQ_KW_Q6_K;
        k->row_bytes = cols / 256 * (k->kind == TQ_KW_Q4_K ? 144 : k->kind == TQ_KW_Q5_K ? 176 : 210);
        return 1;
    }
    /* int32 group sums: 127 * 127 per column (I8) stays exact up to 132,000
     * columns, 255 * 127 (unsigned 8-bit codes) up to 66,000 */
    int i8 = q->codec == TQ_CODEC_LINEAR_SYM && q->bits == 8;
    if (!((lin && (q->bits == 8 || q->bits == 4)) || (q->codec == TQ_CODEC_MLX && (q->bits == 8 || q->bits == 4)) ||
          q->codec == TQ_CODEC_NF4) || cols > (i8 ? 132000 : 66000))
        return 0;
    k->bits = q->codec == TQ_CODEC_NF4 ? 4 : q->bits;
    k->scale = aux[0];
    k->row_bytes = k->bits == 8 ? cols : (cols + 1) / 2;
    set_groups(k, q, cols);
    if (q->codec == TQ_CODEC_LINEAR_SYM) k->kind = q->bits == 8 ? TQ_KW_I8 : TQ_KW_L4;
    else if (q->codec == TQ_CODEC_LINEAR_AFFINE) { k->kind = q->bits == 8 ? TQ_KW_A8 : TQ_KW_A4; k->zero = aux[1]; }
    else if (q->codec == TQ_CODEC_MLX) { k->kind = q->bits == 8 ? TQ_KW_M8 : TQ_KW_M4; k->bias = aux[1]; }
    else { k->kind = TQ_KW_NF4; if (nf4_lut(k, q)) return 0; }
    k->k4 = (cols + 3) / 4;
    return 1;
}

/* The row for k's kind at isa, its packing done. */
static int finish(tq_kmat *k, tq_kisa isa) {
    const krow *r = row_for(k->kind, isa);
    /* packed rows step through groups 4 columns at a time */
    if (r->packed && k->ngroups > 1 && k->glen % 4) r = row_for(k->kind, TQ_KISA_PORTABLE);
    k->isa = r->isa;
    k->fn = (const void *)r;
    k->amx = r->packed && k->kind == TQ_KW_I8 && r->isa == TQ_KISA_AVX512 && tq_gemm_i8_amx_on();
    if (r->packed && pack_i8(k)) { tq_kern_release(k); return -1; }
    return 1;
}

int tq_kern_prepare(tq_kmat *k, const tq_qparams *q, int64_t rows, int64_t cols, const void *codes,
                    const void *const *aux, tq_kisa isa) {
    memset(k, 0, sizeof *k);
    k->rows = rows;
    k->cols = cols;
    k->codes = codes;
    k->isa = isa;
    if (rows < 1 || cols < 1 || !kind_of(k, q, cols, aux)) return 0;
    return finish(k, isa);
}

int tq_kern_prepare_half(tq_kmat *k, tq_dtype dt, int64_t rows, int64_t cols, const void *codes, tq_kisa isa,
                         int ggml) {
    memset(k, 0, sizeof *k);
    k->rows = rows;
    k->cols = cols;
    k->codes = codes;
    k->isa = isa;
    if (rows < 1 || cols < 1 || (dt != TQ_DTYPE_F16 && dt != TQ_DTYPE_BF16)) return 0;
    k->kind = dt == TQ_DTYPE_F16 ? (ggml ? TQ_KW_F16R : TQ_KW_F16) : (ggml ? TQ_KW_BF16R : TQ_KW_BF16);
    k->row_bytes = 2 * cols;
    return finish(k, isa);
}

/* Scales (or values) per activation row of a format. */
static int64_t act_nb(int act, int64_t cols, int64_t kpad) {
    return act == ACT_ROW ? 1 : act == ACT_BLOCK ? (cols + 31) / 32 : act == ACT_Q81 ? 2 * ((cols + 31) / 32)
         : act == ACT_K ? (cols + 255) / 256 : kpad;   /* float formats: the values */
}

/* The activation format of a row. */
static int fmt_of(const krow *r) { return r->act * 2 + r->offset; }

/* Which vector code quantizes rows for r: per-row int8 for an x86 vector
 * row, 1 (AVX-512) on a CPU with AVX-512, else 2 (AVX2); 0 the C code (the
 * portable rows keep it, so test_kern's byte comparison covers both). */
static int vec_of(const krow *r) {
    if (r->act != ACT_ROW || r->isa == TQ_KISA_PORTABLE || r->isa == TQ_KISA_NEON) return 0;
    return tq_kern_isa_supported(TQ_KISA_AVX512) ? 1 : tq_kern_isa_supported(TQ_KISA_AVX2) ? 2 : 0;
}

tq_status tq_kact_init(tq_kact *a, const tq_kmat *k, int64_t cap, int64_t cols) {
    const krow *r = row_of(k);
    memset(a, 0, sizeof *a);
    a->fmt = fmt_of(r);
    a->vec = vec_of(r);
    a->cap = cap;
    a->kpad = (cols + 63) / 64 * 64;
    a->nb = act_nb(r->act, cols, a->kpad);
    size_t bytes = (size_t)(cap * a->kpad);
    a->q = aligned_alloc(64, bytes ? bytes : 64);
    a->qa = aligned_alloc(64, bytes ? bytes : 64);
    a->d = malloc(sizeof(float) * (size_t)(cap * a->nb + 1));
    if (!a->q || !a->qa || !a->d) { tq_kact_free(a); return TQ_E_NOMEM; }
    return TQ_OK;
}

void tq_kact_free(tq_kact *a) {
    if (!a) return;
    free(a->q); free(a->qa); free(a->d);
    memset(a, 0, sizeof *a);
}

int tq_kact_fits(const tq_kact *a, const tq_kmat *k) {
    return a->q && a->fmt == fmt_of(row_of(k)) && a->cols == k->cols && a->n <= a->cap &&
           (!a->noq || tq_kact_qa_only(k));
}

int tq_kact_qa_only(const tq_kmat *k) {
    return k->fn && k->kind == TQ_KW_I8 && k->isa == TQ_KISA_AVX512 && k->ngroups == 1;
}

int tq_kact_holds(const tq_kact *a, const tq_kmat *k) {
    return a->q && a->fmt == fmt_of(row_of(k)) && k->cols <= a->kpad;
}

/* Bits of |v| as an unsigned integer: ordered as |v| is for finite v, and a
 * max over them vectorizes (a float max does not, without fast-math). */
static inline uint32_t abs_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return u & 0x7fffffffu;
}

/* ggml's float16 rounding of a block scale (to nearest even, as F16C). */
static float f16_round(float v) { return tq_f16_to_f32(tq_f32_to_f16(v)); }

/* Row x into int8 codes, q = round-to-nearest-even(x * m) (by adding and
 * taking away 1.5 * 2^23, exact for |x m| <= 127), with one scale per row,
 * per 32 or per 256 (docs/kernels.md, "Activations"):
 *   ACT_ROW   (the linear codecs, as PyTorch's dynamic quantization):
 *             d = max|x| / 127, m = 1 / d;
 *   ACT_BLOCK (ggml Q8_0, what Q8_0/Q4_0/Q5_0 weights meet in ggml):
 *             m = 127 / max|x|, d = max|x| / 127 rounded to float16;
 *   ACT_Q81   (ggml Q8_1, for Q4_1/Q5_1): Q8_0's codes and d, and per block
 *             s = float16(max|x| / 127 * sum q) after the nb / 2 scales;
 *   ACT_K     (ggml Q8_K, for the K-quants): m = 127 / max|x|, d = 1 / m
 *             in float32;
 *   ACT_F32, ACT_F16, ACT_BF16: the float values, as they are or rounded to
 *             nearest even float16 / bfloat16 (ggml's F16 / BF16 weights).
 * Shared by every ISA, so every path sees the same codes. */
static void quantize_row(int fmt, const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d) {
    int act = fmt / 2;
    if (!act_float(act)) kpad = (cols + 63) / 64 * 64;   /* products read no further */
    if (act_float(act)) {   /* float kinds: the values (rounded as ggml's F16 / BF16 rows), zero padded */
        if (act == ACT_F32) memcpy(d, x, sizeof(float) * (size_t)cols);
        else if (act == ACT_F16) for (int64_t c = 0; c < cols; c++) d[c] = f16_round(x[c]);
        else for (int64_t c = 0; c < cols; c++) d[c] = tq_bf16_to_f32(tq_f32_to_bf16(x[c]));
        memset(d + cols, 0, sizeof(float) * (size_t)(kpad - cols));
        return;
    }
    int64_t span = act == ACT_ROW ? cols : act == ACT_K ? 256 : 32, nblk = (cols + span - 1) / span;
    const float magic = 12582912.0f;
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += span, b++) {
        int64_t c1 = c0 + span < cols ? c0 + span : cols;
        uint32_t mb = 0;
        for (int64_t c = c0; c < c1; c++) { uint32_t u = abs_bits(x[c]); mb = u > mb ? u : mb; }
        float amax;
        memcpy(&amax, &mb, 4);
        float s = amax / 127.0f, inv;
        if (act == ACT_ROW) inv = s > 0.0f ? 1.0f / s : 0.0f;
        else inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        d[b] = act == ACT_ROW ? s : act == ACT_K ? (amax > 0.0f ? 1.0f / inv : 0.0f) : f16_round(s);
        int32_t sum = 0;
        for (int64_t c = c0; c < c1; c++) {
            float v = (x[c] * inv + magic) - magic;
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v == v ? v : 0.0f;
            q[c] = (int8_t)(int)v;
            sum += q[c];
        }
        if (act == ACT_Q81) d[nblk + b] = f16_round(s * (float)sum);
    }
    memset(q + cols, 0, (size_t)(kpad - cols));
    if (fmt % 2) for (int64_t c = 0; c < kpad; c++) qa[c] = (uint8_t)(q[c] + 128);
    else for (int64_t c = 0; c < kpad; c++) qa[c] = (uint8_t)(q[c] < 0 ? -q[c] : q[c]);
}

void tq_kact_begin(tq_kact *a, int64_t n, int64_t cols) {
    a->n = n;
    a->cols = cols;
    a->noq = 0;
}

void tq_kact_skip_q(tq_kact *a) { a->noq = a->vec == 1; }

void tq_kact_row_max(tq_kact *a, const float *x, int64_t i, uint32_t bits) {
#if defined(__x86_64__)
    if (a->vec == 1) {
        tq_kern_quant_row_max_avx512(x, a->cols, (a->cols + 63) / 64 * 64, a->noq ? NULL : a->q + i * a->kpad,
                                     a->qa + i * a->kpad, a->d + i, a->fmt % 2, bits);
        return;
    }
#endif
    (void)bits;
    tq_kact one = tq_kact_view(a, i, i + 1);   /* row i as row 0 of a view */
    tq_kact_rows(&one, x, 0, 0, 1);
}

void tq_kact_rows(tq_kact *a, const float *x, int64_t ldx, int64_t i0, int64_t i1) {
    int64_t cols = a->cols;
#if defined(__x86_64__)
    if (a->vec) {
        void (*qrow)(const float *, int64_t, int64_t, int8_t *, uint8_t *, float *, int) =
            a->vec == 1 ? tq_kern_quant_row_avx512 : tq_kern_quant_row_avx2;
        for (int64_t i = i0; i < i1; i++)
            qrow(x + i * ldx, cols, (cols + 63) / 64 * 64, a->noq ? NULL : a->q + i * a->kpad, a->qa + i * a->kpad,
                 a->d + i, a->fmt % 2);
        return;
    }
#endif
    for (int64_t i = i0; i < i1; i++)
        quantize_row(a->fmt, x + i * ldx, cols, a->kpad, a->q + i * a->kpad, a->qa + i * a->kpad, a->d + i * a->nb);
}

void tq_kern_matmul_act(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy,
                        int accumulate) {
    if (a->n >= 1 && r0 < r1) ((const krow *)k->fn)->fn(k, a, r0, r1, y, ldy, accumulate);
}

tq_status tq_kern_matmul(const tq_kmat *k, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                         int64_t ldy, int accumulate) {
    if (n < 1 || r0 >= r1) return TQ_OK;
    tq_kact a;
    /* one row of up to SMALL activations (a decoder's matrix x vector): on the stack */
    enum { SMALL = 8192 };
    _Alignas(64) int8_t q[SMALL];
    _Alignas(64) uint8_t qa[SMALL];
    float d[SMALL];
    const krow *r = row_of(k);
    if (n == 1 && k->cols <= SMALL) {
        int64_t kpad = (k->cols + 63) / 64 * 64;
        a = (tq_kact){.n = 1, .cols = k->cols, .kpad = kpad, .cap = 1, .fmt = fmt_of(r), .q = q, .qa = qa, .d = d,
                      .nb = act_nb(r->act, k->cols, kpad), .vec = vec_of(r)};
        tq_kact_rows(&a, x, ldx, 0, 1);
        tq_kern_matmul_act(k, &a, r0, r1, y, ldy, accumulate);
        return TQ_OK;
    }
    if (tq_kact_init(&a, k, n, k->cols)) return TQ_E_NOMEM;
    tq_kact_begin(&a, n, k->cols);
    tq_kact_rows(&a, x, ldx, 0, n);
    tq_kern_matmul_act(k, &a, r0, r1, y, ldy, accumulate);
    tq_kact_free(&a);
    return TQ_OK;
}
