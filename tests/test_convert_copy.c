/*
 * test_convert_copy.c — the kernel copy of kept bytes (tq_out_copy_range and
 * the side-file copies, src/core/fs.c): copy_file_range where the kernel takes
 * it, read/write where it is refused (EXDEV, ENOSYS, EINVAL, EOPNOTSUPP), at
 * the same offsets, so the output's bytes are the same either way; any other
 * error of the copy (EIO, ENOSPC) fails the run with TQ_E_IO naming the copy,
 * and leaves the output directory as it was (absent, or the earlier result)
 * with nothing beside it, the input untouched.
 *
 * The refusals and failures are injected at the fault point "copy" (the hook
 * of core/fault.c), on every call or on one chosen call, for convert's
 * weights (a 3 MB kept embedding copied in pieces on the lane thread, small
 * kept biases on the main thread) and its side files, with one and two
 * threads; and directly on tq_out_copy_range at unaligned, unequal offsets.
 */
#define _GNU_SOURCE 1
#include "tq_test.h"
#include "core/internal.h"
#include "io/model.h"
#include "io/writer.h"
#include "dir_snap.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ===== the hook: fail "copy" calls whose output path ends with `suffix` ===== */

typedef struct cfault {
    const char *suffix;   /* the output's final path ends with it (NULL: every output) */
    int skip;             /* fail the (skip+1)-th matching call; -1: every matching call */
    int err;
    int calls, failed;    /* matching calls seen, failed */
} cfault;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int hook(void *ud, const char *point, const char *path) {
    cfault *f = ud;
    if (strcmp(point, "copy") != 0 || (f->suffix && !ends_with(path, f->suffix))) return 0;
    pthread_mutex_lock(&g_mu);   /* the lane, side-file and main threads all copy */
    int mine = f->calls++;
    int r = (f->skip < 0 || mine == f->skip) ? f->err : 0;
    if (r) f->failed++;
    pthread_mutex_unlock(&g_mu);
    return r;
}

/* ===== the model: a kept embedding over the 1 MiB piece limit, kept biases,
 * quantized weights, side files ============================================ */

static char g_in[1024], g_model[1100];

static void write_model(const char *dir) {
    static const snap_tensor T[] = {
        {"embeddings.word_embeddings.weight", TQ_DTYPE_F32, 6001, 128},   /* 3 MB: two 2 MiB pieces, the second short */
        {"layer.0.attn.q.bias", TQ_DTYPE_F32, 256, 0},
        {"layer.0.attn.q.weight", TQ_DTYPE_F32, 256, 128},
        {"layer.0.ffn.up.bias", TQ_DTYPE_F32, 512, 0},
        {"layer.0.ffn.up.weight", TQ_DTYPE_F32, 512, 128},
        {"norm.weight", TQ_DTYPE_F32, 128, 0}};
    snap_write_model(dir, T, (int)(sizeof T / sizeof T[0]), 13, "{\"model_type\": \"bert\"}\n");
    char p[1100];
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    char vocab[70000];   /* over one 64 KiB read of the side-file fallback */
    for (size_t k = 0; k < sizeof vocab; k++) vocab[k] = (char)('a' + (k * 7 + k / 13) % 26);
    for (size_t k = 9; k < sizeof vocab; k += 10) vocab[k] = '\n';
    tq_t_write(p, vocab, sizeof vocab);
}

static tq_status convert(const char *out, int threads, tq_error *e) { return snap_convert(g_in, out, 8, threads, e); }

static bool exists(const char *p) { struct stat st; return lstat(p, &st) == 0; }

/* ===== cases ============================================================= */

static char *g_ref;   /* the snapshot of an unhooked run */

static void reference(void) {
    TQ_CASE("no fault: kept tensors are the input's bytes, copied in the kernel (the \"copy\" point is reached)");
    const char *out = tq_t_path("ref");
    cfault count = {NULL, -2, 0, 0, 0};   /* never fails: counts */
    tq_error e;
    tq_fault_set(hook, &count);
    tq_status st = convert(out, 2, &e);
    tq_fault_set(NULL, NULL);
    CHECK_OK(st, e);
    CHECK_MSG(count.calls >= 2 + 2, "copy calls %d: want the embedding's pieces and the side files", count.calls);
    g_ref = snap(out);
    tq_model *a = tq_model_open(g_in, &e), *b = tq_model_open(out, &e);
    CHECK(a && b);
    static const char *kept[] = {"embeddings.word_embeddings.weight", "layer.0.attn.q.bias", "norm.weight"};
    for (size_t k = 0; a && b && k < sizeof kept / sizeof kept[0]; k++) {
        const tq_tensor *x = tq_model_find(a, kept[k]), *y = tq_model_find(b, kept[k]);
        CHECK_MSG(x && y && !y->quantized && x->nbytes == y->nbytes && memcmp(x->data, y->data, x->nbytes) == 0,
                  "%s: not the input's bytes", kept[k]);
    }
    const tq_tensor *q = b ? tq_model_find(b, "layer.0.attn.q.weight") : NULL;
    CHECK(q && q->quantized);
    tq_model_close(a);
    tq_model_close(b);

    TQ_CASE("no fault, one thread (no lane): the same bytes");
    out = tq_t_path("ref1");
    CHECK_OK(convert(out, 1, &e), e);
    char *s1 = snap(out);
    CHECK_MSG(strcmp(s1, g_ref) == 0, "one thread:\n%s\ntwo:\n%s", s1, g_ref);
    free(s1);
}

/* A run with fault f that must succeed with the reference's bytes. */
static void same_bytes(const char *what, const char *name, int threads, cfault f) {
    const char *out = tq_t_path(name);
    tq_error e;
    tq_fault_set(hook, &f);
    tq_status st = convert(out, threads, &e);
    tq_fault_set(NULL, NULL);
    CHECK_MSG(st == TQ_OK, "%s: status %d: %s", what, (int)st, e.msg);
    CHECK_MSG(f.failed > 0, "%s: the fault was never injected (%d calls)", what, f.calls);
    char *s = snap(out);
    CHECK_MSG(strcmp(s, g_ref) == 0, "%s: output differs from the kernel copy's:\n%s\nwant:\n%s", what, s, g_ref);
    CHECK_MSG(debris(out) == 0, "%s: files left beside the output", what);
    free(s);
}

static void fallbacks(void) {
    TQ_CASE("copy_file_range refused (EXDEV, ENOSYS, EINVAL, EOPNOTSUPP) on every call: read/write, the same bytes");
    static const int errs[] = {EXDEV, ENOSYS, EINVAL, EOPNOTSUPP};
    for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++)
        for (int th = 1; th <= 2; th++) {
            char what[128], name[64];
            snprintf(what, sizeof what, "%s, %d thread(s)", strerror(errs[k]), th);
            snprintf(name, sizeof name, "fb_%zu_%d", k, th);
            same_bytes(what, name, th, (cfault){NULL, -1, errs[k], 0, 0});
        }

    TQ_CASE("refused on one call of the weights or of a side file: the kernel's part and the rest agree");
    for (int skip = 0; skip < 4; skip++)
        for (int th = 1; th <= 2; th++) {
            char what[128], name[64];
            snprintf(what, sizeof what, "EXDEV at weights copy %d, %d thread(s)", skip, th);
            snprintf(name, sizeof name, "one_%d_%d", skip, th);
            same_bytes(what, name, th, (cfault){"/model.safetensors", skip, EXDEV, 0, 0});
        }
    same_bytes("EOPNOTSUPP on vocab.txt", "one_vocab", 2, (cfault){"/vocab.txt", 0, EOPNOTSUPP, 0, 0});
}

/* A run with fault f that must fail with TQ_E_IO holding msg, out left as before. */
static void fails(const char *what, const char *out, int threads, cfault f, const char *msg) {
    char *before = snap(out);
    tq_error e;
    tq_fault_set(hook, &f);
    tq_status st = convert(out, threads, &e);
    tq_fault_set(NULL, NULL);
    CHECK_MSG(f.failed > 0, "%s: the fault was never injected (%d calls)", what, f.calls);
    CHECK_MSG(st == TQ_E_IO && strstr(e.msg, msg) != NULL, "%s: status %d \"%s\", want TQ_E_IO with \"%s\"", what,
              (int)st, e.msg, msg);
    char *after = snap(out);
    CHECK_MSG(strcmp(before, after) == 0, "%s: the output directory changed:\n--- before\n%s--- after\n%s", what, before,
              after);
    CHECK_MSG(debris(out) == 0, "%s: temporary, staging or lock files left beside %s", what, out);
    free(before);
    free(after);
}

static void failures(void) {
    char *in0 = snap(g_in);
    TQ_CASE("EIO / ENOSPC from copy_file_range: TQ_E_IO naming the copy; a new output is absent");
    for (int th = 1; th <= 2; th++) {
        char name[64];
        snprintf(name, sizeof name, "eio_new_%d", th);
        const char *out = tq_t_path(name);
        fails("EIO on the weights' first copy", out, th, (cfault){"/model.safetensors", 0, EIO, 0, 0},
              "copy into ");
        CHECK(!exists(out));
        fails("EIO on the weights' first copy (message)", out, th, (cfault){"/model.safetensors", 0, EIO, 0, 0},
              "Input/output error");
        fails("EIO on the weights' first copy (the input named)", out, th, (cfault){"/model.safetensors", 0, EIO, 0, 0},
              g_model);
        fails("ENOSPC on the weights' third copy", out, th, (cfault){"/model.safetensors", 2, ENOSPC, 0, 0},
              "No space left on device");
        fails("ENOSPC on a side file", out, th, (cfault){"/vocab.txt", 0, ENOSPC, 0, 0}, "vocab.txt: copy into ");
        CHECK(!exists(out));
    }

    TQ_CASE("EIO from copy_file_range over an earlier result: that result is left exactly as it was");
    const char *out = tq_t_path("eio_over");
    tq_error e;
    CHECK_OK(convert(out, 2, &e), e);
    fails("EIO over an earlier result", out, 2, (cfault){"/model.safetensors", 1, EIO, 0, 0}, "copy into ");
    fails("EIO on every copy over an earlier result", out, 2, (cfault){NULL, -1, EIO, 0, 0}, "Input/output error");

    TQ_CASE("the input is never touched");
    char *in1 = snap(g_in);
    CHECK_MSG(strcmp(in0, in1) == 0, "input changed:\n%s\nwas:\n%s", in1, in0);
    free(in0);
    free(in1);
}

/* tq_out_copy_range on its own: len bytes from in_off to off (unequal, unaligned). */
static void direct(void) {
    TQ_CASE("tq_out_copy_range: kernel copy and read/write fallback put the same bytes at the same offsets");
    enum { LEN = (3 << 20) + 12345, IN_OFF = 4099, OFF = 777 };
    const char *src = tq_t_path("direct.src");
    uint8_t *b = malloc(LEN + IN_OFF);
    uint64_t s = 5;
    for (size_t k = 0; k < (size_t)LEN + IN_OFF; k++) { s = s * 6364136223846793005ull + 1442695040888963407ull; b[k] = (uint8_t)(s >> 56); }
    CHECK(tq_t_write(src, b, (size_t)LEN + IN_OFF) == 0);
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    for (int mode = 0; mode < 4; mode++) {   /* none, EXDEV on every call, ENOSYS after the first call, EIO */
        char name[64];
        snprintf(name, sizeof name, "direct.out%d", mode);
        const char *dst = tq_t_path(name);
        tq_outfile o;
        tq_error e;
        CHECK_OK(tq_out_open(&o, dst, &e), e);
        CHECK_OK(tq_out_pwrite(&o, "head", 4, 0, &e), e);   /* bytes before off stay */
        cfault f = {NULL, mode == 1 ? -1 : mode == 2 ? 1 : 0, mode == 1 ? EXDEV : mode == 2 ? ENOSYS : EIO, 0, 0};
        if (mode) tq_fault_set(hook, &f);
        /* mode 2: the first call copies part only, so there is a second call to refuse */
        tq_status st = mode == 2 ? tq_out_copy_range(&o, fd, IN_OFF, NULL, 100000, OFF, &e) : TQ_OK;
        if (!st) st = tq_out_copy_range(&o, fd, IN_OFF + (mode == 2 ? 100000 : 0), NULL, LEN - (mode == 2 ? 100000 : 0),
                                        OFF + (mode == 2 ? 100000 : 0), &e);
        tq_fault_set(NULL, NULL);
        if (mode == 3) {
            char want[256];
            snprintf(want, sizeof want, "input offset %d: copy into %s at offset %d failed: Input/output error", IN_OFF,
                     dst, OFF);
            CHECK_ERR(st, e, TQ_E_IO, want);
            tq_out_abort(&o);
            CHECK(!exists(dst));
            continue;
        }
        CHECK_MSG(st == TQ_OK, "mode %d: %s", mode, e.msg);
        CHECK_MSG(mode == 0 || f.failed > 0, "mode %d: never injected", mode);
        CHECK_EQ_INT(o.size, OFF + LEN);
        CHECK_OK(tq_out_commit(&o, &e), e);
        char *got = NULL;
        size_t n = 0;
        CHECK_OK(tq_read_file(dst, &got, &n, &e), e);
        CHECK_EQ_INT(n, OFF + LEN);
        int bad = 0;
        for (size_t k = 0; got && k < (size_t)OFF; k++) bad += got[k] != (k < 4 ? "head"[k] : 0);
        CHECK_MSG(bad == 0, "mode %d: %d bytes before the copy changed", mode, bad);
        CHECK_MSG(got && n == (size_t)OFF + LEN && memcmp(got + OFF, b + IN_OFF, LEN) == 0, "mode %d: copied bytes differ", mode);
        free(got);
    }
    close(fd);
    free(b);
}

void tq_tests(void) {
    snprintf(g_in, sizeof g_in, "%s", tq_t_path("in"));
    snprintf(g_model, sizeof g_model, "%s/model.safetensors", g_in);
    write_model(g_in);
    reference();
    fallbacks();
    failures();
    direct();
    free(g_ref);
}
