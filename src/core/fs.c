/*
 * fs.c — read-only file maps, atomic outputs (temp name + rename), small-file
 * helpers and paths.
 */
#define _GNU_SOURCE 1   /* copy_file_range */
#include "core/internal.h"
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

void tq_cleanup_pending(void) {
    /* files first (newest last registered), then directories */
    for (int i = TQ_MAX_PENDING - 1; i >= 0; i--) { char *p = g_pending[i]; if (p && !g_pending_dir[i]) unlink(p); }
    for (int i = TQ_MAX_PENDING - 1; i >= 0; i--) { char *p = g_pending[i]; if (p && g_pending_dir[i]) rmdir(p); }
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
    if (m->size > 0) {
        void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno; close(fd);
            return tq_err(err, TQ_E_IO, "%s: cannot map %llu bytes: %s", path, (unsigned long long)m->size, strerror(e));
        }
        m->data = p;
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
    memset(m, 0, sizeof *m);
    m->fd = -1;
}

void tq_map_release(const tq_map *m, uint64_t off, uint64_t len) {
    if (!m->data || off >= m->size) return;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t start = off - off % (uint64_t)pg;
    uint64_t end = off + len > m->size ? m->size : off + len;
    if (end <= start) return;
    madvise((void *)(m->data + start), (size_t)(end - start), MADV_DONTNEED);
}

tq_status tq_out_open(tq_outfile *o, const char *final_path, tq_error *err) {
    memset(o, 0, sizeof *o);
    o->fd = -1;
    size_t n = strlen(final_path) + 40;
    o->tmp_path = malloc(n);
    o->final_path = tq_strdup(final_path);
    if (!o->tmp_path || !o->final_path) {
        free(o->tmp_path); free(o->final_path);
        o->tmp_path = o->final_path = NULL;
        return tq_err(err, TQ_E_NOMEM, "out of memory");
    }
    snprintf(o->tmp_path, n, "%s.tq-tmp-%ld", final_path, (long)getpid());
    tq_pending_add(o->tmp_path, false);
    o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        int e = errno;
        tq_err(err, TQ_E_IO, "%s: cannot create: %s", o->tmp_path, strerror(e));
        tq_pending_remove(o->tmp_path);
        free(o->tmp_path); o->tmp_path = NULL;
        tq_out_abort(o);
        return TQ_E_IO;
    }
    return TQ_OK;
}

tq_status tq_out_pwrite(tq_outfile *o, const void *buf, size_t len, uint64_t off, tq_error *err) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(o->fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return tq_err(err, TQ_E_IO, "%s: write failed at offset %llu: %s", o->final_path,
                          (unsigned long long)off, strerror(errno));
        }
        p += w; len -= (size_t)w; off += (uint64_t)w;
    }
    if (off > o->size) o->size = off;
    return TQ_OK;
}

tq_status tq_out_write(tq_outfile *o, const void *buf, size_t len, tq_error *err) {
    return tq_out_pwrite(o, buf, len, o->size, err);
}

tq_status tq_out_copy_range(tq_outfile *o, int fd_in, uint64_t in_off, const void *fallback, size_t len, uint64_t off,
                            tq_error *err) {
    size_t done = 0;
    while (fd_in >= 0 && done < len) {
        loff_t io = (loff_t)(in_off + done), oo = (loff_t)(off + done);
        ssize_t n = copy_file_range(fd_in, &io, o->fd, &oo, len - done, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;                       /* unsupported here (EXDEV, ENOSYS, ...): finish with pwrite */
        }
        done += (size_t)n;
    }
    if (off + done > o->size) o->size = off + done;
    if (done == len) return TQ_OK;
    return tq_out_pwrite(o, (const uint8_t *)fallback + done, len - done, off + done, err);
}

tq_status tq_out_commit(tq_outfile *o, tq_error *err) {
    if (o->fd < 0) return tq_err(err, TQ_E_INTERNAL, "commit of a closed output");
    if (ftruncate(o->fd, (off_t)o->size) != 0 || close(o->fd) != 0) {
        o->fd = -1;
        tq_err(err, TQ_E_IO, "%s: cannot finish writing: %s", o->final_path, strerror(errno));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    o->fd = -1;
    if (rename(o->tmp_path, o->final_path) != 0) {
        tq_err(err, TQ_E_IO, "%s: cannot rename into place: %s", o->final_path, strerror(errno));
        tq_out_abort(o);
        return TQ_E_IO;
    }
    tq_pending_remove(o->tmp_path);
    free(o->tmp_path); o->tmp_path = NULL;
    free(o->final_path); o->final_path = NULL;
    return TQ_OK;
}

void tq_out_abort(tq_outfile *o) {
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
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

tq_status tq_copy_file(const char *src, const char *dst, tq_error *err) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return tq_err(err, TQ_E_IO, "%s: cannot open: %s", src, strerror(errno));
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) { close(in); return tq_err(err, TQ_E_IO, "%s: not a regular file", src); }
    tq_outfile o;
    tq_status s = tq_out_open(&o, dst, err);
    if (s) { close(in); return s; }
    uint64_t off = 0, size = (uint64_t)st.st_size;
    while (off < size) {            /* in the kernel where it can; else through a small buffer */
        loff_t io = (loff_t)off, oo = (loff_t)off;
        ssize_t n = copy_file_range(in, &io, o.fd, &oo, (size_t)(size - off), 0);
        if (n > 0) { off += (uint64_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        char buf[65536];
        ssize_t r = pread(in, buf, sizeof buf, (off_t)off);
        if (r <= 0) { close(in); tq_out_abort(&o); return tq_err(err, TQ_E_IO, "%s: read failed at %llu", src, (unsigned long long)off); }
        if ((s = tq_out_pwrite(&o, buf, (size_t)r, off, err))) { close(in); tq_out_abort(&o); return s; }
        off += (uint64_t)r;
    }
    close(in);
    o.size = size;
    return tq_out_commit(&o, err);
}
