/* test_outdir_sync.c — the fsyncs of an output directory's commit
 * (docs/robustness.md, src/core/fs_defer.h): every file is fsynced once before
 * it gets its name; inside the staging tree the directories are fsynced once
 * each at commit (at once, on threads), all before the swap, not once per
 * file; a file written outside any staging tree still fsyncs its own
 * directory; a failed directory fsync fails the commit and leaves no output;
 * tq_outdir_commit_with names the outputs it is given in the stage and fsyncs
 * them in one batch with the stage's directories, all before the parent, and
 * a failed one fails the commit with nothing left; tq_out_commit_all commits
 * every output, reports the lowest-index failure and leaves the failed one
 * unnamed. Counted through the library's fault hook
 * (called from several threads: counted under a lock). */
#include "tq_test.h"
#include "core/internal.h"
#include "core/fs_defer.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int files, dirs;          /* "fsync" / "fsync-dir" points seen */
    int seq, last_file, first_parent;   /* order of the points: the last file fsync, the parent's fsync */
    const char *parent;
    char dir_order[8][1200];  /* the first directories fsynced */
    const char *fail_dir;     /* fail the fsync-dir of a path ending so */
    const char *fail_file[2]; /* fail the fsync of a file whose path ends so */
} counts;

static int hook(void *ud, const char *point, const char *path) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    counts *c = ud;
    int rc = 0;
    size_t n = strlen(path);
    pthread_mutex_lock(&mu);
    c->seq++;
    if (c->parent && strcmp(point, "fsync-dir") == 0 && strcmp(path, c->parent) == 0 && !c->first_parent) c->first_parent = c->seq;
    if (strcmp(point, "fsync") == 0) {
        c->last_file = c->seq;
        c->files++;
        for (int i = 0; i < 2; i++) {
            size_t k = c->fail_file[i] ? strlen(c->fail_file[i]) : 0;
            if (k && n >= k && strcmp(path + n - k, c->fail_file[i]) == 0) rc = 5;   /* EIO */
        }
    }
    if (strcmp(point, "fsync-dir") == 0) {
        if (c->dirs < 8) snprintf(c->dir_order[c->dirs], sizeof c->dir_order[0], "%s", path);
        c->dirs++;
        size_t k = c->fail_dir ? strlen(c->fail_dir) : 0;
        if (k && n >= k && strcmp(path + n - k, c->fail_dir) == 0) rc = 5;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

static int exists(const char *p) { struct stat s; return lstat(p, &s) == 0; }

/* Two outputs open in od's stage, names[i] holding the first 5 + i bytes of "0123456789". */
static void open_two(tq_outdir *od, const char *const names[2], tq_outfile f[2], tq_error *e) {
    for (int i = 0; i < 2; i++) {
        char *p = tq_outdir_path(od, names[i]);
        CHECK_OK(tq_out_open(&f[i], p, e), *e);
        CHECK_OK(tq_out_write(&f[i], "0123456789", (size_t)(5 + i), e), *e);
        free(p);
    }
}

static tq_status write_in(tq_outdir *od, const char *name, const char *text, tq_error *e) {
    char *p = tq_outdir_path(od, name);
    tq_status st = p ? tq_write_file_atomic(p, text, strlen(text), e) : TQ_E_NOMEM;
    free(p);
    return st;
}

void tq_tests(void) {
    tq_error e = {0};
    counts c;

    TQ_CASE("a commit fsyncs each file once and each staged directory once, all before the parent");
    char out[1100], got[1200];
    snprintf(out, sizeof out, "%s", tq_t_path("out"));
    tq_outdir od;
    CHECK_OK(tq_outdir_begin(&od, out, &e), e);
    char *sub = tq_outdir_path(&od, "1_Pooling");
    CHECK(sub && mkdir(sub, 0755) == 0);
    CHECK(tq_out_dir_sync_deferred(od.stage) && tq_out_dir_sync_deferred(sub));
    memset(&c, 0, sizeof c);
    tq_fault_set(hook, &c);
    CHECK_OK(write_in(&od, "config.json", "{}", &e), e);
    CHECK_OK(write_in(&od, "vocab.txt", "a\nb\n", &e), e);
    CHECK_OK(write_in(&od, "1_Pooling/config.json", "{\"p\":1}", &e), e);
    CHECK_EQ_INT(c.files, 3);
    CHECK_MSG(c.dirs == 0, "%d directory fsyncs before the commit (first: %s)", c.dirs, c.dir_order[0]);
    char *stage = tq_strdup(od.stage);
    CHECK_OK(tq_outdir_commit(&od, &e), e);
    tq_fault_set(NULL, NULL);
    CHECK_EQ_INT(c.files, 3);
    CHECK_MSG(c.dirs == 3, "%d directory fsyncs at the commit, want 3 (1_Pooling, the stage, the parent)", c.dirs);
    {   /* the two staged directories in either order (they are fsynced at once), then the parent */
        bool pool0 = strstr(c.dir_order[0], "1_Pooling") != NULL, pool1 = strstr(c.dir_order[1], "1_Pooling") != NULL;
        bool st0 = stage && strcmp(c.dir_order[0], stage) == 0, st1 = stage && strcmp(c.dir_order[1], stage) == 0;
        CHECK_MSG((pool0 && st1) || (st0 && pool1), "first fsynced %s and %s, want 1_Pooling and the stage", c.dir_order[0],
                  c.dir_order[1]);
        char *par = tq_path_dirname(out);
        CHECK_MSG(par && strcmp(c.dir_order[2], par) == 0, "third fsynced %s, want the parent %s", c.dir_order[2], par ? par : "?");
        free(par);
    }
    CHECK(stage && !tq_out_dir_sync_deferred(stage));
    snprintf(got, sizeof got, "%s/1_Pooling/config.json", out);
    CHECK(exists(got));
    free(sub);
    free(stage);

    TQ_CASE("a file outside a staging tree fsyncs its own directory");
    memset(&c, 0, sizeof c);
    tq_fault_set(hook, &c);
    CHECK_OK(tq_write_file_atomic(tq_t_path("plain.txt"), "x", 1, &e), e);
    tq_fault_set(NULL, NULL);
    CHECK_EQ_INT(c.files, 1);
    CHECK_EQ_INT(c.dirs, 1);

    TQ_CASE("a failed directory fsync at the commit fails it and leaves no output");
    char out2[1100];
    snprintf(out2, sizeof out2, "%s", tq_t_path("out2"));
    CHECK_OK(tq_outdir_begin(&od, out2, &e), e);
    char *sub2 = tq_outdir_path(&od, "sub");
    CHECK(sub2 && mkdir(sub2, 0755) == 0);
    free(sub2);
    CHECK_OK(write_in(&od, "sub/f", "y", &e), e);
    stage = tq_strdup(od.stage);
    memset(&c, 0, sizeof c);
    c.fail_dir = "/sub";
    tq_fault_set(hook, &c);
    tq_status st = tq_outdir_commit(&od, &e);
    tq_fault_set(NULL, NULL);
    CHECK_ERR(st, e, TQ_E_IO, "cannot finish the output directory");
    CHECK(!exists(out2) && stage && !exists(stage));
    CHECK(stage && !tq_out_dir_sync_deferred(stage));
    free(stage);

    for (int k = 0; k < 2; k++) {   /* k = 1: the metadata's fsync fails */
        TQ_CASE(k ? "tq_outdir_commit_with: a failed file fsync fails the commit, named as tq_out_commit names it, no output left"
                  : "tq_outdir_commit_with: open outputs named in the stage, fsynced in one batch with its directories, all before the parent");
        char out3[1100];
        snprintf(out3, sizeof out3, "%s", tq_t_path(k ? "out4" : "out3"));
        CHECK_OK(tq_outdir_begin(&od, out3, &e), e);
        tq_outfile f[2], *fp[2] = {&f[0], &f[1]};
        const char *const nm[2] = {"model.safetensors", "conversion_metadata.json"};
        open_two(&od, nm, f, &e);
        stage = tq_strdup(od.stage);
        char *par = tq_path_dirname(out3);
        memset(&c, 0, sizeof c);
        c.parent = par;
        c.fail_file[0] = k ? "/conversion_metadata.json" : NULL;
        tq_fault_set(hook, &c);
        tq_status st3 = tq_outdir_commit_with(&od, fp, 2, &e);
        tq_fault_set(NULL, NULL);
        CHECK_EQ_INT(c.files, 2);
        if (k) {
            CHECK_ERR(st3, e, TQ_E_IO, "cannot finish writing");
            CHECK_MSG(strstr(e.msg, "conversion_metadata.json") && !strstr(e.msg, ".trueq-stage-"), "reported: %s", e.msg);
            CHECK(!exists(out3) && stage && !exists(stage));
        } else {
            CHECK_OK(st3, e);
            CHECK_MSG(c.dirs == 2 && stage && strcmp(c.dir_order[0], stage) == 0, "%d directory fsyncs, first %s", c.dirs, c.dir_order[0]);
            CHECK_MSG(c.first_parent > c.last_file, "the parent fsynced (point %d) before a file (point %d)", c.first_parent, c.last_file);
            struct stat sb;
            snprintf(got, sizeof got, "%s/conversion_metadata.json", out3);
            CHECK(stat(got, &sb) == 0 && sb.st_size == 6);
            snprintf(got, sizeof got, "%s/model.safetensors", out3);
            CHECK(stat(got, &sb) == 0 && sb.st_size == 5);
        }
        free(stage);
        free(par);
    }

    TQ_CASE("tq_out_commit_all: every output committed, the lowest-index failure reported, the failed ones unnamed");
    {
        const char *names[4] = {"ca.txt", "cb.txt", "cc.txt", "cd.txt"};
        char paths[4][1100];
        tq_outfile o[4], *op[4];
        for (int i = 0; i < 4; i++) {
            snprintf(paths[i], sizeof paths[i], "%s", tq_t_path(names[i]));
            CHECK_OK(tq_out_open(&o[i], paths[i], &e), e);
            CHECK_OK(tq_out_write(&o[i], names[i], 6, &e), e);
            op[i] = &o[i];
        }
        memset(&c, 0, sizeof c);
        c.fail_file[0] = "/cd.txt";   /* two failures: the lower index (cb) is the one reported */
        c.fail_file[1] = "/cb.txt";
        tq_fault_set(hook, &c);
        tq_status st2 = tq_out_commit_all(op, 4, &e);
        tq_fault_set(NULL, NULL);
        CHECK_ERR(st2, e, TQ_E_IO, "cannot finish writing");
        CHECK_MSG(strstr(e.msg, "cb.txt") != NULL, "reported: %s (want cb.txt's failure)", e.msg);
        CHECK_EQ_INT(c.files, 4);
        CHECK(exists(paths[0]) && exists(paths[2]));
        CHECK(!exists(paths[1]) && !exists(paths[3]));
        for (int i = 0; i < 4; i++) tq_out_abort(&o[i]);   /* a no-op after a commit */
        tq_outfile one;
        CHECK_OK(tq_out_open(&one, tq_t_path("solo.txt"), &e), e);
        CHECK_OK(tq_out_write(&one, "solo", 4, &e), e);
        tq_outfile *po = &one;
        CHECK_OK(tq_out_commit_all(&po, 1, &e), e);
        CHECK(exists(tq_t_path("solo.txt")));
    }

    TQ_CASE("the registry: below a root only, at most 8 roots");
    tq_out_defer_dir_sync("/r/a", true);
    CHECK(tq_out_dir_sync_deferred("/r/a") && tq_out_dir_sync_deferred("/r/a/b/c"));
    CHECK(!tq_out_dir_sync_deferred("/r/ab") && !tq_out_dir_sync_deferred("/r"));
    char roots[9][16];
    for (int i = 0; i < 9; i++) { snprintf(roots[i], sizeof roots[i], "/q/%d", i); tq_out_defer_dir_sync(roots[i], true); }
    CHECK(tq_out_dir_sync_deferred("/q/6/x"));
    CHECK_MSG(!tq_out_dir_sync_deferred("/q/7") && !tq_out_dir_sync_deferred("/q/8"), "more than 8 roots registered");
    for (int i = 0; i < 9; i++) tq_out_defer_dir_sync(roots[i], false);
    tq_out_defer_dir_sync("/r/a", false);
    CHECK(!tq_out_dir_sync_deferred("/r/a/b") && !tq_out_dir_sync_deferred("/q/0"));
}
