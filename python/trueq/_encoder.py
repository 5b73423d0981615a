"""trueq.embed and trueq.classify: the C encoder forward pass (BERT, DistilBERT, RoBERTa) on texts."""
import ctypes as C
import math
import os

import numpy as np

from ._lib import TQ_ENC_ROBERTA, EncOpts, EncSeq, Error, WpEncoding, lib, s
from ._model import Model, check, fail


class _Encoder:
    def __init__(self, path, keep_int8, int8_attention=None):
        err = Error()
        self.model = Model(path)
        att = {None: 0, True: 1, False: -1}.get(int8_attention)
        if att is None:
            self.model.close()
            raise ValueError("int8_attention must be None, True or False, not %r" % (int8_attention,))
        opts = EncOpts(keep_int8=int(bool(keep_int8)), int8_attention=att)
        self.enc = lib.tq_enc_open_ex(self.model._ptr(), None, C.byref(opts), C.byref(err))
        if not self.enc:
            self.model.close()
            fail(err)
        self.tok = lib.tq_tok_open_dir(self.model.directory.encode(), C.byref(err))
        if not self.tok:
            self.close()
            fail(err)
        self.cfg = lib.tq_enc_config_of(self.enc).contents
        n = self.cfg.max_pos
        if self.cfg.arch == TQ_ENC_ROBERTA:   # positions start after padding_idx
            n -= self.cfg.pad_token_id + 1
        if 0 < self.cfg.seq_limit < n:
            n = self.cfg.seq_limit
        self.max_len = n   # a WordPiece tokenizer's own model_max_length applies as it encodes

    def close(self):
        lib.tq_tok_free(getattr(self, "tok", None))
        lib.tq_enc_free(self.enc)
        self.model.close()

    def run(self, a, b, pooled, logits):
        n = len(a)
        encs = (WpEncoding * n)()
        seqs = (EncSeq * n)()
        err = Error()
        try:
            for i in range(n):
                check(lib.tq_tok_encode_pair(self.tok, a[i].encode(), b[i].encode() if b and b[i] is not None else None,
                                       self.max_len, C.byref(encs[i]), C.byref(err)), err)
                seqs[i] = EncSeq(encs[i].n, encs[i].ids, encs[i].type_ids)
            check(lib.tq_enc_run(self.enc, seqs, n, 8, pooled, logits, None, None, C.byref(err)), err)
            return [[encs[i].ids[k] for k in range(encs[i].n)] for i in range(n)]
        finally:
            for i in range(n):
                lib.tq_wp_encoding_free(C.byref(encs[i]))


def _texts(x):
    return [x] if isinstance(x, str) else list(x)


def embed(model, texts, keep_int8=False, int8_attention=None):
    """Sentence embeddings (trueq embed): a float32 array [len(texts), dim],
    pooled as the model's sentence-transformers config says (else mean).
    int8_attention applies with keep_int8 (tq_enc_opts.int8_attention): None
    the library's default (int8 where the CPU has AVX-512 VNNI), True int8 on
    any CPU, False float32 attention (as `--fp32-attention`)."""
    texts = _texts(texts)
    e = _Encoder(os.fspath(model), keep_int8, int8_attention)
    try:
        out = np.empty((len(texts), e.cfg.dim), dtype=np.float32)
        e.run(texts, None, out.ctypes.data, None)
        return out
    finally:
        e.close()


def classify(model, premise, hypothesis=None, keep_int8=False, int8_attention=None):
    """Label and probabilities from a sequence-classification head (trueq
    classify). premise/hypothesis: a text or a list of texts. Returns one dict
    per input: label, label_id, activation, tokens, labels [{label, logit,
    probability}] (softmax, or a sigmoid per label for multi-label heads;
    one-output heads also give score)."""
    a = _texts(premise)
    b = None if hypothesis is None else _texts(hypothesis)
    if b is not None and len(b) != len(a):
        raise ValueError("classify: %d premises but %d hypotheses" % (len(a), len(b)))
    e = _Encoder(os.fspath(model), keep_int8, int8_attention)
    try:
        if not lib.tq_enc_has_head(e.enc):
            raise ValueError("classify: %s has no sequence-classification head" % model)
        nl = e.cfg.n_labels
        lg = np.empty((len(a), nl), dtype=np.float32)
        ids = e.run(a, b, None, lg.ctypes.data)
        labels = [s(bytes(e.cfg.labels[k]).split(b"\0", 1)[0]) for k in range(nl)]
        mode = 2 if nl == 1 else 1 if e.cfg.multi_label else 0
    finally:
        e.close()
    res = []
    for i in range(len(a)):
        x = [float(v) for v in lg[i]]
        best = max(range(nl), key=lambda k: (x[k], -k))
        if mode == 0:
            mx = x[best]
            ex = [math.exp(v - mx) for v in x]
            p = [v / sum(ex) for v in ex]
        else:
            p = [1.0 / (1.0 + math.exp(-v)) for v in x]
        r = {"input": a[i] if b is None else "%s | %s" % (a[i], b[i]), "tokens": len(ids[i]), "ids": ids[i],
             "activation": "softmax" if mode == 0 else "sigmoid"}
        if mode == 2:
            r["score"] = x[0]
        if mode == 1:
            r["labels_on"] = [labels[k] for k in range(nl) if p[k] > 0.5]
        r.update(label=labels[best], label_id=best,
                 labels=[{"label": labels[k], "logit": x[k], "probability": p[k]} for k in range(nl)])
        res.append(r)
    return res
