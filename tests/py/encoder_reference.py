#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers for tests/test_encoder_reference.c.

  encoder_reference.py run MODEL_DIR IN.json OUT.bin
      IN.json: {"kind": "auto" | "classify" | "sentence",
                "batches": [{"batch": B, "seq": S, "ids": [...], "types": [...] or null,
                             "mask": [...] or null}, ...]}
      For each batch, in order, OUT.bin gets little-endian float32:
        last_hidden_state [B, S, dim];
        "sentence": then the sentence embedding [B, dim] as sentence-transformers
          computes it (mean over the mask, L2-normalised when modules.json has
          a Normalize module; CLS pooling when 1_Pooling says so);
        "classify": then logits [B, n_labels].
  encoder_reference.py make-bert OUT_DIR
      A small BertForSequenceClassification (3 labels, gelu_new) with seeded
      random weights, written with save_pretrained(safe_serialization=True).
  encoder_reference.py make-roberta OUT_DIR SHAPE DTYPE
      A RobertaForSequenceClassification with seeded random weights (SHAPE
      "tiny": 3 x 96, 3 labels; "base": roberta-base's 12 x 768, 50265 ids,
      2 labels), saved in DTYPE (float32 or bfloat16), with a byte-level BPE
      tokenizer trained here on a fixed text (vocab.json, merges.txt and the
      tokenizer.json / tokenizer_config.json RobertaTokenizerFast writes).
  encoder_reference.py tokenize MODEL_DIR IN.json OUT.json
      IN.json: [[a, b or null], ...]; OUT.json: the ids AutoTokenizer gives
      each (tokenizer(a, b)["input_ids"], no truncation).

Runs on the CPU in float32 with the eager attention transformers picks for
torch 1.13.
"""
import json
import os
import sys

import numpy as np
import torch


def make_bert(out):
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(1234)
    cfg = BertConfig(vocab_size=1000, hidden_size=96, num_hidden_layers=3, num_attention_heads=6,
                     intermediate_size=160, max_position_embeddings=80, type_vocab_size=2,
                     hidden_act="gelu_new", num_labels=3, layer_norm_eps=1e-12,
                     id2label={0: "neg", 1: "neutral", 2: "pos"}, label2id={"neg": 0, "neutral": 1, "pos": 2})
    m = BertForSequenceClassification(cfg).eval()
    with torch.no_grad():   # weights of a trained model's size, not an initialisation's
        for name, p in m.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
    m.save_pretrained(out, safe_serialization=True)


CORPUS = ("The quick brown fox jumps over the lazy dog. Hello world! Tokenizers split text into pieces; "
          "numbers 12345 and 3.14, code: def f(x): return x ** 2. Caf\u00e9 na\u00efve r\u00e9sum\u00e9 "
          "\u6771\u4eac \U0001F600  spaces   and\ttabs. RoBERTa counts positions from padding_idx + 1. ") * 20


def make_roberta(out, shape, dtype):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast
    os.makedirs(out, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([CORPUS], vocab_size=700, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    bpe.save_model(out)
    tok = RobertaTokenizerFast(os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt"))
    tok.save_pretrained(out)
    torch.manual_seed(4321)
    if shape == "base":
        cfg = RobertaConfig(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                            intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
                            layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=2,
                            id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    else:
        cfg = RobertaConfig(vocab_size=len(tok), hidden_size=96, num_hidden_layers=3, num_attention_heads=6,
                            intermediate_size=160, max_position_embeddings=82, type_vocab_size=1,
                            layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=3,
                            id2label={0: "neg", 1: "neutral", 2: "pos"}, label2id={"neg": 0, "neutral": 1, "pos": 2})
    m = RobertaForSequenceClassification(cfg).eval()
    with torch.no_grad():   # weights of a trained model's size, not an initialisation's
        for name, p in m.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_((0.08 if shape != "base" else 0.04) * torch.randn_like(p))
    if dtype == "bfloat16":
        m = m.to(torch.bfloat16)
    m.save_pretrained(out, safe_serialization=True)


def tokenize(model_dir, in_path, out_path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    res = [tok(a, b)["input_ids"] if b is not None else tok(a)["input_ids"] for a, b in json.load(open(in_path))]
    json.dump(res, open(out_path, "w"))


def sentence_pooling(model_dir):
    mode, normalize = "mean", False
    mpath = os.path.join(model_dir, "modules.json")
    if os.path.exists(mpath):
        for mod in json.load(open(mpath)):
            if mod["type"].endswith("Normalize"):
                normalize = True
            if mod["type"].endswith("Pooling"):
                pc = json.load(open(os.path.join(model_dir, mod["path"], "config.json")))
                if pc.get("pooling_mode_cls_token"):
                    mode = "cls"
    return mode, normalize


def run(model_dir, in_path, out_path):
    from transformers import AutoModel, AutoModelForSequenceClassification
    torch.set_num_threads(1)
    spec = json.load(open(in_path))
    kind = spec["kind"]
    if kind == "classify":
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    else:
        model = AutoModel.from_pretrained(model_dir)
    model.eval()
    is_bert = model.config.model_type == "bert"
    mode, normalize = sentence_pooling(model_dir)
    with open(out_path, "wb") as f, torch.no_grad():
        for b in spec["batches"]:
            B, S = b["batch"], b["seq"]
            ids = torch.tensor(b["ids"], dtype=torch.long).view(B, S)
            mask = torch.tensor(b["mask"], dtype=torch.long).view(B, S) if b.get("mask") else torch.ones(B, S, dtype=torch.long)
            kw = {"input_ids": ids, "attention_mask": mask}
            if is_bert and b.get("types"):
                kw["token_type_ids"] = torch.tensor(b["types"], dtype=torch.long).view(B, S)
            if kind == "classify":
                out = model(**kw, output_hidden_states=True)
                hidden = out.hidden_states[-1]
            else:
                out = model(**kw)
                hidden = out.last_hidden_state
            f.write(hidden.numpy().astype("<f4").tobytes())
            if kind == "sentence":
                if mode == "cls":
                    emb = hidden[:, 0]
                else:
                    m = mask.unsqueeze(-1).expand(hidden.size()).float()
                    emb = torch.sum(hidden * m, 1) / torch.clamp(m.sum(1), min=1e-9)
                if normalize:
                    emb = torch.nn.functional.normalize(emb, p=2, dim=1)
                f.write(emb.numpy().astype("<f4").tobytes())
            elif kind == "classify":
                f.write(out.logits.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "make-bert":
        make_bert(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "make-roberta":
        make_roberta(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "tokenize":
        tokenize(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
