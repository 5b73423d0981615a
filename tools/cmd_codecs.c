/* cmd_codecs.c — `trueq codecs`: the codec table; `trueq codecs --study MODEL`:
 * every codec x bits x granularity applied to one model, measured. */
#include "cli.h"
#include "trueq_verify.h"
#include "io/model.h"
#include "core/internal.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char SYNOPSIS[] =
    "[--json]\n       trueq codecs --study MODEL [--json] [--csv FILE] [--group G] [--only NAME]";
static const char DESCRIPTION[] =
    "Without --study: every codec with its bits, granularities, bytes per weight and storage\n"
    "layout. Bytes per weight are computed from the codec's layout for a [768, 3072] matrix\n"
    "(codes + side tensors, channel granularity; group 64 for group-only settings).\n\n"
    "--study MODEL quantizes MODEL with every codec x bits x granularity (group G, default 64;\n"
    "QINS rational with alpha = 1 and calibrated), using the default convert policy. For each:\n"
    "the output is really written (safetensors, to a temporary directory) and measured:\n"
    "bytes per quantized weight (codes + side tensors of the quantized tensors, from the written\n"
    "file) and the file's size; weight-level error of the quantized tensors (as `trueq verify`,\n"
    "values dequantized from the written codes); encode and decode throughput in millions of\n"
    "weights per second (one thread, codec only, no I/O).\n";

/* ---- the list ------------------------------------------------------------- */

static double layout_bpw(const tq_codec_info *ci, int bits, int ggml_type, double *side) {
    tq_qparams p = {ci->id, bits, ci->default_gran, ci->default_group, 0, 1.0f, 0, 0};
    if (ggml_type && tq_qparams_ggml(ggml_type, &p, NULL)) { *side = 0; return -1; }
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    const int64_t R = 768, C = 3072;
    int na = tq_qparams_layout(&p, R, C, &cd, cs, ad);
    if (na < 0) { *side = 0; return -1; }
    double codes = (double)tq_nbytes(cd, 2, cs), aux = 0;
    for (int a = 0; a < na; a++) aux += (double)tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
    *side = aux / (double)(R * C);
    return codes / (double)(R * C);
}

static int list_codecs(bool json) {
    tqc_json j;
    tqc_json_init(&j, stdout, TQC_JSON_SPACED, 6);
    if (json) { tqc_json_begin_object(&j); tqc_json_key(&j, "codecs"); tqc_json_begin_array(&j); }
    else printf("%-14s %-5s %-22s %-10s %-10s  %s\n", "codec", "bits", "granularities", "codes B/w", "side B/w", "layout");
    for (int i = 0; i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        char gs[64];
        tqc_gran_list(ci->gran_mask, gs, sizeof gs);
        bool firstb = true;
        /* one line per bit width; a codec of ggml types (its parameter is the
         * type, not the bits): one line per type it takes */
        for (int k = 1; k <= (ci->default_ggml_type ? 63 : 16); k++) {
            int bits = k, gt = ci->default_ggml_type ? k : 0;
            tq_qparams gq;
            if (gt) { if (tq_qparams_ggml(gt, &gq, NULL)) continue; bits = gq.bits; }
            else if (!(ci->bits_mask & (1u << bits))) continue;
            double side, bpw = layout_bpw(ci, bits, gt, &side);
            char label[96];
            snprintf(label, sizeof label, "%s%s%s", firstb ? gs : "", gt && firstb ? " " : "", gt ? tq_ggml_type_name(gt) : "");
            if (json) {
                tqc_json_begin_object(&j);
                tqc_json_fields(&j, "name:s bits:d granularities:s codes_bytes_per_weight:f side_bytes_per_weight:f summary:s layout:s",
                                ci->name, bits, gs, bpw, side, ci->summary, ci->layout);
                if (gt) tqc_json_kstr(&j, "ggml_type", tq_ggml_type_name(gt));
                tqc_json_end_object(&j);
            } else {
                printf("%-14s %-5d %-22s %-10.4f %-10.5f  %s\n", firstb ? ci->name : "", bits, label, bpw, side,
                       firstb ? ci->layout : "");
                if (firstb) printf("%-14s %-5s %-22s %-10s %-10s  %s\n", "", "", "", "", "", ci->summary);
            }
            firstb = false;
        }
    }
    if (json) { tqc_json_end_array(&j); tqc_json_end_object(&j); }
    return TQC_EXIT_OK;
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

static int study(const char *model_path, bool json, const char *csv_path, int64_t group, const tq_codec_info *only_ci) {
    tq_error e;
    tq_model *m = tq_model_open(model_path, &e);
    if (!m) return tqc_fail("codecs", &e);
    variant *vs = calloc(256, sizeof *vs);
    int nv = 0;
    for (int i = 0; vs && i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (only_ci && only_ci != ci) continue;
        if (ci->default_ggml_type) {   /* ggml types: studied on request only (--codec ggml), at its default Q8_0 */
            if (!only_ci) continue;
            variant *v = &vs[nv++];
            tq_qparams_ggml(ci->default_ggml_type, &v->q, NULL);
            tq_qparams_str(&v->q, v->label, sizeof v->label);
            continue;
        }
        for (int bits = 8; bits >= 1; bits--) {
            if (!(ci->bits_mask & (1u << bits))) continue;
            for (int g = 0; g < 3; g++) {
                if (!(ci->gran_mask & (1u << g))) continue;
                for (int al = 0; al < (ci->uses_alpha ? 2 : 1); al++) {
                    variant *v = &vs[nv++];
                    v->q = (tq_qparams){ci->id, bits, (tq_granularity)g, g == TQ_GRAN_GROUP ? group : 0, 1,
                                        ci->uses_alpha && al == 0 ? 1.0f : 0.0f, 0, 0};
                    tq_qparams_str(&v->q, v->label, sizeof v->label);
                    if (ci->uses_alpha) {
                        size_t l = strlen(v->label);
                        snprintf(v->label + l, sizeof v->label - l, al == 0 ? " a=1" : " a=cal");
                    }
                }
            }
        }
    }
    if (!vs) { tq_model_close(m); fprintf(stderr, "trueq codecs: out of memory\n"); return TQC_EXIT_FAIL; }
    const char *tmp = getenv("TMPDIR");
    char base[4096];
    snprintf(base, sizeof base, "%s/trueq-study-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) { perror("trueq codecs: mkdtemp"); free(vs); tq_model_close(m); return TQC_EXIT_FAIL; }
    int64_t numel_all = 0;
    for (int64_t i = 0; i < tq_model_count(m); i++) numel_all += tq_model_tensor(m, i)->numel;
    struct stat sb;
    uint64_t orig_bytes = stat(tq_model_path(m), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    int failed = 0;
    for (int k = 0; k < nv; k++) {
        if (tqc_stderr_is_tty()) tqc_progress(vs[k].label, k, nv);
        run_variant(m, base, &vs[k]);
        if (!vs[k].ok) { failed++; fprintf(stderr, "trueq codecs: %s: %s\n", vs[k].label, vs[k].err); }
    }
    tqc_progress_done();
    rm_tree(base);

    FILE *cf = NULL;
    if (csv_path) {
        cf = fopen(csv_path, "w");
        if (!cf) perror(csv_path);
    }
    if (cf)
        fprintf(cf, "variant,codec,bits,granularity,group,alpha,bytes_per_weight,file_bytes,quantized_tensors,quantized_weights,"
                    "rel_error,snr_db,rmse,max_abs_error,cosine,clipped_fraction,top_rel_error,grade,encode_mw_s,decode_mw_s\n");
    tqc_json j;
    tqc_json_init(&j, stdout, TQC_JSON_SPACED, 6);
    if (json) {
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "model:s file_bytes:u weights:l", model_path, (unsigned long long)orig_bytes, (long long)numel_all);
        tqc_json_key(&j, "variants");
        tqc_json_begin_array(&j);
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
            char gr[2] = {grade, 0};
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "variant:s codec:s bits:d granularity:s group:l ok:b", v->label, ci->name, v->q.bits,
                            tqc_gran_name(v->q.gran), (long long)v->q.group, v->ok);
            if (!v->ok) tqc_json_kstr(&j, "error", v->err);
            else {
                tqc_json_fields(&j, "bytes_per_weight:f file_bytes:u quantized_tensors:l quantized_weights:l", bpw,
                                (unsigned long long)v->file_bytes, (long long)v->n_quantized, (long long)v->q_numel);
                tqc_json_fields(&j, "rel_error:f snr_db:f rmse:f max_abs_error:f cosine:f clipped_fraction:f top_rel_error:f",
                                v->m.rel_fro, v->m.snr_db, v->m.rmse, v->m.max_abs, v->m.cosine, v->m.clipped_frac,
                                v->m.top_rel_err);
                tqc_json_fields(&j, "grade:s encode_mw_s:f4 decode_mw_s:f4", gr, enc, dec);
            }
            tqc_json_end_object(&j);
        } else if (v->ok) {
            printf("%-30s %7.4f %12llu %7.3f %10.4g %8.2f %10.4g %9.6f %8.3g %9.4g %5c %8.1f %8.1f\n", v->label, bpw,
                   (unsigned long long)v->file_bytes, orig_bytes ? (double)orig_bytes / (double)v->file_bytes : 0, v->m.rel_fro,
                   v->m.snr_db, v->m.max_abs, v->m.cosine, 100 * v->m.clipped_frac, v->m.top_rel_err, grade, enc, dec);
        } else {
            printf("%-30s failed: %s\n", v->label, v->err);
        }
        if (cf && v->ok)
            fprintf(cf, "%s,%s,%d,%s,%lld,%g,%.6g,%llu,%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.9g,%.6g,%.6g,%c,%.4g,%.4g\n", v->label,
                    ci->name, v->q.bits, tqc_gran_name(v->q.gran), (long long)v->q.group, (double)v->q.alpha, bpw,
                    (unsigned long long)v->file_bytes, (long long)v->n_quantized, (long long)v->q_numel, v->m.rel_fro, v->m.snr_db,
                    v->m.rmse, v->m.max_abs, v->m.cosine, v->m.clipped_frac, v->m.top_rel_err, grade, enc, dec);
    }
    if (json) { tqc_json_end_array(&j); tqc_json_end_object(&j); }
    if (cf) fclose(cf);
    free(vs);
    tq_model_close(m);
    return failed ? TQC_EXIT_FAIL : TQC_EXIT_OK;
}

typedef struct codecs_args { const char *study, *csv; int64_t group; const tq_codec_info *only; } codecs_args;
static const codecs_args DEFAULTS = {.group = 64};

static int run(const tqc_ctx *c, void *va) {
    const codecs_args *a = va;
    if (!a->study) {
        if (a->csv || a->only) return tqc_usage_error(c->cmd, "--csv and --only need --study MODEL");
        return list_codecs(c->json);
    }
    return study(a->study, c->json, a->csv, a->group, a->only);
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--study", NULL, codecs_args, study, "MODEL", "measure every codec x bits x granularity on MODEL"),
    TQC_O_STR("--csv", NULL, codecs_args, csv, "FILE", "also write the study table as CSV to FILE"),
    TQC_O_INT("--group", NULL, codecs_args, group, "G", 1, (int64_t)1 << 40, "group size of the group variants (default 64)"),
    TQC_O_CODEC("--only", codecs_args, only, "study only the codec NAME"),
};

const tqc_command tqc_cmd_codecs = {.name = "codecs", .summary = "list the codecs with their bits, bytes per weight and layout",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 0, .max_pos = 0, .pos_names = "no arguments", TQC_ARGS(codecs_args, &DEFAULTS), .run = run, .route = NULL};
