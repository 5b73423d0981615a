#!/usr/bin/env python3
"""check_deps.py BUILD_DIR — the tree's structural rules, checked on every test run.

1. No circle between modules. A module is one file stem: src/io/npz.c and
   src/io/npz.h are the module src/io/npz. Module A depends on module B when a
   file of A #includes a header of B, or when A's object file uses a symbol
   that B's object file defines (read with `nm` from BUILD_DIR). The graph of
   src/ and tools/ modules must be acyclic (self-dependencies are fine).
2. No source file under src/ or tools/ is over 800 lines.

Prints each violation and exits 1, or prints a summary line and exits 0.
"""
import os
import re
import subprocess
import sys

MAX_LINES = 800
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AREAS = ("src", "tools")
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for area in AREAS:
        for d, _, files in os.walk(os.path.join(ROOT, area)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), ROOT)


def module(rel):
    return os.path.splitext(rel)[0]


def resolve(inc, from_rel):
    """The repo path of a quoted include, searched as the build does."""
    for base in (os.path.dirname(from_rel), "src", "tools", "include"):
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(os.path.join(ROOT, cand)):
            return cand
    return None


def objects(build):
    """Map repo-relative source path -> object file, for the library and CLI."""
    out = {}
    for d, _, files in os.walk(os.path.join(build, "CMakeFiles")):
        for f in files:
            if not f.endswith(".c.o"):
                continue
            full = os.path.join(d, f)
            if ".dir" + os.sep not in full:
                continue
            tail = full.split(".dir" + os.sep, 1)[1][: -len(".o")]
            if tail.startswith(AREAS):
                out[tail] = full
    return out


def nm(obj):
    res = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in res.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        sym, kind = parts[0], parts[1]
        if kind == "U":
            used.add(sym)
        elif kind in "TDBRCVW":
            defined.add(sym)
    return defined, used


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]; counter[0] += 1
                    stack.append(nxt); on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    build = sys.argv[1]
    problems = []
    graph, why = {}, {}
    files = sorted(sources())
    for rel in files:
        m = module(rel)
        graph.setdefault(m, set())
        text = open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace").read()
        n = text.count("\n")
        if n > MAX_LINES:
            problems.append(f"{rel}: {n} lines (the limit is {MAX_LINES})")
        for inc in INC.findall(text):
            tgt = resolve(inc, rel)
            if tgt and tgt.startswith(AREAS) and module(tgt) != m:
                graph[m].add(module(tgt))
                why.setdefault((m, module(tgt)), f"{rel} includes {tgt}")
    objs = objects(build)
    if not objs:
        problems.append(f"{build}: no object files of src/ or tools/ found (build first)")
    owner, uses = {}, {}
    for rel, obj in objs.items():
        d, u = nm(obj)
        for s in d:
            owner.setdefault(s, module(rel))
        uses[module(rel)] = (rel, u)
    for m, (rel, used) in uses.items():
        for s in used:
            tgt = owner.get(s)
            if tgt and tgt != m:
                graph.setdefault(m, set()).add(tgt)
                why.setdefault((m, tgt), f"{rel} calls {s}")
    for comp in cycles(graph):
        members = set(comp)
        edges = [why[(a, b)] for a in comp for b in sorted(graph[a]) if b in members and (a, b) in why]
        problems.append("circle between " + ", ".join(comp) + ":\n    " + "\n    ".join(edges))
    for p in problems:
        print("check_deps: " + p)
    if problems:
        return 1
    print(f"check_deps: {len(graph)} modules, {sum(len(v) for v in graph.values())} dependencies, no circle; "
          f"{len(files)} files, none over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
