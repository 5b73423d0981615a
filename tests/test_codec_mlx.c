/* test_codec_mlx.c — the "mlx" codec (MLX affine): known answers from the
 * documented formula, MLX's bit order (words that 3/5/6-bit codes straddle),
 * side-tensor rounding, refused configurations. Byte identity with mx.quantize
 * itself is cli_mlx_codec (tests/py/mlx_codec_ref.py). */
#include "tq_test.h"
#include "codec/codec.h"
#include "codec/mlx.h"
#include <stdlib.h>

static void ramp(void) {
    TQ_CASE("4-bit group 32 on 0..31: edge = max, s = 31/-15, bias = 31, code 0 is 31");
    tq_qparams p = {TQ_CODEC_MLX, 4, TQ_GRAN_GROUP, 32, 0, 0, 0, 0};
    float w[32], sc = 0, bi = 0, out[32];
    for (int i = 0; i < 32; i++) w[i] = (float)i;
    uint32_t codes[4] = {0};
    void *aux[TQ_MAX_AUX] = {&sc, &bi, NULL};
    tq_error e;
    CHECK_OK(tq_quantize(&p, "t", w, 1, 32, codes, aux, 0, &e), e);
    CHECK(sc == 31.0f / -15.0f && bi == 31.0f);
    CHECK_EQ_INT(codes[3] >> 28, 0);          /* element 31: the top nibble of word 3 */
    CHECK_EQ_INT(codes[0] & 0xf, 15);         /* element 0: the low nibble of word 0 */
    CHECK_OK(tq_dequantize(&p, 1, 32, codes, (const void *const *)aux, out, &e), e);
    CHECK(out[31] == 31.0f && out[0] == sc * 15.0f + bi);

    TQ_CASE("dominant negative extreme: edge = min, s > 0, code 0 decodes to min exactly");
    for (int i = 0; i < 32; i++) w[i] = i == 5 ? -8.0f : (float)(i % 3);
    CHECK_OK(tq_quantize(&p, "t", w, 1, 32, codes, aux, 0, &e), e);
    CHECK(sc > 0 && bi == -8.0f);
    CHECK_OK(tq_dequantize(&p, 1, 32, codes, (const void *const *)aux, out, &e), e);
    CHECK(out[5] == -8.0f);

    TQ_CASE("an all-zero group: s = -1e-7 floor, q0 = 0, bias 0, decodes to 0");
    for (int i = 0; i < 32; i++) w[i] = 0;
    CHECK_OK(tq_quantize(&p, "t", w, 1, 32, codes, aux, 0, &e), e);
    CHECK(sc == -1e-7f && bi == 0.0f);
    CHECK_OK(tq_dequantize(&p, 1, 32, codes, (const void *const *)aux, out, &e), e);
    for (int i = 0; i < 32; i++) CHECK(out[i] == 0.0f);
}

static void straddle(void) {
    TQ_CASE("3-bit: element 10 holds stream bits 30..32, across words 0 and 1 (LSB first)");
    tq_qparams p = {TQ_CODEC_MLX, 3, TQ_GRAN_GROUP, 32, 0, 0, 0, 0};
    uint32_t codes[3] = {1u << 30, 1u, 0};   /* code 5 = 101b: bit 30 and bit 32 */
    float sc = 1.0f, bi = 0.0f, out[32];
    const void *aux[TQ_MAX_AUX] = {&sc, &bi, NULL};
    tq_error e;
    CHECK_OK(tq_dequantize(&p, 1, 32, codes, aux, out, &e), e);
    for (int i = 0; i < 32; i++) CHECK_EQ_INT((int)out[i], i == 10 ? 5 : 0);

    TQ_CASE("6-bit: element 5 at stream bits 30..35; 5-bit: element 6 at bits 30..34");
    tq_qparams p6 = {TQ_CODEC_MLX, 6, TQ_GRAN_GROUP, 32, 0, 0, 0, 0};
    uint32_t c6[6] = {3u << 30, 0xfu, 0, 0, 0, 0};   /* 63 */
    CHECK_OK(tq_dequantize(&p6, 1, 32, c6, aux, out, &e), e);
    for (int i = 0; i < 32; i++) CHECK_EQ_INT((int)out[i], i == 5 ? 63 : 0);
    tq_qparams p5 = {TQ_CODEC_MLX, 5, TQ_GRAN_GROUP, 32, 0, 0, 0, 0};
    uint32_t c5[5] = {2u << 30, 0x6u, 0, 0, 0};      /* 11010b = 26 */
    CHECK_OK(tq_dequantize(&p5, 1, 32, c5, aux, out, &e), e);
    for (int i = 0; i < 32; i++) CHECK_EQ_INT((int)out[i], i == 6 ? 26 : 0);
}

static void side_rounding(void) {
    TQ_CASE("scales/biases rounded to the weight dtype, nearest even");
    CHECK(tq_mlx_round_side(1.0f + 0x1p-8f, TQ_DTYPE_BF16) == 1.0f);                 /* tie -> even */
    CHECK(tq_mlx_round_side(1.0f + 3 * 0x1p-8f, TQ_DTYPE_BF16) == 1.0f + 0x1p-6f);   /* tie -> even, up */
    CHECK(tq_mlx_round_side(1.0f + 0x1p-11f, TQ_DTYPE_F16) == 1.0f);
    CHECK(tq_mlx_round_side(0.1f, TQ_DTYPE_F32) == 0.1f);
}

static void refused(void) {
    TQ_CASE("refused: group 16, bits 7, a row not a whole number of groups, channel granularity");
    tq_error e;
    tq_qparams g16 = {TQ_CODEC_MLX, 4, TQ_GRAN_GROUP, 16, 0, 0, 0, 0};
    CHECK(tq_qparams_check(&g16, "m.weight", 2, 64, &e) != TQ_OK && strstr(e.msg, "m.weight"));
    tq_qparams b7 = {TQ_CODEC_MLX, 7, TQ_GRAN_GROUP, 32, 0, 0, 0, 0};
    CHECK(tq_qparams_check(&b7, "m.weight", 2, 64, &e) != TQ_OK);
    tq_qparams ok = {TQ_CODEC_MLX, 4, TQ_GRAN_GROUP, 64, 0, 0, 0, 0};
    CHECK(tq_qparams_check(&ok, "m.weight", 2, 96, &e) != TQ_OK);
    CHECK_OK(tq_qparams_check(&ok, "m.weight", 2, 128, &e), e);
    tq_qparams ch = {TQ_CODEC_MLX, 4, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
    CHECK(tq_qparams_check(&ch, "m.weight", 2, 64, &e) != TQ_OK);
    tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
    CHECK_EQ_INT(tq_qparams_layout(&ok, 3, 128, &cd, cs, ad), 2);
    CHECK(cd == TQ_DTYPE_U32 && cs[0] == 3 && cs[1] == 16 && ad[0].shape[1] == 2 && !strcmp(ad[1].suffix, "biases"));
}

void tq_tests(void) {
    ramp();
    straddle();
    side_rounding();
    refused();
}
