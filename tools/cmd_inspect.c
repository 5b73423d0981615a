/* cmd_inspect.c — `trueq inspect PATH`: the per-tensor ledger of a weight file. */
#include "cli.h"

int tqc_print_ledger(const tq_model *m, const tq_ledger *l, FILE *f, bool json, bool rows) {
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    char b1[32], b2[32];
    if (json) {
        tqc_json j;
        tqc_json_init(&j, f, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_kstr(&j, "path", tq_model_path(m));
        tqc_json_kstr(&j, "format", tq_model_source(m) == TQ_SOURCE_NPZ       ? "npz"
                                    : tq_model_source(m) == TQ_SOURCE_SHARDED ? "sharded-safetensors"
                                                                              : "safetensors");
        tqc_json_key(&j, "tensors");
        tqc_json_begin_array(&j);
        for (int64_t i = 0; rows && i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            const tq_tensor *t = r->t;
            tqc_json_begin_object(&j);
            tqc_json_kstr(&j, "name", t->name);
            tqc_json_key(&j, "shape");
            tqc_json_ints(&j, t->shape, t->ndim);
            tqc_json_kstr(&j, "stored_dtype", tq_dtype_name(t->dtype));
            tqc_json_kbool(&j, "quantized", t->quantized);
            tqc_json_kbool(&j, "simulated", t->simulated);
            if (t->quantized || t->simulated) {
                const tq_codec_info *ci = tq_codec_by_id(t->q.codec);
                tqc_json_kstr(&j, "codec", ci ? ci->name : "?");
                tqc_json_kint(&j, "bits", t->q.bits);
                tqc_json_kstr(&j, "granularity", tqc_gran_name(t->q.gran));
                tqc_json_kint(&j, "group", t->q.group);
                tqc_json_kstr(&j, "original_dtype", tq_dtype_name(t->orig_dtype));
            }
            tqc_json_kint(&j, "numel", t->numel);
            tqc_json_kuint(&j, "payload_bytes", r->payload_bytes);
            tqc_json_kuint(&j, "scale_bytes", r->aux_bytes);
            tqc_json_kbool(&j, "fake_quant", r->fake);
            tqc_json_kint(&j, "distinct_values", r->distinct);
            tqc_json_kstr(&j, "note", r->note);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_key(&j, "totals");
        tqc_json_begin_object(&j);
        const struct { const char *k; uint64_t v; } U[] = {
            {"file_bytes", T->file_bytes}, {"header_bytes", T->header_bytes}, {"padding_bytes", T->padding_bytes},
            {"payload_bytes", T->payload_bytes}, {"scale_bytes", T->aux_bytes}, {"stored_data_bytes", T->stored_data_bytes},
            {"other_bytes", T->other_bytes}};
        for (size_t k = 0; k < sizeof U / sizeof U[0]; k++) tqc_json_kuint(&j, U[k].k, U[k].v);
        tqc_json_kint(&j, "tensors", T->n_tensors);
        tqc_json_kint(&j, "quantized", T->n_quantized);
        tqc_json_kint(&j, "simulated", T->n_simulated);
        tqc_json_kint(&j, "fake_quant", T->n_fake);
        tqc_json_kint(&j, "weights", T->numel);
        tqc_json_kint(&j, "quantized_weights", T->numel_quantized);
        tqc_json_key(&j, "bytes_by_dtype");
        tqc_json_begin_object(&j);
        for (int d = 1; d < TQ_DTYPE_COUNT; d++)
            if (T->by_dtype[d]) tqc_json_kuint(&j, tq_dtype_name((tq_dtype)d), T->by_dtype[d]);
        tqc_json_end_object(&j);
        tqc_json_end_object(&j);
        tqc_json_end_object(&j);
        return 0;
    }
    if (rows) {
        fprintf(f, "%-56s %-16s %-6s %-22s %12s %10s  %s\n", "tensor", "shape", "stored", "codec", "payload", "scales", "note");
        for (int64_t i = 0; i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            const tq_tensor *t = r->t;
            char sh[64], qs[64] = "-";
            tqc_fmt_shape(t->shape, t->ndim, ", ", sh, sizeof sh);
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
            tqc_fmt_bytes(T->file_bytes, b1, sizeof b1));
    if (T->stored_data_bytes != T->payload_bytes + T->aux_bytes)
        fprintf(f, "          (zip compression stores the %llu data bytes in %llu)\n",
                (unsigned long long)(T->payload_bytes + T->aux_bytes), (unsigned long long)T->stored_data_bytes);
    fprintf(f, "by dtype ");
    for (int d = 1; d < TQ_DTYPE_COUNT; d++)
        if (T->by_dtype[d]) fprintf(f, " %s %s;", tq_dtype_name((tq_dtype)d), tqc_fmt_bytes(T->by_dtype[d], b2, sizeof b2));
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

typedef struct inspect_args { bool strict, quiet; } inspect_args;

static const tqc_opt OPTS[] = {
    TQC_O_FLAG("--strict", NULL, inspect_args, strict, "exit with status 3 when fake quantization is found"),
    TQC_O_FLAG("--quiet", NULL, inspect_args, quiet, "totals only, no per-tensor rows"),
};

static int run(const tqc_ctx *c, void *va) {
    const inspect_args *a = va;
    tq_error err;
    tq_model *m = tq_model_open(c->pos[0], &err);
    if (!m) return tqc_fail(c->cmd, &err);
    tq_ledger *l = tq_ledger_build(m, &err);
    if (!l) { tq_model_close(m); return tqc_fail(c->cmd, &err); }
    tqc_print_ledger(m, l, stdout, c->json, !a->quiet);
    int64_t fake = tq_ledger_totals_get(l)->n_fake;
    if (fake && c->json) fprintf(stderr, "trueq inspect: WARNING: %lld tensor(s) hold quantized values stored as floats\n", (long long)fake);
    tq_ledger_free(l);
    tq_model_close(m);
    return (a->strict && fake) ? TQC_EXIT_THRESHOLD : TQC_EXIT_OK;
}

const tqc_command tqc_cmd_inspect = {
    .name = "inspect",
    .summary = "per-tensor ledger of a weight file; detects fake quantization",
    .synopsis = "PATH [--json] [--strict] [--quiet]",
    .description =
        "PATH: a .safetensors or .npz file, a model.safetensors.index.json, or a Hugging Face model\n"
        "directory (original or written by trueq convert).\n\n"
        "Prints one row per logical tensor: name, shape, stored dtype, codec and bits, payload bytes,\n"
        "scale bytes (scales, zero points, signs) and a note. The totals reconcile with the size of\n"
        "the files on disk to the byte: header + padding + data (+ index) = bytes on disk.\n\n"
        "Fake quantization is detected and reported loudly: a float tensor holding at most 256\n"
        "distinct values, or one whose every row does (quantized values stored as floats: no bytes\n"
        "saved). Files written with `trueq convert --simulate` are reported as simulated, not as bugs.\n",
    .opts = OPTS, .nopts = sizeof OPTS / sizeof OPTS[0], .has_json = true,
    .min_pos = 1, .max_pos = 1, .pos_names = "PATH",
    .args_size = sizeof(inspect_args), .run = run,
};
