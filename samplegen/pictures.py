"""Turn a panel's `FrameSpec` into image bytes: synthetic frames, or real frames supplied by the caller."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from PIL import Image, UnidentifiedImageError

from samplegen.content import FrameSpec
from samplegen.drawn import Drawn
from samplegen.negatives import render_diagram, render_photo
from samplegen.speckle import render_ultrasound

FRAME_SIZE = (448, 336)
_DIST = re.compile(r"^Dist (\d+(?:\.\d+)?) cm$")


@dataclass(frozen=True)
class Picture:
    """Encoded image bytes ready for `insert_image`, with what the truth needs to know about them."""

    data: bytes
    width: int
    height: int
    texts: tuple[str, ...]
    kind: str
    dist_cm: float | None = None
    palette: bytes | None = None

    @property
    def aspect(self) -> float:
        return self.width / self.height


PictureSource = Callable[[FrameSpec, int], Picture]


def encode(img: Image.Image, *, quality: int = 78, mode: str | None = None, fmt: str = "JPEG") -> bytes:
    """Encode an image (converted to `mode` first when given); JPEG keeps the sample PDFs small."""
    buf = io.BytesIO()
    (img.convert(mode) if mode else img).save(buf, fmt, quality=quality, optimize=True)
    return buf.getvalue()


def caliper_cm(texts: Sequence[str]) -> float | None:
    """The caliper reading drawn in a frame ("Dist 11.17 cm" -> 11.17), for captions that quote it."""
    for text in texts:
        match = _DIST.match(text)
        if match:
            return float(match.group(1))
    return None


def draw(spec: FrameSpec, seed: int, size: tuple[int, int] = FRAME_SIZE) -> Drawn:
    """Render the picture a spec asks for."""
    w, h = size
    if spec.kind == "diagram":
        return render_diagram(w, h, seed, labels=spec.labels, kind=spec.diagram)
    if spec.kind == "photo":
        return render_photo(w, h, seed)
    if spec.kind != "ultrasound":
        raise ValueError(f"unknown picture kind {spec.kind!r} (expected ultrasound, diagram or photo)")
    return render_ultrasound(w, h, seed, organ=spec.organ, mode=spec.mode, lesion=spec.lesion, doppler=spec.doppler)


def to_picture(drawn: Drawn, kind: str, *, mode: str | None = None, fmt: str = "JPEG") -> Picture:
    img = drawn.image
    data = encode(img, mode=mode, fmt=fmt)
    return Picture(data, img.width, img.height, drawn.texts, kind, caliper_cm(drawn.texts))


def to_indexed(drawn: Drawn, kind: str, colours: int = 64) -> Picture:
    """A picture stored with an /Indexed colour space (raw palette indices), as many older PDFs store diagrams."""
    img = drawn.image.convert("RGB").quantize(colours)
    palette = bytes(img.getpalette() or [])[: colours * 3].ljust(colours * 3, b"\0")
    return Picture(img.tobytes(), img.width, img.height, drawn.texts, kind, None, palette)


def place(page: pymupdf.Page, rect: pymupdf.Rect, pic: Picture) -> int:
    """Insert a picture exactly into `rect`; indexed pictures get a hand-made image object (PyMuPDF would
    convert a palette PNG to RGB). Returns the image xref."""
    if pic.palette is None:
        return int(page.insert_image(rect, stream=pic.data, keep_proportion=False))
    doc = page.parent
    xref = doc.get_new_xref()
    hival = len(pic.palette) // 3 - 1
    doc.update_object(
        xref,
        f"<< /Type /XObject /Subtype /Image /Width {pic.width} /Height {pic.height} /BitsPerComponent 8 "
        f"/ColorSpace [/Indexed /DeviceRGB {hival} <{pic.palette.hex()}>] >>",
    )
    doc.update_stream(xref, pic.data)
    return int(page.insert_image(rect, xref=xref, keep_proportion=False))


def synthetic_source(seed: int) -> PictureSource:
    """Pictures drawn from scratch; slot `i` uses seed `seed * 1000 + i`, so a document is reproducible.

    Grey frames in odd slots are stored as RGB with R=G=B, as in books scanned in colour.
    """

    def source(spec: FrameSpec, slot: int) -> Picture:
        drawn = draw(spec, seed * 1000 + slot)
        grey_as_rgb = spec.kind == "ultrasound" and slot % 2 == 1 and not spec.doppler
        return to_picture(drawn, spec.kind, mode="RGB" if grey_as_rgb else None)

    return source


def load_frame(path: Path) -> Image.Image:
    """Open an image file as "L" or "RGB".

    Raises:
        ValueError: If the file is missing or is not an image PIL can read.
    """
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("L") if img.mode in ("1", "L", "LA", "I", "I;16", "F") else img.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{path}: cannot read image ({exc})") from exc


def file_source(frames: Sequence[Path], seed: int = 0) -> PictureSource:
    """Ultrasound slots take the given files in turn (cycling); diagrams and photos stay synthetic.

    Raises:
        ValueError: If `frames` is empty or a file cannot be read.
    """
    if not frames:
        raise ValueError("atlas_with_frames needs at least one image file")
    images = [load_frame(Path(p)) for p in frames]
    fallback = synthetic_source(seed)
    counter = {"next": 0}

    def source(spec: FrameSpec, slot: int) -> Picture:
        if spec.kind != "ultrasound":
            return fallback(spec, slot)
        img = images[counter["next"] % len(images)]
        counter["next"] += 1
        return Picture(encode(img, quality=90), img.width, img.height, (), "ultrasound")

    return source
