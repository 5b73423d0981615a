/* cmd_selftest.c — `trueq selftest`: the quantization-math checks of every
 * codec on built-in vectors (src/codec/selftest.c); PASS/FAIL per check. */
#include "cli.h"
#include "trueq_verify.h"
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq selftest [--json] [--failures]\n\n"
    "Runs the seeds' quantization-math checks for every codec x bits x granularity of\n"
    "`trueq codecs` on built-in vectors (a ramp, normal weights with outliers and zeros,\n"
    "edge values: denormals, +-3e38, a constant row, a zero row):\n"
    "  dtype           stored codes dtype/shape and side-tensor bytes are the documented ones\n"
    "  scale           each block's scale equals the codec's formula on that block\n"
    "  positive-scale  every block holding a non-zero weight has a usable scale\n"
    "  range           every code lies in the codec's range\n"
    "  half-step       every reconstruction error is within half a quantization step\n"
    "  zeros           exact zeros decode to 0 and nothing decodes to NaN/Inf\n"
    "Prints PASS/FAIL per check; exits 0 when all pass, 3 when any fails.\n\n"
    "  --json       machine-readable output\n"
    "  --failures   print only failing checks (and the summary)\n";

int cmd_selftest(int argc, char **argv) {
    tq_args a;
    tq_args_init(&a, argc, argv);
    bool json = false, only_fail = false;
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--failures")) only_fail = true;
        else return tq_args_unknown(&a, USAGE);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos) return tq_cli_usage_error("selftest", "takes no arguments");
    tq_selftest_result *r = NULL;
    int64_t n = 0, fails = 0;
    tq_error e;
    if (tq_selftest_run(&r, &n, &e)) return tq_cli_fail("selftest", &e);
    for (int64_t i = 0; i < n; i++) fails += !r[i].pass;
    if (json) {
        printf("{\"checks\": %lld, \"failed\": %lld, \"results\": [", (long long)n, (long long)fails);
        bool first = true;
        for (int64_t i = 0; i < n; i++) {
            if (only_fail && r[i].pass) continue;
            printf("%s\n  {\"codec\": ", first ? "" : ",");
            first = false;
            tq_json_str(stdout, r[i].codec);
            printf(", \"vector\": ");
            tq_json_str(stdout, r[i].vector);
            printf(", \"check\": ");
            tq_json_str(stdout, r[i].check);
            printf(", \"pass\": %s, \"detail\": ", r[i].pass ? "true" : "false");
            tq_json_str(stdout, r[i].detail);
            printf("}");
        }
        printf("]}\n");
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
    return fails ? TQ_EXIT_THRESHOLD : TQ_EXIT_OK;
}
