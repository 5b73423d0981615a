/*
 * cmd_spectrum.c — `trueq spectrum`: WeightWatcher-faithful spectral
 * analysis of a model's weight matrices, and the quantization study.
 *
 *   trueq spectrum MODEL [--csv FILE] [--json] [--ww] [--svg DIR] [--layer NAME]
 *   trueq spectrum MODEL --bits 8,4,2 [--codec NAME] [--granularity G] [--as-convert]
 *   trueq spectrum ORIG QUANT          (QUANT: a trueq quantized file)
 *   ... [--tensors GLOB[,GLOB...]]     (only those tensors' rows)
 *
 * One "run" = one set of weights (the original, or the weights dequantized
 * from real codes at one bit width). Each run is analysed by
 * tq_spectral_analyze; the study then lines the runs up layer by layer.
 */
#include "cli.h"
#include "trueq_spectral.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char SYNOPSIS[] =
    "MODEL [options]\n"
    "       trueq spectrum MODEL --bits 8,4,2 [--codec NAME] [--granularity G] [--as-convert] [options]\n"
    "       trueq spectrum ORIG QUANT [options]";
static const char DESCRIPTION[] =
    "WeightWatcher 0.7.5.5-faithful spectral analysis (ESD, power-law alpha and\n"
    "every default per-layer metric) of each 2-D weight matrix; see docs/spectrum.md.\n"
    "Exits 2 when no tensor was analysed or every analysed tensor's fit failed\n"
    "(the table is still printed, each row with its reason).\n";

#define MAX_RUNS 9

typedef struct run {
    char           label[64];
    tq_spectral_report rep;
    tq_qparams     q;        /* for --bits runs */
    int            quant;    /* 1: dequantized from codes */
    tq_plan       *plan;     /* --as-convert: what convert decides per tensor */
} run;

/* ---- quantize-dequantize transform ------------------------------------- */

static tq_status qdq(void *ctx, const char *name, float *w, int64_t rows, int64_t cols, tq_error *err) {
    const tq_qparams *p = ctx;
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc aux[TQ_MAX_AUX];
    tq_status st = tq_qparams_check(p, name, rows, cols, err);
    if (st != TQ_OK) return st;
    int na = tq_qparams_layout(p, rows, cols, &cd, cs, aux);
    if (na < 0) {
        if (err) { err->status = TQ_E_ARG; snprintf(err->msg, sizeof err->msg, "tensor \"%.900s\": no storage layout for these qparams", name); }
        return TQ_E_ARG;
    }
    void *codes = malloc(tq_nbytes(cd, 2, cs) + 1);
    void *abuf[TQ_MAX_AUX] = {0};
    int ok = codes != NULL;
    for (int i = 0; i < na && ok; i++) ok = (abuf[i] = malloc(tq_nbytes(aux[i].dtype, aux[i].ndim, aux[i].shape) + 1)) != NULL;
    if (!ok) st = TQ_E_NOMEM;
    if (st == TQ_OK) st = tq_quantize(p, name, w, rows, cols, codes, abuf, 0, err);
    if (st == TQ_OK) st = tq_dequantize(p, rows, cols, codes, (const void *const *)abuf, w, err);
    free(codes);
    for (int i = 0; i < na; i++) free(abuf[i]);
    if (st == TQ_E_NOMEM && err) snprintf(err->msg, sizeof err->msg, "no memory to quantize \"%s\"", name), err->status = st;
    return st;
}

/* --as-convert: each tensor as `trueq convert` would store it: kept tensors as
 * they are, quantized ones with the qparams of the conversion plan. */
static tq_status qdq_convert(void *ctx, const char *name, float *w, int64_t rows, int64_t cols, tq_error *err) {
    const tq_plan *pl = ctx;
    for (int64_t i = 0; i < tq_plan_count(pl); i++) {
        const tq_plan_item *it = tq_plan_item_at(pl, i);
        if (strcmp(it->src->name, name)) continue;
        return it->quantize ? qdq((void *)&it->q, name, w, rows, cols, err) : TQ_OK;
    }
    return TQ_OK;   /* not in the plan: kept */
}

/* The conversion plan of run r: convert's options for --bits B [--codec]
 * [--granularity] (its defaults where not given, as `trueq convert`). */
static int convert_plan_of(const tq_model *m, run *r, const tq_codec_info *codec, const tqc_gran *gran, tq_error *err) {
    tq_convert_options co;
    tq_convert_options_init(&co);
    co.q.bits = r->q.bits;
    if (codec) co.q.codec = codec->id;
    const tq_codec_info *ci = tq_codec_by_id(co.q.codec);
    if (gran) { co.q.gran = gran->gran; co.q.group = gran->group; }
    else if (ci) { co.q.gran = ci->default_gran; co.q.group = ci->default_group; }
    if (ci && ci->default_ggml_type && !co.q.ggml_type) co.q.ggml_type = ci->default_ggml_type;
    co.threads = 1;
    r->q = co.q;
    r->plan = tq_plan_create(m, &co, err);
    return r->plan ? 0 : -1;
}

static void progress_cb(void *ctx, int64_t done, int64_t total, const char *name) {
    (void)name; tqc_progress((const char *)ctx, done, total); }

/* ---- formatting helpers ------------------------------------------------- */

static void csv_num(FILE *f, double v) {
    if (isnan(v)) return;            /* empty cell, as pandas writes NaN/None */
    if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.17g", v);
}
static void csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) { if (*s == '"') fputc('"', f); fputc(*s, f); }
    fputc('"', f);
}

static const char *status_text(const tq_spectral_layer *L, int ww) {
    if (!ww) return tq_spectral_status_str(L->status);
    return L->status == TQ_SPECTRAL_OK ? "success" : "failed";
}

static const char *CSV_HEADER =
    "name,status,reason,N,M,Q,alpha,alpha_weighted,log_norm,log_spectral_norm,norm,spectral_norm,"
    "stable_rank,log_alpha_norm,D,xmin,xmax,sigma,num_pl_spikes,num_evals,rank_loss,weak_rank_loss,"
    "matrix_rank,lambda_max,sv_max,sv_min,entropy,warning";

static void csv_row(FILE *f, const tq_spectral_layer *L, int ww) {
    csv_str(f, L->name); fputc(',', f);
    fputs(status_text(L, ww), f); fputc(',', f);
    csv_str(f, L->reason); fputc(',', f);
    if (L->status == TQ_SPECTRAL_SKIPPED) { fputs(",,,,,,,,,,,,,,,,,,,,,,,,\n", f); return; }
    fprintf(f, "%lld,%lld,", (long long)L->N, (long long)L->M);
    double v[] = { L->Q, L->alpha, L->alpha_weighted, L->log_norm, L->log_spectral_norm, L->norm, L->spectral_norm,
                   L->stable_rank, L->log_alpha_norm, L->D, L->xmin, L->xmax, L->sigma };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) { csv_num(f, v[i]); fputc(',', f); }
    fprintf(f, "%lld,%lld,%lld,%lld,%lld,", (long long)L->num_pl_spikes, (long long)L->num_evals,
            (long long)L->rank_loss, (long long)L->weak_rank_loss, (long long)L->matrix_rank);
    double u[] = { L->lambda_max, L->sv_max, L->sv_min, L->entropy };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) { csv_num(f, u[i]); fputc(',', f); }
    fputs(tq_spectral_warning_str(L->warning), f);
    fputc('\n', f);
}

static int write_csv_run(const char *path, const run *r, int ww) {
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "trueq spectrum: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fprintf(f, "%s\n", CSV_HEADER);
    for (int64_t i = 0; i < r->rep.n; i++) {
        const tq_spectral_layer *L = &r->rep.layers[i];
        if (ww && L->status == TQ_SPECTRAL_SKIPPED) continue;
        csv_row(f, L, ww);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) { fprintf(stderr, "trueq spectrum: write error on %s\n", path); return -1; }
    return 0;
}

static void json_layer(tqc_json *j, const tq_spectral_layer *L, int ww) {
    tqc_json_begin_object(j);
    tqc_json_fields(j, "name:s status:s reason:s", L->name, status_text(L, ww), L->reason);
    tqc_json_key(j, "shape");
    const int64_t shape[2] = {L->rows, L->cols};
    tqc_json_ints(j, shape, 2);
    if (L->status != TQ_SPECTRAL_SKIPPED) {
        tqc_json_fields(j, "N:l M:l Q:f", (long long)L->N, (long long)L->M, L->Q);
        const struct { const char *k; double v; } d[] = {
            {"alpha", L->alpha}, {"alpha_weighted", L->alpha_weighted}, {"log_norm", L->log_norm},
            {"log_spectral_norm", L->log_spectral_norm}, {"norm", L->norm}, {"spectral_norm", L->spectral_norm},
            {"stable_rank", L->stable_rank}, {"log_alpha_norm", L->log_alpha_norm}, {"D", L->D},
            {"xmin", L->xmin}, {"xmax", L->xmax}, {"sigma", L->sigma}, {"lambda_max", L->lambda_max},
            {"sv_max", L->sv_max}, {"sv_min", L->sv_min}, {"entropy", L->entropy} };
        for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) tqc_json_knum(j, d[i].k, d[i].v);
        const struct { const char *k; int64_t v; } n[] = {
            {"num_pl_spikes", L->num_pl_spikes}, {"num_evals", L->num_evals}, {"rank_loss", L->rank_loss},
            {"weak_rank_loss", L->weak_rank_loss}, {"matrix_rank", L->matrix_rank}, {"xmin_index", L->xmin_index} };
        for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) tqc_json_kint(j, n[i].k, n[i].v);
        tqc_json_fields(j, "svd:s warning:s", L->svd_used == TQ_SPECTRAL_SVD_AUTO ? "gram" : "gesdd",
                        tq_spectral_warning_str(L->warning));
    }
    tqc_json_end_object(j);
}

static void json_summary(tqc_json *j, const tq_spectral_summary *s) {
    tqc_json_begin_object(j);
    tqc_json_kint(j, "layers", s->n);
    const struct { const char *k; double v; } d[] = {
        {"log_norm", s->log_norm}, {"alpha", s->alpha}, {"alpha_weighted", s->alpha_weighted},
        {"log_alpha_norm", s->log_alpha_norm}, {"log_spectral_norm", s->log_spectral_norm},
        {"stable_rank", s->stable_rank} };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) tqc_json_knum(j, d[i].k, d[i].v);
    tqc_json_end_object(j);
}

/* ---- the text table ------------------------------------------------------ */

static void print_run_table(const run *r, int ww) {
    printf("%-40s %-13s %6s %6s %9s %9s %8s %10s %10s %6s %6s %8s %-13s\n", "layer", "status", "N", "M", "alpha",
           "D", "sigma", "xmin", "lambda_max", "spikes", "s.rank", "log_norm", "warning");
    for (int64_t i = 0; i < r->rep.n; i++) {
        const tq_spectral_layer *L = &r->rep.layers[i];
        if (L->status == TQ_SPECTRAL_SKIPPED) {
            if (!ww) printf("%-40s %-13s %s\n", L->name, "skipped", L->reason);
            continue;
        }
        printf("%-40s %-13s %6lld %6lld %9.4f %9.5f %8.4f %10.4g %10.4g %6lld %6.1f %8.4f %-13s\n", L->name,
               status_text(L, ww), (long long)L->N, (long long)L->M, L->alpha, L->D, L->sigma, L->xmin,
               L->lambda_max, (long long)L->num_pl_spikes, L->stable_rank, L->log_norm,
               tq_spectral_warning_str(L->warning));
        if (!ww && L->status != TQ_SPECTRAL_OK) printf("%-40s   reason: %s\n", "", L->reason);
    }
    tq_spectral_summary s;
    tq_spectral_summarize(r->rep.layers, r->rep.n, &s);
    int64_t nskip = r->rep.n - r->rep.analysed, nfail = 0;
    for (int64_t i = 0; i < r->rep.n; i++) nfail += r->rep.layers[i].status == TQ_SPECTRAL_TOO_FEW || r->rep.layers[i].status == TQ_SPECTRAL_FAILED;
    printf("\nsummary (%s): %lld tensors, %lld analysed, %lld skipped, %lld fits failed\n", r->label,
           (long long)r->rep.n, (long long)r->rep.analysed, (long long)nskip, (long long)nfail);
    printf("  alpha %.6f  alpha_weighted %.6f  log_norm %.6f  log_alpha_norm %.6f  log_spectral_norm %.6f  stable_rank %.6f\n",
           s.alpha, s.alpha_weighted, s.log_norm, s.log_alpha_norm, s.log_spectral_norm, s.stable_rank);
}

/* ---- the study ------------------------------------------------------------ */

typedef struct study_stats {
    double mean_alpha;      /* get_summary()'s mean: failed fits count as -1 */
    double share_2_6;       /* fitted layers with 2 <= alpha <= 6, over analysed layers */
    double corr;            /* Pearson r of alpha vs the original, over layers fitted in both */
    int64_t n, failed, paired;
} study_stats;

static const tq_spectral_layer *find_layer(const run *r, const char *name, int64_t hint) {
    if (hint < r->rep.n && !strcmp(r->rep.layers[hint].name, name)) return &r->rep.layers[hint];
    for (int64_t i = 0; i < r->rep.n; i++)
        if (!strcmp(r->rep.layers[i].name, name)) return &r->rep.layers[i];
    return NULL;
}

static study_stats stats_of(const run *base, const run *r) {
    study_stats s = {0};
    tq_spectral_summary sm;
    tq_spectral_summarize(r->rep.layers, r->rep.n, &sm);
    s.mean_alpha = sm.alpha;
    s.n = sm.n;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int64_t in26 = 0;
    for (int64_t i = 0; i < r->rep.n; i++) {
        const tq_spectral_layer *L = &r->rep.layers[i];
        if (L->status == TQ_SPECTRAL_SKIPPED) continue;
        if (L->status != TQ_SPECTRAL_OK) { s.failed++; continue; }
        in26 += L->alpha >= 2.0 && L->alpha <= 6.0;
        const tq_spectral_layer *B = find_layer(base, L->name, i);
        if (!B || B->status != TQ_SPECTRAL_OK) continue;
        s.paired++;
        sx += B->alpha; sy += L->alpha; sxx += B->alpha * B->alpha; syy += L->alpha * L->alpha; sxy += B->alpha * L->alpha;
    }
    s.share_2_6 = s.n ? (double)in26 / (double)s.n : NAN;
    double p = (double)s.paired;
    double cov = sxy - sx * sy / p, vx = sxx - sx * sx / p, vy = syy - sy * sy / p;
    s.corr = s.paired >= 2 && vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN;
    return s;
}

static void print_study(const run *runs, int nr) {
    printf("%-40s", "layer");
    for (int k = 0; k < nr; k++) printf(k ? " %10s %9s" : " %10s", runs[k].label, "delta");
    putchar('\n');
    const run *b = &runs[0];
    for (int64_t i = 0; i < b->rep.n; i++) {
        const tq_spectral_layer *B = &b->rep.layers[i];
        if (B->status == TQ_SPECTRAL_SKIPPED) continue;
        printf("%-40s", B->name);
        for (int k = 0; k < nr; k++) {
            const tq_spectral_layer *L = find_layer(&runs[k], B->name, i);
            if (!L || L->status != TQ_SPECTRAL_OK) { printf(k ? " %10s %9s" : " %10s", L ? "failed" : "-", ""); continue; }
            printf(" %10.4f", L->alpha);
            if (k) {
                if (B->status == TQ_SPECTRAL_OK) printf(" %+9.4f", L->alpha - B->alpha);
                else printf(" %9s", "");
            }
        }
        putchar('\n');
    }
    printf("\n%-40s", "summary");
    for (int k = 0; k < nr; k++) printf(" %10s", runs[k].label);
    putchar('\n');
    study_stats st[MAX_RUNS];
    for (int k = 0; k < nr; k++) st[k] = stats_of(b, &runs[k]);
    printf("%-40s", "mean alpha (WW get_summary)");
    for (int k = 0; k < nr; k++) printf(" %10.4f", st[k].mean_alpha);
    printf("\n%-40s", "share of layers with 2 <= alpha <= 6");
    for (int k = 0; k < nr; k++) printf(" %9.1f%%", 100 * st[k].share_2_6);
    printf("\n%-40s", "corr(alpha, original alpha)");
    for (int k = 0; k < nr; k++) printf(" %10.4f", st[k].corr);
    printf("\n%-40s", "failed fits");
    for (int k = 0; k < nr; k++) printf(" %10lld", (long long)st[k].failed);
    printf("\n%-40s", "layers analysed");
    for (int k = 0; k < nr; k++) printf(" %10lld", (long long)st[k].n);
    putchar('\n');
}

static int write_study_csv(const char *path, const run *runs, int nr) {
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "trueq spectrum: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fputs("name,N,M", f);
    for (int k = 0; k < nr; k++) {
        fprintf(f, ",status_%s,alpha_%s", runs[k].label, runs[k].label);
        if (k) fprintf(f, ",delta_alpha_%s", runs[k].label);
    }
    fputc('\n', f);
    const run *b = &runs[0];
    for (int64_t i = 0; i < b->rep.n; i++) {
        const tq_spectral_layer *B = &b->rep.layers[i];
        if (B->status == TQ_SPECTRAL_SKIPPED) continue;
        csv_str(f, B->name);
        fprintf(f, ",%lld,%lld", (long long)B->N, (long long)B->M);
        for (int k = 0; k < nr; k++) {
            const tq_spectral_layer *L = find_layer(&runs[k], B->name, i);
            fprintf(f, ",%s,", L ? tq_spectral_status_str(L->status) : "missing");
            if (L) csv_num(f, L->alpha);
            if (k) {
                fputc(',', f);
                if (L && L->status == TQ_SPECTRAL_OK && B->status == TQ_SPECTRAL_OK) csv_num(f, L->alpha - B->alpha);
            }
        }
        fputc('\n', f);
    }
    /* summary rows, marked by a leading '#'-free name that cannot be a tensor */
    study_stats st[MAX_RUNS];
    for (int k = 0; k < nr; k++) st[k] = stats_of(b, &runs[k]);
    const char *names[] = { "(mean alpha)", "(share alpha in [2,6])", "(corr with original)" };
    for (int r = 0; r < 3; r++) {
        fprintf(f, "%s,,", names[r]);
        for (int k = 0; k < nr; k++) {
            double v = r == 0 ? st[k].mean_alpha : r == 1 ? st[k].share_2_6 : st[k].corr;
            fputs(",,", f);
            csv_num(f, v);
            if (k) fputc(',', f);
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) { fprintf(stderr, "trueq spectrum: write error on %s\n", path); return -1; }
    return 0;
}

/* ---- plots ------------------------------------------------------------------ */

static int write_plots(const char *dir, const run *runs, int nr, const char *layer, const char *model) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "trueq spectrum: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    const run *b = &runs[0];
    int64_t n = 0;
    for (int64_t i = 0; i < b->rep.n; i++) n += b->rep.layers[i].status != TQ_SPECTRAL_SKIPPED;
    const char **names = calloc((size_t)n + 1, sizeof *names);
    double *ys = calloc((size_t)(n + 1) * (size_t)nr, sizeof *ys);
    tq_spectral_svg_series ser[MAX_RUNS];
    if (!names || !ys) { free(names); free(ys); fprintf(stderr, "trueq spectrum: out of memory\n"); return -1; }
    int64_t j = 0;
    for (int64_t i = 0; i < b->rep.n; i++) {
        const tq_spectral_layer *B = &b->rep.layers[i];
        if (B->status == TQ_SPECTRAL_SKIPPED) continue;
        names[j] = B->name;
        for (int k = 0; k < nr; k++) {
            const tq_spectral_layer *L = find_layer(&runs[k], B->name, i);
            ys[(size_t)k * (size_t)(n + 1) + (size_t)j] = L && L->status == TQ_SPECTRAL_OK ? L->alpha : NAN;
        }
        j++;
    }
    for (int k = 0; k < nr; k++) ser[k] = (tq_spectral_svg_series){ runs[k].label, ys + (size_t)k * (size_t)(n + 1) };
    char path[4096], title[2048];
    snprintf(path, sizeof path, "%.3900s/alpha.svg", dir);
    snprintf(title, sizeof title, "alpha per layer: %.1900s", model);
    tq_error err;
    int rc = 0;
    if (tq_spectral_svg_alpha_plot(path, title, names, n, ser, nr, &err) != TQ_OK) rc = tqc_fail("spectrum", &err);
    else fprintf(stderr, "wrote %s\n", path);
    free(names);
    free(ys);
    for (int k = 0; k < nr && rc == 0; k++) {
        int64_t li = -1;
        for (int64_t i = 0; i < runs[k].rep.n && li < 0; i++) {
            const tq_spectral_layer *L = &runs[k].rep.layers[i];
            if (layer ? !strcmp(L->name, layer) : L->status == TQ_SPECTRAL_OK) li = i;
        }
        if (li < 0 || !runs[k].rep.evals[li]) {
            fprintf(stderr, "trueq spectrum: no ESD for layer %s in run %s\n", layer ? layer : "(first fitted)", runs[k].label);
            return -1;
        }
        const tq_spectral_layer *L = &runs[k].rep.layers[li];
        tq_spectral_plfit fit = { .ok = L->status == TQ_SPECTRAL_OK, .xmin_index = L->xmin_index, .alpha = L->alpha,
                         .xmin = L->xmin, .xmax = L->xmax, .D = L->D, .sigma = L->sigma,
                         .n_tail = L->num_pl_spikes };
        snprintf(path, sizeof path, "%.3900s/esd-%.60s.svg", dir, runs[k].label);
        snprintf(title, sizeof title, "ESD of %.255s (%.60s): alpha %.3f, xmin %.4g", L->name, runs[k].label, L->alpha, L->xmin);
        if (tq_spectral_svg_esd_plot(path, title, runs[k].rep.evals[li], L->M, &fit, &err) != TQ_OK) rc = tqc_fail("spectrum", &err);
        else fprintf(stderr, "wrote %s\n", path);
    }
    return rc;
}

/* ---- main ------------------------------------------------------------------- */

static int analyze_run(const tq_model *m, run *r, const tq_spectral_opts *base, int quant) {
    tq_spectral_opts o = *base;
    if (quant && r->plan) { o.transform = qdq_convert; o.transform_ctx = r->plan; }
    else if (quant) { o.transform = qdq; o.transform_ctx = &r->q; }
    o.progress_ctx = r->label;
    tq_error err;
    if (tq_spectral_analyze(m, &o, &r->rep, &err) != TQ_OK) { tqc_progress_done(); return tqc_fail("spectrum", &err); }
    tqc_progress_done();
    return 0;
}

typedef struct spectrum_args {
    const char *csv, *bits, *svg, *layer, *tensors;
    bool ww, as_convert, only_quant;
    int64_t threads;
    int svd;
    const tq_codec_info *codec;
    tqc_gran gran;
} spectrum_args;
static const spectrum_args DEFAULTS = {.svd = TQ_SPECTRAL_SVD_AUTO, .gran = {TQ_GRAN_CHANNEL, 0}};
static const tqc_choice SVD[] = {{"auto", TQ_SPECTRAL_SVD_AUTO}, {"gesdd", TQ_SPECTRAL_SVD_GESDD}, {NULL, 0}};

static int spectrum_runs(const tqc_ctx *c, const spectrum_args *A, const char *const *gv, int ng);
extern const tqc_command tqc_cmd_spectrum;

static int run_cmd(const tqc_ctx *c, void *va) {
    const spectrum_args *A = va;
    const char *bits = A->bits, *cmd = c->cmd;
    const int npos = c->npos;
    if (npos == 2 && bits) return tqc_usage_error(cmd, "--bits and a second model exclude each other");
    if ((A->as_convert || A->only_quant) && !bits) return tqc_usage_error(cmd, "--as-convert and --only-quantized apply to --bits");
    /* --tensors GLOB[,GLOB...]: the rows of those tensors only */
    char *globs = A->tensors ? strdup(A->tensors) : NULL;
    const char *gv[TQC_LIST_MAX];
    int ng = 0;
    if (A->tensors && !globs) return tqc_usage_error(cmd, "out of memory");
    for (char *sv = NULL, *g = globs ? strtok_r(globs, ",", &sv) : NULL; g; g = strtok_r(NULL, ",", &sv)) {
        if (ng == TQC_LIST_MAX) { free(globs); return tqc_usage_error(cmd, "--tensors: more than %d globs", TQC_LIST_MAX); }
        gv[ng++] = g;
    }
    if (A->tensors && !ng) { free(globs); return tqc_usage_error(cmd, "--tensors: no glob given"); }
    int rc = spectrum_runs(c, A, gv, ng);
    free(globs);
    return rc;
}

static int spectrum_runs(const tqc_ctx *c, const spectrum_args *A, const char *const *gv, int ng) {
    const char *csv = A->csv, *bits = A->bits, *svgdir = A->svg, *layer = A->layer;
    const bool json = c->json, ww = A->ww;
    const char *cmd = c->cmd;
    const int npos = c->npos;

    tq_spectral_opts o = { .progress = tqc_stderr_is_tty() ? progress_cb : NULL, .keep_evals = svgdir != NULL };
    o.threads = (int)A->threads;
    o.svd = (tq_spectral_svd)A->svd;
    o.tensors = ng ? gv : NULL;
    o.n_tensors = ng;

    run runs[MAX_RUNS];
    memset(runs, 0, sizeof runs);
    int nr = 0;
    tq_qparams qbase = { .codec = A->codec ? A->codec->id : TQ_CODEC_LINEAR_SYM, .gran = A->gran.gran,
                         .group = A->gran.group, .pad = A->gran.gran == TQ_GRAN_GROUP };
    snprintf(runs[nr++].label, sizeof runs[0].label, "%s", npos == 2 || bits ? "orig" : "weights");
    if (bits) {
        char *list = strdup(bits);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            int64_t b;
            if (tqc_parse_i64(tok, 1, 16, &b)) {
                tqc_usage_error(cmd, "--bits: bit width \"%s\" is not an integer in [1, 16]", tok);
                free(list);
                return TQC_EXIT_USAGE;
            }
            if (nr >= MAX_RUNS) { free(list); return tqc_usage_error(cmd, "at most %d bit widths", MAX_RUNS - 1); }
            const tq_codec_info *ci = tq_codec_by_id(qbase.codec);
            if (!(ci->bits_mask & (1u << b))) { free(list); return tqc_usage_error(cmd, "codec %s does not support %lld bits", ci->name, (long long)b); }
            if (!(ci->gran_mask & (1u << qbase.gran))) { free(list); return tqc_usage_error(cmd, "codec %s does not support --granularity %s", ci->name, tqc_gran_name(qbase.gran)); }
            runs[nr].q = qbase;
            runs[nr].q.bits = (int)b;
            runs[nr].quant = 1;
            snprintf(runs[nr].label, sizeof runs[0].label, "%lldbit", (long long)b);
            nr++;
        }
        free(list);
        if (nr < 2) return tqc_usage_error(cmd, "--bits needs at least one bit width");
        if (A->only_quant && nr != 2) return tqc_usage_error(cmd, "--only-quantized takes one bit width");
        if (A->only_quant) { runs[0] = runs[1]; nr = 1; }   /* no original run: a single run, as without --bits */
    }

    tq_error err;
    tq_model *m = tq_model_open(c->pos[0], &err);
    if (!m) return tqc_fail("spectrum", &err);
    tq_model *mq = NULL;
    int rc = 0;
    if (npos == 2) {
        mq = tq_model_open(c->pos[1], &err);
        if (!mq) { tq_model_close(m); return tqc_fail("spectrum", &err); }
        snprintf(runs[nr++].label, sizeof runs[0].label, "quant");
        for (int64_t i = 0; i < tq_model_count(mq); i++) {
            const tq_tensor *t = tq_model_tensor(mq, i);
            if (t->quantized) { char qb[48]; tq_qparams_str(&t->q, qb, sizeof qb);
                fprintf(stderr, "trueq spectrum: %s holds quantized tensors (first: %s %s)\n", c->pos[1], t->name, qb); break; }
        }
    }
    for (int k = 0; k < nr && rc == 0 && A->as_convert; k++)
        if (runs[k].quant && convert_plan_of(m, &runs[k], A->codec, tqc_given(&tqc_cmd_spectrum, c, "--granularity") ? &A->gran : NULL, &err))
            rc = tqc_fail("spectrum", &err);
    for (int k = 0; k < nr && rc == 0; k++) {
        const tq_model *src = (npos == 2 && k == 1) ? mq : m;
        rc = analyze_run(src, &runs[k], &o, runs[k].quant);
    }
    if (rc == 0) {
        int64_t analysed = 0, failed = 0;
        const char *why = NULL;   /* the first failed fit's reason */
        for (int k = 0; k < nr; k++) {
            analysed += runs[k].rep.analysed;
            for (int64_t i = 0; i < runs[k].rep.n; i++)
                if (runs[k].rep.layers[i].status == TQ_SPECTRAL_FAILED) {
                    failed++;
                    if (!why) why = runs[k].rep.layers[i].reason;
                }
        }
        if (json) {
            tqc_json j;
            tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 17);
            tqc_json_begin_object(&j);
            tqc_json_kstr(&j, "model", c->pos[0]);
            if (mq) tqc_json_kstr(&j, "quantized_model", c->pos[1]);
            tqc_json_kbool(&j, "weightwatcher_compatible", ww);
            tqc_json_key(&j, "runs");
            tqc_json_begin_array(&j);
            for (int k = 0; k < nr; k++) {
                tqc_json_begin_object(&j);
                tqc_json_kstr(&j, "label", runs[k].label);
                if (runs[k].quant) { char qb[64]; tq_qparams_str(&runs[k].q, qb, sizeof qb); tqc_json_kstr(&j, "qparams", qb); }
                tqc_json_key(&j, "layers");
                tqc_json_begin_array(&j);
                for (int64_t i = 0; i < runs[k].rep.n; i++) {
                    if (ww && runs[k].rep.layers[i].status == TQ_SPECTRAL_SKIPPED) continue;
                    json_layer(&j, &runs[k].rep.layers[i], ww);
                }
                tqc_json_end_array(&j);
                tq_spectral_summary s;
                tq_spectral_summarize(runs[k].rep.layers, runs[k].rep.n, &s);
                tqc_json_key(&j, "summary");
                json_summary(&j, &s);
                if (nr > 1) {
                    study_stats st = stats_of(&runs[0], &runs[k]);
                    tqc_json_key(&j, "study");
                    tqc_json_begin_object(&j);
                    tqc_json_fields(&j, "mean_alpha:f share_alpha_2_6:f corr_alpha_with_orig:f failed:l paired:l", st.mean_alpha,
                                    st.share_2_6, st.corr, (long long)st.failed, (long long)st.paired);
                    tqc_json_end_object(&j);
                }
                tqc_json_end_object(&j);
            }
            tqc_json_end_array(&j);
            tqc_json_end_object(&j);
        } else {
            for (int k = 0; k < nr; k++) {
                if (nr > 1) printf("== %s ==\n", runs[k].label);
                print_run_table(&runs[k], ww);
                putchar('\n');
            }
            if (nr > 1) print_study(runs, nr);
        }
        if (csv) {
            if (nr == 1) rc = write_csv_run(csv, &runs[0], ww) ? TQC_EXIT_FAIL : 0;
            else {
                rc = write_study_csv(csv, runs, nr) ? TQC_EXIT_FAIL : 0;
                for (int k = 0; k < nr && rc == 0; k++) {
                    char p[4096];
                    const char *dot = strrchr(csv, '.');
                    int stem = dot && dot > strrchr(csv, '/') ? (int)(dot - csv) : (int)strlen(csv);
                    snprintf(p, sizeof p, "%.*s-%s.csv", stem, csv, runs[k].label);
                    rc = write_csv_run(p, &runs[k], ww) ? TQC_EXIT_FAIL : 0;
                }
            }
        }
        if (rc == 0 && svgdir) rc = write_plots(svgdir, runs, nr, layer, c->pos[0]) ? TQC_EXIT_FAIL : 0;
        if (rc == 0 && analysed == 0) {
            fprintf(stderr, "trueq spectrum: no tensor of %s was analysed (no 2-D weight with 10 <= min dim <= 15000)\n", c->pos[0]);
            rc = TQC_EXIT_FAIL;
        }
        /* the table was printed (each row says why), but nothing was
         * measured: a script must not take it for a result */
        if (rc == 0 && analysed > 0 && failed == analysed) {
            fprintf(stderr, "trueq spectrum: every fit failed (%lld of %lld analysed tensors), the first: %s\n",
                    (long long)failed, (long long)analysed, why);
            rc = TQC_EXIT_FAIL;
        }
    }
    for (int k = 0; k < nr; k++) { tq_spectral_report_free(&runs[k].rep); tq_plan_free(runs[k].plan); }
    tq_model_close(mq);
    tq_model_close(m);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--csv", NULL, spectrum_args, csv, "FILE",
              "per-layer table as CSV (study: FILE is the combined\ntable; FILE-<run>.csv one per run)"),
    TQC_O_FLAG("--ww", NULL, spectrum_args, ww,
               "WeightWatcher-compatible rows: only analysed layers,\nstatus success/failed, failed fits as -1"),
    TQC_O_INT("--threads", "-j", spectrum_args, threads, "N", 1, 256,
              "layer threads (default: all CPUs); results identical for any N"),
    TQC_O_CHOICE("--svd", spectrum_args, svd, SVD,
                 "auto (default): Gram-matrix eigenvalues where provably\n"
                 "accurate, else dgesdd; gesdd: always LAPACK dgesdd"),
    TQC_O_STR("--bits", NULL, spectrum_args, bits, "LIST", "quantization study at these bit widths (e.g. 8,4,2)"),
    TQC_O_CODEC("--codec", spectrum_args, codec, "codec for --bits (default linear-sym)"),
    TQC_O_GRAN("--granularity", spectrum_args, gran, "tensor | channel | group:SIZE (default channel)"),
    TQC_O_STR("--svg", NULL, spectrum_args, svg, "DIR", "write DIR/alpha.svg and DIR/esd-<run>.svg"),
    TQC_O_STR("--layer", NULL, spectrum_args, layer, "NAME", "the layer whose ESD is plotted (default: the first fitted)"),
    TQC_O_STR("--tensors", NULL, spectrum_args, tensors, "GLOB[,GLOB]",
              "only the tensors whose name matches a glob (* ? [..]); each row\n"
              "the same as in the full run, summaries over these rows"),
    TQC_O_FLAG("--as-convert", NULL, spectrum_args, as_convert,
               "--bits runs quantize as `trueq convert --bits B [--codec]\n"
               "[--granularity]` would: its policy (kept tensors as stored) and\n"
               "defaults (the codec's granularity); = spectrum of convert's output"),
    TQC_O_FLAG("--only-quantized", NULL, spectrum_args, only_quant,
               "with one --bits width: analyse only the quantized weights (one\n"
               "run, no original run and no study statistics)"),
};

const tqc_command tqc_cmd_spectrum = {.name = "spectrum", .summary = "WeightWatcher-faithful spectral analysis (alpha...), also per bit width",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 2, .pos_names = "MODEL or ORIG QUANT", TQC_ARGS(spectrum_args, &DEFAULTS), .run = run_cmd, .route = NULL};
