/* strbuf.c — growable string buffer, JSON string escaping, glob matching. */
#include "core/internal.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void sb_reserve(tq_sb *b, size_t extra) {
    if (b->oom) return;
    if (b->len + extra + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra + 1) nc *= 2;
    char *ns = realloc(b->s, nc);
    if (!ns) { b->oom = true; return; }
    b->s = ns; b->cap = nc;
}

void tq_sb_putc(tq_sb *b, char c) {
    sb_reserve(b, 1);
    if (b->oom) return;
    b->s[b->len++] = c; b->s[b->len] = 0;
}

void tq_sb_puts(tq_sb *b, const char *s) {
    size_t n = strlen(s);
    sb_reserve(b, n);
    if (b->oom) return;
    memcpy(b->s + b->len, s, n + 1); b->len += n;
}

void tq_sb_printf(tq_sb *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = true; return; }
    sb_reserve(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tq_sb_json_str(tq_sb *b, const char *s) {
    tq_sb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': tq_sb_puts(b, "\\\""); break;
        case '\\': tq_sb_puts(b, "\\\\"); break;
        case '\n': tq_sb_puts(b, "\\n"); break;
        case '\r': tq_sb_puts(b, "\\r"); break;
        case '\t': tq_sb_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) tq_sb_printf(b, "\\u%04x", *p);
            else tq_sb_putc(b, (char)*p);
        }
    }
    tq_sb_putc(b, '"');
}

void tq_sb_free(tq_sb *b) { free(b->s); memset(b, 0, sizeof *b); }

bool tq_glob_match(const char *pat, const char *s) {
    while (*pat) {
        if (*pat == '*') {
            while (*pat == '*') pat++;
            if (!*pat) return true;
            for (; *s; s++) if (tq_glob_match(pat, s)) return true;
            return false;
        }
        if (!*s) return false;
        if (*pat == '?') { pat++; s++; continue; }
        if (*pat == '[') {
            const char *q = pat + 1;
            bool neg = (*q == '!' || *q == '^');
            if (neg) q++;
            bool hit = false;
            while (*q && *q != ']') {
                if (q[1] == '-' && q[2] && q[2] != ']') { if (*s >= q[0] && *s <= q[2]) hit = true; q += 3; }
                else { if (*s == *q) hit = true; q++; }
            }
            if (*q != ']') { if (*pat != *s) return false; pat++; s++; continue; } /* literal '[' */
            if (hit == neg) return false;
            pat = q + 1; s++;
            continue;
        }
        if (*pat != *s) return false;
        pat++; s++;
    }
    return *s == 0;
}

int tq_grow(void **v, int *cap, int n, size_t elem, int init) {
    if (n < *cap) return 1;
    if (*cap > INT_MAX / 2) return 0;
    int ncap = *cap ? *cap * 2 : init;
    if ((size_t)ncap > SIZE_MAX / elem) return 0;
    void *nv = realloc(*v, elem * (size_t)ncap);
    if (!nv) return 0;
    *v = nv;
    *cap = ncap;
    return 1;
}
