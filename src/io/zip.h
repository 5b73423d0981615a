/*
 * zip.h — the ZIP layer under the .npz reader and writer and the format
 * sniffers (internal). Layout and checks: src/io/zip.c, docs/formats/npz.md.
 */
#ifndef TQ_ZIP_H
#define TQ_ZIP_H

#include "core/internal.h"

#define ZIP_LFH_SIG    0x04034b50u
#define ZIP_CDH_SIG    0x02014b50u
#define ZIP_EOCD_SIG   0x06054b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_LOC_SIG  0x07064b50u
#define ZIP_DD_SIG     0x08074b50u
#define ZIP_LFH_LEN    30u
#define ZIP_CDH_LEN    46u
#define ZIP_EOCD_LEN   22u
#define ZIP64_EOCD_LEN 56u
#define ZIP64_LOC_LEN  20u

/** One member, as the central directory (checked against its local header) says. */
typedef struct tq_zip_member {
    const uint8_t *name;      /* into the central directory (not NUL-terminated) */
    size_t   namelen;
    char     nm[160];         /* printable name for messages                 */
    uint16_t flags, method;   /* method 0 stored, 8 deflate                  */
    uint32_t crc;
    uint64_t csize, usize, lho;
    uint64_t data_start;      /* first byte of the member's (compressed) data */
    uint64_t end;             /* one past the descriptor (or the data)        */
} tq_zip_member;

/**
 * Check the structure of a whole archive image d[0, size) strictly: the EOCD
 * (and ZIP64) records, every central entry, every local header and data
 * descriptor, and that the records tile the file before the central
 * directory. On success *ms (caller frees with free) holds *count members in
 * central-directory order. Errors name `path` and the member.
 */
tq_status tq_zip_read(const uint8_t *d, uint64_t size, const char *path, tq_zip_member **ms, uint64_t *count,
                      tq_error *err);
/** The same on a mapped file (mp NULL: d is memory): the records read in
 *  place (EOCD area, zip64 records, central directory, local headers, data
 *  descriptors) are pinned first (tq_map_pin); member data is not. */
tq_status tq_zip_read_map(const uint8_t *d, uint64_t size, const tq_map *mp, const char *path, tq_zip_member **ms,
                          uint64_t *count, tq_error *err);
/** Inflate the raw deflate stream src[0, cn) into exactly un bytes at dst;
 *  TQ_E_FORMAT when it gives more, fewer, or does not consume all of src. */
tq_status tq_zip_inflate(const uint8_t *src, uint64_t cn, uint8_t *dst, uint64_t un,
                         const char *path, const char *nm, tq_error *err);
/** CRC-32 (zlib's) of any length, continuing from crc. */
uint32_t  tq_zip_crc32(uint32_t crc, const uint8_t *p, uint64_t n);

/** Before sniffing a mapped file: pin (tq_map_pin_lax) what tq_zip_names
 *  reads (the EOCD area, a zip64 record, the central directory the EOCD
 *  states) when the file starts with "PK". */
void tq_zip_pin_dir(const uint8_t *d, uint64_t size, const tq_map *mp);
/**
 * For format sniffing: walk the central directory's member names leniently
 * (no error messages, every read bounded by the image), calling visit for
 * each until it returns false.
 * @return the number of members visited, or -1 when d is not a zip archive
 *         (no "PK" signature at 0) or its directory cannot be found.
 */
int64_t tq_zip_names(const uint8_t *d, uint64_t size, bool (*visit)(void *ud, const uint8_t *name, size_t len),
                     void *ud);

#endif
