/* test_hf_decoders.c — the Hugging Face decoder families against transformers.
 *
 * Needs the reference environment of tests/py/hf_venv.sh (transformers
 * 4.46.3 over Debian's torch); skipped (77) with a message without it.
 * tests/py/hf_decoders.py builds tiny random-initialised models with
 * transformers itself (from_config, seeded, every parameter redrawn so biases
 * and norms are not trivial, save_pretrained in float32 and bfloat16; cached
 * under ~/.cache/trueq/hf-decoders-v2):
 *   llama    LlamaForCausalLM, untied lm_head, GQA, generation_config EOS [2, 7]
 *   llama3   LlamaForCausalLM with rope_scaling llama3, tied
 *   qwen2    Qwen2ForCausalLM: q/k/v biases, tied
 *   phi3     Phi3ForCausalLM: fused qkv_proj / gate_up_proj, longrope with
 *            short and long factors (original context 16; prompts of 9, 16
 *            and 40 tokens: both sets engage), sliding window 8
 *   mistral  MistralForCausalLM, sliding window 6
 * For every prompt, trueq's logits at every position (one state sized to the
 * prompt, as transformers' one forward pass over it) match transformers'
 * float32 logits within 1e-4 max abs.
 * Also, without the environment: unknown decoder families are refused by
 * name, and a generation_config.json's EOS list is read. */
#include "tq_test.h"
#include "core/internal.h"
#include "trueq_llama.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOL 1e-4
#define VOCAB 256

static const int LENS[] = {9, 16, 40, 1};
#define NP ((int)(sizeof LENS / sizeof LENS[0]))

static void prompt_ids(int k, int *ids) {
    uint64_t rng = 77 + (uint64_t)k;
    for (int i = 0; i < LENS[k]; i++) ids[i] = i == 0 ? 1 : (int)(3 + tq_t_rand(&rng) % (VOCAB - 3));
}

/* max |trueq - transformers| over every prompt and position of model dir */
static double check_model(const char *py, const char *src, const char *tag, const char *dir, const char *family) {
    tq_error err = {0};
    tq_model *m = tq_model_open(dir, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, err.msg);
    if (!m) return INFINITY;
    tq_llama *l = tq_llama_open(m, NULL, &err);
    CHECK_MSG(l != NULL, "%s: %s", tag, err.msg);
    tq_model_close(m);
    if (!l) return INFINITY;
    const tq_llama_config *c = tq_llama_config_of(l);
    int want = !strcmp(family, "Qwen2ForCausalLM") ? TQ_LLAMA_NAMING_QWEN2 : !strcmp(family, "Phi3ForCausalLM") ? TQ_LLAMA_NAMING_PHI3
             : !strcmp(family, "MistralForCausalLM") ? TQ_LLAMA_NAMING_MISTRAL : TQ_LLAMA_NAMING_HF;
    CHECK_MSG((int)c->naming == want, "%s: family row %d, want %d", tag, (int)c->naming, want);
    char in[1024], out[1024], cmd[4096];
    snprintf(in, sizeof in, "%s", tq_t_path("dec_in.json"));
    snprintf(out, sizeof out, "%s", tq_t_path("dec_out.bin"));
    int ids[NP][64];
    FILE *f = fopen(in, "w");
    fputc('[', f);
    for (int k = 0; k < NP; k++) {
        prompt_ids(k, ids[k]);
        fprintf(f, "%s[", k ? "," : "");
        for (int i = 0; i < LENS[k]; i++) fprintf(f, i ? ",%d" : "%d", ids[k][i]);
        fputc(']', f);
    }
    fputs("]\n", f);
    fclose(f);
    int cw = snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/hf_decoders.py' run '%s' '%s' '%s' 2>&1", py, src, dir, in, out);
    CHECK_MSG(cw > 0 && (size_t)cw < sizeof cmd, "%s: the command line is over %zu bytes", tag, sizeof cmd);
    char *log = NULL;
    int rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "%s: hf_decoders.py run failed: %s", tag, log ? log : "");
    free(log);
    char *ref = NULL;
    size_t nref = 0;
    double worst = rc ? INFINITY : 0;
    if (!rc && tq_read_file(out, &ref, &nref, NULL) == TQ_OK) {
        const float *r = (const float *)(void *)ref;
        size_t off = 0, V = (size_t)c->vocab_size;
        float *lg = malloc(sizeof(float) * V);
        for (int k = 0; k < NP; k++) {
            tq_llama_state *s = tq_llama_state_create(l, LENS[k], &err);
            CHECK_MSG(s != NULL, "%s: %s", tag, err.msg);
            for (int p = 0; s && p < LENS[k] && (off + V) * sizeof(float) <= nref; p++, off += V) {
                CHECK_OK(tq_llama_forward(l, s, ids[k][p], p, lg, &err), err);
                for (size_t i = 0; i < V; i++) {
                    double d = fabs((double)lg[i] - r[off + i]);
                    if (!(d <= worst)) worst = d;
                }
            }
            tq_llama_state_free(s);
        }
        CHECK_MSG(off * sizeof(float) == nref, "%s: %zu reference floats, %zu compared", tag, nref / sizeof(float), off);
        free(lg);
    }
    free(ref);
    printf("  %s: max |trueq - transformers| logits %.3g\n", tag, worst);
    CHECK_MSG(worst <= TOL, "%s: logits differ from transformers' by %.3g (> %g)", tag, worst, TOL);
    tq_llama_free(l);
    return worst;
}

static void write_cfg(const char *path, const char *js) { tq_t_write(path, js, strlen(js)); }

void tq_tests(void) {
    tq_error err = {0};
    tq_llama_config c;
    TQ_CASE("config: an unknown decoder family is refused by name; the rows come from architectures / model_type");
    const char *p = tq_t_path("config.json");
    write_cfg(p, "{\"architectures\": [\"XLMRobertaForCausalLM\"], \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                 " \"num_attention_heads\": 4}");
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_UNSUPPORTED, "\"XLMRobertaForCausalLM\" is not a decoder family");
    CHECK(strstr(err.msg, "Phi3ForCausalLM") != NULL);
    write_cfg(p, "{\"model_type\": \"gpt2\", \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4}");
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_UNSUPPORTED, "model_type \"gpt2\"");
    write_cfg(p, "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                 " \"sliding_window\": 8, \"eos_token_id\": 5}");
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK_EQ_INT(c.naming, TQ_LLAMA_NAMING_QWEN2);
    CHECK_EQ_INT(c.sliding_window, 0);   /* use_sliding_window is false by default */
    CHECK(c.n_eos == 1 && c.eos_ids[0] == 5);
    write_cfg(p, "{\"architectures\": [\"MistralForCausalLM\"], \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                 " \"num_attention_heads\": 4, \"sliding_window\": 8, \"head_dim\": 8}");
    CHECK_ERR(tq_llama_config_read(p, &c, &err), err, TQ_E_UNSUPPORTED, "\"head_dim\" is 8");
    write_cfg(p, "{\"architectures\": [\"Phi3ForCausalLM\"], \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                 " \"num_attention_heads\": 4, \"sliding_window\": 8, \"partial_rotary_factor\": 0.5}");
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK(c.naming == TQ_LLAMA_NAMING_PHI3 && c.sliding_window == 8 && c.rope_dim == 8);

    TQ_CASE("config: rope_scaling llama3 as per-pair factors (known answers)");
    /* head 16 (8 pairs), theta 10000, factor 8, low 1, high 4, original 32:
     * wavelengths 2 pi 10000^(j/8): j = 0 (6.3 < 8) keeps its frequency, j >= 2
     * (> 32) turns 8 times slower, j = 1 (19.9) blends with t = (32/19.87 - 1)/3 */
    write_cfg(p, "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                 " \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8,"
                 " \"low_freq_factor\": 1, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 32}}");
    CHECK_OK(tq_llama_config_read(p, &c, &err), err);
    CHECK_EQ_INT(c.n_rope_factors, 8);
    CHECK_NEAR(c.rope_factors[0], 1, 1e-6);
    double w1 = 2 * M_PI * pow(10000.0, 1.0 / 8), t = (32 / w1 - 1) / 3;
    CHECK_NEAR(c.rope_factors[1], 1 / ((1 - t) / 8 + t), 1e-5);
    CHECK_NEAR(c.rope_factors[2], 8, 1e-6);
    CHECK_NEAR(c.rope_factors[7], 8, 1e-6);

    TQ_CASE("config: generation_config.json's eos_token_id list replaces config.json's");
    char *dir = tq_t_path("gen");
    char dcopy[1024];
    snprintf(dcopy, sizeof dcopy, "%s", dir);
    mkdir(dcopy, 0755);
    char cp[1200], gp[1200];
    snprintf(cp, sizeof cp, "%s/config.json", dcopy);
    snprintf(gp, sizeof gp, "%s/generation_config.json", dcopy);
    write_cfg(cp, "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"eos_token_id\": 2}");
    write_cfg(gp, "{\"eos_token_id\": [2, 7, 9]}");
    CHECK_OK(tq_llama_config_find(dcopy, &c, &err), err);
    CHECK(c.n_eos == 3 && c.eos_ids[0] == 2 && c.eos_ids[1] == 7 && c.eos_ids[2] == 9);
    write_cfg(gp, "{\"eos_token_id\": \"x\"}");
    CHECK_ERR(tq_llama_config_find(dcopy, &c, &err), err, TQ_E_FORMAT, "generation_config.json: \"eos_token_id\"");

    TQ_CASE("reference: set up transformers and the tiny models");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) TQ_SKIP("TQ_SOURCE_DIR is not set (run through ctest)");
    char cmd[4096], *env = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/hf_venv.sh' 2>/dev/null", src);
    int rc = tq_t_run(cmd, &env);
    if (rc != 0 || !env) { free(env); TQ_SKIP("no transformers reference environment (tests/py/hf_venv.sh)"); }
    char py[1024] = "";
    char *nl = strchr(env, '\n');
    if (nl) snprintf(py, sizeof py, "%.*s", (int)(nl - env), env);
    free(env);
    if (!py[0]) TQ_SKIP("hf_venv.sh gave no python");
    const char *home = getenv("HOME");
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/.cache/trueq/hf-decoders-v2", home ? home : "/root");
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/hf_decoders.py' make '%s' 2>&1", py, src, cache);
    char *list = NULL;
    rc = tq_t_run(cmd, &list);
    CHECK_MSG(rc == 0 && list, "hf_decoders.py make: %s", list ? list : "");
    if (rc || !list) { free(list); return; }

    int n = 0;
    for (char *line = list, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char tag[64], family[64], mdir[1024];
        if (sscanf(line, "%63s %63s %1023s", tag, family, mdir) != 3) continue;
        char title[1400];
        snprintf(title, sizeof title, "%s (%s): logits at every position of 4 prompts within %g of transformers'", tag,
                 family, TOL);
        TQ_CASE(title);
        check_model(py, src, tag, mdir, family);
        n++;
    }
    free(list);
    TQ_CASE("reference: every model was compared");
    CHECK_EQ_INT(n, 10);
}
