"""tap.py: the TAP-style "ok - / not ok -" lines and the trueq runner that the
tests/py client scripts share (mlx_client.py, mlx_mxfp.py, qtools_check.py).

    from tap import Tap
    t = Tap(path_to_trueq)
    t.report(cond, "what was checked")      # one line; counts failures
    out = t.run("inspect", path, "--json")  # stdout; RuntimeError naming the command on rc != 0
    sys.exit(t.exit_code())
"""
import subprocess


class Tap:
    def __init__(self, trueq):
        self.trueq = trueq
        self.fails = 0

    def report(self, ok, what):
        self.fails += not ok
        print(("ok - " if ok else "not ok - ") + what, flush=True)

    def run(self, *args):
        r = subprocess.run([self.trueq, *args], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"trueq {' '.join(args)}: rc {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def exit_code(self):
        return 1 if self.fails else 0
