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
    else:
        sys.exit(__doc__)
