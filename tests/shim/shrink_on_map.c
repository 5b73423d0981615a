/*
 * shrink_on_map.c — an LD_PRELOAD shim for tests/cli/read_faults.sh: the
 * moment the process maps the file named by $TQ_SHRINK_FILE (same device and
 * inode), the file is truncated to $TQ_SHRINK_TO bytes. Every later read of
 * the bytes beyond is then a read of a file that shrank after it was opened:
 * through the map it would be SIGBUS, through pread (the rule for readers)
 * TQ_E_IO naming the file and the offset. Test code only; never linked into
 * trueq.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
static int g_done;

static void maybe_shrink(int fd) {
    const char *path = getenv("TQ_SHRINK_FILE"), *to = getenv("TQ_SHRINK_TO");
    struct stat a, b;
    if (g_done || !path || !to || fd < 0 || fstat(fd, &a) != 0 || stat(path, &b) != 0) return;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return;
    g_done = 1;
    if (truncate(path, (off_t)strtoll(to, NULL, 10)) != 0) abort();
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    static mmap_fn real;
    if (!real) real = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    void *p = real(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED) maybe_shrink(fd);
    return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return mmap(addr, len, prot, flags, fd, off); }
