/*
 * test_npz_corrupt.c — the .npz reader's corrupt-input matrix (src/io/npz.c,
 * docs/formats/npz.md): archives crafted with the independent ZIP builder of
 * npz_fixture.h, each case expecting a specific status and a message that
 * names the file and what was wrong.
 */
#include "tq_test.h"
#include "io/npz.h"
#include "npz_fixture.h"
#include <stdlib.h>
#include <string.h>

typedef struct bad_case {
    const char *what;
    uint8_t    *b;
    size_t      n;
    tq_status   want;
    const char *msg;
} bad_case;

static void expect_bad(const bad_case *k) {
    tq_container c; tq_error err;
    tq_status st = tq_npz_parse(k->b, k->n, "bad.npz", &c, &err);
    CHECK_MSG(st == k->want && strstr(err.msg, k->msg) && strstr(err.msg, "bad.npz"),
              "%s: got %d \"%s\", want %d with \"%s\"", k->what, (int)st, err.msg, (int)k->want, k->msg);
    if (!st) tq_container_free(&c);
}

static uint8_t *kat(size_t *n) { uint8_t *b = malloc(300); *n = unhex(KAT268, b); return b; }

static void case_corrupt(void) {
    TQ_CASE("reader: corrupt-input matrix");
    bad_case k[128];
    int nk = 0;
    size_t n;
    uint8_t *b;
#define ADD(W, B, N, ST, M) do { k[nk].what = W; k[nk].b = B; k[nk].n = N; k[nk].want = ST; k[nk].msg = M; nk++; } while (0)
    /* KAT offsets: local header 0, data 55 (.npy) / 183 (array), central 195, EOCD 246 */
    b = kat(&n); ADD("tiny file", b, 10, TQ_E_FORMAT, "shorter than the 22-byte ZIP end-of-central-directory");
    b = kat(&n); ADD("truncated", b, 200, TQ_E_FORMAT, "no ZIP end-of-central-directory record");
    b = kat(&n); b[246 + 20] = 5; ADD("EOCD comment past end", b, n, TQ_E_FORMAT, "has a 5-byte comment but 0 bytes follow");
    b = kat(&n); b[195] = 'X'; ADD("bad central signature", b, n, TQ_E_FORMAT, "bad central-directory signature 0x02014b58 at 195");
    b = kat(&n); put32(b + 246 + 16, 1000); ADD("directory offset past end", b, n, TQ_E_FORMAT, "central directory [1000, +51) runs past");
    b = kat(&n); put16(b + 246 + 8, 2); put16(b + 246 + 10, 2); ADD("entry count", b, n, TQ_E_FORMAT, "claims 2 entries but the 51-byte central directory holds at most 1");
    b = kat(&n); put16(b + 246 + 4, 1); ADD("multi-disk", b, n, TQ_E_UNSUPPORTED, "multi-disk");
    b = kat(&n); put32(b + 195 + 42, 5000); ADD("local offset past end", b, n, TQ_E_FORMAT, "member \"w.npy\": local header offset 5000 is past the end");
    b = kat(&n); put32(b + 195 + 20, 100000); put32(b + 195 + 24, 100000); ADD("size past end", b, n, TQ_E_FORMAT, "100000 bytes of data at 55 run past the end of the 268-byte file");
    b = kat(&n); put16(b + 8, 12); put16(b + 195 + 10, 12); ADD("method 12", b, n, TQ_E_UNSUPPORTED, "compression method 12");
    b = kat(&n); put16(b + 195 + 10, 8); ADD("method differs", b, n, TQ_E_FORMAT, "local header says method 0, central directory 8");
    b = kat(&n); b[190] ^= 1; ADD("CRC mismatch", b, n, TQ_E_FORMAT, "\"w.npy\": CRC-32 mismatch: central directory says 0xd140a677");
    b = kat(&n); put16(b + 195 + 8, 1); ADD("encrypted", b, n, TQ_E_UNSUPPORTED, "encrypted");
    b = kat(&n); b[30] = 'v'; ADD("local name differs", b, n, TQ_E_FORMAT, "local header names it \"v.npy\"");
    b = kat(&n); put32(b + 195 + 24, 139); ADD("stored sizes differ", b, n, TQ_E_FORMAT, "stored but its sizes differ (140 compressed, 139 uncompressed)");
    b = kat(&n); put32(b + 195 + 20, 0xFFFFFFFFu); ADD("sentinel without zip64 extra", b, n, TQ_E_FORMAT, "zip64 inconsistency: central directory uses 0xFFFFFFFF");
    b = kat(&n); put16(b + 30 + 5 + 2, 40); ADD("extra record past extra", b, n, TQ_E_FORMAT, "local extra record 0x0001 of 40 bytes runs past");
    b = kat(&n); put32(b + 195 + 42, 1); ADD("local offset into data", b, n, TQ_E_FORMAT, "bad local header signature");
    {   /* a stray byte before the central directory */
        b = malloc(300); uint8_t *s = kat(&n);
        memcpy(b, s, 195); b[195] = 0; memcpy(b + 196, s + 195, 73);
        put32(b + 196 + 51 + 16, 196); free(s);
        ADD("gap", b, 269, TQ_E_FORMAT, "1 bytes at [195, 196) belong to no member");
    }
    /* crafted .npy members */
    static const struct { const char *d; tq_status st; const char *m; } npy[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", TQ_E_FORMAT, "unexpected key 'x'"},
        {"{'descr': '<f4', 'fortran_order': False}", TQ_E_FORMAT, "lacks key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3) }", TQ_E_FORMAT, "without a trailing comma"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [3] }", TQ_E_FORMAT, "shape is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,) }", TQ_E_FORMAT, "neither True nor False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,) }", TQ_E_FORMAT, "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (03,) }", TQ_E_FORMAT, "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,) } x", TQ_E_FORMAT, "bytes after the closing '}'"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,) }", TQ_E_FORMAT, "unparseable .npy header dict"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,) }", TQ_E_FORMAT, "'descr' appears twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) }", TQ_E_FORMAT, "needs 8 bytes of data but the member holds 12"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,) }", TQ_E_FORMAT, "needs 16 bytes of data but the member holds 12"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,) }", TQ_E_UNSUPPORTED, "descr '>f4' is big-endian"},
        {"{'descr': '=f4', 'fortran_order': False, 'shape': (3,) }", TQ_E_UNSUPPORTED, "no explicit little-endian"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3,) }", TQ_E_UNSUPPORTED, "member \"w.npy\": descr '|O' is not a dtype"},
        {"{'descr': '<U3', 'fortran_order': False, 'shape': (1,) }", TQ_E_UNSUPPORTED, "descr '<U3' is not a dtype"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,) }", TQ_E_UNSUPPORTED, "structured dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1, 1, 1, 1, 1, 1, 1, 1) }", TQ_E_LIMIT, "more than 8 dimensions"},
        {"{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3) }", TQ_E_UNSUPPORTED, "fortran_order True"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,) }", TQ_E_FORMAT, "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4) }", TQ_E_FORMAT, "overflows"},
    };
    for (size_t i = 0; i < sizeof npy / sizeof npy[0]; i++) {
        b = one(npy[i].d, F123, 12, i % 2 ? 8 : 0, &n);
        ADD(npy[i].d, b, n, npy[i].st, npy[i].m);
    }
    {
        size_t ml; uint8_t *m = npy_make(1, D_F4_3, F123, 12, &ml);
        m[1] = 'X';
        zbm z = {"w.npy", m, ml, 0, 0, 0, 0};
        b = zb_build(&z, 1, 0, &n); ADD("bad npy magic", b, n, TQ_E_FORMAT, "bad .npy magic \"\\x93XUMPY\"");
        m[1] = 'N'; m[6] = 4;
        b = zb_build(&z, 1, 0, &n); ADD("npy version", b, n, TQ_E_UNSUPPORTED, ".npy version 4.0");
        m[6] = 1; put16(m + 8, 500);
        b = zb_build(&z, 1, 0, &n); ADD("npy header past member", b, n, TQ_E_FORMAT, ".npy header length 500 runs past the member's 79 bytes");
        put16(m + 8, (unsigned)strlen(D_F4_3));
        zbm two[2] = {{"w.npy", m, ml, 0, 0, 0, 0}, {"w.npy", m, ml, 8, 0, 0, 0}};
        b = zb_build(two, 2, 0, &n); ADD("duplicate member", b, n, TQ_E_FORMAT, "duplicate member \"w.npy\"");
        zbm txt[2] = {{"w.npy", m, ml, 0, 0, 0, 0}, {"readme.txt", (const uint8_t *)"hi", 2, 0, 0, 0, 0}};
        b = zb_build(txt, 2, 0, &n); ADD("non-npy member", b, n, TQ_E_UNSUPPORTED, "member \"readme.txt\" is not a .npy array");
        zbm js[2] = {{"w.npy", m, ml, 0, 0, 0, 0}, {"__trueq__.json", (const uint8_t *)"{\"a\": 1}", 8, 0, 0, 0, 0}};
        b = zb_build(js, 2, 0, &n); ADD("meta non-string", b, n, TQ_E_FORMAT, "value for \"a\" is not a string");
        js[1].data = (const uint8_t *)"{\"a\": \"1\", \"b\": \"\", \"a\": \"2\"}"; js[1].len = strlen((const char *)js[1].data);
        b = zb_build(js, 2, 0, &n); ADD("meta duplicate key", b, n, TQ_E_FORMAT, "\"__trueq__.json\": duplicate key \"a\"");
        js[1].data = (const uint8_t *)"[1, 2]"; js[1].len = 6;
        b = zb_build(js, 2, 0, &n); ADD("meta not object", b, n, TQ_E_FORMAT, "\"__trueq__.json\" is not a JSON object");
        js[1].data = (const uint8_t *)"{\"trueq.npz.dtype.q\": \"BF16\"}"; js[1].len = strlen((const char *)js[1].data);
        b = zb_build(js, 2, 0, &n); ADD("note without array", b, n, TQ_E_FORMAT, "note \"trueq.npz.dtype.q\" names no array");
        js[1].data = (const uint8_t *)"{\"trueq.npz.dtype.w\": \"BF16\"}"; js[1].len = strlen((const char *)js[1].data);
        b = zb_build(js, 2, 0, &n); ADD("note on wrong dtype", b, n, TQ_E_FORMAT, "array \"w\" is F32 but metadata note");
        zbm dd = {"w.npy", m, ml, 0, 1, 0, 0};
        b = zb_build(&dd, 1, 0, &n); b[30 + 5 + ml + 4] ^= 0xFF;
        ADD("descriptor mismatch", b, n, TQ_E_FORMAT, "data descriptor says CRC");
        zbm z64 = {"w.npy", m, ml, 0, 0, 0, 0};
        b = zb_build(&z64, 1, 1, &n); put32(b + n - 22 + 16, 5);
        ADD("zip64 vs EOCD offset", b, n, TQ_E_FORMAT, "zip64 inconsistency: EOCD says 65535 entries / directory 4294967295 bytes at 5");
        b = zb_build(&z64, 1, 1, &n); put64(b + n - 22 - 20 - 56 + 24, 2); put64(b + n - 22 - 20 - 56 + 32, 2);
        ADD("zip64 count", b, n, TQ_E_FORMAT, "claims 2 entries but the 51-byte central directory holds at most 1");
        b = zb_build(&z64, 1, 1, &n); put64(b + n - 22 - 20 + 8, 3);
        ADD("zip64 locator", b, n, TQ_E_FORMAT, "zip64 inconsistency: bad zip64 EOCD record signature");
        b = zb_build(&z64, 1, 1, &n); put64(b + n - 22 - 20 - 56 + 4, 60);
        ADD("zip64 record size", b, n, TQ_E_FORMAT, "zip64 inconsistency: zip64 EOCD record at");
        zbm zc = {"w.npy", m, ml, 0, 0, 0, 1};
        b = zb_build(&zc, 1, 0, &n); put16(b + n - 22 - 79 + 30, 20); put16(b + n - 22 - 79 + 46 + 5 + 2, 16);
        ADD("zip64 extra too short", b, n, TQ_E_FORMAT, "zip64 extra field is 16 bytes, its sentinels need 24");
        /* deflate damage */
        zbm zd = {"w.npy", m, ml, 8, 0, 0, 0};
        b = zb_build(&zd, 1, 0, &n); b[30 + 5] = 0xFF;   /* invalid block type 3 */
        ADD("corrupt deflate", b, n, TQ_E_FORMAT, "corrupt deflate stream (zlib:");
        b = zb_build(&zd, 1, 0, &n); put32(b + n - 22 - 51 + 24, 70);
        ADD("inflates longer", b, n, TQ_E_FORMAT, "inflates to more than the 70 bytes");
        b = zb_build(&zd, 1, 0, &n); put32(b + n - 22 - 51 + 24, 90);
        ADD("inflates shorter", b, n, TQ_E_FORMAT, "deflate stream gives 79 bytes, the central directory states 90");
        b = zb_build(&zd, 1, 0, &n); put32(b + n - 22 - 51 + 24, 0x7FFFFFFF);
        ADD("ratio bomb", b, n, TQ_E_FORMAT, "beyond deflate's 1032:1");
        /* overlapping members: the first member's central size reaches into the second */
        zbm ov[2] = {{"a.npy", m, ml, 0, 0, 0, 0}, {"b.npy", m, ml, 0, 0, 0, 0}};
        b = zb_build(ov, 2, 0, &n); put32(b + 2 * (30 + 5 + ml) + 20, (uint32_t)ml + 8); put32(b + 2 * (30 + 5 + ml) + 24, (uint32_t)ml + 8);
        ADD("overlap", b, n, TQ_E_FORMAT, "member \"b.npy\" at 114 overlaps member \"a.npy\", which ends at 122");
        free(m);
    }
#undef ADD
    for (int i = 0; i < nk; i++) { expect_bad(&k[i]); free(k[i].b); }
    /* every byte-prefix of the KAT archive fails cleanly (never reads past the image) */
    b = kat(&n);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, b, cut);
        tq_container c; tq_error err;
        tq_status st = tq_npz_parse(cut ? p : NULL, cut, "cut.npz", &c, &err);
        CHECK_MSG(st == TQ_E_FORMAT, "prefix %zu: status %d", cut, (int)st);
        if (!st) tq_container_free(&c);
        free(p);
    }
    free(b);
}

void tq_tests(void) {
    case_corrupt();
}
