/*
 * svg.c — the two spectrum plots as self-contained SVG 1.1 files (no
 * scripts, no external fonts or styles), written atomically.
 *
 *   alpha plot: x = layer index, y = alpha; the 2 <= alpha <= 6 band shaded;
 *               one <g class="series" data-label="..."> per series holding a
 *               <polyline> per unbroken stretch and a <circle> per point.
 *   ESD plot:   log-log; <g class="esd"> the log-binned density of λ > 1e-5
 *               (one <rect> per non-empty bin), <g class="fit"> the fitted
 *               power law over [xmin, xmax], <g class="xmin"> a vertical line.
 */
#include "core/internal.h"
#include "trueq_spectral.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W_ 1000.0
#define H_ 560.0

static const char *COLORS[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                                "#7f7f7f", "#17becf" };

/* XML text: the five entities, control characters other than tab dropped */
static void xml_text(tq_sb *b, const char *s) {
    static const char *const ENTITY[256] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&apos;",
    };
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (ENTITY[*p]) tq_sb_puts(b, ENTITY[*p]);
        else if (*p >= 0x20 || *p == '\t') tq_sb_putc(b, (char)*p);
    }
}

static void svg_open(tq_sb *b, const char *title) {
    tq_sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%g\" height=\"%g\" "
                    "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n",
                 W_, H_, W_, H_);
    tq_sb_puts(b, "<title>");
    xml_text(b, title);
    tq_sb_puts(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    tq_sb_printf(b, "<text x=\"%g\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">", W_ / 2);
    xml_text(b, title);
    tq_sb_puts(b, "</text>\n");
}

static tq_status svg_close(tq_sb *b, const char *path, tq_error *err) {
    tq_sb_puts(b, "</svg>\n");
    if (b->oom) { tq_sb_free(b); return tq_err(err, TQ_E_NOMEM, "svg %s: out of memory", path); }
    tq_status st = tq_write_file_atomic(path, b->s, b->len, err);
    tq_sb_free(b);
    return st;
}

/* A decade tick label: 0.01, 0.1, 1, 10, 100, 1000, else 1e-5 / 1e+06 style. */
static void log_label(char *buf, size_t cap, double v) {
    double l = log10(v);
    if (l >= -2.5 && l <= 3.5) snprintf(buf, cap, "%g", v);
    else snprintf(buf, cap, "%.0e", v);
}

/* "nice" tick step for a range */
static double nice_step(double range, int want) {
    double raw = range / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

tq_status tq_spectral_svg_alpha_plot(const char *path, const char *title, const char *const *names, int64_t n,
                            const tq_spectral_svg_series *series, int nseries, tq_error *err) {
    if (!path || n < 0 || nseries < 0 || (nseries && !series)) return tq_err(err, TQ_E_ARG, "svg: bad arguments");
    const double L = 70, R = W_ - 160, T = 40, B = H_ - 170;
    double ymin = 0, ymax = 8;
    for (int s = 0; s < nseries; s++)
        for (int64_t i = 0; i < n; i++) {
            double y = series[s].y[i];
            if (!isfinite(y) || y < 0) continue;
            if (y > ymax) ymax = y;
        }
    ymax = ceil(ymax);
    double xden = n > 1 ? (double)(n - 1) : 1.0;
#define PX(i) (L + (R - L) * ((double)(i) / xden))
#define PY(v) (B - (B - T) * (((v) - ymin) / (ymax - ymin)))
    tq_sb b = {0};
    svg_open(&b, title ? title : "alpha per layer");
    /* the 2..6 band */
    tq_sb_printf(&b, "<g class=\"band\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#e8f4e8\"/>"
                     "<text x=\"%.2f\" y=\"%.2f\" fill=\"#4a7a4a\" font-size=\"11\" text-anchor=\"end\">2 &#8804; &#945; &#8804; 6</text></g>\n",
                 L, PY(6.0), R - L, PY(2.0) - PY(6.0), R - 4, PY(6.0) + 13);
    /* axes and y ticks */
    tq_sb_printf(&b, "<g class=\"axes\" stroke=\"black\" fill=\"none\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                     "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/></g>\n", L, B, R, B, L, B, L, T);
    double st = nice_step(ymax - ymin, 8);
    tq_sb_puts(&b, "<g class=\"yticks\">");
    for (double v = ymin; v <= ymax + 1e-9; v += st)
        tq_sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                         "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%g</text>",
                     L, PY(v), R, PY(v), L - 6, PY(v) + 4, v);
    tq_sb_puts(&b, "</g>\n");
    tq_sb_printf(&b, "<text x=\"18\" y=\"%.2f\" transform=\"rotate(-90 18 %.2f)\" text-anchor=\"middle\">alpha</text>\n",
                 (T + B) / 2, (T + B) / 2);
    /* x tick labels: at most ~60 names */
    int64_t every = n > 60 ? (n + 59) / 60 : 1;
    tq_sb_puts(&b, "<g class=\"xticks\" font-size=\"9\">");
    for (int64_t i = 0; i < n; i += every) {
        tq_sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" transform=\"rotate(-60 %.2f %.2f)\" text-anchor=\"end\">",
                     PX(i), B + 12, PX(i), B + 12);
        const char *nm = names && names[i] ? names[i] : "";
        size_t nl = strlen(nm);
        if (nl > 34) { tq_sb_puts(&b, "&#8230;"); nm += nl - 33; }   /* keep the informative tail */
        xml_text(&b, nm);
        tq_sb_puts(&b, "</text>");
    }
    tq_sb_puts(&b, "</g>\n");
    /* series */
    for (int s = 0; s < nseries; s++) {
        const char *col = COLORS[s % (int)(sizeof COLORS / sizeof COLORS[0])];
        tq_sb_puts(&b, "<g class=\"series\" data-label=\"");
        xml_text(&b, series[s].label ? series[s].label : "");
        tq_sb_printf(&b, "\" stroke=\"%s\" fill=\"%s\">\n", col, col);
        int open = 0;
        for (int64_t i = 0; i <= n; i++) {
            double y = i < n ? series[s].y[i] : NAN;
            int ok = isfinite(y) && y >= 0;
            if (ok && !open) { tq_sb_puts(&b, "<polyline fill=\"none\" stroke-width=\"1.5\" points=\""); open = 1; }
            if (ok) tq_sb_printf(&b, "%.2f,%.2f ", PX(i), PY(y));
            if (!ok && open) { tq_sb_puts(&b, "\"/>\n"); open = 0; }
        }
        for (int64_t i = 0; i < n; i++) {
            double y = series[s].y[i];
            if (isfinite(y) && y >= 0)
                tq_sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" data-alpha=\"%.6g\"/>\n", PX(i), PY(y), y);
        }
        tq_sb_puts(&b, "</g>\n");
        /* legend */
        tq_sb_printf(&b, "<g class=\"legend\"><rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                         "<text x=\"%.2f\" y=\"%.2f\">", R + 20, T + 10 + 20.0 * s, col, R + 40, T + 15 + 20.0 * s);
        xml_text(&b, series[s].label ? series[s].label : "");
        tq_sb_puts(&b, "</text></g>\n");
    }
#undef PX
#undef PY
    return svg_close(&b, path, err);
}

tq_status tq_spectral_svg_esd_plot(const char *path, const char *title, const double *evals, int64_t n,
                          const tq_spectral_plfit *fit, tq_error *err) {
    if (!path || n < 0 || (n && !evals)) return tq_err(err, TQ_E_ARG, "svg: bad arguments");
    /* the fit's input: λ > 1e-5 (evals ascending) */
    int64_t s0 = 0;
    while (s0 < n && !(evals[s0] > TQ_SPECTRAL_EVALS_THRESH)) s0++;
    const double *x = evals + s0;
    int64_t m = n - s0;
    const double L = 80, R = W_ - 40, T = 40, B = H_ - 70;
    tq_sb b = {0};
    svg_open(&b, title ? title : "ESD");
    if (m < 2 || !(x[m - 1] > x[0])) {
        tq_sb_printf(&b, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">fewer than 2 distinct eigenvalues &gt; 1e-5: nothing to plot</text>\n"
                         "<g class=\"esd\"/><g class=\"fit\"/><g class=\"xmin\"/>\n", W_ / 2, H_ / 2);
        return svg_close(&b, path, err);
    }
    enum { NB = 40 };
    double lx0 = log10(x[0]), lx1 = log10(x[m - 1]);
    double pad = (lx1 - lx0) * 0.02;
    lx0 -= pad; lx1 += pad;
    double bw = (lx1 - lx0) / NB;
    int64_t cnt[NB] = {0};
    for (int64_t i = 0; i < m; i++) {
        int k = (int)floor((log10(x[i]) - lx0) / bw);
        if (k < 0) k = 0;
        if (k >= NB) k = NB - 1;
        cnt[k]++;
    }
    double dens[NB], dmin = INFINITY, dmax = 0;
    for (int k = 0; k < NB; k++) {
        double a = pow(10, lx0 + k * bw), c = pow(10, lx0 + (k + 1) * bw);
        dens[k] = (double)cnt[k] / ((double)m * (c - a));
        if (cnt[k]) { if (dens[k] < dmin) dmin = dens[k]; if (dens[k] > dmax) dmax = dens[k]; }
    }
    int have_fit = fit && fit->ok && fit->alpha > 1 && fit->xmin > 0;
    double share = 0;
    if (have_fit) {
        int64_t tail = 0;
        for (int64_t i = 0; i < m; i++) tail += x[i] >= fit->xmin;
        share = (double)tail / (double)m;
        double pmax = share * (fit->alpha - 1) / fit->xmin, pmin = pmax * pow(x[m - 1] / fit->xmin, -fit->alpha);
        if (pmax > dmax) dmax = pmax;
        if (pmin < dmin && pmin > 0) dmin = pmin;
    }
    double ly0 = floor(log10(dmin)), ly1 = ceil(log10(dmax));
    if (ly1 <= ly0) ly1 = ly0 + 1;
#define PX(lv) (L + (R - L) * (((lv) - lx0) / (lx1 - lx0)))
#define PY(lv) (B - (B - T) * (((lv) - ly0) / (ly1 - ly0)))
    tq_sb_printf(&b, "<g class=\"axes\" stroke=\"black\" fill=\"none\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                     "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/></g>\n", L, B, R, B, L, B, L, T);
    /* x ticks: every decade; with less than two decades in view, also 2x and 5x */
    tq_sb_puts(&b, "<g class=\"xticks\">");
    int fine = lx1 - lx0 < 2.0;
    for (double d = floor(lx0); d <= lx1; d += 1) {
        const double mult[3] = { 1, 2, 5 };
        for (int q = 0; q < (fine ? 3 : 1); q++) {
            double v = mult[q] * pow(10, d), lv = log10(v);
            if (lv < lx0 || lv > lx1) continue;
            char lab[32];
            log_label(lab, sizeof lab, v);
            tq_sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                             "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>",
                         PX(lv), T, PX(lv), B, PX(lv), B + 16, lab);
        }
    }
    tq_sb_puts(&b, "</g>\n<g class=\"yticks\">");
    for (double d = ly0; d <= ly1; d += 1) {
        char lab[32];
        log_label(lab, sizeof lab, pow(10, d));
        tq_sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                         "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>",
                     L, PY(d), R, PY(d), L - 6, PY(d) + 4, lab);
    }
    tq_sb_puts(&b, "</g>\n");
    tq_sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">eigenvalue &#955; (log scale)</text>\n",
                 (L + R) / 2, H_ - 30);
    tq_sb_printf(&b, "<text x=\"18\" y=\"%.2f\" transform=\"rotate(-90 18 %.2f)\" text-anchor=\"middle\">density (log scale)</text>\n",
                 (T + B) / 2, (T + B) / 2);
    tq_sb_puts(&b, "<g class=\"esd\" fill=\"#9ecae1\" stroke=\"#3182bd\">\n");
    for (int k = 0; k < NB; k++) {
        if (!cnt[k]) continue;
        double y = PY(log10(dens[k]));
        tq_sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" data-count=\"%lld\"/>\n",
                     PX(lx0 + k * bw), y, PX(lx0 + (k + 1) * bw) - PX(lx0 + k * bw), B - y, (long long)cnt[k]);
    }
    tq_sb_puts(&b, "</g>\n");
    if (have_fit) {
        tq_sb_printf(&b, "<g class=\"fit\" stroke=\"#d62728\" fill=\"none\" data-alpha=\"%.10g\">"
                         "<polyline stroke-width=\"2\" points=\"", fit->alpha);
        double a0 = log10(fit->xmin), a1 = log10(x[m - 1]);
        for (int i = 0; i <= 50; i++) {
            double lv = a0 + (a1 - a0) * i / 50.0;
            double p = share * (fit->alpha - 1) / fit->xmin * pow(pow(10, lv) / fit->xmin, -fit->alpha);
            tq_sb_printf(&b, "%.2f,%.2f ", PX(lv), PY(log10(p)));
        }
        tq_sb_printf(&b, "\"/><text x=\"%.2f\" y=\"%.2f\" fill=\"#d62728\" stroke=\"none\">power law &#945; = %.3f</text></g>\n",
                     R - 200, T + 16, fit->alpha);
        tq_sb_printf(&b, "<g class=\"xmin\" stroke=\"#2ca02c\" data-xmin=\"%.10g\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                         "stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/><text x=\"%.2f\" y=\"%.2f\" fill=\"#2ca02c\" stroke=\"none\">"
                         "xmin = %.4g</text></g>\n",
                     fit->xmin, PX(log10(fit->xmin)), T, PX(log10(fit->xmin)), B, PX(log10(fit->xmin)) + 4, T + 34, fit->xmin);
    } else {
        tq_sb_puts(&b, "<g class=\"fit\"/><g class=\"xmin\"/>\n");
    }
#undef PX
#undef PY
    return svg_close(&b, path, err);
}
