/* cmd_selftest.c — `trueq selftest`: the quantization-math checks of every
 * codec on built-in vectors (src/codec/selftest.c); PASS/FAIL per check. */
#include "cli.h"
#include "trueq_verify.h"
#include <stdlib.h>

static const char SYNOPSIS[] =
    "[--json] [--failures]";
static const char DESCRIPTION[] =
    "Runs the seeds' quantization-math checks for every codec x bits x granularity of\n"
    "`trueq codecs` on built-in vectors (a ramp, normal weights with outliers and zeros,\n"
    "edge values: denormals, +-3e38, a constant row, a zero row):\n"
    "  dtype           stored codes dtype/shape and side-tensor bytes are the documented ones\n"
    "  scale           each block's scale equals the codec's formula on that block\n"
    "  positive-scale  every block holding a non-zero weight has a usable scale\n"
    "  range           every code lies in the codec's range\n"
    "  half-step       every reconstruction error is within half a quantization step\n"
    "  zeros           exact zeros decode to 0 and nothing decodes to NaN/Inf\n"
    "Prints PASS/FAIL per check; exits 0 when all pass, 3 when any fails.\n";

typedef struct selftest_args { bool failures; } selftest_args;

static int run(const tqc_ctx *c, void *va) {
    const bool only_fail = ((const selftest_args *)va)->failures;
    tq_selftest_result *r = NULL;
    int64_t n = 0, fails = 0;
    tq_error e;
    if (tq_selftest_run(&r, &n, &e)) return tqc_fail(c->cmd, &e);
    for (int64_t i = 0; i < n; i++) fails += !r[i].pass;
    if (c->json) {
        tqc_json j;
        tqc_json_init(&j, stdout, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "checks:l failed:l", (long long)n, (long long)fails);
        tqc_json_key(&j, "results");
        tqc_json_begin_array(&j);
        for (int64_t i = 0; i < n; i++) {
            if (only_fail && r[i].pass) continue;
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "codec:s vector:s check:s pass:b detail:s", r[i].codec, r[i].vector, r[i].check, r[i].pass,
                            r[i].detail);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
    } else {
        for (int64_t i = 0; i < n; i++) {
            if (only_fail && r[i].pass) continue;
            printf("%s  %-36s %-7s %-15s", r[i].pass ? "PASS" : "FAIL", r[i].codec, r[i].vector, r[i].check);
            if (!r[i].pass) printf("  %s", r[i].detail);
            printf("\n");
        }
        printf("%lld checks, %lld passed, %lld failed\n", (long long)n, (long long)(n - fails), (long long)fails);
    }
    free(r);
    return fails ? TQC_EXIT_THRESHOLD : TQC_EXIT_OK;
}

static const tqc_opt OPTS[] = {
    TQC_O_FLAG("--failures", NULL, selftest_args, failures, "print only failing checks (and the summary)"),
};

const tqc_command tqc_cmd_selftest = {.name = "selftest", .summary = "quantization-math checks of every codec on built-in vectors",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 0, .max_pos = 0, .pos_names = "no arguments", TQC_ARGS(selftest_args, NULL), .run = run, .route = NULL};
