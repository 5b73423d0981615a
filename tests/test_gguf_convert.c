/*
 * test_gguf_convert.c — `convert --format gguf --type T` (src/convert/gguf_*.c).
 *   - the file-type table and llama-quantize's per-tensor policy: mixtures
 *     (use_more_bits, first-N, GQA), the output rule, never-quantized
 *     tensors, shape fallbacks, --include/--exclude;
 *   - stories260k (llama2.c names): the plan's size is the file's, the file
 *     parses strictly, names/types/KVs/tokenizer are llama.cpp's, bytes do
 *     not depend on the thread count;
 *   - the same model under Hugging Face names with rotate-half q/k rows (this
 *     test writes it): the q/k permutation gives back byte-identical tensors;
 *   - the GGUF row's plain-dtype writer back-end; refusals with their messages;
 *   - a bert GGUF requantized tensor by tensor (no family): the directory's tensors.
 * llama.cpp itself judges the files in tests/cli/gguf_llamacpp.sh.
 */
#include "tq_test.h"
#include "convert/gguf_export.h"
#include "ggml/ggml_types.h"
#include "io/gguf.h"
#include "io/writer.h"
#include "nn/arch/table.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void ftypes(void) {
    TQ_CASE("file types: llama-quantize's names, ids and base types");
    const tq_gguf_ftype *f = tq_gguf_ftype_by_name("Q4_K");
    CHECK(f && f->ftype == 15 && f->base == TQ_GGML_Q4_K);          /* Q4_K is Q4_K_M */
    CHECK(tq_gguf_ftype_by_name("Q4_K_M") == f);
    CHECK(tq_gguf_ftype_by_name("Q3_K")->ftype == 12 && tq_gguf_ftype_by_name("Q5_K")->ftype == 17);
    CHECK(tq_gguf_ftype_by_name("BF16")->ftype == 32 && tq_gguf_ftype_by_name("Q8_0")->ftype == 7);
    CHECK(tq_gguf_ftype_by_name("Q2_K")->ftype == 10 && tq_gguf_ftype_by_name("F32")->ftype == 0);
    CHECK(tq_gguf_ftype_by_name("q4_k") == NULL && tq_gguf_ftype_by_name("IQ4_NL") == NULL && !tq_gguf_ftype_by_name(NULL));
    char b[256];
    CHECK_MSG(strcmp(tq_gguf_ftype_names(b, sizeof b),
                     "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K or Q6_K") == 0, "%s", b);
}

static int type_of(tq_gguf_policy *pol, const char *name, int64_t ne0, int64_t ne1, int force) {
    int64_t ne[4] = {ne0, ne1, 1, 1};
    char rule[256];
    return tq_gguf_policy_type(pol, name, ne1 > 1 ? 2 : 1, ne, force, rule, sizeof rule);
}

static void policy(void) {
    TQ_CASE("policy: Q4_K_M mixture (use_more_bits over 8 layers), output rule, kept tensors");
    tq_gguf_policy pol = {tq_gguf_ftype_by_name("Q4_K"), 8, 1, 1, 8, 0, 0};
    /* use_more_bits(i, 8): i < 1, i >= 7, (i - 1) % 3 == 2 -> layers 0, 3, 6, 7 */
    const int more[8] = {1, 0, 0, 1, 0, 0, 1, 1};
    for (int i = 0; i < 8; i++) {
        char n[64];
        snprintf(n, sizeof n, "blk.%d.attn_v.weight", i);
        CHECK_EQ_INT(type_of(&pol, n, 256, 64, 0), more[i] ? TQ_GGML_Q6_K : TQ_GGML_Q4_K);
        snprintf(n, sizeof n, "blk.%d.ffn_down.weight", i);
        CHECK_EQ_INT(type_of(&pol, n, 512, 256, 0), more[i] ? TQ_GGML_Q6_K : TQ_GGML_Q4_K);
        snprintf(n, sizeof n, "blk.%d.attn_q.weight", i);
        CHECK_EQ_INT(type_of(&pol, n, 256, 256, 0), TQ_GGML_Q4_K);
    }
    CHECK_EQ_INT(type_of(&pol, "output.weight", 256, 512, 0), TQ_GGML_Q6_K);
    CHECK_EQ_INT(type_of(&pol, "token_embd.weight", 256, 512, 0), TQ_GGML_Q4_K);   /* untied: base */
    pol.has_output = 0;
    CHECK_EQ_INT(type_of(&pol, "token_embd.weight", 256, 512, 0), TQ_GGML_Q6_K);   /* tied: the output rule */
    CHECK_EQ_INT(type_of(&pol, "token_embd.weight", 64, 512, 0), TQ_GGML_Q8_0);    /* ne[0] % 256: Q8_0 */
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_norm.weight", 256, 1, 0), TQ_GGML_F32);
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_norm.weight", 256, 4, 0), TQ_GGML_F32); /* a 2-D norm: by name */
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.bias", 256, 4, 0), TQ_GGML_F32);
    CHECK_EQ_INT(type_of(&pol, "token_types.weight", 256, 2, 0), TQ_GGML_F32);
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.weight", 256, 256, -1), TQ_GGML_F32); /* --exclude */
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_norm.weight", 256, 1, 1), TQ_GGML_Q4_K); /* --include */

    TQ_CASE("policy: shape fallbacks (ne[0] not a multiple of the block)");
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.weight", 64, 64, 0), TQ_GGML_Q5_0);   /* Q4_K -> Q5_0 */
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.weight", 172, 64, 0), TQ_GGML_F16);   /* not even Q5_0 */
    pol.ft = tq_gguf_ftype_by_name("Q6_K");
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.weight", 64, 64, 0), TQ_GGML_Q8_0);
    pol.ft = tq_gguf_ftype_by_name("Q5_K");
    CHECK_EQ_INT(type_of(&pol, "blk.0.attn_q.weight", 64, 64, 0), TQ_GGML_Q5_1);
    pol.ft = tq_gguf_ftype_by_name("Q8_0");
    CHECK_EQ_INT(type_of(&pol, "blk.0.ffn_down.weight", 172, 64, 0), TQ_GGML_F16);
    CHECK_EQ_INT(type_of(&pol, "token_embd.weight", 64, 512, 0), TQ_GGML_Q8_0);
    pol.ft = tq_gguf_ftype_by_name("F16");                                          /* no mixtures for float types */
    CHECK_EQ_INT(type_of(&pol, "token_embd.weight", 64, 512, 0), TQ_GGML_F16);
    CHECK_EQ_INT(type_of(&pol, "output_norm.weight", 64, 1, 0), TQ_GGML_F32);

    TQ_CASE("policy: Q2_K by GQA ratio, Q3_K_M first attn_v tensors and early ffn_down");
    tq_gguf_policy q2 = {tq_gguf_ftype_by_name("Q2_K"), 32, 4, 1, 32, 0, 0};
    CHECK_EQ_INT(type_of(&q2, "blk.0.attn_v.weight", 256, 64, 0), TQ_GGML_Q4_K);
    CHECK_EQ_INT(type_of(&q2, "blk.0.ffn_down.weight", 512, 256, 0), TQ_GGML_Q3_K);
    CHECK_EQ_INT(type_of(&q2, "blk.0.attn_output.weight", 256, 256, 0), TQ_GGML_Q3_K);
    CHECK_EQ_INT(type_of(&q2, "blk.0.ffn_up.weight", 256, 512, 0), TQ_GGML_Q2_K);
    q2.n_gqa = 2;
    CHECK_EQ_INT(type_of(&q2, "blk.1.attn_v.weight", 256, 64, 0), TQ_GGML_Q3_K);
    tq_gguf_policy q3 = {tq_gguf_ftype_by_name("Q3_K"), 32, 1, 1, 32, 0, 0};
    const int v3[4] = {TQ_GGML_Q5_K, TQ_GGML_Q5_K, TQ_GGML_Q4_K, TQ_GGML_Q4_K};
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(type_of(&q3, "blk.0.attn_v.weight", 256, 256, 0), v3[i]);
    const int d3[4] = {TQ_GGML_Q5_K, TQ_GGML_Q5_K, TQ_GGML_Q4_K, TQ_GGML_Q4_K};   /* i < 32/16 */
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(type_of(&q3, "blk.0.ffn_down.weight", 512, 256, 0), d3[i]);
    CHECK_EQ_INT(type_of(&q3, "blk.0.attn_output.weight", 256, 256, 0), TQ_GGML_Q4_K);
}

/* ---- stories260k ------------------------------------------------------------ */

static tq_status convert(const char *in, const char *type, const char *outdir, int threads, const char *include,
                         uint64_t *planned, tq_error *e) {
    tq_model *m = tq_model_open(in, e);
    if (!m) return e->status;
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.format = TQ_FORMAT_GGUF;
    o.gguf_type = type;
    o.threads = threads;
    const char *inc[1] = {include};
    if (include) { o.include = inc; o.n_include = 1; }
    tq_plan *p = tq_plan_create(m, &o, e);
    tq_status st = p ? TQ_OK : e->status;
    if (p && planned) *planned = tq_plan_output_bytes(p);
    if (p && outdir) st = tq_plan_execute(p, outdir, NULL, NULL, e);
    tq_plan_free(p);
    tq_model_close(m);
    return st;
}

typedef struct file { tq_map m; tq_gguf g; int ok; } file;

static int open_gguf(file *f, const char *path) {
    tq_error e;
    memset(f, 0, sizeof *f);
    if (tq_map_open(&f->m, path, &e)) { CHECK_MSG(0, "%s", e.msg); return 0; }
    tq_status st = tq_gguf_parse(f->m.data, f->m.size, path, &f->g, &e);
    CHECK_MSG(st == TQ_OK, "%s", e.msg);
    f->ok = st == TQ_OK;
    return f->ok;
}
static void close_gguf(file *f) { tq_gguf_free(&f->g); tq_map_close(&f->m); }

static const tq_gguf_value *kv(const file *f, const char *key) {
    int64_t i = tq_gguf_find_kv(&f->g, key);
    return i >= 0 ? &f->g.kv[i].v : NULL;
}
static int kv_is(const file *f, const char *key, const char *s) {
    const tq_gguf_value *v = kv(f, key);
    return v && v->type == TQ_GGUF_STRING && v->str.len == strlen(s) && memcmp(v->str.s, s, v->str.len) == 0;
}
static int64_t kv_u(const file *f, const char *key) {
    const tq_gguf_value *v = kv(f, key);
    return v && v->type == TQ_GGUF_UINT32 ? (int64_t)v->num.u : -1;
}

/* Same tensors (names, order, types, shapes) with identical bytes. */
static int same_tensors(const file *a, const file *b) {
    if (a->g.n_tensors != b->g.n_tensors) return 0;
    for (int64_t i = 0; i < a->g.n_tensors; i++) {
        const tq_gguf_tensor *x = &a->g.tensors[i], *y = &b->g.tensors[i];
        if (strcmp(x->name, y->name) || x->ggml_type != y->ggml_type || x->nbytes != y->nbytes ||
            memcmp(x->ne, y->ne, sizeof x->ne) || memcmp(x->data, y->data, x->nbytes)) {
            CHECK_MSG(0, "tensor %s differs", x->name);
            return 0;
        }
    }
    return 1;
}

static void stories(const char *dir) {
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s/stories260K.safetensors", dir);
    tq_error e;

    TQ_CASE("stories260k -> GGUF Q4_K: plan == file, llama names, keys, tokenizer, policy");
    uint64_t planned = 0;
    snprintf(out, sizeof out, "%s", tq_t_path("q4k"));
    tq_status st = convert(in, "Q4_K", out, 1, NULL, &planned, &e);
    CHECK_OK(st, e);
    if (st) return;
    file f;
    char path[1100];
    snprintf(path, sizeof path, "%s/model.gguf", out);
    if (!open_gguf(&f, path)) return;
    CHECK_EQ_INT(f.m.size, planned);
    CHECK_EQ_INT(f.g.n_tensors, 47);   /* 5 layers x 9 + token_embd + output_norm; tied: no output.weight */
    /* llama.cpp's order: outside blocks by name, then block by block */
    CHECK(strcmp(f.g.tensors[0].name, "output_norm.weight") == 0 && strcmp(f.g.tensors[1].name, "token_embd.weight") == 0);
    CHECK(strcmp(f.g.tensors[2].name, "blk.0.attn_k.weight") == 0 && strcmp(f.g.tensors[46].name, "blk.4.ffn_up.weight") == 0);
    int64_t te = tq_gguf_find_tensor(&f.g, "token_embd.weight"), q = tq_gguf_find_tensor(&f.g, "blk.0.attn_q.weight");
    int64_t v2 = tq_gguf_find_tensor(&f.g, "blk.2.attn_v.weight"), v1 = tq_gguf_find_tensor(&f.g, "blk.1.attn_v.weight");
    int64_t dn = tq_gguf_find_tensor(&f.g, "blk.0.ffn_down.weight"), nm = tq_gguf_find_tensor(&f.g, "blk.3.ffn_norm.weight");
    CHECK(te >= 0 && q >= 0 && v2 >= 0 && v1 >= 0 && dn >= 0 && nm >= 0);
    if (te >= 0 && q >= 0 && v2 >= 0 && v1 >= 0 && dn >= 0 && nm >= 0) {
        CHECK_EQ_INT(f.g.tensors[te].ggml_type, TQ_GGML_Q8_0);   /* tied output, 64 % 256: Q8_0 */
        CHECK(f.g.tensors[te].ne[0] == 64 && f.g.tensors[te].ne[1] == 512);
        CHECK_EQ_INT(f.g.tensors[q].ggml_type, TQ_GGML_Q5_0);    /* Q4_K fallback */
        CHECK_EQ_INT(f.g.tensors[v2].ggml_type, TQ_GGML_Q8_0);   /* use_more_bits(2, 5): Q6_K -> Q8_0 */
        CHECK_EQ_INT(f.g.tensors[v1].ggml_type, TQ_GGML_Q5_0);
        CHECK_EQ_INT(f.g.tensors[dn].ggml_type, TQ_GGML_F16);    /* ne[0] 172 */
        CHECK_EQ_INT(f.g.tensors[nm].ggml_type, TQ_GGML_F32);
    }
    CHECK(f.g.n_kv > 0 && strcmp(f.g.kv[0].key, "general.architecture") == 0 && kv_is(&f, "general.architecture", "llama"));
    CHECK(kv_is(&f, "general.name", "stories260k"));
    CHECK_EQ_INT(kv_u(&f, "general.file_type"), 15);
    CHECK_EQ_INT(kv_u(&f, "general.quantization_version"), 2);
    CHECK_EQ_INT(kv_u(&f, "llama.block_count"), 5);
    CHECK_EQ_INT(kv_u(&f, "llama.embedding_length"), 64);
    CHECK_EQ_INT(kv_u(&f, "llama.feed_forward_length"), 172);
    CHECK_EQ_INT(kv_u(&f, "llama.attention.head_count"), 8);
    CHECK_EQ_INT(kv_u(&f, "llama.attention.head_count_kv"), 4);
    CHECK_EQ_INT(kv_u(&f, "llama.rope.dimension_count"), 8);
    CHECK_EQ_INT(kv_u(&f, "llama.context_length"), 512);
    const tq_gguf_value *eps = kv(&f, "llama.attention.layer_norm_rms_epsilon");
    CHECK(eps && eps->type == TQ_GGUF_FLOAT32 && eps->num.f == (double)1e-5f);
    CHECK(kv_is(&f, "trueq.converter", "trueq " TQ_VERSION_STRING " convert --format gguf --type Q4_K"));
    CHECK(kv_is(&f, "tokenizer.ggml.model", "llama"));
    CHECK_EQ_INT(kv_u(&f, "tokenizer.ggml.bos_token_id"), 1);
    CHECK_EQ_INT(kv_u(&f, "tokenizer.ggml.eos_token_id"), 2);
    const tq_gguf_value *toks = kv(&f, "tokenizer.ggml.tokens"), *types = kv(&f, "tokenizer.ggml.token_type");
    CHECK(toks && toks->count == 512 && types && types->count == 512 && types->elem_type == TQ_GGUF_INT32);
    if (toks && types && toks->count == 512 && types->count == 512) {
        int32_t t[512];
        memcpy(t, types->elems, sizeof t);
        CHECK(t[0] == 2 && t[1] == 3 && t[2] == 3);
        int bytes = 0, space = 0;
        for (int i = 0; i < 512; i++) {
            const tq_gguf_str *s = &toks->strs[i];
            int is_byte = s->len == 6 && memcmp(s->s, "<0x", 3) == 0;
            bytes += is_byte && t[i] == 6;
            CHECK_MSG(!is_byte || t[i] == 6, "token %d <0x..> has type %d", i, t[i]);
            space += s->len >= 3 && memcmp(s->s, "\xe2\x96\x81", 3) == 0;
            CHECK_MSG(!memchr(s->s, ' ', s->len), "token %d holds a plain space", i);
        }
        CHECK_EQ_INT(bytes, 256);
        CHECK(space > 10);
    }

    TQ_CASE("stories260k: every --type plans its exact size; bytes independent of the thread count");
    static const char *const all[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q5_K", "Q6_K"};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        char o1[1024], p1[1100];
        snprintf(o1, sizeof o1, "%s", tq_t_path(all[k]));
        uint64_t pl = 0;
        CHECK_OK(convert(in, all[k], o1, 1, NULL, &pl, &e), e);
        snprintf(p1, sizeof p1, "%s/model.gguf", o1);
        file g;
        if (open_gguf(&g, p1)) {
            CHECK_MSG(g.m.size == pl, "%s: planned %llu, wrote %llu", all[k], (unsigned long long)pl, (unsigned long long)g.m.size);
            CHECK_EQ_INT(kv_u(&g, "general.file_type"), tq_gguf_ftype_by_name(all[k])->ftype);
            close_gguf(&g);
        }
    }
    char o4[1024], p4[1100];
    snprintf(o4, sizeof o4, "%s", tq_t_path("q4k_threads"));
    CHECK_OK(convert(in, "Q4_K", o4, 7, NULL, NULL, &e), e);
    snprintf(p4, sizeof p4, "%s/model.gguf", o4);
    file f4;
    if (open_gguf(&f4, p4)) {
        CHECK(f4.m.size == f.m.size && memcmp(f4.m.data, f.m.data, f.m.size) == 0);
        close_gguf(&f4);
    }

    TQ_CASE("stories260k: --include forces a norm into the file type, and is recorded");
    char oi[1024], pi[1100];
    snprintf(oi, sizeof oi, "%s", tq_t_path("q80_inc"));
    CHECK_OK(convert(in, "Q8_0", oi, 1, "blk.0.ffn_norm.weight", NULL, &e), e);
    snprintf(pi, sizeof pi, "%s/model.gguf", oi);
    file fi;
    if (open_gguf(&fi, pi)) {
        int64_t i = tq_gguf_find_tensor(&fi.g, "blk.0.ffn_norm.weight");
        CHECK(i >= 0 && fi.g.tensors[i].ggml_type == TQ_GGML_Q8_0);
        CHECK(kv_is(&fi, "trueq.converter", "trueq " TQ_VERSION_STRING " convert --format gguf --type Q8_0 --include blk.0.ffn_norm.weight"));
        close_gguf(&fi);
    }
    close_gguf(&f);
}

/* Write stories260k under Hugging Face names, q/k rows in rotate-half order
 * (HF row s*half + p = Meta row 2p + s within each head), with config.json. */
static int write_hf_copy(const char *dir, const char *hf_dir) {
    char in[1024], tok[1024], dst[1100];
    snprintf(in, sizeof in, "%s/stories260K.safetensors", dir);
    tq_error e;
    tq_model *m = tq_model_open(in, &e);
    if (!m) { CHECK_MSG(0, "%s", e.msg); return 0; }
    const tq_arch *meta = tq_arch_by_name("llama2c"), *hf = tq_arch_by_name("llama-hf");
    int64_t n = tq_model_count(m);
    tq_wentry *we = calloc((size_t)n, sizeof *we);
    float **data = calloc((size_t)n, sizeof *data);
    char (*names)[128] = calloc((size_t)n, sizeof *names);
    int ok = we && data && names;
    for (int64_t i = 0; ok && i < n; i++) {
        const tq_tensor *t = tq_model_tensor(m, i);
        int found = 0;
        for (int r = 0; r < TQ_R_COUNT && !found; r++)
            for (int l = 0; l < 5 && !found; l++) {
                char buf[256];
                if (tq_arch_name(meta, "", (tq_role)r, l, 0, buf, sizeof buf) && strcmp(buf, t->name) == 0) {
                    found = tq_arch_name(hf, "", (tq_role)r, l, 0, names[i], sizeof names[i]);
                    data[i] = malloc(sizeof(float) * (size_t)t->numel);
                    ok = data[i] && !tq_model_tensor_f32(m, t, data[i], &e);
                    int heads = r == TQ_R_Q ? 8 : r == TQ_R_K ? 4 : 0;
                    if (ok && heads) {
                        int64_t rows = t->shape[0], cols = t->shape[1], per = rows / heads, half = per / 2;
                        float *c = malloc(sizeof(float) * (size_t)t->numel);
                        if (!c) { ok = 0; break; }
                        memcpy(c, data[i], sizeof(float) * (size_t)t->numel);
                        for (int h = 0; h < heads; h++)
                            for (int64_t p = 0; p < half; p++)
                                for (int s = 0; s < 2; s++)
                                    memcpy(data[i] + (h * per + s * half + p) * cols, c + (h * per + 2 * p + s) * cols,
                                           sizeof(float) * (size_t)cols);
                        free(c);
                    }
                }
            }
        CHECK_MSG(found, "%s has no HF name", t->name);
        ok = ok && found;
        we[i].name = names[i]; we[i].dtype = TQ_DTYPE_F32; we[i].ndim = t->ndim;
        memcpy(we[i].shape, t->shape, sizeof we[i].shape);
    }
    if (ok) {
        mkdir(hf_dir, 0755);
        snprintf(dst, sizeof dst, "%s/model.safetensors", hf_dir);
        tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, dst, we, n, NULL, NULL, 0, &e);
        for (int64_t i = 0; w && ok && i < n; i++)
            ok = !tq_writer_put(w, i, data[i], tq_nbytes(TQ_DTYPE_F32, we[i].ndim, we[i].shape), &e);
        ok = ok && w && !tq_writer_finish(w, &e);
        tq_writer_free(w);
        CHECK_MSG(ok, "%s", e.msg);
    }
    static const char cfg[] =
        "{\"hidden_size\": 64, \"intermediate_size\": 172, \"num_hidden_layers\": 5, \"num_attention_heads\": 8,\n"
        " \"num_key_value_heads\": 4, \"vocab_size\": 512, \"max_position_embeddings\": 512, \"rms_norm_eps\": 1e-05,\n"
        " \"rope_theta\": 10000.0, \"tie_word_embeddings\": true}\n";
    snprintf(dst, sizeof dst, "%s/config.json", hf_dir);
    ok = ok && tq_t_write(dst, cfg, strlen(cfg)) == 0;
    snprintf(tok, sizeof tok, "%s/tok512.bin", dir);
    snprintf(dst, sizeof dst, "%s/tok512.bin", hf_dir);
    ok = ok && !tq_copy_file(tok, dst, &e);
    for (int64_t i = 0; data && i < n; i++) free(data[i]);
    free(data); free(we); free(names);
    tq_model_close(m);
    return ok;
}

static void hf_names(const char *dir) {
    TQ_CASE("Hugging Face names: the q/k permutation gives back llama.cpp's interleaved rows, byte for byte");
    char hf[1024], a[1024], b[1024], pa[1100], pb[1100], in[1024];
    snprintf(hf, sizeof hf, "%s", tq_t_path("stories_hf"));
    if (!write_hf_copy(dir, hf)) return;
    snprintf(in, sizeof in, "%s/stories260K.safetensors", dir);
    tq_error e;
    for (int k = 0; k < 2; k++) {
        const char *type = k ? "Q8_0" : "F32";
        snprintf(a, sizeof a, "%s", tq_t_path(k ? "meta_q8" : "meta_f32"));
        snprintf(b, sizeof b, "%s", tq_t_path(k ? "hf_q8" : "hf_f32"));
        CHECK_OK(convert(in, type, a, 1, NULL, NULL, &e), e);
        CHECK_OK(convert(hf, type, b, 3, NULL, NULL, &e), e);
        snprintf(pa, sizeof pa, "%s/model.gguf", a);
        snprintf(pb, sizeof pb, "%s/model.gguf", b);
        file fa, fb;
        if (!open_gguf(&fa, pa)) continue;
        if (open_gguf(&fb, pb)) {
            CHECK_MSG(same_tensors(&fa, &fb), "%s: HF-named copy differs", type);
            CHECK(kv_is(&fb, "general.name", "stories_hf"));
            CHECK_EQ_INT(kv_u(&fb, "llama.attention.head_count_kv"), 4);
            close_gguf(&fb);
        }
        close_gguf(&fa);
    }
}

static void refusals(const char *dir) {
    TQ_CASE("refusals: unknown --type, no tokenizer, a tokenizer of another size, not a family, unmatched --include");
    char in[1024];
    snprintf(in, sizeof in, "%s/stories260K.safetensors", dir);
    tq_error e;
    tq_status st = convert(in, "Q4_2", NULL, 1, NULL, NULL, &e);
    CHECK_ERR(st, e, TQ_E_ARG, "--type Q4_2: not a GGUF file type trueq writes (F32, F16, BF16, Q8_0");
    st = convert(in, "Q8_0", NULL, 1, "nothing.*", NULL, &e);
    CHECK_ERR(st, e, TQ_E_NOTFOUND, "--include nothing.* matches no tensor");
    /* the model without its tokenizer */
    char nodir[1024], dst[1100];
    snprintf(nodir, sizeof nodir, "%s", tq_t_path("notok"));
    mkdir(nodir, 0755);
    snprintf(dst, sizeof dst, "%s/model.safetensors", nodir);
    CHECK_OK(tq_copy_file(in, dst, &e), e);
    char pj[1024];
    snprintf(pj, sizeof pj, "%s/params.json", dir);
    snprintf(dst, sizeof dst, "%s/params.json", nodir);
    CHECK_OK(tq_copy_file(pj, dst, &e), e);
    st = convert(nodir, "Q8_0", NULL, 1, NULL, NULL, &e);
    CHECK_ERR(st, e, TQ_E_NOTFOUND, "GGUF output carries the tokenizer (llama.cpp requires tokenizer.ggml.*)");
    /* a tokenizer that does not match the vocabulary (llama.cpp would refuse the file) */
    static const char pj600[] = "{\"dim\": 64, \"hidden_dim\": 172, \"n_layers\": 5, \"n_heads\": 8, \"n_kv_heads\": 4, "
                                "\"vocab_size\": 600, \"max_seq_len\": 512, \"norm_eps\": 1e-05}";
    CHECK(tq_t_write(dst, pj600, strlen(pj600)) == 0);
    char tk[1024], tkd[1100];
    snprintf(tk, sizeof tk, "%s/tok512.bin", dir);
    snprintf(tkd, sizeof tkd, "%s/tok512.bin", nodir);
    CHECK_OK(tq_copy_file(tk, tkd, &e), e);
    st = convert(nodir, "Q8_0", NULL, 1, NULL, NULL, &e);
    CHECK_ERR(st, e, TQ_E_SHAPE, "the tokenizer has 512 tokens, the model's vocabulary 600");
    /* not a family trueq writes: one plain matrix */
    tq_wentry we = {"w.weight", TQ_DTYPE_F32, 2, {2, 32}};
    float z[64] = {0};
    snprintf(dst, sizeof dst, "%s", tq_t_path("plain.safetensors"));
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, dst, &we, 1, NULL, NULL, 0, &e);
    CHECK(w && !tq_writer_put(w, 0, z, sizeof z, &e) && !tq_writer_finish(w, &e));
    tq_writer_free(w);
    st = convert(dst, "Q8_0", NULL, 1, NULL, NULL, &e);
    CHECK_ERR(st, e, TQ_E_UNSUPPORTED, "not a model family trueq writes as GGUF (Llama (llama2.c names), Llama (llama.cpp GGUF names), Llama (Hugging Face names), BERT, DistilBERT)");
}

static void backend(void) {
    TQ_CASE("the GGUF row's plain-dtype back-end: ne reversed, metadata as STRING KVs, exact plan");
    tq_wentry e2[2] = {{"a", TQ_DTYPE_F32, 2, {2, 3}}, {"b", TQ_DTYPE_I16, 1, {5}}};
    const char *mk[1] = {"note"}, *mv[1] = {"hello"};
    tq_error e;
    const char *path = tq_t_path("plain.gguf");
    tq_writer *w = tq_writer_create(TQ_FORMAT_GGUF, path, e2, 2, mk, mv, 1, &e);
    CHECK_MSG(w != NULL, "%s", e.msg);
    if (!w) return;
    float a[6] = {1, 2, 3, 4, 5, 6};
    int16_t b[5] = {-1, 2, -3, 4, -5};
    uint64_t planned = w->total_size;
    CHECK_OK(tq_writer_put(w, 1, b, sizeof b, &e), e);
    CHECK_OK(tq_writer_put(w, 0, a, sizeof a, &e), e);
    CHECK_OK(tq_writer_finish(w, &e), e);
    tq_writer_free(w);
    file f;
    if (!open_gguf(&f, path)) return;
    CHECK_EQ_INT(f.m.size, planned);
    CHECK(kv_is(&f, "general.architecture", "trueq") && kv_is(&f, "note", "hello"));
    CHECK(f.g.n_tensors == 2 && f.g.tensors[0].ne[0] == 3 && f.g.tensors[0].ne[1] == 2 && f.g.tensors[0].ggml_type == TQ_GGML_F32);
    CHECK(f.g.tensors[1].ggml_type == TQ_GGML_I16 && memcmp(f.g.tensors[1].data, b, sizeof b) == 0);
    CHECK(memcmp(f.g.tensors[0].data, a, sizeof a) == 0);
    close_gguf(&f);
    tq_wentry u = {"u", TQ_DTYPE_U8, 1, {4}};
    CHECK(tq_writer_create(TQ_FORMAT_GGUF, NULL, &u, 1, NULL, NULL, 0, &e) == NULL);
    CHECK_ERR(e.status, e, TQ_E_UNSUPPORTED, "entry \"u\": dtype U8 has no GGUF tensor type");
}

static void bert_g2g(const char *dir);
static void bert(void) {
    TQ_CASE("DistilBERT -> llama.cpp's bert layout: names, kept tensors, bert.* keys, phantom-space WordPiece vocab");
    char dir[1024], out[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", tq_t_path("distilbert"));
    snprintf(out, sizeof out, "%s", tq_t_path("distilbert_q8"));
    tq_synth_options so;
    tq_synth_options_init(&so);
    so.layers = 2; so.dim = 256; so.hidden = 512; so.heads = 4; so.vocab = 1024;
    tq_error e;
    tq_status st = tq_synth_distilbert(dir, &so, &e);
    CHECK_OK(st, e);
    if (st) return;
    uint64_t planned = 0;
    CHECK_OK(convert(dir, "Q8_0", out, 2, NULL, &planned, &e), e);
    snprintf(path, sizeof path, "%s/model.gguf", out);
    file f;
    if (!open_gguf(&f, path)) return;
    CHECK_EQ_INT(f.m.size, planned);
    CHECK(kv_is(&f, "general.architecture", "bert") && kv_is(&f, "tokenizer.ggml.model", "bert"));
    CHECK_EQ_INT(kv_u(&f, "bert.block_count"), 2);
    CHECK_EQ_INT(kv_u(&f, "bert.embedding_length"), 256);
    CHECK_EQ_INT(kv_u(&f, "bert.feed_forward_length"), 512);
    CHECK_EQ_INT(kv_u(&f, "bert.attention.head_count"), 4);
    CHECK_EQ_INT(kv_u(&f, "bert.pooling_type"), 1);              /* mean: no sentence-transformers config */
    CHECK_EQ_INT(kv_u(&f, "tokenizer.ggml.token_type_count"), 1);
    const tq_gguf_value *causal = kv(&f, "bert.attention.causal"), *eps = kv(&f, "bert.attention.layer_norm_epsilon");
    CHECK(causal && causal->type == TQ_GGUF_BOOL && causal->num.u == 0);
    CHECK(eps && eps->type == TQ_GGUF_FLOAT32 && eps->num.f == (double)1e-12f);
    /* 4 embedding tensors + 16 per layer; the classification head is not written */
    CHECK_EQ_INT(f.g.n_tensors, 4 + 2 * 16);
    CHECK(tq_gguf_find_tensor(&f.g, "classifier.weight") < 0 && tq_gguf_find_tensor(&f.g, "token_types.weight") < 0);
    static const struct { const char *name; int type; } want[] = {
        {"token_embd.weight", TQ_GGML_Q8_0}, {"position_embd.weight", TQ_GGML_F32}, {"token_embd_norm.bias", TQ_GGML_F32},
        {"blk.1.attn_q.bias", TQ_GGML_F32}, {"blk.1.attn_output_norm.weight", TQ_GGML_F32},
        {"blk.0.layer_output_norm.weight", TQ_GGML_F32}, {"blk.0.ffn_down.weight", TQ_GGML_Q8_0},
        {"blk.0.attn_output.weight", TQ_GGML_Q8_0}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int64_t i = tq_gguf_find_tensor(&f.g, want[k].name);
        CHECK_MSG(i >= 0 && f.g.tensors[i].ggml_type == want[k].type, "%s", want[k].name);
    }
    const tq_gguf_value *toks = kv(&f, "tokenizer.ggml.tokens"), *types = kv(&f, "tokenizer.ggml.token_type");
    CHECK(toks && types && toks->count == 1024 && types->count == 1024);
    int64_t cls = kv_u(&f, "tokenizer.ggml.bos_token_id"), sep = kv_u(&f, "tokenizer.ggml.seperator_token_id");
    CHECK(cls >= 0 && sep >= 0 && kv_u(&f, "tokenizer.ggml.unknown_token_id") >= 0);
    if (toks && types && toks->count == 1024 && cls >= 0 && sep >= 0) {
        CHECK(toks->strs[cls].len == 5 && memcmp(toks->strs[cls].s, "[CLS]", 5) == 0);
        CHECK(toks->strs[sep].len == 5 && memcmp(toks->strs[sep].s, "[SEP]", 5) == 0);
        int32_t t[1024];
        memcpy(t, types->elems, sizeof t);
        CHECK_EQ_INT(t[cls], 3);
        int words = 0, pieces = 0;
        for (int i = 0; i < 1024; i++) {
            const tq_gguf_str *s = &toks->strs[i];
            words += s->len > 3 && memcmp(s->s, "\xe2\x96\x81", 3) == 0 && t[i] == 1;
            pieces += s->len >= 2 && memcmp(s->s, "##", 2) == 0;
        }
        CHECK(words > 100);
        CHECK_EQ_INT(pieces, 0);   /* "##x" is written "x" */
    }
    close_gguf(&f);
    bert_g2g(dir);
}

/* GGUF -> GGUF without a model family (a bert GGUF: the decoder's llama-gguf
 * row does not apply): from trueq's own F32 GGUF of the DistilBERT directory,
 * every --type gives the tensors the directory gives (same names, order,
 * types and bytes; the directory's path is bit-exact with llama-quantize in
 * tests/cli/gguf_llamacpp.sh), and every KV of the input is carried over as
 * stored except general.file_type (rewritten) and trueq.converter (this run's). */
static void bert_g2g(const char *dir) {
    TQ_CASE("bert GGUF -> GGUF: tensor by tensor, no family; tensors == the directory's, input KVs carried over");
    char f32dir[1024], f32[1100], a[1024], b[1024], pa[1100], pb[1100];
    snprintf(f32dir, sizeof f32dir, "%s", tq_t_path("distilbert_f32"));
    snprintf(f32, sizeof f32, "%s/model.gguf", f32dir);
    tq_error e;
    tq_status st = convert(dir, "F32", f32dir, 1, NULL, NULL, &e);
    CHECK_OK(st, e);
    if (st) return;
    static const char *const types[] = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"};
    static const int ftypes_of[] = {7, 2, 15, 18};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        snprintf(a, sizeof a, "%s_%s", tq_t_path("bert_dir"), types[t]);
        snprintf(b, sizeof b, "%s_%s", tq_t_path("bert_g2g"), types[t]);
        uint64_t planned = 0;
        CHECK_OK(convert(dir, types[t], a, 2, NULL, NULL, &e), e);
        CHECK_OK(st = convert(f32, types[t], b, 2, NULL, &planned, &e), e);
        if (st) continue;
        snprintf(pa, sizeof pa, "%s/model.gguf", a);
        snprintf(pb, sizeof pb, "%s/model.gguf", b);
        file x, y, in;
        memset(&in, 0, sizeof in);
        if (!open_gguf(&x, pa)) continue;
        if (open_gguf(&y, pb) && open_gguf(&in, f32) && in.ok) {
            CHECK_EQ_INT(y.m.size, planned);
            CHECK_MSG(same_tensors(&x, &y), "--type %s", types[t]);
            CHECK_EQ_INT(kv_u(&y, "general.file_type"), ftypes_of[t]);
            CHECK(kv(&y, "trueq.converter") && kv(&in, "trueq.converter"));
            int carried = 0;
            for (int64_t k = 0; k < in.g.n_kv; k++) {
                const tq_gguf_kv *s = &in.g.kv[k];
                if (!strcmp(s->key, "general.file_type") || !strcmp(s->key, "trueq.converter")) continue;
                int64_t j = tq_gguf_find_kv(&y.g, s->key);
                int same = j >= 0 && y.g.kv[j].nbytes == s->nbytes &&
                           !memcmp(y.m.data + y.g.kv[j].offset, in.m.data + s->offset, (size_t)s->nbytes);
                CHECK_MSG(same, "--type %s: KV %s not carried over", types[t], s->key);
                carried += same;
            }
            /* bert.* (9), tokenizer.*, general.*; + the file type and the provenance */
            CHECK_MSG(carried > 15 && y.g.n_kv == carried + 2, "%d of %lld KVs carried", carried, (long long)y.g.n_kv);
        }
        if (y.ok && in.ok) close_gguf(&in);
        if (y.ok) close_gguf(&y);
        close_gguf(&x);
    }
}

void tq_tests(void) {
    ftypes();
    policy();
    backend();
    bert();
    const char *md = tq_t_models_dir();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/stories260k", md ? md : "");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/stories260K.safetensors", dir);
    if (!md || !tq_file_exists(probe)) {
        TQ_CASE("stories260k conversions");
        TQ_SKIP("stories260k not found (set TRUEQ_MODELS)");
    }
    stories(dir);
    hf_names(dir);
    refusals(dir);
}
