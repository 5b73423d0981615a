/*
 * tq_test.h — a tiny test harness. Each tests/test_*.c defines
 *   void tq_tests(void)
 * which calls TQ_CASE(name) and the CHECK macros. main() is in tq_test.c; it
 * prints "N passed, N failed" and exits 1 on any failure, 77 (ctest skip) when
 * every case skipped.
 */
#ifndef TQ_TEST_H
#define TQ_TEST_H
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "trueq.h"

extern int tq_t_fail, tq_t_checks, tq_t_case_failed;
extern const char *tq_t_case;
void tq_t_begin(const char *name);
void tq_t_skip(const char *why);
void tq_tests(void);

#define TQ_CASE(name) tq_t_begin(name)
#define TQ_SKIP(why) do { tq_t_skip(why); return; } while (0)
#define CHECK(cond) do { tq_t_checks++; if (!(cond)) { tq_t_case_failed = 1; \
    fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, tq_t_case, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { tq_t_checks++; if (!(cond)) { tq_t_case_failed = 1; \
    fprintf(stderr, "  FAIL %s:%d [%s]: %s: ", __FILE__, __LINE__, tq_t_case, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", (double)(a), (double)(b), (double)(tol))
#define CHECK_OK(st, err) CHECK_MSG((st) == TQ_OK, "status %d: %s", (int)(st), (err).msg)
/* status and a substring of the message */
#define CHECK_ERR(st, err, want, substr) CHECK_MSG((st) == (want) && strstr((err).msg, (substr)) != NULL, \
    "got status %d \"%s\", want %d containing \"%s\"", (int)(st), (err).msg, (int)(want), (substr))

/* helpers */
const char *tq_t_tmpdir(void);             /* a fresh directory for this test binary */
char *tq_t_path(const char *name);         /* tmpdir/name (static buffer ring) */
int   tq_t_write(const char *path, const void *buf, size_t n);
const char *tq_t_models_dir(void);         /* ../shared/models or $TRUEQ_MODELS, NULL if absent */
/* tq_t_models_dir()/name when it holds file (static buffer), else NULL */
const char *tq_t_model_dir(const char *name, const char *file);
int   tq_t_run(const char *cmd, char **out); /* run a shell command; stdout captured (malloc) */
uint32_t tq_t_rand(uint64_t *state);
float tq_t_randn(uint64_t *state);
/* A STORED zip of n <= 16 members (names[i], bodies[i] of lens[i] bytes) into out; returns its size. */
size_t tq_t_zip(uint8_t *out, const char *const *names, const void *const *bodies, const size_t *lens, int n);
#endif
