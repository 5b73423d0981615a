/* cmd_verify.c — `trueq verify ORIG QUANT`: weight-level error of a quantized
 * (or simulated, or any other) model against the original, per tensor and
 * overall, with grades and optional thresholds (src/verify/). */
#include "cli.h"
#include "trueq_verify.h"
#include <math.h>

static const char SYNOPSIS[] =
    "ORIG QUANT [--json | --csv] [--max-rel-error X] [--min-snr DB] [--quiet]";
static const char DESCRIPTION[] =
    "Compares every tensor of ORIG with the tensor of the same name in QUANT at the weight\n"
    "level: ORIG decoded to float32 against QUANT's values dequantized from its stored codes\n"
    "(or its simulated / plain values). Per tensor and pooled over all compared tensors (and\n"
    "over the quantized ones): MSE, RMSE, relative Frobenius error ||w-q||/||w||, max abs\n"
    "error, SNR in dB, cosine similarity, fraction of weights clipped (outside the range of\n"
    "their block's reconstructed values), and the relative error on the 0.1% largest-magnitude\n"
    "weights. Tensors present on one side only, or with different shapes, are listed.\n\n"
    "Grades (from SNR = -20 log10(relative error)):\n"
    "  A >= 40 dB (rel <= 1%)   B >= 30 dB (<= 3.2%)   C >= 20 dB (<= 10%)   D >= 10 dB   F below\n";
static const char EPILOG[] =
    "With a threshold, tensors whose shapes differ also violate it.\n"
    "Exit status: 0 ok, 1 usage, 2 a model could not be read, 3 a threshold violated.\n";

static const char *presence_name(tq_verify_presence p) {
    switch (p) {
    case TQ_VERIFY_COMPARED: return "compared";
    case TQ_VERIFY_ORIG_ONLY: return "orig-only";
    case TQ_VERIFY_QUANT_ONLY: return "quant-only";
    case TQ_VERIFY_MISMATCH: return "shape-mismatch";
    default: return "not-numeric";
    }
}

static void json_metrics(tqc_json *j, const tq_verify_metrics *m) {
    char g[2] = {m->n ? tq_verify_grade(m->snr_db) : '-', 0};
    tqc_json_begin_object(j);
    tqc_json_fields(j, "n:l mse:f rmse:f rel_error:f max_abs_error:f snr_db:f cosine:f clipped:l clipped_fraction:f",
                    (long long)m->n, m->mse, m->rmse, m->rel_fro, m->max_abs, m->snr_db, m->cosine, (long long)m->n_clipped,
                    m->clipped_frac);
    tqc_json_fields(j, "top_n:l top_rel_error:f top_max_abs_error:f grade:s", (long long)m->n_top, m->top_rel_err,
                    m->top_max_abs, g);
    tqc_json_end_object(j);
}

static void csv_row(const char *name, const char *presence, const char *scheme, const tq_verify_metrics *m, char grade) {
    printf("%s,%s,%s,%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%lld,%.9g,%lld,%.9g,%.9g,%c\n", name, presence, scheme,
           (long long)m->n, m->mse, m->rmse, m->rel_fro, m->max_abs, m->snr_db, m->cosine, (long long)m->n_clipped,
           m->clipped_frac, (long long)m->n_top, m->top_rel_err, m->top_max_abs, grade);
}

static void text_metrics_line(const char *label, const tq_verify_metrics *m) {
    printf("%-14s n=%lld  rel=%.4g  snr=%.2f dB  rmse=%.4g  max=%.4g  cos=%.6f  clipped=%.3g%%  top0.1%%rel=%.4g  grade %c\n",
           label, (long long)m->n, m->rel_fro, m->snr_db, m->rmse, m->max_abs, m->cosine, 100.0 * m->clipped_frac,
           m->top_rel_err, m->n ? tq_verify_grade(m->snr_db) : '-');
}

typedef struct verify_args { bool csv, quiet; double max_rel, min_snr; } verify_args;
static const verify_args DEFAULTS = {.max_rel = NAN, .min_snr = NAN};

static int run(const tqc_ctx *c, void *va) {
    const verify_args *A = va;
    const bool json = c->json, csv = A->csv, quiet = A->quiet;
    const double max_rel = A->max_rel, min_snr = A->min_snr;
    const char *cmd = c->cmd;
    if (json && csv) return tqc_usage_error(cmd, "give --json or --csv, not both");
    tq_error e;
    tq_model *mo = tq_model_open(c->pos[0], &e);
    if (!mo) return tqc_fail(cmd, &e);
    tq_model *mq = tq_model_open(c->pos[1], &e);
    if (!mq) { tq_model_close(mo); return tqc_fail(cmd, &e); }
    tq_verify_report *r = tq_verify_report_create(mo, mq, &e);
    if (!r) { tq_model_close(mo); tq_model_close(mq); return tqc_fail(cmd, &e); }

    /* thresholds */
    bool thr = !isnan(max_rel) || !isnan(min_snr);
    int64_t violations = 0;
    for (int64_t i = 0; thr && i < tq_verify_count(r); i++) {
        const tq_verify_row *row = tq_verify_row_at(r, i);
        if (row->presence == TQ_VERIFY_MISMATCH) {
            fprintf(stderr, "trueq verify: %s: shapes differ, cannot be verified\n", row->name);
            violations++;
            continue;
        }
        if (row->presence != TQ_VERIFY_COMPARED) continue;
        if (!isnan(max_rel) && !(row->m.rel_fro <= max_rel)) {
            fprintf(stderr, "trueq verify: %s: relative error %.6g exceeds --max-rel-error %g\n", row->name, row->m.rel_fro, max_rel);
            violations++;
        }
        if (!isnan(min_snr) && !(row->m.snr_db >= min_snr)) {
            fprintf(stderr, "trueq verify: %s: SNR %.4g dB is below --min-snr %g\n", row->name, row->m.snr_db, min_snr);
            violations++;
        }
    }

    const tq_verify_metrics *all = tq_verify_overall(r, 0), *qo = tq_verify_overall(r, 1);
    if (json) {
        tqc_json j;
        tqc_json_init(&j, stdout, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "orig:s quant:s", c->pos[0], c->pos[1]);
        tqc_json_key(&j, "tensors");
        tqc_json_begin_array(&j);
        for (int64_t i = 0; i < tq_verify_count(r); i++) {
            const tq_verify_row *row = tq_verify_row_at(r, i);
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "name:s presence:s", row->name, presence_name(row->presence));
            tqc_json_key(&j, "shape");
            tqc_json_ints(&j, row->shape, row->ndim);
            tqc_json_fields(&j, "quantized:b simulated:b scheme:s", row->quantized == 1, row->quantized == 2, row->scheme);
            if (row->presence == TQ_VERIFY_COMPARED) { tqc_json_key(&j, "metrics"); json_metrics(&j, &row->m); }
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_key(&j, "overall");
        json_metrics(&j, all);
        tqc_json_key(&j, "overall_quantized");
        json_metrics(&j, qo);
        tqc_json_key(&j, "counts");
        tqc_json_begin_object(&j);
        static const struct { const char *k; tq_verify_presence p; } K[] = {
            {"compared", TQ_VERIFY_COMPARED}, {"orig_only", TQ_VERIFY_ORIG_ONLY}, {"quant_only", TQ_VERIFY_QUANT_ONLY},
            {"shape_mismatch", TQ_VERIFY_MISMATCH}, {"not_numeric", TQ_VERIFY_NOT_NUMERIC}};
        for (size_t k = 0; k < sizeof K / sizeof K[0]; k++) tqc_json_kint(&j, K[k].k, tq_verify_count_presence(r, K[k].p));
        tqc_json_end_object(&j);
        tqc_json_kint(&j, "violations", violations);
        tqc_json_end_object(&j);
    } else if (csv) {
        printf("name,presence,scheme,n,mse,rmse,rel_error,max_abs_error,snr_db,cosine,clipped,clipped_fraction,top_n,"
               "top_rel_error,top_max_abs_error,grade\n");
        static const tq_verify_metrics zero;
        for (int64_t i = 0; i < tq_verify_count(r); i++) {
            const tq_verify_row *row = tq_verify_row_at(r, i);
            csv_row(row->name, presence_name(row->presence), row->scheme,
                    row->presence == TQ_VERIFY_COMPARED ? &row->m : &zero, row->grade);
        }
        csv_row("__overall__", "pooled", "all", all, all->n ? tq_verify_grade(all->snr_db) : '-');
        csv_row("__overall_quantized__", "pooled", "quantized", qo, qo->n ? tq_verify_grade(qo->snr_db) : '-');
    } else {
        if (!quiet) {
            printf("%-52s %-14s %-24s %10s %9s %10s %10s %5s\n", "tensor", "shape", "scheme", "rel_err", "snr_dB",
                   "max_abs", "top0.1%", "grade");
            for (int64_t i = 0; i < tq_verify_count(r); i++) {
                const tq_verify_row *row = tq_verify_row_at(r, i);
                if (row->presence != TQ_VERIFY_COMPARED) continue;
                char sh[64];
                tqc_fmt_shape(row->shape, row->ndim, ",", sh, sizeof sh);
                printf("%-52s %-14s %-24s %10.4g %9.2f %10.4g %10.4g %5c\n", row->name, sh, row->scheme, row->m.rel_fro,
                       row->m.snr_db, row->m.max_abs, row->m.top_rel_err, row->grade);
            }
        }
        static const struct { tq_verify_presence p; const char *label; } L[] = {
            {TQ_VERIFY_ORIG_ONLY, "only in ORIG"}, {TQ_VERIFY_QUANT_ONLY, "only in QUANT"},
            {TQ_VERIFY_MISMATCH, "shapes differ"}, {TQ_VERIFY_NOT_NUMERIC, "not numeric (skipped)"}};
        for (size_t k = 0; k < sizeof L / sizeof L[0]; k++) {
            if (!tq_verify_count_presence(r, L[k].p)) continue;
            printf("%s:", L[k].label);
            for (int64_t i = 0; i < tq_verify_count(r); i++)
                if (tq_verify_row_at(r, i)->presence == L[k].p) printf(" %s", tq_verify_row_at(r, i)->name);
            printf("\n");
        }
        text_metrics_line("overall", all);
        if (qo->n) text_metrics_line("quantized", qo);
        if (thr) printf("thresholds: %lld violation(s)\n", (long long)violations);
    }
    tq_verify_report_free(r);
    tq_model_close(mo);
    tq_model_close(mq);
    return violations ? TQC_EXIT_THRESHOLD : TQC_EXIT_OK;
}

static const tqc_opt OPTS[] = {
    TQC_O_FLAG("--csv", NULL, verify_args, csv, "CSV: one row per tensor, then the pooled rows"),
    TQC_O_F64("--max-rel-error", NULL, verify_args, max_rel, "X", 0, INFINITY,
              "exit 3 when a compared tensor's relative error exceeds X"),
    TQC_O_F64("--min-snr", NULL, verify_args, min_snr, "DB", -INFINITY, INFINITY,
              "exit 3 when a compared tensor's SNR is below DB"),
    TQC_O_FLAG("--quiet", NULL, verify_args, quiet, "text: the pooled lines and the lists only"),
};

const tqc_command tqc_cmd_verify = {.name = "verify", .summary = "weight-level error of a quantized model against the original; grades",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 2, .max_pos = 2, .pos_names = "ORIG QUANT", TQC_ARGS(verify_args, &DEFAULTS), .run = run, .route = NULL};
