/* sweep_merge.c — the result file of a task (written, read back), and the
 * results of a plan's tasks as one table, printed as text, JSON or CSV in plan
 * order (sweep.h). Nothing printed depends on which worker ran a task, when,
 * or how long it took. */
#include "sweep.h"
#include "cli_json.h"
#include "core/internal.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *tqc_sweep_result_path(const char *out, const tqc_sweep_task *t) {
    size_t n = strlen(out) + TQC_SW_ID_LEN + 8;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s.json", out, t->id);
    return s;
}

bool tqc_sweep_done(const char *out, const tqc_sweep_task *t) {
    char *path = tqc_sweep_result_path(out, t);
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f) return false;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strncmp(buf, "{\"ok\": true,", 12) == 0;   /* the writer below puts ok first */
}

/* The members both JSON forms share: the ledger, and the alpha of each layer. */
static void json_ledger(tqc_json *j, const tqc_sweep_row *r) {
    tqc_json_fields(j, "file_bytes:u header_bytes:u padding_bytes:u payload_bytes:u scale_bytes:u weights:u quantized_weights:u",
                    (unsigned long long)r->file_bytes, (unsigned long long)r->header_bytes, (unsigned long long)r->padding_bytes,
                    (unsigned long long)r->payload_bytes, (unsigned long long)r->scale_bytes, (unsigned long long)r->weights,
                    (unsigned long long)r->quantized_weights);
    tqc_json_fields(j, "bits_per_weight:f bits_per_weight_quantized:f", r->bpw, r->bpw_quant);
}
static void json_layers(tqc_json *j, const char *key, const tqc_sweep_row *r) {
    tqc_json_key(j, key);
    tqc_json_begin_array(j);
    for (int k = 0; k < r->n_layers; k++) {
        tqc_json_begin_object(j);
        tqc_json_fields(j, "layer:s alpha:f", r->layers[k].name, r->layers[k].alpha);
        tqc_json_end_object(j);
    }
    tqc_json_end_array(j);
}

/* Numbers with 9 significant digits, so that reading and writing them again
 * gives the same text. */
int tqc_sweep_result_write(const char *out, const tqc_sweep_plan *p, const tqc_sweep_task *t, const tqc_sweep_row *r, char *msg,
                           size_t cap) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) { snprintf(msg, cap, "out of memory"); return -1; }
    tqc_json j;
    /* a tensor task's alpha with 17 digits: the merge's mean of them is then
     * the very double a whole-model spectrum's summary has */
    tqc_json_init(&j, f, TQC_JSON_SPACED, t->tensor ? 17 : 9);
    tqc_json_begin_object(&j);
    tqc_json_fields(&j, "ok:b id:s", r->ok, t->id);
    tqc_json_fields(&j, "model:s path:s setting:s task:s", p->models[t->model].name, p->models[t->model].path, t->setting, t->text);
    if (t->tensor) tqc_json_kstr(&j, "tensor", t->tensor);
    if (!r->ok) tqc_json_kstr(&j, "error", r->error);
    tqc_json_fields(&j, "seconds:x3 cpu_seconds:x3", r->seconds, r->cpu_seconds);
    if (r->ok && !t->tensor) {
        tqc_json_key(&j, "ledger");
        tqc_json_begin_object(&j);
        json_ledger(&j, r);
        tqc_json_end_object(&j);
        if (t->codec && (t->measures & TQC_SW_WERR)) {
            tqc_json_key(&j, "weight_error");
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "rel_error:f snr_db:f cosine:f grade:s", r->rel_error, r->snr_db, r->cosine, r->grade);
            tqc_json_end_object(&j);
        }
    }
    if (r->ok) {
        if (t->measures & TQC_SW_SPECTRUM) {
            tqc_json_key(&j, "spectrum");
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "alpha_mean:f", r->alpha_mean);
            json_layers(&j, "layers", r);
            tqc_json_end_object(&j);
        }
        if (t->codec && (t->measures & TQC_SW_COMPARE)) {
            tqc_json_key(&j, "compare");
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "kind:s", r->decoder ? "decoder" : "encoder");
            if (r->decoder) tqc_json_fields(&j, "kl_mean:f", r->cmp_kl); else tqc_json_fields(&j, "cosine:f", r->cmp_cos);
            tqc_json_fields(&j, "agreement:f", r->cmp_agree);
            tqc_json_end_object(&j);
        }
    }
    tqc_json_end_object(&j);
    fclose(f);
    char *path = tqc_sweep_result_path(out, t);
    tq_error err = {0};
    tq_status st = path ? tq_write_file_atomic(path, buf, len, &err) : TQ_E_NOMEM;
    if (st != TQ_OK) snprintf(msg, cap, "task %s: cannot write its result %s: %s", t->id, path ? path : "?", err.msg);
    free(path);
    free(buf);
    return st == TQ_OK ? 0 : -1;
}

static void rows_free(tqc_sweep_row *rows, int n) {
    for (int i = 0; rows && i < n; i++) {
        for (int k = 0; k < rows[i].n_layers; k++) free(rows[i].layers[k].name);
        free(rows[i].layers);
    }
    free(rows);
}

void tqc_sweep_table_free(tqc_sweep_table *tb) {
    rows_free(tb->rows, tb->n_rows);
    free(tb->present);
    memset(tb, 0, sizeof *tb);
}

double tqc_sweep_jnum(const struct cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
#define num tqc_sweep_jnum
static uint64_t unum(const cJSON *o, const char *k) {
    double v = num(o, k);
    return v >= 0 ? (uint64_t)v : 0;
}
static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1))) {
        if (fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
        else b[n] = 0;
    }
    fclose(f);
    return b;
}

void tqc_sweep_read_ledger(const struct cJSON *o, tqc_sweep_row *r) {
    r->file_bytes = unum(o, "file_bytes");
    r->header_bytes = unum(o, "header_bytes");
    r->padding_bytes = unum(o, "padding_bytes");
    r->payload_bytes = unum(o, "payload_bytes");
    r->scale_bytes = unum(o, "scale_bytes");
    r->weights = unum(o, "weights");
    r->quantized_weights = unum(o, "quantized_weights");
}

/* Fill r from a result's JSON; 0, or -1 when it is not this task's result. */
static int take(const cJSON *j, const tqc_sweep_task *t, tqc_sweep_row *r) {
    const char *task = str(j, "task");
    if (!task || strcmp(task, t->text)) return -1;   /* another task's (or a stale) file */
    r->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"));
    r->seconds = num(j, "seconds");
    snprintf(r->error, sizeof r->error, "%s", str(j, "error") ? str(j, "error") : "");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "ledger");
    tqc_sweep_read_ledger(l, r);
    r->bpw = num(l, "bits_per_weight");
    r->bpw_quant = num(l, "bits_per_weight_quantized");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "weight_error");
    r->rel_error = num(w, "rel_error");
    r->snr_db = num(w, "snr_db");
    r->cosine = num(w, "cosine");
    snprintf(r->grade, sizeof r->grade, "%s", str(w, "grade") ? str(w, "grade") : "");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "spectrum"), *ly = cJSON_GetObjectItemCaseSensitive(s, "layers"), *e;
    r->alpha_mean = num(s, "alpha_mean");
    int n = cJSON_GetArraySize(ly);
    if (n > 0 && !(r->layers = calloc((size_t)n, sizeof *r->layers))) return -2;
    cJSON_ArrayForEach(e, ly) {
        const char *nm = str(e, "layer");
        if (!nm || !(r->layers[r->n_layers].name = strdup(nm))) continue;
        double a = num(e, "alpha");
        r->layers[r->n_layers++].alpha = isnan(a) ? -1 : a;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "compare");
    r->decoder = str(c, "kind") && !strcmp(str(c, "kind"), "decoder");
    r->cmp_cos = num(c, "cosine");
    r->cmp_kl = num(c, "kl_mean");
    r->cmp_agree = num(c, "agreement");
    return 0;
}

/* Row r of split task t: its tensors' alphas, in file order, and their mean
 * as the spectrum's summary takes it (NaN alphas left out, failed fits -1). */
static int fold(const tqc_sweep_plan *p, const tqc_sweep_task *t, const tqc_sweep_row *all, tqc_sweep_row *r) {
    if (!(r->layers = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof *r->layers))) return -2;
    double sum = 0;
    int cnt = 0;
    for (int k = 0; k < t->nparts; k++) {
        const tqc_sweep_row *q = &all[p->parts[t->part0 + k]];
        if (!q->present) continue;   /* counted missing: no table */
        if (!q->ok) {
            if (r->ok) snprintf(r->error, sizeof r->error, "tensor %.200s: %.290s", q->t->tensor, q->error);
            r->ok = 0;
            continue;
        }
        if (!isnan(q->alpha_mean)) { sum += q->alpha_mean; cnt++; }
        for (int l = 0; l < q->n_layers; l++) {
            if (!(r->layers[r->n_layers].name = strdup(q->layers[l].name))) return -2;
            r->layers[r->n_layers++].alpha = q->layers[l].alpha;
        }
    }
    r->alpha_mean = cnt ? sum / cnt : NAN;
    return 0;
}

int tqc_sweep_table_load(const tqc_sweep_plan *p, const char *out, tqc_sweep_table *tb, char *msg, size_t cap) {
    memset(tb, 0, sizeof *tb);
    tb->plan = p;
    tqc_sweep_row *all = calloc((size_t)(p->n_tasks ? p->n_tasks : 1), sizeof *all);
    tb->rows = calloc((size_t)(p->n_tasks ? p->n_tasks : 1), sizeof *tb->rows);
    tb->present = calloc((size_t)(p->n_tasks ? p->n_tasks : 1), 1);
    if (!all || !tb->rows || !tb->present) { free(all); snprintf(msg, cap, "out of memory"); return 2; }
    for (int i = 0; i < p->n_tasks; i++) {
        tqc_sweep_row *r = &all[i];
        r->t = &p->tasks[i];
        char *path = tqc_sweep_result_path(out, r->t);
        char *text = path ? read_all(path) : NULL;
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        int rc = j ? take(j, r->t, r) : -1;
        cJSON_Delete(j);
        free(text);
        free(path);
        if (rc == -2) { rows_free(all, p->n_tasks); snprintf(msg, cap, "out of memory"); return 2; }
        r->present = tb->present[i] = rc == 0;
        tb->missing += !r->present;
        tb->failed += r->present && !r->ok;
    }
    int rc = 0;
    for (int i = 0; i < p->n_tasks && !rc; i++) {   /* the rows: model tasks, moved out of all */
        if (p->tasks[i].tensor) continue;
        tqc_sweep_row *r = &tb->rows[tb->n_rows++];
        *r = all[i];
        memset(&all[i], 0, sizeof all[i]);
        if (p->tasks[i].split && r->present && r->ok) rc = fold(p, &p->tasks[i], all, r);
    }
    rows_free(all, p->n_tasks);
    if (rc) { snprintf(msg, cap, "out of memory"); return 2; }
    return 0;
}

int tqc_sweep_table_missing(const tqc_sweep_table *tb, FILE *f) {
    const tqc_sweep_plan *p = tb->plan;
    for (int i = 0; i < p->n_tasks; i++) {
        const tqc_sweep_task *t = &p->tasks[i];
        if (tb->present[i]) continue;
        fprintf(f, "  missing task %s: %s, %s%s%s\n", t->id, p->models[t->model].name, t->setting, t->tensor ? ", tensor " : "",
                t->tensor ? t->tensor : "");
    }
    return tb->missing;
}

/* A number cell: "-" when not measured. */
static const char *cell(char *b, size_t n, const char *fmt, double v) {
    if (isnan(v)) snprintf(b, n, "-");
    else snprintf(b, n, fmt, v);
    return b;
}

static void print_text(const tqc_sweep_table *tb, FILE *f) {
    const tqc_sweep_plan *p = tb->plan;
    int wm = 5, ws = 7;
    for (int i = 0; i < tb->n_rows; i++) {
        int a = (int)strlen(p->models[tb->rows[i].t->model].name), b = (int)strlen(tb->rows[i].t->setting);
        if (a > wm) wm = a;
        if (b > ws) ws = b;
    }
    fprintf(f, "sweep %s: %d tasks, %d failed\n", p->file, p->n_tasks, tb->failed);
    fprintf(f, "%-*s  %-*s  %12s  %7s  %7s  %10s  %7s  %6s  %10s  %6s\n", wm, "model", ws, "setting", "bytes", "bpw", "bpw(q)",
            "rel_error", "snr_db", "alpha", "cos|kl", "agree");
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        fprintf(f, "%-*s  %-*s  ", wm, p->models[r->t->model].name, ws, r->t->setting);
        if (!r->ok) { fprintf(f, "FAILED: %s\n", r->error); continue; }
        char b[7][32];
        double cmp = r->decoder ? r->cmp_kl : r->cmp_cos;
        fprintf(f, "%12llu  %7s  %7s  %10s  %7s  %6s  %10s  %6s\n", (unsigned long long)r->file_bytes, cell(b[0], 32, "%.3f", r->bpw),
                cell(b[1], 32, "%.3f", r->bpw_quant), cell(b[2], 32, "%.4g", r->rel_error), cell(b[3], 32, "%.2f", r->snr_db),
                cell(b[4], 32, "%.3f", r->alpha_mean), cell(b[5], 32, r->decoder ? "kl %.4g" : "%.6f", cmp),
                cell(b[6], 32, "%.4f", r->cmp_agree));
    }
}

static void print_json(const tqc_sweep_table *tb, FILE *f) {
    const tqc_sweep_plan *p = tb->plan;
    tqc_json j;
    tqc_json_init(&j, f, TQC_JSON_SPACED, 9);
    tqc_json_begin_object(&j);
    tqc_json_fields(&j, "plan:s tasks:d failed:d", p->file, p->n_tasks, tb->failed);
    tqc_json_key(&j, "rows");
    tqc_json_begin_array(&j);
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        const tqc_sweep_task *t = r->t;
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "id:s model:s path:s setting:s codec:s bits:d granularity:s ok:b", t->id, p->models[t->model].name,
                        p->models[t->model].path, t->setting, t->codec, t->bits, t->gran ? t->gran : "default", r->ok);
        if (!r->ok) { tqc_json_kstr(&j, "error", r->error); tqc_json_end_object(&j); continue; }
        json_ledger(&j, r);
        tqc_json_fields(&j, "rel_error:f snr_db:f cosine:f", r->rel_error, r->snr_db, r->cosine);
        tqc_json_fields(&j, "grade:s alpha_mean:f", r->grade[0] ? r->grade : NULL, r->alpha_mean);
        if (!isnan(r->cmp_agree) || !isnan(r->cmp_cos) || !isnan(r->cmp_kl)) {
            tqc_json_fields(&j, "compare_kind:s", r->decoder ? "decoder" : "encoder");
            if (r->decoder) tqc_json_fields(&j, "kl_mean:f", r->cmp_kl); else tqc_json_fields(&j, "cosine_pooled:f", r->cmp_cos);
            tqc_json_fields(&j, "agreement:f", r->cmp_agree);
        }
        json_layers(&j, "alpha", r);
        tqc_json_end_object(&j);
    }
    tqc_json_end_array(&j);
    tqc_json_end_object(&j);
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) { if (*s == '"') fputc('"', f); fputc(*s == '\n' ? ' ' : *s, f); }
    fputc('"', f);
}
static void csv_num(FILE *f, double v) { if (!isnan(v)) fprintf(f, "%.9g", v); }

static void print_csv(const tqc_sweep_table *tb, FILE *f) {
    const tqc_sweep_plan *p = tb->plan;
    fprintf(f, "id,model,setting,ok,file_bytes,bits_per_weight,bits_per_weight_quantized,rel_error,snr_db,cosine,grade,alpha_mean,"
               "compare_kind,compare_cosine,compare_kl,agreement,error\n");
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        fprintf(f, "%s,", r->t->id);
        csv_str(f, p->models[r->t->model].name);
        fputc(',', f);
        csv_str(f, r->t->setting);
        fprintf(f, ",%s,", r->ok ? "true" : "false");
        if (r->ok) {
            int cmp = !isnan(r->cmp_agree) || !isnan(r->cmp_cos) || !isnan(r->cmp_kl);
            fprintf(f, "%llu,", (unsigned long long)r->file_bytes);
            double v[] = {r->bpw, r->bpw_quant, r->rel_error, r->snr_db, r->cosine};
            for (int k = 0; k < 5; k++) { csv_num(f, v[k]); fputc(',', f); }
            fprintf(f, "%s,", r->grade);
            csv_num(f, r->alpha_mean);
            fprintf(f, ",%s,", cmp ? (r->decoder ? "decoder" : "encoder") : "");
            csv_num(f, r->cmp_cos); fputc(',', f);
            csv_num(f, r->cmp_kl); fputc(',', f);
            csv_num(f, r->cmp_agree); fputc(',', f);
        } else {
            fputs(",,,,,,,,,,,,", f);
            csv_str(f, r->error);
        }
        fputc('\n', f);
    }
}

void tqc_sweep_table_print(const tqc_sweep_table *tb, FILE *f, int style) {
    if (style == 1) print_json(tb, f);
    else if (style == 2) print_csv(tb, f);
    else print_text(tb, f);
}
