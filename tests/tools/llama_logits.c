/*
 * llama_logits.c — teacher-forced next-token logits of trueq's Llama decoder,
 * for conformance tests against other runtimes (tests/py/gguf_agree_llamacpp.py).
 * Uses only the public API (trueq.h, trueq_llama.h).
 *
 * usage: llama_logits MODEL IDS OUT.npy [--greedy N] [--keep-quantized]
 *   MODEL  anything tq_model_open reads that tq_llama_open accepts (a .gguf
 *          file: its llama.* metadata is the configuration);
 *   IDS    a text file, one sequence per line, token ids separated by white
 *          space (blank lines skipped); every sequence runs from a fresh cache
 *          at position 0 (put BOS first where the model wants it);
 *   OUT    a NumPy .npy file (format 1.0, '<f4', C order) of shape
 *          [P, vocab]: the logits after every position of every sequence,
 *          sequences one after another (P = the total number of ids). Written
 *          to OUT.tmp, renamed at the end; removed on failure.
 *   --greedy N  then, for every sequence, N greedy tokens (argmax of the
 *          logits, ties to the lowest id, no stop token) continue it; one
 *          line per sequence of the generated ids goes to stdout.
 *   --keep-quantized  open the decoder with tq_llama_opts.keep_quantized: the
 *          layer and output matrices stay in their ggml blocks and their
 *          products run trueq's kernels (src/kern/), which quantize the
 *          activations to 8 bits per block as llama.cpp's CPU backend does
 *          (Q8_0-style blocks of 32 for Q8_0/Q4_0/Q4_1, Q8_K-style 256 for
 *          Q4_K/Q5_K/Q6_K); types without a kernel (Q5_0, Q5_1, Q2_K, Q3_K)
 *          are decoded by tiles and meet float32 activations.
 * Exit 0; 2 on a usage error; 1 on any other failure (message on stderr).
 */
#include "trueq.h"
#include "trueq_llama.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS (1 << 20)

static int fail(const char *what, const tq_error *e) {
    fprintf(stderr, "llama_logits: %s: %s\n", what, e ? e->msg : strerror(errno));
    return 1;
}

/* Read IDS: ids[] holds every id, starts[k]..starts[k+1] sequence k. */
static int read_ids(const char *path, int *ids, int *n_ids, int *starts, int *n_seq, int max_seq) {
    FILE *f = fopen(path, "r");
    if (!f) return fail(path, NULL);
    char line[65536];
    *n_ids = 0;
    *n_seq = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n') && !feof(f)) { fclose(f); fprintf(stderr, "llama_logits: %s: line too long\n", path); return 1; }
        char *p = line, *end;
        int start = *n_ids;
        for (;;) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            if (*n_ids >= MAX_IDS || v < 0 || v > 0x7fffffff) { fclose(f); fprintf(stderr, "llama_logits: %s: bad id or too many ids\n", path); return 1; }
            ids[(*n_ids)++] = (int)v;
            p = end;
        }
        if (*n_ids == start) continue;
        if (*n_seq >= max_seq) { fclose(f); fprintf(stderr, "llama_logits: %s: too many sequences\n", path); return 1; }
        starts[(*n_seq)++] = start;
    }
    fclose(f);
    starts[*n_seq] = *n_ids;
    return 0;
}

/* The .npy header for a float32 [rows, cols] array, padded to 64 bytes. */
static int npy_header(FILE *f, long rows, long cols) {
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %ld), }", rows, cols);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned hl = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n) return -1;
    for (int i = 0; i < pad; i++) if (fputc(' ', f) == EOF) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

int main(int argc, char **argv) {
    int greedy = 0, keepq = 0, bad = argc < 4;
    for (int i = 4; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--keep-quantized")) keepq = 1;
        else if (!strcmp(argv[i], "--greedy") && i + 1 < argc) greedy = atoi(argv[++i]);
        else bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: llama_logits MODEL IDS OUT.npy [--greedy N] [--keep-quantized]\n");
        return 2;
    }
    if (greedy < 0) { fprintf(stderr, "llama_logits: --greedy wants N >= 0\n"); return 2; }
    static int ids[MAX_IDS], starts[1025];
    int n_ids, n_seq;
    if (read_ids(argv[2], ids, &n_ids, starts, &n_seq, 1024)) return 1;
    if (n_ids == 0) { fprintf(stderr, "llama_logits: %s holds no ids\n", argv[2]); return 1; }
    tq_error e;
    tq_model *m = tq_model_open(argv[1], &e);
    if (!m) return fail("open", &e);
    tq_llama_opts opts = {.keep_quantized = keepq};
    tq_llama *l = tq_llama_open_ex(m, NULL, &opts, &e);
    tq_model_close(m);
    if (!l) return fail("decoder", &e);
    if (keepq) fprintf(stderr, "llama_logits: %d matrices kept in their stored blocks\n", tq_llama_int8_matrices(l));
    const tq_llama_config *c = tq_llama_config_of(l);
    int vocab = c->vocab_size, longest = 0;
    for (int k = 0; k < n_seq; k++)
        if (starts[k + 1] - starts[k] > longest) longest = starts[k + 1] - starts[k];
    tq_llama_state *s = tq_llama_state_create(l, longest + greedy, &e);
    float *lg = malloc(sizeof(float) * (size_t)vocab);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[3]);
    FILE *out = s && lg ? fopen(tmp, "wb") : NULL;
    int rc = 0;
    if (!s) rc = fail("state", &e);
    else if (!lg) rc = fail("memory", NULL);
    else if (!out) rc = fail(tmp, NULL);
    else if (npy_header(out, n_ids, vocab)) rc = fail(tmp, NULL);
    for (int k = 0; k < n_seq && !rc; k++) {
        int n = starts[k + 1] - starts[k], pos = 0, tok = 0;
        for (; pos < n && !rc; pos++) {
            tok = ids[starts[k] + pos];
            if (tq_llama_forward(l, s, tok, pos, lg, &e)) rc = fail("forward", &e);
            else if (fwrite(lg, sizeof(float), (size_t)vocab, out) != (size_t)vocab) rc = fail(tmp, NULL);
        }
        for (int g = 0; g < greedy && !rc; g++, pos++) {
            tok = tq_llama_argmax(lg, vocab);
            printf("%d%s", tok, g + 1 < greedy ? " " : "");
            if (g + 1 < greedy && tq_llama_forward(l, s, tok, pos, lg, &e)) rc = fail("forward", &e);
        }
        if (greedy && !rc) printf("\n");
    }
    if (out && fclose(out) && !rc) rc = fail(tmp, NULL);
    if (!rc && rename(tmp, argv[3])) rc = fail(argv[3], NULL);
    if (rc && out) remove(tmp);
    free(lg);
    tq_llama_state_free(s);
    tq_llama_free(l);
    return rc;
}
