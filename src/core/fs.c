/*
 * fs.c — read-only file maps with bounded reads, atomic outputs, small-file
 * helpers and paths.
 *
 * Reads that cannot crash (docs/robustness.md): a mapped page of a file that
 * shrank since it was mapped raises SIGBUS on access, so bulk data on the
 * convert path is read with tq_map_read (pread into a caller's bounded
 * buffer): a short read is TQ_E_IO naming the file and the offset.
 *
 * Outputs that cannot be followed or pre-planted: tq_out_open creates an
 * unnamed file (O_TMPFILE) in the target's directory and tq_out_commit gives
 * it its name (linkat, or linkat to a fresh random name + rename over an
 * existing one) after fsync of the file; the directory is fsynced after the
 * rename, except below a staging tree registered with tq_out_defer_dir_sync,
 * whose owner fsyncs each of its directories once (fs_defer.h). Where O_TMPFILE is missing, the temporary is NAME.tq-tmp-XXXXXXXX
 * (random) opened O_CREAT|O_EXCL|O_NOFOLLOW, so neither a symlink nor a
 * planted file at that name is ever written through.
 */
#define _GNU_SOURCE 1   /* copy_file_range, O_TMPFILE */
#include "core/internal.h"
#include "core/fs_defer.h"
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- paths to remove if the process is interrupted ---------------------- */

#define TQ_MAX_PENDING 64
static char *volatile g_pending[TQ_MAX_PENDING];
static volatile sig_atomic_t g_pending_dir[TQ_MAX_PENDING];

void tq_pending_add(const char *path, bool dir) {
    char *c = tq_strdup(path);
    if (!c) return;
    for (int i = 0; i < TQ_MAX_PENDING; i++)
        if (!g_pending[i]) { g_pending_dir[i] = dir; g_pending[i] = c; return; }
    free(c);
}

void tq_pending_remove(const char *path) {
    for (int i = 0; i < TQ_MAX_PENDING; i++) {
        char *p = g_pending[i];
        if (p && strcmp(p, path) == 0) { g_pending[i] = NULL; free(p); return; }
    }
}

/* Remove everything inside the directory open at fd, then close it, with
 * async-signal-safe calls only (openat, unlinkat, close and the raw getdents64
 * system call: no opendir, no malloc). A pending directory is one this run
 * created (a staging directory), so all of it is this run's. */
static void rm_contents_at(int fd, int depth) {
    char buf[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) break;
        int removed = 0;
        for (long off = 0; off < n;) {
            const char *rec = buf + off;
            unsigned short reclen;
            memcpy(&reclen, rec + 16, sizeof reclen);   /* d_ino u64, d_off s64, d_reclen u16, d_type u8, name */
            const char *name = rec + 19;
            off += reclen;
            if (!reclen) break;
            if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
            if (unlinkat(fd, name, 0) == 0) { removed = 1; continue; }
            if (depth < 16) {
                int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) rm_contents_at(sub, depth + 1);
            }
            if (unlinkat(fd, name, AT_REMOVEDIR) == 0) removed = 1;
        }
        if (removed && lseek(fd, 0, SEEK_SET) != 0) break;   /* the listing changed: read it again */
        if (!removed) break;
    }
    close(fd);
}

void tq_cleanup_pending(void) {
    /* files first (newest last registered), then directories with what they hold */
    for (int i = TQ_MAX_PENDING - 1; i >= 0; i--) { char *p = g_pending[i]; if (p && !g_pending_dir[i]) unlink(p); }
    for (int i = TQ_MAX_PENDING - 1; i >= 0; i--) {
        char *p = g_pending[i];
        if (!p || !g_pending_dir[i]) continue;
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) rm_contents_at(fd, 0);
        rmdir(p);
    }
}

char *tq_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *tq_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

char *tq_path_dirname(const char *path) {
    const char *s = strrchr(path, '/');
    if (!s) return tq_strdup(".");
    if (s == path) return tq_strdup("/");
    size_t n = (size_t)(s - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

bool tq_is_dir(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISDIR(st.st_mode); }
bool tq_file_exists(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISREG(st.st_mode); }

static uint64_t page_size(void) {
    static uint64_t pg;
    if (!pg) { long v = sysconf(_SC_PAGESIZE); pg = v > 0 ? (uint64_t)v : 4096; }
    return pg;
}
static bool page_pinned(const tq_map *m, uint64_t p) { return m->pinned && (m->pinned[p / 64] >> (p % 64) & 1); }

tq_status tq_map_open(tq_map *m, const char *path, tq_error *err) {
    memset(m, 0, sizeof *m);
    m->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tq_err(err, TQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno; close(fd);
        return tq_err(err, TQ_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) { close(fd); return tq_err(err, TQ_E_IO, "%s: not a regular file", path); }
    m->size = (uint64_t)st.st_size;
    m->dev = (uint64_t)st.st_dev;
    m->ino = (uint64_t)st.st_ino;
    m->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (m->size > 0) {
        void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno; close(fd);
            return tq_err(err, TQ_E_IO, "%s: cannot map %llu bytes: %s", path, (unsigned long long)m->size, strerror(e));
        }
        m->data = p;
        uint64_t pages = (m->size + page_size() - 1) / page_size();
        if (!(m->pinned = calloc((size_t)((pages + 63) / 64), sizeof *m->pinned))) {
            munmap(p, (size_t)m->size); m->data = NULL; close(fd);
            return tq_err(err, TQ_E_NOMEM, "out of memory");
        }
    }
    m->fd = fd;
    m->path = tq_strdup(path);
    if (!m->path) { tq_map_close(m); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    return TQ_OK;
}

void tq_map_close(tq_map *m) {
    if (!m) return;
    if (m->data) munmap((void *)m->data, (size_t)m->size);
    if (m->fd >= 0) close(m->fd);
    free(m->path);
    free(m->pinned);
    memset(m, 0, sizeof *m);
    m->fd = -1;
}

void tq_map_release(const tq_map *m, uint64_t off, uint64_t len) {
    if (!m->data || off >= m->size) return;
    const uint64_t pg = page_size();
    uint64_t end = off + len > m->size ? m->size : off + len;
    /* whole unpinned pages only: a pinned page is private memory that
     * MADV_DONTNEED would zero */
    for (uint64_t p = off / pg, last = (end + pg - 1) / pg; p < last;) {
        if (page_pinned(m, p)) { p++; continue; }
        uint64_t q = p;
        while (q < last && !page_pinned(m, q)) q++;
        uint64_t a = p * pg, b = q * pg < m->size ? q * pg : m->size;
        madvise((void *)(m->data + a), (size_t)(b - a), MADV_DONTNEED);
        p = q;
    }
}

/* pread [off, off+len) into buf; `hook` asks the fault hook first (reads of
 * input data; header pins are not such reads). */
static tq_status read_at(const tq_map *m, uint64_t off, void *buf, size_t len, bool hook, tq_error *err) {
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        int inj = hook ? tq_fault("read", m->path) : 0;
        ssize_t r = inj ? (errno = inj, -1) : pread(m->fd, p + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return tq_err(err, TQ_E_IO, "%s: read failed at offset %llu: %s", m->path,
                          (unsigned long long)(off + done), strerror(errno));
        if (r == 0) {   /* where the file ends now: at most where this read began */
            struct stat st;
            uint64_t at = off + done;
            if (fstat(m->fd, &st) == 0 && (uint64_t)st.st_size < at) at = (uint64_t)st.st_size;
            return tq_err(err, TQ_E_IO, "%s: the file ends at offset %llu, reading %llu bytes at offset %llu (it shrank "
                          "or was rewritten while trueq read it)", m->path, (unsigned long long)at,
                          (unsigned long long)(len - done), (unsigned long long)(off + done));
        }
        done += (size_t)r;
    }
    return TQ_OK;
}

tq_status tq_map_read(const tq_map *m, uint64_t off, void *buf, size_t len, tq_error *err) {
    return read_at(m, off, buf, len, true, err);
}

/* Pin the pages holding [off, off+len): overlay them with private memory and
 * pread what the file holds there. A page is marked pinned only once read
 * whole (or up to the size at open), so a page left short is read again by
 * the next pin that needs it. strict: [off, off+len) must be read whole. */
static tq_status pin_pages(const tq_map *m, uint64_t off, uint64_t len, bool strict, tq_error *err) {
    if (!m || !m->data || !m->pinned || !len || off >= m->size) return TQ_OK;
    if (len > m->size - off) len = m->size - off;
    const uint64_t pg = page_size(), end = off + len;
    for (uint64_t p = off / pg, last = (end - 1) / pg; p <= last;) {
        if (page_pinned(m, p)) { p++; continue; }
        uint64_t q = p;
        while (q <= last && !page_pinned(m, q)) q++;
        uint64_t a = p * pg, b = q * pg < m->size ? q * pg : m->size, got = a;   /* pages [p, q): bytes [a, b) */
        uint8_t *dst = (uint8_t *)(uintptr_t)m->data + a;
        if (mmap(dst, (size_t)((q - p) * pg), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            == MAP_FAILED)
            return tq_err(err, TQ_E_NOMEM, "%s: cannot copy %llu bytes at offset %llu into memory: %s", m->path,
                          (unsigned long long)(b - a), (unsigned long long)a, strerror(errno));
        while (got < b) {
            ssize_t r = pread(m->fd, dst + (got - a), (size_t)(b - got), (off_t)got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (uint64_t)r;
        }
        uint64_t need = end < b ? end : b;
        /* short: read_at names where the file ends now (or the failing read) */
        tq_status st = strict && got < need ? read_at(m, got, dst + (got - a), (size_t)(need - got), false, err) : TQ_OK;
        if (strict && !st && got < need) got = need;   /* read_at filled it after all */
        mprotect(dst, (size_t)((q - p) * pg), PROT_READ);
        if (st) return st;
        uint64_t full = got == b ? q : got / pg;   /* pages read whole */
        for (uint64_t k = p; k < full; k++) m->pinned[k / 64] |= (uint64_t)1 << (k % 64);
        p = q;
    }
    return TQ_OK;
}

tq_status tq_map_pin(const tq_map *m, uint64_t off, uint64_t len, tq_error *err) {
    return pin_pages(m, off, len, true, err);
}

void tq_map_pin_lax(const tq_map *m, uint64_t off, uint64_t len) { (void)pin_pages(m, off, len, false, NULL); }

tq_status tq_map_check_unchanged(const tq_map *m, tq_error *err) {
    struct stat st, now;
    if (m->fd < 0) return TQ_OK;
    if (fstat(m->fd, &st) != 0) return tq_err(err, TQ_E_IO, "%s: cannot stat: %s", m->path, strerror(errno));
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if ((uint64_t)st.st_size != m->size || mt != m->mtime_ns)
        return tq_err(err, TQ_E_IO, "%s: the file changed while trueq read it (%llu bytes at open, %llu now); nothing was "
                      "written, run again", m->path, (unsigned long long)m->size, (unsigned long long)st.st_size);
    if (stat(m->path, &now) != 0 || (uint64_t)now.st_dev != m->dev || (uint64_t)now.st_ino != m->ino)
        return tq_err(err, TQ_E_IO, "%s: the file was replaced or removed while trueq read it; nothing was written, "
                      "run again", m->path);
    return TQ_OK;
}

/* 16 random letters/digits (getrandom; time and pid where it is missing). */
static void random_name(char out[17]) {
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^ (uintptr_t)out;
        for (int i = 0; i < 16; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; r[i] = (uint8_t)x; }
    }
    for (int i = 0; i < 16; i++) out[i] = al[r[i] % (sizeof al - 1)];
    out[16] = 0;
}

tq_status tq_unique_path(const char *prefix, char **out, tq_error *err) {
    char rn[17];
    random_name(rn);
    size_t n = strlen(prefix) + sizeof rn;
    *out = malloc(n);
    if (!*out) return tq_err(err, TQ_E_NOMEM, "out of memory");
    snprintf(*out, n, "%s%s", prefix, rn);
    return TQ_OK;
}

/* Open a fresh temporary NAME.tq-tmp-<random> with O_EXCL|O_NOFOLLOW. */
static int open_named_tmp(tq_outfile *o, tq_error *err) {
    tq_sb pre = {0};
    tq_sb_printf(&pre, "%s.tq-tmp-", o->final_path);
    for (int tries = 0; tries < 16 && !pre.oom; tries++) {
        if (tq_unique_path(pre.s, &o->tmp_path, err)) break;
        int inj = tq_fault("create", o->final_path);
        o->fd = inj ? (errno = inj, -1) : open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (o->fd >= 0) { tq_pending_add(o->tmp_path, false); tq_sb_free(&pre); return 0; }
        int e = errno;
        if (e != EEXIST) {
            tq_err(err, TQ_E_IO, "%s: cannot create: %s", o->tmp_path, strerror(e));
            free(o->tmp_path); o->tmp_path = NULL;
            tq_sb_free(&pre);
            return -1;
        }
        free(o->tmp_path); o->tmp_path = NULL;
    }
    if (pre.oom) tq_err(err, TQ_E_NOMEM, "out of memory");
    else tq_err(err, TQ_E_IO, "%s: cannot create a temporary file beside it (16 names taken)", o->final_path);
    tq_sb_free(&pre);
    return -1;
}

tq_status tq_out_open(tq_outfile *o, const char *final_path, tq_error *err) {
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->final_path = tq_strdup(final_path);
    char *dir = tq_path_dirname(final_path);
    if (!dir || !o->final_path) { free(dir); tq_out_abort(o); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
#ifdef O_TMPFILE
    /* the unnamed file is named through /proc/self/fd at commit: without /proc, use a random name */
    int inj = tq_fault("create", final_path);
    if (!inj && access("/proc/self/fd", X_OK) != 0) inj = EOPNOTSUPP;
    o->fd = inj ? (errno = inj, -1) : open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    int e = errno;
#else
    int e = EOPNOTSUPP;
#endif
    free(dir);
    if (o->fd >= 0) return TQ_OK;
    if (e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS || e == ENOSPC || e == EDQUOT || e == EIO) {
        tq_err(err, TQ_E_IO, "%s: cannot create: %s", final_path, strerror(e));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    if (open_named_tmp(o, err) == 0) return TQ_OK;
    tq_out_abort(o);
    return err && err->status ? err->status : TQ_E_IO;
}

void tq_out_reserve(tq_outfile *o, uint64_t size) {
    /* allocated as unwritten extents: the writes then skip the file system's
     * per-page delayed-allocation bookkeeping (ext4: ~20% of a copy's system
     * time) and the write-back its block allocation. Best effort: where it is
     * refused (no support, no room) the writes go as before and a full disk
     * fails at the write that does not fit. The size is set exactly at commit. */
    if (o->fd >= 0 && size > 0 && size <= (uint64_t)INT64_MAX) (void)fallocate(o->fd, 0, 0, (off_t)size);
}

/* size = max(size, end): writes at disjoint offsets may come from two threads
 * (a kept tensor copied on convert's lane thread beside the pool's writes). */
static void grow_size(tq_outfile *o, uint64_t end) {
    uint64_t cur = __atomic_load_n(&o->size, __ATOMIC_RELAXED);
    while (end > cur && !__atomic_compare_exchange_n(&o->size, &cur, end, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

tq_status tq_out_pwrite(tq_outfile *o, const void *buf, size_t len, uint64_t off, tq_error *err) {
    const uint8_t *p = buf;
    while (len > 0) {
        int inj = tq_fault("write", o->final_path);
        ssize_t w = inj ? (errno = inj, -1) : pwrite(o->fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return tq_err(err, TQ_E_IO, "%s: write failed at offset %llu: %s", o->final_path,
                          (unsigned long long)off, strerror(errno));
        }
        p += w; len -= (size_t)w; off += (uint64_t)w;
    }
    grow_size(o, off);
    return TQ_OK;
}

tq_status tq_out_write(tq_outfile *o, const void *buf, size_t len, tq_error *err) {
    return tq_out_pwrite(o, buf, len, o->size, err);
}

/* copy_file_range's errors that mean "no copy in the kernel here" (another
 * file system before Linux 5.19 or one that refuses it, a kernel without the
 * call, a file kind it does not take): the rest goes through read/write. Any
 * other error (EIO, ENOSPC, EDQUOT, EFBIG, ...) is the copy's failure. */
static bool copy_unsupported(int e) {
    return e == EXDEV || e == ENOSYS || e == EINVAL || e == EOPNOTSUPP
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
           || e == ENOTSUP
#endif
        ;
}

/* One copy_file_range of up to len bytes from fd_in at in_off to o at off,
 * with the fault point "copy" (an injected errno reads as the call's). >0:
 * bytes copied; 0: copy the rest by read/write (unsupported, or the input
 * ends: the bounded read reports where); <0: failed, errno set. */
static ssize_t copy_once(tq_outfile *o, int fd_in, uint64_t in_off, size_t len, uint64_t off) {
    for (;;) {
        int inj = tq_fault("copy", o->final_path);
        loff_t io = (loff_t)in_off, oo = (loff_t)off;
        ssize_t n = inj ? (errno = inj, -1) : copy_file_range(fd_in, &io, o->fd, &oo, len, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        return copy_unsupported(errno) ? 0 : -1;
    }
}

tq_status tq_out_copy_range(tq_outfile *o, int fd_in, uint64_t in_off, const void *fallback, size_t len, uint64_t off,
                            tq_error *err) {
    size_t done = 0;
    while (fd_in >= 0 && done < len) {
        ssize_t n = copy_once(o, fd_in, in_off + done, len - done, off + done);
        if (n < 0) {
            int e = errno;
            grow_size(o, off + done);
            return tq_err(err, TQ_E_IO, "input offset %llu: copy into %s at offset %llu failed: %s",
                          (unsigned long long)(in_off + done), o->final_path, (unsigned long long)(off + done), strerror(e));
        }
        if (n == 0) break;               /* not here (EXDEV, ENOSYS, ...) or the input ends: finish with pread/pwrite */
        done += (size_t)n;
    }
    grow_size(o, off + done);
    if (done == len) return TQ_OK;
    if (fd_in < 0) return tq_out_pwrite(o, (const uint8_t *)fallback + done, len - done, off + done, err);
    /* finish through a bounded buffer read from fd_in, never through the
     * mapped `fallback` (a page of a shrunk file would raise SIGBUS) */
    size_t cap = len - done < (1u << 20) ? len - done : (1u << 20);
    uint8_t *buf = malloc(cap);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "out of memory for a %zu-byte copy buffer", cap);
    tq_status st = TQ_OK;
    while (!st && done < len) {
        size_t k = len - done < cap ? len - done : cap;
        int inj = tq_fault("read", o->final_path);
        ssize_t r = inj ? (errno = inj, -1) : pread(fd_in, buf, k, (off_t)(in_off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            st = tq_err(err, TQ_E_IO, "input offset %llu: %s", (unsigned long long)(in_off + done),
                        r < 0 ? strerror(errno) : "the input ends there (it shrank or was rewritten while trueq read it)");
        else if (!(st = tq_out_pwrite(o, buf, (size_t)r, off + done, err))) done += (size_t)r;
    }
    free(buf);
    return st;
}

int tq_fsync_dir(const char *dir) {
    int inj = tq_fault("fsync-dir", dir);
    if (inj) { errno = inj; return -1; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    if (r != 0 && (errno == EINVAL || errno == EROFS)) r = 0;   /* a file system without directory fsync */
    close(fd);
    return r;
}

int tq_fsync_dir_of(const char *path) {
    char *dir = tq_path_dirname(path);
    if (!dir) return -1;
    int r = tq_fsync_dir(dir);
    free(dir);
    return r;
}

/* ---- directories whose fsync is left to their owner (fs_defer.h) ---------- */

#define TQ_MAX_DEFER 8
static char *g_defer[TQ_MAX_DEFER];
static pthread_mutex_t g_defer_mu = PTHREAD_MUTEX_INITIALIZER;

void tq_out_defer_dir_sync(const char *root, bool on) {
    pthread_mutex_lock(&g_defer_mu);
    for (int i = 0; i < TQ_MAX_DEFER; i++) {
        if (on && !g_defer[i]) { g_defer[i] = tq_strdup(root); break; }
        if (!on && g_defer[i] && strcmp(g_defer[i], root) == 0) { free(g_defer[i]); g_defer[i] = NULL; break; }
    }
    pthread_mutex_unlock(&g_defer_mu);
}

bool tq_out_dir_sync_deferred(const char *dir) {
    bool hit = false;
    pthread_mutex_lock(&g_defer_mu);
    for (int i = 0; i < TQ_MAX_DEFER && !hit; i++) {
        size_t n = g_defer[i] ? strlen(g_defer[i]) : 0;
        hit = n && strncmp(dir, g_defer[i], n) == 0 && (dir[n] == 0 || dir[n] == '/');
    }
    pthread_mutex_unlock(&g_defer_mu);
    return hit;
}

/* Give the unnamed (O_TMPFILE) file o->fd the name final_path, replacing
 * what is there: linkat to the name, or to a fresh random name and rename. */
static int link_into_place(tq_outfile *o) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, o->final_path, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno != EEXIST) return -1;
    tq_sb pre = {0};
    tq_sb_printf(&pre, "%s.tq-tmp-", o->final_path);
    int rc = -1;
    for (int tries = 0; tries < 16 && !pre.oom; tries++) {
        char *tmp = NULL;
        if (tq_unique_path(pre.s, &tmp, NULL)) break;
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
            rc = rename(tmp, o->final_path);   /* replaces a file or a symlink, never follows one */
            int e = errno;
            if (rc != 0) unlink(tmp);
            free(tmp);
            errno = e;
            break;
        }
        int e = errno;
        free(tmp);
        if (e != EEXIST) { errno = e; break; }
    }
    tq_sb_free(&pre);
    return rc;
}

/* The name of a file tq_out_name_early named: removed (a failed fsync, an abort). */
static void unname(tq_outfile *o) {
    if (o->named && o->final_path) unlink(o->final_path);
    o->named = false;
}

tq_status tq_out_name_early(tq_outfile *o, tq_error *err) {
    if (o->fd < 0) return tq_err(err, TQ_E_INTERNAL, "naming of a closed output");
    if (o->named) return TQ_OK;
    char *dir = tq_path_dirname(o->final_path);
    if (!dir) return tq_err(err, TQ_E_NOMEM, "out of memory");
    bool staged = tq_out_dir_sync_deferred(dir);
    free(dir);
    if (!staged) return TQ_OK;   /* a visible directory: fsync first, then the name (tq_out_commit) */
    if (ftruncate(o->fd, (off_t)o->size) != 0 || (o->tmp_path ? rename(o->tmp_path, o->final_path) : link_into_place(o)) != 0) {
        tq_err(err, TQ_E_IO, "%s: cannot rename into place: %s", o->final_path, strerror(errno));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    if (o->tmp_path) tq_pending_remove(o->tmp_path);
    free(o->tmp_path); o->tmp_path = NULL;
    o->named = true;
    return TQ_OK;
}

tq_status tq_out_commit(tq_outfile *o, tq_error *err) {
    if (o->fd < 0) return tq_err(err, TQ_E_INTERNAL, "commit of a closed output");
    int inj = tq_fault("fsync", o->final_path);
    if (inj || (!o->named && ftruncate(o->fd, (off_t)o->size) != 0) || fsync(o->fd) != 0) {
        tq_err(err, TQ_E_IO, "%s: cannot finish writing: %s", o->final_path, strerror(inj ? inj : errno));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    int rc = o->named ? 0 : o->tmp_path ? rename(o->tmp_path, o->final_path) : link_into_place(o);
    if (rc != 0) {
        tq_err(err, TQ_E_IO, "%s: cannot rename into place: %s", o->final_path, strerror(errno));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    o->named = false;
    int e = close(o->fd) == 0 ? 0 : errno;
    o->fd = -1;
    if (e == 0) {   /* the name is durable once its directory is fsynced: here, or by the tree's owner */
        char *dir = tq_path_dirname(o->final_path);
        if (!dir) e = ENOMEM;
        else if (!tq_out_dir_sync_deferred(dir) && tq_fsync_dir(dir) != 0) e = errno;
        free(dir);
    }
    if (o->tmp_path) tq_pending_remove(o->tmp_path);
    free(o->tmp_path); o->tmp_path = NULL;
    if (e) {   /* named, but maybe not durable: say so rather than claim success */
        tq_err(err, TQ_E_IO, "%s: written, but the final close/fsync failed: %s", o->final_path, strerror(e));
        unlink(o->final_path);
        free(o->final_path); o->final_path = NULL;
        return TQ_E_IO;
    }
    free(o->final_path); o->final_path = NULL;
    return TQ_OK;
}

void tq_out_abort(tq_outfile *o) {
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    unname(o);
    if (o->tmp_path) { unlink(o->tmp_path); tq_pending_remove(o->tmp_path); }
    free(o->tmp_path); o->tmp_path = NULL;
    free(o->final_path); o->final_path = NULL;
}

tq_status tq_write_file_atomic(const char *path, const void *buf, size_t len, tq_error *err) {
    tq_outfile o;
    tq_status st = tq_out_open(&o, path, err);
    if (st) return st;
    if ((st = tq_out_write(&o, buf, len, err))) { tq_out_abort(&o); return st; }
    return tq_out_commit(&o, err);
}

tq_status tq_read_file(const char *path, char **buf, size_t *len, tq_error *err) {
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return tq_err(err, TQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return tq_err(err, TQ_E_IO, "%s: cannot seek", path); }
    long n = ftell(f);
    if (n < 0) { fclose(f); return tq_err(err, TQ_E_IO, "%s: cannot tell size", path); }
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (!b) { fclose(f); return tq_err(err, TQ_E_NOMEM, "%s: out of memory for %ld bytes", path, n); }
    if (fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); fclose(f); return tq_err(err, TQ_E_IO, "%s: short read", path); }
    fclose(f);
    b[n] = 0;
    *buf = b;
    if (len) *len = (size_t)n;
    return TQ_OK;
}

/* ---- several outputs committed at once ----------------------------------- */

/* An fsync is a synchronous write of the file's last pages and its inode and
 * a device cache flush: mostly waiting. Outputs that are all needed before the
 * next step (the weights and conversion_metadata.json; a model's side files)
 * are committed on one thread each, so those waits overlap instead of adding
 * up. Each commit is tq_out_commit, unchanged (fsync, then the name). */
enum { COMMIT_THREADS = 16 };
typedef struct commit_job { tq_outfile *o; tq_status st; tq_error err; } commit_job;

static void *commit_main(void *a) {
    commit_job *j = a;
    j->st = tq_out_commit(j->o, &j->err);
    return NULL;
}

tq_status tq_out_commit_all(tq_outfile *const *o, int n, tq_error *err) {
    tq_status first = TQ_OK;
    for (int b = 0; b < n; b += COMMIT_THREADS) {
        int k = n - b < COMMIT_THREADS ? n - b : COMMIT_THREADS;
        commit_job job[COMMIT_THREADS];
        pthread_t th[COMMIT_THREADS];
        bool started[COMMIT_THREADS] = {false};
        for (int i = 0; i < k; i++) {
            job[i] = (commit_job){o[b + i], TQ_OK, {0}};
            if (i > 0) started[i] = pthread_create(&th[i], NULL, commit_main, &job[i]) == 0;
        }
        commit_main(&job[0]);
        for (int i = 1; i < k; i++) {
            if (started[i]) pthread_join(th[i], NULL);
            else commit_main(&job[i]);   /* no thread: here */
        }
        for (int i = 0; i < k; i++)
            if (job[i].st && !first) { first = job[i].st; if (err) *err = job[i].err; }
    }
    return first;
}

/* Copy src into the open output o (not committed). */
static tq_status copy_into(const char *src, tq_outfile *o, tq_error *err);

tq_status tq_copy_file_open(const char *src, const char *dst, tq_outfile *o, tq_error *err) {
    tq_status s = tq_out_open(o, dst, err);
    if (s) return s;
    if ((s = copy_into(src, o, err))) tq_out_abort(o);
    return s;
}

tq_status tq_copy_file(const char *src, const char *dst, tq_error *err) {
    tq_outfile o;
    tq_status s = tq_copy_file_open(src, dst, &o, err);
    return s ? s : tq_out_commit(&o, err);
}

static tq_status copy_into(const char *src, tq_outfile *out, tq_error *err) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return tq_err(err, TQ_E_IO, "%s: cannot open: %s", src, strerror(errno));
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) { close(in); return tq_err(err, TQ_E_IO, "%s: not a regular file", src); }
    tq_outfile o = *out;
    tq_status s;
    uint64_t off = 0, size = (uint64_t)st.st_size;
    bool kernel = true;             /* in the kernel where it can; else through a small buffer */
    while (off < size) {
        ssize_t n = kernel ? copy_once(&o, in, off, (size_t)(size - off), off) : 0;
        if (n > 0) { off += (uint64_t)n; continue; }
        if (n < 0) {
            int e = errno;
            close(in);
            return tq_err(err, TQ_E_IO, "%s: copy into %s failed at offset %llu: %s", src, o.final_path,
                          (unsigned long long)off, strerror(e));
        }
        kernel = false;
        char buf[65536];
        ssize_t r = pread(in, buf, sizeof buf, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { close(in); return tq_err(err, TQ_E_IO, "%s: read failed at %llu", src, (unsigned long long)off); }
        if ((s = tq_out_pwrite(&o, buf, (size_t)r, off, err))) { close(in); return s; }
        off += (uint64_t)r;
    }
    close(in);
    o.size = size;
    *out = o;
    return TQ_OK;
}
