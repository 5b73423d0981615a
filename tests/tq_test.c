/* tq_test.c — harness main and helpers (see tq_test.h). */
#include "tq_test.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int tq_t_fail, tq_t_checks, tq_t_case_failed;
const char *tq_t_case = "(none)";
static int n_pass, n_skip, n_cases, in_case, skipped;

static void end_case(void) {
    if (!in_case) return;
    if (skipped) n_skip++;
    else if (tq_t_case_failed) { tq_t_fail++; fprintf(stderr, "not ok - %s\n", tq_t_case); }
    else { n_pass++; printf("ok - %s\n", tq_t_case); }
    in_case = 0;
}

static char case_name[512];
void tq_t_begin(const char *name) {
    end_case();
    snprintf(case_name, sizeof case_name, "%s", name);
    tq_t_case = case_name; tq_t_case_failed = 0; skipped = 0; in_case = 1; n_cases++;
}

void tq_t_skip(const char *why) {
    skipped = 1;
    printf("skip - %s: %s\n", tq_t_case, why);
}

static char tmpdir[512];
const char *tq_t_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/trueq-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
    }
    return tmpdir;
}

char *tq_t_path(const char *name) {
    static char ring[8][1024];
    static int k;
    char *p = ring[k++ % 8];
    snprintf(p, 1024, "%s/%s", tq_t_tmpdir(), name);
    return p;
}

int tq_t_write(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(buf, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

const char *tq_t_models_dir(void) {
    static char buf[1024];
    const char *env = getenv("TRUEQ_MODELS");
    struct stat st;
    if (env && *env && stat(env, &st) == 0) return env;
    const char *src = getenv("TQ_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/../shared/models", src ? src : ".");
    if (stat(buf, &st) == 0) return buf;
    return NULL;
}

const char *tq_t_model_dir(const char *name, const char *file) {
    static char dir[1100];
    const char *md = tq_t_models_dir();
    struct stat st;
    if (!md) return NULL;
    snprintf(dir, sizeof dir, "%s/%s", md, name);
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return stat(p, &st) == 0 ? dir : NULL;
}

int tq_t_run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2) { cap *= 2; char *nb = realloc(b, cap); if (!nb) { free(b); b = NULL; break; } b = nb; }
    }
    if (b) b[len] = 0;
    int rc = pclose(p);
    if (out) *out = b; else free(b);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

uint32_t tq_t_rand(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

float tq_t_randn(uint64_t *s) {
    double u1 = (tq_t_rand(s) + 1.0) / 4294967297.0, u2 = tq_t_rand(s) / 4294967296.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

int main(void) {
    tq_tests();
    end_case();
    if (tmpdir[0]) { char cmd[600]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir); if (system(cmd)) {} }
    printf("%d passed, %d failed, %d skipped\n", n_pass, tq_t_fail, n_skip);
    if (tq_t_fail) return 1;
    if (n_cases > 0 && n_skip == n_cases) return 77;
    return 0;
}

static void zput16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void zput32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

size_t tq_t_zip(uint8_t *out, const char *const *names, const void *const *bodies, const size_t *lens, int n) {
    size_t o = 0, lho[16];
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), bl = lens[i];
        uint32_t crc = (uint32_t)crc32(0, (const Bytef *)bodies[i], (uInt)bl);
        lho[i] = o;
        uint8_t *h = out + o;
        memset(h, 0, 30);
        zput32(h, 0x04034b50u); zput16(h + 4, 20); zput16(h + 12, 0x21);
        zput32(h + 14, crc); zput32(h + 18, (uint32_t)bl); zput32(h + 22, (uint32_t)bl); zput16(h + 26, (unsigned)nl);
        memcpy(h + 30, names[i], nl);
        memcpy(h + 30 + nl, bodies[i], bl);
        o += 30 + nl + bl;
    }
    size_t cd = o;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), bl = lens[i];
        uint8_t *h = out + o;
        memset(h, 0, 46);
        zput32(h, 0x02014b50u); zput16(h + 4, 20); zput16(h + 6, 20); zput16(h + 14, 0x21);
        zput32(h + 16, (uint32_t)crc32(0, (const Bytef *)bodies[i], (uInt)bl));
        zput32(h + 20, (uint32_t)bl); zput32(h + 24, (uint32_t)bl); zput16(h + 28, (unsigned)nl);
        zput32(h + 42, (uint32_t)lho[i]);
        memcpy(h + 46, names[i], nl);
        o += 46 + nl;
    }
    uint8_t *e = out + o;
    memset(e, 0, 22);
    zput32(e, 0x06054b50u); zput16(e + 8, (unsigned)n); zput16(e + 10, (unsigned)n);
    zput32(e + 12, (uint32_t)(o - cd)); zput32(e + 16, (uint32_t)cd);
    return o + 22;
}

