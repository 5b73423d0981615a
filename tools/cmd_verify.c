/* cmd_verify.c — `trueq verify ORIG QUANT`: weight-level error of a quantized
 * (or simulated, or any other) model against the original, per tensor and
 * overall, with grades and optional thresholds (src/verify/). */
#include "cli.h"
#include "trueq_verify.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq verify ORIG QUANT [--json | --csv] [--max-rel-error X] [--min-snr DB] [--quiet]\n\n"
    "Compares every tensor of ORIG with the tensor of the same name in QUANT at the weight\n"
    "level: ORIG decoded to float32 against QUANT's values dequantized from its stored codes\n"
    "(or its simulated / plain values). Per tensor and pooled over all compared tensors (and\n"
    "over the quantized ones): MSE, RMSE, relative Frobenius error ||w-q||/||w||, max abs\n"
    "error, SNR in dB, cosine similarity, fraction of weights clipped (outside the range of\n"
    "their block's reconstructed values), and the relative error on the 0.1%% largest-magnitude\n"
    "weights. Tensors present on one side only, or with different shapes, are listed.\n\n"
    "Grades (from SNR = -20 log10(relative error)):\n"
    "  A >= 40 dB (rel <= 1%%)   B >= 30 dB (<= 3.2%%)   C >= 20 dB (<= 10%%)   D >= 10 dB   F below\n\n"
    "  --json              one JSON object (non-finite numbers are null)\n"
    "  --csv               CSV: one row per tensor, then the pooled rows\n"
    "  --max-rel-error X   exit 3 when a compared tensor's relative error exceeds X\n"
    "  --min-snr DB        exit 3 when a compared tensor's SNR is below DB\n"
    "  --quiet             text: the pooled lines and the lists only\n"
    "With a threshold, tensors whose shapes differ also violate it.\n"
    "Exit status: 0 ok, 1 usage, 2 a model could not be read, 3 a threshold violated.\n";

static void jnum(double v) {
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}

static const char *presence_name(tq_verify_presence p) {
    switch (p) {
    case TQ_VERIFY_COMPARED: return "compared";
    case TQ_VERIFY_ORIG_ONLY: return "orig-only";
    case TQ_VERIFY_QUANT_ONLY: return "quant-only";
    case TQ_VERIFY_MISMATCH: return "shape-mismatch";
    default: return "not-numeric";
    }
}

static void json_metrics(const tq_verify_metrics *m) {
    printf("{\"n\": %lld, \"mse\": ", (long long)m->n); jnum(m->mse);
    printf(", \"rmse\": "); jnum(m->rmse);
    printf(", \"rel_error\": "); jnum(m->rel_fro);
    printf(", \"max_abs_error\": "); jnum(m->max_abs);
    printf(", \"snr_db\": "); jnum(m->snr_db);
    printf(", \"cosine\": "); jnum(m->cosine);
    printf(", \"clipped\": %lld, \"clipped_fraction\": ", (long long)m->n_clipped); jnum(m->clipped_frac);
    printf(", \"top_n\": %lld, \"top_rel_error\": ", (long long)m->n_top); jnum(m->top_rel_err);
    printf(", \"top_max_abs_error\": "); jnum(m->top_max_abs);
    printf(", \"grade\": \"%c\"}", m->n ? tq_verify_grade(m->snr_db) : '-');
}

static void csv_row(const char *name, const char *presence, const char *scheme, const tq_verify_metrics *m, char grade) {
    printf("%s,%s,%s,%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%lld,%.9g,%lld,%.9g,%.9g,%c\n", name, presence, scheme,
           (long long)m->n, m->mse, m->rmse, m->rel_fro, m->max_abs, m->snr_db, m->cosine, (long long)m->n_clipped,
           m->clipped_frac, (long long)m->n_top, m->top_rel_err, m->top_max_abs, grade);
}

static void shape_str(const tq_verify_row *r, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < r->ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, d ? ",%lld" : "%lld", (long long)r->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static void text_metrics_line(const char *label, const tq_verify_metrics *m) {
    printf("%-14s n=%lld  rel=%.4g  snr=%.2f dB  rmse=%.4g  max=%.4g  cos=%.6f  clipped=%.3g%%  top0.1%%rel=%.4g  grade %c\n",
           label, (long long)m->n, m->rel_fro, m->snr_db, m->rmse, m->max_abs, m->cosine, 100.0 * m->clipped_frac,
           m->top_rel_err, m->n ? tq_verify_grade(m->snr_db) : '-');
}

int cmd_verify(int argc, char **argv) {
    tq_args a;
    tq_args_init(&a, argc, argv);
    bool json = false, csv = false, quiet = false;
    const char *v;
    double max_rel = NAN, min_snr = NAN;
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--csv")) csv = true;
        else if (tq_args_flag(&a, "--quiet")) quiet = true;
        else if (tq_args_value(&a, NULL, "--max-rel-error", &v)) {
            char *end;
            max_rel = strtod(v, &end);
            if (*end || !(max_rel >= 0)) return tq_cli_usage_error("verify", "--max-rel-error wants a number >= 0, got \"%s\"", v);
        } else if (tq_args_value(&a, NULL, "--min-snr", &v)) {
            char *end;
            min_snr = strtod(v, &end);
            if (*end || isnan(min_snr)) return tq_cli_usage_error("verify", "--min-snr wants a number of dB, got \"%s\"", v);
        } else if (!tq_args_positional(&a)) return tq_args_unknown(&a, USAGE);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 2) return tq_cli_usage_error("verify", "expected ORIG and QUANT, got %d path(s)", a.npos);
    if (json && csv) return tq_cli_usage_error("verify", "give --json or --csv, not both");
    tq_error e;
    tq_model *mo = tq_model_open(a.pos[0], &e);
    if (!mo) return tq_cli_fail("verify", &e);
    tq_model *mq = tq_model_open(a.pos[1], &e);
    if (!mq) { tq_model_close(mo); return tq_cli_fail("verify", &e); }
    tq_verify_report *r = tq_verify_report_create(mo, mq, &e);
    if (!r) { tq_model_close(mo); tq_model_close(mq); return tq_cli_fail("verify", &e); }

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
        printf("{\"orig\": ");
        tq_json_str(stdout, a.pos[0]);
        printf(", \"quant\": ");
        tq_json_str(stdout, a.pos[1]);
        printf(", \"tensors\": [");
        for (int64_t i = 0; i < tq_verify_count(r); i++) {
            const tq_verify_row *row = tq_verify_row_at(r, i);
            printf("%s\n  {\"name\": ", i ? "," : "");
            tq_json_str(stdout, row->name);
            printf(", \"presence\": \"%s\", \"shape\": [", presence_name(row->presence));
            for (int d = 0; d < row->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)row->shape[d]);
            printf("], \"quantized\": %s, \"simulated\": %s, \"scheme\": ", row->quantized == 1 ? "true" : "false",
                   row->quantized == 2 ? "true" : "false");
            tq_json_str(stdout, row->scheme);
            if (row->presence == TQ_VERIFY_COMPARED) { printf(", \"metrics\": "); json_metrics(&row->m); }
            printf("}");
        }
        printf("],\n \"overall\": ");
        json_metrics(all);
        printf(",\n \"overall_quantized\": ");
        json_metrics(qo);
        printf(",\n \"counts\": {\"compared\": %lld, \"orig_only\": %lld, \"quant_only\": %lld, \"shape_mismatch\": %lld, "
               "\"not_numeric\": %lld}, \"violations\": %lld}\n",
               (long long)tq_verify_count_presence(r, TQ_VERIFY_COMPARED), (long long)tq_verify_count_presence(r, TQ_VERIFY_ORIG_ONLY),
               (long long)tq_verify_count_presence(r, TQ_VERIFY_QUANT_ONLY), (long long)tq_verify_count_presence(r, TQ_VERIFY_MISMATCH),
               (long long)tq_verify_count_presence(r, TQ_VERIFY_NOT_NUMERIC), (long long)violations);
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
                shape_str(row, sh, sizeof sh);
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
    return violations ? TQ_EXIT_THRESHOLD : TQ_EXIT_OK;
}
