"""Optical character recognition of a page image with RapidOCR (PP-OCR models, Chinese + English, CPU).

The engine is loaded lazily, once per process, because loading the three ONNX models takes a noticeable fraction of
a page's OCR time and documents are processed by long-lived worker processes. RapidOCR's models ship inside its
wheel, so nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from remud_gen.errors import InputError

# RapidOCR shrinks anything larger to this itself; rendering bigger only costs time.
OCR_MAX_SIDE = 2000

# RapidOCR attaches DEBUG-level stream handlers to these loggers at import time.
_NOISY_LOGGERS = ("RapidOCR", "OrtInferSession")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class OcrLine:
    """One line of recognised text.

    Attributes:
        text: the recognised text.
        box: pixel coordinates x0, y0, x1, y1 in the image that was analysed.
        score: recognition confidence in [0, 1].
    """

    text: str
    box: Box
    score: float


_threads = 0  # onnxruntime threads per model; 0 lets onnxruntime use every core


def limit_threads(threads: int) -> None:
    """Cap the threads each OCR model may use in this process; call before the engine is first used.

    Worker processes each run their own engine: with the default of one thread per core in every worker, N
    workers on N cores start N x N threads that preempt each other. A worker pool gives each worker its share.

    Args:
        threads: threads per model (at least 1), or 0 for onnxruntime's default (one per core).
    """
    global _threads
    _threads = max(0, threads)
    engine.cache_clear()


@lru_cache(maxsize=1)
def engine() -> Any:
    """Return this process's RapidOCR engine, loading it on first use.

    Raises:
        InputError: rapidocr-onnxruntime is not installed.
    """
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise InputError("scanned pages need OCR but rapidocr-onnxruntime is not installed: run `make setup`") from exc
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    # One inter-op thread: the PP-OCR graphs are sequential, so parallelism comes from intra-op threads only.
    threads = {"intra_op_num_threads": _threads, "inter_op_num_threads": 1} if _threads else {}
    # The 180-degree line classifier flips sound lines of book text (bold openings such as "（4）“物的…" come
    # back empty); printed pages are upright, so it is skipped, which also saves time.
    return RapidOCR(print_verbose=False, use_cls=False, **threads)


def recognise(image: np.ndarray) -> list[OcrLine]:
    """OCR an RGB page image and return its text fragments in the engine's order (top to bottom, roughly).

    Args:
        image: (H, W, 3) uint8 RGB array; callers should keep its longest side at most `OCR_MAX_SIDE`.

    Returns:
        Fragments with axis-aligned boxes in `image`'s pixel coordinates; empty when no text is found.
    """
    # PP-OCR models were trained on OpenCV's BGR channel order, and RapidOCR passes arrays through unconverted.
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    result, _elapsed = engine()(bgr)
    lines: list[OcrLine] = []
    for points, text, score in result or []:
        text = str(text).strip()
        if not text:
            continue
        quad = np.asarray(points, dtype=np.float64)
        box = (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))
        if box[2] > box[0] and box[3] > box[1]:
            lines.append(OcrLine(text=text, box=box, score=float(score)))
    return lines


def recognise_crop(image: np.ndarray) -> tuple[str, float]:
    """Read one small RGB crop holding a single word or letter with the recogniser alone (no text detection).

    Returns:
        The text and its confidence; ("", 0.0) when nothing is read.
    """
    if image.ndim != 3 or min(image.shape[:2]) < 2:
        return "", 0.0
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    result, _elapsed = engine()(bgr, use_det=False, use_cls=False, use_rec=True)
    if not result:
        return "", 0.0
    text, score = result[0][0], result[0][1]
    return str(text).strip(), float(score)


def _is_wide(char: str) -> bool:
    # CJK scripts and full-width punctuation are written without spaces between words.
    return ord(char) >= 0x2E80


def join_row(fragments: Sequence[OcrLine], max_gap: float = 1.0) -> list[OcrLine]:
    """Merge fragments of one text row (one column) that the detector split, e.g. at wide word spaces.

    Args:
        fragments: fragments whose boxes overlap vertically, in any order.
        max_gap: largest horizontal gap to bridge, in units of the taller fragment's height; wider gaps
            separate distinct items such as a page number and a running title.

    Returns:
        The merged lines, left to right.
    """
    merged: list[OcrLine] = []
    for frag in sorted(fragments, key=lambda f: f.box[0]):
        if merged:
            last = merged[-1]
            height = max(last.box[3] - last.box[1], frag.box[3] - frag.box[1])
            overlap = min(last.box[3], frag.box[3]) - max(last.box[1], frag.box[1])
            gap = frag.box[0] - last.box[2]
            if -0.5 * height <= gap <= max_gap * height and overlap >= 0.5 * min(
                last.box[3] - last.box[1], frag.box[3] - frag.box[1]
            ):
                sep = "" if _is_wide(last.text[-1]) or _is_wide(frag.text[0]) else " "
                weight = len(last.text) + len(frag.text)
                score = (last.score * len(last.text) + frag.score * len(frag.text)) / weight
                box = (
                    min(last.box[0], frag.box[0]),
                    min(last.box[1], frag.box[1]),
                    max(last.box[2], frag.box[2]),
                    max(last.box[3], frag.box[3]),
                )
                merged[-1] = OcrLine(text=last.text + sep + frag.text, box=box, score=score)
                continue
        merged.append(frag)
    return merged
