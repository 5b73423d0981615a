#!/usr/bin/env python3
"""Write stories260K (llama2.c, Meta layout) as a llama.cpp GGUF with gguf-py.

usage: gguf_run_make_stories.py MODEL_DIR OUT.gguf [--arch NAME]
                                 [--drop-kv KEY]... [--drop-tensor NAME]...
                                 [--safetensors OUT.safetensors]

MODEL_DIR holds stories260K.safetensors, params.json and tok512.bin. The
file is what convert_hf_to_gguf.py would write for a llama2.c model:
general.architecture "llama", llama.* hyper-parameters, llama.cpp tensor
names (token_embd, blk.N.attn_q, ..., output_norm; no output: tied), every
tensor F32 as stored (q/k stay in the Meta layout, which is the one GGUF
llama files use), and the tokenizer as tokenizer.ggml.* (model "llama";
tok512.bin's pieces with U+2581 for spaces, its scores, token types: 0
unknown, 1 and 2 control, <0xNN> byte, the rest normal). --arch, --drop-kv
and --drop-tensor make the broken variants the error tests need;
--safetensors also writes the same tensors, GGUF names and all, as a
safetensors file (what a GGUF's weights look like to any reader). Used by
tests/test_llama_gguf.c and tests/cli/generate_gguf.sh.
"""
import json
import os
import struct
import sys

import numpy as np
import gguf

NAMES = {  # llama2.c name (without .weight) -> GGUF name
    "tok_embeddings": "token_embd", "norm": "output_norm", "output": "output",
    "attention_norm": "attn_norm", "attention.wq": "attn_q", "attention.wk": "attn_k",
    "attention.wv": "attn_v", "attention.wo": "attn_output", "ffn_norm": "ffn_norm",
    "feed_forward.w1": "ffn_gate", "feed_forward.w2": "ffn_down", "feed_forward.w3": "ffn_up",
}


def gguf_name(name):
    base = name[:-len(".weight")]
    if base.startswith("layers."):
        _, n, rest = base.split(".", 2)
        return "blk.%s.%s.weight" % (n, NAMES[rest])
    return NAMES[base] + ".weight"


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(e["shape"])
    return out


def write_safetensors(path, tensors):
    header, off = {}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + t.nbytes]}
        off += t.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for t in tensors.values():
            f.write(t.astype("<f4").tobytes())


def read_tok(path):
    with open(path, "rb") as f:
        data = f.read()
    off = 4
    pieces, scores = [], []
    while off < len(data):
        score, length = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off:off + length])
        off += length
        scores.append(score)
    return pieces, scores


def main():
    args = sys.argv[1:]
    model_dir, out = args[0], args[1]
    arch, drop_kv, drop_t, st_out = "llama", set(), set(), None
    i = 2
    while i < len(args):
        if args[i] == "--arch":
            arch = args[i + 1]
        elif args[i] == "--drop-kv":
            drop_kv.add(args[i + 1])
        elif args[i] == "--drop-tensor":
            drop_t.add(args[i + 1])
        elif args[i] == "--safetensors":
            st_out = args[i + 1]
        else:
            raise SystemExit("unknown option " + args[i])
        i += 2
    with open(os.path.join(model_dir, "params.json")) as f:
        p = json.load(f)
    w = gguf.GGUFWriter(out, arch)
    kv = {
        "context_length": (w.add_context_length, p["max_seq_len"]),
        "embedding_length": (w.add_embedding_length, p["dim"]),
        "block_count": (w.add_block_count, p["n_layers"]),
        "feed_forward_length": (w.add_feed_forward_length, p["hidden_dim"]),
        "attention.head_count": (w.add_head_count, p["n_heads"]),
        "attention.head_count_kv": (w.add_head_count_kv, p["n_kv_heads"]),
        "rope.freq_base": (w.add_rope_freq_base, p["rope_theta"]),
        "attention.layer_norm_rms_epsilon": (w.add_layer_norm_rms_eps, p["norm_eps"]),
        "rope.dimension_count": (w.add_rope_dimension_count, p["dim"] // p["n_heads"]),
    }
    for key, (fn, value) in kv.items():
        if arch + "." + key not in drop_kv:
            fn(value)
    w.add_file_type(0)  # all F32
    pieces, scores = read_tok(os.path.join(model_dir, "tok512.bin"))
    types = []
    for i, piece in enumerate(pieces):
        if i == 0:
            types.append(2)
        elif i in (1, 2):
            types.append(3)
        elif len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
            types.append(6)
        else:
            types.append(1)
    toks = [pc.replace(b" ", "\u2581".encode()) for pc in pieces]
    tok_kv = {
        "tokenizer.ggml.model": lambda: w.add_tokenizer_model("llama"),
        "tokenizer.ggml.tokens": lambda: w.add_token_list(toks),
        "tokenizer.ggml.scores": lambda: w.add_token_scores(scores),
        "tokenizer.ggml.token_type": lambda: w.add_token_types(types),
        "tokenizer.ggml.bos_token_id": lambda: w.add_bos_token_id(1),
        "tokenizer.ggml.eos_token_id": lambda: w.add_eos_token_id(2),
        "tokenizer.ggml.unknown_token_id": lambda: w.add_unk_token_id(0),
        "tokenizer.ggml.add_bos_token": lambda: w.add_add_bos_token(True),
        "tokenizer.ggml.add_space_prefix": lambda: w.add_add_space_prefix(True),
    }
    for key, fn in tok_kv.items():
        if key not in drop_kv:
            fn()
    kept = {}
    for name, t in read_safetensors(os.path.join(model_dir, "stories260K.safetensors")).items():
        g = gguf_name(name)
        if g not in drop_t:
            kept[g] = np.ascontiguousarray(t, dtype=np.float32)
            w.add_tensor(g, kept[g])
    if st_out:
        write_safetensors(st_out, kept)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
