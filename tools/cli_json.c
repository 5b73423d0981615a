/* cli_json.c — the small streaming JSON writer of every --json output (cli.h). */
#include "cli_json.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

void tqc_json_init(tqc_json *j, FILE *f, tqc_json_style style, int digits) {
    *j = (tqc_json){.f = f, .style = style, .digits = digits};
    j->first[0] = true;
}

/* Before a value: the comma between siblings (none after a key). */
static void pre_value(tqc_json *j) {
    if (j->after_key) { j->after_key = false; return; }
    if (!j->first[j->depth]) fputs(j->style == TQC_JSON_SPACED ? ", " : ",", j->f);
    j->first[j->depth] = false;
}

/* After a value: a newline once the outermost value is complete. */
static void post_value(tqc_json *j) {
    if (j->depth == 0) fputc('\n', j->f);
}

static void open_(tqc_json *j, char c) {
    pre_value(j);
    fputc(c, j->f);
    if (j->depth + 1 < TQC_JSON_DEPTH) j->depth++;
    j->first[j->depth] = true;
}

static void close_(tqc_json *j, char c) {
    fputc(c, j->f);
    if (j->depth > 0) j->depth--;
    post_value(j);
}

void tqc_json_begin_object(tqc_json *j) { open_(j, '{'); }
void tqc_json_end_object(tqc_json *j) { close_(j, '}'); }
void tqc_json_begin_array(tqc_json *j) { open_(j, '['); }
void tqc_json_end_array(tqc_json *j) { close_(j, ']'); }

static void raw_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') { fputc('\\', f); fputc(*p, f); }
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void tqc_json_key(tqc_json *j, const char *key) {
    pre_value(j);
    raw_str(j->f, key);
    fputs(j->style == TQC_JSON_SPACED ? ": " : ":", j->f);
    j->after_key = true;
}

void tqc_json_str(tqc_json *j, const char *s) {
    pre_value(j);
    if (s) raw_str(j->f, s);
    else fputs("null", j->f);
    post_value(j);
}

void tqc_json_numg(tqc_json *j, double v, int digits) {
    pre_value(j);
    if (isfinite(v)) fprintf(j->f, "%.*g", digits, v);
    else fputs("null", j->f);
    post_value(j);
}

void tqc_json_num(tqc_json *j, double v) { tqc_json_numg(j, v, j->digits); }

void tqc_json_fixed(tqc_json *j, double v, int decimals) {
    pre_value(j);
    if (isfinite(v)) fprintf(j->f, "%.*f", decimals, v);
    else fputs("null", j->f);
    post_value(j);
}

void tqc_json_int(tqc_json *j, int64_t v) { pre_value(j); fprintf(j->f, "%" PRId64, v); post_value(j); }
void tqc_json_uint(tqc_json *j, uint64_t v) { pre_value(j); fprintf(j->f, "%" PRIu64, v); post_value(j); }
void tqc_json_bool(tqc_json *j, bool v) { pre_value(j); fputs(v ? "true" : "false", j->f); post_value(j); }
void tqc_json_null(tqc_json *j) { pre_value(j); fputs("null", j->f); post_value(j); }

void tqc_json_kstr(tqc_json *j, const char *key, const char *s) { tqc_json_key(j, key); tqc_json_str(j, s); }
void tqc_json_knum(tqc_json *j, const char *key, double v) { tqc_json_key(j, key); tqc_json_num(j, v); }
void tqc_json_kint(tqc_json *j, const char *key, int64_t v) { tqc_json_key(j, key); tqc_json_int(j, v); }
void tqc_json_kuint(tqc_json *j, const char *key, uint64_t v) { tqc_json_key(j, key); tqc_json_uint(j, v); }
void tqc_json_kbool(tqc_json *j, const char *key, bool v) { tqc_json_key(j, key); tqc_json_bool(j, v); }

void tqc_json_ints(tqc_json *j, const int64_t *v, int n) {
    tqc_json_begin_array(j);
    for (int i = 0; i < n; i++) tqc_json_int(j, v[i]);
    tqc_json_end_array(j);
}

void tqc_json_fields(tqc_json *j, const char *spec, ...) {
    va_list ap;
    va_start(ap, spec);
    for (const char *p = spec; *p;) {
        if (*p == ' ') { p++; continue; }
        const char *colon = strchr(p, ':');
        if (!colon || !colon[1]) break;   /* a malformed spec writes nothing more */
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(colon - p), p);
        char t = colon[1];
        int digits = -1;   /* the digits after the type letter, if any */
        for (p = colon + 2; *p >= '0' && *p <= '9'; p++) digits = (digits < 0 ? 0 : digits * 10) + (*p - '0');
        tqc_json_key(j, key);
        switch (t) {
        case 's': tqc_json_str(j, va_arg(ap, const char *)); break;
        case 'd': tqc_json_int(j, va_arg(ap, int)); break;
        case 'b': tqc_json_bool(j, va_arg(ap, int) != 0); break;
        case 'l': tqc_json_int(j, va_arg(ap, long long)); break;
        case 'u': tqc_json_uint(j, va_arg(ap, unsigned long long)); break;
        case 'f': tqc_json_numg(j, va_arg(ap, double), digits >= 0 ? digits : j->digits); break;
        case 'x': tqc_json_fixed(j, va_arg(ap, double), digits >= 0 ? digits : 6); break;
        default: tqc_json_null(j); break;
        }
    }
    va_end(ap);
}
