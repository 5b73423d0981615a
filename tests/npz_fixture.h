/*
 * npz_fixture.h — test helpers shared by test_npz.c and test_npz_corrupt.c:
 * little-endian stores, hex known answers, .npy members and an independent
 * little ZIP builder for crafted archives (stored or deflated members, data
 * descriptors, zip64 extras). Functions are static inline: each test
 * program compiles its own copy and uses what it needs.
 */
#ifndef TQ_TESTS_NPZ_FIXTURE_H
#define TQ_TESTS_NPZ_FIXTURE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
/* ===== helpers ============================================================= */

static inline void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static inline int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }
static inline size_t unhex(const char *h, uint8_t *out) {
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) out[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
    return n;
}

/* np.savez(f, w=np.array([1, 2, 3], np.float32)) with numpy 1.24.2 / CPython 3.11.2:
 * the 268-byte archive whose anatomy FORMATS.md 5.3 gives. */
static const char KAT268[] =
    "504b03041400000000000000210077a640d18c0000008c00000005001400772e6e7079010010008c000000000000008c00000000000000"
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c2027736861"
    "7065273a2028332c292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "20202020202020202020202020202020200a0000803f0000004000004040504b010214031400000000000000210077a640d18c0000008c"
    "000000050000000000000000000000800100000000772e6e7079504b0506000000000100010033000000c30000000000";

/* A .npy member from a raw header text (not padded) and data. */
static inline uint8_t *npy_make(int major, const char *dict, const void *data, size_t n, size_t *len) {
    size_t hl = strlen(dict), pre = major == 1 ? 10 : 12;
    uint8_t *b = malloc(pre + hl + n + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major; b[7] = 0;
    if (major == 1) put16(b + 8, (unsigned)hl); else put32(b + 8, (uint32_t)hl);
    memcpy(b + pre, dict, hl);
    if (n) memcpy(b + pre + hl, data, n);
    *len = pre + hl + n;
    return b;
}

/* ---- an independent ZIP builder for crafted archives ---------------------- */
typedef struct zbm {
    const char    *name;
    const uint8_t *data;      /* uncompressed member bytes */
    size_t         len;
    int            method;    /* 0 or 8 */
    int            dd;        /* 0: none, 1: descriptor with signature, 2: without */
    int            z64_local; /* zip64 extra in the local header (numpy's force_zip64) */
    int            z64_cd;    /* sizes + offset via zip64 extra in the central directory */
} zbm;

typedef struct zbuf { uint8_t *b; size_t n, cap; } zbuf;
static inline void zb_put(zbuf *z, const void *p, size_t n) {
    if (z->n + n > z->cap) { z->cap = (z->n + n) * 2 + 256; z->b = realloc(z->b, z->cap); }
    memcpy(z->b + z->n, p, n); z->n += n;
}

static inline size_t deflate_raw(const uint8_t *in, size_t n, uint8_t **out) {
    z_stream s; memset(&s, 0, sizeof s);
    deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&s, (uLong)n) + 16;
    *out = malloc(cap);
    s.next_in = (Bytef *)(uintptr_t)in; s.avail_in = (uInt)n;
    s.next_out = *out; s.avail_out = (uInt)cap;
    deflate(&s, Z_FINISH);
    size_t r = s.total_out;
    deflateEnd(&s);
    return r;
}

/* Build an archive; z64_eocd adds a ZIP64 EOCD record + locator. Caller frees. */
static inline uint8_t *zb_build(const zbm *ms, int n, int z64_eocd, size_t *len) {
    zbuf z = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        const zbm *m = &ms[i];
        uint8_t *comp = NULL;
        size_t clen = m->len;
        const uint8_t *payload = m->data;
        if (m->method == 8) { clen = deflate_raw(m->data, m->len, &comp); payload = comp; }
        uint32_t crc = (uint32_t)crc32(0, m->data, (uInt)m->len);
        size_t off = z.n, nl = strlen(m->name);
        uint8_t h[30];
        put32(h, 0x04034b50); put16(h + 4, 20); put16(h + 6, m->dd ? 8 : 0); put16(h + 8, (unsigned)m->method);
        put16(h + 10, 0); put16(h + 12, 0x21);
        put32(h + 14, m->dd ? 0 : crc);
        put32(h + 18, m->dd ? 0 : (m->z64_local ? 0xFFFFFFFFu : (uint32_t)clen));
        put32(h + 22, m->dd ? 0 : (m->z64_local ? 0xFFFFFFFFu : (uint32_t)m->len));
        put16(h + 26, (unsigned)nl); put16(h + 28, m->z64_local ? 20 : 0);
        zb_put(&z, h, 30); zb_put(&z, m->name, nl);
        if (m->z64_local) {
            uint8_t x[20]; put16(x, 1); put16(x + 2, 16); put64(x + 4, m->len); put64(x + 12, clen);
            zb_put(&z, x, 20);
        }
        zb_put(&z, payload, clen);
        if (m->dd) {
            uint8_t d[24]; size_t k = 0;
            if (m->dd == 1) { put32(d, 0x08074b50); k = 4; }
            put32(d + k, crc); k += 4;
            if (m->z64_local) { put64(d + k, clen); put64(d + k + 8, m->len); k += 16; }
            else { put32(d + k, (uint32_t)clen); put32(d + k + 4, (uint32_t)m->len); k += 8; }
            zb_put(&z, d, k);
        }
        uint8_t c[46];
        memset(c, 0, sizeof c);
        put32(c, 0x02014b50); put16(c + 4, 0x0314); put16(c + 6, 20); put16(c + 8, m->dd ? 8 : 0);
        put16(c + 10, (unsigned)m->method); put16(c + 14, 0x21); put32(c + 16, crc);
        put32(c + 20, m->z64_cd ? 0xFFFFFFFFu : (uint32_t)clen);
        put32(c + 24, m->z64_cd ? 0xFFFFFFFFu : (uint32_t)m->len);
        put16(c + 28, (unsigned)nl); put16(c + 30, m->z64_cd ? 28 : 0);
        put32(c + 42, m->z64_cd ? 0xFFFFFFFFu : (uint32_t)off);
        zb_put(&cd, c, 46); zb_put(&cd, m->name, nl);
        if (m->z64_cd) {
            uint8_t x[28]; put16(x, 1); put16(x + 2, 24); put64(x + 4, m->len); put64(x + 12, clen); put64(x + 20, off);
            zb_put(&cd, x, 28);
        }
        free(comp);
    }
    size_t cd_off = z.n;
    zb_put(&z, cd.b, cd.n);
    if (z64_eocd) {
        uint8_t r[56], l[20];
        memset(r, 0, sizeof r);
        put32(r, 0x06064b50); put64(r + 4, 44); put16(r + 12, 0x032d); put16(r + 14, 45);
        put64(r + 24, (uint64_t)n); put64(r + 32, (uint64_t)n); put64(r + 40, cd.n); put64(r + 48, cd_off);
        size_t zoff = z.n;
        zb_put(&z, r, 56);
        put32(l, 0x07064b50); put32(l + 4, 0); put64(l + 8, zoff); put32(l + 16, 1);
        zb_put(&z, l, 20);
    }
    uint8_t e[22];
    memset(e, 0, sizeof e);
    put32(e, 0x06054b50);
    put16(e + 8, z64_eocd ? 0xFFFF : (unsigned)n); put16(e + 10, z64_eocd ? 0xFFFF : (unsigned)n);
    put32(e + 12, z64_eocd ? 0xFFFFFFFFu : (uint32_t)cd.n); put32(e + 16, z64_eocd ? 0xFFFFFFFFu : (uint32_t)cd_off);
    zb_put(&z, e, 22);
    free(cd.b);
    *len = z.n;
    return z.b;
}

static const float F123[3] = {1, 2, 3};
static const char D_F4_3[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";

/* An archive with one member "w.npy" holding header `dict` + data. */
static inline uint8_t *one(const char *dict, const void *data, size_t n, int method, size_t *len) {
    size_t ml;
    uint8_t *m = npy_make(1, dict, data, n, &ml);
    zbm z = {"w.npy", m, ml, method, 0, 0, 0};
    uint8_t *b = zb_build(&z, 1, 0, len);
    free(m);
    return b;
}

#endif
