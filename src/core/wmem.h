/*
 * wmem.h — memory for weights: large, long-lived buffers on transparent huge pages.
 *
 * Why: a forward pass streams every weight byte once per token (decoders) or
 * per pass (encoders). On 4 KB pages that is one TLB entry per 4 KB, and under
 * virtualisation a TLB miss walks two page tables; on a 2-core AMD EPYC VM a
 * SmolLM2-135M Q8_0 decoder generated ~1.6x more tokens/s once its 143 MB of
 * codes sat on 2 MB pages (docs/bench/decoder.md, "huge pages"). The kernel's
 * THP mode is usually "madvise": malloc'd memory never gets huge pages unless
 * it is 2 MB aligned and advised, which is what this allocator does.
 *
 * Layout: a request of at least TQ_WMEM_OWN bytes gets its own anonymous
 * mapping, 2 MB aligned, its whole 2 MB extents advised MADV_HUGEPAGE (the
 * tail past the last whole extent stays on small pages, so no page beyond the
 * request is ever made resident). Smaller requests are carved, 64-byte aligned,
 * from shared 2 MB-aligned chunks of TQ_WMEM_CHUNK bytes (advised as a whole; a
 * chunk's untouched tail is never resident); a chunk is unmapped when its last
 * block is freed. Memory is not reused before that: tq_wmem_alloc is for
 * buffers that live as long as the model that owns them; tq_wmem_scratch for
 * buffers that come and go (own mappings or malloc, never chunks).
 *
 * Under AddressSanitizer (and where mmap fails) blocks come from malloc, so
 * overflows between blocks are still caught. Thread-safe. Never prints.
 */
#ifndef TQ_CORE_WMEM_H
#define TQ_CORE_WMEM_H
#include <stddef.h>

#define TQ_WMEM_OWN ((size_t)1 << 21)     /**< requests from this size get their own mapping */
#define TQ_WMEM_CHUNK ((size_t)1 << 25)   /**< shared chunks: 32 MB */

/** n bytes (n == 0 allowed), 64-byte aligned, contents unspecified; NULL when out of memory. */
void *tq_wmem_alloc(size_t n);
/** Zero-filled tq_wmem_alloc. */
void *tq_wmem_calloc(size_t n);
/** A buffer that may be freed and asked for again many times (per-state KV
 *  caches, pass workspaces): its own huge-page mapping from TQ_WMEM_OWN bytes,
 *  plain malloc below (never chunk memory, which is only reclaimed when a whole
 *  chunk is free). zero: zero-filled. Free with tq_wmem_free. */
void *tq_wmem_scratch(size_t n, int zero);
/** Free a block of tq_wmem_alloc or tq_wmem_calloc. NULL is a no-op. */
void tq_wmem_free(void *p);
/** Mappings this allocator holds now (chunks and own mappings); for tests. */
int tq_wmem_maps(void);
/** Bytes on huge pages in this process now (AnonHugePages of /proc/self/smaps_rollup), -1 unknown. For tests. */
long long tq_wmem_huge_bytes(void);
#endif
