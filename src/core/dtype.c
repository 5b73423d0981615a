/*
 * dtype.c — the dtype table (names and widths as in safetensors) and
 * float16 / bfloat16 conversions (IEEE round-to-nearest-even).
 */
#include "core/internal.h"
#include <float.h>
#include <math.h>
#include <string.h>

static const struct { const char *name; int bits; } DTYPES[TQ_DTYPE_COUNT] = {
    [TQ_DTYPE_INVALID] = {"?", 0},       [TQ_DTYPE_BOOL] = {"BOOL", 8},
    [TQ_DTYPE_U8]  = {"U8", 8},          [TQ_DTYPE_I8]   = {"I8", 8},
    [TQ_DTYPE_I16] = {"I16", 16},        [TQ_DTYPE_U16]  = {"U16", 16},
    [TQ_DTYPE_F16] = {"F16", 16},        [TQ_DTYPE_BF16] = {"BF16", 16},
    [TQ_DTYPE_I32] = {"I32", 32},        [TQ_DTYPE_U32]  = {"U32", 32},
    [TQ_DTYPE_F32] = {"F32", 32},        [TQ_DTYPE_F64]  = {"F64", 64},
    [TQ_DTYPE_I64] = {"I64", 64},        [TQ_DTYPE_U64]  = {"U64", 64},
    [TQ_DTYPE_F8_E4M3] = {"F8_E4M3", 8}, [TQ_DTYPE_F8_E5M2] = {"F8_E5M2", 8},
    [TQ_DTYPE_C64] = {"C64", 64},        [TQ_DTYPE_F8_E8M0] = {"F8_E8M0", 8},
    [TQ_DTYPE_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8}, [TQ_DTYPE_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [TQ_DTYPE_F4] = {"F4", 4}, [TQ_DTYPE_F6_E2M3] = {"F6_E2M3", 6}, [TQ_DTYPE_F6_E3M2] = {"F6_E3M2", 6},
};

const char *tq_dtype_name(tq_dtype t) {
    return ((int)t > 0 && t < TQ_DTYPE_COUNT) ? DTYPES[t].name : "?";
}

tq_dtype tq_dtype_from_name(const char *name) {
    if (!name) return TQ_DTYPE_INVALID;
    for (int i = 1; i < TQ_DTYPE_COUNT; i++)
        if (strcmp(DTYPES[i].name, name) == 0) return (tq_dtype)i;
    return TQ_DTYPE_INVALID;
}

int tq_dtype_bits(tq_dtype t) { return ((int)t > 0 && t < TQ_DTYPE_COUNT) ? DTYPES[t].bits : 0; }

int tq_dtype_is_float(tq_dtype t) {
    return t == TQ_DTYPE_F16 || t == TQ_DTYPE_BF16 || t == TQ_DTYPE_F32 || t == TQ_DTYPE_F64;
}

uint64_t tq_nbytes(tq_dtype t, int ndim, const int64_t *shape) {
    int64_t n = 1;
    if (!tq_shape_numel(ndim, shape, &n)) return UINT64_MAX;
    uint64_t bits;
    if (!tq_mul_u64((uint64_t)n, (uint64_t)tq_dtype_bits(t), &bits)) return UINT64_MAX;
    return (bits + 7) / 8;
}

bool tq_shape_numel(int ndim, const int64_t *shape, int64_t *numel) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return false;
        if (__builtin_mul_overflow(n, shape[i], &n)) return false;
    }
    *numel = n;
    return true;
}

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float tq_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return u2f(sign | 0x7f800000u | (man << 13));      /* inf / nan */
    if (exp == 0) {                                                      /* zero / subnormal */
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    }
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t tq_f32_to_f16(float f) {
    uint32_t u = f2u(f), sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffff;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));  /* nan */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);    /* overflow -> inf (after rounding) */
    if (a < 0x38800000u) {                                       /* subnormal or zero in f16 */
        /* value / 2^-24, rounded half to even */
        float v = u2f(a);
        float q = nearbyintf(v * 16777216.0f);   /* exact: v*2^24 is exact in float */
        return (uint16_t)(sign | (uint32_t)q);
    }
    uint32_t mant = a & 0x7fffff, e = (a >> 23) - 112;
    uint32_t r = (e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

float tq_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t tq_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffff) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   /* quiet nan */
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

tq_status tq_convert_to_f32(tq_dtype t, const void *src, int64_t n, float *dst, tq_error *err) {
    const uint8_t *p = src;
    switch (t) {
    case TQ_DTYPE_F32: memcpy(dst, src, (size_t)n * 4); return TQ_OK;
    case TQ_DTYPE_F16: for (int64_t i = 0; i < n; i++) dst[i] = tq_f16_to_f32(tq_ld16(p + 2 * i)); return TQ_OK;
    case TQ_DTYPE_BF16: for (int64_t i = 0; i < n; i++) dst[i] = tq_bf16_to_f32(tq_ld16(p + 2 * i)); return TQ_OK;
    case TQ_DTYPE_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            /* A finite double beyond float32's range has no float32 value (the
             * cast would be undefined); NaN and Inf convert to themselves. */
            if (isfinite(d) && fabs(d) > FLT_MAX)
                return tq_err(err, TQ_E_VALUE, "F64 value %g at flat index %lld is outside the float32 range (|x| <= %g)",
                              d, (long long)i, (double)FLT_MAX);
            dst[i] = (float)d;
        }
        return TQ_OK;
    case TQ_DTYPE_I8:  for (int64_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i]; return TQ_OK;
    case TQ_DTYPE_U8: case TQ_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) dst[i] = (float)p[i]; return TQ_OK;
    case TQ_DTYPE_I16: for (int64_t i = 0; i < n; i++) dst[i] = (float)(int16_t)tq_ld16(p + 2 * i); return TQ_OK;
    case TQ_DTYPE_U16: for (int64_t i = 0; i < n; i++) dst[i] = (float)tq_ld16(p + 2 * i); return TQ_OK;
    case TQ_DTYPE_I32: for (int64_t i = 0; i < n; i++) dst[i] = (float)(int32_t)tq_ld32(p + 4 * i); return TQ_OK;
    case TQ_DTYPE_U32: for (int64_t i = 0; i < n; i++) dst[i] = (float)tq_ld32(p + 4 * i); return TQ_OK;
    case TQ_DTYPE_I64: for (int64_t i = 0; i < n; i++) dst[i] = (float)(int64_t)tq_ld64(p + 8 * i); return TQ_OK;
    case TQ_DTYPE_U64: for (int64_t i = 0; i < n; i++) dst[i] = (float)tq_ld64(p + 8 * i); return TQ_OK;
    default:
        return tq_err(err, TQ_E_UNSUPPORTED, "dtype %s has no float32 conversion in trueq", tq_dtype_name(t));
    }
}

tq_status tq_convert_from_f32(tq_dtype t, const float *src, int64_t n, void *dst, tq_error *err) {
    uint8_t *p = dst;
    switch (t) {
    case TQ_DTYPE_F32: memcpy(dst, src, (size_t)n * 4); return TQ_OK;
    case TQ_DTYPE_F16: for (int64_t i = 0; i < n; i++) tq_st16(p + 2 * i, tq_f32_to_f16(src[i])); return TQ_OK;
    case TQ_DTYPE_BF16: for (int64_t i = 0; i < n; i++) tq_st16(p + 2 * i, tq_f32_to_bf16(src[i])); return TQ_OK;
    case TQ_DTYPE_F64: for (int64_t i = 0; i < n; i++) { double d = src[i]; memcpy(p + 8 * i, &d, 8); } return TQ_OK;
    default:
        return tq_err(err, TQ_E_UNSUPPORTED, "cannot store float values as %s", tq_dtype_name(t));
    }
}
