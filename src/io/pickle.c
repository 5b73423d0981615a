/*
 * pickle.c — the safe state-dict unpickler (pickle.h, FORMATS.md §6.3-6.4).
 *
 * A stack machine over the pickle's opcodes whose values are plain data. The
 * whitelist below is everything a torch.save'd state dict needs; a GLOBAL or
 * STACK_GLOBAL naming anything else stops the run at that opcode with the
 * global's name. REDUCE applies only the whitelisted callables, each
 * interpreted here (OrderedDict() is an empty dict, _rebuild_tensor_v2 a
 * tensor view record, ...); BUILD is accepted only on dicts and tensors and
 * its state ignored; NEWOBJ, INST, OBJ, EXT*, PERSID (text) and protocol 0/1
 * text opcodes are refused. Values point into the pickle bytes (strings) or
 * live in one list freed at the end.
 */
#include "io/pickle.h"
#include "io/printable.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_BYTES, V_TUPLE, V_LIST, V_DICT, V_GLOBAL, V_STORAGE,
               V_TENSOR, V_MARK } vkind;

typedef struct val {
    vkind k;
    int64_t i;                 /* BOOL, INT; GLOBAL: whitelist row; STORAGE, TENSOR: index */
    const uint8_t *s;          /* STR, BYTES: into the pickle */
    size_t len;
    struct val **it;           /* TUPLE, LIST: items; DICT: key, value, key, value ... */
    int64_t n, cap;
} val;

enum { G_ODICT, G_V2, G_PARAM, G_SIZE, G_STORAGE };
static const struct { const char *mod, *name; int kind; tq_dtype dt; } WL[] = {
    {"collections", "OrderedDict", G_ODICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", G_V2, 0},
    {"torch._utils", "_rebuild_parameter", G_PARAM, 0},
    {"torch", "Size", G_SIZE, 0},
    {"torch", "DoubleStorage", G_STORAGE, TQ_DTYPE_F64},
    {"torch", "FloatStorage", G_STORAGE, TQ_DTYPE_F32},
    {"torch", "HalfStorage", G_STORAGE, TQ_DTYPE_F16},
    {"torch", "BFloat16Storage", G_STORAGE, TQ_DTYPE_BF16},
    {"torch", "LongStorage", G_STORAGE, TQ_DTYPE_I64},
    {"torch", "IntStorage", G_STORAGE, TQ_DTYPE_I32},
    {"torch", "ShortStorage", G_STORAGE, TQ_DTYPE_I16},
    {"torch", "CharStorage", G_STORAGE, TQ_DTYPE_I8},
    {"torch", "ByteStorage", G_STORAGE, TQ_DTYPE_U8},
    {"torch", "BoolStorage", G_STORAGE, TQ_DTYPE_BOOL},
};
enum { NWL = sizeof WL / sizeof WL[0] };

typedef struct vm {
    const uint8_t *d, *p, *end;
    const char *what;
    tq_error *err;
    val **all; int64_t nall, capall;     /* every value, for freeing */
    val **stack; int64_t sp, capst;
    val **memo; int64_t nmemo;
    tq_pkl_tensor *ts; int64_t nt, capt;   /* tensor views (names set at the end) */
    tq_pkl_storage *ss; int ns, caps;
    size_t op;                           /* offset of the opcode being run */
} vm;

#define FAIL(st, ...) do { tq_err(v->err, st, __VA_ARGS__); return NULL; } while (0)

static tq_status bad(vm *v, tq_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static tq_status bad(vm *v, tq_status st, const char *fmt, ...) {
    char msg[sizeof v->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tq_err(v->err, st, "%s: pickle offset %zu: %s", v->what, v->op, msg);
}
#define BAD(...) bad(v, TQ_E_FORMAT, __VA_ARGS__)

static bool grow(void **arr, int64_t *cap, int64_t n, size_t el) {
    if (n < *cap) return true;
    int64_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(*arr, (size_t)nc * el);
    if (!q) return false;
    *arr = q;
    *cap = nc;
    return true;
}

static val *mk(vm *v, vkind k) {
    if (v->nall >= TQ_PKL_MAX_VALUES) { BAD("more than %lld values", (long long)TQ_PKL_MAX_VALUES); return NULL; }
    val *x = calloc(1, sizeof *x);
    if (!x || !grow((void **)&v->all, &v->capall, v->nall, sizeof *v->all)) {
        free(x);
        tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what);
        return NULL;
    }
    x->k = k;
    v->all[v->nall++] = x;
    return x;
}

static bool push(vm *v, val *x) {
    if (!x) return false;
    if (v->sp >= TQ_PKL_MAX_STACK) { BAD("stack deeper than %lld", (long long)TQ_PKL_MAX_STACK); return false; }
    if (!grow((void **)&v->stack, &v->capst, v->sp, sizeof *v->stack)) {
        tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what);
        return false;
    }
    v->stack[v->sp++] = x;
    return true;
}

static val *pop(vm *v) {
    if (v->sp == 0 || v->stack[v->sp - 1]->k == V_MARK) { BAD("stack underflow (opcode 0x%02llx)", (long long)v->d[v->op]); return NULL; }
    return v->stack[--v->sp];
}
static val *top(vm *v) {
    if (v->sp == 0 || v->stack[v->sp - 1]->k == V_MARK) { BAD("stack underflow (opcode 0x%02llx)", (long long)v->d[v->op]); return NULL; }
    return v->stack[v->sp - 1];
}

static bool add_item(vm *v, val *c, val *x) {
    if (!grow((void **)&c->it, &c->cap, c->n, sizeof *c->it)) { tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what); return false; }
    c->it[c->n++] = x;
    return true;
}

/* Pop everything above the topmost MARK (and the mark) into a new container of
 * kind k; -1 when there is no mark. */
static val *pop_mark(vm *v, vkind k) {
    int64_t m = v->sp - 1;
    while (m >= 0 && v->stack[m]->k != V_MARK) m--;
    if (m < 0) { BAD("no MARK on the stack (opcode 0x%02llx)", (long long)v->d[v->op]); return NULL; }
    val *c = mk(v, k);
    for (int64_t i = m + 1; c && i < v->sp; i++)
        if (!add_item(v, c, v->stack[i])) return NULL;
    v->sp = m;
    return c;
}

static bool need(vm *v, size_t k) {
    if ((size_t)(v->end - v->p) >= k) return true;
    BAD("opcode 0x%02llx is cut short by the end of the pickle", (long long)v->d[v->op]);
    return false;
}

static val *str_val(vm *v, vkind k, uint64_t len) {
    if (len > (uint64_t)(v->end - v->p)) {
        BAD("a string of %llu bytes runs past the end of the pickle", (unsigned long long)len);
        return NULL;
    }
    val *x = mk(v, k);
    if (x) { x->s = v->p; x->len = (size_t)len; v->p += len; }
    return x;
}

static val *int_val(vm *v, int64_t i) { val *x = mk(v, V_INT); if (x) x->i = i; return x; }

/* LONG1/LONG4: n bytes of two's complement, little-endian, at most 8. */
static val *long_val(vm *v, uint64_t n) {
    if (n > 8) { BAD("an integer of %llu bytes exceeds int64", (unsigned long long)n); return NULL; }
    if (n > (uint64_t)(v->end - v->p)) { BAD("an integer of %llu bytes runs past the end", (unsigned long long)n); return NULL; }
    uint64_t u = 0;
    for (uint64_t i = 0; i < n; i++) u |= (uint64_t)v->p[i] << (8 * i);
    if (n && n < 8 && (v->p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
    v->p += n;
    int64_t s;
    memcpy(&s, &u, sizeof s);
    return int_val(v, s);
}

/* A whitelisted global, or the refusal naming it. */
static val *global(vm *v, const uint8_t *mod, size_t ml, const uint8_t *name, size_t nl) {
    for (int g = 0; g < NWL; g++)
        if (strlen(WL[g].mod) == ml && !memcmp(WL[g].mod, mod, ml) && strlen(WL[g].name) == nl && !memcmp(WL[g].name, name, nl)) {
            val *x = mk(v, V_GLOBAL);
            if (x) x->i = g;
            return x;
        }
    char m[128], n[128], full[300];
    tq_printable(m, sizeof m, mod, ml);
    tq_printable(n, sizeof n, name, nl);
    snprintf(full, sizeof full, "%s.%s", m, n);
    bad(v, TQ_E_UNSUPPORTED, "pickle global \"%s\" is not allowed (a state dict needs only OrderedDict, the tensor "
        "rebuilds, torch.Size and storages; nothing in a pickle is ever run)", full);
    return NULL;
}

static bool is_int_tuple(const val *x, int64_t maxn) {
    if (x->k != V_TUPLE || x->n > maxn) return false;
    for (int64_t i = 0; i < x->n; i++) if (x->it[i]->k != V_INT) return false;
    return true;
}

static val *reduce(vm *v, val *fn, val *args) {
    if (fn->k != V_GLOBAL) { BAD("REDUCE of a value that is not a whitelisted global"); return NULL; }
    if (args->k != V_TUPLE) { BAD("REDUCE of %s with arguments that are not a tuple", WL[fn->i].name); return NULL; }
    switch (WL[fn->i].kind) {
    case G_ODICT:
        if (args->n) { BAD("OrderedDict called with %lld arguments (only () is read)", (long long)args->n); return NULL; }
        return mk(v, V_DICT);
    case G_SIZE:
        if (args->n != 1 || !is_int_tuple(args->it[0], TQ_MAX_DIMS)) { BAD("torch.Size of something other than a tuple of ints"); return NULL; }
        return args->it[0];
    case G_PARAM:
        if (args->n < 1 || args->it[0]->k != V_TENSOR) { BAD("_rebuild_parameter without a tensor"); return NULL; }
        return args->it[0];
    case G_V2: {
        val *const *a = args->it;
        if (args->n != 6 && args->n != 7) { BAD("_rebuild_tensor_v2 with %lld arguments (6 or 7)", (long long)args->n); return NULL; }
        if (a[0]->k != V_STORAGE) { BAD("_rebuild_tensor_v2: argument 1 is not a storage"); return NULL; }
        if (a[1]->k != V_INT || a[1]->i < 0) { BAD("_rebuild_tensor_v2: bad storage offset"); return NULL; }
        if (!is_int_tuple(a[2], TQ_MAX_DIMS) || !is_int_tuple(a[3], TQ_MAX_DIMS) || a[2]->n != a[3]->n) {
            BAD("_rebuild_tensor_v2: size and stride must be int tuples of one length, at most %d dims", TQ_MAX_DIMS);
            return NULL;
        }
        if (a[4]->k != V_BOOL) { BAD("_rebuild_tensor_v2: requires_grad is not a bool"); return NULL; }
        if (!grow((void **)&v->ts, &v->capt, v->nt, sizeof *v->ts)) { tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what); return NULL; }
        tq_pkl_tensor *t = &v->ts[v->nt];
        memset(t, 0, sizeof *t);
        t->storage = (int)a[0]->i;
        t->offset = a[1]->i;
        t->ndim = (int)a[2]->n;
        for (int d = 0; d < t->ndim; d++) { t->shape[d] = a[2]->it[d]->i; t->stride[d] = a[3]->it[d]->i; }
        val *x = mk(v, V_TENSOR);
        if (x) x->i = v->nt++;
        return x;
    }
    default:
        BAD("torch.%s may only appear in a storage persistent id", WL[fn->i].name);
        return NULL;
    }
}

static bool is_str(const val *x, const char *s) { return x->k == V_STR && x->len == strlen(s) && !memcmp(x->s, s, x->len); }

/* ('storage', <torch.XStorage>, key, location, numel) */
static val *persid(vm *v, val *pid) {
    if (pid->k != V_TUPLE || pid->n != 5 || !is_str(pid->it[0], "storage")) {
        BAD("persistent id is not ('storage', type, key, location, numel)");
        return NULL;
    }
    val *ty = pid->it[1], *key = pid->it[2], *num = pid->it[4];
    if (ty->k != V_GLOBAL || WL[ty->i].kind != G_STORAGE) { BAD("persistent id: the storage type is not a torch storage class"); return NULL; }
    if (key->k != V_STR || key->len == 0 || key->len > 64 || memchr(key->s, 0, key->len) || memchr(key->s, '/', key->len)) {
        BAD("persistent id: the storage key is not a plain name");
        return NULL;
    }
    if (num->k != V_INT || num->i < 0) { BAD("persistent id: numel is not a non-negative int"); return NULL; }
    int s = 0;
    for (; s < v->ns; s++)
        if (strlen(v->ss[s].key) == key->len && !memcmp(v->ss[s].key, key->s, key->len)) break;
    if (s < v->ns) {   /* a storage shared by several tensors (tied weights) */
        if (v->ss[s].dtype != WL[ty->i].dt || v->ss[s].numel != num->i) {
            BAD("storage \"%s\" appears with two types or sizes", v->ss[s].key);
            return NULL;
        }
    } else {
        int64_t cap = v->caps;
        if (!grow((void **)&v->ss, &cap, v->ns, sizeof *v->ss)) { tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what); return NULL; }
        v->caps = (int)cap;
        char *k = malloc(key->len + 1);
        if (!k) { tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what); return NULL; }
        memcpy(k, key->s, key->len);
        k[key->len] = 0;
        v->ss[v->ns++] = (tq_pkl_storage){k, WL[ty->i].dt, num->i};
    }
    val *x = mk(v, V_STORAGE);
    if (x) x->i = s;
    return x;
}

static bool memo_put(vm *v, uint64_t idx) {
    val *x = top(v);
    if (!x) return false;
    if (idx >= TQ_PKL_MAX_MEMO) { BAD("memo index %llu exceeds the limit", (unsigned long long)idx); return false; }
    if ((int64_t)idx >= v->nmemo) {
        int64_t nn = (int64_t)idx + 1 > 2 * v->nmemo ? (int64_t)idx + 1 : 2 * v->nmemo;
        val **q = realloc(v->memo, (size_t)nn * sizeof *q);
        if (!q) { tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what); return false; }
        memset(q + v->nmemo, 0, (size_t)(nn - v->nmemo) * sizeof *q);
        v->memo = q;
        v->nmemo = nn;
    }
    v->memo[idx] = x;
    return true;
}
static val *memo_get(vm *v, uint64_t idx) {
    if ((int64_t)idx >= v->nmemo || !v->memo[idx]) { BAD("memo index %llu was never set", (unsigned long long)idx); return NULL; }
    return v->memo[idx];
}
static int64_t memo_next(const vm *v) {
    int64_t n = v->nmemo;
    while (n > 0 && !v->memo[n - 1]) n--;
    return n;
}

/* One opcode; false on error (v->err set), *stop set by STOP. */
static bool step(vm *v, val **result) {
    v->op = (size_t)(v->p - v->d);
    uint8_t o = *v->p++;
    const uint8_t *p;
    val *a, *b, *c;
    switch (o) {
    case 0x80: if (!need(v, 1)) return false; if (v->p[0] < 2 || v->p[0] > 5) return !BAD("pickle protocol %d (2 to 5 are read)", v->p[0]); v->p++; return true;
    case 0x95: if (!need(v, 8)) return false; v->p += 8; return true;   /* FRAME: a hint */
    case '.': *result = pop(v); return *result != NULL;
    case 'c': {   /* GLOBAL module\nname\n */
        const uint8_t *m = v->p, *nl1 = memchr(m, '\n', (size_t)(v->end - m) < 256 ? (size_t)(v->end - m) : 256);
        const uint8_t *n = nl1 ? nl1 + 1 : NULL;
        const uint8_t *nl2 = n ? memchr(n, '\n', (size_t)(v->end - n) < 256 ? (size_t)(v->end - n) : 256) : NULL;
        if (!nl2) return !BAD("GLOBAL without its two newline-ended names");
        v->p = nl2 + 1;
        return push(v, global(v, m, (size_t)(nl1 - m), n, (size_t)(nl2 - n)));
    }
    case 0x93:   /* STACK_GLOBAL */
        if (!(b = pop(v)) || !(a = pop(v))) return false;
        if (a->k != V_STR || b->k != V_STR) return !BAD("STACK_GLOBAL of values that are not strings");
        return push(v, global(v, a->s, a->len, b->s, b->len));
    case '}': return push(v, mk(v, V_DICT));
    case ']': return push(v, mk(v, V_LIST));
    case ')': return push(v, mk(v, V_TUPLE));
    case 0x8f: return push(v, mk(v, V_LIST));   /* EMPTY_SET: held as a list */
    case '(': return push(v, mk(v, V_MARK));
    case 't': return push(v, pop_mark(v, V_TUPLE));
    case 'l': return push(v, pop_mark(v, V_LIST));
    case 'd': {
        if (!(c = pop_mark(v, V_DICT))) return false;
        if (c->n % 2) return !BAD("DICT of an odd number (%lld) of items", (long long)c->n);
        return push(v, c);
    }
    case 0x85: case 0x86: case 0x87: {   /* TUPLE1..3 */
        int k = o - 0x84;
        if (v->sp < k) return !BAD("stack underflow (TUPLE%d)", k);
        for (int i = 0; i < k; i++) if (v->stack[v->sp - 1 - i]->k == V_MARK) return !BAD("stack underflow (TUPLE%d)", k);
        if (!(c = mk(v, V_TUPLE))) return false;
        for (int i = k; i > 0; i--) if (!add_item(v, c, v->stack[v->sp - i])) return false;
        v->sp -= k;
        return push(v, c);
    }
    case 'q': if (!need(v, 1)) return false; return memo_put(v, *v->p++);
    case 'r': if (!need(v, 4)) return false; p = v->p; v->p += 4; return memo_put(v, tq_ld32(p));
    case 0x94: return memo_put(v, (uint64_t)memo_next(v));
    case 'h': if (!need(v, 1)) return false; return push(v, memo_get(v, *v->p++));
    case 'j': if (!need(v, 4)) return false; p = v->p; v->p += 4; return push(v, memo_get(v, tq_ld32(p)));
    case 'X': if (!need(v, 4)) return false; p = v->p; v->p += 4; return push(v, str_val(v, V_STR, tq_ld32(p)));
    case 0x8c: case 'U': if (!need(v, 1)) return false; return push(v, str_val(v, V_STR, *v->p++));
    case 0x8d: if (!need(v, 8)) return false; p = v->p; v->p += 8; return push(v, str_val(v, V_STR, tq_ld64(p)));
    case 'C': if (!need(v, 1)) return false; return push(v, str_val(v, V_BYTES, *v->p++));
    case 'B': if (!need(v, 4)) return false; p = v->p; v->p += 4; return push(v, str_val(v, V_BYTES, tq_ld32(p)));
    case 0x8e: if (!need(v, 8)) return false; p = v->p; v->p += 8; return push(v, str_val(v, V_BYTES, tq_ld64(p)));
    case 'J': if (!need(v, 4)) return false; p = v->p; v->p += 4; return push(v, int_val(v, (int32_t)tq_ld32(p)));
    case 'K': if (!need(v, 1)) return false; return push(v, int_val(v, *v->p++));
    case 'M': if (!need(v, 2)) return false; p = v->p; v->p += 2; return push(v, int_val(v, tq_ld16(p)));
    case 0x8a: if (!need(v, 1)) return false; return push(v, long_val(v, *v->p++));
    case 0x8b: if (!need(v, 4)) return false; p = v->p; v->p += 4; return push(v, long_val(v, tq_ld32(p)));
    case 0x88: case 0x89: if (!(a = mk(v, V_BOOL))) return false; a->i = o == 0x88; return push(v, a);
    case 'N': return push(v, mk(v, V_NONE));
    case 'G': if (!need(v, 8)) return false; v->p += 8; return push(v, mk(v, V_FLOAT));   /* value unused */
    case '0': return pop(v) != NULL;
    case '1': return pop_mark(v, V_LIST) != NULL;
    case '2': return (a = top(v)) && push(v, a);
    case 'R':
        if (!(b = pop(v)) || !(a = pop(v))) return false;
        return push(v, reduce(v, a, b));
    case 'b':
        if (!(b = pop(v)) || !(a = top(v))) return false;
        if (a->k != V_DICT && a->k != V_TENSOR) return !BAD("BUILD on a value that is not a dict or tensor");
        return true;   /* OrderedDict's _metadata, a tensor's python state: ignored */
    case 'Q': return (a = pop(v)) && push(v, persid(v, a));
    case 's':
        if (!(b = pop(v)) || !(a = pop(v)) || !(c = top(v))) return false;
        if (c->k != V_DICT) return !BAD("SETITEM on a value that is not a dict");
        return add_item(v, c, a) && add_item(v, c, b);
    case 'u': case 'e': case 0x90: {   /* SETITEMS, APPENDS, ADDITEMS */
        if (!(a = pop_mark(v, V_LIST)) || !(c = top(v))) return false;
        if (o == 'u' ? c->k != V_DICT : c->k != V_LIST)
            return !BAD("%s on a value of the wrong kind", o == 'u' ? "SETITEMS" : o == 'e' ? "APPENDS" : "ADDITEMS");
        if (o == 'u' && a->n % 2) return !BAD("SETITEMS of an odd number (%lld) of items", (long long)a->n);
        for (int64_t i = 0; i < a->n; i++) if (!add_item(v, c, a->it[i])) return false;
        return true;
    }
    case 'a':
        if (!(b = pop(v)) || !(c = top(v))) return false;
        if (c->k != V_LIST) return !BAD("APPEND on a value that is not a list");
        return add_item(v, c, b);
    case 0x81: return !BAD("NEWOBJ is not allowed (no class is built from a state dict)");
    default: {
        char c1[8];
        snprintf(c1, sizeof c1, "0x%02x", o);
        return !BAD("opcode %s is not allowed (not needed by a state dict)", c1);
    }
    }
}

static tq_status collect(vm *v, val *r, tq_pkl_dict *out) {
    v->op = (size_t)(v->p - v->d);
    if (r->k != V_DICT) return BAD("the pickle's object is not a dict (a state dict)");
    out->t = calloc((size_t)(r->n / 2 + 1), sizeof *out->t);
    if (!out->t) return tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what);
    for (int64_t i = 0; i + 1 < r->n; i += 2) {
        val *k = r->it[i], *x = r->it[i + 1];
        if (k->k != V_STR || x->k != V_TENSOR) { out->skipped++; continue; }
        char nm[160];
        tq_printable(nm, sizeof nm, k->s, k->len);
        if (!k->len || memchr(k->s, 0, k->len)) return BAD("tensor name \"%s\" is empty or holds a NUL byte", nm);
        tq_pkl_tensor *t = &out->t[out->n];
        *t = v->ts[x->i];
        if (!(t->name = malloc(k->len + 1))) return tq_err(v->err, TQ_E_NOMEM, "%s: out of memory", v->what);
        memcpy(t->name, k->s, k->len);
        t->name[k->len] = 0;
        out->n++;
    }
    if (out->n == 0) return BAD("the state dict holds no tensors (%lld other values)", (long long)out->skipped);
    return TQ_OK;
}

tq_status tq_pickle_state_dict(const uint8_t *d, size_t n, const char *what, tq_pkl_dict *out, tq_error *err) {
    memset(out, 0, sizeof *out);
    vm V = {.d = d, .p = d, .end = d + n, .what = what, .err = err}, *v = &V;
    tq_error dummy;
    if (!err) v->err = &dummy;
    val *r = NULL;
    tq_status st = TQ_OK;
    while (!r) {
        if (v->p >= v->end) { v->op = n; st = BAD("the pickle ends without STOP"); break; }
        if (!step(v, &r)) { st = v->err->status ? v->err->status : TQ_E_FORMAT; break; }
    }
    if (!st && v->p != v->end) { v->op = (size_t)(v->p - v->d); st = BAD("%lld bytes follow STOP", (long long)(v->end - v->p)); }
    if (!st) st = collect(v, r, out);
    if (!st) { out->s = v->ss; out->ns = v->ns; v->ss = NULL; v->ns = 0; }
    for (int64_t i = 0; i < v->nall; i++) { free(v->all[i]->it); free(v->all[i]); }
    free(v->all);
    free(v->stack);
    free(v->memo);
    free(v->ts);
    for (int s = 0; s < v->ns; s++) free(v->ss[s].key);
    free(v->ss);
    if (st) tq_pkl_dict_free(out);
    return st;
}

void tq_pkl_dict_free(tq_pkl_dict *p) {
    if (!p) return;
    for (int64_t i = 0; i < p->n; i++) free(p->t[i].name);
    free(p->t);
    for (int s = 0; s < p->ns; s++) free(p->s[s].key);
    free(p->s);
    memset(p, 0, sizeof *p);
}
