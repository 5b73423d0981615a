/* cli.c — option parsing, sizes, progress: shared by every subcommand. */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void tq_args_init(tq_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->argc = argc; a->argv = argv; a->i = 0;
}

bool tq_args_next(tq_args *a) {
    if (a->error) return false;
    a->i++;
    if (a->i >= a->argc) return false;
    a->cur = a->argv[a->i];
    if (!a->done_opts && strcmp(a->cur, "--") == 0) { a->done_opts = true; return tq_args_next(a); }
    return true;
}

static bool is_opt(tq_args *a) { return !a->done_opts && a->cur[0] == '-' && a->cur[1] != 0; }

bool tq_args_flag(tq_args *a, const char *name) { return is_opt(a) && strcmp(a->cur, name) == 0; }

bool tq_args_value(tq_args *a, const char *s, const char *name, const char **val) {
    if (!is_opt(a)) return false;
    size_t n = strlen(name);
    if (strncmp(a->cur, name, n) == 0 && a->cur[n] == '=') { *val = a->cur + n + 1; return true; }
    if (strcmp(a->cur, name) == 0 || (s && strcmp(a->cur, s) == 0)) {
        if (a->i + 1 >= a->argc) {
            fprintf(stderr, "trueq: option %s needs a value\n", a->cur);
            a->error = true;
            return true;
        }
        *val = a->argv[++a->i];
        return true;
    }
    return false;
}

bool tq_args_positional(tq_args *a) {
    if (is_opt(a)) return false;
    if (a->npos >= 32) { a->error = true; fprintf(stderr, "trueq: too many arguments\n"); return true; }
    a->pos[a->npos++] = a->cur;
    return true;
}

int tq_args_unknown(tq_args *a, const char *cmd) {
    fprintf(stderr, "trueq %s: unknown option %s (see trueq %s --help)\n", cmd, a->cur, cmd);
    return TQ_EXIT_USAGE;
}

int tq_cli_fail(const char *cmd, const tq_error *err) {
    fprintf(stderr, "trueq %s: %s: %s\n", cmd, tq_status_str(err->status), err->msg);
    return TQ_EXIT_FAIL;
}

int tq_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "trueq %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see trueq %s --help)\n", cmd);
    return TQ_EXIT_USAGE;
}

const char *tq_fmt_bytes(uint64_t b, char *buf, size_t cap) {
    if (b < 1000) snprintf(buf, cap, "%llu B", (unsigned long long)b);
    else if (b < 1000000) snprintf(buf, cap, "%.2f kB", b / 1e3);
    else if (b < 1000000000) snprintf(buf, cap, "%.2f MB", b / 1e6);
    else snprintf(buf, cap, "%.3f GB", b / 1e9);
    return buf;
}

bool tq_parse_size(const char *s, uint64_t *out) {
    char *end;
    for (const char *c = s; *c; c++)        /* decimal only: no hex, no inf/nan */
        if (!(isdigit((unsigned char)*c) || *c == '.' || isalpha((unsigned char)*c) || *c == ' ') || *c == 'x' || *c == 'X')
            return false;
    if (!isdigit((unsigned char)s[0]) && s[0] != '.') return false;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || v > 1e18) return false;
    while (isspace((unsigned char)*end)) end++;
    double mul = 1;
    if (!*end || !strcasecmp(end, "b")) mul = 1;
    else if (!strcasecmp(end, "k") || !strcasecmp(end, "kb")) mul = 1e3;
    else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb")) mul = 1e6;
    else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb")) mul = 1e9;
    else if (!strcasecmp(end, "kib")) mul = 1024.0;
    else if (!strcasecmp(end, "mib")) mul = 1048576.0;
    else if (!strcasecmp(end, "gib")) mul = 1073741824.0;
    else return false;
    *out = (uint64_t)(v * mul + 0.5);
    return true;
}

bool tq_stderr_is_tty(void) { return isatty(2) == 1; }

static bool progress_shown;
void tq_progress(const char *label, int64_t i, int64_t n) {
    if (!tq_stderr_is_tty()) return;
    fprintf(stderr, "\r\033[K%s %lld/%lld", label, (long long)i, (long long)n);
    fflush(stderr);
    progress_shown = true;
}
void tq_progress_done(void) {
    if (progress_shown) { fprintf(stderr, "\r\033[K"); fflush(stderr); progress_shown = false; }
}

bool tq_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool tq_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

void tq_json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

void tq_json_str(FILE *f, const char *s) {
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
