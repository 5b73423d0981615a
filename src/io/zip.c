/*
 * zip.c — the ZIP layer under the .npz reader (and the format sniffers):
 * strict structural checks of a whole archive image, raw-deflate inflation
 * with exact sizes, and a lenient walk of the central directory's names.
 *
 * Archive layout (APPNOTE; docs/formats/npz.md):
 *   [local header 0][member 0 bytes][data descriptor 0]?   one record per member,
 *   [local header 1][member 1 bytes][data descriptor 1]?   contiguous from offset 0
 *   ...
 *   [central directory: one 46-byte header + name + extra + comment per member]
 *   [ZIP64 end-of-central-directory record + ZIP64 locator]  (only when needed)
 *   [end-of-central-directory record (22 bytes) + archive comment]
 *
 * tq_zip_read: the central directory is authoritative for sizes and offsets;
 * each local header is skipped by its own name/extra lengths; data
 * descriptors are honoured and checked against the directory; methods 0
 * (stored) and 8 (deflate) are accepted; the records must tile [0, central
 * directory) exactly: no gaps, overlaps, prepended or trailing bytes.
 */
#include "io/zip.h"
#include "io/printable.h"
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long ull;

/* CRC-32 of any length (zlib takes uInt lengths). */
uint32_t tq_zip_crc32(uint32_t crc, const uint8_t *p, uint64_t n) {
    uLong c = crc;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k; n -= k;
    }
    return (uint32_t)c;
}

/* Find extra-field record `id` in ex[0, n); validate the record framing. */
static tq_status extra_find(const uint8_t *ex, uint64_t n, uint16_t id, const uint8_t **rec, uint16_t *rlen,
                            const char *path, const char *nm, const char *where, tq_error *err) {
    *rec = NULL; *rlen = 0;
    uint64_t q = 0;
    while (q < n) {
        if (n - q < 4)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %s extra field ends inside a record header (byte %llu of %llu)",
                          path, nm, where, (ull)q, (ull)n);
        uint16_t rid = tq_ld16(ex + q), len = tq_ld16(ex + q + 2);
        if (len > n - q - 4)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %s extra record 0x%04x of %u bytes runs past the %llu-byte extra field",
                          path, nm, where, rid, len, (ull)n);
        if (rid == id && !*rec) { *rec = ex + q + 4; *rlen = len; }
        q += 4 + (uint64_t)len;
    }
    return TQ_OK;
}

static int cmp_lho(const void *a, const void *b) {
    const tq_zip_member *x = *(tq_zip_member *const *)a, *y = *(tq_zip_member *const *)b;
    return x->lho < y->lho ? -1 : x->lho > y->lho;
}

/* Inflate a raw deflate stream src[0, cn) into exactly un bytes at dst. */
tq_status tq_zip_inflate(const uint8_t *src, uint64_t cn, uint8_t *dst, uint64_t un,
                         const char *path, const char *nm, tq_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return tq_err(err, TQ_E_NOMEM, "%s: member \"%s\": zlib inflateInit2 failed", path, nm);
    uint64_t in_left = cn, out_left = un;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.next_out = dst;
    int rc = Z_OK;
    uint8_t spill[1];
    for (;;) {
        if (z.avail_in == 0 && in_left) { z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left; in_left -= z.avail_in; }
        if (z.avail_out == 0) {
            if (out_left) { z.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left; out_left -= z.avail_out; }
            else { z.next_out = spill; z.avail_out = 1; }   /* detects output beyond un */
        }
        uInt before_out = z.avail_out;
        Bytef *outp = z.next_out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (outp == spill && z.avail_out != before_out) {
            inflateEnd(&z);
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream inflates to more than the %llu bytes the central directory states",
                          path, nm, (ull)un);
        }
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) {
            inflateEnd(&z);
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream ends early (%llu compressed bytes give %llu of %llu bytes)",
                          path, nm, (ull)cn, (ull)z.total_out, (ull)un);
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const char *zm = z.msg ? z.msg : "error";
            tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": corrupt deflate stream (zlib: %s) after %llu bytes of output",
                   path, nm, zm, (ull)z.total_out);
            inflateEnd(&z);
            return TQ_E_FORMAT;
        }
    }
    /* the spill byte is handed out only once dst is full, and was not written */
    uint64_t used = cn - in_left - z.avail_in, made = z.next_out == spill ? un : un - out_left - z.avail_out;
    inflateEnd(&z);
    if (made != un)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream gives %llu bytes, the central directory states %llu",
                      path, nm, (ull)made, (ull)un);
    if (used != cn)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": deflate stream ends after %llu of its %llu compressed bytes",
                      path, nm, (ull)used, (ull)cn);
    return TQ_OK;
}

/* Locate EOCD (+ ZIP64 records). Out: cd_off, cd_size, count, tail_start
 * (where the central directory must end). */
static tq_status zip_eocd(const uint8_t *d, uint64_t size, const tq_map *mp, const char *path, uint64_t *cd_off,
                          uint64_t *cd_size, uint64_t *count, uint64_t *cd_end, tq_error *err) {
    if (size < ZIP_EOCD_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: file is %llu bytes, shorter than the 22-byte ZIP end-of-central-directory record (truncated?)",
                      path, (ull)size);
    uint64_t lo = size - ZIP_EOCD_LEN > 65535 ? size - ZIP_EOCD_LEN - 65535 : 0;
    uint64_t tail = lo > ZIP64_LOC_LEN ? lo - ZIP64_LOC_LEN : 0;   /* the EOCD search and the zip64 locator */
    tq_status pst = tq_map_pin(mp, tail, size - tail, err);
    if (pst) return pst;
    uint64_t e = UINT64_MAX, stray = UINT64_MAX;
    for (uint64_t p = size - ZIP_EOCD_LEN + 1; p-- > lo;) {
        if (tq_ld32(d + p) != ZIP_EOCD_SIG) continue;
        if (ZIP_EOCD_LEN + (uint64_t)tq_ld16(d + p + 20) == size - p) { e = p; break; }
        if (stray == UINT64_MAX) stray = p;
    }
    if (e == UINT64_MAX) {
        if (stray != UINT64_MAX)
            return tq_err(err, TQ_E_FORMAT, "%s: end-of-central-directory record at %llu has a %u-byte comment but %llu bytes follow it (truncated or trailing bytes)",
                          path, (ull)stray, tq_ld16(d + stray + 20), (ull)(size - stray - ZIP_EOCD_LEN));
        return tq_err(err, TQ_E_FORMAT, "%s: no ZIP end-of-central-directory record in the last %llu bytes (not a zip archive, or truncated)",
                      path, (ull)(size - lo));
    }
    const uint8_t *r = d + e;
    uint32_t disk = tq_ld16(r + 4), cdisk = tq_ld16(r + 6);
    uint64_t n_disk = tq_ld16(r + 8), n_tot = tq_ld16(r + 10), csz = tq_ld32(r + 12), coff = tq_ld32(r + 16);
    int z64 = e >= ZIP64_LOC_LEN && tq_ld32(d + e - ZIP64_LOC_LEN) == ZIP64_LOC_SIG;
    *cd_end = e;
    if (z64) {
        const uint8_t *l = d + e - ZIP64_LOC_LEN;
        uint32_t zdisk = tq_ld32(l + 4), ndisks = tq_ld32(l + 16);
        uint64_t zoff = tq_ld64(l + 8), loc = e - ZIP64_LOC_LEN;
        if (zdisk != 0 || ndisks > 1)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 locator names disk %u of %u: multi-disk archives are not read", path, zdisk, ndisks);
        if (zoff > loc || loc - zoff < ZIP64_EOCD_LEN)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: locator points to a zip64 EOCD record at %llu, which leaves no room for its %u bytes before the locator at %llu",
                          path, (ull)zoff, ZIP64_EOCD_LEN, (ull)loc);
        if ((pst = tq_map_pin(mp, zoff, ZIP64_EOCD_LEN, err))) return pst;
        const uint8_t *z = d + zoff;
        if (tq_ld32(z) != ZIP64_EOCD_SIG)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: bad zip64 EOCD record signature 0x%08x at %llu (want 0x%08x)",
                          path, tq_ld32(z), (ull)zoff, ZIP64_EOCD_SIG);
        uint64_t rs = tq_ld64(z + 4);
        if (rs < ZIP64_EOCD_LEN - 12 || rs != loc - zoff - 12)
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: zip64 EOCD record at %llu claims %llu bytes, but %llu lie between it and the locator",
                          path, (ull)zoff, (ull)rs, (ull)(loc - zoff - 12));
        uint32_t zd = tq_ld32(z + 16), zcd = tq_ld32(z + 20);
        uint64_t zn_disk = tq_ld64(z + 24), zn = tq_ld64(z + 32), zsz = tq_ld64(z + 40), zo = tq_ld64(z + 48);
        if (zd != 0 || zcd != 0)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 EOCD names disk %u / central-directory disk %u: multi-disk archives are not read", path, zd, zcd);
        if (zn_disk != zn)
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: zip64 EOCD says %llu entries on this disk but %llu in all: multi-disk archives are not read",
                          path, (ull)zn_disk, (ull)zn);
        if ((n_tot != 0xFFFF && n_tot != zn) || (csz != 0xFFFFFFFFu && csz != zsz) || (coff != 0xFFFFFFFFu && coff != zo))
            return tq_err(err, TQ_E_FORMAT, "%s: zip64 inconsistency: EOCD says %llu entries / directory %llu bytes at %llu, zip64 EOCD says %llu / %llu at %llu",
                          path, (ull)n_tot, (ull)csz, (ull)coff, (ull)zn, (ull)zsz, (ull)zo);
        n_tot = n_disk = zn; csz = zsz; coff = zo;
        disk = cdisk = 0;
        *cd_end = zoff;
    }
    if (disk != 0 || cdisk != 0 || n_disk != n_tot)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: EOCD names disk %u / central-directory disk %u (%llu of %llu entries here): multi-disk archives are not read",
                      path, disk, cdisk, (ull)n_disk, (ull)n_tot);
    if (coff > *cd_end || csz > *cd_end - coff)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory [%llu, +%llu) runs past the end-of-central-directory records at %llu",
                      path, (ull)coff, (ull)csz, (ull)*cd_end);
    if (coff + csz != *cd_end)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory [%llu, %llu) leaves %llu stray bytes before the end-of-central-directory records at %llu",
                      path, (ull)coff, (ull)(coff + csz), (ull)(*cd_end - coff - csz), (ull)*cd_end);
    if (n_tot > csz / ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: EOCD claims %llu entries but the %llu-byte central directory holds at most %llu",
                      path, (ull)n_tot, (ull)csz, (ull)(csz / ZIP_CDH_LEN));
    *cd_off = coff; *cd_size = csz; *count = n_tot;
    return tq_map_pin(mp, coff, csz, err);   /* the central directory, read in place */
}

/* Read central entry i at d[*p, cd_end) into m; advance *p. */
static tq_status zip_central(const uint8_t *d, uint64_t *p, uint64_t cd_end, uint64_t i, const char *path,
                             tq_zip_member *m, tq_error *err) {
    uint64_t q = *p;
    if (cd_end - q < ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory entry %llu at %llu is cut off by the end of the directory at %llu",
                      path, (ull)i, (ull)q, (ull)cd_end);
    const uint8_t *h = d + q;
    if (tq_ld32(h) != ZIP_CDH_SIG)
        return tq_err(err, TQ_E_FORMAT, "%s: bad central-directory signature 0x%08x at %llu (entry %llu; want 0x%08x)",
                      path, tq_ld32(h), (ull)q, (ull)i, ZIP_CDH_SIG);
    uint64_t nl = tq_ld16(h + 28), el = tq_ld16(h + 30), kl = tq_ld16(h + 32);
    if (nl + el + kl > cd_end - q - ZIP_CDH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: central directory entry %llu at %llu: name/extra/comment (%llu+%llu+%llu bytes) run past the directory's end at %llu",
                      path, (ull)i, (ull)q, (ull)nl, (ull)el, (ull)kl, (ull)cd_end);
    m->name = h + ZIP_CDH_LEN;
    m->namelen = (size_t)nl;
    tq_printable(m->nm, sizeof m->nm, m->name, m->namelen);
    m->flags = tq_ld16(h + 8);
    m->method = tq_ld16(h + 10);
    m->crc = tq_ld32(h + 16);
    m->csize = tq_ld32(h + 20);
    m->usize = tq_ld32(h + 24);
    m->lho = tq_ld32(h + 42);
    uint32_t disk = tq_ld16(h + 34);
    const uint8_t *x; uint16_t xl;
    tq_status st = extra_find(h + ZIP_CDH_LEN + nl, el, 0x0001, &x, &xl, path, m->nm, "central", err);
    if (st) return st;
    int need = (m->usize == 0xFFFFFFFFu) + (m->csize == 0xFFFFFFFFu) + (m->lho == 0xFFFFFFFFu);
    if (need || disk == 0xFFFF) {
        if (!x)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": zip64 inconsistency: central directory uses 0xFFFFFFFF sentinels but has no zip64 extra field",
                          path, m->nm);
        unsigned want = 8u * (unsigned)need + (disk == 0xFFFF ? 4u : 0u);
        if (xl < want)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": zip64 inconsistency: zip64 extra field is %u bytes, its sentinels need %u",
                          path, m->nm, xl, want);
        unsigned o = 0;
        if (m->usize == 0xFFFFFFFFu) { m->usize = tq_ld64(x + o); o += 8; }
        if (m->csize == 0xFFFFFFFFu) { m->csize = tq_ld64(x + o); o += 8; }
        if (m->lho == 0xFFFFFFFFu) { m->lho = tq_ld64(x + o); o += 8; }
        if (disk == 0xFFFF) disk = tq_ld32(x + o);
    }
    if (disk != 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" starts on disk %u: multi-disk archives are not read", path, m->nm, disk);
    if (m->flags & 0x0041)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is encrypted (flags 0x%04x)", path, m->nm, m->flags);
    if (m->method != 0 && m->method != 8)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\": unsupported compression method %u (trueq reads 0 stored and 8 deflate)",
                      path, m->nm, m->method);
    *p = q + ZIP_CDH_LEN + nl + el + kl;
    return TQ_OK;
}

/* Check member m's local header and optional data descriptor; fill data_start/end. */
static tq_status zip_local(const uint8_t *d, uint64_t size, const tq_map *mp, const char *path, tq_zip_member *m,
                           tq_error *err) {
    if (m->lho > size || size - m->lho < ZIP_LFH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header offset %llu is past the end of the %llu-byte file",
                      path, m->nm, (ull)m->lho, (ull)size);
    tq_status st = tq_map_pin(mp, m->lho, ZIP_LFH_LEN, err);
    if (st) return st;
    const uint8_t *h = d + m->lho;
    if (tq_ld32(h) != ZIP_LFH_SIG)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": bad local header signature 0x%08x at %llu (want 0x%08x)",
                      path, m->nm, tq_ld32(h), (ull)m->lho, ZIP_LFH_SIG);
    uint16_t flags = tq_ld16(h + 6), method = tq_ld16(h + 8);
    uint64_t nl = tq_ld16(h + 26), el = tq_ld16(h + 28);
    if (nl + el > size - m->lho - ZIP_LFH_LEN)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header's name/extra (%llu+%llu bytes) run past the end of the file",
                      path, m->nm, (ull)nl, (ull)el);
    if ((st = tq_map_pin(mp, m->lho + ZIP_LFH_LEN, nl + el, err))) return st;
    if (nl != m->namelen || memcmp(h + ZIP_LFH_LEN, m->name, m->namelen) != 0) {
        char ln[160]; tq_printable(ln, sizeof ln, h + ZIP_LFH_LEN, (size_t)nl);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header names it \"%s\"", path, m->nm, ln);
    }
    if (method != m->method)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": local header says method %u, central directory %u", path, m->nm, method, m->method);
    if (flags & 0x2041)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is encrypted (local flags 0x%04x)", path, m->nm, flags);
    const uint8_t *x; uint16_t xl;
    if ((st = extra_find(h + ZIP_LFH_LEN + nl, el, 0x0001, &x, &xl, path, m->nm, "local", err))) return st;
    m->data_start = m->lho + ZIP_LFH_LEN + nl + el;
    if (m->csize > size - m->data_start)
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": %llu bytes of data at %llu run past the end of the %llu-byte file",
                      path, m->nm, (ull)m->csize, (ull)m->data_start, (ull)size);
    m->end = m->data_start + m->csize;
    if (m->method == 0 && m->csize != m->usize)   /* readers of stored members use either size */
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is stored but its sizes differ (%llu compressed, %llu uncompressed)",
                      path, m->nm, (ull)m->csize, (ull)m->usize);
    if (flags & 0x0008) {   /* data descriptor: [sig] crc csize usize, sizes 8 bytes when zip64 */
        uint64_t w = x ? 8 : 4, left = size - m->end;
        if ((st = tq_map_pin(mp, m->end, left < 4 + 4 + 16 ? left : 4 + 4 + 16, err))) return st;
        const uint8_t *p = d + m->end;
        int sig = left >= 4 && tq_ld32(p) == ZIP_DD_SIG;
        uint64_t len = (sig ? 4 : 0) + 4 + 2 * w;
        if (left < len)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": data descriptor at %llu is cut off by the end of the file",
                          path, m->nm, (ull)m->end);
        p += sig ? 4 : 0;
        uint32_t dcrc = tq_ld32(p);
        uint64_t dcs = w == 8 ? tq_ld64(p + 4) : tq_ld32(p + 4), dus = w == 8 ? tq_ld64(p + 12) : tq_ld32(p + 8);
        if (dcrc != m->crc || dcs != m->csize || dus != m->usize)
            return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": data descriptor says CRC 0x%08x, sizes %llu/%llu; central directory says 0x%08x, %llu/%llu",
                          path, m->nm, dcrc, (ull)dcs, (ull)dus, m->crc, (ull)m->csize, (ull)m->usize);
        m->end += len;
    }
    return TQ_OK;
}

/* Records must tile [0, cd_off): members sorted by offset, no gap, no overlap. */
static tq_status zip_tiling(tq_zip_member *ms, uint64_t n, uint64_t cd_off, const char *path, tq_error *err) {
    tq_zip_member **ord = malloc(sizeof *ord * (size_t)(n ? n : 1));
    if (!ord) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) ord[i] = &ms[i];
    qsort(ord, (size_t)n, sizeof *ord, cmp_lho);
    uint64_t pos = 0;
    const char *prev = NULL;
    tq_status st = TQ_OK;
    for (uint64_t i = 0; i < n && !st; i++) {
        tq_zip_member *m = ord[i];
        if (m->lho < pos)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" at %llu overlaps member \"%s\", which ends at %llu",
                        path, m->nm, (ull)m->lho, prev, (ull)pos);
        else if (m->lho > pos)
            st = tq_err(err, TQ_E_FORMAT, "%s: %llu bytes at [%llu, %llu) belong to no member (before member \"%s\")",
                        path, (ull)(m->lho - pos), (ull)pos, (ull)m->lho, m->nm);
        pos = m->end;
        prev = m->nm;
    }
    if (!st && pos > cd_off)
        st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" ends at %llu, inside the central directory at %llu", path, prev, (ull)pos, (ull)cd_off);
    else if (!st && pos < cd_off)
        st = tq_err(err, TQ_E_FORMAT, "%s: %llu bytes at [%llu, %llu) belong to no member (before the central directory)",
                    path, (ull)(cd_off - pos), (ull)pos, (ull)cd_off);
    free(ord);
    return st;
}

tq_status tq_zip_read(const uint8_t *d, uint64_t size, const char *path, tq_zip_member **out, uint64_t *count,
                      tq_error *err) {
    return tq_zip_read_map(d, size, NULL, path, out, count, err);
}

tq_status tq_zip_read_map(const uint8_t *d, uint64_t size, const tq_map *mp, const char *path, tq_zip_member **out,
                          uint64_t *count, tq_error *err) {
    *out = NULL;
    *count = 0;
    uint64_t cd_off = 0, cd_size = 0, n = 0, cd_end = 0;
    tq_status st = zip_eocd(d, size, mp, path, &cd_off, &cd_size, &n, &cd_end, err);
    if (st) return st;
    tq_zip_member *ms = calloc((size_t)(n ? n : 1), sizeof *ms);
    if (!ms) return tq_err(err, TQ_E_NOMEM, "out of memory for %llu zip members", (ull)n);
    uint64_t p = cd_off;
    for (uint64_t i = 0; i < n; i++)
        if ((st = zip_central(d, &p, cd_end, i, path, &ms[i], err))) goto fail;
    if (p != cd_end) {
        st = tq_err(err, TQ_E_FORMAT, "%s: central directory holds %llu bytes after its %llu entries (EOCD entry count too small?)",
                    path, (ull)(cd_end - p), (ull)n);
        goto fail;
    }
    for (uint64_t i = 0; i < n; i++)
        if ((st = zip_local(d, size, mp, path, &ms[i], err))) goto fail;
    if ((st = zip_tiling(ms, n, cd_off, path, err))) goto fail;
    *out = ms;
    *count = n;
    return TQ_OK;
fail:
    free(ms);
    return st;
}

/* The central directory as the sniffers see it, leniently: the last EOCD
 * signature whose comment reaches the end (else the last one), the zip64
 * record when its locator points at one. Each record is pinned (mp, lax: a
 * sniff never fails) before it is read. false when no directory is found. */
static bool dir_lenient(const uint8_t *d, uint64_t size, const tq_map *mp, uint64_t *coff, uint64_t *csz, uint64_t *n) {
    if (size < ZIP_EOCD_LEN) return false;
    uint64_t lo = size - ZIP_EOCD_LEN > 65535 ? size - ZIP_EOCD_LEN - 65535 : 0, e = UINT64_MAX;
    uint64_t tail = lo > ZIP64_LOC_LEN ? lo - ZIP64_LOC_LEN : 0;
    if (mp) tq_map_pin_lax(mp, tail, size - tail);
    for (uint64_t p = size - ZIP_EOCD_LEN + 1; p-- > lo;) {
        if (tq_ld32(d + p) != ZIP_EOCD_SIG) continue;
        if (e == UINT64_MAX) e = p;
        if (ZIP_EOCD_LEN + (uint64_t)tq_ld16(d + p + 20) == size - p) { e = p; break; }
    }
    if (e == UINT64_MAX) return false;
    *n = tq_ld16(d + e + 10);
    *csz = tq_ld32(d + e + 12);
    *coff = tq_ld32(d + e + 16);
    if (e >= ZIP64_LOC_LEN && tq_ld32(d + e - ZIP64_LOC_LEN) == ZIP64_LOC_SIG) {
        uint64_t zoff = tq_ld64(d + e - ZIP64_LOC_LEN + 8);
        if (size >= ZIP64_EOCD_LEN && zoff <= size - ZIP64_EOCD_LEN) {
            if (mp) tq_map_pin_lax(mp, zoff, ZIP64_EOCD_LEN);
            if (tq_ld32(d + zoff) == ZIP64_EOCD_SIG) {
                *n = tq_ld64(d + zoff + 32);
                *csz = tq_ld64(d + zoff + 40);
                *coff = tq_ld64(d + zoff + 48);
            }
        }
    }
    if (*coff > size) return false;
    if (*csz > size - *coff) *csz = size - *coff;
    return true;
}

void tq_zip_pin_dir(const uint8_t *d, uint64_t size, const tq_map *mp) {
    if (!mp || size < 4) return;
    tq_map_pin_lax(mp, 0, 2);
    uint64_t coff, csz, n;
    if (d[0] == 'P' && d[1] == 'K' && dir_lenient(d, size, mp, &coff, &csz, &n)) tq_map_pin_lax(mp, coff, csz);
}

int64_t tq_zip_names(const uint8_t *d, uint64_t size, bool (*visit)(void *ud, const uint8_t *name, size_t len),
                     void *ud) {
    if (size < 4 || d[0] != 'P' || d[1] != 'K') return -1;
    uint64_t coff, csz, n;
    if (!dir_lenient(d, size, NULL, &coff, &csz, &n)) return -1;
    int64_t seen = 0;
    const uint64_t end = coff + csz;   /* the walk stays inside the directory the EOCD states */
    uint64_t q = coff;
    for (uint64_t i = 0; i < n; i++) {
        if (end - q < ZIP_CDH_LEN || tq_ld32(d + q) != ZIP_CDH_SIG) break;
        uint64_t nl = tq_ld16(d + q + 28), el = tq_ld16(d + q + 30), kl = tq_ld16(d + q + 32);
        if (nl > end - q - ZIP_CDH_LEN) break;
        seen++;
        if (!visit(ud, d + q + ZIP_CDH_LEN, (size_t)nl)) break;
        if (el + kl > end - q - ZIP_CDH_LEN - nl) break;
        q += ZIP_CDH_LEN + nl + el + kl;
    }
    return seen;
}
