"""Counters a test reads from GET /stats to assert how many requests reached the stand-in and what they got."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    """Request, status, fault and token counts since start (or the last reset)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = 0
        self.by_status: Counter[str] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.by_path: Counter[str] = Counter()
        self.batch_lines = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return {
            "requests": self.requests,
            "by_status": dict(self.by_status),
            "by_fault": dict(self.by_fault),
            "by_path": dict(self.by_path),
            "batch_lines": self.batch_lines,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
