/* test_verify.c — verify's metrics against values computed by hand, grades,
 * model comparison (presence lists, pooling, quantized tensors dequantized
 * from their codes), and the CLI's exit statuses. */
#include "tq_test.h"
#include "io/container.h"
#include "trueq_verify.h"
#include "trueq_spectral.h"
#include <float.h>
#include <stdlib.h>
#include <sys/stat.h>

static void metrics_by_hand(void) {
    tq_verify_metrics m;
    tq_error e;
    TQ_CASE("metrics of {1,2,3,4} vs {1,2,3,5}: hand-computed");
    const float w[4] = {1, 2, 3, 4}, q[4] = {1, 2, 3, 5};
    CHECK_OK(tq_verify_tensor(w, q, 1, 4, NULL, NULL, &m, &e), e);
    CHECK_EQ_INT(m.n, 4);
    CHECK_NEAR(m.mse, 0.25, 1e-15);                       /* 1/4 */
    CHECK_NEAR(m.rmse, 0.5, 1e-15);
    CHECK_NEAR(m.rel_fro, 1.0 / sqrt(30.0), 1e-15);       /* ||e|| = 1, ||w|| = sqrt(30) */
    CHECK_NEAR(m.max_abs, 1.0, 0);
    CHECK_NEAR(m.snr_db, 10.0 * log10(30.0), 1e-12);      /* 14.771 dB */
    CHECK_NEAR(m.cosine, 34.0 / sqrt(30.0 * 39.0), 1e-15);
    CHECK_EQ_INT(m.n_clipped, 0);                         /* all w inside [1, 5] */
    CHECK_EQ_INT(m.n_top, 1);                             /* ceil(4/1000) */
    CHECK_NEAR(m.top_rel_err, 0.25, 1e-15);               /* the top weight 4 -> 5 */
    CHECK_NEAR(m.top_max_abs, 1.0, 0);
    CHECK(tq_verify_grade(m.snr_db) == 'D');            /* 10 <= 14.77 < 20 */

    TQ_CASE("clipping: w outside [min q, max q] (tensor) or outside the given block ranges");
    const float q2[4] = {1, 2, 3, 3.5f};
    CHECK_OK(tq_verify_tensor(w, q2, 1, 4, NULL, NULL, &m, &e), e);
    CHECK_EQ_INT(m.n_clipped, 1);
    CHECK_NEAR(m.clipped_frac, 0.25, 0);
    /* two rows, channel blocks with ranges [0, 2.5] and [-10, 10]: w = 3 in row 0 clipped */
    const float w3[4] = {1, 3, -4, 4}, q3[4] = {1, 2.5f, -4, 4}, lohi[4] = {0, 2.5f, -10, 10};
    tq_qparams ch = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
    CHECK_OK(tq_verify_tensor(w3, q3, 2, 2, &ch, lohi, &m, &e), e);
    CHECK_EQ_INT(m.n_clipped, 1);
    /* group blocks of 2 along a row of 4: ranges per (row, group) */
    const float w4[4] = {1, -1, 5, 6}, q4[4] = {1, -1, 5, 5}, lh4[4] = {-1, 1, 0, 5};
    tq_qparams gr = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_GROUP, 2, 0, 0, 0, 0};
    CHECK_OK(tq_verify_tensor(w4, q4, 1, 4, &gr, lh4, &m, &e), e);
    CHECK_EQ_INT(m.n_clipped, 1);

    TQ_CASE("top 0.1%: ceil(n/1000) largest |w|, ties by lower index");
    float *big = malloc(sizeof(float) * 2001), *bq = malloc(sizeof(float) * 2001);
    for (int i = 0; i < 2001; i++) { big[i] = (float)(i % 100) * 0.01f; bq[i] = big[i]; }
    big[5] = -50; big[700] = 40; big[1500] = 40;  /* k = 3: -50, 40, 40 */
    bq[5] = -49; bq[700] = 38; bq[1500] = 40;
    CHECK_OK(tq_verify_tensor(big, bq, 1, 2001, NULL, NULL, &m, &e), e);
    CHECK_EQ_INT(m.n_top, 3);
    CHECK_NEAR(m.top_rel_err, sqrt((1.0 + 4.0) / (2500.0 + 1600 + 1600)), 1e-12);
    CHECK_NEAR(m.top_max_abs, 2.0, 0);
    big[1500] = 41; bq[1500] = 41;   /* now the ties: 41, -50, and the first 40 is 700 */
    big[1700] = 40; bq[1700] = 0;    /* a later tie at 40 is not taken */
    CHECK_OK(tq_verify_tensor(big, bq, 1, 2001, NULL, NULL, &m, &e), e);
    CHECK_NEAR(m.top_rel_err, sqrt((1.0 + 4.0) / (2500.0 + 1681 + 1600)), 1e-12);
    free(big);
    free(bq);

    TQ_CASE("degenerate: identical, all zero, zero original with error, NaN");
    const float z[3] = {0, 0, 0}, o[3] = {0, 1, 0};
    CHECK_OK(tq_verify_tensor(w, w, 1, 4, NULL, NULL, &m, &e), e);
    CHECK(m.mse == 0 && m.rel_fro == 0 && isinf(m.snr_db) && m.snr_db > 0 && m.cosine == 1.0);
    CHECK(tq_verify_grade(m.snr_db) == 'A');
    CHECK_OK(tq_verify_tensor(z, z, 1, 3, NULL, NULL, &m, &e), e);
    CHECK(m.rel_fro == 0 && m.cosine == 1.0 && m.top_rel_err == 0);
    CHECK_OK(tq_verify_tensor(z, o, 1, 3, NULL, NULL, &m, &e), e);
    CHECK(isinf(m.rel_fro) && isinf(m.snr_db) && m.snr_db < 0 && m.cosine == 0.0);
    CHECK(tq_verify_grade(m.snr_db) == 'F');
    const float nq[4] = {1, NAN, 3, 4};
    CHECK_OK(tq_verify_tensor(w, nq, 1, 4, NULL, NULL, &m, &e), e);
    CHECK(isnan(m.mse) && isnan(m.snr_db) && isnan(m.rel_fro) && tq_verify_grade(m.snr_db) == 'F');

    TQ_CASE("grades: documented thresholds 40/30/20/10 dB");
    CHECK(tq_verify_grade(40.0) == 'A' && tq_verify_grade(39.999) == 'B');
    CHECK(tq_verify_grade(30.0) == 'B' && tq_verify_grade(29.999) == 'C');
    CHECK(tq_verify_grade(20.0) == 'C' && tq_verify_grade(19.999) == 'D');
    CHECK(tq_verify_grade(10.0) == 'D' && tq_verify_grade(9.999) == 'F');
    CHECK(tq_verify_grade(NAN) == 'F');

    TQ_CASE("pooling: sums add, derived metrics recomputed");
    tq_verify_metrics a, b, acc;
    memset(&acc, 0, sizeof acc);
    CHECK_OK(tq_verify_tensor(w, q, 1, 4, NULL, NULL, &a, &e), e);       /* e2 = 1, w2 = 30 */
    CHECK_OK(tq_verify_tensor(w, q2, 1, 4, NULL, NULL, &b, &e), e);      /* e2 = 0.25 */
    tq_verify_pool(&acc, &a);
    tq_verify_pool(&acc, &b);
    tq_verify_finish(&acc);
    CHECK_EQ_INT(acc.n, 8);
    CHECK_NEAR(acc.mse, 1.25 / 8, 1e-15);
    CHECK_NEAR(acc.rel_fro, sqrt(1.25 / 60), 1e-15);
    CHECK_NEAR(acc.max_abs, 1.0, 0);
    CHECK_EQ_INT(acc.n_clipped, 1);
}

/* a safetensors file of F32 tensors */
typedef struct tdef { const char *name; int64_t r, c; const float *v; tq_dtype dt; } tdef;
static void write_file(const char *path, const tdef *t, int n) {
    tq_wentry we[8];
    memset(we, 0, sizeof we);   /* whole: gcc -O1 cannot see that n <= 8 (maybe-uninitialized) */
    for (int i = 0; i < n; i++) {
        we[i].name = t[i].name; we[i].dtype = t[i].dt ? t[i].dt : TQ_DTYPE_F32; we[i].ndim = 2;
        we[i].shape[0] = t[i].r; we[i].shape[1] = t[i].c;
    }
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, n, NULL, NULL, 0, &e);
    for (int i = 0; i < n; i++) {
        if (we[i].dtype == TQ_DTYPE_F32) tq_writer_put(w, i, t[i].v, (uint64_t)(t[i].r * t[i].c) * 4, &e);
        else {
            uint8_t b[64] = {0};
            tq_writer_put(w, i, b, (uint64_t)(t[i].r * t[i].c), &e);
        }
    }
    tq_writer_finish(w, &e);
    tq_writer_free(w);
}

static void models(void) {
    TQ_CASE("model comparison: presence lists, shape mismatch, BOOL compared by value, pooled metrics");
    const float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5}, c[6] = {1, 1, 1, 1, 1, 1};
    const tdef O[] = {{"x", 2, 2, a, 0}, {"only_orig", 1, 4, a, 0}, {"shape", 2, 2, a, 0}, {"same", 1, 4, a, 0}, {"flags", 1, 4, NULL, TQ_DTYPE_BOOL}};
    const tdef Q[] = {{"x", 2, 2, b, 0}, {"only_quant", 1, 6, c, 0}, {"shape", 1, 4, a, 0}, {"same", 1, 4, a, 0}, {"flags", 1, 4, NULL, TQ_DTYPE_BOOL}};
    char po[1024], pq[1024];
    snprintf(po, sizeof po, "%s", tq_t_path("v_orig.safetensors"));
    snprintf(pq, sizeof pq, "%s", tq_t_path("v_quant.safetensors"));
    write_file(po, O, 5);
    write_file(pq, Q, 5);
    tq_error e;
    tq_model *mo = tq_model_open(po, &e), *mq = tq_model_open(pq, &e);
    CHECK(mo && mq);
    if (!mo || !mq) { tq_model_close(mo); tq_model_close(mq); return; }
    tq_verify_report *r = tq_verify_report_create(mo, mq, &e);
    CHECK_MSG(r != NULL, "%s", e.msg);
    if (r) {
        CHECK_EQ_INT(tq_verify_count(r), 6);
        CHECK_EQ_INT(tq_verify_count_presence(r, TQ_VERIFY_COMPARED), 3);
        CHECK_EQ_INT(tq_verify_count_presence(r, TQ_VERIFY_ORIG_ONLY), 1);
        CHECK_EQ_INT(tq_verify_count_presence(r, TQ_VERIFY_QUANT_ONLY), 1);
        CHECK_EQ_INT(tq_verify_count_presence(r, TQ_VERIFY_MISMATCH), 1);
        CHECK_EQ_INT(tq_verify_count_presence(r, TQ_VERIFY_NOT_NUMERIC), 0);
        const tq_verify_row *last = tq_verify_row_at(r, 5);
        CHECK(strcmp(last->name, "only_quant") == 0 && last->presence == TQ_VERIFY_QUANT_ONLY);
        const tq_verify_metrics *all = tq_verify_overall(r, 0);
        CHECK_EQ_INT(all->n, 12);                    /* x, same, flags */
        CHECK_NEAR(all->mse, 1.0 / 12, 1e-15);
        CHECK_NEAR(all->rel_fro, sqrt(1.0 / 60), 1e-15);
        CHECK_EQ_INT(tq_verify_overall(r, 1)->n, 0);    /* nothing quantized */
        tq_verify_report_free(r);
        tq_verify_report_free(NULL);                     /* the release functions accept NULL */
        tq_spectral_report_free(NULL);
    }
    tq_model_close(mo);
    tq_model_close(mq);

    TQ_CASE("quantized model: values dequantized from stored codes; clipping from the codec's block ranges");
    /* affine 8-bit per channel: w = {-0.3, 1} row -> s = 1.3/255, z = round(58.85) = 59,
     * the top of the range is (255-59)*s = 0.99922 < 1: the weight 1 is clipped;
     * row {-1, 1, 0.25, -0.5}: s = 2/255, z = round_half_even(127.5) = 128, top
     * (255-128)*s = 0.99608 < 1: clipped too. */
    float w[8] = {-0.3f, 1.0f, 0.2f, 0.5f, -1, 1, 0.25f, -0.5f};
    const tdef W[] = {{"layer.0.attn.q.weight", 2, 4, w, 0}};
    char din[1024], dout[1024];
    snprintf(din, sizeof din, "%s", tq_t_path("vq_in"));
    snprintf(dout, sizeof dout, "%s", tq_t_path("vq_out"));
    mkdir(din, 0755);
    char fin[1100];
    snprintf(fin, sizeof fin, "%s/model.safetensors", din);
    write_file(fin, W, 1);
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.q.codec = TQ_CODEC_LINEAR_AFFINE;
    tq_model *m = tq_model_open(fin, &e);
    tq_plan *p = m ? tq_plan_create(m, &o, &e) : NULL;
    CHECK_MSG(p != NULL, "%s", e.msg);
    if (p) CHECK_OK(tq_plan_execute(p, dout, NULL, NULL, &e), e);
    tq_plan_free(p);
    char fout[1100];
    snprintf(fout, sizeof fout, "%s/model.safetensors", dout);
    tq_model *q = tq_model_open(fout, &e);
    CHECK_MSG(q != NULL, "%s", e.msg);
    if (m && q) {
        r = tq_verify_report_create(m, q, &e);
        CHECK_MSG(r != NULL, "%s", e.msg);
        if (r) {
            const tq_verify_row *row = tq_verify_row_at(r, 0);
            CHECK(row->quantized == 1 && strcmp(row->scheme, "linear-affine/8/channel") == 0);
            CHECK_EQ_INT(row->m.n_clipped, 2);
            /* independent dequantization of the first row: (u - z) * s */
            float s = 1.3f / 255.0f;
            double want_e2 = 0;
            for (int i = 0; i < 4; i++) {
                double u = fmin(255, fmax(0, nearbyint(w[i] / s) + 59));
                double d = w[i] - (double)((float)(u - 59) * s);
                want_e2 += d * d;
            }
            tq_verify_metrics one;
            float deq[8];
            CHECK_OK(tq_model_tensor_f32(q, tq_model_find(q, "layer.0.attn.q.weight"), deq, &e), e);
            CHECK_OK(tq_verify_tensor(w, deq, 1, 4, NULL, NULL, &one, &e), e);
            CHECK_NEAR(one.sum_e2, want_e2, 1e-12);
            CHECK_EQ_INT(tq_verify_overall(r, 1)->n, 8);
            tq_verify_report_free(r);
        }
    }
    tq_model_close(q);
    tq_model_close(m);
}

static void cli(void) {
    const char *cli = getenv("TQ_CLI");
    if (!cli) TQ_SKIP("TQ_CLI not set (run through ctest)");
    char cmd[4096], po[1024], pq[1024];
    snprintf(po, sizeof po, "%s", tq_t_path("v_orig.safetensors"));
    snprintf(pq, sizeof pq, "%s", tq_t_path("v_quant.safetensors"));
    char *out = NULL;
    TQ_CASE("CLI verify: exit 0 without thresholds, lists one-sided tensors, JSON parses numbers");
    snprintf(cmd, sizeof cmd, "%s verify %s %s", cli, po, pq);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    CHECK(out && strstr(out, "only in ORIG: only_orig") && strstr(out, "only in QUANT: only_quant") && strstr(out, "shapes differ: shape"));
    free(out); out = NULL;
    snprintf(cmd, sizeof cmd, "%s verify %s %s --json", cli, po, pq);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    CHECK(out && strstr(out, "\"mse\": 0.25,") && strstr(out, "\"snr_db\": null"));   /* "same": exact -> +inf -> null */
    free(out); out = NULL;

    TQ_CASE("CLI verify: exit 3 on a violated threshold, 0 when met, 1 on usage, 2 on unreadable input");
    /* x has rel error 1/sqrt(30) = 0.1826, SNR 14.77 dB; the shape mismatch violates any threshold */
    const float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    const tdef O[] = {{"x", 2, 2, a, 0}}, Q[] = {{"x", 2, 2, b, 0}};
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s", tq_t_path("t_orig.safetensors"));
    snprintf(p2, sizeof p2, "%s", tq_t_path("t_quant.safetensors"));
    write_file(p1, O, 1);
    write_file(p2, Q, 1);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --max-rel-error 0.18 2>/dev/null", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 3);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --max-rel-error 0.19", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --min-snr 14.8 2>/dev/null", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 3);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --min-snr 14.7", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --min-snr 0 2>/dev/null", cli, po, pq);   /* shape mismatch */
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 3);
    snprintf(cmd, sizeof cmd, "%s verify %s 2>/dev/null", cli, p1);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 1);
    snprintf(cmd, sizeof cmd, "%s verify %s %s --max-rel-error abc 2>/dev/null", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 1);
    snprintf(cmd, sizeof cmd, "%s verify %s /nonexistent/x.safetensors 2>/dev/null", cli, p1);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 2);

    TQ_CASE("CLI verify --csv: header, one row per tensor, pooled rows");
    snprintf(cmd, sizeof cmd, "%s verify %s %s --csv", cli, p1, p2);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    CHECK(out && strncmp(out, "name,presence,scheme,n,mse", 26) == 0 && strstr(out, "\nx,compared,F32,4,0.25,0.5,") &&
          strstr(out, "__overall__,pooled"));
    free(out); out = NULL;

    TQ_CASE("CLI selftest: exit 0, every line PASS; codecs lists every codec");
    snprintf(cmd, sizeof cmd, "%s selftest", cli);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    CHECK(out && strstr(out, "FAIL") == NULL && strstr(out, " 0 failed"));
    free(out); out = NULL;
    snprintf(cmd, sizeof cmd, "%s codecs", cli);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    for (int i = 0; out && i < tq_codec_count(); i++) CHECK(strstr(out, tq_codec_at(i)->name) != NULL);
    free(out); out = NULL;
    snprintf(cmd, sizeof cmd, "%s codecs --json", cli);
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    CHECK(out && strstr(out, "\"name\": \"qins-log-2b\", \"bits\": 8") && strstr(out, "\"codes_bytes_per_weight\": 1,"));
    free(out); out = NULL;

    TQ_CASE("CLI codecs --study on a small model: every variant written and measured");
    snprintf(cmd, sizeof cmd, "%s codecs --study %s --csv %s", cli, p1, tq_t_path("study.csv"));
    CHECK_EQ_INT(tq_t_run(cmd, &out), 0);
    free(out); out = NULL;
    /* 2x2 is too small for group 64 with pad; the study must still complete: count CSV rows */
    FILE *f = fopen(tq_t_path("study.csv"), "r");
    int lines = 0;
    char ln[1024];
    while (f && fgets(ln, sizeof ln, f)) lines++;
    if (f) fclose(f);
    CHECK_MSG(lines >= 20, "%d CSV lines", lines);
}

void tq_tests(void) {
    metrics_by_hand();
    models();
    cli();
}
