/* cmd_codecs.c — `trueq codecs`: the codec table; `trueq codecs --study MODEL`:
 * every codec x bits x granularity applied to one model, measured. */
#include "cli.h"
#include "trueq_verify.h"
#include "io/model.h"
#include "core/internal.h"
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *USAGE =
    "usage: trueq codecs [--json]\n"
    "       trueq codecs --study MODEL [--json] [--csv FILE] [--group G] [--only NAME]\n\n"
    "Without --study: every codec with its bits, granularities, bytes per weight and storage\n"
    "layout. Bytes per weight are computed from the codec's layout for a [768, 3072] matrix\n"
    "(codes + side tensors, channel granularity; group 64 for group-only settings).\n\n"
    "--study MODEL quantizes MODEL with every codec x bits x granularity (group G, default 64;\n"
    "QINS rational with alpha = 1 and calibrated), using the default convert policy. For each:\n"
    "the output is really written (safetensors, to a temporary directory) and measured:\n"
    "bytes per quantized weight (codes + side tensors of the quantized tensors, from the written\n"
    "file) and the file's size; weight-level error of the quantized tensors (as `trueq verify`,\n"
    "values dequantized from the written codes); encode and decode throughput in millions of\n"
    "weights per second (one thread, codec only, no I/O).\n\n"
    "  --json       JSON output\n"
    "  --csv FILE   also write the study table as CSV to FILE\n"
    "  --only NAME  study only the codec NAME\n";

/* ---- the list ------------------------------------------------------------- */

static double layout_bpw(const tq_codec_info *ci, int bits, double *side) {
    tq_qparams p = {ci->id, bits, ci->default_gran, ci->default_group, 0, 1.0f};
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    const int64_t R = 768, C = 3072;
    int na = tq_qparams_layout(&p, R, C, &cd, cs, ad);
    if (na < 0) { *side = 0; return 0; }
    double codes = (double)tq_nbytes(cd, 2, cs), aux = 0;
    for (int a = 0; a < na; a++) aux += (double)tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
    *side = aux / (double)(R * C);
    return codes / (double)(R * C);
}

static void grans_str(unsigned mask, char *buf, size_t cap) {
    buf[0] = 0;
    for (int g = 0; g < 3; g++)
        if (mask & (1u << g)) { size_t l = strlen(buf); snprintf(buf + l, cap - l, "%s%s", l ? "," : "", tq_gran_name((tq_granularity)g)); }
}

static int list_codecs(bool json) {
    if (json) printf("{\"codecs\": [");
    else printf("%-14s %-5s %-22s %-10s %-10s  %s\n", "codec", "bits", "granularities", "codes B/w", "side B/w", "layout");
    for (int i = 0; i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        char gs[64];
        grans_str(ci->gran_mask, gs, sizeof gs);
        bool firstb = true;
        for (int bits = 1; bits <= 16; bits++) {
            if (!(ci->bits_mask & (1u << bits))) continue;
            double side, bpw = layout_bpw(ci, bits, &side);
            if (json) {
                printf("%s\n  {\"name\": ", i || !firstb ? "," : "");
                tq_json_str(stdout, ci->name);
                printf(", \"bits\": %d, \"granularities\": ", bits);
                tq_json_str(stdout, gs);
                printf(", \"codes_bytes_per_weight\": %.6g, \"side_bytes_per_weight\": %.6g, \"summary\": ", bpw, side);
                tq_json_str(stdout, ci->summary);
                printf(", \"layout\": ");
                tq_json_str(stdout, ci->layout);
                printf("}");
            } else {
                printf("%-14s %-5d %-22s %-10.4f %-10.5f  %s\n", firstb ? ci->name : "", bits, firstb ? gs : "", bpw, side,
                       firstb ? ci->layout : "");
                if (firstb) printf("%-14s %-5s %-22s %-10s %-10s  %s\n", "", "", "", "", "", ci->summary);
            }
            firstb = false;
        }
    }
    if (json) printf("]}\n");
    return TQ_EXIT_OK;
}

/* ---- the study ------------------------------------------------------------ */

typedef struct variant {
    tq_qparams q;
    char label[64];
    /* measured */
    uint64_t file_bytes, q_bytes;
    int64_t q_numel, n_quantized;
    tq_verify_metrics m;
    double enc_s, dec_s;
    int ok;
    char err[1024];
} variant;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_tree(p);
        else unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* Encode throughput: quantize every planned tensor once on one thread. */
static tq_status time_encode(const tq_model *m, const tq_plan *plan, double *secs, tq_error *err) {
    *secs = 0;
    for (int64_t i = 0; i < tq_plan_count(plan); i++) {
        const tq_plan_item *it = tq_plan_item_at(plan, i);
        if (!it->quantize) continue;
        const tq_tensor *t = it->src;
        int64_t rows, cols;
        tq_shape_2d(t->ndim, t->shape, &rows, &cols);
        float *w = malloc(sizeof(float) * (size_t)(t->numel + 1));
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc ad[TQ_MAX_AUX];
        int na = tq_qparams_layout(&it->q, rows, cols, &cd, cs, ad);
        void *codes = malloc(tq_nbytes(cd, 2, cs) + 1), *aux[TQ_MAX_AUX] = {0};
        bool ok = w && codes && na >= 0;
        for (int a = 0; ok && a < na; a++) ok = (aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 8)) != NULL;
        tq_status st = ok ? tq_model_tensor_f32(m, t, w, err) : tq_err(err, TQ_E_NOMEM, "out of memory"), st2 = TQ_OK;
        if (!st) {
            double t0 = now_s();
            st2 = tq_quantize(&it->q, t->name, w, rows, cols, codes, aux, 0, err);
            *secs += now_s() - t0;
        }
        free(w);
        free(codes);
        for (int a = 0; a < TQ_MAX_AUX; a++) free(aux[a]);
        if (st) return st;
        if (st2) return st2;
    }
    return TQ_OK;
}

static void run_variant(const tq_model *orig, const char *tmpbase, variant *v) {
    tq_error e = {0};
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.q = v->q;
    o.threads = 0;
    char *dir = tq_path_join(tmpbase, "out"), *path = NULL;
    tq_plan *plan = tq_plan_create(orig, &o, &e);
    tq_model *out = NULL;
    tq_verify_report *rep = NULL;
    if (!dir) { tq_err(&e, TQ_E_NOMEM, "out of memory"); goto fail; }
    if (!plan) goto fail;
    if (time_encode(orig, plan, &v->enc_s, &e)) goto fail;
    if (tq_plan_execute(plan, dir, NULL, NULL, &e)) goto fail;
    path = tq_path_join(dir, tq_plan_output_name(plan));
    struct stat sb;
    if (!path || stat(path, &sb) != 0) { tq_err(&e, TQ_E_IO, "cannot stat the output in %s", dir); goto fail; }
    v->file_bytes = (uint64_t)sb.st_size;
    if (!(out = tq_model_open(path, &e))) goto fail;
    for (int64_t i = 0; i < tq_model_count(out); i++) {
        const tq_tensor *t = tq_model_tensor(out, i);
        if (!t->quantized) continue;
        v->n_quantized++;
        v->q_bytes += t->nbytes + t->aux_bytes;
        v->q_numel += t->numel;
    }
    if (!(rep = tq_verify_report_create(orig, out, &e))) goto fail;
    v->m = *tq_verify_overall(rep, 1);
    v->dec_s = tq_verify_decode_seconds(rep);
    v->ok = 1;
    goto done;
fail:
    memcpy(v->err, e.msg, sizeof v->err);
done:
    tq_verify_report_free(rep);
    tq_model_close(out);
    tq_plan_free(plan);
    if (dir) rm_tree(dir);
    free(dir);
    free(path);
}

static void jnum(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fprintf(f, "null");
}

static int study(const char *model_path, bool json, const char *csv_path, int64_t group, const char *only) {
    tq_error e;
    tq_model *m = tq_model_open(model_path, &e);
    if (!m) return tq_cli_fail("codecs", &e);
    const tq_codec_info *only_ci = NULL;
    if (only && !(only_ci = tq_codec_by_name(only))) {
        tq_model_close(m);
        return tq_cli_usage_error("codecs", "unknown codec %s", only);
    }
    variant *vs = calloc(256, sizeof *vs);
    int nv = 0;
    for (int i = 0; vs && i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (only_ci && only_ci != ci) continue;
        for (int bits = 8; bits >= 1; bits--) {
            if (!(ci->bits_mask & (1u << bits))) continue;
            for (int g = 0; g < 3; g++) {
                if (!(ci->gran_mask & (1u << g))) continue;
                for (int al = 0; al < (ci->uses_alpha ? 2 : 1); al++) {
                    variant *v = &vs[nv++];
                    v->q = (tq_qparams){ci->id, bits, (tq_granularity)g, g == TQ_GRAN_GROUP ? group : 0, 1,
                                        ci->uses_alpha && al == 0 ? 1.0f : 0.0f};
                    tq_qparams_str(&v->q, v->label, sizeof v->label);
                    if (ci->uses_alpha) {
                        size_t l = strlen(v->label);
                        snprintf(v->label + l, sizeof v->label - l, al == 0 ? " a=1" : " a=cal");
                    }
                }
            }
        }
    }
    if (!vs) { tq_model_close(m); fprintf(stderr, "trueq codecs: out of memory\n"); return TQ_EXIT_FAIL; }
    const char *tmp = getenv("TMPDIR");
    char base[4096];
    snprintf(base, sizeof base, "%s/trueq-study-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) { perror("trueq codecs: mkdtemp"); free(vs); tq_model_close(m); return TQ_EXIT_FAIL; }
    int64_t numel_all = 0;
    for (int64_t i = 0; i < tq_model_count(m); i++) numel_all += tq_model_tensor(m, i)->numel;
    struct stat sb;
    uint64_t orig_bytes = stat(tq_model_path(m), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    int failed = 0;
    for (int k = 0; k < nv; k++) {
        if (tq_stderr_is_tty()) tq_progress(vs[k].label, k, nv);
        run_variant(m, base, &vs[k]);
        if (!vs[k].ok) { failed++; fprintf(stderr, "trueq codecs: %s: %s\n", vs[k].label, vs[k].err); }
    }
    tq_progress_done();
    rm_tree(base);

    FILE *cf = NULL;
    if (csv_path) {
        cf = fopen(csv_path, "w");
        if (!cf) perror(csv_path);
    }
    if (cf)
        fprintf(cf, "variant,codec,bits,granularity,group,alpha,bytes_per_weight,file_bytes,quantized_tensors,quantized_weights,"
                    "rel_error,snr_db,rmse,max_abs_error,cosine,clipped_fraction,top_rel_error,grade,encode_mw_s,decode_mw_s\n");
    if (json) {
        printf("{\"model\": ");
        tq_json_str(stdout, model_path);
        printf(", \"file_bytes\": %llu, \"weights\": %lld, \"variants\": [", (unsigned long long)orig_bytes, (long long)numel_all);
    }
    else {
        printf("model %s: %llu bytes, %lld weights\n", model_path, (unsigned long long)orig_bytes, (long long)numel_all);
        printf("%-30s %7s %12s %7s %10s %8s %10s %9s %8s %9s %5s %8s %8s\n", "variant", "B/w", "file bytes", "ratio",
               "rel_err", "SNR dB", "max_abs", "cosine", "clip%", "top0.1%", "grade", "enc Mw/s", "dec Mw/s");
    }
    for (int k = 0; k < nv; k++) {
        variant *v = &vs[k];
        const tq_codec_info *ci = tq_codec_by_id(v->q.codec);
        double bpw = v->q_numel ? (double)v->q_bytes / (double)v->q_numel : 0;
        double enc = v->enc_s > 0 ? (double)v->q_numel / v->enc_s / 1e6 : 0, dec = v->dec_s > 0 ? (double)v->q_numel / v->dec_s / 1e6 : 0;
        char grade = v->m.n ? tq_verify_grade(v->m.snr_db) : '-';
        if (json) {
            printf("%s\n  {\"variant\": \"%s\", \"codec\": \"%s\", \"bits\": %d, \"granularity\": \"%s\", \"group\": %lld, \"ok\": %s",
                   k ? "," : "", v->label, ci->name, v->q.bits, tq_gran_name(v->q.gran), (long long)v->q.group, v->ok ? "true" : "false");
            if (!v->ok) { printf(", \"error\": "); tq_json_str(stdout, v->err); printf("}"); continue; }
            printf(", \"bytes_per_weight\": %.6g, \"file_bytes\": %llu, \"quantized_tensors\": %lld, \"quantized_weights\": %lld",
                   bpw, (unsigned long long)v->file_bytes, (long long)v->n_quantized, (long long)v->q_numel);
            printf(", \"rel_error\": "); jnum(stdout, v->m.rel_fro);
            printf(", \"snr_db\": "); jnum(stdout, v->m.snr_db);
            printf(", \"rmse\": "); jnum(stdout, v->m.rmse);
            printf(", \"max_abs_error\": "); jnum(stdout, v->m.max_abs);
            printf(", \"cosine\": "); jnum(stdout, v->m.cosine);
            printf(", \"clipped_fraction\": "); jnum(stdout, v->m.clipped_frac);
            printf(", \"top_rel_error\": "); jnum(stdout, v->m.top_rel_err);
            printf(", \"grade\": \"%c\", \"encode_mw_s\": %.4g, \"decode_mw_s\": %.4g}", grade, enc, dec);
        } else if (v->ok) {
            printf("%-30s %7.4f %12llu %7.3f %10.4g %8.2f %10.4g %9.6f %8.3g %9.4g %5c %8.1f %8.1f\n", v->label, bpw,
                   (unsigned long long)v->file_bytes, orig_bytes ? (double)orig_bytes / (double)v->file_bytes : 0, v->m.rel_fro,
                   v->m.snr_db, v->m.max_abs, v->m.cosine, 100 * v->m.clipped_frac, v->m.top_rel_err, grade, enc, dec);
        } else {
            printf("%-30s failed: %s\n", v->label, v->err);
        }
        if (cf && v->ok)
            fprintf(cf, "%s,%s,%d,%s,%lld,%g,%.6g,%llu,%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.9g,%.6g,%.6g,%c,%.4g,%.4g\n", v->label,
                    ci->name, v->q.bits, tq_gran_name(v->q.gran), (long long)v->q.group, (double)v->q.alpha, bpw,
                    (unsigned long long)v->file_bytes, (long long)v->n_quantized, (long long)v->q_numel, v->m.rel_fro, v->m.snr_db,
                    v->m.rmse, v->m.max_abs, v->m.cosine, v->m.clipped_frac, v->m.top_rel_err, grade, enc, dec);
    }
    if (json) printf("]}\n");
    if (cf) fclose(cf);
    free(vs);
    tq_model_close(m);
    return failed ? TQ_EXIT_FAIL : TQ_EXIT_OK;
}

int cmd_codecs(int argc, char **argv) {
    tq_args a;
    tq_args_init(&a, argc, argv);
    bool json = false;
    const char *model = NULL, *csv = NULL, *v, *only = NULL;
    int64_t group = 64;
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_value(&a, NULL, "--study", &model)) {}
        else if (tq_args_value(&a, NULL, "--csv", &csv)) {}
        else if (tq_args_value(&a, NULL, "--only", &only)) {}
        else if (tq_args_value(&a, NULL, "--group", &v)) {
            char *end;
            long long g = strtoll(v, &end, 10);
            if (*end || g < 1) return tq_cli_usage_error("codecs", "--group wants a positive integer, got \"%s\"", v);
            group = g;
        } else return tq_args_unknown(&a, USAGE);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos) return tq_cli_usage_error("codecs", "unexpected argument \"%s\"", a.pos[0]);
    if (!model) {
        if (csv || only) return tq_cli_usage_error("codecs", "--csv and --only need --study MODEL");
        return list_codecs(json);
    }
    return study(model, json, csv, group, only);
}
