/* cmd_convert.c — `trueq convert IN -o OUT`: real low-bit storage, honest report. */
#include "cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *USAGE =
    "usage: trueq convert IN -o OUTDIR [options]\n\n"
    "IN: a .safetensors or .npz file, a model.safetensors.index.json, or a Hugging Face model directory.\n"
    "Writes OUTDIR/model.safetensors (or weights.npz), OUTDIR/conversion_metadata.json and copies\n"
    "config/tokenizer files. Codes are stored as real low-bit integers: int8 as I8 (1 byte), 4-bit\n"
    "two per byte, 2-bit four per byte (U8), with F32 scales beside them (docs/convert.md).\n"
    "Files are written under temporary names and renamed: a failed run leaves nothing.\n\n"
    "quantization:\n"
    "  --bits 8|4|2             code width (default 8)\n"
    "  --scheme symmetric|affine  linear symmetric (max|w|/qmax) or affine (min/max + zero point)\n"
    "  --codec NAME             any codec of `trueq codecs` (overrides --scheme); without --bits or\n"
    "                           --granularity a codec gets its natural ones (nf4: 4 bits, group:64)\n"
    "  --alpha A                qins-rational: the alpha of e = sign(w)/(1+alpha|w|) (default: calibrated\n"
    "                           per block to the smallest squared error; the seeds used 1)\n"
    "  --granularity tensor|channel|group:N   one scale per tensor, per output row (default),\n"
    "                           or per N inputs along each row (N must divide the row length)\n"
    "  --pad                    allow a shorter last group when N does not divide a row\n"
    "  --simulate               store quantize->dequantize values in the original float dtype\n"
    "                           (for spectral studies; no compression, marked in the metadata)\n"
    "  --allow-nonfinite        quantize NaN/Inf as 0 instead of failing\n"
    "policy (default: quantize 2-D *.weight matrices; keep embeddings, norms, biases, 1-D):\n"
    "  --quantize-embeddings    also quantize embedding matrices (per row)\n"
    "  --include GLOB           also quantize tensors matching GLOB (repeatable)\n"
    "  --exclude GLOB           keep tensors matching GLOB as they are (repeatable)\n"
    "  (a glob that matches no tensor is an error)\n"
    "output:\n"
    "  -o, --output OUTDIR      output directory (created; must not be the input's directory)\n"
    "  --format safetensors|npz output container (default safetensors)\n"
    "  --target-size SIZE       e.g. 125MB: fail (exit 3, nothing written) if the output would be\n"
    "                           larger, and say what stands in the way\n"
    "  --dry-run                print the plan with the exact sizes the run will produce; write nothing\n"
    "  --json                   machine-readable report\n\n"
    "example: trueq convert distilbert/ -o distilbert-int8 --bits 8 --target-size 125MB --quantize-embeddings\n";

typedef struct { const char *label; uint64_t bytes; int64_t count; tq_dtype dtype; bool mixed; } reason_sum;

/* Group kept tensors by why they stayed wide. */
static int kept_reasons(const tq_plan *p, reason_sum *r) {
    static const char *const labels[] = {"embeddings", "norms", "1-D tensors (biases, gains)", "non-float tensors",
                                         "--exclude", "other kept tensors"};
    for (int i = 0; i < 6; i++) { r[i].label = labels[i]; r[i].bytes = 0; r[i].count = 0; r[i].dtype = TQ_DTYPE_INVALID; r[i].mixed = false; }
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        if (it->quantize) continue;
        int k = strstr(it->rule, "embedding") ? 0 : strstr(it->rule, "normalization") ? 1 : strstr(it->rule, "-D tensor") ? 2
              : strstr(it->rule, "not a float") ? 3 : strstr(it->rule, "--exclude") ? 4 : 5;
        r[k].bytes += it->out_bytes;
        if (r[k].count && r[k].dtype != it->out_dtype) r[k].mixed = true;
        r[k].dtype = it->out_dtype;
        r[k].count++;
    }
    return 6;
}

static void progress_cb(void *ud, int64_t done, int64_t total, const char *name) {
    (void)ud; (void)name;
    tq_progress("trueq convert: tensor", done, total);
}

typedef struct summary {
    uint64_t in_bytes, out_bytes, payload, scales, header, padding, by_dtype[TQ_DTYPE_COUNT];
    int64_t nq, nk, numel, numel_q;
    uint64_t q_bytes;   /* payload + scales of quantized tensors */
} summary;

static void summarize_plan(const tq_plan *p, summary *s) {
    memset(s, 0, sizeof *s);
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        s->in_bytes += it->in_bytes;
        s->payload += it->out_bytes;
        s->scales += it->aux_bytes;
        s->numel += it->src->numel;
        if (it->quantize) { s->nq++; s->numel_q += it->src->numel; s->q_bytes += it->out_bytes + it->aux_bytes; }
        else s->nk++;
    }
    s->out_bytes = tq_plan_output_bytes(p);
    tq_plan_bytes_by_dtype(p, s->by_dtype);
}

static void print_report(FILE *f, bool json, const char *in, const char *out, const tq_plan *p, const summary *s,
                         uint64_t in_file_bytes, bool measured, const tq_ledger_totals *T, uint64_t target, bool dry) {
    char b1[32], b2[32], b3[32], qs[64];
    const tq_plan_item *first_q = NULL;
    for (int64_t i = 0; i < tq_plan_count(p) && !first_q; i++) if (tq_plan_item_at(p, i)->quantize) first_q = tq_plan_item_at(p, i);
    reason_sum r[6];
    int nr = kept_reasons(p, r);
    double ratio = s->out_bytes ? (double)in_file_bytes / (double)s->out_bytes : 0;
    double bpw_all = s->numel ? (double)s->out_bytes * 8.0 / (double)s->numel : 0;
    double bpw_q = s->numel_q ? (double)s->q_bytes * 8.0 / (double)s->numel_q : 0;
    bool pass = !target || s->out_bytes <= target;
    if (json) {
        fprintf(f, "{\"input\": ");
        tq_json_str(f, in);
        fprintf(f, ", \"output\": ");
        if (out) tq_json_str(f, out); else fputs("null", f);
        fprintf(f, ", \"dry_run\": %s, \"measured\": %s, \"weights_file\": \"%s\", \"input_bytes\": %llu, \"output_bytes\": %llu, "
                   "\"compression_ratio\": %.6f, \"quantized_tensors\": %lld, \"kept_tensors\": %lld, \"payload_bytes\": %llu, "
                   "\"scale_bytes\": %llu, \"header_bytes\": %llu, \"bits_per_weight_all\": %.6f, \"bits_per_weight_quantized\": %.6f, "
                   "\"bytes_by_dtype\": {",
                dry ? "true" : "false", measured ? "true" : "false", tq_plan_output_name(p), (unsigned long long)in_file_bytes,
                (unsigned long long)s->out_bytes, ratio, (long long)s->nq, (long long)s->nk, (unsigned long long)s->payload,
                (unsigned long long)s->scales, (unsigned long long)(s->out_bytes - s->payload - s->scales), bpw_all, bpw_q);
        bool firstd = true;
        const uint64_t *bd = T ? T->by_dtype : s->by_dtype;
        for (int d = 1; d < TQ_DTYPE_COUNT; d++)
            if (bd[d]) { fprintf(f, "%s\"%s\": %llu", firstd ? "" : ", ", tq_dtype_name((tq_dtype)d), (unsigned long long)bd[d]); firstd = false; }
        fprintf(f, "}, \"kept\": [");
        bool fk = true;
        for (int i = 0; i < nr; i++)
            if (r[i].count) {
                fprintf(f, "%s{\"reason\": \"%s\", \"tensors\": %lld, \"bytes\": %llu}", fk ? "" : ", ", r[i].label, (long long)r[i].count,
                        (unsigned long long)r[i].bytes);
                fk = false;
            }
        fprintf(f, "]");
        if (target) fprintf(f, ", \"target_bytes\": %llu, \"target_met\": %s", (unsigned long long)target, pass ? "true" : "false");
        fprintf(f, "}\n");
        return;
    }
    fprintf(f, "%s %s -> %s (%s, %s)\n", dry ? "plan:" : "converted:", in, out ? out : "(dry run)", tq_plan_output_name(p),
            first_q ? tq_qparams_str(&first_q->q, qs, sizeof qs) : "nothing quantized");
    fprintf(f, "  input       %s (%llu bytes)\n", tq_fmt_bytes(in_file_bytes, b1, sizeof b1), (unsigned long long)in_file_bytes);
    fprintf(f, "  output      %s (%llu bytes, %s)   ratio %.2fx\n", tq_fmt_bytes(s->out_bytes, b2, sizeof b2),
            (unsigned long long)s->out_bytes, measured ? "measured: size of the written file" : "exact plan: the run writes this many bytes", ratio);
    fprintf(f, "  tensors     %lld quantized, %lld kept\n", (long long)s->nq, (long long)s->nk);
    fprintf(f, "  stored      ");
    const uint64_t *bd = T ? T->by_dtype : s->by_dtype;
    for (int d = 1; d < TQ_DTYPE_COUNT; d++) if (bd[d]) fprintf(f, "%s %s; ", tq_dtype_name((tq_dtype)d), tq_fmt_bytes(bd[d], b1, sizeof b1));
    fputc('\n', f);
    fprintf(f, "  scales      %s (scales, zero points and other side tensors)\n", tq_fmt_bytes(s->scales, b1, sizeof b1));
    fprintf(f, "  header      %s (+ padding)\n", tq_fmt_bytes(s->out_bytes - s->payload - s->scales, b1, sizeof b1));
    fprintf(f, "  bits/weight %.3f over all %lld weights; %.3f over the %lld quantized weights (codes + scales)\n", bpw_all,
            (long long)s->numel, bpw_q, (long long)s->numel_q);
    for (int i = 0; i < nr; i++)
        if (r[i].count)
            fprintf(f, "  kept wide   %s kept as %s: %s (%lld tensors)\n", r[i].label, r[i].mixed ? "their own dtypes" : tq_dtype_name(r[i].dtype),
                    tq_fmt_bytes(r[i].bytes, b1, sizeof b1), (long long)r[i].count);
    if (target) {
        fprintf(f, "  target      %s: %s", tq_fmt_bytes(target, b1, sizeof b1), pass ? "PASS" : "FAIL");
        if (!pass) {
            fprintf(f, " (%s over)\n", tq_fmt_bytes(s->out_bytes - target, b2, sizeof b2));
            for (int i = 0; i < nr; i++)
                if (r[i].count && r[i].bytes > 0)
                    fprintf(f, "              in the way: %s kept as %s: %s%s\n", r[i].label,
                            r[i].mixed ? "their own dtypes" : tq_dtype_name(r[i].dtype), tq_fmt_bytes(r[i].bytes, b3, sizeof b3),
                            i == 0 ? " (--quantize-embeddings)" : i == 4 ? " (drop the --exclude)" : "");
            /* the single kept tensors that weigh most */
            for (int64_t i = 0; i < tq_plan_count(p); i++) {
                const tq_plan_item *it = tq_plan_item_at(p, i);
                if (!it->quantize && it->out_bytes * 20 >= s->out_bytes)
                    fprintf(f, "              largest: %s kept as %s: %s\n", it->src->name, tq_dtype_name(it->out_dtype),
                            tq_fmt_bytes(it->out_bytes, b3, sizeof b3));
            }
            if (first_q && first_q->q.bits > 2) fprintf(f, "              or fewer bits (--bits %d)\n", first_q->q.bits == 8 ? 4 : 2);
        } else {
            fputc('\n', f);
        }
    }
}

static bool parse_gran(const char *v, tq_qparams *q) {
    if (!strcmp(v, "tensor")) { q->gran = TQ_GRAN_TENSOR; q->group = 0; return true; }
    if (!strcmp(v, "channel") || !strcmp(v, "row")) { q->gran = TQ_GRAN_CHANNEL; q->group = 0; return true; }
    if (!strncmp(v, "group", 5)) {
        q->gran = TQ_GRAN_GROUP;
        q->group = 64;
        if (v[5] == ':' || v[5] == '=') {
            char *e;
            errno = 0;
            long long g = strtoll(v + 6, &e, 10);
            if (*e || e == v + 6 || g <= 0 || errno == ERANGE || g > (1LL << 40)) return false;
            q->group = g;
        }
        else if (v[5]) return false;
        return true;
    }
    return false;
}

int cmd_convert(int argc, char **argv) {
    tq_convert_options o;
    tq_convert_options_init(&o);
    const char *out = NULL, *v, *incl[64], *excl[64];
    int ninc = 0, nexc = 0;
    bool json = false, dry = false, scheme_set = false, codec_set = false, bits_set = false, gran_set = false;
    uint64_t target = 0;
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (tq_args_value(&a, "-o", "--output", &out)) {}
        else if (tq_args_value(&a, NULL, "--bits", &v)) {
            o.q.bits = atoi(v);
            bits_set = true;
            if (strcmp(v, "8") && strcmp(v, "4") && strcmp(v, "2")) return tq_cli_usage_error("convert", "--bits must be 8, 4 or 2, got %s", v);
        } else if (tq_args_value(&a, NULL, "--scheme", &v)) {
            if (!strcmp(v, "symmetric") || !strcmp(v, "sym")) o.q.codec = TQ_CODEC_LINEAR_SYM;
            else if (!strcmp(v, "affine") || !strcmp(v, "asymmetric")) o.q.codec = TQ_CODEC_LINEAR_AFFINE;
            else return tq_cli_usage_error("convert", "--scheme must be symmetric or affine, got %s", v);
            scheme_set = true;
        } else if (tq_args_value(&a, NULL, "--codec", &v)) {
            const tq_codec_info *ci = tq_codec_by_name(v);
            if (!ci) return tq_cli_usage_error("convert", "unknown codec %s (trueq codecs lists them)", v);
            o.q.codec = ci->id;
            codec_set = true;
        } else if (tq_args_value(&a, NULL, "--granularity", &v)) {
            if (!parse_gran(v, &o.q)) return tq_cli_usage_error("convert", "--granularity must be tensor, channel or group:N, got %s", v);
            gran_set = true;
        } else if (tq_args_value(&a, NULL, "--alpha", &v)) {
            char *e;
            double al = strtod(v, &e);
            if (*e || !(al > 0) || al > 1e30) return tq_cli_usage_error("convert", "--alpha must be a positive number, got %s", v);
            o.q.alpha = (float)al;
        } else if (tq_args_flag(&a, "--pad")) o.q.pad = 1;
        else if (tq_args_flag(&a, "--simulate")) o.simulate = 1;
        else if (tq_args_flag(&a, "--allow-nonfinite")) o.allow_nonfinite = 1;
        else if (tq_args_flag(&a, "--quantize-embeddings")) o.quantize_embeddings = 1;
        else if (tq_args_value(&a, NULL, "--include", &v)) {
            if (ninc == 64) return tq_cli_usage_error("convert", "at most 64 --include globs");
            incl[ninc++] = v;
        } else if (tq_args_value(&a, NULL, "--exclude", &v)) {
            if (nexc == 64) return tq_cli_usage_error("convert", "at most 64 --exclude globs");
            excl[nexc++] = v;
        }
        else if (tq_args_value(&a, NULL, "--format", &v)) {
            const tq_format_info *fi = tq_format_by_name(v);
            char names[256];
            if (fi && (fi->caps & TQ_FORMAT_CAN_WRITE)) o.format = fi->id;
            else return tq_cli_usage_error("convert", "--format must be %s, got %s",
                                           tq_format_names(TQ_FORMAT_CAN_WRITE, names, sizeof names), v);
        } else if (tq_args_value(&a, NULL, "--target-size", &v)) {
            if (!tq_parse_size(v, &target) || !target) return tq_cli_usage_error("convert", "--target-size: cannot read a size from \"%s\" (e.g. 125MB)", v);
        } else if (tq_args_flag(&a, "--dry-run")) dry = true;
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, "convert");
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 1) { fputs(USAGE, stderr); return TQ_EXIT_USAGE; }
    if (!out && !dry) return tq_cli_usage_error("convert", "missing -o OUTDIR");
    if (scheme_set && codec_set) return tq_cli_usage_error("convert", "give --scheme or --codec, not both");
    {   /* a codec's natural settings where the user gave none: its widest bits; NF4 in groups of 64 */
        const tq_codec_info *ci = tq_codec_by_id(o.q.codec);
        if (ci && !bits_set && !(ci->bits_mask & (1u << o.q.bits)))
            for (int b = 16; b >= 1; b--) if (ci->bits_mask & (1u << b)) { o.q.bits = b; break; }
        if (!gran_set && o.q.codec == TQ_CODEC_NF4) { o.q.gran = TQ_GRAN_GROUP; o.q.group = 64; }
        if (o.q.alpha > 0 && o.q.codec != TQ_CODEC_QINS_RATIONAL)
            return tq_cli_usage_error("convert", "--alpha applies to --codec qins-rational only");
    }
    o.include = incl; o.n_include = ninc;
    o.exclude = excl; o.n_exclude = nexc;
    const char *in = a.pos[0];

    tq_error err;
    tq_model *m = tq_model_open(in, &err);
    if (!m) return tq_cli_fail("convert", &err);
    uint64_t in_file_bytes = 0;
    {   /* measured input size: every file the model reads */
        tq_ledger *l = tq_ledger_build(m, &err);
        if (!l) { tq_model_close(m); return tq_cli_fail("convert", &err); }
        in_file_bytes = tq_ledger_totals_get(l)->file_bytes;
        tq_ledger_free(l);
    }
    tq_plan *p = tq_plan_create(m, &o, &err);
    if (!p) { tq_model_close(m); return tq_cli_fail("convert", &err); }
    summary s;
    summarize_plan(p, &s);
    int rc = 0;
    if (dry || (target && s.out_bytes > target)) {
        print_report(stdout, json, in, out, p, &s, in_file_bytes, false, NULL, target, true);
        if (target && s.out_bytes > target) {
            fprintf(stderr, "trueq convert: the output would be %llu bytes, over the target of %llu; nothing written\n",
                    (unsigned long long)s.out_bytes, (unsigned long long)target);
            rc = TQ_EXIT_THRESHOLD;
        }
        tq_plan_free(p);
        tq_model_close(m);
        return rc;
    }
    if (tq_plan_execute(p, out, progress_cb, NULL, &err)) {
        tq_progress_done();
        tq_plan_free(p); tq_model_close(m);
        return tq_cli_fail("convert", &err);
    }
    tq_progress_done();
    /* the report is measured from what was written: reopen it */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, tq_plan_output_name(p));
    struct stat st;
    tq_model *q = tq_model_open(path, &err);
    tq_ledger *l = q ? tq_ledger_build(q, &err) : NULL;
    if (!l || stat(path, &st) != 0) {
        tq_model_close(q); tq_plan_free(p); tq_model_close(m);
        return tq_cli_fail("convert", &err);
    }
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    if ((uint64_t)st.st_size != s.out_bytes || T->file_bytes != s.out_bytes) {
        fprintf(stderr, "trueq convert: internal error: planned %llu bytes, file holds %llu\n", (unsigned long long)s.out_bytes,
                (unsigned long long)st.st_size);
        rc = TQ_EXIT_FAIL;
    }
    s.out_bytes = (uint64_t)st.st_size;
    s.payload = T->payload_bytes;
    s.scales = T->aux_bytes;
    print_report(stdout, json, in, out, p, &s, in_file_bytes, true, T, target, false);
    tq_ledger_free(l);
    tq_model_close(q);
    tq_plan_free(p);
    tq_model_close(m);
    return rc;
}
