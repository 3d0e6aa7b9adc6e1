"""Write the sample documents: small atlas-style PDFs in Chinese and English plus the truth of every figure.

Everything is drawn here (text written for this project, synthetic frames), so the demo and the tests need no
download. Example:

    >>> from pathlib import Path
    >>> sample = write_sample(Path("/tmp/remud-sample"))
    >>> [p.name for p in sample.pdfs]
    ['atlas_zh.pdf', 'atlas_en.pdf']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from samplegen.annotate import Parts
from samplegen.atlas_en import build_en
from samplegen.atlas_zh import build_zh
from samplegen.pictures import file_source, synthetic_source
from samplegen.text_zh import BREAST_BOOK, URINARY
from samplegen.truth import SampleSet, write_truth

TRUTH_NAME = "sample_truth.json"
FRAMES_TRUTH_NAME = "frames_truth.json"


def assemble(parts: Sequence[Parts], pdfs: list[Path], truth: Path, seed: int) -> SampleSet:
    """Merge the builders' truth into one `SampleSet` and write it to `truth`."""
    sample = SampleSet(pdfs=pdfs, truth=truth, seed=seed)
    for part in parts:
        sample.panels += part.panels
        sample.decoys += part.decoys
        sample.pages += part.pages
        sample.citations += part.citations
    write_truth(sample)
    return sample


def write_sample(out_dir: Path, *, seed: int = 0) -> SampleSet:
    """Write `atlas_zh.pdf`, `atlas_en.pdf` and `sample_truth.json` into `out_dir` (created if missing).

    Args:
        out_dir: Destination folder; existing files of the same names are replaced.
        seed: Picks the synthetic frames; the same seed gives the same truth.

    Returns:
        The written files and the truth (every figure panel, caption look-alikes, page headers and footers).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    zh_pdf, en_pdf = out_dir / "atlas_zh.pdf", out_dir / "atlas_en.pdf"
    zh = build_zh(URINARY, synthetic_source(seed), zh_pdf)
    en = build_en(seed, en_pdf)
    return assemble([zh, en], [zh_pdf, en_pdf], out_dir / TRUTH_NAME, seed)


def atlas_with_frames(frames: Sequence[Path], out_dir: Path, *, seed: int = 0) -> SampleSet:
    """Write a Chinese atlas excerpt (breast chapter) whose ultrasound panels are the GIVEN image files.

    The files are used in turn (and cycled when there are fewer files than panels); diagrams stay synthetic.
    Writes `atlas_frames_zh.pdf` and `frames_truth.json`, in the same truth format as `write_sample`, with
    empty `in_image_text` for the given frames (what is burnt into them is not known).

    Raises:
        ValueError: If `frames` is empty or a file is not a readable image.
    """
    source = file_source(list(frames), seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / "atlas_frames_zh.pdf"
    parts = build_zh(BREAST_BOOK, source, pdf)
    return assemble([parts], [pdf], out_dir / FRAMES_TRUTH_NAME, seed)
