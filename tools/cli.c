/* cli.c — option tables into values, --help from the tables, the messages
 * of the command line (cli.h). */
#include "cli.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int tqc_fail(const char *cmd, const tq_error *err) {
    fprintf(stderr, "trueq %s: %s: %s\n", cmd, tq_status_str(err->status), err->msg);
    return TQC_EXIT_FAIL;
}

/* "trueq CMD: message" and, for usage errors, the pointer to --help. */
static void say(const char *cmd, bool usage, const char *fmt, va_list ap) {
    fprintf(stderr, "trueq %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    if (usage) fprintf(stderr, " (see trueq %s --help)", cmd);
    fputc('\n', stderr);
}

/* The body of a printf-like message function: print through say(), return code. */
#define SAY_AND_RETURN(cmd, usage, fmt, code) \
    do { va_list ap; va_start(ap, fmt); say(cmd, usage, fmt, ap); va_end(ap); return code; } while (0)

int tqc_usage_error(const char *cmd, const char *fmt, ...) { SAY_AND_RETURN(cmd, true, fmt, TQC_EXIT_USAGE); }
int tqc_error(const char *cmd, const char *fmt, ...) { SAY_AND_RETURN(cmd, false, fmt, TQC_EXIT_FAIL); }

int tqc_opt_index(const tqc_command *cmd, const char *name) {
    for (int i = 0; i < cmd->nopts; i++)
        if (!strcmp(cmd->opts[i].name, name) || (cmd->opts[i].short_name && !strcmp(cmd->opts[i].short_name, name)))
            return i;
    return -1;
}

bool tqc_given(const tqc_command *cmd, const tqc_ctx *c, const char *name) {
    int i = tqc_opt_index(cmd, name);
    return i >= 0 && c->given[i];
}

static bool takes_value(const tqc_opt *o) { return o->kind != TQC_FLAG && o->kind != TQC_SET; }

static void choices_str(const tqc_choice *ch, const char *sep, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; ch[i].name && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? sep : "", ch[i].name);
}

/* "[lo, hi]" of a float range; an infinite end is written inf. */
static void drange(const tqc_opt *o, char *buf, size_t cap) {
    snprintf(buf, cap, "[%g, %g%s", o->dlo, o->dhi, isinf(o->dhi) ? ")" : "]");
}

/* Convert and store one option value; a usage error is printed and 1 returned. */
static int store(const char *cmd, const tqc_opt *o, const char *v, void *args) {
    char *dst = (char *)args + o->off;
    char rb[96];
    tqc_num_status st;
    switch (o->kind) {
    case TQC_FLAG: *(bool *)dst = true; return 0;
    case TQC_SET: *(int *)dst = o->ival; return 0;
    case TQC_STR: *(const char **)dst = v; return 0;
    case TQC_LIST: {
        tqc_list *l = (tqc_list *)dst;
        if (l->n == TQC_LIST_MAX) return tqc_usage_error(cmd, "%s: at most %d values", o->name, TQC_LIST_MAX);
        l->v[l->n++] = v;
        return 0;
    }
    case TQC_INT:
        if ((st = tqc_parse_i64(v, o->lo, o->hi, (int64_t *)dst)) == TQC_NUM_OK) return 0;
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not an integer", o->name, v);
        return tqc_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", o->name, v, (long long)o->lo, (long long)o->hi);
    case TQC_THREADS: {
        int64_t n;
        if ((st = tqc_parse_i64(v, o->lo, o->hi, &n)) == TQC_NUM_OK) { tq_set_threads((int)n); return 0; }
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not an integer", o->name, v);
        return tqc_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", o->name, v, (long long)o->lo, (long long)o->hi);
    }
    case TQC_UINT:
        if ((st = tqc_parse_u64(v, 0, UINT64_MAX, (uint64_t *)dst)) == TQC_NUM_OK) return 0;
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not an integer", o->name, v);
        return tqc_usage_error(cmd, "%s: %s is out of range [0, %llu]", o->name, v, (unsigned long long)UINT64_MAX);
    case TQC_F64:
        if ((st = tqc_parse_f64(v, o->dlo, o->dhi, (double *)dst)) == TQC_NUM_OK) return 0;
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not a number", o->name, v);
        drange(o, rb, sizeof rb);
        return tqc_usage_error(cmd, "%s: %s is out of range %s", o->name, v, rb);
    case TQC_SIZE:
        if ((st = tqc_parse_size(v, (uint64_t)o->lo, (uint64_t)o->hi, (uint64_t *)dst)) == TQC_NUM_OK) return 0;
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not a size (e.g. 125MB)", o->name, v);
        return tqc_usage_error(cmd, "%s: %s is out of range [%lld, %lld] bytes", o->name, v, (long long)o->lo, (long long)o->hi);
    case TQC_CHOICE:
        for (int i = 0; o->choices[i].name; i++)
            if (!strcmp(v, o->choices[i].name)) { *(int *)dst = o->choices[i].value; return 0; }
        choices_str(o->choices, ", ", rb, sizeof rb);
        return tqc_usage_error(cmd, "%s: \"%s\" is not one of %s", o->name, v, rb);
    case TQC_GRAN:
        if ((st = tqc_gran_parse(v, (tqc_gran *)dst)) == TQC_NUM_OK) return 0;
        if (st == TQC_NUM_JUNK) return tqc_usage_error(cmd, "%s: \"%s\" is not one of tensor, channel, group:N", o->name, v);
        return tqc_usage_error(cmd, "%s: the group size of %s is out of range [1, %lld]", o->name, v, 1LL << 40);
    case TQC_CODEC:
        if ((*(const tq_codec_info **)dst = tq_codec_by_name(v))) return 0;
        return tqc_usage_error(cmd, "%s: unknown codec \"%s\" (trueq codecs lists them)", o->name, v);
    case TQC_FORMAT: {
        const tq_format_info *fi = tq_format_by_name(v);
        if (fi && (fi->caps & (unsigned)o->ival) == (unsigned)o->ival) { *(const tq_format_info **)dst = fi; return 0; }
        return tqc_usage_error(cmd, "%s: \"%s\" is not one of %s", o->name, v, tq_format_names((unsigned)o->ival, rb, sizeof rb));
    }
    }
    return tqc_usage_error(cmd, "%s: unsupported option kind", o->name);
}

int tqc_parse(const tqc_command *cmd, int argc, char **argv, tqc_ctx *c, void *args) {
    memset(c, 0, sizeof *c);
    c->cmd = argc > 0 ? argv[0] : cmd->name;
    tq_set_threads(0);   /* --threads holds for this command line only */
    if (cmd->defaults) memcpy(args, cmd->defaults, cmd->args_size);
    else memset(args, 0, cmd->args_size);
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && !strcmp(a, "--")) { opts_done = true; continue; }
        if (opts_done || a[0] != '-' || !a[1]) {
            if (c->npos == TQC_MAX_POS) return tqc_usage_error(c->cmd, "more than %d arguments", TQC_MAX_POS);
            c->pos[c->npos++] = a;
            continue;
        }
        char name[128];
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL, *val = eq ? eq + 1 : NULL;
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) { tqc_help(cmd, stdout); return TQC_EXIT_OK; }
        if (cmd->has_json && !strcmp(name, "--json")) {
            if (val) return tqc_usage_error(c->cmd, "--json takes no value");
            c->json = true;
            continue;
        }
        int k = tqc_opt_index(cmd, name);
        if (k < 0) return tqc_usage_error(c->cmd, "unknown option %s", name);
        const tqc_opt *o = &cmd->opts[k];
        if (!takes_value(o) && val) return tqc_usage_error(c->cmd, "%s takes no value", name);
        if (takes_value(o) && !val) {
            if (i + 1 >= argc) return tqc_usage_error(c->cmd, "%s needs a value", name);
            val = argv[++i];
        }
        if (store(c->cmd, o, val, args)) return TQC_EXIT_USAGE;
        if (k < TQC_MAX_OPTS) c->given[k] = true;
    }
    if (cmd->max_pos == 0 && c->npos > 0) return tqc_usage_error(c->cmd, "unexpected argument \"%s\"", c->pos[0]);
    if (c->npos < cmd->min_pos || (cmd->max_pos >= 0 && c->npos > cmd->max_pos))
        return tqc_usage_error(c->cmd, "expected %s, got %d argument%s", cmd->pos_names, c->npos, c->npos == 1 ? "" : "s");
    return -1;
}

static const char *default_metavar(const tqc_opt *o, char *buf, size_t cap) {
    if (o->metavar) return o->metavar;
    switch (o->kind) {
    case TQC_INT: case TQC_UINT: case TQC_THREADS: return "N";
    case TQC_F64: return "X";
    case TQC_SIZE: return "SIZE";
    case TQC_CHOICE: choices_str(o->choices, "|", buf, cap); return buf;
    case TQC_FORMAT:   /* the format table's rows with the capabilities, a|b */
        buf[0] = 0;
        for (int i = 0, k = 0; i < tq_format_count(); i++) {
            const tq_format_info *fi = tq_format_at(i);
            if ((fi->caps & (unsigned)o->ival) == (unsigned)o->ival && (size_t)k < cap)
                k += snprintf(buf + k, cap - (size_t)k, "%s%s", k ? "|" : "", fi->name);
        }
        return buf;
    default: return "VALUE";
    }
}

/* One help entry: "  -o, --output OUTDIR" padded to a column, then the help lines. */
static void help_entry(FILE *f, const char *shrt, const char *name, const char *meta, const char *help, const char *range) {
    char head[160];
    snprintf(head, sizeof head, "  %s%s%s%s%s", shrt ? shrt : "", shrt ? ", " : "", name, meta ? " " : "", meta ? meta : "");
    const int col = 28;
    fputs(head, f);
    if ((int)strlen(head) >= col - 1) fprintf(f, "\n%*s", col, "");
    else fprintf(f, "%*s", col - (int)strlen(head), "");
    for (const char *p = help; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') fprintf(f, "%*s", col, "");
    }
    if (range) fprintf(f, " %s", range);
    fputc('\n', f);
}

void tqc_help(const tqc_command *cmd, FILE *f) {
    fprintf(f, "usage: trueq %s %s\n", cmd->name, cmd->synopsis);
    if (cmd->description) fprintf(f, "\n%s", cmd->description);
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < cmd->nopts; i++) {
        const tqc_opt *o = &cmd->opts[i];
        char mb[160], rb[96];
        const char *range = NULL;
        if (o->kind == TQC_INT || o->kind == TQC_THREADS) { snprintf(rb, sizeof rb, "[%lld, %lld]", (long long)o->lo, (long long)o->hi); range = rb; }
        else if (o->kind == TQC_F64) { drange(o, rb, sizeof rb); range = rb; }
        help_entry(f, o->short_name, o->name, takes_value(o) ? default_metavar(o, mb, sizeof mb) : NULL, o->help, range);
    }
    if (cmd->has_json) help_entry(f, NULL, "--json", NULL, "one JSON object on stdout (non-finite numbers are null)", NULL);
    help_entry(f, "-h", "--help", NULL, "this help", NULL);
    if (cmd->epilog) fprintf(f, "\n%s", cmd->epilog);
}

const char *tqc_first_positional(const tqc_command *cmd, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) return i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !a[1]) return a;
        int k = strchr(a, '=') ? -1 : tqc_opt_index(cmd, a);
        if (k >= 0 && takes_value(&cmd->opts[k])) i++;
    }
    return NULL;
}

int tqc_main(const tqc_command *cmd, int argc, char **argv) {
    for (int hops = 0; cmd->route && hops < 4; hops++) {
        const tqc_command *next = cmd->route(argc, argv);
        if (!next || next == cmd) break;
        cmd = next;
    }
    if (cmd->nopts > TQC_MAX_OPTS) return tqc_error(cmd->name, "internal error: more than %d options", TQC_MAX_OPTS);
    void *args = malloc(cmd->args_size ? cmd->args_size : 1);
    if (!args) return tqc_error(cmd->name, "out of memory");
    tqc_ctx c;
    int rc = tqc_parse(cmd, argc, argv, &c, args);
    if (rc < 0) rc = cmd->run(&c, args);
    free(args);
    return rc;
}
