/*
 * gemm_i8_amx.c — the I8 matrix x matrix product of tq_gemm_i8_avx512_bias
 * (gemm_i8_avx512.h: same contract, same bytes) by AMX-INT8 tiles, where the
 * CPU and the OS allow them (tq_gemm_i8_amx_on).
 *
 * Tiles (palette 1, all 16 rows x 64 bytes): tmm0..3 the int32 sums of 32
 * tokens x 32 outputs (2 x 2), tmm4/5 two activation tiles (16 tokens x 64
 * columns of q + 128, stride kpad), tmm6/7 two weight tiles: 16 consecutive
 * 4-column rows of one packed 16-row block (kern_types.h) are an AMX B tile
 * as they lie. tdpbusd gives vpdpbusd's exact int32 sums; columns past the
 * last full 64 (k4 % 16 steps of 4) are added by vpdpbusd to the stored
 * sums, in int32, so the split changes nothing. A partial group of tokens
 * is read from a zero-padded 16 x 64 copy (nothing past n is read). Then
 * the VNNI kernel's float steps: (S - 128 sum w) -> float, x (d_x s_w),
 * the bias / acc steps, masked to [r0, r1).
 */
#include "kern/kern_impl.h"
#include "kern/gemm_i8_amx.h"
#include <stdlib.h>
#include <string.h>

#if defined(TQ_HAVE_AMX) && defined(__linux__) && defined(__x86_64__)
#include "kern/gemm_i8_epi.h"
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static int amx_cpu;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

/* CPUID leaf 7 EDX bits 24 (AMX-TILE) and 25 (AMX-INT8), XCR0 bits 17/18
 * (the OS saves tile state), then the XTILEDATA permission (once a process). */
static void amx_probe(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return;   /* OSXSAVE */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25))) return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return;
    amx_cpu = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
}

int tq_gemm_i8_amx_supported(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_cpu;
}

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))
#define TB 32   /* tokens per 2 x 2 tile step */
#define IB 128  /* tokens per cache block     */

typedef struct tilecfg {
    uint8_t  palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t  rows[16];
} tilecfg;

/* Tile t <- 16 rows of 64 bytes at p (stride ld), or the first m of them
 * copied into the zero-padded buf. */
#define LOAD_A(t, p, ld, m, buf)                                                                                       \
    do {                                                                                                               \
        if ((m) >= 16) _tile_loadd(t, p, ld);                                                                          \
        else {                                                                                                         \
            for (int r_ = 0; r_ < (m); r_++) memcpy(buf + 64 * r_, (p) + r_ * (ld), 64);                              \
            _tile_loadd(t, buf, 64);                                                                                   \
        }                                                                                                              \
    } while (0)

TGT void tq_gemm_i8_amx_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                             const float *bias) {
    const int64_t bfirst = r0 / TQ_KROWS, bend = (r1 + TQ_KROWS - 1) / TQ_KROWS, k4 = k->k4, kt = k4 / 16;
    const int64_t bs = k4 * 64, kp = a->kpad;
    _Alignas(64) tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);
    _Alignas(64) int32_t S[TB][2 * TQ_KROWS];
    _Alignas(64) uint8_t pad0[16 * 64], pad1[16 * 64];
    memset(pad0, 0, sizeof pad0);
    memset(pad1, 0, sizeof pad1);
    for (int64_t ib = 0; ib < a->n; ib += IB) {
        int64_t ie = ib + IB < a->n ? ib + IB : a->n;
        for (int64_t b0 = bfirst; b0 < bend; b0 += 2) {
            const int nb = bend - b0 < 2 ? 1 : 2;
            const int8_t *w0 = k->packed + b0 * bs, *w1 = w0 + bs;
            for (int64_t i = ib; i < ie; i += TB) {
                const int m = ie - i < TB ? (int)(ie - i) : TB;
                const uint8_t *x0 = a->qa + i * kp, *x1 = x0 + 16 * kp;
                _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                for (int64_t t = 0; t < kt; t++) {
                    LOAD_A(4, x0 + t * 64, kp, m, pad0);
                    _tile_loadd(6, w0 + t * 1024, 64);
                    _tile_dpbusd(0, 4, 6);
                    if (nb > 1) { _tile_loadd(7, w1 + t * 1024, 64); _tile_dpbusd(1, 4, 7); }
                    if (m > 16) {
                        LOAD_A(5, x1 + t * 64, kp, m - 16, pad1);
                        _tile_dpbusd(2, 5, 6);
                        if (nb > 1) _tile_dpbusd(3, 5, 7);
                    }
                }
                _tile_stored(0, &S[0][0], 128);
                _tile_stored(1, &S[0][16], 128);
                _tile_stored(2, &S[16][0], 128);
                _tile_stored(3, &S[16][16], 128);
                for (int p = 0; p < nb; p++) {
                    int64_t b = b0 + p, base = b * TQ_KROWS;
                    const int8_t *wp = k->packed + b * bs;
                    tq_i8_epi e;
                    if (!tq_i8_epi_begin(&e, k, base, r0, r1, bias)) continue;
                    for (int j = 0; j < m; j++) {
                        __m512i s = _mm512_load_si512((const void *)&S[j][16 * p]);
                        const uint8_t *xr = x0 + j * kp;
                        for (int64_t kk = 16 * kt; kk < k4; kk++)   /* the columns past the last full tile */
                            s = _mm512_dpbusd_epi32(s, _mm512_set1_epi32(tq_kern_ld32(xr + 4 * kk)),
                                                    _mm512_load_si512((const void *)(wp + kk * 64)));
                        tq_i8_epi_store(&e, s, a->d[i + j], y + (i + j) * ldy + base, acc, bias);
                    }
                }
            }
        }
    }
    _tile_release();
}
#else
int tq_gemm_i8_amx_supported(void) { return 0; }
void tq_gemm_i8_amx_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                         const float *bias) {
    (void)k; (void)a; (void)r0; (void)r1; (void)y; (void)ldy; (void)acc; (void)bias;   /* never: not supported */
}
#endif

/* TRUEQ_ISA read here, not through kern.c (kern.c runs this file): any
 * value naming an ISA (avx512 included: VNNI only) or decode turns AMX off. */
int tq_gemm_i8_amx_on(void) {
    static const char *const lower[] = {"portable", "avx2", "avx512", "neon", "decode"};
    const char *e = getenv("TRUEQ_ISA");
    for (size_t i = 0; e && i < sizeof lower / sizeof lower[0]; i++)
        if (!strcmp(e, lower[i])) return 0;
    return tq_gemm_i8_amx_supported();
}
