"""`remud-gen extract --detector vlm` end to end over HTTP: the stand-in boxes the frames of a rasterised atlas from
the pixels it receives, in either box format, and the boxes must land on the truth in PDF points."""

from __future__ import annotations

import json
import socket
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.extract.model import iou
from remud_gen.stub import BackgroundStub

pytest.importorskip("remud_gen.extract.scanned", reason="scanned-page support not available")
rasterize = pytest.importorskip("samplegen.rasterize", reason="samplegen not available")
sample_mod = pytest.importorskip("samplegen", reason="samplegen not available")

# The stand-in's Qwen processor is set well under the image budget, so a client that skipped the smart-resize
# (or used the wrong bounds) would be off by a factor of about 1.8 on each axis.
PROCESSOR_MAX = 300_000


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[dict[str, Any]]]:
    """Image-only copies of the generated atlas PDFs, and the truth of their figure panels."""
    root = tmp_path_factory.mktemp("atlas")
    sample = sample_mod.write_sample(root / "sample")
    pdfs = [rasterize.rasterize_pdf(pdf, root / f"scan_{pdf.name}") for pdf in sample.pdfs]
    return pdfs, [asdict(f) for f in sample.figures()]


def _config(tmp_path: Path, box_format: str, max_pixels: int = PROCESSOR_MAX, workers: int = 1) -> Path:
    vlm = {"box_format": box_format, "max_pixels": max_pixels}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"extract": {"ocr": "off", "vlm": vlm}, "workers": workers}))
    return path


def _extract(
    scans: list[Path], out: Path, config: Path, base_url: str, model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
) -> tuple[int, str]:
    args = ["extract", *map(str, scans), "-o", str(out), "-c", str(config), "--detector", "vlm"]
    args += ["--base-url", base_url, "--model", model]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def _figures(out: Path) -> list[dict[str, Any]]:
    lines = (out / "extract" / "figures.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _vlm_counts(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["stages"]["extract"]["vlm"]


def _agrees(counts: dict[str, Any]) -> bool:
    """The VLM's own boxes, mapped to points, sit on the analysis boxes of the frames."""
    return (
        counts["matched"] >= 0.85 * counts["vlm_boxes"] > 0
        and counts["conflict"] == 0
        and (counts["mean_match_iou"] or 0) >= 0.9
    )


@pytest.mark.parametrize(("stub_format", "model"), [("qwen", "Qwen/Qwen2.5-VL-7B-Instruct"), ("norm1000", "gpt-4o")])
def test_vlm_detector_finds_the_atlas_frames(
    tmp_path: Path, scans: tuple[list[Path], list[dict[str, Any]]], stub_format: str, model: str
) -> None:
    pdfs, truth = scans
    out = tmp_path / "work"
    with BackgroundStub(box_format=stub_format, box_max_pixels=PROCESSOR_MAX) as stub:
        config = _config(tmp_path, "auto", workers=2)  # the model name decides the format; workers get the endpoint
        code, output = _extract(pdfs, out, config, stub.base_url, model)
        assert code == 0, output
        counts = _vlm_counts(out)
        assert _agrees(counts), counts
        assert counts["pages"] == 8 and counts["failed_pages"] == 0 and counts["http_attempts"] == 8
        assert "vlm detector: 8 scanned page(s)" in output

        figures = _figures(out)
        for t in (t for t in truth if t["is_ultrasound"]):
            page = [f for f in figures if f["doc"] == f"scan_{t['doc']}" and f["page"] == t["page"]]
            best = max(page, key=lambda f: iou(tuple(f["bbox"]), tuple(t["bbox"])))
            assert iou(tuple(best["bbox"]), tuple(t["bbox"])) >= 0.8, (t, best["bbox"])
            assert best["source"] == "vlm", (t, best)

        # A re-run after the cached documents are lost re-extracts them without paying again.
        for cache in (out / "extract" / "docs").iterdir():
            cache.unlink()
        (out / "manifest.json").unlink()
        code, output = _extract(pdfs, out, config, stub.base_url, model)
        assert code == 0, output
        again = _vlm_counts(out)
        assert again["http_attempts"] == 0 and again["from_journal"] == 8
        assert [f["bbox"] for f in _figures(out)] == [f["bbox"] for f in figures]


@pytest.mark.parametrize(
    ("stub_format", "client_format", "client_max"),
    [
        ("norm1000", "qwen", PROCESSOR_MAX),  # 0-1000 read as pixels
        ("qwen", "norm1000", PROCESSOR_MAX),  # pixels read as 0-1000
        ("qwen", "qwen", 12845056),  # the model's smart-resize bounds are not the client's
    ],
)
def test_a_wrong_mapping_is_caught_by_the_cross_check(
    tmp_path: Path,
    scans: tuple[list[Path], list[dict[str, Any]]],
    stub_format: str,
    client_format: str,
    client_max: int,
) -> None:
    pdfs = scans[0][-1:]  # one document is enough to tell
    out = tmp_path / "work"
    with BackgroundStub(box_format=stub_format, box_max_pixels=PROCESSOR_MAX) as stub:
        code, output = _extract(pdfs, out, _config(tmp_path, client_format, client_max), stub.base_url)
    assert code == 0, output
    counts = _vlm_counts(out)
    assert not _agrees(counts), counts
    assert counts["conflict"] + counts["rejected"] + counts["vlm_only"] > 0  # reported as disagreements


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoint_falls_back_to_image_analysis_and_exits_3(
    tmp_path: Path, scans: tuple[list[Path], list[dict[str, Any]]]
) -> None:
    pdfs, _ = scans
    out = tmp_path / "work"
    config = _config(tmp_path, "norm1000")
    code, output = _extract(pdfs, out, config, f"http://127.0.0.1:{_closed_port()}/v1")
    assert code == 3, output
    errors = {line for line in output.splitlines() if line.startswith("error:")}  # (stdout and stderr both hold it)
    assert len(errors) == 1 and "vlm detector: cannot reach the model endpoint" in errors.pop(), output
    figures = _figures(out)  # the outputs are complete, from image analysis
    assert figures and {f["source"] for f in figures} == {"detected"}

    # Once the endpoint is up, the same command redoes the documents with the VLM (nothing is skipped).
    with BackgroundStub(box_format="norm1000") as stub:
        code, output = _extract(pdfs, out, config, stub.base_url)
    assert code == 0, output
    assert "vlm" in {f["source"] for f in _figures(out)}
    assert _vlm_counts(out)["pages"] == 8


def test_every_page_refused_stops_with_the_servers_reason(
    tmp_path: Path, scans: tuple[list[Path], list[dict[str, Any]]]
) -> None:
    """The endpoint answers /models but refuses every box request (a wrong model name): exit 3 with its reason."""
    out = tmp_path / "work"
    with BackgroundStub(strict_model=True, model="gpt-4o") as stub:
        code, output = _extract(scans[0][-1:], out, _config(tmp_path, "norm1000"), stub.base_url, "no-such-model")
    assert code == 3, output
    errors = {line for line in output.splitlines() if line.startswith("error:")}
    assert len(errors) == 1 and "no page got boxes" in errors.pop() and "http_404" in output, output
    assert {f["source"] for f in _figures(out)} == {"detected"}


def test_pages_left_without_boxes_are_redone_by_the_next_run(
    tmp_path: Path, scans: tuple[list[Path], list[dict[str, Any]]]
) -> None:
    pdfs = scans[0][-1:]
    out = tmp_path / "work"
    config = _config(tmp_path, "norm1000")
    config.write_text(config.read_text() + "endpoint:\n  max_retries: 0\n")
    with BackgroundStub(box_format="norm1000", fault_500=1.0) as stub:
        code, output = _extract(pdfs, out, config, stub.base_url, "gpt-4o")
    assert code == 3 and "http_500" in output, output
    assert _vlm_counts(out)["failed_pages"] == 4
    with BackgroundStub(box_format="norm1000") as stub:
        code, output = _extract(pdfs, out, config, stub.base_url, "gpt-4o")
    assert code == 0, output
    counts = _vlm_counts(out)
    assert counts["failed_pages"] == 0 and counts["http_attempts"] == 4
    assert "vlm" in {f["source"] for f in _figures(out)}


def test_born_digital_pages_send_nothing(tmp_path: Path) -> None:
    sample = sample_mod.write_sample(tmp_path / "sample")
    out = tmp_path / "work"
    with BackgroundStub() as stub:
        code, output = _extract(sample.pdfs[-1:], out, _config(tmp_path, "auto"), stub.base_url)
    assert code == 0, output
    assert _vlm_counts(out) == {"pages": 0} and "vlm detector" not in output
    assert {f["source"] for f in _figures(out)} == {"embedded"}
