/* sweep_html.c — the sweep report: one self-contained HTML page (no scripts,
 * no network): the summary table, per model the alpha-per-layer plot of every
 * setting (drawn by the library's SVG writer and inlined), bits per weight
 * against weight error, and the ledger totals (sweep.h). */
#include "sweep.h"
#include "core/internal.h"
#include "trueq_spectral.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static void td_num(FILE *f, const char *fmt, double v) {
    fputs("<td>", f);
    if (isnan(v)) fputs("-", f); else fprintf(f, fmt, v);
    fputs("</td>", f);
}

static void summary(FILE *f, const tqc_sweep_table *tb) {
    const tqc_sweep_plan *p = tb->plan;
    fputs("<h2>Summary</h2>\n<table class=\"summary\"><tr><th>model</th><th>setting</th><th>bytes</th><th>bits/weight</th>"
          "<th>bits/weight (quantized)</th><th>rel. error</th><th>SNR dB</th><th>grade</th><th>mean &#945;</th>"
          "<th>cosine | KL</th><th>agreement</th></tr>\n", f);
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        fputs("<tr><td>", f);
        esc(f, p->models[r->t->model].name);
        fputs("</td><td>", f);
        esc(f, r->t->setting);
        fputs("</td>", f);
        if (!r->ok) { fputs("<td colspan=\"9\" class=\"failed\">failed: ", f); esc(f, r->error); fputs("</td></tr>\n", f); continue; }
        fprintf(f, "<td>%llu</td>", (unsigned long long)r->file_bytes);
        td_num(f, "%.3f", r->bpw);
        td_num(f, "%.3f", r->bpw_quant);
        td_num(f, "%.4g", r->rel_error);
        td_num(f, "%.2f", r->snr_db);
        fputs("<td>", f);
        esc(f, r->grade[0] ? r->grade : "-");
        fputs("</td>", f);
        td_num(f, "%.3f", r->alpha_mean);
        td_num(f, r->decoder ? "KL %.4g" : "%.6f", r->decoder ? r->cmp_kl : r->cmp_cos);
        td_num(f, "%.4f", r->cmp_agree);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Copy an SVG file into the page without its XML declaration. */
static int inline_svg(FILE *f, const char *path) {
    FILE *s = fopen(path, "rb");
    if (!s) return -1;
    char buf[8192];
    size_t n;
    int first = 1;
    while ((n = fread(buf, 1, sizeof buf, s)) > 0) {
        const char *b = buf;
        if (first && n > 5 && !memcmp(buf, "<?xml", 5)) {
            const char *e = memchr(buf, '>', n);
            if (e) { n -= (size_t)(e + 1 - buf); b = e + 1; }
        }
        first = 0;
        fwrite(b, 1, n, f);
    }
    fclose(s);
    return 0;
}

/* The alpha-per-layer plot of model mi: x = the layers of its first row with
 * a spectrum, one series per setting. */
static int alpha_plot(FILE *f, const tqc_sweep_table *tb, int mi, const char *tmp, char *msg, size_t cap) {
    const tqc_sweep_plan *p = tb->plan;
    const tqc_sweep_row *ref = NULL;
    int ns = 0;
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        if (r->t->model != mi || !r->ok || !r->n_layers) continue;
        if (!ref) ref = r;
        ns++;
    }
    if (!ref) { fputs("<p>No spectrum was measured for this model.</p>\n", f); return 0; }
    const char **names = calloc((size_t)ref->n_layers, sizeof *names);
    double *y = malloc(sizeof *y * (size_t)ref->n_layers * (size_t)ns);
    tq_spectral_svg_series *se = calloc((size_t)ns, sizeof *se);
    int rc = 2;
    if (!names || !y || !se) { snprintf(msg, cap, "out of memory"); goto out; }
    for (int k = 0; k < ref->n_layers; k++) names[k] = ref->layers[k].name;
    int s = 0;
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        if (r->t->model != mi || !r->ok || !r->n_layers) continue;
        double *ys = y + (size_t)s * (size_t)ref->n_layers;
        for (int k = 0; k < ref->n_layers; k++) {   /* matched by name: a setting may analyse fewer layers */
            ys[k] = -1;
            for (int q = 0; q < r->n_layers; q++) if (!strcmp(r->layers[q].name, names[k])) { ys[k] = r->layers[q].alpha; break; }
        }
        se[s].label = r->t->setting;
        se[s++].y = ys;
    }
    char title[300];
    snprintf(title, sizeof title, "%s: alpha per layer", p->models[mi].name);
    tq_error err = {0};
    if (tq_spectral_svg_alpha_plot(tmp, title, names, ref->n_layers, se, ns, &err) != TQ_OK) {
        snprintf(msg, cap, "alpha plot of %s: %s", p->models[mi].name, err.msg);
        goto out;
    }
    fputs("<div class=\"plot alpha\">", f);
    rc = inline_svg(f, tmp) ? 2 : 0;
    fputs("</div>\n", f);
    if (rc) snprintf(msg, cap, "%s: cannot read the plot back", tmp);
    unlink(tmp);
out:
    free(names); free(y); free(se);
    return rc;
}

static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

/* Bits per quantized weight (x) against relative weight error (y, log10). */
static void bpw_plot(FILE *f, const tqc_sweep_table *tb) {
    const tqc_sweep_plan *p = tb->plan;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        if (!r->ok || isnan(r->rel_error) || r->rel_error <= 0 || isnan(r->bpw_quant)) continue;
        x0 = fmin(x0, r->bpw_quant); x1 = fmax(x1, r->bpw_quant);
        y0 = fmin(y0, log10(r->rel_error)); y1 = fmax(y1, log10(r->rel_error));
    }
    if (!(x0 <= x1)) { fputs("<p>No weight error was measured.</p>\n", f); return; }
    x0 = floor(x0) - 0.5; x1 = ceil(x1) + 0.5;
    y0 = floor(y0); y1 = ceil(y1) + (ceil(y1) == floor(y0));
    const double W = 720, H = 420, L = 70, R = 560, T = 30, B = 370;
#define SX(v) (L + (R - L) * ((v) - x0) / (x1 - x0))
#define SY(v) (B - (B - T) * ((v) - y0) / (y1 - y0))
    fprintf(f, "<div class=\"plot bpw\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
               "font-family=\"sans-serif\" font-size=\"12\"><title>bits per weight vs weight error</title>"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>", W, H, W, H);
    fprintf(f, "<g class=\"axes\" stroke=\"black\"><line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/><line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/></g>",
            L, B, R, B, L, B, L, T);
    for (double v = y0; v <= y1 + 1e-9; v += 1)
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>",
                L, SY(v), R, SY(v), L - 6, SY(v) + 4, (int)v);
    for (double v = ceil(x0); v <= x1; v += 1)
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>", SX(v), B + 16, v);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">bits per quantized weight</text>", (L + R) / 2, B + 40);
    fprintf(f, "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">relative weight error</text>", (T + B) / 2, (T + B) / 2);
    for (int mi = 0; mi < p->n_models; mi++) {
        const char *col = COLORS[mi % 8];
        fprintf(f, "<g class=\"series\" data-label=\"");
        esc(f, p->models[mi].name);
        fprintf(f, "\" fill=\"%s\" stroke=\"%s\">", col, col);
        /* the curve: this model's points in order of bits per weight */
        fputs("<polyline fill=\"none\" points=\"", f);
        for (double last = -INFINITY;;) {
            const tqc_sweep_row *nx = NULL;
            for (int i = 0; i < tb->n_rows; i++) {
                const tqc_sweep_row *r = &tb->rows[i];
                if (r->t->model != mi || !r->ok || isnan(r->rel_error) || r->rel_error <= 0 || !(r->bpw_quant > last)) continue;
                if (!nx || r->bpw_quant < nx->bpw_quant) nx = r;
            }
            if (!nx) break;
            fprintf(f, "%.1f,%.1f ", SX(nx->bpw_quant), SY(log10(nx->rel_error)));
            last = nx->bpw_quant;
        }
        fputs("\"/>", f);
        for (int i = 0; i < tb->n_rows; i++) {
            const tqc_sweep_row *r = &tb->rows[i];
            if (r->t->model != mi || !r->ok || isnan(r->rel_error) || r->rel_error <= 0 || isnan(r->bpw_quant)) continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"><title>", SX(r->bpw_quant), SY(log10(r->rel_error)));
            esc(f, r->t->setting);
            fprintf(f, ": %.4g</title></circle>", r->rel_error);
        }
        fprintf(f, "<text x=\"%g\" y=\"%d\" stroke=\"none\">", R + 20, 40 + 18 * mi);
        esc(f, p->models[mi].name);
        fputs("</text></g>", f);
    }
    fputs("</svg></div>\n", f);
#undef SX
#undef SY
}

static void ledger(FILE *f, const tqc_sweep_table *tb) {
    const tqc_sweep_plan *p = tb->plan;
    fputs("<h2>Ledger totals</h2>\n<table class=\"ledger\"><tr><th>model</th><th>setting</th><th>file bytes</th><th>header</th>"
          "<th>padding</th><th>payload</th><th>scales</th><th>weights</th><th>quantized weights</th></tr>\n", f);
    for (int i = 0; i < tb->n_rows; i++) {
        const tqc_sweep_row *r = &tb->rows[i];
        if (!r->ok) continue;
        fputs("<tr><td>", f);
        esc(f, p->models[r->t->model].name);
        fputs("</td><td>", f);
        esc(f, r->t->setting);
        fprintf(f, "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n",
                (unsigned long long)r->file_bytes, (unsigned long long)r->header_bytes, (unsigned long long)r->padding_bytes,
                (unsigned long long)r->payload_bytes, (unsigned long long)r->scale_bytes, (unsigned long long)r->weights,
                (unsigned long long)r->quantized_weights);
    }
    fputs("</table>\n", f);
}

int tqc_sweep_html(const tqc_sweep_table *tb, const char *path, char *msg, size_t cap) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) { snprintf(msg, cap, "out of memory"); return 2; }
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) { fclose(f); free(buf); snprintf(msg, cap, "out of memory"); return 2; }
    snprintf(tmp, tl, "%s.alpha-plot.svg", path);
    const tqc_sweep_plan *p = tb->plan;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>trueq sweep: ", f);
    esc(f, p->file);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
          "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}"
          ".failed{color:#b00;text-align:left}.plot{margin:1em 0}</style></head><body>\n", f);
    fputs("<h1>trueq sweep: ", f);
    esc(f, p->file);
    fprintf(f, "</h1>\n<p>%d tasks over %d models, %d failed.</p>\n", p->n_tasks, p->n_models, tb->failed);
    summary(f, tb);
    fputs("<h2>Alpha per layer</h2>\n", f);
    int rc = 0;
    for (int mi = 0; mi < p->n_models && !rc; mi++) {
        fputs("<h3>", f);
        esc(f, p->models[mi].name);
        fputs("</h3>\n", f);
        rc = alpha_plot(f, tb, mi, tmp, msg, cap);
    }
    fputs("<h2>Bits per weight and weight error</h2>\n", f);
    bpw_plot(f, tb);
    ledger(f, tb);
    fputs("</body></html>\n", f);
    fclose(f);
    tq_error err = {0};
    if (!rc && tq_write_file_atomic(path, buf, len, &err) != TQ_OK) { snprintf(msg, cap, "%s", err.msg); rc = 2; }
    free(buf);
    free(tmp);
    return rc;
}
