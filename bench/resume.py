"""Benchmark 5: interrupt a synthesize run at 50% (SIGINT, then separately SIGKILL), re-run it, and check nothing paid
for is paid twice and the output equals an uninterrupted run's.

"Re-sent" counts requests whose answer was already journaled when the first run died but that reached the stand-in
again: seen both as a key journaled twice and as stand-in requests beyond the ones the journal lacked.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from common import Result, Section, Stub, count_lines, reap
from synth import start, synthesize
from workdirs import text_work

CONCURRENCY = 64
LATENCY_S = 0.2


def journal_keys(path: Path, *, probes: bool = False) -> list[str]:
    """Keys of the complete journal lines of items, in order (a torn last line is not an answer on record).

    The capability probe's answers (items "probe:...") are journaled too, but they are not the run's requests: the
    re-run reads the cached capabilities and sends no probe, so counting them would show them as re-sent.
    `probes` gives the probe's keys instead.
    """
    keys = []
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            line = json.loads(raw)
            if "k" in line and str(line.get("i", "")).startswith("probe:") == probes:
                keys.append(str(line["k"]))
    return keys


def samples(work: Path) -> dict[str, dict[str, Any]]:
    path = work / "synthesize" / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["sample_id"]: row for row in rows}


def compare(ref: dict[str, dict[str, Any]], got: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Differences between two sample sets: ids missing or extra, content differing (usage aside), usage differing."""
    common_ids = ref.keys() & got.keys()
    differ = sum(1 for i in common_ids if {**ref[i], "usage": None} != {**got[i], "usage": None})
    usage = sum(1 for i in common_ids if ref[i]["usage"] != got[i]["usage"])
    return {
        "missing": len(ref.keys() - got.keys()),
        "extra": len(got.keys() - ref.keys()),
        "differ": differ,
        "usage_differ": usage,
    }


def _interrupt_once(root: Path, n: int, sig: signal.Signals, stub: Stub) -> dict[str, Any]:
    work = text_work(root, n)
    journal = work / "synthesize" / "journal.jsonl"
    stub.reset()
    started = time.perf_counter()
    proc = start(work, stub.url, concurrency=CONCURRENCY, task="qa")
    deadline = time.monotonic() + 300
    while count_lines(journal) < n // 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    at = count_lines(journal)
    os.killpg(proc.pid, sig)  # the group, as Ctrl-C does: the command under peak.py gets it
    signalled = time.perf_counter()
    first = reap(proc, started)
    keys_first = set(journal_keys(journal))
    sent_first = stub.chat_requests()
    stub.reset()
    second = synthesize(work, stub.url, concurrency=CONCURRENCY, cold=False)
    sent_second = stub.chat_requests()
    keys = journal_keys(journal)
    return {
        "journal_at_signal": at,
        "exit_code": first.returncode,
        "exit_after_signal_s": round(first.wall_s - (signalled - started), 2),
        "journaled_before": len(keys_first),
        "sent_first": sent_first,
        "lost_in_flight": sent_first - len(keys_first) - len(journal_keys(journal, probes=True)),
        "sent_second": sent_second,
        "resent_by_stub_count": sent_second - (n - len(keys_first)),
        "journaled_twice": len(keys) - len(set(keys)),
        "second_exit": second.proc.returncode,
        "work": work,
    }


def interrupts(root: Path, scale: float) -> Section:
    """SIGINT and SIGKILL at 50%, each followed by a re-run, against one uninterrupted reference run."""
    n = max(400, round(2000 * scale))
    sec = Section("5. Interrupt at 50% and re-run")
    raw: dict[str, Any] = {"requests": n}
    with Stub(latency_s=LATENCY_S) as stub:
        ref_work = text_work(root / "reference", n)
        synthesize(ref_work, stub.url, concurrency=CONCURRENCY)
        reference = samples(ref_work)
        for sig in (signal.SIGINT, signal.SIGKILL):
            out = _interrupt_once(root / sig.name.lower(), n, sig, stub)
            diff = compare(reference, samples(out.pop("work")))
            raw[sig.name] = {**out, **diff}
            resent = max(out["journaled_twice"], out["resent_by_stub_count"])
            bad = diff["missing"] + diff["extra"] + diff["differ"]
            same = bad == 0
            sec.add(
                Result(
                    sec.name,
                    f"{sig.name}: answered+journaled requests re-sent",
                    resent,
                    "",
                    "0",
                    resent == 0,
                    f"signal at {out['journal_at_signal']}/{n} journaled; {out['journaled_before']} on record at "
                    f"exit (code {out['exit_code']}, {out['exit_after_signal_s']} s after the signal); "
                    f"{out['lost_in_flight']} in flight lost; re-run sent {out['sent_second']}",
                ),
                Result(
                    sec.name,
                    f"{sig.name}: samples differing from an uninterrupted run's",
                    bad,
                    "",
                    "0 (equal)",
                    same,
                    f"{len(reference)} samples; missing {diff['missing']}, "
                    f"extra {diff['extra']}, content differs {diff['differ']}; usage differs in {diff['usage_differ']} "
                    "(journaled answers count zero tokens on the re-run)",
                ),
            )
    sec.raw = raw
    return sec
