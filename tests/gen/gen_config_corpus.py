#!/usr/bin/env python3
"""Seed corpus for fuzz/fuzz_config.c: first byte = which file (0 encoder
config.json, 1 modules.json, 2 1_Pooling/config.json, 3
sentence_bert_config.json, 4 Llama params.json), the rest its contents.
Valid files and near-misses. Run: python3 tests/gen/gen_config_corpus.py"""
import json, os
out = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus", "config")
os.makedirs(out, exist_ok=True)
bert = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 64, "type_vocab_size": 2, "vocab_size": 100,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "id2label": {"0": "no", "1": "yes"}}
distil = {"model_type": "distilbert", "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64,
          "max_position_embeddings": 64, "vocab_size": 100, "activation": "gelu",
          "id2label": {"0": "entailment", "1": "neutral", "2": "contradiction"}}
seeds = {
    "bert": (0, json.dumps(bert)),
    "distilbert": (0, json.dumps(distil)),
    "bert_gelu_new": (0, json.dumps(dict(bert, hidden_act="gelu_new"))),
    "bert_relative_pos": (0, json.dumps(dict(bert, position_embedding_type="relative_key"))),
    "bert_heads_not_dividing": (0, json.dumps(dict(bert, num_attention_heads=5))),
    "bert_many_labels": (0, json.dumps(dict(bert, id2label={str(i): "L%d" % i for i in range(70)}))),
    "bert_long_label": (0, json.dumps(dict(bert, id2label={"0": "x" * 200}))),
    "bert_label_gap": (0, json.dumps(dict(bert, id2label={"0": "a", "5": "b"}))),
    "bert_negative": (0, json.dumps(dict(bert, hidden_size=-32))),
    "bert_float_layers": (0, json.dumps(dict(bert, num_hidden_layers=2.5))),
    "unknown_type": (0, json.dumps(dict(bert, model_type="roberta"))),
    "truncated": (0, json.dumps(bert)[:57]),
    "not_object": (0, "[1, 2, 3]"),
    "modules": (1, json.dumps([{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                               {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])),
    "modules_bad": (1, '[{"idx": "zero", "type": 7}]'),
    "pooling_cls": (2, json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})),
    "pooling_max": (2, json.dumps({"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False})),
    "pooling_both": (2, json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True})),
    "sbert": (3, json.dumps({"max_seq_length": 128})),
    "sbert_bad": (3, json.dumps({"max_seq_length": "long"})),
    "llama_params": (4, json.dumps({"dim": 64, "n_layers": 2, "n_heads": 8, "n_kv_heads": 4, "vocab_size": 512,
                                    "multiple_of": 4, "norm_eps": 1e-5, "max_seq_len": 512})),
    "llama_hf": (4, json.dumps({"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 8,
                                "rope_scaling": {"type": "longrope", "short_factor": [1.0] * 4,
                                                 "long_factor": [1.0] * 4}})),
}
for name, (which, text) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([which]) + text.encode())
