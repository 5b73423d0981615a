/* layout.c — the byte layout of every public struct python/trueq/_lib.py
 * mirrors with ctypes, as this compiler lays it out from the headers:
 * one line "STRUCT SIZE LASTFIELD OFFSET" each. test_layout.py compares
 * them with ctypes, so a header change that the binding misses fails there. */
#include <trueq.h>
#include <trueq_nn.h>
#include <trueq_spectral.h>
#include <trueq_verify.h>
#include <stddef.h>
#include <stdio.h>

#define ROW(T, last) printf("%s %zu %s %zu\n", #T, sizeof(T), #last, offsetof(T, last))

int main(void) {
    ROW(tq_error, msg);
    ROW(tq_qparams, method);
    ROW(tq_aux_desc, per_row);
    ROW(tq_tensor, rule);
    ROW(tq_format_info, caps);
    ROW(tq_codec_info, default_ggml_type);
    ROW(tq_convert_options, prequant_ctx);
    ROW(tq_convert_rule, origin);
    ROW(tq_plan_item, aux_bytes);
    ROW(tq_ledger_row, bits_per_weight);
    ROW(tq_ledger_totals, metadata_bytes);
    ROW(tq_verify_metrics, top_e2);
    ROW(tq_verify_row, grade);
    ROW(tq_spectral_layer, warning);
    ROW(tq_spectral_opts, svd);
    ROW(tq_spectral_report, analysed);
    ROW(tq_synth_options, max_pos);
    ROW(tq_enc_config, seq_limit);
    ROW(tq_enc_opts, keep_quantized);
    ROW(tq_wp_encoding, type_ids);
    ROW(tq_enc_seq, type_ids);
    return 0;
}
