"""A batch as careless or hostile users feed it: damaged PDFs, pipes and devices, one file under two names, repeated
text, a CMYK photograph, a file name that is HTML, a run killed with -9. Every problem is named per file in words a
user understands, nothing is paid for twice, and nothing a killed run left behind survives a re-run."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chunk_work import chunks_only, jsonl
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.stub import BackgroundStub
from samplegen import write_sample

runner = CliRunner()
CLI = [sys.executable, "-m", "remud_gen.cli"]
CYCLE = b"""%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R 2 0 R]/Count 2>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj
4 0 obj<</Length 44>>stream
BT /F1 12 Tf 72 720 Td (Hello cycle) Tj ET
endstream endobj
trailer<</Root 1 0 R>>
%%EOF
"""


def extract(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`remud-gen extract` in its own process, as a user runs it (and so that a hang is a failure, not a stuck run)."""
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([*CLI, "extract", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_pipes_devices_and_broken_links_are_named_not_waited_on(tmp_path: Path, corpus: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(corpus / "malformed" / "issue1002.pdf", books / "good.pdf")
    os.mkfifo(books / "pipe.pdf")
    (books / "zero.pdf").symlink_to("/dev/zero")
    (books / "gone.pdf").symlink_to(books / "nowhere.pdf")
    (books / "loop-a.pdf").symlink_to(books / "loop-b.pdf")
    (books / "loop-b.pdf").symlink_to(books / "loop-a.pdf")
    os.mkfifo(tmp_path / "given.pdf")
    done = extract(str(books), str(tmp_path / "given.pdf"), "-o", str(tmp_path / "w"), "--workers", "1", timeout=120)
    assert done.returncode == 1, done.stderr
    said = done.stderr
    for name, words in [
        ("pipe.pdf", "named pipe"),
        ("zero.pdf", "device"),
        ("gone.pdf", "broken symbolic link"),
        ("loop-a.pdf", "loops"),
        ("given.pdf", "named pipe"),
    ]:
        assert any(name in line and words in line for line in said.splitlines()), f"{name}: {said}"
    assert [d["doc"] for d in jsonl(tmp_path / "w" / "extract" / "documents.jsonl")] == ["good.pdf"]


def test_warnings_about_a_file_are_summarised_and_kept(tmp_path: Path, corpus: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "cycle.pdf").write_bytes(CYCLE)  # a page tree that contains itself
    shutil.copy(corpus / "malformed" / "issue11045.pdf", books)  # a colour space MuPDF cannot parse
    shutil.copy(corpus / "ultrasound_images" / "busi_benign_1.png", books)
    (books / "captions.json").write_text('{"busi_benign_1.png": ', encoding="utf-8")  # cut off
    done = extract(str(books), "-o", str(tmp_path / "w"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "MuPDF" not in done.stdout
    summary = [line for line in done.stdout.splitlines() if "warning" in line]
    assert len(summary) == 1 and "about 3 file(s)" in summary[0] and "warnings.jsonl" in summary[0]
    warnings = jsonl(tmp_path / "w" / "extract" / "warnings.jsonl")
    by_file = {Path(w["item"]).name: [x["message"] for x in warnings if x["item"] == w["item"]] for w in warnings}
    assert any("page 2: could not be read" in m and "cycle in page tree" in m for m in by_file["cycle.pdf"])
    assert any("damaged PDF" in m for m in by_file["issue11045.pdf"])
    assert any("captions.json" in m for m in by_file["busi_benign_1.png"])


def test_damaged_pdfs_are_told_in_words(tmp_path: Path, corpus: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(corpus / "malformed" / "issue9418.pdf", books)  # repaired by MuPDF into a document with no pages
    whole = (corpus / "en_papers" / "snider2022_SciRep_US_ccby.pdf").read_bytes()
    (books / "cut.pdf").write_bytes(whole[: len(whole) // 3])
    (books / "notes.pdf").write_text("meeting notes, saved with the wrong name\n" * 20)
    done = extract(str(books), "-o", str(tmp_path / "w"), "--workers", "1")
    assert done.returncode == 1
    lines = {line.split(":")[1].strip(): line for line in done.stderr.splitlines() if line.startswith("error:")}
    assert "damaged" in lines["issue9418.pdf"] and "has no pages" not in lines["issue9418.pdf"]
    assert "damaged" in lines["notes.pdf"] or "no %PDF- header" in lines["notes.pdf"]
    for line in lines.values():
        assert "code=" not in line and "RuntimeError" not in line and "Failed to open" not in line
    assert "MuPDF" not in done.stdout


def test_the_malformed_corpus_is_named_per_file_quietly_and_in_little_memory(tmp_path: Path, corpus: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = extract(str(corpus / "malformed"), "-o", str(tmp_path / "w"), "--workers", "1", timeout=900)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert done.returncode == 1
    # stdout: the summary table and its notes, nothing from the PDF library
    assert "MuPDF" not in done.stdout and all(line.isprintable() for line in done.stdout.splitlines())
    failures = jsonl(tmp_path / "w" / "extract" / "failures.jsonl")
    for failure in failures:
        assert Path(failure["item"]).name in failure["message"] and "not a readable PDF" in failure["message"]
        assert any(failure["message"] in line for line in done.stderr.splitlines())
    assert "warning(s) about" in done.stdout
    # growth across files (was ~860 MB here; a larger batch reached 1.24 GB); 0 when a bigger child ran earlier
    assert peak_mb < 600 or before / 1024 >= 600, f"peak RSS {peak_mb:.0f} MB"


def probes(work: Path) -> int:
    """Requests of the probe that found what the endpoint understands (journaled like any request, made once)."""
    return sum(b'"i":"probe:' in line for line in (work / "synthesize" / "journal.jsonl").read_bytes().splitlines())


def test_one_file_under_two_names_is_extracted_and_paid_for_once(tmp_path: Path, corpus: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    paper = corpus / "en_papers" / "snider2022_SciRep_US_ccby.pdf"
    shutil.copy(paper, books / "a-snider.pdf")
    shutil.copy(paper, books / "b-copy.pdf")
    work = tmp_path / "w"
    done = extract(str(books), "-o", str(work), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert [d["doc"] for d in jsonl(work / "extract" / "documents.jsonl")] == ["a-snider.pdf"]
    chunks = jsonl(work / "extract" / "chunks.jsonl")
    assert len({c["chunk_id"] for c in chunks}) == len(chunks)
    warnings = [w["message"] for w in jsonl(work / "extract" / "warnings.jsonl")]
    assert any("b-copy.pdf" in w and "same content as a-snider.pdf" in w for w in warnings)
    with BackgroundStub() as stub:
        result = runner.invoke(app, ["synthesize", str(work), "--base-url", stub.base_url, "--task", "qa"])
        assert result.exit_code == 0, result.stderr
        assert stub.stats()["by_path"]["/v1/chat/completions"] == len(chunks) + probes(work)


def test_identical_requests_in_one_run_are_sent_once(tmp_path: Path) -> None:
    text = (
        "Section {i}. Acute pyelonephritis may show an enlarged kidney with reduced corticomedullary "
        "differentiation. Colour Doppler can show wedge-shaped areas of reduced perfusion. A renal abscess appears "
        "as a complex collection with internal echoes and posterior enhancement."
    )
    # a generated book whose sections repeat: 12 chunks, 4 distinct texts
    work = chunks_only(tmp_path / "w", [text.format(i=i % 4) for i in range(12)])
    with BackgroundStub(latency_s=0.05) as stub:
        args = ["synthesize", str(work), "--base-url", stub.base_url, "--task", "qa", "--concurrency", "8"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        assert stub.stats()["by_path"]["/v1/chat/completions"] == 4 + probes(work)
    assert len(jsonl(work / "synthesize" / "samples.jsonl")) == 12


def test_a_cmyk_jpeg_reaches_the_model(tmp_path: Path, corpus: Path, stub: Any) -> None:
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(corpus / "pdf_pitfalls" / "baiona_cmyk.jpg", books)
    # a diagram from a print workflow: a few flat colours, which go to the model as PNG, in CMYK
    diagram = Image.new("CMYK", (320, 240), (0, 0, 0, 0))
    ImageDraw.Draw(diagram).rectangle((40, 40, 280, 200), fill=(0, 0, 0, 255))
    diagram.save(books / "diagram_cmyk.jpg", quality=95)
    caption = "Figure 3. A print figure stored as a CMYK JPEG, as scanners and publishers often save them. " * 2
    rows = "".join(f'{name},"{caption}"\n' for name in ("baiona_cmyk.jpg", "diagram_cmyk.jpg"))
    (books / "captions.csv").write_text("file,caption\n" + rows, encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text("synthesize:\n  ultrasound_only: false\n")  # a photograph, not an ultrasound frame
    work = tmp_path / "w"
    assert runner.invoke(app, ["extract", str(books), "-o", str(work), "--workers", "1"]).exit_code == 0
    args = ["synthesize", str(work), "--base-url", stub.base_url, "--task", "vqa", "-c", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(work / "synthesize" / "samples.jsonl")) == 2
    assert not jsonl(work / "synthesize" / "failures.jsonl")


def test_a_document_name_that_is_html_stays_text_in_the_dataset_card(tmp_path: Path, stub: Any) -> None:
    atlas = write_sample(tmp_path / "atlas")
    books = tmp_path / "books"
    books.mkdir()
    hostile = "x<svg onload=alert(1)>[click](http:evil)*.pdf"
    shutil.copy(atlas.pdfs[0], books / hostile)
    work = tmp_path / "w"
    args = ["run", str(books), "-o", str(work), "--base-url", stub.base_url, "--model", "stand-in", "--workers", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    card = (work / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "<svg" not in card and "[click](http:evil)" not in card
    assert "x&lt;svg onload=alert(1)&gt;" in card


def test_what_a_killed_run_left_behind_is_gone_after_a_rerun(tmp_path: Path) -> None:
    text = (
        "Item {i}. The kidney is 9 to 12 cm long in adults; the renal cortex is hypoechoic to the liver, and the sinus "
        "fat is echogenic. Hydronephrosis shows as a dilated, fluid-filled collecting system."
    )
    work = chunks_only(tmp_path / "w", [text.format(i=i) for i in range(120)])
    with BackgroundStub(latency_s=0.05) as stub:
        args = ["synthesize", str(work), "--base-url", stub.base_url, "--task", "qa", "--concurrency", "4"]
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list((work / "synthesize").glob(".samples.*.tmp")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert list(work.rglob("*.tmp")), "the kill left nothing to clean up: the test proves nothing"
        assert runner.invoke(app, args).exit_code == 0
    assert not list(work.rglob("*.tmp"))


def test_a_half_written_document_cache_is_gone_after_a_rerun(tmp_path: Path, corpus: Path) -> None:
    work = tmp_path / "w"
    done = extract(str(corpus / "malformed" / "issue1002.pdf"), "-o", str(work), "--workers", "1")
    assert done.returncode == 0, done.stderr
    # what a kill -9 in the middle of a document leaves: its cache, half written, under a temporary name
    (work / "extract" / "docs" / ".0123456789abcdef-01234567.jsonl.x1y2.tmp").write_text('{"figure":')
    done = extract(str(corpus / "malformed" / "issue1002.pdf"), "-o", str(work), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert not list(work.rglob("*.tmp"))
