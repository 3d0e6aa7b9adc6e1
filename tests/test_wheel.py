"""The wheel, installed outside the checkout, is a tool that runs: init, then extract -> synthesize -> filter.

The wheel is built from a copy of the package (a stale build/ in the checkout cannot leak into it) and installed into
a fresh venv in a temp folder. Dependencies are not downloaded again: a .pth file makes the dev venv's site-packages
visible after the fresh venv's own. A path a .pth file adds does not have its own .pth files run, so the dev venv's
editable install of the checkout stays out of reach, and every command runs from a temp folder with PYTHONPATH unset:
what runs is the wheel's code and the wheel's data, or nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from samplegen import write_sample

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """remud_gen-*.whl built (without build isolation: no download) from a copy of pyproject, README and the package."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "remud_gen", src / "remud_gen", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _ok(_run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src, cwd=dist))
    (built,) = dist.glob("remud_gen-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with only the wheel installed in it; returns its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    _ok(_run(sys.executable, "-m", "venv", "--without-pip", root, cwd=root))
    python = root / "bin" / "python"
    site = Path(_ok(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)).strip())
    (site / "dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--python", python]
    _ok(_run(*pip, "install", "--no-deps", "--no-index", "-q", wheel, cwd=root))
    return root / "bin"


@pytest.fixture(scope="module")
def stand_in(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`remud-gen stub-server` of the installed wheel on a free port; yields its base URL."""
    cwd = tmp_path_factory.mktemp("stub")
    server = subprocess.Popen(
        [str(venv / "remud-gen"), "stub-server", "--port", "0"], cwd=cwd, env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert "listening on http://" in line, line
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_the_installed_code_is_the_wheels_not_the_checkouts(venv: Path, tmp_path: Path) -> None:
    where = _ok(_run(venv / "python", "-c", "import remud_gen; print(remud_gen.__file__)", cwd=tmp_path)).strip()
    assert Path(where).is_relative_to(venv.parent), where
    assert not Path(where).is_relative_to(ROOT), where
    for dev_only in ("samplegen", "remud_gen.sample"):
        assert _run(venv / "python", "-c", f"import {dev_only}", cwd=tmp_path).returncode != 0, f"{dev_only} shipped"


def test_init_then_the_pipeline_from_a_folder_that_is_not_the_checkout(
    venv: Path, stand_in: str, tmp_path: Path
) -> None:
    books = tmp_path / "books"
    write_sample(books)
    remud = venv / "remud-gen"
    _ok(_run(remud, "init", "mine", cwd=tmp_path))
    assert (tmp_path / "mine" / "prompts" / "judge.zh.md").is_file()
    common = ["-c", "mine/remud-gen.yaml", "--base-url", stand_in, "--model", "stand-in"]
    _ok(_run(remud, "extract", books / "atlas_en.pdf", "-o", "work", "-c", "mine/remud-gen.yaml", cwd=tmp_path))
    _ok(_run(remud, "synthesize", "work", *common, cwd=tmp_path))
    _ok(_run(remud, "filter", "work", *common, cwd=tmp_path))
    shards = sorted((tmp_path / "work" / "dataset").glob("remud-*-of-*.json"))
    records = [record for shard in shards for record in json.loads(shard.read_text(encoding="utf-8"))]
    assert records and {"qa", "vqa"} <= {r["kind"] for r in records}


def test_the_packaged_prompts_work_from_a_zip(venv: Path, wheel: Path, stand_in: str, tmp_path: Path) -> None:
    # the wheel is a zip: put it first on sys.path and the package data must come out of the archive
    code = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); import remud_gen, runpy; "
        "print(remud_gen.__file__, file=sys.stderr); sys.argv[0] = 'remud-gen'; "
        "runpy.run_module('remud_gen', run_name='__main__')"
    )
    zipped = [venv / "python", "-c", code, wheel]
    result = _run(*zipped, "init", "mine", cwd=tmp_path)
    _ok(result)
    assert str(wheel) in result.stderr, result.stderr
    assert (tmp_path / "mine" / "prompts" / "qa.zh.md").read_bytes() == (ROOT / "prompts" / "qa.zh.md").read_bytes()
    (tmp_path / "work" / "extract").mkdir(parents=True)
    for name in ("chunks.jsonl", "figures.jsonl", "documents.jsonl"):
        (tmp_path / "work" / "extract" / name).write_text("", encoding="utf-8")
    # no -c: synthesize reads every task's prompts from the packaged folder, inside the zip
    _ok(_run(*zipped, "synthesize", "work", "--base-url", stand_in, "--model", "stand-in", cwd=tmp_path))
