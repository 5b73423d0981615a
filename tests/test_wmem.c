/* test_wmem.c — weight memory (core/wmem.h): blocks are 64-byte aligned,
 * disjoint and keep their bytes; calloc'd blocks are zero; a chunk and an own
 * mapping go away with their last block; scratch buffers never use chunks; under ASan everything is malloc'd
 * (then the mapping counts stay 0). Huge pages themselves are the kernel's
 * choice: reported, not asserted. */
#include "tq_test.h"
#include "core/wmem.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tq_tests(void) {
    const int base = tq_wmem_maps();
    TQ_CASE("small blocks: aligned, disjoint, bytes kept, zero from calloc");
    enum { N = 40 };
    size_t sz[N];
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        sz[i] = (size_t)(i * 37 % 11) * 100003 + (size_t)i;   /* 0 .. ~1 MB, below TQ_WMEM_OWN */
        p[i] = i % 2 ? tq_wmem_calloc(sz[i]) : tq_wmem_alloc(sz[i]);
        CHECK(p[i] != NULL);
        CHECK((uintptr_t)p[i] % 64 == 0);
        if (i % 2)
            for (size_t j = 0; j < sz[i]; j += 4093) CHECK_MSG(p[i][j] == 0, "block %d byte %zu", i, j);
        memset(p[i], i + 1, sz[i]);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            CHECK_MSG(p[i] + sz[i] <= p[j] || p[j] + sz[j] <= p[i] || !sz[i] || !sz[j], "blocks %d and %d overlap", i, j);
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < sz[i]; j += 997) CHECK_MSG(p[i][j] == (unsigned char)(i + 1), "block %d byte %zu", i, j);
    const int mid = tq_wmem_maps();
    TQ_CASE("a large block gets its own 2 MB-aligned mapping; freeing the last block unmaps");
    size_t big = ((size_t)9 << 20) + 12345;
    unsigned char *b = tq_wmem_calloc(big);
    CHECK(b != NULL);
    CHECK(b[0] == 0 && b[big - 1] == 0);
    memset(b, 7, big);
    const int with_big = tq_wmem_maps();
    if (mid > 0) {   /* mapped (not the ASan/malloc build) */
        CHECK((uintptr_t)b % ((size_t)1 << 21) == 0);
        CHECK_EQ_INT(with_big, mid + 1);
        long long h = tq_wmem_huge_bytes();
        printf("# huge pages in use: %lld bytes\n", h);
    } else {
        CHECK_EQ_INT(with_big, 0);
        printf("# wmem falls back to malloc in this build (sanitizer)\n");
    }
    CHECK(b[big / 2] == 7);
    tq_wmem_free(b);
    CHECK_EQ_INT(tq_wmem_maps(), mid);
    for (int i = 0; i < N; i++) tq_wmem_free(p[i]);
    CHECK_EQ_INT(tq_wmem_maps(), base);
    tq_wmem_free(NULL);
    CHECK_EQ_INT(tq_wmem_maps(), base);

    TQ_CASE("after every block is freed, new blocks come from a new chunk");
    unsigned char *q = tq_wmem_calloc(1000);
    CHECK(q != NULL && q[999] == 0);
    if (mid > 0) CHECK_EQ_INT(tq_wmem_maps(), base + 1);
    tq_wmem_free(q);
    CHECK_EQ_INT(tq_wmem_maps(), base);

    TQ_CASE("scratch buffers: malloc below TQ_WMEM_OWN (no chunk grows), own mappings above; zeroed on request");
    for (int round = 0; round < 50; round++) {
        unsigned char *a = tq_wmem_scratch(100000, round % 2), *z = tq_wmem_scratch(TQ_WMEM_OWN + 4096, 1);
        CHECK(a != NULL && z != NULL && (uintptr_t)a % 64 == 0);
        if (round % 2) CHECK(a[99999] == 0);
        CHECK(z[0] == 0 && z[TQ_WMEM_OWN + 4095] == 0);
        CHECK_EQ_INT(tq_wmem_maps(), base + (mid > 0));
        memset(a, 3, 100000);
        memset(z, 3, TQ_WMEM_OWN + 4096);
        tq_wmem_free(a);
        tq_wmem_free(z);
        CHECK_EQ_INT(tq_wmem_maps(), base);
    }
}
