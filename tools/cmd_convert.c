/* cmd_convert.c — `trueq convert IN -o OUT`: real low-bit storage, honest report. */
#include "cli.h"
#include "convert_plan.h"
#include "core/blas.h"
#include "convert/gguf_export.h"
#include "ggml/ggml_types.h"
#include "quant/quant.h"
#include "quant/quant_dec.h"
#include "trueq_llama.h"
#include "quant/sensitivity.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char SYNOPSIS[] =
    "IN -o OUTDIR [options]";
static const char DESCRIPTION[] =
    "IN: a .safetensors or .npz file, a model.safetensors.index.json, or a Hugging Face model directory.\n"
    "Writes OUTDIR/model.safetensors (or weights.npz), OUTDIR/conversion_metadata.json and copies\n"
    "config/tokenizer files. Codes are stored as real low-bit integers: int8 as I8 (1 byte), 4-bit\n"
    "two per byte, 2-bit four per byte (U8), with F32 scales beside them (docs/convert.md).\n"
    "Files are written under temporary names and renamed: a failed run leaves nothing.\n"
    "Policy (default): quantize 2-D *.weight matrices; keep embeddings, norms, biases, 1-D.\n"
    "--format gguf --type T writes OUTDIR/model.gguf for llama.cpp: ggml types chosen per tensor as\n"
    "llama-quantize chooses them (docs/formats/gguf.md), the tokenizer in tokenizer.ggml.*.\n";
static const char EPILOG[] =
    "example: trueq convert distilbert/ -o distilbert-int8 --bits 8 --target-size 125MB --quantize-embeddings\n"
    "example: trueq convert stories260k/ -o stories-q4k --format gguf --type Q4_K\n";

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
    tqc_progress("trueq convert: tensor", done, total);
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

/* The input's own fake-quantization finding (as inspect reports it): its
 * values already sit on a quantization grid, and requantizing adds error. */
typedef struct in_fake { int64_t n; char first[160]; } in_fake;

/* The input's ledger (its measured size and the fake-quantization finding)
 * is printed only in the report, after the run, so it is computed on a thread
 * of its own beside the planning and the conversion, at a lower priority than
 * they (a few ms for an encoder, ~40 ms of CPU for a 540 MB model whose
 * values sit on a grid; the conversion's pool has idle time while it waits
 * for reads and the final fsyncs). It only reads the model (pread, like the
 * conversion), and is joined before anything is printed; the report is the
 * same bytes as when it ran first. */
typedef struct in_scan {
    const tq_model *m;
    uint64_t file_bytes;
    in_fake fk;
    tq_status st;
    tq_error err;
    pthread_t th;
    bool running;
} in_scan;

static void in_scan_run(in_scan *s) {
    tq_ledger *l = tq_ledger_create(s->m, &s->err);
    if (!l) { s->st = s->err.status ? s->err.status : TQ_E_INTERNAL; return; }
    s->file_bytes = tq_ledger_totals_get(l)->file_bytes;
    s->fk.n = tq_ledger_totals_get(l)->n_fake;
    for (int64_t i = 0; i < tq_ledger_count(l); i++)
        if (tq_ledger_row_at(l, i)->fake) { snprintf(s->fk.first, sizeof s->fk.first, "%s", tq_ledger_row_at(l, i)->t->name); break; }
    tq_ledger_free(l);
}

static void *in_scan_main(void *a) {
#ifdef SYS_gettid
    /* this thread only (Linux: a thread's nice value is its own) */
    errno = 0;
    int tid = (int)syscall(SYS_gettid), pr = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno == 0) (void)setpriority(PRIO_PROCESS, (id_t)tid, pr + 5 > 19 ? 19 : pr + 5);
#endif
    in_scan_run(a);
    return NULL;
}

static void in_scan_start(in_scan *s, const tq_model *m) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->running = pthread_create(&s->th, NULL, in_scan_main, s) == 0;
    if (!s->running) in_scan_run(s);   /* no thread: here, as before */
}

/* Wait for the scan; its status (err filled on failure). Idempotent. */
static tq_status in_scan_join(in_scan *s, tq_error *err) {
    if (s->running) pthread_join(s->th, NULL);
    s->running = false;
    if (s->st && err) *err = s->err;
    return s->st;
}

/* The scan's figures for the report. Before anything is written (a dry run,
 * a plan over its target) a failed scan fails the command, as when it ran
 * first (strict); after a committed run the output stands, so a failed scan
 * (out of memory; an input changed under the run is caught by the run itself)
 * is a warning and the report goes without the input's figures. */
static tq_status scan_take(in_scan *s, uint64_t *bytes, in_fake *fk, bool strict, tq_error *err) {
    tq_error e = {0};
    tq_status st = in_scan_join(s, &e);
    if (!st) { *bytes = s->file_bytes; *fk = s->fk; return TQ_OK; }
    if (strict) { if (err) *err = e; return st; }
    fprintf(stderr, "trueq convert: warning: the input's ledger failed after the run (%s); its size is left out of the report\n", e.msg);
    return TQ_OK;
}

/* Join the scan (it reads m), then close m. */
static void scan_close(in_scan *s, tq_model *m) {
    in_scan_join(s, NULL);
    tq_model_close(m);
}

static void fake_json(tqc_json *j, const in_fake *fk) {
    tqc_json_fields(j, "input_looks_quantized:b input_fake_quant_tensors:l", fk->n > 0, (long long)fk->n);
}

static void fake_text(FILE *f, const in_fake *fk) {
    if (fk->n)
        fprintf(f, "  WARNING     the input already looks quantized: %lld tensors hold quantized values stored as floats "
                "(first: %s); requantizing adds error (trueq inspect says more)\n", (long long)fk->n, fk->first);
}

static void print_report(FILE *f, bool json, const char *in, const char *out, const tq_plan *p, const summary *s,
                         uint64_t in_file_bytes, const in_fake *fk, bool measured, const tq_ledger_totals *T, uint64_t target,
                         bool dry, const tq_planner *pl) {
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
        tqc_json j;
        tqc_json_init(&j, f, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "input:s output:s dry_run:b measured:b weights_file:s input_bytes:u output_bytes:u compression_ratio:x6",
                        in, out, dry, measured, tq_plan_output_name(p), (unsigned long long)in_file_bytes,
                        (unsigned long long)s->out_bytes, ratio);
        fake_json(&j, fk);
        tqc_json_fields(&j, "quantized_tensors:l kept_tensors:l payload_bytes:u scale_bytes:u header_bytes:u "
                        "bits_per_weight_all:x6 bits_per_weight_quantized:x6", (long long)s->nq, (long long)s->nk,
                        (unsigned long long)s->payload, (unsigned long long)s->scales,
                        (unsigned long long)(s->out_bytes - s->payload - s->scales), bpw_all, bpw_q);
        tqc_json_key(&j, "bytes_by_dtype");
        tqc_json_begin_object(&j);
        const uint64_t *bd = T ? T->by_dtype : s->by_dtype;
        for (int d = 1; d < TQ_DTYPE_COUNT; d++)
            if (bd[d]) tqc_json_kuint(&j, tq_dtype_name((tq_dtype)d), bd[d]);
        tqc_json_end_object(&j);
        tqc_json_key(&j, "kept");
        tqc_json_begin_array(&j);
        for (int i = 0; i < nr; i++)
            if (r[i].count) {
                tqc_json_begin_object(&j);
                tqc_json_fields(&j, "reason:s tensors:l bytes:u", r[i].label, (long long)r[i].count, (unsigned long long)r[i].bytes);
                tqc_json_end_object(&j);
            }
        tqc_json_end_array(&j);
        if (target) tqc_json_fields(&j, "target_bytes:u target_met:b", (unsigned long long)target, pass);
        if (pl) tqc_planner_json(&j, pl, target, !tq_planner_measured(pl));
        tqc_json_end_object(&j);
        return;
    }
    fprintf(f, "%s %s -> %s (%s, %s)\n", dry ? "plan:" : "converted:", in, out ? out : "(dry run)", tq_plan_output_name(p),
            first_q ? tq_qparams_str(&first_q->q, qs, sizeof qs) : "nothing quantized");
    fprintf(f, "  input       %s (%llu bytes)\n", tqc_fmt_bytes(in_file_bytes, b1, sizeof b1), (unsigned long long)in_file_bytes);
    fprintf(f, "  output      %s (%llu bytes, %s)   ratio %.2fx\n", tqc_fmt_bytes(s->out_bytes, b2, sizeof b2),
            (unsigned long long)s->out_bytes, measured ? "measured: size of the written file" : "exact plan: the run writes this many bytes", ratio);
    fake_text(f, fk);
    fprintf(f, "  tensors     %lld quantized, %lld kept\n", (long long)s->nq, (long long)s->nk);
    fprintf(f, "  stored      ");
    const uint64_t *bd = T ? T->by_dtype : s->by_dtype;
    for (int d = 1; d < TQ_DTYPE_COUNT; d++) if (bd[d]) fprintf(f, "%s %s; ", tq_dtype_name((tq_dtype)d), tqc_fmt_bytes(bd[d], b1, sizeof b1));
    fputc('\n', f);
    fprintf(f, "  scales      %s (scales, zero points and other side tensors)\n", tqc_fmt_bytes(s->scales, b1, sizeof b1));
    fprintf(f, "  header      %s (+ padding)\n", tqc_fmt_bytes(s->out_bytes - s->payload - s->scales, b1, sizeof b1));
    fprintf(f, "  bits/weight %.3f over all %lld weights; %.3f over the %lld quantized weights (codes + scales)\n", bpw_all,
            (long long)s->numel, bpw_q, (long long)s->numel_q);
    for (int i = 0; i < nr; i++)
        if (r[i].count)
            fprintf(f, "  kept wide   %s kept as %s: %s (%lld tensors)\n", r[i].label, r[i].mixed ? "their own dtypes" : tq_dtype_name(r[i].dtype),
                    tqc_fmt_bytes(r[i].bytes, b1, sizeof b1), (long long)r[i].count);
    if (target) {
        fprintf(f, "  target      %s: %s", tqc_fmt_bytes(target, b1, sizeof b1), pass ? "PASS" : "FAIL");
        if (!pass) {
            fprintf(f, " (%s over)\n", tqc_fmt_bytes(s->out_bytes - target, b2, sizeof b2));
            for (int i = 0; i < nr; i++)
                if (r[i].count && r[i].bytes > 0)
                    fprintf(f, "              in the way: %s kept as %s: %s%s\n", r[i].label,
                            r[i].mixed ? "their own dtypes" : tq_dtype_name(r[i].dtype), tqc_fmt_bytes(r[i].bytes, b3, sizeof b3),
                            i == 0 ? " (--quantize-embeddings)" : i == 4 ? " (drop the --exclude)" : "");
            /* the single kept tensors that weigh most */
            for (int64_t i = 0; i < tq_plan_count(p); i++) {
                const tq_plan_item *it = tq_plan_item_at(p, i);
                if (!it->quantize && it->out_bytes * 20 >= s->out_bytes)
                    fprintf(f, "              largest: %s kept as %s: %s\n", it->src->name, tq_dtype_name(it->out_dtype),
                            tqc_fmt_bytes(it->out_bytes, b3, sizeof b3));
            }
            if (first_q && first_q->q.bits > 2) fprintf(f, "              or fewer bits (--bits %d)\n", first_q->q.bits == 8 ? 4 : 2);
        } else {
            fputc('\n', f);
        }
    }
}

/* GGUF output: per tensor its GGUF name, ggml type and rule; totals by type. */
static void print_gguf_report(FILE *f, bool json, const char *in, const char *out, const tq_plan *p, uint64_t in_file_bytes,
                              const in_fake *fk, uint64_t file_bytes, bool measured) {
    char b1[32], b2[32];
    uint64_t by_type[TQ_GGML_TYPE_COUNT] = {0};
    int64_t n_by_type[TQ_GGML_TYPE_COUNT] = {0}, numel = 0;
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const char *t = tq_plan_gguf_type(p, i);
        int id = t ? tq_ggml_type_from_name(t) : -1;
        if (id >= 0) { by_type[id] += tq_plan_item_at(p, i)->out_bytes; n_by_type[id]++; numel += tq_plan_item_at(p, i)->src->numel; }
    }
    double bpw = numel ? (double)file_bytes * 8.0 / (double)numel : 0;
    if (json) {
        tqc_json j;
        tqc_json_init(&j, f, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "input:s output:s dry_run:b measured:b weights_file:s gguf_type:s input_bytes:u output_bytes:u "
                        "bits_per_weight_all:x6", in, out, !measured, measured, tq_plan_output_name(p), tq_plan_gguf_ftype(p),
                        (unsigned long long)in_file_bytes, (unsigned long long)file_bytes, bpw);
        fake_json(&j, fk);
        tqc_json_key(&j, "bytes_by_ggml_type");
        tqc_json_begin_object(&j);
        for (int t = 0; t < TQ_GGML_TYPE_COUNT; t++) if (n_by_type[t]) tqc_json_kuint(&j, tq_ggml_type(t)->name, by_type[t]);
        tqc_json_end_object(&j);
        tqc_json_key(&j, "tensors");
        tqc_json_begin_array(&j);
        for (int64_t i = 0; i < tq_plan_count(p); i++) {
            const tq_plan_item *it = tq_plan_item_at(p, i);
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "name:s gguf_name:s ggml_type:s bytes:u rule:s", it->src->name,
                            tq_plan_gguf_name(p, i) ? tq_plan_gguf_name(p, i) : "", tq_plan_gguf_type(p, i) ? tq_plan_gguf_type(p, i) : "",
                            (unsigned long long)it->out_bytes, it->rule);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
        return;
    }
    fprintf(f, "%s %s -> %s (%s, GGUF --type %s)\n", measured ? "converted:" : "plan:", in, out ? out : "(dry run)",
            tq_plan_output_name(p), tq_plan_gguf_ftype(p));
    fprintf(f, "  input       %s (%llu bytes)\n", tqc_fmt_bytes(in_file_bytes, b1, sizeof b1), (unsigned long long)in_file_bytes);
    fprintf(f, "  output      %s (%llu bytes, %s)   %.3f bits/weight\n", tqc_fmt_bytes(file_bytes, b2, sizeof b2),
            (unsigned long long)file_bytes, measured ? "measured: size of the written file" : "exact plan: the run writes this many bytes", bpw);
    fake_text(f, fk);
    fprintf(f, "  stored      ");
    for (int t = 0; t < TQ_GGML_TYPE_COUNT; t++)
        if (n_by_type[t]) fprintf(f, "%s %s (%lld); ", tq_ggml_type(t)->name, tqc_fmt_bytes(by_type[t], b1, sizeof b1), (long long)n_by_type[t]);
    fputc('\n', f);
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        fprintf(f, "  %-40s %-28s %s\n", it->src->name, tq_plan_gguf_name(p, i) ? tq_plan_gguf_name(p, i) : "-", it->rule);
    }
}

typedef struct convert_args {
    const char *out;
    int bits, scheme, method;
    const tq_format_info *format;
    const tq_codec_info *codec;
    double alpha;
    tqc_gran gran;
    bool pad, simulate, allow_nonfinite, quantize_embeddings, dry_run;
    tqc_list include, exclude;
    uint64_t target;
    double target_bpw;
    const char *menu, *recipe, *write_recipe;
    const char *gguf_type;
    int threads;
    const char *calib;
    bool act_order;
    bool bias_correct;
    double damp;
    double target_qbpw;
    int sensitivity;
} convert_args;

enum { SENS_DEFAULT, SENS_WEIGHT, SENS_FORWARD };
static const tqc_choice SENSITIVITIES[] = {{"weight", SENS_WEIGHT}, {"forward", SENS_FORWARD}, {NULL, 0}};

static const tqc_choice BITS[] = {{"8", 8}, {"6", 6}, {"5", 5}, {"4", 4}, {"3", 3}, {"2", 2}, {NULL, 0}};   /* 3, 5, 6: mlx */
/* calibrated methods (src/quant): CALIB_BASE + tq_calib_method; the codec then chooses scales by rtn */
enum { CALIB_BASE = 100 };
static const tqc_choice METHODS[] = {{"rtn", TQ_QMETHOD_RTN}, {"search", TQ_QMETHOD_SEARCH}, {"hqq", TQ_QMETHOD_HQQ},
                                     {"gptq", CALIB_BASE + TQ_CALIB_GPTQ}, {"awq", CALIB_BASE + TQ_CALIB_AWQ},
                                     {"awq-gptq", CALIB_BASE + TQ_CALIB_AWQ_GPTQ}, {NULL, 0}};

/* the executor's prequant hook over the calibration result (filled after planning) */
static tq_status calib_fill(void *ctx, const char *name, const tq_qparams *q, int64_t rows, int64_t cols, void *codes,
                            void *const aux[TQ_MAX_AUX], int *done, tq_error *err) {
    return tq_calibrated_fill(*(tq_calibrated **)ctx, name, q, rows, cols, codes, aux, done, err);
}
static tq_status calib_keep(void *ctx, const char *name, tq_dtype dtype, uint64_t nbytes, const void **data, tq_error *err) {
    return tq_calibrated_keep(*(tq_calibrated **)ctx, name, dtype, nbytes, data, err);
}
static const tqc_choice SCHEMES[] = {{"symmetric", TQ_CODEC_LINEAR_SYM}, {"sym", TQ_CODEC_LINEAR_SYM},
                                     {"affine", TQ_CODEC_LINEAR_AFFINE}, {"asymmetric", TQ_CODEC_LINEAR_AFFINE}, {NULL, 0}};

/* The planner (--target-bpw, --menu, or --target-size without --bits) and --recipe. */
static int plan_bits(const tqc_ctx *c, const convert_args *A, const tq_model *m, tq_convert_options *o, uint64_t *target,
                     tqc_recipe *rec, tq_planner **pl, bool bits_chosen, int calib) {
    char msg[1024];
    tq_error err;
    /* --target-size alone plans bits, except for GGUF, whose --type fixes them (a check there) */
    const bool planning = A->target_bpw > 0 || A->target_qbpw > 0 || A->menu ||
                          (*target && !bits_chosen && !A->recipe && o->format != TQ_FORMAT_GGUF);
    if (A->recipe) {
        if (planning) return tqc_usage_error(c->cmd, "--recipe fixes the bits; the planner (--target-bpw, --menu) chooses them: give one");
        if (tqc_recipe_read(A->recipe, &o->q, rec, msg, sizeof msg)) { fprintf(stderr, "trueq %s: %s\n", c->cmd, msg); return TQC_EXIT_FAIL; }
        o->rules = rec->rules; o->n_rules = rec->n;
    }
    if (A->write_recipe && !planning) return tqc_usage_error(c->cmd, "--write-recipe writes the planner's choice: give --target-size or --target-bpw");
    if (!planning) return 0;
    if (o->format == TQ_FORMAT_GGUF) return tqc_usage_error(c->cmd, "the planner does not apply to --format gguf (choose --type)");
    if (A->target_bpw > 0) {
        if (*target) return tqc_usage_error(c->cmd, "give --target-size or --target-bpw, not both");
        int64_t numel = 0;
        for (int64_t i = 0; i < tq_model_count(m); i++) numel += tq_model_tensor(m, i)->numel;
        *target = (uint64_t)((double)numel * A->target_bpw / 8.0);
    }
    if (A->target_qbpw > 0 && (*target || A->target_bpw > 0))
        return tqc_usage_error(c->cmd, "give one of --target-size, --target-bpw and --target-qbpw");
    if (!*target && !(A->target_qbpw > 0)) return tqc_usage_error(c->cmd, "--menu needs --target-size or --target-bpw");
    tq_qparams menu[TQC_MENU_MAX];
    int n, keep;
    if (tqc_menu_parse(A->menu, &o->q, menu, &n, &keep, msg, sizeof msg)) return tqc_usage_error(c->cmd, "%s", msg);
    tq_planner_options po = {*target, menu, n, keep, NULL, NULL, NULL, A->target_qbpw};
    /* the error of each choice: the forward pass's output change (default with a calibrated method) or weight error */
    const int fwd = A->sensitivity == SENS_FORWARD || (A->sensitivity == SENS_DEFAULT && calib);
    tq_sens *sens = NULL;
    if (fwd) {
        tq_calib_options co = {calib, A->act_order, A->damp, A->calib, 0, NULL, NULL, A->bias_correct};
        if (!(sens = tq_sens_create(m, &co, 0, &err))) return tqc_fail(c->cmd, &err);
        po.measure = tq_sens_measure;
        po.measure_ctx = sens;
    }
    *pl = tq_planner_create(m, o, &po, &err);
    tq_sens_free(sens);
    if (*pl) *target = tq_planner_target_bytes(*pl);
    if (!*pl) {
        if (err.status != TQ_E_LIMIT) return tqc_fail(c->cmd, &err);
        fprintf(stderr, "trueq %s: %s\n", c->cmd, err.msg);
        int lo = 0;   /* show the cheapest plan's report: what stands in the way */
        for (int k = 1; k < n; k++) if (menu[k].bits < menu[lo].bits) lo = k;
        o->q = menu[lo];
        return 0;
    }
    if (!c->json) tqc_planner_print(stdout, *pl, *target, !tq_planner_measured(*pl));
    if (A->write_recipe && tqc_recipe_write(A->write_recipe, *pl, msg, sizeof msg)) {
        fprintf(stderr, "trueq %s: %s\n", c->cmd, msg);
        tq_planner_free(*pl); *pl = NULL;
        return TQC_EXIT_FAIL;
    }
    return 0;
}

static int run(const tqc_ctx *c, void *va) {
    const convert_args *A = va;
    const tqc_command *me = &tqc_cmd_convert;
    tq_convert_options o;
    tq_convert_options_init(&o);
    const char *out = A->out;
    const bool json = c->json, dry = A->dry_run;
    const bool scheme_set = tqc_given(me, c, "--scheme"), codec_set = tqc_given(me, c, "--codec");
    const bool bits_set = tqc_given(me, c, "--bits"), gran_set = tqc_given(me, c, "--granularity");
    uint64_t target = A->target;
    if (bits_set) o.q.bits = A->bits;
    if (scheme_set) o.q.codec = (tq_codec_id)A->scheme;
    if (codec_set) o.q.codec = A->codec->id;
    if (gran_set) { o.q.gran = A->gran.gran; o.q.group = A->gran.group; }
    if (tqc_given(me, c, "--alpha")) o.q.alpha = (float)A->alpha;
    if (A->pad) o.q.pad = 1;
    const int calib = tqc_given(me, c, "--method") && A->method > CALIB_BASE ? A->method - CALIB_BASE : 0;
    if (tqc_given(me, c, "--method")) o.q.method = calib ? TQ_QMETHOD_RTN : A->method;
    if (!calib && (A->calib || A->act_order || A->bias_correct || tqc_given(me, c, "--damp")))
        return tqc_usage_error(c->cmd, "--calib, --act-order, --bias-correct and --damp apply to --method gptq, awq and awq-gptq");
    if (A->act_order && calib == TQ_CALIB_AWQ) return tqc_usage_error(c->cmd, "--act-order applies to GPTQ (gptq, awq-gptq)");
    if (A->simulate) o.simulate = 1;
    if (A->allow_nonfinite) o.allow_nonfinite = 1;
    if (A->quantize_embeddings) o.quantize_embeddings = 1;
    if (A->format) o.format = A->format->id;
    if (A->gguf_type && o.format != TQ_FORMAT_GGUF) return tqc_usage_error(c->cmd, "--type applies to --format gguf only");
    if (o.format == TQ_FORMAT_GGUF) {   /* ggml types come from --type; trueq's codec options do not apply */
        static const char *const not_gguf[] = {"--bits", "--scheme", "--codec", "--granularity", "--alpha", "--pad", "--method",
                                               "--simulate", "--quantize-embeddings", "--allow-nonfinite"};
        for (size_t k = 0; k < sizeof not_gguf / sizeof not_gguf[0]; k++)
            if (tqc_given(me, c, not_gguf[k]))
                return tqc_usage_error(c->cmd, "%s does not apply to --format gguf (choose the ggml types with --type)", not_gguf[k]);
    }
    o.gguf_type = A->gguf_type;
    if (o.format == TQ_FORMAT_MLX) {   /* --format mlx: MLX affine, mlx_lm's defaults (4 bits, group 64) and rule */
        static const char *const not_mlx[] = {"--scheme", "--codec", "--alpha", "--pad", "--method", "--simulate",
                                              "--quantize-embeddings", "--include", "--recipe", "--target-bpw", "--target-size",
                                              "--menu"};
        for (size_t k = 0; k < sizeof not_mlx / sizeof not_mlx[0]; k++)
            if (tqc_given(me, c, not_mlx[k]))
                return tqc_usage_error(c->cmd, "%s does not apply to --format mlx (MLX affine, mlx_lm's rule: --bits 2..8, "
                                       "--granularity group:32|64|128, --exclude)", not_mlx[k]);
        o.q.codec = TQ_CODEC_MLX;
        if (!bits_set) o.q.bits = 4;
        if (!gran_set) { o.q.gran = TQ_GRAN_GROUP; o.q.group = 64; }
    }
    if (tqc_given(me, c, "--threads")) o.threads = A->threads;
    if (!out && !dry) return tqc_usage_error(c->cmd, "missing -o OUTDIR");
    if (scheme_set && codec_set) return tqc_usage_error(c->cmd, "give --scheme or --codec, not both");
    {   /* a codec's defaults (its table row) where the user gave none */
        const tq_codec_info *ci = tq_codec_by_id(o.q.codec);
        if (ci && !bits_set && !(ci->bits_mask & (1u << o.q.bits))) o.q.bits = ci->default_bits;
        if (ci && !gran_set) { o.q.gran = ci->default_gran; o.q.group = ci->default_group; }
        if (ci && ci->default_ggml_type && !o.q.ggml_type) o.q.ggml_type = ci->default_ggml_type;   /* ggml: Q8_0 */
        if (ci && o.q.alpha > 0 && !ci->uses_alpha)
            return tqc_usage_error(c->cmd, "--alpha applies to --codec qins-rational only");
    }
    o.include = A->include.v; o.n_include = A->include.n;
    o.exclude = A->exclude.v; o.n_exclude = A->exclude.n;
    const char *in = c->pos[0];

    tq_error err;
    tq_blas_pool_park();   /* convert never calls BLAS: no idle OpenBLAS thread spinning beside it */
    tq_model *m = tq_model_open(in, &err);
    if (!m) return tqc_fail(c->cmd, &err);
    in_scan scan;   /* measured input size (every file the model reads) and its fake-quantization finding */
    in_scan_start(&scan, m);
    uint64_t in_file_bytes = 0;
    in_fake fk = {0, ""};
    tqc_recipe rec = {0};
    tq_planner *pl = NULL;
    int prc = plan_bits(c, A, m, &o, &target, &rec, &pl, bits_set || scheme_set || codec_set, calib);
    if (prc) { scan_close(&scan, m); return prc; }
    if (pl) o = *tq_planner_options_out(pl);
    tq_calibrated *cal = NULL;
    if (calib) { o.prequant = calib_fill; o.prekeep = calib_keep; o.prequant_ctx = &cal; }
    tq_plan *p = tq_plan_create(m, &o, &err);
    if (!p) { tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m); return tqc_fail(c->cmd, &err); }
    if (calib && !dry) {   /* codes of every calibrated linear, before anything is written */
        tq_calib_options co = {calib, A->act_order, A->damp, A->calib, 0, progress_cb, NULL, A->bias_correct};
        cal = tq_llama_detect(m) ? tq_calibrate_dec(m, p, &co, &err) : tq_calibrate(m, p, &co, &err);
        tqc_progress_done();
        if (!cal) { tq_plan_free(p); tq_calibrated_free(cal); tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m); return tqc_fail(c->cmd, &err); }
        fputs(tq_calibrated_notes(cal), stderr);
    }
    int rc = 0;
    if (tq_plan_gguf_ftype(p)) {   /* GGUF output: its own report (ggml types per tensor) */
        if ((dry || (target && tq_plan_output_bytes(p) > target)) && scan_take(&scan, &in_file_bytes, &fk, true, &err)) {
            rc = tqc_fail(c->cmd, &err);
        } else if (target && tq_plan_output_bytes(p) > target) {
            print_gguf_report(stdout, json, in, out, p, in_file_bytes, &fk, tq_plan_output_bytes(p), false);
            fprintf(stderr, "trueq convert: the output would be %llu bytes, over the target of %llu; nothing written\n",
                    (unsigned long long)tq_plan_output_bytes(p), (unsigned long long)target);
            rc = TQC_EXIT_THRESHOLD;
        } else if (dry) {
            print_gguf_report(stdout, json, in, out, p, in_file_bytes, &fk, tq_plan_output_bytes(p), false);
        } else if (tq_plan_execute(p, out, progress_cb, NULL, &err)) {
            tqc_progress_done();
            tq_plan_free(p); tq_calibrated_free(cal); tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
            return tqc_fail(c->cmd, &err);
        } else {
            tqc_progress_done();
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", out, tq_plan_output_name(p));
            if (stat(path, &st) != 0 || (uint64_t)st.st_size != tq_plan_output_bytes(p)) {
                fprintf(stderr, "trueq convert: internal error: planned %llu bytes, %s holds %lld\n",
                        (unsigned long long)tq_plan_output_bytes(p), path, (long long)(stat(path, &st) == 0 ? st.st_size : -1));
                rc = TQC_EXIT_FAIL;
            }
            scan_take(&scan, &in_file_bytes, &fk, false, NULL);
            print_gguf_report(stdout, json, in, out, p, in_file_bytes, &fk, tq_plan_output_bytes(p), true);
        }
        tq_plan_free(p); tq_calibrated_free(cal);
        tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
        return rc;
    }
    summary s;
    summarize_plan(p, &s);
    if (dry || (target && s.out_bytes > target)) {
        if (scan_take(&scan, &in_file_bytes, &fk, true, &err)) {
            tq_plan_free(p); tq_calibrated_free(cal); tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
            return tqc_fail(c->cmd, &err);
        }
        print_report(stdout, json, in, out, p, &s, in_file_bytes, &fk, false, NULL, target, true, pl);
        if (target && s.out_bytes > target) {
            fprintf(stderr, "trueq convert: the output would be %llu bytes, over the target of %llu; nothing written\n",
                    (unsigned long long)s.out_bytes, (unsigned long long)target);
            rc = TQC_EXIT_THRESHOLD;
        }
        tq_plan_free(p); tq_calibrated_free(cal);
        tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
        return rc;
    }
    if (tq_plan_execute(p, out, progress_cb, NULL, &err)) {
        tqc_progress_done();
        tq_plan_free(p); tq_calibrated_free(cal); tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
        return tqc_fail(c->cmd, &err);
    }
    tqc_progress_done();
    /* the report is measured from what was written: reopen it */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, tq_plan_output_name(p));
    struct stat st;
    tq_model *q = tq_model_open(path, &err);
    tq_ledger *l = q ? tq_ledger_create(q, &err) : NULL;
    if (!l || stat(path, &st) != 0) {
        tq_model_close(q); tq_plan_free(p); tq_calibrated_free(cal); tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
        return tqc_fail(c->cmd, &err);
    }
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    if ((uint64_t)st.st_size != s.out_bytes || T->file_bytes != s.out_bytes) {
        fprintf(stderr, "trueq convert: internal error: planned %llu bytes, file holds %llu\n", (unsigned long long)s.out_bytes,
                (unsigned long long)st.st_size);
        rc = TQC_EXIT_FAIL;
    }
    s.out_bytes = (uint64_t)st.st_size;
    s.payload = T->payload_bytes;
    s.scales = T->aux_bytes;
    scan_take(&scan, &in_file_bytes, &fk, false, NULL);
    print_report(stdout, json, in, out, p, &s, in_file_bytes, &fk, true, T, target, false, pl);
    tq_ledger_free(l);
    tq_model_close(q);
    tq_plan_free(p); tq_calibrated_free(cal);
    tq_planner_free(pl); tqc_recipe_free(&rec); scan_close(&scan, m);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_CHOICE("--bits", convert_args, bits, BITS, "code width (default 8)"),
    TQC_O_CHOICE("--scheme", convert_args, scheme, SCHEMES, "linear symmetric (max|w|/qmax) or affine (min/max + zero point)"),
    TQC_O_CODEC("--codec", convert_args, codec,
                "any codec of `trueq codecs` (overrides --scheme); without --bits or\n"
                "--granularity a codec gets its natural ones (nf4: 4 bits, group:64)"),
    TQC_O_F64("--alpha", NULL, convert_args, alpha, "A", 1e-30, 1e30,
              "qins-rational: the alpha of e = sign(w)/(1+alpha|w|) (default: calibrated\n"
              "per block to the smallest squared error; the seeds used 1)"),
    TQC_O_GRAN("--granularity", convert_args, gran,
               "tensor | channel | group:N: one scale per tensor, per output row (default),\n"
               "or per N inputs along each row (N must divide the row length)"),
    TQC_O_CHOICE("--method", convert_args, method, METHODS,
                 "how scales are chosen: rtn (the codec's formula, default), search (per block,\n"
                 "the scale/zero of least weighted squared error), hqq (half-quadratic lp solve);\n"
                 "same format. search/hqq: linear-sym and linear-affine. Calibrated (encoders;\n"
                 "linear-sym/affine, mlx*): gptq (error compensation through the inputs'\n"
                 "Hessian), awq (activation-aware scale of the attention output, folded into\n"
                 "v), awq-gptq (both); docs/quality.md"),
    TQC_O_STR("--calib", NULL, convert_args, calib, "FILE",
              "--method gptq/awq: calibration texts, one per line (default: a built-in\n"
              "varied set of 64 English sentences)"),
    TQC_O_FLAG("--act-order", NULL, convert_args, act_order,
               "GPTQ: quantize columns by descending input energy (diag H); the stored\n"
               "format is unchanged (in-order groups; docs/quality.md)"),
    TQC_O_FLAG("--bias-correct", NULL, convert_args, bias_correct,
               "calibrated methods: each matrix's bias absorbs its mean output shift\n"
               "(W - Wq) E[x] on the calibration inputs (the bias stays float)"),
    TQC_O_F64("--damp", NULL, convert_args, damp, "X", 0, 1, "GPTQ: damping, a fraction of mean diag(H) (default 0.01)"),
    TQC_O_FLAG("--pad", NULL, convert_args, pad, "allow a shorter last group when N does not divide a row"),
    TQC_O_FLAG("--simulate", NULL, convert_args, simulate,
               "store quantize->dequantize values in the original float dtype\n"
               "(for spectral studies; no compression, marked in the metadata)"),
    TQC_O_FLAG("--allow-nonfinite", NULL, convert_args, allow_nonfinite, "quantize NaN/Inf as 0 instead of failing"),
    TQC_O_FLAG("--quantize-embeddings", NULL, convert_args, quantize_embeddings, "also quantize embedding matrices (per row)"),
    TQC_O_LIST("--include", convert_args, include, "GLOB", "also quantize tensors matching GLOB (repeatable)"),
    TQC_O_LIST("--exclude", convert_args, exclude, "GLOB",
               "keep tensors matching GLOB as they are (repeatable)\n(a glob that matches no tensor is an error)"),
    TQC_O_STR("--output", "-o", convert_args, out, "OUTDIR", "output directory (created; must not be the input's directory)"),
    TQC_O_FORMAT("--format", convert_args, format, TQ_FORMAT_CAN_WRITE, "output container (default safetensors)"),
    TQC_O_STR("--type", NULL, convert_args, gguf_type, "T",
              "--format gguf: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K\n"
              "(as llama-quantize: Q4_K = Q4_K_M mixture; default Q8_0)"),
    TQC_O_SIZE("--target-size", convert_args, target, "SIZE", 1, (int64_t)1000000000000000000,
               "e.g. 125MB: without --bits the planner chooses bits per tensor to fit;\n"
               "with --bits, fail (exit 3, nothing written) if the output would be\n"
               "larger, and say what stands in the way"),
    TQC_O_F64("--target-bpw", NULL, convert_args, target_bpw, "X", 0.01, 64,
              "choose bits per tensor (from --menu) so that the output file holds at\n"
              "most X bits per weight (file bytes x 8 / all weights); docs/planner.md"),
    TQC_O_F64("--target-qbpw", NULL, convert_args, target_qbpw, "X", 0.01, 64,
              "as --target-bpw, over the tensors the planner chooses for only (codes +\n"
              "scales; kept tensors, header and padding come on top)"),
    TQC_O_CHOICE("--sensitivity", convert_args, sensitivity, SENSITIVITIES,
                 "the planner's error of a choice: weight (squared weight error) or forward\n"
                 "(1 - mean cosine of sentence embeddings with that tensor alone quantized;\n"
                 "encoders). Default: forward with --method gptq/awq, else weight"),
    TQC_O_STR("--menu", NULL, convert_args, menu, "LIST",
              "the planner's choices, e.g. 8,4,2,keep (default: the codec's 8/6/4/3/2\n"
              "widths and keep); with --target-size and no --bits, the planner chooses"),
    TQC_O_STR("--recipe", NULL, convert_args, recipe, "FILE", "per-tensor rules from a JSON recipe (docs/recipes.md)"),
    TQC_O_STR("--write-recipe", NULL, convert_args, write_recipe, "FILE", "write the planner's choice as a recipe that reproduces it"),
    TQC_O_INT("--threads", "-j", convert_args, threads, "N", 1, 256,
              "quantize with N threads (default: all cores); the output bytes are the same for any N"),
    TQC_O_FLAG("--dry-run", NULL, convert_args, dry_run, "print the plan with the exact sizes the run will produce; write nothing"),
};

const tqc_command tqc_cmd_convert = {.name = "convert", .summary = "quantize a model into real low-bit storage (safetensors, .npz, or GGUF for llama.cpp)",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 1, .pos_names = "IN", TQC_ARGS(convert_args, NULL), .run = run, .route = NULL};
