/* cli_num.c — the CLI's one number parser, sizes, granularity names,
 * byte formatting and the progress line (cli.h). */
#include "cli_num.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Digits only, accumulated with an overflow check: no strtol, so no locale,
 * no leading spaces, no '+', no hex. */
static tqc_num_status digits_u64(const char *s, uint64_t *out) {
    if (!*s) return TQC_NUM_JUNK;
    uint64_t v = 0;
    bool over = false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return TQC_NUM_JUNK;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) over = true;
        else v = v * 10 + d;
    }
    *out = v;
    return over ? TQC_NUM_RANGE : TQC_NUM_OK;
}

tqc_num_status tqc_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    uint64_t v;
    if (s[0] == '-') {   /* a negative integer is a number, just not one of ours */
        tqc_num_status st = digits_u64(s + 1, &v);
        return st == TQC_NUM_JUNK ? st : (v == 0 && lo == 0 ? (*out = 0, TQC_NUM_OK) : TQC_NUM_RANGE);
    }
    tqc_num_status st = digits_u64(s, &v);
    if (st) return st;
    if (v < lo || v > hi) return TQC_NUM_RANGE;
    *out = v;
    return TQC_NUM_OK;
}

tqc_num_status tqc_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    bool neg = s[0] == '-';
    uint64_t m;
    tqc_num_status st = digits_u64(s + neg, &m);
    if (st) return st;
    if (neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX) return TQC_NUM_RANGE;
    int64_t v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    if (v < lo || v > hi) return TQC_NUM_RANGE;
    *out = v;
    return TQC_NUM_OK;
}

tqc_num_status tqc_scan_i64(const char **p, const char *delims, int64_t *out) {
    size_t n = strcspn(*p, delims);
    char tok[32];
    if (n == 0 || n >= sizeof tok) {
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++) digits &= (*p)[i] == '-' || ((*p)[i] >= '0' && (*p)[i] <= '9');
        return digits ? TQC_NUM_RANGE : TQC_NUM_JUNK;
    }
    memcpy(tok, *p, n);
    tok[n] = 0;
    tqc_num_status st = tqc_parse_i64(tok, INT64_MIN, INT64_MAX, out);
    if (st == TQC_NUM_OK) *p += n;
    return st;
}

/* A decimal floating-point literal: [-]digits[.digits][e[-+]digits]. Checked
 * by hand so that strtod never sees hex, inf, nan or spaces. */
static bool decimal_shape(const char *s, const char **end) {
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    int nd = 0;
    while (isdigit((unsigned char)*p)) { p++; nd++; }
    if (*p == '.') { p++; while (isdigit((unsigned char)*p)) { p++; nd++; } }
    if (!nd) return false;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '-' || *q == '+') q++;
        if (!isdigit((unsigned char)*q)) return false;
        while (isdigit((unsigned char)*q)) q++;
        p = q;
    }
    *end = p;
    return true;
}

tqc_num_status tqc_parse_f64(const char *s, double lo, double hi, double *out) {
    const char *e;
    if (!decimal_shape(s, &e) || *e) return TQC_NUM_JUNK;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end != e) return TQC_NUM_JUNK;
    if (errno == ERANGE || !isfinite(v) || !(v >= lo && v <= hi)) return TQC_NUM_RANGE;
    *out = v;
    return TQC_NUM_OK;
}

tqc_num_status tqc_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    const char *e;
    if (s[0] == '-' || s[0] == '+' || !decimal_shape(s, &e)) return TQC_NUM_JUNK;
    static const struct { const char *unit; double mul; } U[] = {
        {"", 1}, {"b", 1}, {"k", 1e3}, {"kb", 1e3}, {"m", 1e6}, {"mb", 1e6}, {"g", 1e9}, {"gb", 1e9},
        {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}};
    const char *u = e;
    while (*u == ' ') u++;
    double mul = 0;
    for (size_t i = 0; i < sizeof U / sizeof U[0] && !mul; i++)
        if (!strcasecmp(u, U[i].unit)) mul = U[i].mul;
    if (!mul) return TQC_NUM_JUNK;
    char *end;
    double v = strtod(s, &end);
    double b = v * mul + 0.5;
    if (!(b >= 0) || b > 1e18 || (uint64_t)b < lo || (uint64_t)b > hi) return TQC_NUM_RANGE;
    *out = (uint64_t)b;
    return TQC_NUM_OK;
}

/* ---- granularity: names from the library (tq_gran_name), plus the CLI's "row" alias */

const char *tqc_gran_name(tq_granularity g) { return tq_gran_name(g); }

tqc_num_status tqc_gran_parse(const char *s, tqc_gran *out) {
    if (!strcmp(s, "row")) s = "channel";
    for (int g = 0; g < TQ_GRAN_COUNT; g++) {
        const char *name = tq_gran_name((tq_granularity)g);
        size_t n = strlen(name);
        if (strncmp(s, name, n)) continue;
        if (!s[n]) { *out = (tqc_gran){(tq_granularity)g, g == TQ_GRAN_GROUP ? 64 : 0}; return TQC_NUM_OK; }
        if (g != TQ_GRAN_GROUP || (s[n] != ':' && s[n] != '=')) return TQC_NUM_JUNK;
        int64_t v;
        tqc_num_status st = tqc_parse_i64(s + n + 1, 1, (int64_t)1 << 40, &v);
        if (st) return st;
        *out = (tqc_gran){TQ_GRAN_GROUP, v};
        return TQC_NUM_OK;
    }
    return TQC_NUM_JUNK;
}

void tqc_gran_list(unsigned mask, char *buf, size_t cap) {
    buf[0] = 0;
    for (int g = 0; g < TQ_GRAN_COUNT; g++)
        if (mask & (1u << g)) {
            size_t l = strlen(buf);
            snprintf(buf + l, cap - l, "%s%s", l ? "," : "", tq_gran_name((tq_granularity)g));
        }
}

/* ---- formatting, progress ------------------------------------------------- */

const char *tqc_fmt_bytes(uint64_t b, char *buf, size_t cap) {
    if (b < 1000) snprintf(buf, cap, "%llu B", (unsigned long long)b);
    else if (b < 1000000) snprintf(buf, cap, "%.2f kB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(buf, cap, "%.2f MB", (double)b / 1e6);
    else snprintf(buf, cap, "%.3f GB", (double)b / 1e9);
    return buf;
}

const char *tqc_fmt_shape(const int64_t *shape, int ndim, const char *sep, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? sep : "", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

bool tqc_stderr_is_tty(void) { return isatty(2) == 1; }

static bool progress_shown;
void tqc_progress(const char *label, int64_t i, int64_t n) {
    if (!tqc_stderr_is_tty()) return;
    fprintf(stderr, "\r\033[K%s %lld/%lld", label, (long long)i, (long long)n);
    fflush(stderr);
    progress_shown = true;
}
void tqc_progress_done(void) {
    if (progress_shown) { fprintf(stderr, "\r\033[K"); fflush(stderr); progress_shown = false; }
}
