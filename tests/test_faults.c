/*
 * test_faults.c — the fault-injection matrix of issue 14: for each fault, the
 * expected status and message, and afterwards an output directory that is
 * empty (absent) or exactly as it was, with no temporary, staging or lock
 * file left beside it.
 *
 * Faults are injected through the library's test-only hook (tq_fault_set,
 * src/core/fault.c): it fails a read/write/fsync with an errno, truncates or
 * replaces the input at its first read, blocks at a commit step (for the
 * concurrent-run case) or kills the process with SIGKILL at a named step (in
 * a forked child). A real full file system is a 16 KiB tmpfs where mounting
 * is allowed (root), else that one case is skipped; the injected ENOSPC runs
 * everywhere.
 */
#define _GNU_SOURCE 1
#include "tq_test.h"
#include "core/internal.h"
#include "io/writer.h"
#include "dir_snap.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ===== the hook ============================================================ */

typedef enum { ACT_ERRNO, ACT_TRUNCATE, ACT_REPLACE, ACT_KILL, ACT_BLOCK } act;
typedef struct fault {
    const char *point;   /* which tq_fault point */
    int skip;            /* act on the (skip+1)-th call */
    act what;
    int err;             /* ACT_ERRNO */
    const char *file;    /* ACT_TRUNCATE / ACT_REPLACE: the input file */
    int to_parent, from_parent;   /* ACT_BLOCK: pipes */
    int calls;
} fault;

static int hook(void *ud, const char *point, const char *path) {
    fault *f = ud;
    (void)path;
    /* points come from several threads (pool reads/writes, convert's side-file thread) */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    if (strcmp(point, f->point) != 0) return 0;
    pthread_mutex_lock(&mu);
    int mine = f->calls++;
    pthread_mutex_unlock(&mu);
    if (mine != f->skip) return 0;
    switch (f->what) {
    case ACT_ERRNO: return f->err;
    case ACT_TRUNCATE: if (truncate(f->file, 100) != 0) abort(); return 0;
    case ACT_REPLACE: {
        char tmp[1200];
        snprintf(tmp, sizeof tmp, "%s.new", f->file);
        if (tq_t_write(tmp, "replaced", 8) != 0 || rename(tmp, f->file) != 0) abort();
        return 0;
    }
    case ACT_KILL: raise(SIGKILL); return 0;
    case ACT_BLOCK: {
        char c = 1;
        if (write(f->to_parent, &c, 1) != 1 || read(f->from_parent, &c, 1) != 1) abort();
        return 0;
    }
    }
    return 0;
}

/* ===== a model and snapshots of directories ================================= */

static char g_in[1024], g_model[1100];

static void write_model(const char *dir) {
    mkdir(dir, 0755);
    static const snap_tensor T[] = {
        {"layer.0.attn.q.weight", TQ_DTYPE_F32, 96, 64}, {"layer.0.attn.q.bias", TQ_DTYPE_F32, 96, 0},
        {"layer.0.ffn.up.weight", TQ_DTYPE_F32, 128, 64}, {"layer.0.ffn.down.weight", TQ_DTYPE_BF16, 64, 128},
        {"norm.weight", TQ_DTYPE_F32, 64, 0},
        /* over convert's 4 MiB row chunk: 2730 rows, then a last chunk of 1 */
        {"layer.0.ffn.wide.weight", TQ_DTYPE_F32, 2731, 384}};
    snap_write_model(dir, T, (int)(sizeof T / sizeof T[0]), 7, "{\"model_type\": \"test\"}\n");
    char p[1100];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    tq_t_write(p, "{\"model\": {}}\n", 14);
}

static tq_status convert_bits(const char *in, const char *out, int bits, tq_error *e) {
    return snap_convert(in, out, bits, 0, e);
}

static tq_status convert(const char *in, const char *out, tq_error *e) { return convert_bits(in, out, 0, e); }

static bool exists(const char *p) { struct stat st; return lstat(p, &st) == 0; }

/* A fresh output directory holding a complete earlier result (4 bits). */
static const char *earlier(const char *name) {
    static char ring[64][1024];   /* its own, so later tq_t_path calls never overwrite it */
    static int k;
    char *out = ring[k++ % 64];
    snprintf(out, sizeof ring[0], "%s", tq_t_path(name));
    tq_error e;
    if (convert_bits(g_in, out, 4, &e)) { fprintf(stderr, "earlier run: %s\n", e.msg); exit(1); }
    return out;
}

/* Run a conversion (8 bits) into out with fault f; expect status want and a
 * message holding msg; then out must be exactly `before` and debris-free. */
static void expect_fault(const char *what, const char *out, fault f, tq_status want, const char *msg) {
    char *before = snap(out);
    tq_error e;
    tq_fault_set(hook, &f);
    tq_status st = convert_bits(g_in, out, 8, &e);
    tq_fault_set(NULL, NULL);
    CHECK_MSG(st == want && strstr(e.msg, msg) != NULL, "%s: status %d \"%s\", want %d with \"%s\"", what, (int)st, e.msg,
              (int)want, msg);
    char *after = snap(out);
    CHECK_MSG(strcmp(before, after) == 0, "%s: the output directory changed:\n--- before\n%s--- after\n%s", what, before, after);
    CHECK_MSG(debris(out) == 0, "%s: temporary, staging or lock files left beside %s", what, out);
    free(before);
    free(after);
}

/* ===== the matrix ============================================================ */

static void input_faults(void) {
    TQ_CASE("input truncated mid-read: TQ_E_IO naming the file and offset, output unchanged / absent");
    char victim[1100], vdir[1024];
    snprintf(vdir, sizeof vdir, "%s", tq_t_path("in_trunc"));
    write_model(vdir);
    snprintf(victim, sizeof victim, "%s/model.safetensors", vdir);
    char saved_in[1024];
    snprintf(saved_in, sizeof saved_in, "%s", g_in);
    snprintf(g_in, sizeof g_in, "%s", vdir);
    const char *out = earlier("out_trunc");
    fault f = {.point = "read", .what = ACT_TRUNCATE, .file = victim};
    expect_fault("truncated", out, f, TQ_E_IO, "model.safetensors: the file ends at offset");
    write_model(vdir);
    expect_fault("truncated, new output", tq_t_path("out_trunc_new"), f, TQ_E_IO, "shrank or was rewritten while trueq read it");
    CHECK(!exists(tq_t_path("out_trunc_new")));

    TQ_CASE("input replaced mid-read: refused before anything is committed");
    write_model(vdir);
    out = earlier("out_repl");
    fault r = {.point = "read", .what = ACT_REPLACE, .file = victim};
    expect_fault("replaced", out, r, TQ_E_IO, "model.safetensors: the file was replaced or removed while trueq read it");
    write_model(vdir);
    fault ei = {.point = "read", .what = ACT_ERRNO, .err = EIO, .skip = 1};
    expect_fault("EIO on read", out, ei, TQ_E_IO, "model.safetensors: read failed at offset");
    snprintf(g_in, sizeof g_in, "%s", saved_in);
}

static void write_faults(void) {
    TQ_CASE("ENOSPC and EIO on write, EIO on fsync: named error, output unchanged / absent");
    const char *out = earlier("out_enospc");
    tq_error e0;
    fault f = {.point = "write", .what = ACT_ERRNO, .err = ENOSPC, .skip = 2};
    expect_fault("ENOSPC", out, f, TQ_E_IO, "/model.safetensors: write failed at offset");
    expect_fault("ENOSPC msg", out, f, TQ_E_IO, "No space left on device");
    expect_fault("ENOSPC new", tq_t_path("out_enospc_new"), f, TQ_E_IO, "No space left on device");
    CHECK(!exists(tq_t_path("out_enospc_new")));
    fault eio = {.point = "write", .what = ACT_ERRNO, .err = EIO, .skip = 0};
    expect_fault("EIO", out, eio, TQ_E_IO, "Input/output error");
    fault fc = {.point = "chunk", .what = ACT_ERRNO, .err = EIO, .skip = 1};
    expect_fault("fault in the second row chunk", out, fc, TQ_E_IO, "injected fault in a chunk");
    expect_fault("fault in the second row chunk, new output", tq_t_path("out_chunk_new"), fc, TQ_E_IO, "injected fault in a chunk");
    CHECK(!exists(tq_t_path("out_chunk_new")));
    fault fs = {.point = "fsync", .what = ACT_ERRNO, .err = EIO, .skip = 1};
    expect_fault("EIO fsync", out, fs, TQ_E_IO, "cannot finish writing: Input/output error");
    fault cr = {.point = "create", .what = ACT_ERRNO, .err = EDQUOT, .skip = 0};
    expect_fault("EDQUOT create", out, cr, TQ_E_IO, "Disk quota exceeded");
    /* the message names the output directory, not the staging directory */
    expect_fault("named", out, f, TQ_E_IO, out);

    TQ_CASE("without O_TMPFILE: random temporary names, same result, nothing left");
    {
        char ref[1100];
        snprintf(ref, sizeof ref, "%s", tq_t_path("notmp_ref"));
        CHECK_OK(convert_bits(g_in, ref, 8, &e0), e0);
        fault nt = {.point = "create", .what = ACT_ERRNO, .err = EOPNOTSUPP, .skip = 0};
        for (int k = 0; k < 4; k++) {   /* create #0 is the staging directory; then the weights, the metadata, the side files */
            nt.skip = k + 1;
            nt.calls = 0;
            tq_fault_set(hook, &nt);
            CHECK_OK(convert_bits(g_in, out, 8, &e0), e0);
            tq_fault_set(NULL, NULL);
            CHECK_MSG(nt.calls > k, "create #%d was not reached", k);
            char *a = snap(out), *b = snap(ref);
            CHECK_MSG(strcmp(a, b) == 0, "fallback #%d: result differs", k);
            CHECK(debris(out) == 0);
            free(a); free(b);
        }
        fault nt2 = {.point = "create", .what = ACT_ERRNO, .err = EOPNOTSUPP, .skip = 0};
        tq_outfile of;
        char fin[1100];
        snprintf(fin, sizeof fin, "%s", tq_t_path("named_tmp.bin"));
        tq_fault_set(hook, &nt2);
        CHECK_OK(tq_out_open(&of, fin, &e0), e0);
        tq_fault_set(NULL, NULL);
        CHECK_MSG(of.tmp_path && strstr(of.tmp_path, "named_tmp.bin.tq-tmp-") && strlen(strrchr(of.tmp_path, '-') + 1) == 16,
                  "%s", of.tmp_path ? of.tmp_path : "(unnamed)");
        struct stat st;
        CHECK(of.tmp_path && lstat(of.tmp_path, &st) == 0 && S_ISREG(st.st_mode));
        CHECK_OK(tq_out_write(&of, "abc", 3, &e0), e0);
        CHECK_OK(tq_out_commit(&of, &e0), e0);
        CHECK(lstat(fin, &st) == 0 && st.st_size == 3);
    }

    TQ_CASE("a real full file system (a 16 KiB tmpfs): ENOSPC named, nothing left");
    char mnt[1024];
    snprintf(mnt, sizeof mnt, "%s", tq_t_path("small_fs"));
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=16k") != 0) TQ_SKIP("cannot mount a tmpfs here (not root?)");
    char dst[1100];
    snprintf(dst, sizeof dst, "%s/out", mnt);
    tq_error e;
    tq_status st = convert(g_in, dst, &e);   /* 8-bit codes of 22 K weights plus kept tensors: > 16 KiB */
    CHECK_ERR(st, e, TQ_E_IO, "No space left on device");
    CHECK_MSG(strstr(e.msg, dst) != NULL, "%s", e.msg);
    CHECK(!exists(dst) && debris(dst) == 0);
    DIR *d = opendir(mnt);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d) closedir(d);
    CHECK_EQ_INT(n, 0);   /* the file system is as empty as it was */
    umount(mnt);
}

/* SIGKILL in a child at `point`: afterwards the output is the earlier result
 * (or absent), or — past the exchange — the new complete one; the next run
 * clears what the killed one left. */
static void kill_at(const char *point, int skip, bool had_earlier, bool new_expected) {
    char name[64];
    snprintf(name, sizeof name, "out_kill_%s_%d_%d", point, skip, had_earlier);
    const char *out = had_earlier ? earlier(name) : tq_t_path(name);
    char o[1024];
    snprintf(o, sizeof o, "%s", out);
    char *before = snap(o);
    char ref[1100];
    snprintf(ref, sizeof ref, "%s_ref", o);
    tq_error e;
    CHECK_OK(convert_bits(g_in, ref, 8, &e), e);   /* what the killed run would have written */
    char *want_new = snap(ref);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fault f = {.point = point, .what = ACT_KILL, .skip = skip};
        tq_fault_set(hook, &f);
        convert_bits(g_in, o, 8, &e);
        _exit(3);   /* not killed: the point was never reached */
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK_MSG(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "%s: the child was not killed (status %d)", point, ws);
    char *after = snap(o);
    const char *want = new_expected ? want_new : before;
    CHECK_MSG(strcmp(after, want) == 0, "SIGKILL at %s#%d: the output is neither complete result:\n--- want\n%s--- got\n%s",
              point, skip, want, after);
    CHECK_OK(convert_bits(g_in, o, 8, &e), e);   /* the next run goes through and clears the debris */
    char *again = snap(o);
    CHECK_MSG(strcmp(again, want_new) == 0, "after SIGKILL at %s: the next run's output differs", point);
    CHECK_MSG(debris(o) == 0, "after SIGKILL at %s: debris left after the next run", point);
    free(before); free(after); free(want_new); free(again);
}

static void kills(void) {
    TQ_CASE("SIGKILL at several points: the earlier complete result or nothing; the next run cleans up");
    static const struct { const char *point; int skip; bool new_expected; } K[] = {
        {"stage", 0, false}, {"write", 3, false}, {"tensor", 1, false}, {"chunk", 1, false}, {"fsync", 0, false},
        {"files", 0, false}, {"exchange", 0, false}, {"exchanged", 0, true}, {"done", 0, true}};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++) {
        kill_at(K[i].point, K[i].skip, true, K[i].new_expected);
        kill_at(K[i].point, K[i].skip, false, K[i].new_expected);
    }
}

static void symlinks(void) {
    TQ_CASE("a symlink planted at every name trueq writes: nothing outside the output directory is written");
    char outside[1024], victim[1100];
    snprintf(outside, sizeof outside, "%s", tq_t_path("outside"));
    mkdir(outside, 0755);
    const char *out = earlier("out_links");
    static const char *const names[] = {"model.safetensors", "conversion_metadata.json", "config.json", "tokenizer.json"};
    char link[1200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(victim, sizeof victim, "%s/victim%zu", outside, i);
        tq_t_write(victim, "precious", 8);
        snprintf(link, sizeof link, "%s/%s", out, names[i]);
        unlink(link);
        CHECK(symlink(victim, link) == 0);
        for (long pid = getpid() - 3; pid <= getpid() + 8; pid++) {   /* the old predictable temporary names */
            snprintf(link, sizeof link, "%s/%s.tq-tmp-%ld", out, names[i], pid);
            CHECK(symlink(victim, link) == 0);
        }
    }
    tq_error e;
    CHECK_OK(convert(g_in, out, &e), e);
    char *o = snap(outside);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "victim%zu 8 ", i);
        CHECK_MSG(strstr(o, line) != NULL, "victim%zu was written through a symlink:\n%s", i, o);
        snprintf(link, sizeof link, "%s/%s", out, names[i]);
        struct stat st;
        CHECK_MSG(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "%s is not a regular file", link);
    }
    free(o);
    CHECK(debris(out) == 0);   /* the planted temporaries were not carried into the result */

    TQ_CASE("a symlink planted at the lock name: refused, nothing written through it");
    char lock[1200], *parent = tq_path_dirname(out);
    snprintf(lock, sizeof lock, "%s/.%s.trueq-lock", parent, strrchr(out, '/') + 1);
    snprintf(victim, sizeof victim, "%s/victim_lock", outside);
    tq_t_write(victim, "precious", 8);
    CHECK(symlink(victim, lock) == 0);
    char *before = snap(out);
    CHECK_ERR(convert(g_in, out, &e), e, TQ_E_IO, "cannot create the lock file");
    char *after = snap(out), *o2 = snap(outside);
    CHECK(strcmp(before, after) == 0 && strstr(o2, "victim_lock 8 ") != NULL);
    unlink(lock);
    free(parent); free(before); free(after); free(o2);
}

static void concurrent(void) {
    TQ_CASE("a second concurrent run into one directory: refused naming the holder's pid");
    const char *out = earlier("out_busy");
    char o[1024];
    snprintf(o, sizeof o, "%s", out);
    int up[2], down[2];
    CHECK(pipe(up) == 0 && pipe(down) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fault f = {.point = "tensor", .what = ACT_BLOCK, .skip = 1, .to_parent = up[1], .from_parent = down[0]};
        tq_error e;
        tq_fault_set(hook, &f);
        _exit(convert_bits(g_in, o, 8, &e) == TQ_OK ? 0 : 1);
    }
    char c;
    CHECK(read(up[0], &c, 1) == 1);   /* the child holds the lock, mid-run */
    char want[128];
    snprintf(want, sizeof want, "another trueq run (pid %ld) is writing this output directory", (long)pid);
    {   /* as expect_fault, but the holder's lock and staging directory are there meanwhile */
        char *before = snap(o);
        tq_error e2;
        CHECK_ERR(convert_bits(g_in, o, 8, &e2), e2, TQ_E_IO, want);
        char *after = snap(o);
        CHECK(strcmp(before, after) == 0);
        free(before); free(after);
    }
    CHECK(write(down[1], &c, 1) == 1);
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK_MSG(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the first run failed (status %d)", ws);
    char ref[1100];
    snprintf(ref, sizeof ref, "%s_ref", o);
    tq_error e;
    CHECK_OK(convert_bits(g_in, ref, 8, &e), e);
    char *a = snap(o), *b = snap(ref);
    CHECK_MSG(strcmp(a, b) == 0, "the first run's result is not whole:\n%s---\n%s", a, b);
    CHECK(debris(o) == 0);
    free(a); free(b);
    close(up[0]); close(up[1]); close(down[0]); close(down[1]);
}

static void directories(void) {
    TQ_CASE("read-only output directory: refused, left as it is");
    const char *out = earlier("out_ro");
    CHECK(chmod(out, 0555) == 0);
    fault none = {.point = "none"};
    expect_fault("read-only", out, none, TQ_E_IO, "output directory is read-only");
    chmod(out, 0755);

    TQ_CASE("output = input is refused; an output inside the input directory leaves the input as it was");
    char *in_before = snap(g_in);
    expect_fault("output = input", g_in, none, TQ_E_ARG, "output directory is the input model's directory");
    char inside[1100];
    snprintf(inside, sizeof inside, "%s/quantized", g_in);
    tq_error e;
    CHECK_OK(convert(g_in, inside, &e), e);
    CHECK_OK(convert(g_in, inside, &e), e);   /* twice: the input now holds the output directory */
    char *in_after = snap(g_in);
    /* the input's own files are unchanged; only quantized/ was added */
    char *p = in_before, *line;
    while ((line = strsep(&p, "\n")) && *line) CHECK_MSG(strstr(in_after, line) != NULL, "input changed: %s", line);
    CHECK(strstr(in_after, "quantized/\n") != NULL && debris(inside) == 0);
    free(in_before); free(in_after);

    TQ_CASE("an earlier output's own files are kept, a directory at a name trueq writes is refused");
    out = earlier("out_keep");
    char keep[1200], cfg[1200];
    snprintf(keep, sizeof keep, "%s/README.md", out);
    tq_t_write(keep, "mine", 4);
    CHECK_OK(convert(g_in, out, &e), e);
    char *s = snap(out);
    CHECK_MSG(strstr(s, "README.md 4 ") != NULL, "%s", s);
    free(s);
    snprintf(cfg, sizeof cfg, "%s/config.json", out);
    CHECK(unlink(cfg) == 0 && mkdir(cfg, 0755) == 0);
    expect_fault("dir at config.json", out, none, TQ_E_IO, "config.json: is a directory");
    rmdir(cfg);
}

/* NAME cannot be swapped (its parent is read-only, or it is a mount point):
 * staged inside NAME, files moved in one by one; the result is the same. */
static void inside(void) {
    TQ_CASE("an output directory whose parent is read-only: staged inside, same result, nothing left");
    char par[1024], out[1100], ref[1100];
    snprintf(par, sizeof par, "%s", tq_t_path("ro_parent"));
    mkdir(par, 0755);
    snprintf(out, sizeof out, "%s/out", par);
    snprintf(ref, sizeof ref, "%s", tq_t_path("inside_ref"));
    tq_error e;
    CHECK_OK(convert_bits(g_in, out, 4, &e), e);
    CHECK_OK(convert_bits(g_in, ref, 8, &e), e);
    char keep[1200];
    snprintf(keep, sizeof keep, "%s/notes.txt", out);
    tq_t_write(keep, "mine", 4);
    CHECK(chmod(par, 0555) == 0);
    char *before_par = snap(par);
    fault f = {.point = "write", .what = ACT_ERRNO, .err = ENOSPC, .skip = 1};
    expect_fault("inside, ENOSPC", out, f, TQ_E_IO, "No space left on device");
    CHECK_OK(convert_bits(g_in, out, 8, &e), e);
    char *a = snap(out), *b = snap(ref);
    CHECK_MSG(strstr(a, "notes.txt 4 ") != NULL, "%s", a);
    char *n = strstr(a, "notes.txt");   /* the rest is the reference result */
    CHECK(n != NULL);
    if (n) { char *eol = strchr(n, '\n'); memmove(n, eol + 1, strlen(eol + 1) + 1); }
    CHECK_MSG(strcmp(a, b) == 0, "inside: result differs:\n%s---\n%s", a, b);
    CHECK(debris(out) == 0);
    chmod(par, 0755);
    free(before_par); free(a); free(b);

    TQ_CASE("an output directory that is a mount point: staged inside it, same result");
    char mp[1024];
    snprintf(mp, sizeof mp, "%s", tq_t_path("mount_out"));
    mkdir(mp, 0755);
    if (mount("tmpfs", mp, "tmpfs", 0, "size=8m") != 0) TQ_SKIP("cannot mount a tmpfs here (not root?)");
    CHECK_OK(convert_bits(g_in, mp, 4, &e), e);
    CHECK_OK(convert_bits(g_in, mp, 8, &e), e);
    a = snap(mp);
    b = snap(ref);
    CHECK_MSG(strcmp(a, b) == 0, "mount point: result differs:\n%s---\n%s", a, b);
    CHECK(debris(mp) == 0);
    free(a); free(b);
    umount(mp);
}

void tq_tests(void) {
    snprintf(g_in, sizeof g_in, "%s", tq_t_path("in"));
    write_model(g_in);
    snprintf(g_model, sizeof g_model, "%s/model.safetensors", g_in);
    input_faults();
    write_faults();
    kills();
    symlinks();
    concurrent();
    directories();
    inside();
}
