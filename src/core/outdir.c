/*
 * outdir.c — an output directory written by one run at a time and committed
 * as a whole (docs/robustness.md).
 *
 * For an output directory PARENT/NAME:
 *   - PARENT/.NAME.trueq-lock is the lock: flock(LOCK_EX|LOCK_NB) on it, the
 *     holder's pid written inside. A second run is refused with that pid. The
 *     kernel drops the lock when the holder dies (SIGKILL included); the
 *     holder unlinks the file when it is done, and a run that locked a file
 *     unlinked under it (its inode no longer at the name) retries.
 *   - Everything is written into a fresh staging directory
 *     PARENT/.NAME.trueq-stage-<16 random characters> (mkdir 0700).
 *   - Commit: the files of the earlier NAME that this run does not write are
 *     hard-linked into the staging directory (so they stay), the staging
 *     directory and every directory in it are fsynced (at once, on threads)
 *     and it is swapped with NAME in one step
 *     (renameat2 RENAME_EXCHANGE; a new NAME is a plain rename), the earlier
 *     tree, now at the staging name, is removed and PARENT fsynced.
 *   - Readers of NAME see the earlier complete result or the new one, never
 *     a mix. A run killed at any moment leaves NAME as it was (or absent) and
 *     a staging directory that the next run into NAME removes under the lock.
 *   - Where the exchange is unavailable (a file system without it) NAME is
 *     renamed to PARENT/.NAME.trueq-old-<random> and the staging directory to
 *     NAME; a run killed between the two renames leaves no NAME, and the next
 *     run puts the old one back first.
 *   - Where NAME cannot be swapped (a mount point, or a PARENT this run may
 *     not write), the lock and the staging directory are NAME/.trueq-lock and
 *     NAME/.trueq-stage-<random>, and the files are moved in one rename each
 *     (each file atomic, the directory not).
 */
#define _GNU_SOURCE 1   /* renameat2 */
#include "core/internal.h"
#include "core/fs_defer.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)ftw;
    if (flag == FTW_DP) rmdir(p);
    else unlink(p);
    return 0;
}

/* Remove a tree without following symlinks. */
static void rm_tree(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* The staging tree's directories, collected by nftw (deepest first). */
typedef struct dirlist { char **p; int n, cap; int err; } dirlist;
static _Thread_local dirlist *g_dirs;
static int collect_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)ftw;
    dirlist *d = g_dirs;
    if (flag == FTW_DNR) { d->err = errno ? errno : EACCES; return 1; }
    if (flag != FTW_DP) return 0;
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 8;
        char **np = realloc(d->p, sizeof(char *) * (size_t)cap);
        if (!np) { d->err = ENOMEM; return 1; }
        d->p = np; d->cap = cap;
    }
    if (!(d->p[d->n] = tq_strdup(p))) { d->err = ENOMEM; return 1; }
    d->n++;
    return 0;
}

/* One fsync of the commit's batch: a staged directory, or a file named early
 * in the stage (tq_out_name_early; tq_out_commit fsyncs and closes it). */
typedef struct dsync { const char *dir; tq_outfile *file; int err; tq_status st; tq_error fe; } dsync;
static void *dsync_main(void *a) {
    dsync *j = a;
    if (j->file) j->st = tq_out_commit(j->file, &j->fe);
    else j->err = tq_fsync_dir(j->dir) == 0 ? 0 : (errno ? errno : EIO);
    return NULL;
}

/* fsync every directory of the staging tree (the files below it skipped their
 * per-file directory fsync: fs_defer.h) and the n files named early in it,
 * then stop deferring. They are fsynced at once, one thread each (each fsync
 * is a synchronous write and a device flush: mostly waiting), all before the
 * swap that the caller does next. 0; or -1 with errno (the deepest failing
 * directory's), or a file's failure in *fst / err (that file unnamed). */
enum { DSYNC_THREADS = 16 };
static int sync_stage(tq_outdir *od, tq_outfile *const *files, int nf, tq_status *fst, tq_error *err) {
    dirlist d = {0};
    g_dirs = &d;
    int r = nftw(od->stage, collect_one, 16, FTW_DEPTH | FTW_PHYS);
    g_dirs = NULL;
    int e = r > 0 ? d.err : r < 0 ? errno : 0;
    *fst = TQ_OK;
    for (int b = 0, total = e ? 0 : nf + d.n; b < total; b += DSYNC_THREADS) {
        int k = total - b < DSYNC_THREADS ? total - b : DSYNC_THREADS;
        dsync job[DSYNC_THREADS];
        pthread_t th[DSYNC_THREADS];
        bool started[DSYNC_THREADS] = {false};
        for (int i = 0; i < k; i++) {   /* the files first: the longest waits */
            int q = b + i;
            job[i] = (dsync){q < nf ? NULL : d.p[q - nf], q < nf ? files[q] : NULL, 0, TQ_OK, {0}};
            if (i > 0) started[i] = pthread_create(&th[i], NULL, dsync_main, &job[i]) == 0;
        }
        dsync_main(&job[0]);
        for (int i = 1; i < k; i++) {
            if (started[i]) pthread_join(th[i], NULL);
            else dsync_main(&job[i]);
        }
        for (int i = 0; i < k; i++) {
            if (job[i].st && !*fst) { *fst = job[i].st; if (err) *err = job[i].fe; }
            if (!e) e = job[i].err;
        }
    }
    for (int i = 0; i < nf; i++) tq_out_abort(files[i]);   /* one not reached (a failed listing): no name left */
    for (int i = 0; i < d.n; i++) free(d.p[i]);
    free(d.p);
    tq_out_defer_dir_sync(od->stage, false);
    if (*fst) return -1;
    errno = e;
    return e ? -1 : 0;
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* The names a killed earlier trueq left: never carried into a new result. */
static bool is_debris(const char *name) {
    return strstr(name, ".tq-tmp-") != NULL || strstr(name, ".trueq-prev") != NULL || has_prefix(name, ".trueq-");
}

/* PARENT/.NAME.trueq-KIND, or NAME/.trueq-KIND when staging inside. */
static char *sibling(const tq_outdir *od, const char *kind) {
    tq_sb b = {0};
    if (od->inside) tq_sb_printf(&b, "%s/.trueq-%s", od->target, kind);
    else tq_sb_printf(&b, "%s/.%s.trueq-%s", od->parent, od->base, kind);
    if (b.oom) { tq_sb_free(&b); return NULL; }
    return b.s;
}

/* Resolve dir to the directory that will be replaced: PARENT (real path) and NAME. */
static tq_status resolve(tq_outdir *od, const char *dir, tq_error *err) {
    char buf[PATH_MAX];
    struct stat st;
    if (lstat(dir, &st) == 0) {
        if (!realpath(dir, buf)) return tq_err(err, TQ_E_IO, "%s: cannot resolve the output directory: %s", dir, strerror(errno));
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return tq_err(err, TQ_E_IO, "%s: cannot create output directory: it exists and is not a directory", dir);
        od->existed = true;
        od->mode = st.st_mode & 07777;
        if (!(st.st_mode & S_IWUSR) || access(buf, W_OK) != 0)
            return tq_err(err, TQ_E_IO, "%s: output directory is read-only; trueq leaves it as it is "
                          "(make it writable or choose another)", dir);
        od->target = tq_strdup(buf);
    } else {
        char *pd = tq_path_dirname(dir);
        const char *b = strrchr(dir, '/');
        b = b ? b + 1 : dir;
        if (!pd) return tq_err(err, TQ_E_NOMEM, "out of memory");
        if (!realpath(pd, buf)) {
            int e = errno;
            free(pd);
            return tq_err(err, TQ_E_IO, "%s: cannot create output directory: %s", dir, strerror(e));
        }
        free(pd);
        if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
            return tq_err(err, TQ_E_ARG, "%s: not a directory name trueq can create", dir);
        od->target = tq_path_join(buf, b);
    }
    if (!od->target) return tq_err(err, TQ_E_NOMEM, "out of memory");
    if (strcmp(od->target, "/") == 0) return tq_err(err, TQ_E_ARG, "/: trueq does not replace the root directory");
    od->parent = tq_path_dirname(od->target);
    const char *b = strrchr(od->target, '/');
    od->base = tq_strdup(b ? b + 1 : od->target);
    if (!od->parent || !od->base) return tq_err(err, TQ_E_NOMEM, "out of memory");
    /* A NAME that is a mount point, or whose PARENT this run may not write,
     * cannot be swapped: stage inside it and move the files in one by one. */
    struct stat ts, ps;
    if (od->existed && stat(od->target, &ts) == 0 && stat(od->parent, &ps) == 0 &&
        (ts.st_dev != ps.st_dev || access(od->parent, W_OK) != 0 || !(ps.st_mode & S_IWUSR)))
        od->inside = true;
    return TQ_OK;
}

static tq_status lock(tq_outdir *od, tq_error *err) {
    if (!(od->lock_path = sibling(od, "lock"))) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(od->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return tq_err(err, TQ_E_IO, "%s: cannot create the lock file %s: %s", od->dir, od->lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char pid[32] = {0};
            ssize_t r = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
            close(fd);
            if (e != EWOULDBLOCK)
                return tq_err(err, TQ_E_IO, "%s: cannot lock %s: %s", od->dir, od->lock_path, strerror(e));
            long holder = r > 0 ? strtol(pid, NULL, 10) : 0;
            if (holder > 0)
                return tq_err(err, TQ_E_IO, "%s: another trueq run (pid %ld) is writing this output directory; "
                              "wait for it to finish or choose another", od->dir, holder);
            return tq_err(err, TQ_E_IO, "%s: another trueq run (pid not yet recorded in %s) is writing this output "
                          "directory; wait for it to finish or choose another", od->dir, od->lock_path);
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && lstat(od->lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) { /* the lock holds without the pid */ }
            od->lock_fd = fd;
            tq_pending_add(od->lock_path, false);
            return TQ_OK;
        }
        close(fd);   /* the holder before us removed it after we opened it: take the new one */
    }
    return tq_err(err, TQ_E_IO, "%s: cannot take the lock %s (it keeps being replaced)", od->dir, od->lock_path);
}

static void unlock(tq_outdir *od) {
    if (od->lock_fd >= 0) {
        unlink(od->lock_path);   /* while still held: see lock() */
        tq_pending_remove(od->lock_path);
        close(od->lock_fd);
    }
    od->lock_fd = -1;
}

/* Under the lock: remove what killed runs left; put back a NAME that a
 * killed fallback commit had moved aside. */
static void clean_stale(tq_outdir *od) {
    char *stage = sibling(od, "stage-"), *old = sibling(od, "old-");
    const char *where = od->inside ? od->target : od->parent;
    DIR *d = stage && old ? opendir(where) : NULL;
    const char *sp = stage ? strrchr(stage, '/') + 1 : "", *op = old ? strrchr(old, '/') + 1 : "";
    struct dirent *de;
    while (d && (de = readdir(d))) {
        bool is_stage = has_prefix(de->d_name, sp), is_old = has_prefix(de->d_name, op);
        if (!is_stage && !is_old) continue;
        char *p = tq_path_join(where, de->d_name);
        if (!p) continue;
        struct stat st;
        if (is_old && !od->existed && lstat(od->target, &st) != 0 && rename(p, od->target) == 0) od->existed = true;
        else rm_tree(p);
        free(p);
    }
    if (d) closedir(d);
    free(stage);
    free(old);
}

static tq_status injected(const tq_outdir *od, const char *point, tq_error *err) {
    int e = tq_fault(point, od->stage);
    return e ? tq_err(err, TQ_E_IO, "%s: %s: %s (injected)", od->dir, point, strerror(e)) : TQ_OK;
}

tq_status tq_outdir_begin(tq_outdir *od, const char *dir, tq_error *err) {
    memset(od, 0, sizeof *od);
    od->lock_fd = -1;
    od->mode = 0755;
    tq_status st = TQ_OK;
    if (!(od->dir = tq_strdup(dir))) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    if ((st = resolve(od, dir, err)) || (st = lock(od, err))) goto fail;
    clean_stale(od);
    if (od->existed) {   /* it may have been put back, or changed before we locked */
        struct stat s2;
        if (stat(od->target, &s2) == 0) od->mode = s2.st_mode & 07777;
    }
    char *pre = sibling(od, "stage-");
    if (!pre) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int tries = 0; tries < 16 && !od->stage; tries++) {
        if ((st = tq_unique_path(pre, &od->stage, err))) break;
        int inj = tq_fault("create", od->stage);
        if ((inj ? (errno = inj, -1) : mkdir(od->stage, 0700)) == 0) break;
        int e = errno;
        free(od->stage);
        od->stage = NULL;
        if (e != EEXIST) { st = tq_err(err, TQ_E_IO, "%s: cannot create output directory: %s", dir, strerror(e)); break; }
    }
    free(pre);
    if (!od->stage && !st) st = tq_err(err, TQ_E_IO, "%s: cannot create a staging directory beside it", dir);
    if (st) goto fail;
    tq_pending_add(od->stage, true);
    tq_out_defer_dir_sync(od->stage, true);   /* its directories are fsynced once, at commit */
    if ((st = injected(od, "stage", err))) goto fail;
    return TQ_OK;
fail:
    tq_outdir_abort(od);
    return st;
}

char *tq_outdir_path(const tq_outdir *od, const char *name) { return tq_path_join(od->stage, name); }

char *tq_outdir_target_path(const tq_outdir *od, const char *name) { return tq_path_join(od->dir, name); }

/* Hard-link (or copy) into dst every entry of src that dst lacks, recursively. */
static tq_status carry_over(const char *src, const char *dst, int depth, tq_error *err) {
    if (depth > 32) return tq_err(err, TQ_E_LIMIT, "%s: more than 32 directory levels to carry over", src);
    DIR *d = opendir(src);
    if (!d) return tq_err(err, TQ_E_IO, "%s: cannot read the earlier output: %s", src, strerror(errno));
    tq_status st = TQ_OK;
    struct dirent *de;
    while (!st && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || is_debris(de->d_name)) continue;
        char *s = tq_path_join(src, de->d_name), *t = tq_path_join(dst, de->d_name);
        struct stat ss, ts;
        if (!s || !t) st = tq_err(err, TQ_E_NOMEM, "out of memory");
        else if (lstat(s, &ss) != 0) { /* gone meanwhile */ }
        else if (lstat(t, &ts) == 0) {   /* this run wrote that name: it wins, except inside directories */
            if (S_ISDIR(ss.st_mode) && S_ISDIR(ts.st_mode)) st = carry_over(s, t, depth + 1, err);
        } else if (S_ISDIR(ss.st_mode)) {
            if (mkdir(t, ss.st_mode & 07777) != 0) st = tq_err(err, TQ_E_IO, "%s: cannot create: %s", t, strerror(errno));
            else st = carry_over(s, t, depth + 1, err);
        } else if (linkat(AT_FDCWD, s, AT_FDCWD, t, 0) != 0) {   /* a symlink is linked as itself */
            if (S_ISREG(ss.st_mode)) st = tq_copy_file(s, t, err);
            else st = tq_err(err, TQ_E_IO, "%s: cannot carry the earlier output's file over: %s", s, strerror(errno));
        }
        free(s);
        free(t);
    }
    closedir(d);
    return st;
}

/* Move every entry of src into dst, one rename each (the mount-point path). */
static tq_status move_into(const char *src, const char *dst, tq_error *err) {
    DIR *d = opendir(src);
    if (!d) return tq_err(err, TQ_E_IO, "%s: cannot read: %s", src, strerror(errno));
    tq_status st = TQ_OK;
    struct dirent *de;
    while (!st && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *s = tq_path_join(src, de->d_name), *t = tq_path_join(dst, de->d_name);
        struct stat ss, ts;
        if (!s || !t) st = tq_err(err, TQ_E_NOMEM, "out of memory");
        else if (lstat(s, &ss) == 0 && S_ISDIR(ss.st_mode) && lstat(t, &ts) == 0 && S_ISDIR(ts.st_mode))
            st = move_into(s, t, err);
        else if (rename(s, t) != 0)
            st = tq_err(err, TQ_E_IO, "%s: cannot move into place: %s", t, strerror(errno));
        free(s);
        free(t);
    }
    closedir(d);
    return st;
}

tq_status tq_outdir_commit(tq_outdir *od, tq_error *err) { return tq_outdir_commit_with(od, NULL, 0, err); }

/* sync_stage's failure as the commit's status. */
static tq_status stage_failed(const tq_outdir *od, tq_status fst, tq_error *err) {
    return fst ? fst : tq_err(err, TQ_E_IO, "%s: cannot finish the output directory: %s", od->dir, strerror(errno));
}

tq_status tq_outdir_commit_with(tq_outdir *od, tq_outfile *const *files, int nf, tq_error *err) {
    tq_status st, fst;
    if (!od->stage) {
        for (int i = 0; i < nf; i++) tq_out_abort(files[i]);
        return tq_err(err, TQ_E_INTERNAL, "commit of an output directory not begun");
    }
    if ((st = injected(od, "files", err))) goto fail;
    for (int i = 0; i < nf; i++)   /* their names first: the stage's directories are fsynced with them */
        if ((st = tq_out_name_early(files[i], err))) goto fail;
    if (od->inside) {   /* staged inside NAME: file by file, each rename atomic */
        if (sync_stage(od, files, nf, &fst, err) != 0) { st = stage_failed(od, fst, err); goto fail; }
        if ((st = injected(od, "exchange", err)) || (st = move_into(od->stage, od->target, err))) goto fail;
        tq_fault("exchanged", od->target);
        rm_tree(od->stage);
        tq_fsync_dir(od->target);
        tq_fault("done", od->target);
        tq_pending_remove(od->stage);
        free(od->stage);
        od->stage = NULL;
        tq_outdir_abort(od);
        return TQ_OK;
    }
    if (od->existed && (st = carry_over(od->target, od->stage, 0, err))) goto fail;
    if (chmod(od->stage, od->mode) != 0) {
        st = tq_err(err, TQ_E_IO, "%s: cannot finish the output directory: %s", od->dir, strerror(errno));
        goto fail;
    }
    if (sync_stage(od, files, nf, &fst, err) != 0) { st = stage_failed(od, fst, err); goto fail; }
    if ((st = injected(od, "exchange", err))) goto fail;
    if (!od->existed) {
        int r = renameat2(AT_FDCWD, od->stage, AT_FDCWD, od->target, RENAME_NOREPLACE);
        if (r != 0 && (errno == EINVAL || errno == ENOSYS)) r = rename(od->stage, od->target);
        if (r != 0) {
            st = tq_err(err, TQ_E_IO, "%s: cannot move the output directory into place: %s", od->dir, strerror(errno));
            goto fail;
        }
        tq_pending_remove(od->stage);
        free(od->stage);
        od->stage = NULL;
    } else if (renameat2(AT_FDCWD, od->stage, AT_FDCWD, od->target, RENAME_EXCHANGE) == 0) {
        /* the earlier tree is now at od->stage */
    } else if (errno == EXDEV || errno == EBUSY) {   /* a mount point: file by file */
        if ((st = move_into(od->stage, od->target, err))) goto fail;
    } else {
        char *old = NULL, *pre = sibling(od, "old-");
        st = pre ? tq_unique_path(pre, &old, err) : tq_err(err, TQ_E_NOMEM, "out of memory");
        free(pre);
        if (st) goto fail;
        if (rename(od->target, old) != 0) {
            st = tq_err(err, TQ_E_IO, "%s: cannot move the earlier output aside: %s", od->dir, strerror(errno));
            free(old);
            goto fail;
        }
        if (rename(od->stage, od->target) != 0) {
            st = tq_err(err, TQ_E_IO, "%s: cannot move the output directory into place: %s", od->dir, strerror(errno));
            rename(old, od->target);
            free(old);
            goto fail;
        }
        tq_pending_remove(od->stage);
        free(od->stage);
        od->stage = old;   /* removed below */
        tq_pending_add(od->stage, true);
    }
    tq_fault("exchanged", od->target);
    if (od->stage) rm_tree(od->stage);
    tq_fsync_dir(od->parent);
    tq_fault("done", od->target);
    if (od->stage) tq_pending_remove(od->stage);
    free(od->stage);
    od->stage = NULL;
    tq_outdir_abort(od);
    return TQ_OK;
fail:
    for (int i = 0; i < nf; i++) tq_out_abort(files[i]);
    tq_outdir_fix_message(od, err);
    tq_outdir_abort(od);
    return st;
}

void tq_outdir_abort(tq_outdir *od) {
    if (od->stage) {
        tq_out_defer_dir_sync(od->stage, false);
        rm_tree(od->stage);
        tq_pending_remove(od->stage);
        free(od->stage);
        od->stage = NULL;
    }
    unlock(od);
    free(od->lock_path);
    free(od->dir);
    free(od->target);
    free(od->parent);
    free(od->base);
    memset(od, 0, sizeof *od);
    od->lock_fd = -1;
}

void tq_outdir_fix_message(const tq_outdir *od, tq_error *err) {
    if (!err || !od->stage || !od->dir) return;
    char *hit = strstr(err->msg, od->stage);
    if (!hit) return;
    char out[sizeof err->msg];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(hit - err->msg), err->msg, od->dir, hit + strlen(od->stage));
    memcpy(err->msg, out, sizeof out);
}
