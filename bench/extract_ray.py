"""Benchmark 6, issue 17: extract on Ray vs local worker processes, on this machine.

The same inputs with the same CPUs: `--workers 2` (two processes) vs `--ray --workers 2` (the command starts a Ray
instance of 2 CPUs and shuts it down). Both times are the stage's own, so Ray's start-up is inside the Ray time; it
is also timed alone, to tell the fixed cost from the per-document one. Skipped with a note when ray is missing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from common import Result, Section, run
from extract import extract

WORKERS = 2
_STARTUP = (
    "import json, logging, time; t = time.perf_counter(); import ray; "
    "ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING); "
    "ray.get(ray.remote(lambda: 1).remote()); up = time.perf_counter() - t; ray.shutdown(); "
    "print(json.dumps({'seconds': up}))"
)


def ray_bench(sec: Section, root: Path, sets: dict[str, list[Path]]) -> dict[str, Any]:
    """For each named set of inputs: pages/s locally and on Ray, and their ratio; Ray's start-up alone."""
    if importlib.util.find_spec("ray") is None:
        note = "ray is not installed: pip install 'remud-gen[ray]' (make setup installs it)"
        sec.add(Result(sec.name, "Ray executor / local processes", None, "", "", None, note))
        return {}
    proc = run([sys.executable, "-c", _STARTUP])
    startup = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"] if proc.returncode == 0 else None
    config = root / "ray-config.yaml"
    config.write_text("extract:\n  executor: ray\n")
    raw: dict[str, Any] = {"startup_s": startup}
    for label, inputs in sets.items():
        local = extract(inputs, root / f"{label}-local", workers=WORKERS)
        on_ray = extract(inputs, root / f"{label}-ray", workers=WORKERS, config=config)
        ratio = round(on_ray["pages_per_s"] / local["pages_per_s"], 2)
        # what a page costs in core-seconds here: the projection in bench/README.md divides cluster cores by it
        core_s = round(WORKERS * local["seconds"] / local["pages"], 2)
        steady = f"{on_ray['seconds'] - startup:.1f} s without it" if startup else "start-up not measured"
        sec.add(
            Result(
                sec.name,
                f"{label}: Ray / local processes pages/s",
                ratio,
                "x",
                "",
                None,
                f"{local['pages']} pages in {len(inputs)} files, 2 CPUs: {local['pages_per_s']} pages/s local "
                f"({local['seconds']:.1f} s) vs {on_ray['pages_per_s']} on Ray ({on_ray['seconds']:.1f} s, Ray's "
                f"start-up {startup or 0:.1f} s included; {steady}); {core_s} core-s per page",
            )
        )
        raw[label] = {"local": local, "ray": on_ray, "ratio": ratio, "core_s_per_page": core_s}
    return raw
