/*
 * test_pickle.c — the safe state-dict unpickler (src/io/pickle.c) and the
 * torch.save zip reader (src/io/torch_zip.c): a known-answer stream with the
 * structure of FORMATS.md §6.4's trace (OrderedDict, _rebuild_tensor_v2,
 * storage persistent ids, BINPUT/BINGET, SETITEMS, BUILD), the protocol 4
 * forms (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL), then a corrupt-input
 * matrix, each case with its specific status and message: refused globals,
 * every prefix of the stream, bad memo indices, stack underflow, huge
 * lengths, wrong persistent ids, disallowed opcodes, storages out of range,
 * dtype / size mismatches between the pickle and the zip members, a
 * non-contiguous view. (torch.save's own files: tests/cli/pytorch_bin.sh.)
 */
#include "tq_test.h"
#include "io/pickle.h"
#include "io/torch_zip.h"
#include <stdlib.h>

typedef struct pb { uint8_t b[4096]; size_t n; } pb;
static void op(pb *p, int c) { p->b[p->n++] = (uint8_t)c; }
static void raw(pb *p, const void *s, size_t n) { memcpy(p->b + p->n, s, n); p->n += n; }
static void ustr(pb *p, const char *s) {   /* BINUNICODE */
    op(p, 'X');
    uint32_t n = (uint32_t)strlen(s);
    for (int i = 0; i < 4; i++) op(p, (int)(n >> (8 * i)) & 255);
    raw(p, s, n);
}
static void glob(pb *p, const char *m, const char *n) { op(p, 'c'); raw(p, m, strlen(m)); op(p, '\n'); raw(p, n, strlen(n)); op(p, '\n'); }
static void k1(pb *p, int v) { op(p, 'K'); op(p, v); }

/* one tensor: key, v2(storage pid, offset, size, stride, False, OrderedDict()) */
static void tensor(pb *p, const char *key, const char *stype, const char *skey, int numel, int off, int nd,
                   const int *size, const int *stride) {
    ustr(p, key);
    glob(p, "torch._utils", "_rebuild_tensor_v2");
    op(p, '(');
    op(p, '('); ustr(p, "storage"); glob(p, "torch", stype); ustr(p, skey); ustr(p, "cpu"); k1(p, numel); op(p, 't');
    op(p, 'Q');
    k1(p, off);
    op(p, '('); for (int i = 0; i < nd; i++) k1(p, size[i]); op(p, 't');
    op(p, '('); for (int i = 0; i < nd; i++) k1(p, stride[i]); op(p, 't');
    op(p, 0x89);
    op(p, 'h'); op(p, 0);   /* BINGET 0: OrderedDict */
    op(p, ')'); op(p, 'R');
    op(p, 't'); op(p, 'R');
}

/* the two-tensor state dict of FORMATS.md §6.4 */
static void kat(pb *p) {
    p->n = 0;
    op(p, 0x80); op(p, 2);
    glob(p, "collections", "OrderedDict"); op(p, 'q'); op(p, 0);
    op(p, ')'); op(p, 'R'); op(p, 'q'); op(p, 1);
    op(p, '(');
    tensor(p, "model.embed.weight", "FloatStorage", "0", 6, 0, 2, (int[]){2, 3}, (int[]){3, 1});
    tensor(p, "model.norm.weight", "HalfStorage", "1", 4, 0, 1, (int[]){4}, (int[]){1});
    op(p, 'u');
    op(p, '}'); ustr(p, "_metadata"); op(p, 'h'); op(p, 0); op(p, ')'); op(p, 'R'); op(p, 's'); op(p, 'b');
    op(p, '.');
}

static void expect(const pb *p, tq_status want, const char *msg, const char *what) {
    tq_pkl_dict d;
    tq_error e;
    uint8_t *c = malloc(p->n ? p->n : 1);   /* exact size: ASan sees any over-read */
    memcpy(c, p->b, p->n);
    tq_status st = tq_pickle_state_dict(c, p->n, "t.bin: archive/data.pkl", &d, &e);
    CHECK_MSG(st == want && strstr(e.msg, msg) && strstr(e.msg, "t.bin: archive/data.pkl: pickle offset "),
              "%s: status %d \"%s\", want %d with \"%s\"", what, (int)st, e.msg, (int)want, msg);
    if (!st) tq_pkl_dict_free(&d);
    free(c);
}

static void known_answer(void) {
    TQ_CASE("known answer: the two-tensor state dict of FORMATS.md 6.4");
    pb p;
    kat(&p);
    tq_pkl_dict d;
    tq_error e;
    CHECK_OK(tq_pickle_state_dict(p.b, p.n, "kat", &d, &e), e);
    CHECK_EQ_INT(d.n, 2);
    CHECK_EQ_INT(d.ns, 2);
    if (d.n == 2 && d.ns == 2) {
        CHECK(!strcmp(d.t[0].name, "model.embed.weight") && d.t[0].storage == 0 && d.t[0].offset == 0 && d.t[0].ndim == 2);
        CHECK(d.t[0].shape[0] == 2 && d.t[0].shape[1] == 3 && d.t[0].stride[0] == 3 && d.t[0].stride[1] == 1);
        CHECK(!strcmp(d.s[0].key, "0") && d.s[0].dtype == TQ_DTYPE_F32 && d.s[0].numel == 6);
        CHECK(!strcmp(d.t[1].name, "model.norm.weight") && d.t[1].storage == 1 && d.t[1].ndim == 1 && d.t[1].shape[0] == 4);
        CHECK(!strcmp(d.s[1].key, "1") && d.s[1].dtype == TQ_DTYPE_F16 && d.s[1].numel == 4);
    }
    tq_pkl_dict_free(&d);

    TQ_CASE("protocol 4 forms: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, LONG1, a shared storage");
    p.n = 0;
    op(&p, 0x80); op(&p, 4); op(&p, 0x95); for (int i = 0; i < 8; i++) op(&p, 0);
    op(&p, 0x8c); op(&p, 11); raw(&p, "collections", 11); op(&p, 0x8c); op(&p, 11); raw(&p, "OrderedDict", 11);
    op(&p, 0x93); op(&p, 0x94); op(&p, ')'); op(&p, 'R'); op(&p, '(');
    tensor(&p, "a", "BFloat16Storage", "7", 8, 0, 1, (int[]){8}, (int[]){1});
    tensor(&p, "b", "BFloat16Storage", "7", 8, 4, 2, (int[]){2, 2}, (int[]){2, 1});   /* same storage, offset 4 */
    ustr(&p, "n"); op(&p, 0x8a); op(&p, 3); op(&p, 0x01); op(&p, 0x00); op(&p, 0x80);   /* LONG1 -8388607: skipped */
    op(&p, 'u'); op(&p, '.');
    CHECK_OK(tq_pickle_state_dict(p.b, p.n, "p4", &d, &e), e);
    CHECK(d.n == 2 && d.ns == 1 && d.skipped == 1 && d.t[1].offset == 4 && d.t[1].storage == 0);
    tq_pkl_dict_free(&d);
}

static void refused(void) {
    TQ_CASE("globals outside the whitelist are refused by name at their opcode");
    static const char *const g[][2] = {{"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"__builtin__", "eval"},
                                       {"subprocess", "Popen"}, {"torch", "load"}, {"collections", "defaultdict"},
                                       {"torch._utils", "_rebuild_tensor"}, {"torch.storage", "_load_from_bytes"}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        pb p = {.n = 0};
        op(&p, 0x80); op(&p, 2); glob(&p, g[i][0], g[i][1]); ustr(&p, "touch /tmp/x"); op(&p, 0x85); op(&p, 'R'); op(&p, '.');
        char want[128];
        snprintf(want, sizeof want, "pickle offset 2: pickle global \"%s.%s\" is not allowed", g[i][0], g[i][1]);
        expect(&p, TQ_E_UNSUPPORTED, want, want);
        p.n = 2;   /* the same through STACK_GLOBAL */
        ustr(&p, g[i][0]); ustr(&p, g[i][1]); op(&p, 0x93); op(&p, '.');
        snprintf(want, sizeof want, "pickle global \"%s.%s\" is not allowed", g[i][0], g[i][1]);
        expect(&p, TQ_E_UNSUPPORTED, want, "stack global");
    }
}

static void corrupt(void) {
    TQ_CASE("every prefix of the stream: a named error, never a crash");
    pb full, p;
    kat(&full);
    for (size_t cut = 0; cut < full.n; cut++) {
        p = full;
        p.n = cut;
        tq_pkl_dict d;
        tq_error e;
        tq_status st = tq_pickle_state_dict(p.b, p.n, "cut", &d, &e);
        CHECK_MSG(st == TQ_E_FORMAT && strstr(e.msg, "cut: pickle offset "), "cut %zu: %d %s", cut, (int)st, e.msg);
    }
    p = full; p.n = full.n - 1;
    expect(&p, TQ_E_FORMAT, "the pickle ends without STOP", "no STOP");

    TQ_CASE("the corrupt-input matrix: each case its message");
    struct { const uint8_t *b; size_t n; tq_status st; const char *msg; } M[] = {
        {(const uint8_t *)"\x80\x02K", 3, TQ_E_FORMAT, "opcode 0x4b is cut short by the end of the pickle"},
        {(const uint8_t *)"\x80\x02h\x09.", 5, TQ_E_FORMAT, "memo index 9 was never set"},
        {(const uint8_t *)"\x80\x02Nr\xff\xff\xff\x7f.", 9, TQ_E_FORMAT, "memo index 2147483647 exceeds the limit"},
        {(const uint8_t *)"\x80\x02\x86.", 4, TQ_E_FORMAT, "stack underflow (TUPLE2)"},
        {(const uint8_t *)"\x80\x02R.", 4, TQ_E_FORMAT, "stack underflow (opcode 0x52)"},
        {(const uint8_t *)"\x80\x02(s.", 5, TQ_E_FORMAT, "stack underflow (opcode 0x73)"},
        {(const uint8_t *)"\x80\x02t.", 4, TQ_E_FORMAT, "no MARK on the stack (opcode 0x74)"},
        {(const uint8_t *)"\x80\x02X\xff\xff\xff\xff", 7, TQ_E_FORMAT, "a string of 4294967295 bytes runs past the end"},
        {(const uint8_t *)"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\xff", 11, TQ_E_FORMAT, "a string of 18446744073709551615 bytes"},
        {(const uint8_t *)"\x80\x02\x8a\x09", 4, TQ_E_FORMAT, "an integer of 9 bytes exceeds int64"},
        {(const uint8_t *)"\x80\x02\x8b\xff\xff\xff\xff", 7, TQ_E_FORMAT, "an integer of 4294967295 bytes exceeds int64"},
        {(const uint8_t *)"\x80\x06", 2, TQ_E_FORMAT, "pickle protocol 6 (2 to 5 are read)"},
        {(const uint8_t *)"\x80\x02i", 3, TQ_E_FORMAT, "opcode 0x69 is not allowed"},
        {(const uint8_t *)"\x80\x02P", 3, TQ_E_FORMAT, "opcode 0x50 is not allowed"},
        {(const uint8_t *)"\x80\x02N)\x81", 5, TQ_E_FORMAT, "NEWOBJ is not allowed"},
        {(const uint8_t *)"\x80\x02NN\x86Q.", 7, TQ_E_FORMAT, "persistent id is not ('storage', type, key, location, numel)"},
        {(const uint8_t *)"\x80\x02]\x2e", 4, TQ_E_FORMAT, "the pickle's object is not a dict"},
        {(const uint8_t *)"\x80\x02}X\x01\x00\x00\x00" "aK\x01s.", 13, TQ_E_FORMAT, "the state dict holds no tensors (1 other values)"},
        {(const uint8_t *)"\x80\x02}..", 5, TQ_E_FORMAT, "1 bytes follow STOP"},
        {(const uint8_t *)"\x80\x02N)R.", 5, TQ_E_FORMAT, "REDUCE of a value that is not a whitelisted global"},
        {(const uint8_t *)"\x80\x02]Nb.", 6, TQ_E_FORMAT, "BUILD on a value that is not a dict or tensor"},
        {(const uint8_t *)"\x80\x02}NNa.", 7, TQ_E_FORMAT, "APPEND on a value that is not a list"},
        {(const uint8_t *)"\x80\x02}(Nu.", 7, TQ_E_FORMAT, "SETITEMS of an odd number (1) of items"},
        {(const uint8_t *)"\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", 31, TQ_E_FORMAT, "OrderedDict called with 1 arguments"},
        {(const uint8_t *)"\x80\x02" "ctorch\nFloatStorage\n)R.", 24, TQ_E_FORMAT, "torch.FloatStorage may only appear in a storage persistent id"},
    };
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        p.n = M[i].n;
        memcpy(p.b, M[i].b, M[i].n);
        expect(&p, M[i].st, M[i].msg, M[i].msg);
    }

    TQ_CASE("wrong persistent ids and tensor rebuilds");
    struct { const char *stype, *skey; int nd2; tq_status st; const char *msg; } P[] = {
        {"OrderedDict", "0", 2, TQ_E_FORMAT, "the storage type is not a torch storage class"},
        {"FloatStorage", "../x", 2, TQ_E_FORMAT, "the storage key is not a plain name"},
        {"FloatStorage", "0", 1, TQ_E_FORMAT, "size and stride must be int tuples of one length"},
    };
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++) {
        p.n = 0;
        op(&p, 0x80); op(&p, 2); op(&p, '}'); op(&p, 'q'); op(&p, 0); op(&p, '(');
        if (!strcmp(P[i].stype, "OrderedDict")) {   /* ('storage', collections.OrderedDict, ...) */
            ustr(&p, "w"); glob(&p, "torch._utils", "_rebuild_tensor_v2"); op(&p, '(');
            op(&p, '('); ustr(&p, "storage"); glob(&p, "collections", "OrderedDict"); ustr(&p, "0"); ustr(&p, "cpu"); k1(&p, 4);
            op(&p, 't'); op(&p, 'Q');
        } else {
            tensor(&p, "w", P[i].stype, P[i].skey, 6, 0, 2, (int[]){2, 3}, P[i].nd2 == 2 ? (int[]){3, 1} : (int[]){3, 1});
            if (P[i].nd2 == 1) {   /* rebuild with a stride tuple one shorter */
                p.n = 0;
                op(&p, 0x80); op(&p, 2); op(&p, '}'); op(&p, 'q'); op(&p, 0); op(&p, '(');
                ustr(&p, "w"); glob(&p, "torch._utils", "_rebuild_tensor_v2"); op(&p, '(');
                op(&p, '('); ustr(&p, "storage"); glob(&p, "torch", "FloatStorage"); ustr(&p, "0"); ustr(&p, "cpu"); k1(&p, 6);
                op(&p, 't'); op(&p, 'Q'); k1(&p, 0); k1(&p, 2); k1(&p, 3); op(&p, 0x86); k1(&p, 1); op(&p, 0x85);
                op(&p, 0x89); op(&p, 'N'); op(&p, 't'); op(&p, 'R');
            }
        }
        op(&p, 'u'); op(&p, '.');
        expect(&p, P[i].st, P[i].msg, P[i].msg);
    }
    p.n = 0;   /* one storage key with two types */
    op(&p, 0x80); op(&p, 2); glob(&p, "collections", "OrderedDict"); op(&p, 'q'); op(&p, 0); op(&p, ')'); op(&p, 'R'); op(&p, '(');
    tensor(&p, "a", "FloatStorage", "0", 6, 0, 1, (int[]){6}, (int[]){1});
    tensor(&p, "b", "HalfStorage", "0", 6, 0, 1, (int[]){6}, (int[]){1});
    op(&p, 'u'); op(&p, '.');
    expect(&p, TQ_E_FORMAT, "storage \"0\" appears with two types or sizes", "two types");
}

/* ===== the zip layer ========================================================= */

static tq_status open_zip(const pb *pk, const void *storage, size_t slen, const char *sname, tq_container *c, tq_error *e) {
    static uint8_t img[8192];
    const char *names[3] = {"archive/data.pkl", "archive/byteorder", sname};
    const void *bodies[3] = {pk->b, "little", storage};
    size_t lens[3] = {pk->n, 6, slen};
    size_t n = tq_t_zip(img, names, bodies, lens, 3);
    uint8_t *exact = malloc(n);
    memcpy(exact, img, n);
    memset(c, 0, sizeof *c);
    tq_status st = tq_torch_zip_parse(exact, n, "t.bin", c, e);
    if (!st) {   /* entries point into the image: check then drop them */
        for (int64_t i = 0; i < c->n; i++) c->entries[i].data = (const uint8_t *)c->entries[i].data - exact + img;
        c->map.path = NULL;
    }
    free(exact);
    return st;
}
static void free_c(tq_container *c) { for (int64_t i = 0; i < c->n; i++) free(c->entries[i].name); free(c->entries); for (int i = 0; i < c->n_meta; i++) { free(c->meta_keys[i]); free(c->meta_vals[i]); } free(c->meta_keys); free(c->meta_vals); }

static void zip_layer(void) {
    TQ_CASE("torch zip: entries into the storages; shared storage stored once");
    float s[6] = {1, 2, 3, 4, 5, 6};
    pb p = {.n = 0};
    op(&p, 0x80); op(&p, 2); glob(&p, "collections", "OrderedDict"); op(&p, 'q'); op(&p, 0); op(&p, ')'); op(&p, 'R'); op(&p, '(');
    tensor(&p, "all", "FloatStorage", "0", 6, 0, 2, (int[]){2, 3}, (int[]){3, 1});
    tensor(&p, "tail", "FloatStorage", "0", 6, 4, 1, (int[]){2}, (int[]){1});
    op(&p, 'u'); op(&p, '.');
    tq_container c;
    tq_error e;
    CHECK_OK(open_zip(&p, s, sizeof s, "archive/data/0", &c, &e), e);
    CHECK_EQ_INT(c.n, 2);
    if (c.n == 2) {
        CHECK(c.entries[0].dtype == TQ_DTYPE_F32 && c.entries[0].nbytes == 24 && c.entries[0].stored == 24);
        CHECK(c.entries[1].nbytes == 8 && c.entries[1].stored == 0 && c.entries[1].offset == c.entries[0].offset + 16);
        CHECK(memcmp(c.entries[1].data, s + 4, 8) == 0);
        CHECK_EQ_INT(c.padding_bytes, 0);
    }
    free_c(&c);

    TQ_CASE("torch zip: storage out of range, size mismatches, missing members, non-contiguous views");
    struct { const char *name; int numel, off, nd, sz0, sz1, st0, st1; size_t slen; const char *member; tq_status st; const char *msg; } Z[] = {
        {"range", 6, 2, 2, 2, 3, 3, 1, 24, "archive/data/0", TQ_E_FORMAT, "t.bin: tensor \"range\": elements [2, +6) lie outside storage \"0\" of 6 elements"},
        {"short", 6, 0, 2, 2, 3, 3, 1, 20, "archive/data/0", TQ_E_FORMAT, "t.bin: storage \"0\": member holds 20 bytes, 6 F32 elements need 24"},
        {"missing", 6, 0, 2, 2, 3, 3, 1, 24, "archive/data/1", TQ_E_FORMAT, "t.bin: storage \"0\" named by the pickle has no member archive/data/0"},
        {"transposed", 6, 0, 2, 3, 2, 1, 3, 24, "archive/data/0", TQ_E_UNSUPPORTED, "t.bin: tensor \"transposed\" is a non-contiguous view (stride (1, 3))"},
    };
    for (size_t i = 0; i < sizeof Z / sizeof Z[0]; i++) {
        p.n = 0;
        op(&p, 0x80); op(&p, 2); glob(&p, "collections", "OrderedDict"); op(&p, 'q'); op(&p, 0); op(&p, ')'); op(&p, 'R'); op(&p, '(');
        tensor(&p, Z[i].name, "FloatStorage", "0", Z[i].numel, Z[i].off, Z[i].nd, (int[]){Z[i].sz0, Z[i].sz1}, (int[]){Z[i].st0, Z[i].st1});
        op(&p, 'u'); op(&p, '.');
        tq_status st = open_zip(&p, s, Z[i].slen, Z[i].member, &c, &e);
        CHECK_ERR(st, e, Z[i].st, Z[i].msg);
        if (!st) free_c(&c);
    }

    TQ_CASE("torch zip: a stored data.pkl whose uncompressed size claims more than its data (fuzz_format crash)");
    {
        p.n = 0;
        op(&p, 0x80); op(&p, 2); glob(&p, "collections", "OrderedDict"); op(&p, 'q'); op(&p, 0); op(&p, ')'); op(&p, 'R'); op(&p, '(');
        tensor(&p, "w", "FloatStorage", "0", 6, 0, 1, (int[]){6}, (int[]){1});
        op(&p, 'u'); op(&p, '.');
        static uint8_t img[8192];
        const char *names[3] = {"archive/data.pkl", "archive/byteorder", "archive/data/0"};
        const void *bodies[3] = {p.b, "little", s};
        size_t lens[3] = {p.n, 6, sizeof s};
        size_t n = tq_t_zip(img, names, bodies, lens, 3);
        uint32_t cd = (uint32_t)img[n - 6] | (uint32_t)img[n - 5] << 8 | (uint32_t)img[n - 4] << 16 | (uint32_t)img[n - 3] << 24;
        uint32_t big = (uint32_t)p.n + 100000u;   /* the central directory's usize of member 0 */
        for (int k = 0; k < 4; k++) img[cd + 24 + k] = (uint8_t)(big >> (8 * k));
        uint8_t *exact = malloc(n);
        memcpy(exact, img, n);
        memset(&c, 0, sizeof c);
        tq_status st = tq_torch_zip_parse(exact, n, "t.bin", &c, &e);
        CHECK_ERR(st, e, TQ_E_FORMAT, "t.bin: member \"archive/data.pkl\" is stored but its sizes differ");
        if (!st) free_c(&c);
        free(exact);
    }
}

void tq_tests(void) {
    known_answer();
    refused();
    corrupt();
    zip_layer();
}
