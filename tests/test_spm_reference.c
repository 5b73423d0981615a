/* test_spm_reference.c — the tokenizer against Google's sentencepiece.
 *
 * Setup (skipped with a message when it cannot be had): a venv outside the
 * repository, ~/.cache/trueq/venv-spm, with the PyPI package sentencepiece
 * (Debian's python3-venv for the venv). A small BPE model with byte fallback
 * is trained there on a generated corpus, exported to llama2.c's
 * tokenizer.bin layout, and sentencepiece's own ids for a set of texts are
 * the known answers our encoder must reproduce. */
#include "tq_test.h"
#include "trueq_llama.h"
#include <cjson/cJSON.h>
#include <stdlib.h>

static const char *PY =
    "import json, os, random, struct, sys\n"
    "import sentencepiece as spm\n"
    "out = sys.argv[1]\n"
    "random.seed(1)\n"
    "words = ('once upon a time there was little girl named lily she loved to play outside in the park '\n"
    "         'one day saw big red ball wanted it but too high mom said let us go sad did not know what do '\n"
    "         'tom dog cat ran jumped happy friends tree bird sang went home ate cake smiled hugged').split()\n"
    "lines = []\n"
    "for i in range(4000):\n"
    "    s = ' '.join(random.choice(words) for _ in range(random.randint(3, 14)))\n"
    "    lines.append(s[0].upper() + s[1:] + random.choice(['.', '!', '?', ',', ' \"yes\"']))\n"
    "lines += ['Zoe had 42 apples and 7 pears; Bob had 13.', 'Caf\\u00e9 au lait (hot) - [cold] {ice}']\n"
    "open(os.path.join(out, 'corpus.txt'), 'w').write('\\n'.join(lines) + '\\n')\n"
    "spm.SentencePieceTrainer.train(input=os.path.join(out, 'corpus.txt'), model_prefix=os.path.join(out, 'm'),\n"
    "    model_type='bpe', vocab_size=700, byte_fallback=True, normalization_rule_name='identity',\n"
    "    add_dummy_prefix=True, remove_extra_whitespaces=False, character_coverage=1.0,\n"
    "    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)\n"
    "sp = spm.SentencePieceProcessor(model_file=os.path.join(out, 'm.model'))\n"
    "ent = []\n"
    "for i in range(sp.get_piece_size()):\n"
    "    p = sp.id_to_piece(i)\n"
    "    if i == sp.bos_id(): p = '\\n<s>\\n'\n"
    "    if i == sp.eos_id(): p = '\\n</s>\\n'\n"
    "    ent.append((p.replace('\\u2581', ' ').encode('utf-8'), sp.get_score(i)))\n"
    "with open(os.path.join(out, 'tok.bin'), 'wb') as f:\n"
    "    f.write(struct.pack('<i', max(len(b) for b, _ in ent)))\n"
    "    for b, s in ent: f.write(struct.pack('<fi', s, len(b)) + b)\n"
    "texts = ['Once upon a time there was a little girl named Lily.', 'the dog ran home', 'x',\n"
    "    'Lily  and   Tom', ' leading space', 'trailing space ', 'unseen words: xylophone quartz jazz',\n"
    "    'Snowman \\u2603 and emoji \\U0001F600 fall back to bytes', 'tab\\tand\\nnewline', 'Zoe had 42 apples',\n"
    "    'Caf\\u00e9 au lait', 'happyhappyhappy parkpark', 'A', '\\u00e9\\u00e9\\u00e9',\n"
    "    'She said, \"Let us go!\" and they went to the park to play with the big red ball.',\n"
    "    '<s> and </s> and <unk> are only text here']\n"
    "random.seed(7)\n"
    "for i in range(40):\n"
    "    texts.append(' '.join(random.choice(words + ['Lily', 'Tom!', 'zz', '42']) for _ in range(random.randint(1, 20))))\n"
    "json.dump([{'text': t, 'ids': sp.encode(t)} for t in texts], open(os.path.join(out, 'expected.json'), 'w'))\n";

void tq_tests(void) {
    TQ_CASE("spm reference: our encoder reproduces sentencepiece's BPE ids");
    const char *home = getenv("HOME");
    if (!home || !*home || strlen(home) > 400) TQ_SKIP("no usable HOME for the sentencepiece venv");
    char venv[512], cmd[8192];
    snprintf(venv, sizeof venv, "%s/.cache/trueq/venv-spm", home);
    snprintf(cmd, sizeof cmd,
             "( [ -x '%s/bin/python' ] && '%s/bin/python' -c 'import sentencepiece' ) >/dev/null 2>&1 || "
             "( mkdir -p '%s/.cache/trueq' && /usr/bin/python3 -m venv --system-site-packages '%s' && "
             "'%s/bin/pip' install -q 'sentencepiece==0.2.3' ) >/dev/null 2>&1",
             venv, venv, home, venv, venv);
    if (tq_t_run(cmd, NULL) != 0)
        TQ_SKIP("cannot set up a venv with sentencepiece (needs python3-venv and PyPI access)");
    const char *py = tq_t_path("spm_ref.py");
    tq_t_write(py, PY, strlen(PY));
    snprintf(cmd, sizeof cmd, "'%s/bin/python' '%s' '%s' 2>&1", venv, py, tq_t_tmpdir());
    char *log = NULL;
    int rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "the sentencepiece script failed: %s", log ? log : "");
    free(log);
    if (rc) return;

    char *json;
    FILE *f = fopen(tq_t_path("expected.json"), "rb");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    json = malloc((size_t)sz + 1);
    json[fread(json, 1, (size_t)sz, f)] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(json);
    free(json);
    CHECK(cJSON_IsArray(j));
    static const char *const files[2] = {"tok.bin", "m.model"};
    int counts[2] = {0, 0};
    for (int which = 0; which < 2; which++) {
        if (which == 1) TQ_CASE("spm reference: sentencepiece's own tokenizer.model gives the same ids");
        tq_error err = {0};
        tq_spm *t = tq_spm_open(tq_t_path(files[which]), &err);
        CHECK_OK(t ? TQ_OK : err.status, err);
        if (!t) continue;
        counts[which] = tq_spm_count(t);
        int cases = 0, bytes_seen = 0;
        for (cJSON *e = j ? j->child : NULL; e; e = e->next) {
            const char *text = cJSON_GetObjectItem(e, "text")->valuestring;
            cJSON *want = cJSON_GetObjectItem(e, "ids");
            int *ids, n;
            CHECK_OK(tq_spm_encode(t, text, strlen(text), 0, 0, &ids, &n, &err), err);
            int wn = cJSON_GetArraySize(want), same = wn == n;
            for (int i = 0; same && i < n; i++) same = ids[i] == cJSON_GetArrayItem(want, i)->valueint;
            for (int i = 0; i < n; i++) bytes_seen += ids[i] >= 3 && ids[i] < 259;
            if (!same) {
                fprintf(stderr, "  \"%s\": got", text);
                for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
                fprintf(stderr, "\n   sentencepiece:");
                for (int i = 0; i < wn; i++) fprintf(stderr, " %d", cJSON_GetArrayItem(want, i)->valueint);
                fputc('\n', stderr);
            }
            CHECK_MSG(same, "%s: ids differ for \"%s\"", files[which], text);
            /* and our decoding of sentencepiece's ids gives the text back */
            int *withbos = malloc(sizeof(int) * (size_t)(n + 1));
            withbos[0] = TQ_SPM_BOS;
            memcpy(withbos + 1, ids, sizeof(int) * (size_t)n);
            char *back;
            size_t bl;
            CHECK_OK(tq_spm_detokenize(t, withbos, n + 1, &back, &bl, &err), err);
            CHECK_MSG(bl == strlen(text) && memcmp(back, text, bl) == 0, "\"%s\" decoded as \"%s\"", text, back);
            free(back);
            free(withbos);
            free(ids);
            cases++;
        }
        printf("  %s: %d texts, %d byte-fallback tokens, all as sentencepiece encodes them\n", files[which], cases, bytes_seen);
        CHECK(cases >= 50);
        CHECK_MSG(bytes_seen >= 5, "byte fallback exercised %d times", bytes_seen);
        tq_spm_free(t);
    }
    CHECK_EQ_INT(counts[1], counts[0]);
    CHECK_EQ_INT(counts[0], 700);
    cJSON_Delete(j);

    TQ_CASE("spm reference: malformed tokenizer.model files are refused");
    tq_error err = {0};
    CHECK(tq_spm_open_model_mem("\x0a\x05" "ab", 4, "cut.model", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "cut.model");
    /* three pieces, none a control piece: BOS/EOS cannot be ids 1 and 2 */
    static const unsigned char three[] = {0x0a, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a, 0x01, 'b', 0x0a, 0x03, 0x0a, 0x01, 'c'};
    CHECK(tq_spm_open_model_mem(three, sizeof three, "plain.model", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "BOS and EOS");
    static const unsigned char badwire[] = {0x0f, 0x00};
    CHECK(tq_spm_open_model_mem(badwire, sizeof badwire, "wire.model", &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "wire.model");
}
