/* cmd_inspect.c — `trueq inspect PATH`: the per-tensor ledger of a weight file. */
#include "cli.h"

static const char SYNOPSIS[] =
    "PATH [--json] [--strict] [--quiet]";
static const char DESCRIPTION[] =
    "PATH: a .safetensors, .npz or .gguf file, a model.safetensors.index.json, or a Hugging Face\n"
    "model directory (original or written by trueq convert).\n\n"
    "Prints one row per logical tensor: name, shape, stored dtype, codec and bits, payload bytes,\n"
    "scale bytes (scales, zero points, signs) and a note. The totals reconcile with the size of\n"
    "the files on disk to the byte: header + padding + data (+ index) = bytes on disk.\n"
    "GGUF: each tensor's ggml type (Q4_K, Q8_0, F16 ...), block size and bits per weight\n"
    "(Q4_K 4.5, Q6_K 6.5625: the block scales included); the header's key-value metadata and\n"
    "the alignment padding are counted.\n\n"
    "Fake quantization is detected and reported loudly: a float tensor holding at most 256\n"
    "distinct values, or one whose every row does (quantized values stored as floats: no bytes\n"
    "saved). Files written with `trueq convert --simulate` are reported as simulated, not as bugs.\n";

int tqc_print_ledger(const tq_model *m, const tq_ledger *l, FILE *f, bool json, bool rows) {
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    char b1[32], b2[32];
    if (json) {
        tqc_json j;
        tqc_json_init(&j, f, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        char fmt[64];
        snprintf(fmt, sizeof fmt, "%s%s", tq_model_sharded(m) ? "sharded-" : "", tq_format_by_id(tq_model_format(m))->name);
        tqc_json_fields(&j, "path:s format:s", tq_model_path(m), fmt);
        tqc_json_key(&j, "tensors");
        tqc_json_begin_array(&j);
        for (int64_t i = 0; rows && i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            const tq_tensor *t = r->t;
            tqc_json_begin_object(&j);
            tqc_json_kstr(&j, "name", t->name);
            tqc_json_key(&j, "shape");
            tqc_json_ints(&j, t->shape, t->ndim);
            tqc_json_fields(&j, "stored_dtype:s quantized:b simulated:b", tq_dtype_name(t->dtype), t->quantized, t->simulated);
            if (t->quantized || t->simulated) {
                const tq_codec_info *ci = tq_codec_by_id(t->q.codec);
                tqc_json_fields(&j, "codec:s bits:d granularity:s group:l original_dtype:s", ci ? ci->name : "?", t->q.bits,
                                tqc_gran_name(t->q.gran), (long long)t->q.group, tq_dtype_name(t->orig_dtype));
            }
            /* GGUF: every tensor's ggml type; a block type's block size and bytes */
            const char *gn = t->quantized && t->q.ggml_type ? tq_ggml_type_name(t->q.ggml_type)
                             : tq_model_format(m) == TQ_FORMAT_GGUF ? tq_dtype_name(t->dtype) : NULL;
            if (gn) {
                long long blk = t->quantized ? (long long)t->q.group : 1;
                tqc_json_fields(&j, "ggml_type:s block:l block_bytes:u", gn, blk,
                                (unsigned long long)(t->numel ? r->payload_bytes / (uint64_t)(t->numel / blk) : 0));
            }
            tqc_json_fields(&j, "numel:l payload_bytes:u scale_bytes:u bits_per_weight:f fake_quant:b distinct_values:l note:s",
                            (long long)t->numel, (unsigned long long)r->payload_bytes, (unsigned long long)r->aux_bytes,
                            r->bits_per_weight, r->fake, (long long)r->distinct, r->note);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_key(&j, "totals");
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "file_bytes:u header_bytes:u padding_bytes:u payload_bytes:u scale_bytes:u stored_data_bytes:u "
                        "other_bytes:u metadata_bytes:u", (unsigned long long)T->file_bytes, (unsigned long long)T->header_bytes,
                        (unsigned long long)T->padding_bytes, (unsigned long long)T->payload_bytes,
                        (unsigned long long)T->aux_bytes, (unsigned long long)T->stored_data_bytes,
                        (unsigned long long)T->other_bytes, (unsigned long long)T->metadata_bytes);
        tqc_json_fields(&j, "tensors:l quantized:l simulated:l fake_quant:l weights:l quantized_weights:l",
                        (long long)T->n_tensors, (long long)T->n_quantized, (long long)T->n_simulated, (long long)T->n_fake,
                        (long long)T->numel, (long long)T->numel_quantized);
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
    if (T->metadata_bytes)
        fprintf(f, "          (the header holds %llu bytes of key-value metadata; padding is alignment)\n",
                (unsigned long long)T->metadata_bytes);
    if (T->stored_data_bytes != T->payload_bytes + T->aux_bytes)
        fprintf(f, "          (the file stores the %llu data bytes in %llu: zip compression, or tensors sharing a storage)\n",
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

static int run(const tqc_ctx *c, void *va) {
    const inspect_args *a = va;
    tq_error err;
    tq_model *m = tq_model_open(c->pos[0], &err);
    if (!m) return tqc_fail(c->cmd, &err);
    tq_ledger *l = tq_ledger_create(m, &err);
    if (!l) { tq_model_close(m); return tqc_fail(c->cmd, &err); }
    tqc_print_ledger(m, l, stdout, c->json, !a->quiet);
    int64_t fake = tq_ledger_totals_get(l)->n_fake;
    if (fake && c->json) fprintf(stderr, "trueq inspect: WARNING: %lld tensor(s) hold quantized values stored as floats\n", (long long)fake);
    tq_ledger_free(l);
    tq_model_close(m);
    return (a->strict && fake) ? TQC_EXIT_THRESHOLD : TQC_EXIT_OK;
}

static const tqc_opt OPTS[] = {
    TQC_O_FLAG("--strict", NULL, inspect_args, strict, "exit with status 3 when fake quantization is found"),
    TQC_O_FLAG("--quiet", NULL, inspect_args, quiet, "totals only, no per-tensor rows"),
};

const tqc_command tqc_cmd_inspect = {.name = "inspect", .summary = "per-tensor ledger of a weight file; detects fake quantization",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 1, .pos_names = "PATH", TQC_ARGS(inspect_args, NULL), .run = run, .route = NULL};
