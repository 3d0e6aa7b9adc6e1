"""extract on Ray (`--ray`): the same work directory as a local run, a lost worker retried, the same caches."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remud_gen.cli import app

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install 'remud-gen[ray]')"
)
# two born-digital papers, a scanned page with an illustration, a picture (one figure): about 25 pages
DOCS = [
    "en_papers/day2020_PrenatDiagn_diagrams_ccby.pdf",
    "en_papers/zhou2021_CardiovascUS_echo_review_ccby.pdf",
    "zh_scanned/mineru_complex_layout_zh_magazine_imageonly.pdf",
    "ultrasound_images/busi_benign_1.png",
]
OUTPUTS = ("documents", "chunks", "figures", "failures", "warnings")


@contextmanager
def local_ray(env: dict[str, str] | None = None) -> Iterator[None]:
    """A Ray instance of 2 CPUs in this process; its workers get ``env`` (they inherit the environment of init)."""
    import ray

    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
        yield
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _extract(corpus: Path, work: Path, *options: str) -> None:
    result = CliRunner().invoke(app, ["extract", *(str(corpus / d) for d in DOCS), "-o", str(work), *options])
    assert result.exit_code == 0, result.output


def _snapshot(work: Path) -> dict[str, object]:
    """Every output's records, sorted, and every crop's hash by name."""
    out = work / "extract"
    snap: dict[str, object] = {
        name: sorted(
            json.dumps(json.loads(line), sort_keys=True)
            for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        )
        for name in OUTPUTS
    }
    snap["images"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "images").iterdir()}
    return snap


@pytest.fixture(scope="module")
def local_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    work = tmp_path_factory.mktemp("local")
    _extract(corpus, work, "--workers", "2")
    snap = _snapshot(work)
    assert len(snap["documents"]) == len(DOCS)  # type: ignore[arg-type]
    assert snap["images"] and snap["chunks"] and snap["failures"] == []
    return snap


@needs_ray
def test_ray_writes_the_work_directory_a_local_run_writes_and_resumes_from_its_caches(
    corpus: Path, tmp_path: Path, local_run: dict[str, object]
) -> None:
    work = tmp_path / "onray"
    with local_ray():
        _extract(corpus, work, "--ray")
        assert _snapshot(work) == local_run
        caches = {p.name: p.stat().st_mtime_ns for p in (work / "extract" / "docs").iterdir()}
        assert len(caches) == len(DOCS)
        # an interrupted run: one document's cache never landed; the next run extracts that one only
        lost = sorted((work / "extract" / "docs").iterdir())[0]
        lost.unlink()
        (work / "extract" / "figures.jsonl").unlink()
        _extract(corpus, work, "--ray")
    again = {p.name: p.stat().st_mtime_ns for p in (work / "extract" / "docs").iterdir()}
    assert sorted(again) == sorted(caches)
    assert {n: t for n, t in again.items() if n != lost.name} == {n: t for n, t in caches.items() if n != lost.name}
    assert _snapshot(work) == local_run
    # the executor is not part of the cache key: a local run over the same work directory has nothing to do
    _extract(corpus, work, "--workers", "1")
    assert {p.name: p.stat().st_mtime_ns for p in (work / "extract" / "docs").iterdir()} == again


@needs_ray
def test_a_worker_that_dies_mid_document_is_retried_and_the_run_completes(
    corpus: Path, tmp_path: Path, local_run: dict[str, object]
) -> None:
    marker = tmp_path / "crashed" / Path(DOCS[0]).name  # the first attempt at this document exits abruptly
    marker.parent.mkdir()
    with local_ray({"REMUD_GEN_CRASH_ONCE": str(marker)}):
        _extract(corpus, tmp_path / "onray", "--ray")
    assert marker.exists()  # the worker did die
    assert _snapshot(tmp_path / "onray") == local_run


def test_ray_not_installed_is_one_line_and_exit_2(corpus: Path, tmp_path: Path) -> None:
    # `import ray` fails as on a machine without it (a None entry in sys.modules makes the import raise)
    code = "import sys; sys.modules['ray'] = None; from remud_gen.cli import main; main()"
    doc = str(corpus / DOCS[0])
    run = subprocess.run(
        [sys.executable, "-c", code, "extract", doc, "-o", str(tmp_path / "w"), "--ray"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert any("pip install 'remud-gen[ray]'" in line for line in lines), lines
    assert "Traceback" not in run.stderr
    assert not list((tmp_path / "w" / "extract" / "docs").glob("*.jsonl"))
