"""The peer tool curator, in a throwaway virtualenv outside the repo, driven by the shared peer script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from common import ROOT, run

CURATOR_VENV = Path("/tmp/peer-curator")
CURATOR_SPEC = "bespokelabs-curator==0.1.31"
PEER_SCRIPT = ROOT.parent / "shared" / "bench" / "peer_curator.py"


def curator_python() -> Path | None:
    """The throwaway venv's python when curator is importable there, else None."""
    py = CURATOR_VENV / "bin" / "python"
    if not py.exists():
        return None
    probe = subprocess.run([str(py), "-c", "import bespokelabs.curator"], capture_output=True, timeout=120)
    return py if probe.returncode == 0 else None


def install_curator() -> str:
    """Create the venv and pip-install curator into it; returns a one-line outcome."""
    if curator_python() is not None:
        return f"curator already installed in {CURATOR_VENV}"
    steps = [
        ["python3", "-m", "venv", str(CURATOR_VENV)],
        [str(CURATOR_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", CURATOR_SPEC],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            return f"could not install curator ({' '.join(step[:3])}...: {tail})"
    return f"installed {CURATOR_SPEC} in {CURATOR_VENV}"


def run_curator(url: str, n: int, concurrency: int, schema: bool) -> dict[str, Any]:
    """Run the peer script once; returns its JSON line plus the process's CPU time and peak RSS.

    Raises:
        RuntimeError: curator is not installed or the script failed.
    """
    py = curator_python()
    if py is None:
        raise RuntimeError(f"curator is not installed in {CURATOR_VENV} (run bench/run.py --peers)")
    cmd = [str(py), str(PEER_SCRIPT), "--base-url", url, "-n", str(n), "-c", str(concurrency)]
    proc = run(cmd + (["--schema"] if schema else []), timeout_s=900)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"curator peer script exited {proc.returncode}: {tail}")
    out: dict[str, Any] = json.loads(line)
    out.update(process_wall_s=round(proc.wall_s, 2), process_cpu_s=round(proc.cpu_s, 2))
    return out
