/*
 * internal.h — helpers shared by libtrueq's modules. Not part of the public API.
 *
 *   - tq_err():   format a message into a tq_error and return its status.
 *   - checked arithmetic for sizes taken from untrusted files.
 *   - tq_map:     a read-only memory map of a whole file.
 *   - tq_outfile: an output written under a temporary name and renamed on
 *                 commit, so a failed run leaves nothing behind.
 *   - tq_sb:      a growable string buffer.
 */
#ifndef TQ_INTERNAL_H
#define TQ_INTERNAL_H

#include "trueq.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define TQ_UNUSED(x) ((void)(x))

/* Internal invariants only (never for input validation): stays on in release. */
#define TQ_ASSERT(x) do { if (!(x)) tq_assert_fail(#x, __FILE__, __LINE__); } while (0)
void tq_assert_fail(const char *expr, const char *file, int line);

/** Set err (if non-NULL) to status + printf-style message; @return status. */
tq_status tq_err(tq_error *err, tq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/**
 * A callee failed with status st and (maybe) filled err: prefix its message with
 * "prefix: " and set err->status to st (if err is non-NULL).
 * @return st, unchanged: never turns the caller's status into another one.
 */
tq_status tq_err_prefix(tq_error *err, tq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void tq_err_clear(tq_error *err) { if (err) { err->status = TQ_OK; err->msg[0] = 0; } }

/* ---- checked arithmetic: return false on overflow ---------------------- */
static inline bool tq_mul_u64(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool tq_add_u64(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }

/** Product of dims; false if any dim < 0 or the product overflows int64. */
bool tq_shape_numel(int ndim, const int64_t *shape, int64_t *numel);

/* ---- little-endian loads/stores ----------------------------------------- */
static inline uint16_t tq_ld16(const void *p) { const uint8_t *b = p; return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t tq_ld32(const void *p) { const uint8_t *b = p; return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static inline uint64_t tq_ld64(const void *p) { return (uint64_t)tq_ld32(p) | (uint64_t)tq_ld32((const uint8_t *)p + 4) << 32; }
static inline void tq_st16(void *p, uint16_t v) { uint8_t *b = p; b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static inline void tq_st32(void *p, uint32_t v) { uint8_t *b = p; for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static inline void tq_st64(void *p, uint64_t v) { uint8_t *b = p; for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i)); }

/* ---- read-only file map --------------------------------------------------- */
typedef struct tq_map {
    const uint8_t *data;   /* NULL for an empty file */
    uint64_t       size;
    char          *path;   /* owned copy */
    int            fd;     /* kept open (read-only) for pread and in-kernel copies; -1 if none */
    uint64_t       dev, ino;   /* identity and mtime at open (tq_map_check_unchanged) */
    int64_t        mtime_ns;
    uint64_t      *pinned; /* one bit per page copied into private memory by
                              tq_map_pin (owned; NULL for an empty file) */
} tq_map;

/** Map `path` read-only. @return TQ_OK or TQ_E_IO naming the path. */
tq_status tq_map_open(tq_map *m, const char *path, tq_error *err);
void      tq_map_close(tq_map *m);
/** Tell the kernel we are done with [off, off+len): drops it from our RSS
 *  (pages pinned by tq_map_pin are kept). */
void      tq_map_release(const tq_map *m, uint64_t off, uint64_t len);
/** Read [off, off+len) of the mapped file with pread into buf, never through
 *  the map: a file that shrank or fails to read is TQ_E_IO naming the file and
 *  the offset, never SIGBUS (the rule for readers, docs/robustness.md). */
tq_status tq_map_read(const tq_map *m, uint64_t off, void *buf, size_t len, tq_error *err);
/**
 * Make [off, off+len) of the map safe to read in place (the rule for headers
 * parsed where they lie, docs/robustness.md): the pages holding it are read
 * with pread and put at the same addresses as private memory (an anonymous
 * MAP_FIXED overlay), so pointers into the map stay valid and a later read
 * of them can never raise SIGBUS. The range must be read whole: a file that
 * ends before off+len now is TQ_E_IO naming the file and the offset. Bytes of
 * those pages past the range that the file no longer holds read as zeros
 * (and are read again by a later pin that needs them). Pages already read
 * whole are not read again. The range is clipped to the size
 * at open. m == NULL (an image in memory: fuzz targets, tests) does nothing.
 * Not thread-safe: called while a file is being opened and parsed.
 */
tq_status tq_map_pin(const tq_map *m, uint64_t off, uint64_t len, tq_error *err);
/** tq_map_pin without the demand: what the file no longer holds reads as
 *  zeros and is read again (strictly) by the next tq_map_pin that needs it.
 *  For reads that must not fail: content sniffs. Never raises a signal. */
void      tq_map_pin_lax(const tq_map *m, uint64_t off, uint64_t len);
/** TQ_E_IO when the file's size or mtime differs from open time, or its path
 *  now names another file (replaced or removed while being read). */
tq_status tq_map_check_unchanged(const tq_map *m, tq_error *err);

/* ---- atomic output --------------------------------------------------------- */
typedef struct tq_outfile {
    int   fd;
    char *final_path;      /* owned */
    char *tmp_path;        /* owned: NULL for an unnamed O_TMPFILE file, else
                              final_path + ".tq-tmp-<16 random characters>" */
    uint64_t size;         /* bytes written at the end so far (raised atomically:
                              tq_out_pwrite / tq_out_copy_range at disjoint
                              offsets may run on two threads at once) */
    bool  named;           /* given final_path before its fsync (tq_out_name_early): the
                              commit still fsyncs it; an abort unlinks the name */
} tq_outfile;

/** Create the output's temporary file in final_path's directory: unnamed
 *  (O_TMPFILE) where the file system allows, else a fresh random name opened
 *  O_CREAT|O_EXCL|O_NOFOLLOW. Nothing at final_path is opened or followed. */
tq_status tq_out_open(tq_outfile *o, const char *final_path, tq_error *err);
/** Reserve the output's planned size on disk (fallocate; best effort, never
 *  an error): for outputs whose size is known before they are written. */
void      tq_out_reserve(tq_outfile *o, uint64_t size);
/** Append len bytes. */
tq_status tq_out_write(tq_outfile *o, const void *buf, size_t len, tq_error *err);
/** Write len bytes at absolute offset off (the file grows as needed). */
tq_status tq_out_pwrite(tq_outfile *o, const void *buf, size_t len, uint64_t off, tq_error *err);
/** Copy len bytes from fd_in at in_off to offset off, in the kernel when it can
 *  (copy_file_range: the kernel may share or copy the pages, no user-space
 *  pass), else, where it is refused with EXDEV, ENOSYS, EINVAL or EOPNOTSUPP
 *  (or copies nothing), the rest by pread from fd_in into a bounded buffer and
 *  pwrite, at the same offsets: the same bytes either way. A short input is
 *  TQ_E_IO "input offset N: ..."; any other copy_file_range error (EIO,
 *  ENOSPC, ...) is TQ_E_IO "input offset N: copy into PATH at offset M failed:
 *  ERROR". `fallback` (the same bytes in memory) is read only when fd_in < 0. */
tq_status tq_out_copy_range(tq_outfile *o, int fd_in, uint64_t in_off, const void *fallback, size_t len, uint64_t off,
                            tq_error *err);
/** fsync the file, give it final_path (replacing a file or symlink there,
 *  never writing through one), close, fsync the directory. On failure the
 *  temporary is removed and final_path is left as it was. */
tq_status tq_out_commit(tq_outfile *o, tq_error *err);
/** Inside a staging tree (fs_defer.h: a directory nobody sees until its owner
 *  commits the tree) the order of an output's fsync and its name does not
 *  matter before the tree is made visible: give o its final_path now
 *  (truncated to its size; the fd stays open) so that the owner can fsync it
 *  and the tree's directories at once. Outside such a tree: nothing, TQ_OK
 *  (the commit names it after its fsync, as before). tq_out_commit then only
 *  fsyncs and closes it (a failed fsync unlinks the name). */
tq_status tq_out_name_early(tq_outfile *o, tq_error *err);
/** Close and unlink the temporary file, or the name tq_out_name_early gave it
 *  (safe to call after commit: no-op). */
void      tq_out_abort(tq_outfile *o);
/** Write a whole small file atomically. */
tq_status tq_write_file_atomic(const char *path, const void *buf, size_t len, tq_error *err);
/** Register / unregister a path that tq_cleanup_pending removes (a file, or a
 *  directory this run created, with everything in it, when dir is true). At
 *  most 64 at once; extra ones are not tracked. */
void tq_pending_add(const char *path, bool dir);
void tq_pending_remove(const char *path);
/** Copy a file atomically, streaming (in the kernel where possible). */
tq_status tq_copy_file(const char *src, const char *dst, tq_error *err);
/** The copy of tq_copy_file into o (opened for dst here), not yet committed:
 *  give it to tq_out_commit / tq_out_commit_all, or tq_out_abort. On failure
 *  o is already aborted. */
tq_status tq_copy_file_open(const char *src, const char *dst, tq_outfile *o, tq_error *err);
/** tq_out_commit of o[0..n) with their fsyncs overlapping (one thread each,
 *  up to 16 at once; o[0] on the caller). Every output is committed or, where
 *  its commit fails, removed; the status and err are the lowest index's
 *  failure. The commits' order is not fixed (their names are distinct). */
tq_status tq_out_commit_all(tq_outfile *const *o, int n, tq_error *err);
/** fsync a directory / the directory holding path (0, or -1 with errno; a
 *  file system that cannot fsync directories counts as done). */
int tq_fsync_dir(const char *dir);
int tq_fsync_dir_of(const char *path);
/** *out = prefix + 16 random letters/digits (malloc'd). */
tq_status tq_unique_path(const char *prefix, char **out, tq_error *err);

/* ---- an output directory, locked and committed whole (outdir.c) ------------
 * begin: lock PARENT/.NAME.trueq-lock (a second run is refused, naming the
 * holder's pid), remove what killed runs left, create the staging directory;
 * the caller writes every file at tq_outdir_path(name); commit: carry the
 * earlier NAME's other files over, swap the staging directory in
 * (RENAME_EXCHANGE), remove the earlier tree, unlock; abort: remove the
 * staging directory, unlock (NAME untouched). */
typedef struct tq_outdir {
    char *dir;             /* as the caller gave it (messages) */
    char *target;          /* the real path that is replaced */
    char *parent, *base;   /* target = parent/base */
    char *stage;           /* parent/.base.trueq-stage-<random>; NULL once committed */
    char *lock_path;       /* parent/.base.trueq-lock */
    int   lock_fd;
    bool  existed;         /* target existed when the run began */
    bool  inside;          /* a mount point or an unwritable parent: lock and
                              stage inside target, files moved in one by one */
    unsigned mode;         /* the result's permission bits */
} tq_outdir;
tq_status tq_outdir_begin(tq_outdir *od, const char *dir, tq_error *err);
/** Where to write `name` (a path relative to the output directory): malloc'd. */
char     *tq_outdir_path(const tq_outdir *od, const char *name);
/** The path `name` will have once committed (dir/name, for checks and messages). */
char     *tq_outdir_target_path(const tq_outdir *od, const char *name);
tq_status tq_outdir_commit(tq_outdir *od, tq_error *err);
/** tq_outdir_commit, and the commit of nf open outputs written in the stage
 *  (their fsyncs at once with the stage's directories': tq_out_name_early,
 *  then one batch). Every output is committed or removed; on failure the
 *  stage goes, as in tq_outdir_commit (a file's own failure is the one
 *  reported, as tq_out_commit words it). */
tq_status tq_outdir_commit_with(tq_outdir *od, tq_outfile *const *files, int nf, tq_error *err);
void      tq_outdir_abort(tq_outdir *od);
/** Replace the staging path in err's message by the output directory's. */
void      tq_outdir_fix_message(const tq_outdir *od, tq_error *err);

/* ---- fault injection (tests/test_faults.c only) ------------------------------
 * The library asks tq_fault(point, path) before each operation a test may want
 * to fail; it returns 0 (go on) or an errno to fail it with. With no hook set,
 * as in every normal run, it returns 0 and does nothing else. Points: "read"
 * (input reads; from a pool thread when convert streams, one read at a
 * time), "chunk" (each streamed chunk, on the calling thread), "create",
 * "write" (a streamed tensor's from a pool thread, one at a time), "copy" (each
 * copy_file_range of tq_out_copy_range and of the file copies, path = the
 * output's final path; from convert's lane and side-file threads too: an
 * EXDEV/ENOSYS/EINVAL/EOPNOTSUPP there takes the read/write path), "fsync"
 * (outputs; "create" and "fsync" of convert's side files come from its
 * side-file thread, concurrently with the weights'), "fsync-dir" (a directory's fsync: per file
 * outside a staged tree, once per directory at the tree's commit), the commit steps
 * "stage", "tensor", "files", "exchange", "exchanged", "done" (where a test
 * hook may also stop or kill the process). Not part of the public API. */
typedef int (*tq_fault_fn)(void *ud, const char *point, const char *path);
void tq_fault_set(tq_fault_fn fn, void *ud);
int  tq_fault(const char *point, const char *path);

/** Read a whole small file into a NUL-terminated malloc'd buffer. */
tq_status tq_read_file(const char *path, char **buf, size_t *len, tq_error *err);

/* ---- string buffer -------------------------------------------------------- */
/**
 * Make room for one more element in a growable array *v of *cap elements of
 * `elem` bytes holding n: doubles the capacity (first `init`), refusing to go
 * past INT_MAX elements. @return 1, or 0 when out of memory or at the limit
 * (*v and *cap unchanged).
 */
int tq_grow(void **v, int *cap, int n, size_t elem, int init);

typedef struct tq_sb { char *s; size_t len, cap; bool oom; } tq_sb;
void tq_sb_putc(tq_sb *b, char c);
void tq_sb_puts(tq_sb *b, const char *s);
void tq_sb_printf(tq_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append s as a JSON string literal (quotes and escapes included). */
void tq_sb_json_str(tq_sb *b, const char *s);
void tq_sb_free(tq_sb *b);

/* ---- misc ------------------------------------------------------------------ */
char *tq_strdup(const char *s);
char *tq_path_join(const char *dir, const char *name);
char *tq_path_dirname(const char *path);
bool  tq_is_dir(const char *path);
bool  tq_file_exists(const char *path);
/** Shell-style glob match ('*', '?', '[...]'). */
bool  tq_glob_match(const char *pat, const char *s);
/** Convert n elements of dtype t at src to float32. Integer dtypes by value. */
tq_status tq_convert_to_f32(tq_dtype t, const void *src, int64_t n, float *dst, tq_error *err);
/** Convert n float32 values into dtype t (F16/BF16/F32/F64). */
tq_status tq_convert_from_f32(tq_dtype t, const float *src, int64_t n, void *dst, tq_error *err);

#endif
