"""What an endpoint understands (found by `probe.py`), and where it is kept: WORK/endpoints.json, per base URL and
model, so later stages and re-runs of the same work directory send no probe.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from remud_gen.io import read_json, write_json
from remud_gen.llm.body import Mode
from remud_gen.llm.settings import EndpointSettings

ENDPOINTS_FILE = "endpoints.json"
MODES: tuple[Mode, ...] = ("json_schema", "json_object")  # the structured-output modes a probe tries, in order


@dataclass
class Capabilities:
    """What an endpoint understands, and in words what the probe saw (for the one-line report and the manifest)."""

    mode: Mode = "json_schema"
    probed_mode: bool = False  # False: ``mode`` is the setting's (or the default), not a finding
    images: bool | None = None  # None: not probed (the stage sends none)
    found: dict[str, str] = field(default_factory=dict)
    cached: bool = False

    def line(self, setting: str, schemas: bool = True) -> str:
        """One line: how schemas are sent and why, and whether images are."""
        how = {"json_schema": "response_format json_schema", "json_object": "response_format json_object + schema"}
        chosen = how.get(self.mode, "the schema written into the prompt")
        why = "set by endpoint.structured_output" if setting != "auto" else _why(self.found, self.mode)
        parts = [f"structured output: {chosen} ({why})"] if schemas else []
        parts.append("text as strings")
        if self.images is not None:
            parts.append("images " + ("as content parts" if self.images else f"not taken ({self.found['images']})"))
        return "; ".join(parts) + (" (probed earlier)" if self.cached else "")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "cached"}


def explicit(setting: str) -> Mode | None:
    """The mode ``endpoint.structured_output`` names, or None for auto."""
    for mode in (*MODES, "prompt"):
        if setting == mode:
            return mode
    return None


def read(cache: Path | None, settings: EndpointSettings) -> Capabilities | None:
    """What was found about this endpoint and model, if anything."""
    if cache is None or not cache.exists():
        return None
    entry = _entries(cache).get(_key(settings))
    if not isinstance(entry, dict) or entry.get("mode") not in (*MODES, "prompt"):
        return None
    images = entry.get("images")
    found = entry.get("found")
    return Capabilities(
        mode=entry["mode"],
        probed_mode=entry.get("probed_mode") is True,
        images=images if isinstance(images, bool) else None,
        found={str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {},
        cached=True,
    )


def write(cache: Path | None, settings: EndpointSettings, caps: Capabilities) -> None:
    """Keep what was found about this endpoint and model."""
    if cache is None:
        return
    entries = _entries(cache) if cache.exists() else {}
    entries[_key(settings)] = caps.as_dict()
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_json(cache, entries)


def forget(cache: Path | None, settings: EndpointSettings) -> None:
    """Drop what was found about this endpoint (it refused a request: the next run probes again)."""
    if cache is not None and cache.exists():
        entries = _entries(cache)
        if entries.pop(_key(settings), None) is not None:
            write_json(cache, entries)


def _why(found: dict[str, str], mode: Mode) -> str:
    tried = [f"{m}: {_short(found[m])}" for m in (*MODES, "prompt") if m in found and m != mode]
    picked = f"probed: {found.get(mode, 'works')}" if mode != "prompt" else "probed"
    text = "; ".join([picked, *tried])
    if mode == "prompt" and found.get("prompt") != "works":
        text += "; the model did not follow the schema in the prompt either: expect unparseable answers"
    return text


def _short(finding: str) -> str:
    """ "refused: http_500: 1 validation error..." -> "refused (http_500)"."""
    verdict, _, rest = finding.partition(": ")
    return f"{verdict} ({rest.split(':')[0]})" if verdict == "refused" and rest else verdict


def _key(settings: EndpointSettings) -> str:
    return json.dumps([sorted(settings.base_url), settings.model], ensure_ascii=False)


def _entries(cache: Path) -> dict[str, Any]:
    try:
        entries = read_json(cache)
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}
