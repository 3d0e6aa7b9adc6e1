"""Image inputs (.png .jpg .jpeg .tif .tiff .bmp .webp): one file becomes one figure (source "image-file").

Captions and labels come from an optional sidecar file in the same folder, the first found of
`ExtractSettings.sidecar_names` (default captions.csv, captions.json, labels.csv, labels.json):

- CSV with a header row: a file column (file, filename, image, name or path), and a caption column (caption, text,
  description or findings) and/or a label column (label, class, category or diagnosis);
- JSON: {"img1.png": "caption", ...}, {"img1.png": {"caption": ..., "label": ...}, ...} or a list of objects with
  a file key and caption/label keys.

Rows are matched by file name, then by file name without extension. A label is added to the caption as
"Label: <label>". A sidecar that cannot be parsed is reported as a warning, never as a failure of the image.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import warnings as pywarnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from remud_gen.errors import InputError
from remud_gen.extract.crops import png_bytes, store
from remud_gen.extract.result import FileResult
from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.ultrasound import ultrasound_score
from remud_gen.records import Document, Figure
from remud_gen.text.lang import language_of

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
_SCORE_PIXELS = 4_000_000
_FILE_KEYS = ("file", "filename", "file_name", "image", "name", "path")
_CAPTION_KEYS = ("caption", "text", "description", "findings")
_LABEL_KEYS = ("label", "class", "category", "diagnosis")


def load_rgb(path: Path, max_pixels: int, analysed: int | None = None) -> tuple[np.ndarray, str, tuple[int, int]]:
    """(H, W, 3) uint8 pixels, PIL's format name when the file's own bytes can stand for them as they are (plain
    8-bit RGB or grey; "" for CMYK, alpha, 16-bit, palettes), and the image's (width, height).

    With ``analysed``, the pixels of an image whose own bytes are kept are reduced to about that many: nothing needs
    them at full size (a 14000 x 14000 scan is 588 MB, once more as an array).

    Raises:
        InputError: the file is unreadable, or over ``max_pixels``.
    """
    try:
        # PIL's own guard follows ours (it refuses at twice its limit, before reading any pixel).
        Image.MAX_IMAGE_PIXELS = max_pixels
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise InputError(
                        f"{path.name}: image is {w}x{h} pixels, over the {max_pixels:,} limit "
                        "(raise extract.max_image_pixels if it is genuine)"
                    )
                fmt = (im.format or "") if im.mode in ("RGB", "L") and "transparency" not in im.info else ""
                im.seek(0)
                factor = math.ceil(math.sqrt(w * h / analysed)) if analysed and fmt else 1
                if factor > 1:
                    im.draft("RGB", (w // factor, h // factor))  # a JPEG decodes at 1/2, 1/4 or 1/8 size
                    rgb = _to_rgb(im.reduce(max(1, factor * im.size[0] // w)))
                else:
                    rgb = _to_rgb(im)
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(
            f"{path.name}: image is over the {max_pixels:,}-pixel limit (decompression-bomb guard; raise "
            "extract.max_image_pixels if it is genuine)"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path.name}: not a readable image ({str(exc)[:100]}); check the file") from None
    return rgb, fmt, (w, h)


def _to_rgb(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        g = ((a - lo) / (hi - lo) * 255) if hi > lo else np.zeros_like(a)
        return np.repeat(g.astype(np.uint8)[:, :, None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))  # converting RGB to RGB is one more copy


@functools.lru_cache(maxsize=32)
def _sidecar(path: str, mtime: float) -> dict[str, tuple[str, str]]:
    p = Path(path)
    rows: list[dict[str, object]] = []
    if p.suffix.lower() == ".csv":
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = [dict(r) for r in csv.DictReader(fh)]
    else:
        data = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            for k, v in data.items():
                rows.append({"file": k, **(v if isinstance(v, dict) else {"caption": v})})
        elif isinstance(data, list):
            rows = [r for r in data if isinstance(r, dict)]
    out: dict[str, tuple[str, str]] = {}
    for r in rows:
        low = {str(k).strip().lower(): v for k, v in r.items()}
        name = next((str(low[k]) for k in _FILE_KEYS if low.get(k)), "")
        caption = next((str(low[k]) for k in _CAPTION_KEYS if low.get(k)), "")
        label = next((str(low[k]) for k in _LABEL_KEYS if low.get(k)), "")
        if name:
            out[Path(name).name] = (caption.strip(), label.strip())
    return out


def sidecar_entry(path: Path, names: list[str], warnings: list[str]) -> tuple[str, str]:
    """(caption, label) for `path` from the first sidecar found beside it; empty strings when none."""
    for n in names:
        side = path.parent / n
        if not side.is_file():
            continue
        try:
            table = _sidecar(str(side), side.stat().st_mtime)
        except (OSError, ValueError, csv.Error, UnicodeDecodeError) as exc:
            warnings.append(f"sidecar {side.name} unreadable, ignored ({str(exc)[:80]})")
            return "", ""
        if path.name in table:
            return table[path.name]
        by_stem = {Path(k).stem: v for k, v in table.items()}
        return by_stem.get(path.stem, ("", ""))
    return "", ""


def extract_image(path: Path, work: Path, settings: ExtractSettings, sha: str) -> FileResult:
    """One figure record for an image file (see the module docstring for sidecars)."""
    warnings: list[str] = []
    rgb, fmt, (w, h) = load_rgb(path, settings.max_image_pixels, analysed=_SCORE_PIXELS)
    caption, label = sidecar_entry(path, settings.sidecar_names, warnings)
    if label:
        caption = f"{caption}\nLabel: {label}".strip()
    if fmt == "JPEG" and path.suffix.lower() in (".jpg", ".jpeg"):
        rel = store(work, path.read_bytes(), "jpg")  # keep the original bytes: re-encoding a JPEG only loses
    elif fmt == "PNG" and path.suffix.lower() == ".png":
        rel = store(work, path.read_bytes())  # lossless already; re-encoding a large one cost as much again in memory
    else:
        rel = store(work, png_bytes(rgb))
    language = settings.language if settings.language != "auto" else language_of(caption)
    # a photograph's texture statistics need no more than a few million pixels (a 14000 x 14000 scan has 196 million)
    step = max(1, math.ceil(math.sqrt(rgb.shape[0] * rgb.shape[1] / _SCORE_PIXELS)))
    score = ultrasound_score(np.ascontiguousarray(rgb[::step, ::step]) if step > 1 else rgb, caption)
    figure = Figure(
        figure_key=f"{sha[:12]}-p1-0",
        doc=path.name,
        page=1,
        bbox=(0.0, 0.0, float(w), float(h)),
        page_size=(float(w), float(h)),
        image=rel,
        caption=caption,
        language=language,
        is_ultrasound=score >= settings.ultrasound_threshold,
        ultrasound_score=score,
        source="image-file",
        width=int(w),
        height=int(h),
    )
    document = Document(
        doc=path.name,
        path=str(path.resolve()),
        sha256=sha,
        kind="image",
        pages=1,
        language=language,
        figures=1,
    )
    return FileResult(document=document, figures=[figure], warnings=warnings)
