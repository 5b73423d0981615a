/* cmd_inspect.c — `trueq inspect PATH`: the per-tensor ledger of a weight file. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq inspect PATH [--json] [--strict] [--quiet]\n\n"
    "PATH: a .safetensors or .npz file, a model.safetensors.index.json, or a Hugging Face model\n"
    "directory (original or written by trueq convert).\n\n"
    "Prints one row per logical tensor: name, shape, stored dtype, codec and bits, payload bytes,\n"
    "scale bytes (scales, zero points, signs) and a note. The totals reconcile with the size of\n"
    "the files on disk to the byte: header + padding + data (+ index) = bytes on disk.\n\n"
    "Fake quantization is detected and reported loudly: a float tensor holding at most 256\n"
    "distinct values, or one whose every row does (quantized values stored as floats: no bytes\n"
    "saved). Files written with `trueq convert --simulate` are reported as simulated, not as bugs.\n\n"
    "  --json     machine-readable output (one JSON object)\n"
    "  --strict   exit with status 3 when fake quantization is found\n"
    "  --quiet    totals only, no per-tensor rows\n";

static void shape_str(const tq_tensor *t, char *buf, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int d = 0; d < t->ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

int tq_cli_print_ledger(const tq_model *m, const tq_ledger *l, FILE *f, bool json, bool rows) {
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    char b1[32], b2[32];
    if (json) {
        fprintf(f, "{\"path\": ");
        tq_json_str(f, tq_model_path(m));
        fprintf(f, ", \"format\": \"%s%s\", \"tensors\": [", tq_model_sharded(m) ? "sharded-" : "",
                tq_format_by_id(tq_model_format(m))->name);
        for (int64_t i = 0; rows && i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            const tq_tensor *t = r->t;
            fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
            tq_json_str(f, t->name);
            fprintf(f, ", \"shape\": [");
            for (int d = 0; d < t->ndim; d++) fprintf(f, d ? ", %lld" : "%lld", (long long)t->shape[d]);
            fprintf(f, "], \"stored_dtype\": \"%s\", \"quantized\": %s, \"simulated\": %s", tq_dtype_name(t->dtype),
                    t->quantized ? "true" : "false", t->simulated ? "true" : "false");
            if (t->quantized || t->simulated) {
                const tq_codec_info *ci = tq_codec_by_id(t->q.codec);
                fprintf(f, ", \"codec\": \"%s\", \"bits\": %d, \"granularity\": \"%s\", \"group\": %lld, \"original_dtype\": \"%s\"",
                        ci ? ci->name : "?", t->q.bits, t->q.gran == TQ_GRAN_TENSOR ? "tensor" : t->q.gran == TQ_GRAN_CHANNEL ? "channel" : "group",
                        (long long)t->q.group, tq_dtype_name(t->orig_dtype));
            }
            fprintf(f, ", \"numel\": %lld, \"payload_bytes\": %llu, \"scale_bytes\": %llu, \"fake_quant\": %s, \"distinct_values\": %lld, \"note\": ",
                    (long long)t->numel, (unsigned long long)r->payload_bytes, (unsigned long long)r->aux_bytes,
                    r->fake ? "true" : "false", (long long)r->distinct);
            tq_json_str(f, r->note);
            fprintf(f, "}");
        }
        fprintf(f, "],\n \"totals\": {\"file_bytes\": %llu, \"header_bytes\": %llu, \"padding_bytes\": %llu, "
                   "\"payload_bytes\": %llu, \"scale_bytes\": %llu, \"stored_data_bytes\": %llu, \"other_bytes\": %llu, "
                   "\"tensors\": %lld, \"quantized\": %lld, \"simulated\": %lld, \"fake_quant\": %lld, \"weights\": %lld, "
                   "\"quantized_weights\": %lld, \"bytes_by_dtype\": {",
                (unsigned long long)T->file_bytes, (unsigned long long)T->header_bytes, (unsigned long long)T->padding_bytes,
                (unsigned long long)T->payload_bytes, (unsigned long long)T->aux_bytes, (unsigned long long)T->stored_data_bytes,
                (unsigned long long)T->other_bytes, (long long)T->n_tensors, (long long)T->n_quantized, (long long)T->n_simulated,
                (long long)T->n_fake, (long long)T->numel, (long long)T->numel_quantized);
        bool first = true;
        for (int d = 1; d < TQ_DTYPE_COUNT; d++)
            if (T->by_dtype[d]) { fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", tq_dtype_name((tq_dtype)d), (unsigned long long)T->by_dtype[d]); first = false; }
        fprintf(f, "}}}\n");
        return 0;
    }
    if (rows) {
        fprintf(f, "%-56s %-16s %-6s %-22s %12s %10s  %s\n", "tensor", "shape", "stored", "codec", "payload", "scales", "note");
        for (int64_t i = 0; i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            const tq_tensor *t = r->t;
            char sh[64], qs[64] = "-";
            shape_str(t, sh, sizeof sh);
            if (t->quantized || t->simulated) tq_qparams_str(&t->q, qs, sizeof qs);
            fprintf(f, "%-56s %-16s %-6s %-22s %12llu %10llu  %s%s\n", t->name, sh, tq_dtype_name(t->dtype), qs,
                    (unsigned long long)r->payload_bytes, (unsigned long long)r->aux_bytes, r->fake ? "FAKE QUANT: " : "", r->note);
        }
        fputc('\n', f);
    }
    fprintf(f, "file      %s\n", tq_model_path(m));
    fprintf(f, "tensors   %lld (%lld quantized, %lld simulated, %lld kept)\n", (long long)T->n_tensors, (long long)T->n_quantized,
            (long long)T->n_simulated, (long long)(T->n_tensors - T->n_quantized - T->n_simulated));
    fprintf(f, "bytes     payload %llu + scales %llu + header %llu + padding %llu%s = %llu on disk (%s)\n",
            (unsigned long long)T->payload_bytes, (unsigned long long)T->aux_bytes, (unsigned long long)T->header_bytes,
            (unsigned long long)T->padding_bytes, T->other_bytes ? " + index" : "", (unsigned long long)T->file_bytes,
            tq_fmt_bytes(T->file_bytes, b1, sizeof b1));
    if (T->stored_data_bytes != T->payload_bytes + T->aux_bytes)
        fprintf(f, "          (zip compression stores the %llu data bytes in %llu)\n",
                (unsigned long long)(T->payload_bytes + T->aux_bytes), (unsigned long long)T->stored_data_bytes);
    fprintf(f, "by dtype ");
    for (int d = 1; d < TQ_DTYPE_COUNT; d++)
        if (T->by_dtype[d]) fprintf(f, " %s %s;", tq_dtype_name((tq_dtype)d), tq_fmt_bytes(T->by_dtype[d], b2, sizeof b2));
    fputc('\n', f);
    if (T->numel)
        fprintf(f, "bits/weight  %.3f over all %lld weights (file size)\n", (double)T->file_bytes * 8.0 / (double)T->numel,
                (long long)T->numel);
    if (T->n_fake)
        fprintf(f, "\nWARNING: %lld tensor(s) hold quantized values stored as floats: no bytes were saved.\n"
                   "         See the FAKE QUANT rows above; convert from the original weights with `trueq convert`.\n",
                (long long)T->n_fake);
    if (T->n_simulated)
        fprintf(f, "note: %lld tensor(s) hold simulated quantization (values quantized then stored as floats): no compression.\n",
                (long long)T->n_simulated);
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    tq_args a;
    tq_args_init(&a, argc, argv);
    bool json = false, strict = false, quiet = false;
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--strict")) strict = true;
        else if (tq_args_flag(&a, "--quiet")) quiet = true;
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, "inspect");
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 1) { fputs(USAGE, stderr); return TQ_EXIT_USAGE; }
    tq_error err;
    tq_model *m = tq_model_open(a.pos[0], &err);
    if (!m) return tq_cli_fail("inspect", &err);
    tq_ledger *l = tq_ledger_build(m, &err);
    if (!l) { tq_model_close(m); return tq_cli_fail("inspect", &err); }
    tq_cli_print_ledger(m, l, stdout, json, !quiet);
    int64_t fake = tq_ledger_totals_get(l)->n_fake;
    if (fake && json) fprintf(stderr, "trueq inspect: WARNING: %lld tensor(s) hold quantized values stored as floats\n", (long long)fake);
    tq_ledger_free(l);
    tq_model_close(m);
    return (strict && fake) ? TQ_EXIT_THRESHOLD : 0;
}
