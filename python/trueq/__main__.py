"""The `trueq` console entry point: runs the CLI built with the wheel (trueq/bin/trueq)."""
import os
import sys


def main():
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "trueq")
    if not os.access(exe, os.X_OK):
        sys.stderr.write("trueq: the CLI binary %s is missing from this installation\n" % exe)
        return 2
    os.execv(exe, [exe] + sys.argv[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main())
