/* printable.h — a bounded, printable copy of untrusted bytes for error messages
 * (shared by the zip and .npy layers). */
#ifndef TQ_PRINTABLE_H
#define TQ_PRINTABLE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** Copy s[0, n) into dst (cap bytes, NUL-terminated): printable ASCII as is,
 *  '"', '\\' and every other byte as \xHH; cut with "..." when dst is full. */
static inline void tq_printable(char *dst, size_t cap, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 8 >= cap) { memcpy(dst + o, "...", 4); return; }
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') dst[o++] = (char)c;
        else { dst[o++] = '\\'; dst[o++] = 'x'; dst[o++] = hex[c >> 4]; dst[o++] = hex[c & 15]; }
    }
    dst[o] = 0;
}
#endif
