/* test_cleanup_pending.c — what an interrupted run leaves: tq_cleanup_pending
 * (called from a signal handler) removes registered files, and a registered
 * directory this run created together with everything in it (files committed
 * into a staging directory, nested directories), but nothing it was not told. */
#include "tq_test.h"
#include "core/internal.h"
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *p) { struct stat s; return lstat(p, &s) == 0; }

void tq_tests(void) {
    TQ_CASE("a registered staging directory goes with its files and subdirectories");
    char stage[1100], sub[1200], f1[1200], f2[1300], keep[1100], tmp[1100];
    snprintf(stage, sizeof stage, "%s", tq_t_path(".out.trueq-stage-x"));
    snprintf(sub, sizeof sub, "%s/tokenizer", stage);
    snprintf(f1, sizeof f1, "%s/model.safetensors", stage);
    snprintf(f2, sizeof f2, "%s/vocab.txt", sub);
    snprintf(keep, sizeof keep, "%s", tq_t_path("unrelated.txt"));
    snprintf(tmp, sizeof tmp, "%s", tq_t_path("x.tq-tmp"));
    CHECK(mkdir(stage, 0700) == 0 && mkdir(sub, 0700) == 0);
    CHECK(tq_t_write(f1, "weights", 7) == 0 && tq_t_write(f2, "vocab", 5) == 0);
    for (int i = 0; i < 300; i++) {   /* more entries than one getdents64 buffer holds */
        char p[1300];
        snprintf(p, sizeof p, "%s/file-with-a-long-name-%04d", stage, i);
        CHECK(tq_t_write(p, "x", 1) == 0);
    }
    CHECK(tq_t_write(keep, "keep", 4) == 0 && tq_t_write(tmp, "t", 1) == 0);
    tq_pending_add(stage, true);
    tq_pending_add(tmp, false);
    tq_cleanup_pending();
    CHECK_MSG(!exists(stage), "%s is still there", stage);
    CHECK(!exists(tmp));
    CHECK_MSG(exists(keep), "an unregistered file was removed");
    tq_pending_remove(stage);
    tq_pending_remove(tmp);
}
