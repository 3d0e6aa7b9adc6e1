"""Running the real `remud-gen synthesize` command on a bench work directory and reading what it recorded."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from common import REMUD, Proc, count_lines, reap, spawn


@dataclass
class StageRun:
    """One synthesize command: what the process cost and what the stage wrote."""

    proc: Proc
    requests: int  # requests the stage resolved (manifest usage.requests)
    stage_s: float  # request phase as the stage timed it (manifest timings.seconds)
    samples: int
    failures: int
    journal_lines: int
    journal_bytes: int
    usage: dict[str, Any]


def config_file(work: Path, **endpoint: Any) -> Path:
    """Write a config overlay with endpoint settings that have no command-line flag (timeouts, retries)."""
    path = work / "bench-config.yaml"
    path.write_text(yaml.safe_dump({"endpoint": endpoint}), encoding="utf-8")
    return path


def reset(work: Path) -> None:
    """Forget a previous synthesize run in ``work`` (outputs, journal, manifest) so the next one starts cold."""
    shutil.rmtree(work / "synthesize", ignore_errors=True)
    (work / "manifest.json").unlink(missing_ok=True)


def command(work: Path, url: str, *, concurrency: int, task: str, config: Path | None = None) -> list[str]:
    cmd = [REMUD, "synthesize", str(work), "--base-url", url, "--model", "stand-in"]
    cmd += ["--concurrency", str(concurrency), "--task", task]
    return cmd + (["-c", str(config)] if config else [])


def start(work: Path, url: str, *, concurrency: int, task: str, config: Path | None = None) -> subprocess.Popen[str]:
    """Start the command without waiting (for the interrupt benchmark)."""
    return spawn(command(work, url, concurrency=concurrency, task=task, config=config), cwd=work)


def synthesize(
    work: Path, url: str, *, concurrency: int, task: str = "qa", config: Path | None = None, cold: bool = True
) -> StageRun:
    """Run the synthesize command to the end and collect its numbers.

    Raises:
        RuntimeError: the command failed (its last stderr line is in the message).
    """
    if cold:
        reset(work)
    started = time.perf_counter()
    proc = reap(start(work, url, concurrency=concurrency, task=task, config=config), started)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"synthesize exited {proc.returncode}: {tail}")
    return collect(work, proc)


def collect(work: Path, proc: Proc) -> StageRun:
    """The stage's own record of a finished run."""
    entry = json.loads((work / "manifest.json").read_text())["stages"]["synthesize"]
    journal = work / "synthesize" / "journal.jsonl"
    return StageRun(
        proc=proc,
        requests=int(entry["usage"]["requests"]),
        stage_s=float(entry["timings"]["seconds"]),
        samples=int(entry["counts"]["samples"]),
        failures=int(entry["counts"]["failures"]),
        journal_lines=count_lines(journal),
        journal_bytes=journal.stat().st_size if journal.exists() else 0,
        usage=entry["usage"],
    )


def steady_rate(work: Path, middle: float = 0.8) -> float:
    """Answers per second in steady state: the least-squares slope of answer count against answer time (the
    journal's ``t``) over the middle ``middle`` of the answers, leaving out the ramp (the first connections opening,
    the first wave leaving) and the drain (the last answers coming back).

    Raises:
        RuntimeError: the journal holds too few timed answers to fit.
    """
    times = []
    with (work / "synthesize" / "journal.jsonl").open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                t = json.loads(raw).get("t")
            except ValueError:
                continue
            if isinstance(t, (int, float)):
                times.append(float(t))
    times.sort()
    cut = round(len(times) * (1 - middle) / 2)
    kept = times[cut : len(times) - cut]
    if len(kept) < 10 or kept[-1] <= kept[0]:
        raise RuntimeError(f"{len(times)} timed answers in the journal: too few for a steady-state rate")
    n = len(kept)
    mean_t, mean_i = sum(kept) / n, (n - 1) / 2
    slope = sum((t - mean_t) * (i - mean_i) for i, t in enumerate(kept)) / sum((t - mean_t) ** 2 for t in kept)
    return slope
