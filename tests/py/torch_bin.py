"""Fixtures and checks for trueq's pytorch_model.bin reader (tests/cli/pytorch_bin.sh).

  make DIR          write the fixtures with torch.save (the owning tool)
  check BIN ST      torch.load(BIN) and the safetensors file ST (read by the
                    safetensors library) hold the same tensors, names, dtypes,
                    shapes and bytes, bit for bit
  load BIN          torch.load(BIN) with pickle's full power (weights_only off):
                    proves a malicious fixture really would run its payload
"""
import collections, json, os, subprocess, sys

import torch


class Payload:
    """Unpickling calls fn(*args): what a malicious checkpoint does."""
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def make(d):
    g = torch.Generator().manual_seed(5)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(4, 6, generator=g)
    sd["mat.weight"] = torch.randn(16, 24, generator=g)   # big enough for spectrum
    sd["f64"] = torch.randn(3, 2, generator=g).double()
    sd["f16"] = torch.randn(7, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, 2, generator=g).bfloat16()
    sd["i64"] = torch.arange(-5, 5, dtype=torch.int64) * (1 << 40)
    sd["i32"] = torch.arange(-3, 3, dtype=torch.int32) * 100000
    sd["i16"] = torch.arange(-4, 4, dtype=torch.int16) * 1000
    sd["i8"] = torch.arange(-8, 8, dtype=torch.int8) * 15
    sd["u8"] = torch.arange(0, 250, 10, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True, True])
    sd["scalar"] = torch.tensor(2.5)
    emb = torch.randn(10, 4, generator=g)
    sd["embed.weight"] = emb
    sd["lm_head.weight"] = emb                     # tied: the same tensor twice
    whole = torch.randn(12, generator=g)
    sd["whole"] = whole
    sd["part"] = whole[2:8].view(2, 3)             # a contiguous view at storage offset 2
    sd["param"] = torch.nn.Parameter(torch.randn(3, 3, generator=g))   # _rebuild_parameter
    sd["step"] = 7                                  # a non-tensor value: skipped
    torch.save(sd, os.path.join(d, "all.bin"))

    torch.save({"t": torch.randn(3, 4, generator=g).t()}, os.path.join(d, "noncontig.bin"))
    torch.save({"w": torch.randn(4, generator=g)}, os.path.join(d, "legacy.bin"), _use_new_zipfile_serialization=False)

    sh = os.path.join(d, "sharded")
    os.makedirs(sh, exist_ok=True)
    s1 = {"layer.0.weight": torch.randn(4, 4, generator=g), "layer.0.bias": torch.randn(4, generator=g)}
    s2 = {"layer.1.weight": torch.randn(4, 4, generator=g).half()}
    names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    wm = {}
    for sdn, fn in zip((s1, s2), names):
        torch.save(sdn, os.path.join(sh, fn))
        wm.update({k: fn for k in sdn})
    with open(os.path.join(sh, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f)

    for name, fn, args in (("os_system", os.system, ("touch " + os.path.join(d, "PWNED_os_system"),)),
                           ("eval", eval, ("open(%r, 'w')" % os.path.join(d, "PWNED_eval"),)),
                           ("popen", subprocess.Popen, (["touch", os.path.join(d, "PWNED_popen")],))):
        torch.save({"w": torch.zeros(2), "x": Payload(fn, args)}, os.path.join(d, "evil_%s.bin" % name))


def check(bin_path, st_path):
    from safetensors.torch import load_file
    want = {k: v for k, v in torch.load(bin_path).items() if isinstance(v, torch.Tensor)}
    got = load_file(st_path)
    assert sorted(want) == sorted(got), (sorted(want), sorted(got))
    for k, w in want.items():
        g = got[k]
        w = w.detach().contiguous()
        assert w.dtype == g.dtype and tuple(w.shape) == tuple(g.shape), (k, w.dtype, g.dtype, w.shape, g.shape)
        wb = w.reshape(-1).view(torch.uint8) if w.dtype != torch.bool else w.reshape(-1).to(torch.uint8)
        gb = g.reshape(-1).view(torch.uint8) if g.dtype != torch.bool else g.reshape(-1).to(torch.uint8)
        assert torch.equal(wb, gb), k
    print("%d tensors equal bit for bit" % len(want))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "load":
        torch.load(sys.argv[2])
