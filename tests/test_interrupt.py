"""Ctrl-C and kill -9 in the middle of a paid run: nothing answered is paid for twice, the result is the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chunk_work import chunks_only

from remud_gen.stub import BackgroundStub

N = 120
TEXT = (
    "Item {i}. Acute pyelonephritis may show an enlarged kidney with reduced corticomedullary differentiation. "
    "Colour Doppler can show wedge-shaped areas of reduced perfusion. A renal abscess appears as a complex "
    "collection with internal echoes and posterior enhancement."
)


def make_work(root: Path) -> Path:
    return chunks_only(root, [TEXT.format(i=i) for i in range(N)])


def synthesize(work: Path, url: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "remud_gen.cli",
        "synthesize",
        str(work),
        "--base-url",
        url,
        "--model",
        "stand-in",
        "--task",
        "qa",
        "--concurrency",
        "8",
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with (work / "run.log").open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def journal_lines(work: Path, probe: bool = False) -> int:
    """Answers in the journal: the items' (or, with ``probe``, those of the probe that found the endpoint's mode)."""
    path = work / "synthesize" / "journal.jsonl"
    lines = path.read_bytes().splitlines() if path.exists() else []
    return sum((b'"i":"probe:' in line) == probe for line in lines)


def wait_for_answers(work: Path, proc: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while journal_lines(work) < at_least:
        assert proc.poll() is None, (work / "run.log").read_text()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


def samples(work: Path) -> list[dict[str, object]]:
    lines = (work / "synthesize" / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "usage"} for line in lines]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupt_then_resume(tmp_path: Path, sig: signal.Signals) -> None:
    with BackgroundStub(latency_s=0.05) as stub:
        reference = make_work(tmp_path / "reference")
        assert synthesize(reference, stub.base_url).wait(120) == 0, (reference / "run.log").read_text()
        stub.reset_stats()

        work = make_work(tmp_path / "work")
        proc = synthesize(work, stub.base_url)
        wait_for_answers(work, proc, N // 2)
        proc.send_signal(sig)
        code = proc.wait(60)
        assert code != 0
        answered = journal_lines(work)
        sent_before = stub.stats()["by_path"]["/v1/chat/completions"]
        assert answered < N
        if sig == signal.SIGINT:
            assert code == 130
            probed = journal_lines(work, probe=True)
            assert sent_before == answered + probed, "Ctrl-C must journal every in-flight answer it waited for"

        assert synthesize(work, stub.base_url).wait(120) == 0, (work / "run.log").read_text()
        resent = stub.stats()["by_path"]["/v1/chat/completions"] - sent_before
        assert resent == N - answered, "only requests never answered may be sent again"
        assert samples(work) == samples(reference)
