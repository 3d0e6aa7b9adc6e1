"""report.html: one self-contained page on which a clinician reviews what the filter kept and dropped.

Items are grouped by what they were generated from (a figure panel, shown with its crop and caption, or a text
chunk), with judge scores, rationales and every reason, and filters by kind, region, language, status, reason,
score range and text; the filter state lives in the URL hash (`report.html#kind=vqa&status=rejected`) so a view can
be shared. No network: CSS and JS are inline, and every image it shows is a copy under WORK/dataset/images (a
relative path), so the dataset folder zipped on its own still shows every image. All text is data in a JSON script
block that the page renders with `textContent`, so nothing a model wrote can become markup. After `split`, each
accepted item says whether it is in training or in test.json.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from remud_gen.filter.judge_settings import DIMENSIONS
from remud_gen.filter.rules import reason_name
from remud_gen.io import atomic_open
from remud_gen.records import Figure, Verdict

_PLACEHOLDER = re.compile(r"\{\{(TITLE|DATA)\}\}")


def _url(image: str | None, copies: Mapping[str, str]) -> str | None:
    # only the copy under WORK/dataset: a path into WORK/extract breaks once the folder is shipped on its own
    return quote(PurePosixPath(copies[image]).as_posix()) if image and image in copies else None


def _group(verdict: Verdict, figures: Mapping[str, Figure]) -> tuple[str, dict[str, Any]]:
    src, s = verdict.sample.source, verdict.sample
    fig = figures.get(src.figure_key or "")
    if fig is not None:
        label = " ".join(x for x in (src.doc, f"p.{src.page}", fig.figure_id or "", fig.panel or "") if x)
        caption = "\n".join(x for x in (fig.caption, fig.panel_caption) if x)
        return f"f:{fig.figure_key}", {"label": label, "caption": caption, "image": fig.image}
    if src.figure_key or s.images:
        key = src.figure_key or s.images[0]
        label = " ".join(x for x in (src.doc, f"p.{src.page}", src.figure_id or "", src.panel or "") if x)
        return f"f:{key}", {"label": label, "caption": "", "image": s.images[0] if s.images else None}
    key = src.chunk_id or f"{src.doc}#{src.page}"
    return f"c:{key}", {
        "label": f"{src.doc} p.{src.page}" + (f" · {src.chunk_id}" if src.chunk_id else ""),
        "caption": "",
        "image": None,
    }


def _item(v: Verdict) -> dict[str, Any]:
    s = v.sample
    return {
        "id": s.sample_id,
        "kind": s.kind,
        "language": s.language,
        "region": s.region,
        "accepted": v.accepted,
        "reasons": v.reasons,
        "reason_names": sorted({reason_name(r) for r in v.reasons}),
        "flags": v.flags,
        "score": None if v.weighted_score is None else round(v.weighted_score, 3),
        "scores": v.scores.model_dump() if v.scores else None,
        "turns": [[t.role, t.text] for t in s.turns],
        "thinking": s.thinking,
        "options": s.options,
        "answer": s.answer,
        "evidence": s.evidence,
        "outside": s.outside_knowledge,
    }


def _choose(verdicts: Sequence[Verdict], max_items: int | None) -> list[Verdict]:
    if max_items is None or len(verdicts) <= max_items:
        return list(verdicts)
    # a hash order is a fixed pseudo-random sample: the same items on every run, spread over every source
    return sorted(verdicts, key=lambda v: hashlib.sha1(v.sample.sample_id.encode()).digest())[:max_items]


def shown_images(
    verdicts: Sequence[Verdict], figures: Mapping[str, Figure] | None = None, max_items: int | None = None
) -> list[str]:
    """The WORK-relative images the page shows (one per source group), to copy into WORK/dataset/images."""
    images = {_group(v, figures or {})[1]["image"] for v in _choose(verdicts, max_items)}
    return sorted(i for i in images if i and not PurePosixPath(i).is_absolute() and ".." not in PurePosixPath(i).parts)


def report_data(
    verdicts: Sequence[Verdict],
    *,
    figures: Mapping[str, Figure] | None = None,
    images: Mapping[str, str] | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """The JSON the page renders: groups of items by source, counts for the filter menus, a note."""
    chosen = _choose(verdicts, max_items)
    groups: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for v in sorted(chosen, key=lambda v: (v.sample.source.doc, v.sample.source.page, v.sample.sample_id)):
        key, info = _group(v, figures or {})
        group = groups.setdefault(key, {"key": key, **info, "items": []})
        group["items"].append(len(items))
        items.append(_item(v))
    for group in groups.values():
        group["image"] = _url(group["image"], images or {})
    accepted = sum(v.accepted for v in chosen)
    note = f"{len(chosen)} items ({accepted} accepted, {len(chosen) - accepted} rejected) from {len(groups)} sources"
    if len(chosen) < len(verdicts):
        note += f"; a fixed sample of {len(chosen)} of {len(verdicts)} items"
    return {
        "groups": list(groups.values()),
        "items": items,
        "dimensions": list(DIMENSIONS),
        "counts": {
            "kind": dict(Counter(i["kind"] for i in items)),
            "region": dict(Counter(i["region"] for i in items)),
            "language": dict(Counter(i["language"] for i in items)),
            "reason": dict(Counter(r for i in items for r in i["reason_names"])),
        },
        "note": note,
    }


def render_report(data: Mapping[str, Any], title: str) -> str:
    """The page: the template with the title escaped and the data embedded as inert JSON."""
    template = resources.files("remud_gen.dataset").joinpath("report.html.tmpl").read_text(encoding="utf-8")
    # "<" and "&" as JSON escapes: a "</script>" in a model's answer cannot close the data block
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    payload = payload.replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    values = {"TITLE": html.escape(title), "DATA": payload}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def mark_split(data: Mapping[str, Any], train: set[str], test: set[str]) -> dict[str, Any]:
    """A copy of the page data where each accepted item says where it went: "train", "test", or "left out"."""
    items = []
    for item in data["items"]:
        where = "train" if item["id"] in train else "test" if item["id"] in test else "left out"
        items.append({**item, "split": where if item["accepted"] and test else None})
    note = str(data["note"])
    if test:
        shown = sum(i["split"] == "test" for i in items)
        note += f"; {len(test)} items held out in test.json ({shown} shown)"
    return {**data, "items": items, "note": note}


def write_report(path: Path, data: Mapping[str, Any], title: str = "remud-gen review") -> Path:
    """Write the page for ``data`` (from `report_data`) at ``path``, atomically, and return it."""
    with atomic_open(path) as fh:
        fh.write(render_report(data, title))
    return path
