/*
 * bpe_pretok.c — what happens to text before the BPE model sees it:
 * normalizers, the pre-tokenizer steps (tokenizers' Split, ByteLevel and
 * Digits, with their split behaviours), the named regexes, llama.cpp's
 * `tokenizer.ggml.pre` names, and GPT-2's byte-level alphabet. Contracts in
 * bpe.h; the behaviour is documented in docs/tokenizer.md.
 *
 * Regexes run in PCRE2 (8-bit, UTF + UCP so \s \p{L} \p{N} are Unicode
 * classes), JIT-compiled when the library can; a match the JIT cannot finish
 * within its stack is run again by the interpreter, so results never depend
 * on the JIT.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "nn/tok/bpe_pretok.h"
#include <limits.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- named regexes ------------------------------------------------------- */

/* The patterns as tokenizers' tokenizer.json files of these families write
 * them (GPT-2's is also the ByteLevel pre-tokenizer's built-in one). */
static const struct { const char *name, *re; } REGEXES[] = {
    {"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
    {"llama3", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
               "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    {"qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
              "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

const char *tq_bpe_regex(const char *name) {
    for (size_t i = 0; name && i < sizeof REGEXES / sizeof REGEXES[0]; i++)
        if (!strcmp(REGEXES[i].name, name)) return REGEXES[i].re;
    return NULL;
}

/* llama.cpp's pre-tokenizer names -> the steps of the matching Hugging Face
 * tokenizer.json: a regex to Split with (Isolated) before a ByteLevel
 * without regex, or Digits (individual) before a ByteLevel with GPT-2's. */
typedef enum { PRE_BYTELEVEL, PRE_SPLIT_BYTELEVEL, PRE_DIGITS_BYTELEVEL } pre_shape;
static const struct { const char *name; pre_shape shape; const char *regex; } PRE_NAMES[] = {
    {"default", PRE_BYTELEVEL, NULL},        {"gpt-2", PRE_BYTELEVEL, NULL},
    {"llama-bpe", PRE_SPLIT_BYTELEVEL, "llama3"}, {"llama3", PRE_SPLIT_BYTELEVEL, "llama3"},
    {"dbrx", PRE_SPLIT_BYTELEVEL, "llama3"}, {"smaug-bpe", PRE_SPLIT_BYTELEVEL, "llama3"},
    {"qwen2", PRE_SPLIT_BYTELEVEL, "qwen2"}, {"deepseek-r1-qwen", PRE_SPLIT_BYTELEVEL, "qwen2"},
    {"smollm", PRE_DIGITS_BYTELEVEL, NULL},  {"starcoder", PRE_DIGITS_BYTELEVEL, NULL},
    {"refact", PRE_DIGITS_BYTELEVEL, NULL},  {"codeshell", PRE_DIGITS_BYTELEVEL, NULL},
    {"command-r", PRE_DIGITS_BYTELEVEL, NULL},
};

tq_status tq_bpe_pre_by_name(tq_bpe_pretok *p, const char *name, const char *where, tq_error *err) {
    if (!name) name = "default";
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof PRE_NAMES[0]; i++) {
        if (strcmp(PRE_NAMES[i].name, name)) continue;
        tq_status st = TQ_OK;
        if (PRE_NAMES[i].shape == PRE_SPLIT_BYTELEVEL) {
            const char *re = tq_bpe_regex(PRE_NAMES[i].regex);
            st = tq_bpe_pre_split(p, re, strlen(re), 0, TQ_BPE_ISOLATED, 0, where, err);
        } else if (PRE_NAMES[i].shape == PRE_DIGITS_BYTELEVEL) {
            st = tq_bpe_pre_digits(p, 1, where, err);
        }
        if (!st) st = tq_bpe_pre_bytelevel(p, 0, PRE_NAMES[i].shape != PRE_SPLIT_BYTELEVEL, where, err);
        return st;
    }
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof PRE_NAMES[0] && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", PRE_NAMES[i].name);
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: pre-tokenizer \"%s\" is not one trueq knows (known: %s)", where, name,
                  list);
}

/* ---- steps --------------------------------------------------------------- */

static tq_status compile(const char *pat, size_t len, int literal, void **code, const char *where, tq_error *err) {
    int ec;
    PCRE2_SIZE at;
    uint32_t opt = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opt, &ec, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return tq_err(err, TQ_E_FORMAT, "%s: regex \"%.*s\" rejected at offset %zu: %s", where,
                      (int)(len < 200 ? len : 200), pat, (size_t)at, (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: the interpreter gives the same matches */
    *code = re;
    return TQ_OK;
}

static tq_bpe_pre_step *new_step(tq_bpe_pretok *p, tq_bpe_pre_kind k, const char *where, tq_error *err) {
    if (p->n >= TQ_BPE_MAX_STEPS) {
        tq_err(err, TQ_E_LIMIT, "%s: more than %d pre-tokenizer steps", where, TQ_BPE_MAX_STEPS);
        return NULL;
    }
    tq_bpe_pre_step *s = &p->step[p->n];
    memset(s, 0, sizeof *s);
    s->kind = k;
    return s;
}

tq_status tq_bpe_pre_split(tq_bpe_pretok *p, const char *pattern, size_t len, int literal, tq_bpe_behavior b,
                           int invert, const char *where, tq_error *err) {
    tq_bpe_pre_step *s = new_step(p, TQ_BPE_PRE_SPLIT, where, err);
    if (!s) return err ? err->status : TQ_E_LIMIT;
    tq_status st = compile(pattern, len, literal, &s->code, where, err);
    if (st) return st;
    s->behavior = b;
    s->invert = invert;
    p->n++;
    return TQ_OK;
}

tq_status tq_bpe_pre_bytelevel(tq_bpe_pretok *p, int add_prefix_space, int use_regex, const char *where,
                               tq_error *err) {
    tq_bpe_pre_step *s = new_step(p, TQ_BPE_PRE_BYTELEVEL, where, err);
    if (!s) return err ? err->status : TQ_E_LIMIT;
    s->add_prefix_space = add_prefix_space;
    s->use_regex = use_regex;
    if (use_regex) {
        const char *re = tq_bpe_regex("gpt2");
        tq_status st = compile(re, strlen(re), 0, &s->code, where, err);
        if (st) return st;
    }
    p->n++;
    return TQ_OK;
}

tq_status tq_bpe_pre_digits(tq_bpe_pretok *p, int individual, const char *where, tq_error *err) {
    tq_bpe_pre_step *s = new_step(p, TQ_BPE_PRE_DIGITS, where, err);
    if (!s) return err ? err->status : TQ_E_LIMIT;
    s->behavior = individual ? TQ_BPE_ISOLATED : TQ_BPE_CONTIGUOUS;
    p->n++;
    return TQ_OK;
}

tq_status tq_bpe_pre_norm(tq_bpe_pretok *p, tq_bpe_norm n, const char *where, tq_error *err) {
    if (p->n_norm >= TQ_BPE_MAX_NORM)
        return tq_err(err, TQ_E_LIMIT, "%s: more than %d normalizers", where, TQ_BPE_MAX_NORM);
    p->norm[p->n_norm++] = n;
    return TQ_OK;
}

void tq_bpe_pretok_free(tq_bpe_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->step[i].code);
    memset(p, 0, sizeof *p);
}

/* ---- Unicode helpers ----------------------------------------------------- */

int tq_bpe_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)(n < 4 ? n : 4), &c);
    if (k <= 0 || c < 0) return 0;
    *cp = (uint32_t)c;
    return (int)k;
}

long long tq_bpe_utf8_bad(const char *s, size_t n) {
    size_t i = 0;
    uint32_t cp = 0;
    while (i < n) {
        int k = tq_bpe_utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (!k) return (long long)i;
        i += (size_t)k;
    }
    return -1;
}

/* Unicode's White_Space property (what Rust's char::is_whitespace tests). */
int tq_bpe_is_space(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int tq_bpe_is_numeric(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

int tq_bpe_is_alnum(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || tq_bpe_is_numeric(c);
}

/* ---- the byte-level alphabet --------------------------------------------- */

static int printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

uint32_t tq_bpe_byte_char(uint8_t b) {
    if (printable_byte(b)) return b;
    uint32_t k = 0; /* the how-many-th non-printable byte b is */
    for (int i = 0; i < b; i++) k += !printable_byte(i);
    return 256 + k;
}

int tq_bpe_char_byte(uint32_t cp) {
    if (cp < 256) return printable_byte((int)cp) ? (int)cp : -1;
    uint32_t k = cp - 256;
    for (int i = 0; i < 256; i++)
        if (!printable_byte(i) && k-- == 0) return i;
    return -1;
}

/* ---- pieces ------------------------------------------------------------- */

void tq_bpe_pieces_free(tq_bpe_pieces *p) {
    for (int i = 0; i < p->n; i++) free(p->s[i]);
    free(p->s);
    free(p->len);
    memset(p, 0, sizeof *p);
}

static tq_status push(tq_bpe_pieces *p, const char *s, size_t n, tq_error *err) {
    if (n == 0) return TQ_OK; /* tokenizers drops empty pieces */
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        char **ns = realloc(p->s, sizeof *ns * (size_t)cap);
        if (ns) p->s = ns;
        size_t *nl = realloc(p->len, sizeof *nl * (size_t)cap);
        if (nl) p->len = nl;
        if (!ns || !nl || cap > INT_MAX / 4) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory for pieces");
        p->cap = cap;
    }
    char *c = malloc(n);
    if (!c) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory for a piece of %zu bytes", n);
    memcpy(c, s, n);
    p->s[p->n] = c;
    p->len[p->n++] = n;
    return TQ_OK;
}

/* One segment of a split: [a, b), a match or not. */
typedef struct { size_t a, b; int match; } seg;
typedef struct { seg *v; int n, cap; } segs;

static int seg_push(segs *g, size_t a, size_t b, int match) {
    if (!tq_grow((void **)&g->v, &g->cap, g->n, sizeof *g->v, 32)) return 0;
    g->v[g->n++] = (seg){a, b, match};
    return 1;
}

/* Matches of a regex over s as alternating segments (tokenizers' Pattern
 * find_matches over onig's find_iter: an empty match right where the last
 * match ended is skipped by one character). */
static tq_status regex_segs(const pcre2_code *re, const char *s, size_t n, segs *g, tq_error *err) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory for regex match data");
    size_t prev = 0, from = 0, last_end = (size_t)-1;
    tq_status st = TQ_OK;
    while (from <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(re, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = tq_err(err, TQ_E_LIMIT, "bpe: regex match failed at byte %zu of a %zu-byte text: %s", from, n,
                        (const char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (a == b && b == last_end) {
            uint32_t cp = 0;
            int k = from < n ? tq_bpe_utf8_next((const uint8_t *)s + from, n - from, &cp) : 1;
            from += k ? (size_t)k : 1;
            continue;
        }
        from = b;
        last_end = b;
        if ((prev != a && !seg_push(g, prev, a, 0)) || !seg_push(g, a, b, 1)) {
            st = tq_err(err, TQ_E_NOMEM, "bpe: out of memory for regex matches");
            break;
        }
        prev = b;
    }
    pcre2_match_data_free(md);
    if (!st && prev != n && !seg_push(g, prev, n, 0)) st = tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
    return st;
}

/* Every numeric character is a one-character match. */
static tq_status digit_segs(const char *s, size_t n, segs *g, tq_error *err) {
    size_t last = 0, i = 0;
    while (i < n) {
        uint32_t cp = 0;
        int k = tq_bpe_utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (!k) k = 1;
        if (tq_bpe_is_numeric(cp)) {
            if ((last < i && !seg_push(g, last, i, 0)) || !seg_push(g, i, i + (size_t)k, 1))
                return tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
            last = i + (size_t)k;
        }
        i += (size_t)k;
    }
    if (last < n && !seg_push(g, last, n, 0)) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
    return TQ_OK;
}

/* Apply a split behaviour to segments, pushing the resulting pieces. */
static tq_status apply_behavior(const char *s, segs *g, tq_bpe_behavior b, int invert, tq_bpe_pieces *out,
                                tq_error *err) {
    if (invert)
        for (int i = 0; i < g->n; i++) g->v[i].match = !g->v[i].match;
    int k = 0; /* merged segments written back into g->v[0..k) */
    if (b == TQ_BPE_MERGED_NEXT) {
        /* from the right: a match joins the piece after it */
        int prev_match = 0;
        for (int i = g->n - 1; i >= 0; i--) {
            seg c = g->v[i];
            if (c.match && !prev_match && k > 0) g->v[g->n - k].a = c.a;
            else g->v[g->n - 1 - k++] = (seg){c.a, c.b, 0};
            prev_match = c.match;
        }
        memmove(g->v, g->v + g->n - k, sizeof(seg) * (size_t)k);
    } else {
        int prev = -1;
        for (int i = 0; i < g->n; i++) {
            seg c = g->v[i];
            int join = (b == TQ_BPE_MERGED_PREV && c.match && prev != 1 && k > 0) ||
                       (b == TQ_BPE_CONTIGUOUS && prev == c.match && k > 0);
            if (b == TQ_BPE_REMOVED && c.match) { prev = 1; continue; }
            if (join) g->v[k - 1].b = c.b;
            else g->v[k++] = (seg){c.a, c.b, 0};
            prev = c.match;
        }
    }
    for (int i = 0; i < k; i++) {
        tq_status st = push(out, s + g->v[i].a, g->v[i].b - g->v[i].a, err);
        if (st) return st;
    }
    return TQ_OK;
}

/* The byte-level alphabet over s: every byte becomes its character. */
static tq_status byte_map(const char *s, size_t n, int prefix, tq_bpe_pieces *out, tq_error *err) {
    size_t cap = (n + 1) * 2;
    char *m = malloc(cap), *w = m;
    if (!m) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
    if (prefix) *w++ = ' ';
    for (size_t i = 0; i < n; i++)
        w += utf8proc_encode_char((utf8proc_int32_t)tq_bpe_byte_char((uint8_t)s[i]), (utf8proc_uint8_t *)w);
    tq_status st = push(out, m, (size_t)(w - m), err);
    free(m);
    return st;
}

static tq_status run_step(const tq_bpe_pre_step *st, const char *s, size_t n, tq_bpe_pieces *out, tq_error *err) {
    segs g = {0};
    tq_status rc = TQ_OK;
    if (st->kind == TQ_BPE_PRE_BYTELEVEL) {
        /* tokenizers prepends the space to every piece not starting with one
         * (never to an empty one), then splits with the regex, then maps */
        int prefix = st->add_prefix_space && n > 0 && s[0] != ' ';
        char *sp = NULL;
        if (prefix) {
            sp = malloc(n + 1);
            if (!sp) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
            sp[0] = ' ';
            memcpy(sp + 1, s, n);
            s = sp;
            n++;
        }
        if (st->use_regex) rc = regex_segs(st->code, s, n, &g, err);
        else if (n && !seg_push(&g, 0, n, 0)) rc = tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
        for (int i = 0; !rc && i < g.n; i++)
            if (g.v[i].b > g.v[i].a) rc = byte_map(s + g.v[i].a, g.v[i].b - g.v[i].a, 0, out, err);
        free(sp);
    } else {
        rc = st->kind == TQ_BPE_PRE_SPLIT ? regex_segs(st->code, s, n, &g, err) : digit_segs(s, n, &g, err);
        if (!rc) rc = apply_behavior(s, &g, st->behavior, st->invert, out, err);
    }
    free(g.v);
    return rc;
}

tq_status tq_bpe_pretokenize(const tq_bpe_pretok *p, const char *s, size_t n, tq_bpe_pieces *out, tq_error *err) {
    if (p->n == 0) return push(out, s, n, err);
    tq_bpe_pieces cur = {0};
    tq_status st = push(&cur, s, n, err);
    for (int k = 0; !st && k < p->n; k++) {
        tq_bpe_pieces next = {0};
        for (int i = 0; !st && i < cur.n; i++) st = run_step(&p->step[k], cur.s[i], cur.len[i], &next, err);
        tq_bpe_pieces_free(&cur);
        cur = next;
    }
    for (int i = 0; !st && i < cur.n; i++) st = push(out, cur.s[i], cur.len[i], err);
    tq_bpe_pieces_free(&cur);
    return st;
}

tq_status tq_bpe_normalize(const tq_bpe_pretok *p, const char *s, size_t n, char **out, size_t *on, tq_error *err) {
    char *cur = malloc(n + 1);
    if (!cur) return tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
    memcpy(cur, s, n);
    size_t len = n;
    for (int i = 0; i < p->n_norm; i++) {
        if (len == 0) break;
        int opt = UTF8PROC_STABLE;
        switch (p->norm[i]) {
        case TQ_BPE_NFC: opt |= UTF8PROC_COMPOSE; break;
        case TQ_BPE_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
        case TQ_BPE_NFD: opt |= UTF8PROC_DECOMPOSE; break;
        case TQ_BPE_NFKD: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
        }
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)cur, (utf8proc_ssize_t)len, &dst,
                                          (utf8proc_option_t)opt);
        free(cur);
        if (k < 0) {
            free(dst);
            return tq_err(err, TQ_E_VALUE, "bpe: normalization failed: %s", utf8proc_errmsg(k));
        }
        cur = (char *)dst;
        len = (size_t)k;
    }
    *out = cur;
    *on = len;
    return TQ_OK;
}
