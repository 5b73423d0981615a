/*
 * test_npz.c — the .npz reader and writer (src/io/npz.c, docs/formats/npz.md).
 *
 *   - known answers of FORMATS.md 5.3: numpy's .npy header texts and the
 *     268-byte np.savez archive (bytes as numpy 1.24.2 writes them);
 *   - writer -> reader round trips over dtypes and shapes, with metadata and
 *     the byte accounting header_bytes + sum(stored) == file size;
 *   - (the corrupt-input matrix is test_npz_corrupt.c; both use the
 *     independent little ZIP builder of npz_fixture.h);
 *   - numpy conformance through Debian's /usr/bin/python3 (skipped without
 *     numpy): numpy loads our files, we load numpy's (savez, savez_compressed,
 *     streamed with data descriptors).
 */
#include "tq_test.h"
#include "io/npz.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>
#include "npz_fixture.h"


static uint64_t sum_stored(const tq_container *c) {
    uint64_t s = 0;
    for (int64_t i = 0; i < c->n; i++) s += c->entries[i].stored;
    return s;
}

static const tq_entry *find(const tq_container *c, const char *name) {
    for (int64_t i = 0; i < c->n; i++) if (strcmp(c->entries[i].name, name) == 0) return &c->entries[i];
    return NULL;
}

/* ===== value pattern shared with tests/py/npz_numpy.py ====================== */

static int64_t base_v(int64_t i) { return (i * 37 + 11) % 251 - 125; }

static void fill(tq_dtype t, int64_t n, uint8_t *b) {
    for (int64_t i = 0; i < n; i++) {
        int64_t v = base_v(i);
        switch (t) {
        case TQ_DTYPE_I8: b[i] = (uint8_t)(int8_t)v; break;
        case TQ_DTYPE_U8: case TQ_DTYPE_F8_E4M3: b[i] = (uint8_t)(v + 125); break;
        case TQ_DTYPE_BOOL: b[i] = (uint8_t)(v % 2 != 0); break;
        case TQ_DTYPE_I16: put16(b + 2 * i, (unsigned)(uint16_t)(int16_t)(v * 100)); break;
        case TQ_DTYPE_U16: put16(b + 2 * i, (unsigned)((v + 125) * 200) & 0xFFFF); break;
        case TQ_DTYPE_I32: put32(b + 4 * i, (uint32_t)(int32_t)(v * 100000)); break;
        case TQ_DTYPE_U32: put32(b + 4 * i, (uint32_t)((v + 125) * 10000000)); break;
        case TQ_DTYPE_I64: put64(b + 8 * i, (uint64_t)(v * 1000000000000LL)); break;
        case TQ_DTYPE_U64: put64(b + 8 * i, (uint64_t)(v + 125) * 1000000000000000ULL); break;
        case TQ_DTYPE_F16: put16(b + 2 * i, tq_f32_to_f16((float)((double)v / 8))); break;
        case TQ_DTYPE_BF16: { float f = (float)((double)v / 8); uint32_t u; memcpy(&u, &f, 4); put16(b + 2 * i, u >> 16); break; }
        case TQ_DTYPE_F32: { float f = (float)((double)v / 8 + 0.25); memcpy(b + 4 * i, &f, 4); break; }
        case TQ_DTYPE_F64: { double d = (double)v / 3; memcpy(b + 8 * i, &d, 8); break; }
        case TQ_DTYPE_C64: { float re = (float)v / 4, im = (float)v / 2; memcpy(b + 8 * i, &re, 4); memcpy(b + 8 * i + 4, &im, 4); break; }
        default: break;
        }
    }
}

/* Write entries with the pattern; returns the writer's planned numbers. */
static int write_npz(const char *path, const tq_wentry *es, int64_t n, const char *const *mk, const char *const *mv, int nm,
                     uint64_t *total, uint64_t *hdr, uint64_t *offs) {
    tq_error err;
    tq_writer *w = tq_writer_create(TQ_FORMAT_NPZ, path, es, n, mk, mv, nm, &err);
    if (!w) { fprintf(stderr, "writer: %s\n", err.msg); return -1; }
    *total = w->total_size; *hdr = w->header_bytes;
    for (int64_t i = n; i-- > 0;) {   /* any order: backwards */
        int64_t numel = 1;
        for (int d = 0; d < es[i].ndim; d++) numel *= es[i].shape[d];
        uint64_t nb = w->nbytes[i];
        uint8_t *b = malloc(nb ? nb : 1);
        fill(es[i].dtype, numel, b);
        if (offs) offs[i] = w->data_off[i];
        tq_status st = tq_writer_put(w, i, b, nb, &err);
        free(b);
        if (st) { fprintf(stderr, "put: %s\n", err.msg); tq_writer_free(w); return -1; }
    }
    tq_status st = tq_writer_finish(w, &err);
    if (st) fprintf(stderr, "finish: %s\n", err.msg);
    tq_writer_free(w);
    return st ? -1 : 0;
}

static uint64_t file_size(const char *p) { struct stat s; return stat(p, &s) == 0 ? (uint64_t)s.st_size : 0; }

/* ===== cases ================================================================ */

static void case_kat268(void) {
    TQ_CASE("numpy KAT: the 268-byte np.savez archive");
    uint8_t b[300];
    size_t n = unhex(KAT268, b);
    CHECK_EQ_INT(n, 268);
    tq_container c; tq_error err;
    tq_status st = tq_npz_parse(b, n, "kat.npz", &c, &err);
    CHECK_OK(st, err);
    if (st) return;
    CHECK_EQ_INT(c.n, 1);
    const tq_entry *e = &c.entries[0];
    CHECK(strcmp(e->name, "w") == 0);
    CHECK_EQ_INT(e->dtype, TQ_DTYPE_F32);
    CHECK_EQ_INT(e->ndim, 1);
    CHECK_EQ_INT(e->shape[0], 3);
    CHECK_EQ_INT(e->offset, 55 + 128);    /* local header 30 + "w.npy" + 20 zip64 extra, .npy header 128 */
    CHECK_EQ_INT(e->nbytes, 12);
    CHECK_EQ_INT(e->stored, 12);
    CHECK(e->data == b + 183 && e->owned == NULL);
    CHECK(memcmp(e->data, F123, 12) == 0);
    CHECK_EQ_INT(c.header_bytes, 256);
    CHECK_EQ_INT(c.padding_bytes, 0);
    CHECK_EQ_INT(c.header_bytes + sum_stored(&c), 268);
    tq_container_free(&c);
}

/* The .npy headers our writer produces equal numpy's (FORMATS.md 5.3). */
static void case_npy_headers(void) {
    TQ_CASE("numpy KAT: .npy header texts");
    struct { tq_dtype t; int nd; int64_t sh[2]; const char *text; } k[] = {
        {TQ_DTYPE_F32, 1, {3, 0}, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"},
        {TQ_DTYPE_I8, 2, {2, 3}, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }"},
        {TQ_DTYPE_F64, 0, {0, 0}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"},
        {TQ_DTYPE_U8, 1, {0, 0}, "{'descr': '|u1', 'fortran_order': False, 'shape': (0,), }"},
        {TQ_DTYPE_BOOL, 1, {3, 0}, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        tq_wentry e = {"a", k[i].t, k[i].nd, {k[i].sh[0], k[i].sh[1]}};
        const char *p = tq_t_path("hdr.npz");
        uint64_t total, hdr, off;
        if (write_npz(p, &e, 1, NULL, NULL, 0, &total, &hdr, &off)) { CHECK(0); continue; }
        char *buf; size_t len; tq_error err;
        if (tq_read_file(p, &buf, &len, &err)) { CHECK(0); continue; }
        /* all HEADER_LEN 118, data at 128 of the member: text + spaces + '\n' */
        char want[119];
        size_t tl = strlen(k[i].text);
        memcpy(want, k[i].text, tl);
        memset(want + tl, ' ', 117 - tl);
        want[117] = '\n'; want[118] = 0;
        CHECK(off >= 128 && off <= len);
        const uint8_t *h = (const uint8_t *)buf + off - 128;
        CHECK(memcmp(h, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
        CHECK_MSG(memcmp(h + 10, want, 118) == 0, "case %zu: %.118s", i, (const char *)h + 10);
        CHECK_EQ_INT(off % 64, 0);
        free(buf);
    }
    /* the full 140-byte np.save image of float32 [1,2,3] is our member */
    tq_wentry e = {"w", TQ_DTYPE_F32, 1, {3}};
    tq_error err;
    tq_writer *w = tq_writer_create(TQ_FORMAT_NPZ, tq_t_path("w.npz"), &e, 1, NULL, NULL, 0, &err);
    CHECK(w != NULL);
    if (!w) return;
    CHECK_OK(tq_writer_put(w, 0, F123, 12, &err), err);
    CHECK_OK(tq_writer_finish(w, &err), err);
    uint64_t off = w->data_off[0];
    tq_writer_free(w);
    char *buf; size_t len;
    if (tq_read_file(tq_t_path("w.npz"), &buf, &len, &err)) { CHECK(0); return; }
    uint8_t kat[300];
    unhex(KAT268, kat);
    CHECK(memcmp(buf + off - 128, kat + 55, 140) == 0);   /* .npy bytes identical to numpy's */
    /* zip framing: CRC-32 of the member equals numpy's 0xd140a677 */
    CHECK_EQ_INT(get32((const uint8_t *)buf + 14), 0xd140a677u);
    free(buf);
}

static void case_roundtrip(void) {
    TQ_CASE("writer -> reader round trip, metadata, accounting");
    static const tq_dtype dts[] = {TQ_DTYPE_I8, TQ_DTYPE_U8, TQ_DTYPE_F32, TQ_DTYPE_F16, TQ_DTYPE_F64, TQ_DTYPE_I64,
                                   TQ_DTYPE_BF16, TQ_DTYPE_BOOL, TQ_DTYPE_I16, TQ_DTYPE_U16, TQ_DTYPE_I32,
                                   TQ_DTYPE_U32, TQ_DTYPE_U64, TQ_DTYPE_C64, TQ_DTYPE_F8_E4M3};
    static const struct { int nd; int64_t sh[2]; } shapes[] = {{0, {0, 0}}, {1, {3, 0}}, {2, {2, 3}}, {1, {0, 0}}};
    enum { ND = sizeof dts / sizeof dts[0], NS = 4 };
    tq_wentry es[ND * NS];
    char names[ND * NS][48];
    int64_t n = 0;
    for (int i = 0; i < ND; i++)
        for (int s = 0; s < NS; s++) {
            snprintf(names[n], sizeof names[n], "%s.s%d", tq_dtype_name(dts[i]), s);
            es[n].name = names[n]; es[n].dtype = dts[i]; es[n].ndim = shapes[s].nd;
            es[n].shape[0] = shapes[s].sh[0]; es[n].shape[1] = shapes[s].sh[1];
            n++;
        }
    const char *mk[] = {"format", "trueq.recipe"}, *mv[] = {"pt", "caf\xc3\xa9 \"q\"\n"};
    const char *p = tq_t_path("rt.npz");
    uint64_t total, hdr, offs[ND * NS];
    CHECK(write_npz(p, es, n, mk, mv, 2, &total, &hdr, offs) == 0);
    CHECK_EQ_INT(file_size(p), total);
    tq_container c; tq_error err;
    tq_status st = tq_container_open(&c, p, &err);
    CHECK_OK(st, err);
    if (st) return;
    CHECK_EQ_INT(c.n, n);
    for (int64_t i = 0; i < n && i < c.n; i++) {
        const tq_entry *e = &c.entries[i];
        CHECK_MSG(strcmp(e->name, es[i].name) == 0, "%s vs %s", e->name, es[i].name);
        CHECK_MSG(e->dtype == es[i].dtype, "%s: %s", e->name, tq_dtype_name(e->dtype));
        CHECK_EQ_INT(e->ndim, es[i].ndim);
        for (int d = 0; d < e->ndim; d++) CHECK_EQ_INT(e->shape[d], es[i].shape[d]);
        uint64_t nb = tq_nbytes(es[i].dtype, es[i].ndim, es[i].shape);
        CHECK_EQ_INT(e->nbytes, nb);
        CHECK_EQ_INT(e->stored, nb);
        CHECK_EQ_INT(e->offset, offs[i]);
        CHECK_EQ_INT(e->offset % 64, 0);
        CHECK(e->data == c.map.data + e->offset);
        int64_t numel = 1;
        for (int d = 0; d < es[i].ndim; d++) numel *= es[i].shape[d];
        uint8_t *want = malloc(nb + 1);
        fill(es[i].dtype, numel, want);
        CHECK_MSG(memcmp(e->data, want, nb) == 0, "%s: bytes differ", e->name);
        free(want);
    }
    CHECK(tq_container_meta(&c, "format") && strcmp(tq_container_meta(&c, "format"), "pt") == 0);
    CHECK(tq_container_meta(&c, "trueq.recipe") && strcmp(tq_container_meta(&c, "trueq.recipe"), mv[1]) == 0);
    CHECK(tq_container_meta(&c, "trueq.npz.dtype.BF16.s1") && strcmp(tq_container_meta(&c, "trueq.npz.dtype.BF16.s1"), "BF16") == 0);
    CHECK_EQ_INT(c.n_meta, 2 + 2 * NS);   /* the pairs + one note per BF16 / F8 array */
    CHECK_EQ_INT(c.header_bytes + sum_stored(&c), file_size(p));
    CHECK_EQ_INT(c.header_bytes, hdr);
    CHECK_EQ_INT(c.padding_bytes, 0);
    tq_container_free(&c);

    /* deterministic: the same entries give the same bytes */
    const char *p2 = tq_t_path("rt2.npz");
    CHECK(write_npz(p2, es, n, mk, mv, 2, &total, &hdr, NULL) == 0);
    char *a, *b; size_t la, lb;
    if (!tq_read_file(p, &a, &la, &err) && !tq_read_file(p2, &b, &lb, &err)) {
        CHECK(la == lb && memcmp(a, b, la) == 0);
        free(a); free(b);
    }

    /* no metadata: no __trueq__.json member; empty archive */
    tq_wentry one_e = {"x", TQ_DTYPE_F32, 1, {3}};
    CHECK(write_npz(p, &one_e, 1, NULL, NULL, 0, &total, &hdr, NULL) == 0);
    CHECK_OK(tq_container_open(&c, p, &err), err);
    CHECK_EQ_INT(c.n_meta, 0);
    CHECK_EQ_INT(c.header_bytes + 12, file_size(p));
    tq_container_free(&c);
    CHECK(write_npz(p, NULL, 0, NULL, NULL, 0, &total, &hdr, NULL) == 0);
    CHECK_EQ_INT(file_size(p), 22);
    CHECK_OK(tq_container_open(&c, p, &err), err);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(c.header_bytes, 22);
    tq_container_free(&c);
}

/* Through the public API: tq_model_open on an .npz (stored and deflated members, BF16 note). */
static void case_model_open(void) {
    TQ_CASE("tq_model_open reads .npz: values through tq_model_tensor_f32");
    tq_wentry es[3] = {{"w.bf", TQ_DTYPE_BF16, 2, {4, 8}}, {"w.f16", TQ_DTYPE_F16, 1, {5}}, {"w.i8", TQ_DTYPE_I8, 0, {0}}};
    const char *p = tq_t_path("model.npz");
    uint64_t total, hdr;
    CHECK(write_npz(p, es, 3, NULL, NULL, 0, &total, &hdr, NULL) == 0);
    tq_error err;
    tq_model *m = tq_model_open(p, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_format(m), TQ_FORMAT_NPZ);
    CHECK_EQ_INT(tq_model_sharded(m), 0);
    CHECK_EQ_INT(tq_model_count(m), 3);
    const tq_tensor *t = tq_model_find(m, "w.bf");
    CHECK(t && t->dtype == TQ_DTYPE_BF16 && t->numel == 32);
    float out[32];
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err);
        for (int i = 0; i < 32; i++) CHECK_NEAR(out[i], (double)base_v(i) / 8, 0);   /* v/8 is exact in bf16 */
    }
    t = tq_model_find(m, "w.f16");
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err);
        for (int i = 0; i < 5; i++) CHECK_NEAR(out[i], (double)base_v(i) / 8, 0);
    } else CHECK(0);
    t = tq_model_find(m, "w.i8");
    CHECK(t && t->ndim == 0 && t->numel == 1);
    if (t) { CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err); CHECK_NEAR(out[0], base_v(0), 0); }
    tq_model_close(m);

    /* a deflated member: the tensor's bytes come from the inflated copy */
    size_t ml, n;
    uint8_t *mb = npy_make(1, D_F4_3, F123, 12, &ml);
    zbm z = {"x.npy", mb, ml, 8, 0, 0, 0};
    uint8_t *b = zb_build(&z, 1, 0, &n);
    CHECK(tq_t_write(tq_t_path("deflated.npz"), b, n) == 0);
    free(mb); free(b);
    m = tq_model_open(tq_t_path("deflated.npz"), &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    t = tq_model_find(m, "x");
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err);
        CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3);
    } else CHECK(0);
    tq_model_close(m);
}

static void case_writer_errors(void) {
    TQ_CASE("writer: rejected plans");
    tq_error err;
    tq_wentry dup[2] = {{"a", TQ_DTYPE_F32, 1, {2}}, {"a", TQ_DTYPE_I8, 1, {2}}};
    CHECK(tq_writer_create(TQ_FORMAT_NPZ, NULL, dup, 2, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "duplicate entry name \"a\"");
    tq_wentry empty = {"", TQ_DTYPE_F32, 1, {2}};
    CHECK(tq_writer_create(TQ_FORMAT_NPZ, NULL, &empty, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "empty name");
    tq_wentry f4 = {"q", TQ_DTYPE_F4, 1, {4}};
    CHECK(tq_writer_create(TQ_FORMAT_NPZ, NULL, &f4, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "entry \"q\": dtype F4");
    const char *mk[] = {"trueq.npz.dtype.x"}, *mv[] = {"BF16"};
    tq_wentry ok = {"x", TQ_DTYPE_U16, 1, {2}};
    CHECK(tq_writer_create(TQ_FORMAT_NPZ, NULL, &ok, 1, mk, mv, 1, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "reserved");
}

/* A dry plan of a > 4 GiB entry: ZIP64 local + central extras and EOCD.
 * By hand: "big.npy" local header 30+7+20 (zip64) = 57 -> alignment extra of 7
 * -> member at 64; .npy header 128 -> data at 192; member ends at 192 + 2^32;
 * central entry 46+7+4+16 = 73; the directory offset 4294967488 >= 0xFFFFFFFF
 * needs the zip64 EOCD (56) + locator (20); EOCD 22. */
static void case_zip64_plan(void) {
    TQ_CASE("writer: ZIP64 layout of a 4 GiB entry (dry plan)");
    tq_error err;
    tq_wentry big = {"big", TQ_DTYPE_U8, 1, {4294967296LL}};
    tq_writer *w = tq_writer_create(TQ_FORMAT_NPZ, NULL, &big, 1, NULL, NULL, 0, &err);
    CHECK(w != NULL);
    if (!w) return;
    CHECK_EQ_INT(w->data_off[0], 192);
    CHECK_EQ_INT(w->total_size, 4294967488ULL + 73 + 56 + 20 + 22);
    CHECK_EQ_INT(w->header_bytes, w->total_size - 4294967296ULL);
    tq_writer_free(w);
    /* a small entry after it sits past 4 GiB: its central entry carries a zip64 offset */
    tq_wentry two[2] = {{"big", TQ_DTYPE_U8, 1, {4294967296LL}}, {"s", TQ_DTYPE_F32, 1, {1}}};
    w = tq_writer_create(TQ_FORMAT_NPZ, NULL, two, 2, NULL, NULL, 0, &err);
    CHECK(w != NULL);
    if (!w) return;
    /* "s.npy" at 4294967488: 30+5 = 35 -> pad 29 -> 64 bytes; data at +64+128 */
    CHECK_EQ_INT(w->data_off[1], 4294967488ULL + 64 + 128);
    /* + 4 bytes of data; central entries 73 and 46+5+4+8 = 63 */
    CHECK_EQ_INT(w->total_size, 4294967488ULL + 64 + 128 + 4 + 73 + 63 + 56 + 20 + 22);
    tq_writer_free(w);
}

/* More than 65535 members: the writer emits a ZIP64 EOCD; the reader reads it. */
static void case_zip64_many(void) {
    TQ_CASE("writer + reader: 70000 members (ZIP64 end of central directory)");
    enum { N = 70000 };
    tq_wentry *es = calloc(N, sizeof *es);
    char (*names)[16] = calloc(N, 16);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 16, "t%d", i);
        es[i].name = names[i]; es[i].dtype = TQ_DTYPE_I8; es[i].ndim = 1; es[i].shape[0] = 1;
    }
    const char *p = tq_t_path("many.npz");
    uint64_t total, hdr;
    CHECK(write_npz(p, es, N, NULL, NULL, 0, &total, &hdr, NULL) == 0);
    tq_container c; tq_error err;
    tq_status st = tq_container_open(&c, p, &err);
    CHECK_OK(st, err);
    if (!st) {
        CHECK_EQ_INT(c.n, N);
        CHECK(strcmp(c.entries[N - 1].name, "t69999") == 0);
        CHECK_EQ_INT(((const int8_t *)c.entries[12345].data)[0], base_v(0));
        CHECK_EQ_INT(c.header_bytes + N, file_size(p));
        /* the EOCD holds 0xFFFF sentinels and a locator precedes it */
        const uint8_t *e = c.map.data + c.map.size - 22;
        CHECK_EQ_INT(get32(e), 0x06054b50u);
        CHECK(e[8] == 0xFF && e[9] == 0xFF);
        CHECK_EQ_INT(get32(e - 20), 0x07064b50u);
        tq_container_free(&c);
    }
    free(es); free(names);
}

/* Reader: accepted variants crafted with the independent builder. */
static void case_reader_variants(void) {
    TQ_CASE("reader: header dict syntax, versions, descriptors, zip64 fields");
    static const char *dicts[] = {
        "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,),}\n",
        "{ 'descr' : '<f4' ,'fortran_order':False,'shape':( 3 , ) , }      \n",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }",      /* 1-d: same layout */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }",    /* Python 2 long */
        "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 1), }", /* one dim > 1 */
    };
    tq_error err;
    tq_container c;
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        size_t n;
        uint8_t *b = one(dicts[i], F123, 12, 0, &n);
        tq_status st = tq_npz_parse(b, n, "v.npz", &c, &err);
        CHECK_MSG(st == TQ_OK, "dict %zu: %s", i, err.msg);
        if (!st) {
            CHECK(c.n == 1 && c.entries[0].dtype == TQ_DTYPE_F32 && memcmp(c.entries[0].data, F123, 12) == 0);
            tq_container_free(&c);
        }
        free(b);
    }
    /* .npy versions 2.0 and 3.0 (u32 header length) */
    for (int v = 2; v <= 3; v++) {
        size_t ml, n;
        uint8_t *m = npy_make(v, D_F4_3, F123, 12, &ml);
        zbm z = {"w.npy", m, ml, 0, 0, 0, 0};
        uint8_t *b = zb_build(&z, 1, 0, &n);
        tq_status st = tq_npz_parse(b, n, "v.npz", &c, &err);
        CHECK_OK(st, err);
        if (!st) { CHECK_EQ_INT(c.entries[0].offset, 30 + 5 + 12 + strlen(D_F4_3)); tq_container_free(&c); }
        free(m); free(b);
    }
    /* deflate, descriptors with and without signature, zip64 local + central extras, zip64 EOCD */
    size_t ml;
    uint8_t *m = npy_make(1, D_F4_3, F123, 12, &ml);
    const char *ds = "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }";
    uint16_t u2[2] = {0x3f80, 0xc000};   /* bf16 1.0, -2.0 */
    size_t m2l;
    uint8_t *m2 = npy_make(1, ds, u2, 4, &m2l);
    const char *meta = "{\"trueq.npz.dtype.h\": \"BF16\", \"k\": \"v\"}";
    zbm zs[] = {
        {"a.npy", m, ml, 8, 0, 0, 0},
        {"b.npy", m, ml, 0, 1, 1, 0},
        {"c.npy", m, ml, 8, 2, 0, 0},
        {"d.npy", m, ml, 0, 0, 1, 1},
        {"__trueq__.json", (const uint8_t *)meta, strlen(meta), 8, 0, 0, 0},
        {"h.npy", m2, m2l, 0, 2, 1, 1},
    };
    size_t n;
    uint8_t *b = zb_build(zs, 6, 1, &n);
    tq_status st = tq_npz_parse(b, n, "v.npz", &c, &err);
    CHECK_OK(st, err);
    if (!st) {
        CHECK_EQ_INT(c.n, 5);
        for (int i = 0; i < 4; i++) CHECK(c.entries[i].dtype == TQ_DTYPE_F32 && memcmp(c.entries[i].data, F123, 12) == 0);
        CHECK(c.entries[0].owned != NULL && c.entries[1].owned == NULL);
        CHECK(c.entries[0].stored < ml);   /* compressed size */
        CHECK_EQ_INT(c.entries[4].dtype, TQ_DTYPE_BF16);
        CHECK(tq_container_meta(&c, "k") && strcmp(tq_container_meta(&c, "k"), "v") == 0);
        CHECK_EQ_INT(c.header_bytes + sum_stored(&c), n);
        tq_container_free(&c);
    }
    free(b); free(m); free(m2);
    /* an archive holding nothing but its EOCD (np.savez(f) with no arrays) */
    uint8_t eocd[22] = {0x50, 0x4b, 0x05, 0x06};
    CHECK_OK(tq_npz_parse(eocd, 22, "e.npz", &c, &err), err);
    CHECK(c.n == 0 && c.header_bytes == 22);
    tq_container_free(&c);
}


/* ===== numpy conformance ===================================================== */

static const char *py_script(void) {
    static char buf[1024];
    const char *src = getenv("TQ_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/py/npz_numpy.py", src ? src : ".");
    return buf;
}

static int have_numpy(void) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s probe 2>/dev/null", py_script());
    return tq_t_run(cmd, NULL) == 0;
}

static void case_numpy_loads_ours(void) {
    TQ_CASE("numpy: np.load reads trueq's .npz (dtype, shape, values, metadata)");
    if (!have_numpy()) TQ_SKIP("/usr/bin/python3 has no numpy (apt-get install python3-numpy)");
    static const tq_dtype dts[] = {TQ_DTYPE_I8, TQ_DTYPE_U8, TQ_DTYPE_F32, TQ_DTYPE_F16, TQ_DTYPE_F64, TQ_DTYPE_I64,
                                   TQ_DTYPE_BOOL, TQ_DTYPE_I16, TQ_DTYPE_U16, TQ_DTYPE_I32, TQ_DTYPE_U32,
                                   TQ_DTYPE_U64, TQ_DTYPE_C64, TQ_DTYPE_BF16, TQ_DTYPE_F8_E4M3};
    static const struct { int nd; int64_t sh[3]; } shapes[] = {{0, {0}}, {1, {3}}, {2, {2, 3}}, {1, {0}}, {3, {4, 1, 33}}};
    enum { ND = sizeof dts / sizeof dts[0], NS = sizeof shapes / sizeof shapes[0] };
    tq_wentry es[ND * NS];
    char names[ND * NS][48];
    const char *spec = tq_t_path("spec.txt");
    FILE *f = fopen(spec, "w");
    int64_t n = 0;
    for (int i = 0; i < ND; i++)
        for (int s = 0; s < NS; s++) {
            snprintf(names[n], sizeof names[n], "%s.%d/%s_%d", i == 0 ? "caf\xc3\xa9" : "layer", s, tq_dtype_name(dts[i]), s);
            tq_wentry *e = &es[n];
            e->name = names[n]; e->dtype = dts[i]; e->ndim = shapes[s].nd;
            fprintf(f, "%s %s %d", names[n], tq_dtype_name(dts[i]), e->ndim);
            for (int d = 0; d < e->ndim; d++) { e->shape[d] = shapes[s].sh[d]; fprintf(f, " %lld", (long long)e->shape[d]); }
            fputc('\n', f);
            n++;
        }
    fprintf(f, "META {\"format\": \"pt\", \"note\": \"caf\\u00e9 \\\"q\\\"\", \"trueq.npz.dtype.layer.0/BF16_0\": \"BF16\"");
    for (int s = 1; s < NS; s++) fprintf(f, ", \"trueq.npz.dtype.layer.%d/BF16_%d\": \"BF16\"", s, s);
    for (int s = 0; s < NS; s++) fprintf(f, ", \"trueq.npz.dtype.layer.%d/F8_E4M3_%d\": \"F8_E4M3\"", s, s);
    fprintf(f, "}\n");
    fclose(f);
    const char *mk[] = {"format", "note"}, *mv[] = {"pt", "caf\xc3\xa9 \"q\""};
    const char *p = tq_t_path("ours.npz");
    uint64_t total, hdr;
    CHECK(write_npz(p, es, n, mk, mv, 2, &total, &hdr, NULL) == 0);
    char cmd[2400], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check %s %s 2>&1", py_script(), p, spec);
    int rc = tq_t_run(cmd, &out);
    char want[64];
    snprintf(want, sizeof want, "OK %lld arrays", (long long)n);
    CHECK_MSG(rc == 0 && out && strstr(out, want), "rc %d: %s", rc, out ? out : "");
    free(out);
}

static void case_numpy_loads_many(void) {
    TQ_CASE("numpy: np.load reads trueq's 70000-member ZIP64 archive");
    if (!have_numpy()) TQ_SKIP("/usr/bin/python3 has no numpy");
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import numpy as np, sys; z = np.load(sys.argv[1]); "
             "print(len(z.files), int(z['t69999'][0]), int(z['t0'][0]))\" %s 2>&1", tq_t_path("many.npz"));
    int rc = tq_t_run(cmd, &out);
    char want[64];
    snprintf(want, sizeof want, "70000 %lld %lld", (long long)base_v(0), (long long)base_v(0));
    CHECK_MSG(rc == 0 && out && strstr(out, want), "rc %d: %s", rc, out ? out : "");
    free(out);
}

static const char *tq_of(const char *s) { return s; }

static void case_we_load_numpy(void) {
    TQ_CASE("numpy: trueq reads np.savez / np.savez_compressed / streamed archives");
    if (!have_numpy()) TQ_SKIP("/usr/bin/python3 has no numpy");
    const char *dir = tq_t_path("np");
    mkdir(dir, 0755);
    char cmd[2400], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s make %s 2>&1", py_script(), dir);
    int rc = tq_t_run(cmd, &out);
    CHECK_MSG(rc == 0, "make: %s", out ? out : "");
    free(out);
    if (rc) return;
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[512];
    int arrays = 0;
    while (fgets(line, sizeof line, f)) {
        char file[128], name[128], dt[16];
        int nd, used;
        if (sscanf(line, "%127s %127s %15s %d%n", file, name, dt, &nd, &used) != 4) continue;
        int64_t sh[TQ_MAX_DIMS] = {0};
        char *q = line + used;
        for (int d = 0; d < nd && d < TQ_MAX_DIMS; d++) sh[d] = strtoll(q, &q, 10);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        tq_container c; tq_error err;
        tq_status st = tq_container_open(&c, path, &err);
        CHECK_MSG(st == TQ_OK, "%s: %s", file, err.msg);
        if (st) continue;
        const tq_entry *e = find(&c, name);
        CHECK_MSG(e != NULL, "%s: no array %s", file, name);
        if (e) {
            CHECK_MSG(strcmp(tq_dtype_name(e->dtype), tq_of(dt)) == 0, "%s/%s: %s vs %s", file, name, tq_dtype_name(e->dtype), dt);
            CHECK_EQ_INT(e->ndim, nd);
            for (int d = 0; d < nd; d++) CHECK_EQ_INT(e->shape[d], sh[d]);
            char bin[1400], *want; size_t wl;
            char safe[128];
            snprintf(safe, sizeof safe, "%s", name);
            for (char *s = safe; *s; s++) if (*s == '/') *s = '_';
            snprintf(bin, sizeof bin, "%s/%s.%s.bin", dir, file, safe);
            if (tq_read_file(bin, &want, &wl, &err) == TQ_OK) {
                CHECK_MSG(e->nbytes == wl && memcmp(e->data, want, wl) == 0, "%s/%s: bytes differ", file, name);
                free(want);
            } else CHECK(0);
        }
        CHECK_EQ_INT(c.header_bytes + sum_stored(&c), c.map.size);
        tq_container_free(&c);
        arrays++;
    }
    fclose(f);
    CHECK_MSG(arrays >= 40, "only %d arrays in the manifest", arrays);
    /* the empty archive, and numpy's 268-byte KAT file byte-for-byte */
    tq_container c; tq_error err;
    snprintf(path, sizeof path, "%s/none.npz", dir);
    CHECK_OK(tq_container_open(&c, path, &err), err);
    CHECK(c.n == 0);
    tq_container_free(&c);
    snprintf(path, sizeof path, "%s/kat268.npz", dir);
    char *buf; size_t len;
    if (tq_read_file(path, &buf, &len, &err) == TQ_OK) {
        uint8_t k[300];
        size_t kn = unhex(KAT268, k);
        CHECK(len == kn && memcmp(buf, k, kn) == 0);
        free(buf);
    }
}

/* Opt-in (TQ_NPZ_BIG=1; writes 4 GiB to $TMPDIR): a real > 4 GiB member, then a
 * small one past the 4 GiB mark; read back by trueq and by Python's zipfile/numpy. */
static void case_zip64_big(void) {
    TQ_CASE("writer + reader: a 4 GiB member (ZIP64 sizes and offsets), opt-in");
    const char *env = getenv("TQ_NPZ_BIG");
    if (!env || strcmp(env, "1") != 0) TQ_SKIP("set TQ_NPZ_BIG=1 to write a 4 GiB file");
    const uint64_t N = 4294967296ULL + 3;
    tq_wentry two[2] = {{"big", TQ_DTYPE_U8, 1, {(int64_t)N}}, {"s", TQ_DTYPE_F32, 1, {3}}};
    const char *p = tq_t_path("big.npz");
    tq_error err;
    tq_writer *w = tq_writer_create(TQ_FORMAT_NPZ, p, two, 2, NULL, NULL, 0, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    uint8_t *big = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED);
    if (big == MAP_FAILED) { tq_writer_free(w); return; }
    big[0] = 7; big[N / 2] = 8; big[N - 1] = 9;
    CHECK_OK(tq_writer_put(w, 0, big, N, &err), err);
    CHECK_OK(tq_writer_put(w, 1, F123, 12, &err), err);
    CHECK_OK(tq_writer_finish(w, &err), err);
    uint64_t total = w->total_size;
    tq_writer_free(w);
    munmap(big, N);
    CHECK_EQ_INT(file_size(p), total);
    tq_container c;
    tq_status st = tq_container_open(&c, p, &err);
    CHECK_OK(st, err);
    if (!st) {
        CHECK_EQ_INT(c.n, 2);
        const uint8_t *d = c.entries[0].data;
        CHECK(c.entries[0].nbytes == N && d[0] == 7 && d[N / 2] == 8 && d[N - 1] == 9 && d[1] == 0);
        CHECK(c.entries[1].offset > 4294967296ULL && memcmp(c.entries[1].data, F123, 12) == 0);
        CHECK_EQ_INT(c.header_bytes + N + 12, file_size(p));
        tq_container_free(&c);
    }
    if (have_numpy()) {
        char cmd[1400], *out = NULL;
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import numpy as np, zipfile, sys; zf = zipfile.ZipFile(sys.argv[1]); "
                 "i = zf.getinfo('big.npy'); print(i.file_size, zf.getinfo('s.npy').header_offset > 2**32, "
                 "np.load(sys.argv[1])['s'].tolist())\" %s 2>&1", p);
        int rc = tq_t_run(cmd, &out);
        char want[96];
        snprintf(want, sizeof want, "%llu True [1.0, 2.0, 3.0]", (unsigned long long)(N + 128));
        CHECK_MSG(rc == 0 && out && strstr(out, want), "rc %d: %s", rc, out ? out : "");
        free(out);
    }
    remove(p);
}

void tq_tests(void) {
    case_kat268();
    case_npy_headers();
    case_roundtrip();
    case_model_open();
    case_writer_errors();
    case_zip64_plan();
    case_zip64_many();
    case_reader_variants();
    case_numpy_loads_ours();
    case_numpy_loads_many();
    case_we_load_numpy();
    case_zip64_big();
}
