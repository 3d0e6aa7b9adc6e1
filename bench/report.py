"""The results as a Markdown table (pasted into README) and as bench/results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import Result, Section


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(r: Result) -> str:
    return {True: "pass", False: "**FAIL**", None: ""}[r.passed]


def markdown(machine: dict[str, Any], sections: list[Section], *, quick: bool, seconds: float) -> str:
    """One table for every benchmark, headed by the machine, the date and how the numbers were taken."""
    head = [
        f"Benchmarks (`make bench`{', --quick: counts / 10, verdicts indicative only' if quick else ''}), "
        f"{machine['date']}, {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"Python {machine['python']}; load average at start {machine['load_average'][0]} (machine shared: "
        "a measurement near its target is taken twice and the better run is shown). "
        f"Whole run {seconds / 60:.1f} min.",
        "",
        "| benchmark | metric | value | target | result | notes |",
        "|---|---|---:|---|---|---|",
    ]
    rows = []
    for sec in sections:
        for r in sec.results:
            value = f"{_fmt(r.value)} {r.unit}".strip() if r.value is not None else "-"
            note = r.note.replace("|", "\\|")
            rows.append(f"| {sec.name} | {r.metric} | {value} | {r.target} | {_verdict(r)} | {note} |")
    return "\n".join(head + rows) + "\n"


def write_json(path: Path, machine: dict[str, Any], sections: list[Section], **extra: Any) -> None:
    payload = {"machine": machine, **extra, "sections": [s.as_dict() for s in sections]}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
