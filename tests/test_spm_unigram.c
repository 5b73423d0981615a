/* A sentencepiece tokenizer.model whose trainer_spec says model_type UNIGRAM
 * (XLM-RoBERTa's, T5's) is refused by name, never tokenized with the BPE
 * algorithm; the same pieces with model_type BPE, or with no trainer_spec,
 * open (hand-built protobuf: pieces <unk>, <s>, </s>, "a"). */
#include "tq_test.h"
#include "trueq_llama.h"
#include <string.h>

#define PIECES                                                                  \
    0x0a, 0x09, 0x0a, 0x05, '<', 'u', 'n', 'k', '>', 0x18, 0x02,               \
    0x0a, 0x07, 0x0a, 0x03, '<', 's', '>', 0x18, 0x03,                         \
    0x0a, 0x08, 0x0a, 0x04, '<', '/', 's', '>', 0x18, 0x03,                    \
    0x0a, 0x03, 0x0a, 0x01, 'a'

void tq_tests(void) {
    TQ_CASE("sentencepiece: a Unigram model is refused by name; BPE or unmarked models open");
    /* trainer_spec (field 2) = {model_type (field 3) = v}, after the pieces */
    static const unsigned char uni[] = {PIECES, 0x12, 0x02, 0x18, 0x01};
    static const unsigned char bpe[] = {PIECES, 0x12, 0x02, 0x18, 0x02};
    static const unsigned char none[] = {PIECES};
    static const unsigned char first[] = {0x12, 0x04, 0x08, 0x05, 0x18, 0x01, PIECES};   /* trainer_spec first */
    tq_error err = {0};
    tq_spm *t = tq_spm_open_model_mem(uni, sizeof uni, "xlmr/sentencepiece.model", &err);
    CHECK(t == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED,
              "xlmr/sentencepiece.model: a sentencepiece Unigram model (trainer_spec model_type UNIGRAM");
    tq_spm_free(t);
    t = tq_spm_open_model_mem(first, sizeof first, "first.model", &err);
    CHECK(t == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "first.model: a sentencepiece Unigram model");
    tq_spm_free(t);
    for (int k = 0; k < 2; k++) {
        tq_error e = {0};
        tq_spm *s = k ? tq_spm_open_model_mem(none, sizeof none, "none.model", &e)
                      : tq_spm_open_model_mem(bpe, sizeof bpe, "bpe.model", &e);
        CHECK_OK(s ? TQ_OK : e.status, e);
        if (s) CHECK_EQ_INT(tq_spm_count(s), 4);
        tq_spm_free(s);
    }
}
