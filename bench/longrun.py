"""Benchmark 3: a long zero-latency run (50,000 requests): peak RSS and journal bytes per request.

Journal bytes are held to the size of the answers the endpoint sent (1.2 x body + 1 KB). The body size is measured
by a counting proxy in front of the stand-in on a sample run over the same first requests (the proxy would double the
CPU in the path of the long run); the sample run's own journal is checked against its exact body bytes too.
The image variant sends a ~1 MB PNG with every request (`vqa` on figure records), so any image bytes leaking into
the journal, or kept per request in memory, would show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import Proxy, Result, Section, Stub
from synth import synthesize
from workdirs import image_work, text_work

from remud_gen.llm.images import data_url
from remud_gen.llm.settings import EndpointSettings

CONCURRENCY = 64  # the default endpoint.concurrency: what a user runs with
RSS_MB = 250.0


def _journal_target(body: float) -> float:
    return 1.2 * body + 1024


def _variant(root: Path, n: int, sample_n: int, task: str, images: bool, concurrency: int) -> dict[str, Any]:
    make = image_work if images else text_work
    work = make(root, n)
    sample = make(root.with_name(root.name + "-sample"), sample_n)
    with Stub(latency_s=0.0) as stub:
        with Proxy(stub) as proxy:
            s = synthesize(sample, proxy.url, concurrency=concurrency, task=task)
            tally = proxy.tally()
        r = synthesize(work, stub.url, concurrency=concurrency, task=task)
    body = tally["body_bytes"] / max(tally["responses"], 1)
    return {
        "requests": r.requests,
        "concurrency": concurrency,
        "wall_s": round(r.proc.wall_s, 1),
        "peak_rss_mb": round(r.proc.peak_rss_mb, 1),
        "journal_per_request": round(r.journal_bytes / max(r.requests, 1), 1),
        "sample_requests": s.requests,
        "sample_body_per_request": round(body, 1),
        "sample_journal_per_request": round(s.journal_bytes / max(s.requests, 1), 1),
        "sample_peak_rss_mb": round(s.proc.peak_rss_mb, 1),
        "failures": r.failures,
        **(_image_sizes(work) if images else {}),
    }


def _image_sizes(work: Path) -> dict[str, int]:
    png = sorted((work / "extract" / "images").glob("*.png"))[0]
    wire = len(data_url(png, EndpointSettings().image_max_pixels))
    return {"image_file_bytes": png.stat().st_size, "image_wire_bytes": wire}


def long_run(root: Path, scale: float) -> Section:
    """Text requests at the full 50,000; the image variant at fewer (the stand-in is its bottleneck), extrapolated."""
    n_text = max(1000, round(50_000 * scale))
    n_image = max(300, round(3_000 * scale))
    sec = Section("3. Long run, zero latency")
    text = _variant(root / "text", n_text, min(n_text, 1000), "qa", False, CONCURRENCY)
    image = _variant(root / "image", n_image, min(n_image, 300), "vqa", True, CONCURRENCY)
    stress = _variant(root / "image-256", 512, 256, "vqa", True, 256)
    for label, v in (("text", text), ("1 MB image each", image), ("1 MB image each, concurrency 256", stress)):
        limit = _journal_target(v["sample_body_per_request"])
        sec.add(
            Result(
                sec.name,
                f"peak RSS, {label}",
                v["peak_rss_mb"],
                "MB",
                f"<= {RSS_MB:.0f} MB",
                v["peak_rss_mb"] <= RSS_MB,
                f"{v['requests']:,} requests at concurrency {v['concurrency']} in "
                f"{v['wall_s']} s, {v['failures']} failures",
            ),
            Result(
                sec.name,
                f"journal bytes per request, {label}",
                v["journal_per_request"],
                "B",
                f"<= {limit:,.0f} B",
                v["journal_per_request"] <= limit,
                f"response body {v['sample_body_per_request']:,.0f} B/request (proxy, {v['sample_requests']} "
                f"requests; that run's journal: {v['sample_journal_per_request']:,.0f} B/request)",
            ),
        )
    sec.results[2].note += (
        f"; each request carries a {image['image_file_bytes'] / 1e6:.2f} MB PNG, sent as a "
        f"{image['image_wire_bytes'] / 1e3:,.0f} KB data URL; {n_image:,} requests, not {n_text:,}: the stand-in "
        "decodes every image it is sent (~50 requests/s on this machine)"
    )
    # Memory that grows with the count (answers, samples) is the text run's; images add only what is in flight.
    slope = (text["peak_rss_mb"] - text["sample_peak_rss_mb"]) / max(text["requests"] - text["sample_requests"], 1)
    projected = round(image["peak_rss_mb"] + slope * (n_text - n_image), 1)
    sec.add(
        Result(
            sec.name,
            f"peak RSS, 1 MB image each, projected to {n_text:,}",
            projected,
            "MB",
            f"<= {RSS_MB:.0f} MB",
            projected <= RSS_MB,
            f"measured at {n_image:,} + the text run's growth of {slope * 1024:.2f} KB per request "
            f"({text['sample_peak_rss_mb']} MB at {text['sample_requests']:,} requests)",
        )
    )
    sec.raw = {"text": text, "image": image, "image_concurrency_256": stress, "rss_growth_mb_per_request": slope}
    return sec
