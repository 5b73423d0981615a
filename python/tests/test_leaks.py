"""No memory leak over 1000 open/close cycles: Python heap (tracemalloc) and process RSS."""
import gc
import tracemalloc

import trueq


def _rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def _cycle(path, name):
    with trueq.open(path) as m:
        m[name].numpy()
        m[name].stored()


def test_1000_open_close_cycles(int8_model):
    name = "distilbert.transformer.layer.0.ffn.lin1.weight"
    for _ in range(100):          # warm up: caches, allocator pools
        _cycle(int8_model, name)
    gc.collect()
    tracemalloc.start()
    before_py = tracemalloc.get_traced_memory()[0]
    before_rss = _rss_kb()
    for _ in range(1000):
        _cycle(int8_model, name)
    gc.collect()
    grown_py = tracemalloc.get_traced_memory()[0] - before_py
    tracemalloc.stop()
    grown_rss = _rss_kb() - before_rss
    # one cycle maps ~140 KB and decodes a 32 KB tensor: a leak of either over
    # 1000 cycles would be tens of MB
    assert grown_py < 64 * 1024, "Python heap grew by %d bytes" % grown_py
    assert grown_rss < 2048, "RSS grew by %d KB" % grown_rss
