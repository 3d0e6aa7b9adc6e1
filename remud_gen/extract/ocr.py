"""Optical character recognition of a page image with RapidOCR (PP-OCR models, Chinese + English, CPU).

The engine is loaded lazily, once per process, because loading the three ONNX models takes a noticeable fraction of
a page's OCR time and documents are processed by long-lived worker processes. RapidOCR's models ship inside its
wheel, so nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from remud_gen.errors import InputError
from remud_gen.extract.heap import trim
from remud_gen.extract.spacing import restore_spaces
from remud_gen.text.lang import is_wide

# RapidOCR shrinks anything larger to this itself; rendering bigger only costs time.
OCR_MAX_SIDE = 2000
# Text detection reads an image of up to DET_WHOLE_PIXELS whole; a larger one (a letter page at OCR_MAX_SIDE is 3.1
# million) in bands of about DET_BAND_PIXELS, overlapping by DET_OVERLAP rows: twice a heading line of a 2000-pixel
# page (body text is ~30 rows). The detector's peak is ~100 MB + ~190 MB per million pixels (measured): a whole
# letter page took an extract process to ~800 MB, in bands ~470 MB. Whole is preferred where it fits, because the
# detector reads wide context: a narrow gutter between two columns can be bridged in one band and not in another.
DET_WHOLE_PIXELS = 2_000_000
DET_BAND_PIXELS = 800_000
DET_OVERLAP = 128
_DET_MIN_BAND = 320  # rows: RapidOCR letterboxes images over 8 times wider than tall
_DET_MIN_SIDE = 736  # RapidOCR's detector scales a smaller side up to this (its default Det.limit_side_len)

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
    from remud_gen.extract.layoutmodel import engine as layout_engine

    layout_engine.cache_clear()


def thread_limit() -> int:
    """Threads per model set by `limit_threads` (0: onnxruntime's default), for every ONNX model of this process."""
    return _threads


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
    # Lines are recognised one at a time: in batches of six (RapidOCR's default) each line is padded to the widest
    # of its batch, which on a dense book page took ~40% more CPU and ~100 MB more memory (measured), for no better
    # reading.
    # The detector is told to leave image sizes alone ("max" up to OCR_MAX_SIDE): `_detect` scales small images up
    # itself, as the detector's default would, and the bands of a large page must stay at the page's scale.
    ocr_engine = RapidOCR(
        print_verbose=False,
        use_cls=False,
        rec_batch_num=1,
        det_limit_type="max",
        det_limit_side_len=OCR_MAX_SIDE,
        **threads,
    )
    ocr_engine.text_rec.postprocess_op = _SpaceEvidence(ocr_engine.text_rec.postprocess_op)
    return ocr_engine


class _SpaceEvidence:
    """RapidOCR's CTC decoder, also handing back the space-class probability of every column of each line.

    With `return_word_box` the decoder gives, per line, [columns, words, word columns, states, confidences];
    this appends the space probabilities, which `restore_spaces` reads between the characters' columns.
    """

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.character = decoder.character
        self.space = [index for index, char in enumerate(decoder.character) if char == " "]

    def __call__(self, preds: np.ndarray, return_word_box: bool = False, **kwargs: Any) -> list[Any]:
        lines: list[Any] = self.decoder(preds, return_word_box, **kwargs)
        if return_word_box:
            space = preds[:, :, self.space].sum(axis=2)
            for index, line in enumerate(lines):
                line[2].append(space[index])
        return lines


def recognise(image: np.ndarray) -> list[OcrLine]:
    """OCR an RGB page image and return its text fragments in the engine's order (top to bottom, roughly).

    Detection and recognition run as separate engine steps so the recogniser can report where each character
    was decoded; word spaces it read but decoded as blank are put back (see `remud_gen.extract.spacing`).

    Args:
        image: (H, W, 3) uint8 RGB array; callers should keep its longest side at most `OCR_MAX_SIDE`.

    Returns:
        Fragments with axis-aligned boxes in `image`'s pixel coordinates; empty when no text is found.
    """
    # PP-OCR models were trained on OpenCV's BGR channel order, and RapidOCR passes arrays through unconverted.
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    ocr_engine = engine()
    quads = _detect(ocr_engine, bgr)
    if not quads:
        return []
    recognised, _elapsed = ocr_engine.text_rec(ocr_engine.get_crop_img_list(bgr, quads), return_word_box=True)
    lines: list[OcrLine] = []
    for quad, (raw, score, info) in zip(quads, recognised, strict=True):
        if float(score) < ocr_engine.text_score:
            continue
        _count, words, word_columns, _states, _confidences, space = info
        chars = [char for word in words for char in word]
        columns = [column for word in word_columns for column in word]
        text = restore_spaces(chars, columns, space) if "".join(chars) == raw else str(raw)
        text = text.strip()
        if not text:
            continue
        box = (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))
        if box[2] > box[0] and box[3] > box[1]:
            lines.append(OcrLine(text=text, box=box, score=float(score)))
    trim()  # the models' scratch memory, ~100 MB freed inside the heap on a dense page, goes back before the next
    return lines


def _detect(ocr_engine: Any, bgr: np.ndarray) -> list[np.ndarray]:
    """Text-line quadrilaterals of a page image, in its pixel coordinates.

    The engine's detector leaves sizes alone (`engine`); an image with a side under `_DET_MIN_SIDE` is scaled up here
    exactly as RapidOCR's own detector does (`Det.limit_type: min`), so that the bands of a large page are not.
    """
    height, width = bgr.shape[:2]
    scale = _DET_MIN_SIDE / min(height, width)
    if scale <= 1.0:
        return _bands(ocr_engine, bgr)
    size = (round(int(width * scale) / 32) * 32, round(int(height * scale) / 32) * 32)
    quads = _bands(ocr_engine, cv2.resize(bgr, size))
    back = np.array([width / size[0], height / size[1]], dtype=np.float32)
    return [quad * back for quad in quads]


def _bands(ocr_engine: Any, bgr: np.ndarray) -> list[np.ndarray]:
    """Detection on the whole image, or in horizontal bands of about `DET_BAND_PIXELS` when it is large.

    The detector's feature maps grow with the image (see `DET_WHOLE_PIXELS`). Bands overlap by `DET_OVERLAP` rows,
    more than a text line is tall, and each line is kept from the band whose inner part holds its centre, so a line on
    a seam is found whole, once.
    """
    height, width = bgr.shape[:2]
    rows = max(_DET_MIN_BAND, DET_BAND_PIXELS // width)
    if height * width <= DET_WHOLE_PIXELS or height <= rows + DET_OVERLAP:
        found, _elapsed = ocr_engine(bgr, use_rec=False)
        return [np.asarray(points, dtype=np.float32) for points in found or []]
    bands = math.ceil((height - DET_OVERLAP) / (rows - DET_OVERLAP))
    band = math.ceil((height + (bands - 1) * DET_OVERLAP) / bands)
    quads: list[np.ndarray] = []
    for index in range(bands):
        top = min(index * (band - DET_OVERLAP), height - band)
        found, _elapsed = ocr_engine(bgr[top : top + band], use_rec=False)
        inner_top = top + (DET_OVERLAP // 2 if index else 0)
        inner_bottom = top + band - (DET_OVERLAP // 2 if index < bands - 1 else 0)
        for points in found or []:
            quad = np.asarray(points, dtype=np.float32) + np.array([0, top], dtype=np.float32)
            if inner_top <= (quad[:, 1].min() + quad[:, 1].max()) / 2 < inner_bottom:
                quads.append(quad)
    return list(ocr_engine.sorted_boxes(np.asarray(quads))) if quads else []


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
                sep = "" if is_wide(last.text[-1]) or is_wide(frag.text[0]) else " "
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
