"""Synthetic work directories that make the real synthesize stage send a chosen number of requests.

`text_work` writes N text chunks (one `qa` request each); `image_work` writes N ultrasound figure panels that all
carry a real image file of about 1 MB (one `vqa` request each). Every chunk and caption is distinct, so every request
has its own journal key; the text reads like an ultrasound textbook so the stand-in's answers have realistic sizes.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import numpy as np
from PIL import Image

from remud_gen.io import write_records
from remud_gen.records import Chunk, Document, Figure

_ORGANS = [
    ("kidney", "renal cortex", "9-12 cm", "kidney"),
    ("liver", "hepatic parenchyma", "up to 15 cm", "liver"),
    ("thyroid", "thyroid lobe", "4-6 cm", "thyroid"),
    ("gallbladder", "gallbladder wall", "under 3 mm", "biliary"),
    ("spleen", "splenic parenchyma", "up to 12 cm", "spleen"),
    ("breast", "fibroglandular tissue", "variable", "breast"),
    ("pancreas", "pancreatic head", "up to 3 cm", "pancreas"),
    ("uterus", "endometrium", "4-14 mm", "gynaecology"),
]
_FINDINGS = [
    "a well-defined anechoic cyst with posterior acoustic enhancement",
    "a hypoechoic solid nodule with irregular margins",
    "diffusely increased echogenicity with attenuation of the beam",
    "an echogenic focus with a clean posterior acoustic shadow",
    "a heterogeneous mass with internal vascularity on colour Doppler",
    "a thin-walled septated cystic lesion without solid components",
    "hyperechoic foci with comet-tail artefact",
    "a complex collection with low-level internal echoes",
]
_ADVICE = [
    "Measure the lesion in two orthogonal planes and record the largest diameter.",
    "Compare the echogenicity with the adjacent organ at the same depth.",
    "Adjust the focal zone to the level of the lesion before judging its margins.",
    "Use colour Doppler with a low pulse repetition frequency to show slow flow.",
    "Scan during deep inspiration to bring the upper pole below the ribs.",
    "Harmonic imaging reduces reverberation in obese patients.",
]
_ZH = [
    "肾脏长径约9-12厘米，皮质回声低于肝脏。",
    "囊肿表现为边界清晰的无回声区，后方回声增强。",
    "实性结节呈低回声，边缘不规则，内可见血流信号。",
    "结石表现为强回声伴后方声影，可随体位移动。",
    "彩色多普勒显示病灶周边及内部血流丰富。",
]


def _paragraph(rng: random.Random, i: int) -> tuple[str, str]:
    organ, part, size, region = rng.choice(_ORGANS)
    finding = rng.choice(_FINDINGS)
    text = (
        f"Case {i}: the normal adult {organ} measures {size}; the {part} is examined with a "
        f"{rng.choice([3.5, 5, 7.5, 12])} MHz transducer. In this patient the scan showed {finding}, "
        f"{rng.randint(4, 48)} mm in diameter, at a depth of {rng.randint(2, 14)} cm. "
        f"{' '.join(rng.sample(_ADVICE, 2))} The differential diagnosis depends on the margins, "
        f"the internal echoes and the flow pattern, and follow-up after {rng.randint(3, 12)} months is advised."
    )
    return text, region


def text_work(root: Path, n: int, *, seed: int = 0) -> Path:
    """Write WORK/extract with ``n`` chunks (about 1 in 5 Chinese) and no figures; returns ``root``."""
    rng = random.Random(seed)
    chunks = []
    for i in range(n):
        text, _ = _paragraph(rng, i)
        zh = i % 5 == 4
        if zh:
            text = f"病例{i}：" + "".join(rng.sample(_ZH, 3)) + f"随访{rng.randint(3, 12)}个月。" + text[:120]
        chunks.append(
            Chunk(
                chunk_id=f"bench-c{i}",
                doc="bench_zh.pdf" if zh else "bench_en.pdf",
                page_start=1 + i // 4,
                page_end=1 + i // 4,
                section=["Abdominal ultrasound", f"Section {i // 50 + 1}"],
                text=text,
                language="zh" if zh else "en",
            )
        )
    _write(root, chunks, [], n_pages=max(1, n // 4))
    return root


def one_mb_png(path: Path, *, seed: int = 0, target_bytes: int = 1_000_000) -> Path:
    """A grey speckle frame saved as PNG of about ``target_bytes`` (1 MB), like a 200 dpi ultrasound crop."""
    rng = np.random.default_rng(seed)
    side = 700
    while True:
        yy, xx = np.mgrid[0:side, 0:side]
        fan = np.clip(1.0 - np.hypot(xx - side / 2, yy) / side, 0, 1)
        speckle = rng.gamma(2.0, 40.0, (side, side)) * fan
        img = Image.fromarray(np.clip(speckle, 0, 255).astype(np.uint8), "L")
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        if buf.tell() >= target_bytes or side > 3000:
            break
        side = int(side * (target_bytes / buf.tell()) ** 0.5) + 8
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def image_work(root: Path, n: int, *, images: int = 4, seed: int = 0) -> Path:
    """Write WORK/extract with ``n`` ultrasound figure panels cycling over ``images`` distinct ~1 MB PNGs."""
    rng = random.Random(seed)
    names = []
    for k in range(images):
        tmp = one_mb_png(root / "extract" / "images" / f"tmp{k}.png", seed=seed + k)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
        final = tmp.with_name(f"{digest}.png")
        tmp.replace(final)
        names.append(f"extract/images/{final.name}")
    figures = []
    for i in range(n):
        caption, region = _paragraph(rng, i)
        figures.append(
            Figure(
                figure_key=f"bench-p{1 + i // 4}-{i % 4}",
                doc="bench_en.pdf",
                page=1 + i // 4,
                bbox=(50.0, 80.0, 300.0, 280.0),
                page_size=(595.0, 842.0),
                image=names[i % len(names)],
                figure_id=str(i + 1),
                caption=f"Figure {i + 1}. {region.title()} ultrasound. {caption}",
                section=["Atlas", region],
                is_ultrasound=True,
                ultrasound_score=0.9,
                width=700,
                height=700,
            )
        )
    _write(root, [], figures, n_pages=max(1, n // 4))
    return root


def _write(root: Path, chunks: list[Chunk], figures: list[Figure], n_pages: int) -> None:
    extract = root / "extract"
    extract.mkdir(parents=True, exist_ok=True)
    docs = [
        Document(
            doc="bench_en.pdf",
            path=str(root / "bench_en.pdf"),
            sha256="0" * 64,
            kind="pdf",
            pages=n_pages,
            language="en",
            figures=len(figures),
            chunks=len(chunks),
        )
    ]
    write_records(extract / "documents.jsonl", docs)
    write_records(extract / "chunks.jsonl", chunks)
    write_records(extract / "figures.jsonl", figures)
