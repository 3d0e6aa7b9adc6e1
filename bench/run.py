"""`make bench`: every benchmark of the client (issue 4) and of extract (issue 3), with their targets.

Writes bench/results.json and prints one Markdown table. Each number is compared with a baseline measured in the same
run on the same machine (the ideal rate, a fault-free run, curator, the bare library loop), never with a constant
from another day. Examples:

    .venv/bin/python bench/run.py                 # everything, full size (8-12 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick         # counts / 10, a few minutes: a smoke check, not a verdict
    .venv/bin/python bench/run.py --only 2 --peers   # CPU per request and curator (installed if missing)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

# Run as a script, so this folder is first on sys.path and the sibling modules import by name.
from client import cpu_and_peer, retry_storm, throughput
from common import ROOT, Result, Section, local_only, machine
from extract import extract_bench
from longrun import long_run
from peers import install_curator
from report import markdown, write_json
from resume import interrupts

BENCHES: dict[str, tuple[str, Callable[[Path, float], Section]]] = {
    "1": ("throughput", throughput),
    "2": ("cpu", cpu_and_peer),
    "3": ("50k", long_run),
    "4": ("faults", retry_storm),
    "5": ("interrupt", interrupts),
    "6": ("extract", extract_bench),
}


def main() -> int:
    local_only()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="scale every count down 10x (a fast check)")
    ap.add_argument("--peers", action="store_true", help="install curator in /tmp/peer-curator if missing")
    ap.add_argument("--only", nargs="+", metavar="N", help="run only these benchmarks (1-6 or their names)")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work", help="scratch folder (wiped first)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument("--keep-work", action="store_true", help="keep the scratch folder (~350 MB) for a post-mortem")
    args = ap.parse_args()

    chosen = [k for k, (name, _) in BENCHES.items() if not args.only or k in args.only or name in args.only]
    if not chosen:
        ap.error(f"--only: choose from {', '.join(f'{k} ({n})' for k, (n, _) in BENCHES.items())}")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, load {info['load_average']}", flush=True)
    if args.peers:
        print(install_curator(), flush=True)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    scale = 0.1 if args.quick else 1.0
    started = time.perf_counter()
    sections: list[Section] = []
    for key in chosen:
        name, bench = BENCHES[key]
        t0 = time.perf_counter()
        print(f"[{key}] {name} ...", flush=True)
        try:
            sections.append(bench(args.work / name, scale))
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            sec = Section(f"{key}. {name}")
            sec.add(Result(sec.name, "benchmark could not run", None, "", "", False, f"{type(exc).__name__}: {exc}"))
            sections.append(sec)
        print(f"[{key}] {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
        write_json(args.out, info, sections, quick=args.quick)
    seconds = time.perf_counter() - started
    if not args.keep_work:
        shutil.rmtree(args.work, ignore_errors=True)
    write_json(args.out, info, sections, quick=args.quick, seconds=round(seconds, 1))
    print()
    print(markdown(info, sections, quick=args.quick, seconds=seconds))
    print(f"(written to {args.out})")
    # A missed target is a result, reported above; only a benchmark that could not run fails `make bench`.
    broken = [r for s in sections for r in s.results if r.metric == "benchmark could not run"]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
